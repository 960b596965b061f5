#!/usr/bin/env python3
"""CDK app entry: composes the stacks (added with the AWS deployment), nothing else."""

from __future__ import annotations


def main() -> None:
    import aws_cdk as cdk

    app = cdk.App()
    app.synth()


if __name__ == "__main__":
    main()
