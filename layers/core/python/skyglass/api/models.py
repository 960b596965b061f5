"""Routes of the public API: model definitions (custom prices) — list, get, create, replace, delete.

``DELETE`` answers 200 ``{"message": "Model successfully deleted"}`` as Langfuse's code does (the
OpenAPI file says 204; the SDK accepts any 2xx).
"""

from __future__ import annotations

from urllib.parse import unquote

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.api_gateway import Router

from skyglass.api.auth import project_scope
from skyglass.api.deps import services
from skyglass.api.responses import json_response
from skyglass.ingestion.common import read_body
from skyglass.query import models, models_write
from skyglass.query.params import QueryParams

router = Router()


def _body() -> bytes:
    """The raw request body (base64 undone), 413 beyond the configured maximum."""
    event = router.current_event
    return read_body(event.body, bool(event.is_base64_encoded), services(router).settings.max_body_bytes)


@router.get("/models")
def list_models() -> Response:
    scope = project_scope(router)
    page = QueryParams.from_event(router.current_event).page()
    return json_response(200, models.list_models(services(router).meta, scope.project_id, page).wire())


@router.post("/models")
def create_model() -> Response:
    scope = project_scope(router)
    result = models_write.create_model(services(router).meta, scope.project_id, _body())
    return json_response(200, result.wire())


@router.get("/models/<modelId>")
def get_model(modelId: str) -> Response:
    scope = project_scope(router)
    result = models.get_model(services(router).meta, scope.project_id, unquote(modelId))
    return json_response(200, result.wire())


@router.put("/models/<modelId>")
def put_model(modelId: str) -> Response:
    scope = project_scope(router)
    result = models_write.upsert_model(services(router).meta, scope.project_id, unquote(modelId), _body())
    return json_response(200, result.wire())


@router.delete("/models/<modelId>")
def delete_model(modelId: str) -> Response:
    scope = project_scope(router)
    result = models_write.delete_model(services(router).meta, scope.project_id, unquote(modelId))
    return json_response(200, result.wire())
