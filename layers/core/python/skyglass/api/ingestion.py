"""``POST /api/public/ingestion``: the Langfuse batch endpoint (always 207 once the request is sound)."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.api_gateway import Router

from skyglass.api.auth import project_scope
from skyglass.api.deps import services
from skyglass.api.responses import json_response
from skyglass.ingestion.batch import ingest_batch
from skyglass.ingestion.common import HttpRequest, read_body

router = Router()


def http_request(router: Any, max_body_bytes: int) -> HttpRequest:
    """Body and headers of the current request; 413 when the body is over ``max_body_bytes``."""
    event = router.current_event
    body = read_body(event.body, bool(event.is_base64_encoded), max_body_bytes)
    return HttpRequest.of(body, event.headers)


@router.post("/ingestion")
def post_ingestion() -> Response:
    # A Bearer public key is let in here; the use case then limits it to score-create/sdk-log.
    scope = project_scope(router, allow_bearer=True)
    svc = services(router)
    request = http_request(router, svc.settings.max_body_bytes)
    result = ingest_batch(request, scope, blobs=svc.blobs, queue=svc.queue, settings=svc.settings)
    return json_response(207, result.body())
