"""Log groups with the deployment's retention (functions, API access logs, state machine, flow logs)."""

from __future__ import annotations

from aws_cdk import RemovalPolicy
from aws_cdk import aws_logs as logs
from constructs import Construct

R = logs.RetentionDays
RETENTION: dict[int, logs.RetentionDays] = {
    1: R.ONE_DAY,
    3: R.THREE_DAYS,
    5: R.FIVE_DAYS,
    7: R.ONE_WEEK,
    14: R.TWO_WEEKS,
    30: R.ONE_MONTH,
    60: R.TWO_MONTHS,
    90: R.THREE_MONTHS,
    120: R.FOUR_MONTHS,
    150: R.FIVE_MONTHS,
    180: R.SIX_MONTHS,
    365: R.ONE_YEAR,
    400: R.THIRTEEN_MONTHS,
    545: R.EIGHTEEN_MONTHS,
    731: R.TWO_YEARS,
    1096: R.THREE_YEARS,
    1827: R.FIVE_YEARS,
    2192: R.SIX_YEARS,
}


def log_group(
    scope: Construct,
    construct_id: str,
    days: int,
    *,
    name: str | None = None,
    removal: RemovalPolicy = RemovalPolicy.DESTROY,
) -> logs.LogGroup:
    """A log group kept ``days`` (one of ``config.LOG_RETENTION_DAYS``); logs of stateless
    resources go with their stack unless ``removal`` says otherwise."""
    return logs.LogGroup(
        scope, construct_id, log_group_name=name, retention=RETENTION[days], removal_policy=removal
    )
