"""API function: the whole public API but ingestion (reads, projects, models, score deletes…).

Metadata on Aurora through the RDS Data API (a paused cluster answers 503 + Retry-After while it
resumes), analytics on the bring-your-own ClickHouse over HTTPS; both opened on first use.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger

from skyglass.bootstrap import HttpFunction, all_routers, function_runtime, lambda_metrics, lambda_tracer

logger = Logger()
metrics = lambda_metrics()
tracer = lambda_tracer()

_serve = HttpFunction(all_routers, lambda: function_runtime("api").api_services(), metrics)


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler
@metrics.log_metrics(capture_cold_start_metric=True)
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """API Gateway HTTP API (payload v2) event → response."""
    return _serve(event, context)
