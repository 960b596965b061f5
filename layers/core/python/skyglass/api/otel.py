"""``POST /api/public/otel/v1/traces``: OTLP/HTTP trace export (protobuf or JSON, gzip or identity).

The answer is an ``ExportTraceServiceResponse`` in the request's encoding. A protobuf body is
returned as bytes, which Powertools base64-encodes with ``isBase64Encoded`` (API Gateway and the
local server both decode it back); a JSON body is returned as text so Powertools sends it as is.
Errors keep the JSON error body of every other route (exporters only look at the status).
"""

from __future__ import annotations

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.api_gateway import Router

from skyglass.api.auth import project_scope
from skyglass.api.deps import services
from skyglass.api.ingestion import http_request
from skyglass.contracts.otlp import PROTOBUF
from skyglass.ingestion.otel import ingest_otel

router = Router()


@router.post("/otel/v1/traces")
def post_otel_traces() -> Response:
    # Basic auth with a project key only, as in Langfuse (no Bearer public key here).
    scope = project_scope(router)
    svc = services(router)
    request = http_request(router, svc.settings.max_body_bytes)
    result = ingest_otel(request, scope, blobs=svc.blobs, queue=svc.queue, settings=svc.settings)
    body: bytes | str = result.body if result.content_type == PROTOBUF else result.body.decode()
    return Response(status_code=200, content_type=result.content_type, body=body)
