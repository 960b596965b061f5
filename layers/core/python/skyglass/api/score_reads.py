"""Routes of the public API: score reads (v2 and legacy v1 lists and gets, v3 cursor list).

``DELETE /scores/{scoreId}`` and ``POST /scores`` live in ``api/scores.py``.
"""

from __future__ import annotations

from urllib.parse import unquote

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.api_gateway import Router

from skyglass.api.auth import project_scope
from skyglass.api.deps import services
from skyglass.api.responses import json_response
from skyglass.query import scores, scores_v3
from skyglass.query.params import QueryParams

router = Router()


@router.get("/v2/scores")
@router.get("/scores")
def list_scores() -> Response:
    scope = project_scope(router)
    params = QueryParams.from_event(router.current_event)
    return json_response(200, scores.list_scores(services(router).analytics, scope.project_id, params).wire())


@router.get("/v2/scores/<scoreId>")
@router.get("/scores/<scoreId>")
def get_score(scoreId: str) -> Response:
    scope = project_scope(router)
    result = scores.get_score(services(router).analytics, scope.project_id, unquote(scoreId))
    return json_response(200, result.wire())


@router.get("/v3/scores")
def list_scores_v3() -> Response:
    scope = project_scope(router)
    params = QueryParams.from_event(router.current_event)
    result = scores_v3.list_scores_v3(services(router).analytics, scope.project_id, params)
    return json_response(200, result.wire())
