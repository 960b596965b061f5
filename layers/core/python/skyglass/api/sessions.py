"""Routes of the public API: sessions (list, get with traces)."""

from __future__ import annotations

from urllib.parse import unquote

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.api_gateway import Router

from skyglass.api.auth import project_scope
from skyglass.api.deps import services
from skyglass.api.responses import json_response
from skyglass.query import sessions
from skyglass.query.params import QueryParams

router = Router()


@router.get("/sessions")
def list_sessions() -> Response:
    scope = project_scope(router)
    params = QueryParams.from_event(router.current_event)
    return json_response(
        200, sessions.list_sessions(services(router).analytics, scope.project_id, params).wire()
    )


@router.get("/sessions/<sessionId>")
def get_session(sessionId: str) -> Response:
    scope = project_scope(router)
    result = sessions.get_session(services(router).analytics, scope.project_id, unquote(sessionId))
    return json_response(200, result.wire())
