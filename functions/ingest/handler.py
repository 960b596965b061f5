"""Ingest function: ``POST /api/public/ingestion``, ``/scores`` and (when present) OTLP traces.

Lean on purpose (cold starts are on the SDKs' critical path): authentication reads the S3 key
projection, accepted requests go to S3 and SQS, and nothing here imports chDB, SQLAlchemy or
clickhouse-connect. Aurora may be paused: ingestion neither needs nor wakes it.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger

from skyglass.bootstrap import HttpFunction, function_runtime, ingest_routers, lambda_metrics, lambda_tracer

logger = Logger()
metrics = lambda_metrics()
tracer = lambda_tracer()

_serve = HttpFunction(ingest_routers, lambda: function_runtime("ingest").ingest_services(), metrics)


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler
@metrics.log_metrics(capture_cold_start_metric=True)
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """API Gateway HTTP API (payload v2) event → response."""
    return _serve(event, context)
