"""Routes of the public API: traces (list, get, delete one or many)."""

from __future__ import annotations

from urllib.parse import unquote

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.api_gateway import Router

from skyglass.api.auth import project_scope
from skyglass.api.deps import services
from skyglass.api.responses import json_response
from skyglass.query import traces
from skyglass.query.params import QueryParams

router = Router()


@router.get("/traces")
def list_traces() -> Response:
    scope = project_scope(router)
    params = QueryParams.from_event(router.current_event)
    return json_response(200, traces.list_traces(services(router).analytics, scope.project_id, params).wire())


@router.get("/traces/<traceId>")
def get_trace(traceId: str) -> Response:
    scope = project_scope(router)
    params = QueryParams.from_event(router.current_event)
    result = traces.get_trace(services(router).analytics, scope.project_id, unquote(traceId), params)
    return json_response(200, result.wire())


@router.delete("/traces/<traceId>")
def delete_trace(traceId: str) -> Response:
    scope = project_scope(router)
    result = traces.delete_traces(services(router).analytics, scope.project_id, [unquote(traceId)])
    return json_response(200, result.wire())


@router.delete("/traces")
def delete_many_traces() -> Response:
    scope = project_scope(router)
    trace_ids = traces.trace_ids_from_body(router.current_event.decoded_body)
    result = traces.delete_traces(services(router).analytics, scope.project_id, trace_ids)
    return json_response(200, result.wire())
