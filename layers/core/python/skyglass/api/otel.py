"""``POST /api/public/otel/v1/traces``: OTLP/HTTP trace export (protobuf or JSON, gzip or identity).

The answer is an ``ExportTraceServiceResponse`` in the request's encoding. A protobuf body is
returned as bytes, which Powertools base64-encodes with ``isBase64Encoded`` (API Gateway and the
local server both decode it back); a JSON body is returned as text so Powertools sends it as is.

Failures (400, 401/403, 413, 415, 503 with ``Retry-After``, 500) are answered here rather than by
the app's JSON error handler: OTLP asks for a ``google.rpc.Status`` in the request's encoding
(``contracts.otlp_status``). Exporters only look at the status code.
"""

from __future__ import annotations

import logging

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.api_gateway import Router

from skyglass.api.auth import project_scope
from skyglass.api.deps import services
from skyglass.api.ingestion import http_request
from skyglass.contracts.otlp import PROTOBUF
from skyglass.contracts.otlp_status import CONTENT_TYPES, encode_status, error_encoding
from skyglass.errors import DomainError
from skyglass.ingestion.otel import ingest_otel

log = logging.getLogger(__name__)
router = Router()


def _failure(status: int, message: str, error: str, headers: dict[str, str]) -> Response:
    """A ``Status`` answer in the encoding of the current request (JSON if it named none we read)."""
    headers_in = router.current_event.headers or {}
    content_type = next((value for name, value in headers_in.items() if name.lower() == "content-type"), None)
    encoding = error_encoding(content_type)
    body = encode_status(status, message, error, encoding)
    return Response(
        status_code=status,
        content_type=CONTENT_TYPES[encoding],
        body=body if encoding == "protobuf" else body.decode(),
        headers=headers,
    )


@router.post("/otel/v1/traces")
def post_otel_traces() -> Response:
    try:
        # Basic auth with a project key only, as in Langfuse (no Bearer public key here).
        scope = project_scope(router)
        svc = services(router)
        request = http_request(router, svc.settings.max_body_bytes)
        result = ingest_otel(request, scope, blobs=svc.blobs, queue=svc.queue, settings=svc.settings)
    except DomainError as exc:
        return _failure(exc.status, exc.message, exc.error, exc.headers)
    except Exception:
        log.exception("unhandled error")
        return _failure(500, "Internal Server Error", "An unexpected error occurred", {})
    body: bytes | str = result.body if result.content_type == PROTOBUF else result.body.decode()
    return Response(status_code=200, content_type=result.content_type, body=body)
