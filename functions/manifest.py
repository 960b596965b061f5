"""Which function serves what: data only, read by the CDK stacks and by the local server.

The ingest function stays lean (batch ingestion, scores, OTLP); everything else of the public API
is served by the api function; the worker consumes the ingest queue. The routes are the HTTP API's
routes, exactly: the API stack creates one per entry, and ``skyglass serve`` selects among them the
way API Gateway does (``skyglass.local.routes``), 404 for anything else.
"""

from __future__ import annotations

from typing import Any

INGEST_ROUTES: list[tuple[str, str]] = [
    ("POST", "/api/public/ingestion"),
    ("POST", "/api/public/scores"),
    ("POST", "/api/public/otel/v1/traces"),
]

FUNCTIONS: dict[str, dict[str, Any]] = {
    "ingest": {
        "handler": "functions.ingest.handler.handler",
        "routes": INGEST_ROUTES,
        # The lean dependency layer: only what this handler imports (stacks/layer_requirements.py).
        "layer": "ingest",
        "memory_mb": 512,
        "timeout_s": 15,
    },
    "api": {
        "handler": "functions.api.handler.handler",
        # The health check by name (so its access logs say so); the rest of the API by the proxy.
        "routes": [("GET", "/api/public/health"), ("ANY", "/api/public/{proxy+}")],
        "memory_mb": 1024,
        "timeout_s": 29,
    },
    "worker": {
        "handler": "functions.worker.handler.handler",
        "trigger": "sqs",
        "batch_size": 100,
        "batching_window_s": 2,
        "memory_mb": 1024,
        "timeout_s": 120,
    },
}
