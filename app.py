#!/usr/bin/env python3
"""CDK app entry: composes the skyglass stacks (``stacks.composition``), nothing else."""

from __future__ import annotations


def main() -> None:
    import aws_cdk as cdk

    from stacks.composition import cdk_json_context, compose

    app = cdk.App(context=cdk_json_context())
    compose(app)
    app.synth()


if __name__ == "__main__":
    main()
