"""``POST /api/public/scores`` (object or SDK v5 array) and ``DELETE /api/public/scores/{scoreId}``."""

from __future__ import annotations

from urllib.parse import unquote

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.api_gateway import Router

from skyglass.api.auth import project_scope
from skyglass.api.deps import services
from skyglass.api.ingestion import http_request
from skyglass.api.responses import json_response
from skyglass.ingestion.scores import create_scores, delete_score

router = Router()


@router.post("/scores")
def post_scores() -> Response:
    scope = project_scope(router, allow_bearer=True)
    svc = services(router)
    request = http_request(router, svc.settings.max_body_bytes)
    result = create_scores(request, scope, blobs=svc.blobs, queue=svc.queue, settings=svc.settings)
    return json_response(result.status, result.body)


@router.delete("/scores/<score_id>")
def delete_score_by_id(score_id: str) -> Response:
    # Langfuse answers 202 (its delete is queued); ours is immediate but keeps the status.
    scope = project_scope(router)
    svc = services(router)
    delete_score(svc.analytics, scope.project_id, unquote(score_id))
    return json_response(202, {"message": "Score deleted"})
