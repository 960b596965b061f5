"""Routes of the public API: observations (v1 list and get, v2 cursor list)."""

from __future__ import annotations

from urllib.parse import unquote

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.api_gateway import Router

from skyglass.api.auth import project_scope
from skyglass.api.deps import services
from skyglass.api.responses import json_response
from skyglass.query import observations, observations_v2
from skyglass.query.params import QueryParams

router = Router()


@router.get("/observations")
def list_observations() -> Response:
    scope = project_scope(router)
    params = QueryParams.from_event(router.current_event)
    result = observations.list_observations(services(router).analytics, scope.project_id, params)
    return json_response(200, result.wire())


@router.get("/observations/<observationId>")
def get_observation(observationId: str) -> Response:
    scope = project_scope(router)
    result = observations.get_observation(
        services(router).analytics, scope.project_id, unquote(observationId)
    )
    return json_response(200, result.wire())


@router.get("/v2/observations")
def list_observations_v2() -> Response:
    scope = project_scope(router)
    params = QueryParams.from_event(router.current_event)
    result = observations_v2.list_observations_v2(services(router).analytics, scope.project_id, params)
    return json_response(200, result.wire())
