"""The HTTP API: one Powertools resolver with a router per area, errors mapped in one place.

Both runtimes call ``handle``: the Lambda functions with the API Gateway v2 event, the local
server with an equivalent event built from the HTTP request.
"""

from __future__ import annotations

import logging
from typing import Any

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, CORSConfig, Response
from pydantic import ValidationError

from skyglass.api.deps import ApiServices, bound
from skyglass.api.responses import error_response, json_response
from skyglass.errors import DomainError, InvalidRequest, MethodNotAllowed, NotFound

log = logging.getLogger(__name__)

PREFIX = "/api/public"


def _register_errors(app: APIGatewayHttpResolver) -> None:
    @app.exception_handler(DomainError)
    def _domain(exc: DomainError) -> Response:
        return error_response(exc)

    @app.exception_handler(ValidationError)
    def _validation(exc: ValidationError) -> Response:
        issues = exc.errors(include_url=False, include_context=False, include_input=False)
        return error_response(InvalidRequest("Invalid request data", detail=issues))

    @app.not_found
    def _not_found(exc: Exception) -> Response:
        event = app.current_event
        allowed = _methods_for(app, event.path)
        if allowed:
            return error_response(
                MethodNotAllowed(
                    f"Method {event.http_method} is not allowed on {event.path}; use {', '.join(allowed)}.",
                    headers={"Allow": ", ".join(allowed)},
                )
            )
        return error_response(NotFound(f"No route for {event.http_method} {event.path}"))

    @app.exception_handler(Exception)
    def _unexpected(exc: Exception) -> Response:
        log.exception("unhandled error")
        return json_response(
            500, {"message": "Internal Server Error", "error": "An unexpected error occurred"}
        )


def _methods_for(app: APIGatewayHttpResolver, path: str) -> list[str]:
    """Methods registered for ``path`` (for a 405's Allow header); empty when the path is unknown.

    Powertools keeps its route table in private attributes; if they ever change this degrades to
    a plain 404 rather than failing.
    """
    routes = getattr(app, "_static_routes", []) + getattr(app, "_dynamic_routes", [])
    return sorted({r.method for r in routes if getattr(r, "rule", None) and r.rule.match(path)})


def build_app(routers: list[Any] | None = None) -> APIGatewayHttpResolver:
    """A resolver with the given routers (default: every area), all under ``/api/public``."""
    from skyglass.api import routes

    app = APIGatewayHttpResolver(cors=CORSConfig(allow_origin="*", max_age=600), strip_prefixes=[])
    _register_errors(app)
    for router in routers if routers is not None else routes.all_routers():
        app.include_router(router, prefix=PREFIX)
    return app


def handle(app: APIGatewayHttpResolver, services: ApiServices, event: dict[str, Any], context: Any) -> dict:
    """Resolve one API Gateway v2 event with ``services`` bound for its handlers."""
    with bound(services):
        return app.resolve(event, context)
