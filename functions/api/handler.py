"""API function: the whole public API but ingestion (reads, projects, models, score deletes…).

Metadata on Aurora through the RDS Data API (a paused cluster answers 503 + Retry-After while it
resumes), analytics on the bring-your-own ClickHouse over HTTPS; both opened on first use.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.metrics import MetricUnit

from skyglass.bootstrap import HttpFunction, all_routers, function_runtime, lambda_metrics, lambda_tracer

logger = Logger()
metrics = lambda_metrics()
tracer = lambda_tracer()

_serve = HttpFunction(all_routers, lambda: function_runtime("api").api_services())


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler
@metrics.log_metrics(capture_cold_start_metric=True)
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """API Gateway HTTP API (payload v2) event → response."""
    response = _serve(event, context)
    metrics.add_metric(name="Requests", unit=MetricUnit.Count, value=1)
    if int(response.get("statusCode", 500)) >= 500:
        metrics.add_metric(name="ServerErrors", unit=MetricUnit.Count, value=1)
    return response
