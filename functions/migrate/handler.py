"""Migrate function: a CloudFormation custom resource (CDK Provider framework ``onEvent``).

On Create and Update it applies the metadata (Alembic, over the Data API) and analytics
migrations, both idempotent; a cluster resuming from auto-pause is waited for with back-off, as
long as the function's remaining time allows. Then it rebuilds the API-key projection from Aurora
(``skyglass keys sync``), so every deploy also repairs a projection that drifted. Delete is a
no-op: the data outlives the stack.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger

from skyglass.bootstrap import function_runtime

logger = Logger()

PHYSICAL_ID = "skyglass-migrations"
# Keep this much of the function's time for answering CloudFormation.
_MARGIN_MS = 15_000
_DEFAULT_RETRY_SECONDS = 600.0


def _retry_budget(context: Any) -> float:
    remaining = getattr(context, "get_remaining_time_in_millis", None)
    if remaining is None:
        return _DEFAULT_RETRY_SECONDS
    return max(0.0, (remaining() - _MARGIN_MS) / 1000)


@logger.inject_lambda_context(clear_state=True)
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """``{"RequestType": "Create"|"Update"|"Delete", …}`` → ``{"PhysicalResourceId", "Data"}``."""
    request = event.get("RequestType")
    physical_id = event.get("PhysicalResourceId") or PHYSICAL_ID
    if request == "Delete":
        return {"PhysicalResourceId": physical_id}
    if request not in ("Create", "Update"):
        raise ValueError(f"unknown RequestType: {request!r}")
    runtime = function_runtime("migrate")
    report = runtime.migrate_stores(retry_for_seconds=_retry_budget(context))
    synced = runtime.sync_key_projection()
    keys = synced.written if synced is not None else 0
    logger.info(
        "migrations applied", extra={"stores": report.stores, "attempts": report.attempts, "keys": keys}
    )
    return {
        "PhysicalResourceId": physical_id,
        "Data": {"Stores": ",".join(report.stores), "Attempts": report.attempts, "KeysProjected": keys},
    }
