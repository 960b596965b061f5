"""GET /health and /ready: unauthenticated liveness, as Langfuse answers them."""

from __future__ import annotations

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.api_gateway import Router

from skyglass import __version__
from skyglass.api.responses import json_response

router = Router()


@router.get("/health")
def health() -> Response:
    return json_response(200, {"status": "OK", "version": __version__})


@router.get("/ready")
def ready() -> Response:
    return json_response(200, {"status": "OK", "version": __version__})
