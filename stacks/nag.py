"""cdk-nag (AwsSolutions pack): turned on for the whole app, and one way to acknowledge a finding.

Every acknowledgment names one rule (or one finding of a rule, ``Rule[finding]``) on the narrowest
construct it concerns, with a reason a reviewer can check; a finding without one fails synthesis.
"""

from __future__ import annotations

from aws_cdk import Acknowledgment, App, CfnElement, Stack, Validations
from aws_cdk import aws_lambda as lambda_
from cdk_nag import AwsSolutionsChecks
from constructs import IConstruct


def enable_nag(app: App) -> None:
    """Run the AwsSolutions checks on every synth (``cdk synth`` fails on unacknowledged findings)."""
    Validations.of(app).add_plugins(AwsSolutionsChecks(app))


def acknowledge(scope: IConstruct, rule: str, reason: str) -> None:
    """Accept ``rule`` on ``scope`` and everything under it, for ``reason`` (never empty)."""
    if len(reason) < 20:
        raise ValueError(f"acknowledging {rule} needs a real reason, got {reason!r}")
    Validations.of(scope).acknowledge(Acknowledgment(id=rule, reason=reason))


def acknowledge_invoke_versions(scope: IConstruct, function: lambda_.IFunction, reason: str) -> None:
    """Accept ``lambda:InvokeFunction`` on ``<function>:*`` (its versions and aliases), which CDK
    grants beside the function ARN; ``function`` must live in ``scope``'s stack."""
    resource = function.node.default_child
    if not isinstance(resource, CfnElement):
        raise TypeError(f"{function.node.path} has no CloudFormation resource of its own")
    logical_id = Stack.of(function).get_logical_id(resource)
    acknowledge(scope, f"AwsSolutions-IAM5[Resource::<{logical_id}.Arn>:*]", reason)
