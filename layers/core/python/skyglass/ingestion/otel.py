"""``POST /api/public/otel/v1/traces``: check an OTLP/HTTP export request and land it as one blob
plus one queue message (compat §2.2); spans are mapped later, by the worker.

The ingest path only proves the request can be processed: the content type is one we read
(else 415), the body decompresses within the limit (else 413) and decodes (else 400), and every
span has usable ids (a span without them is rejected on its own and reported in the OTLP
``partial_success``). For protobuf — what the Langfuse SDK and the OTel exporters send — the
message is parsed but its attributes are never converted: reading the ids of 10,000 spans takes
a few milliseconds, converting them would take ~200 ms, and mapping them over a second.

**Blob payload** (``BlobEnvelope(kind="otel").payload``), read by ``processing.otel_events``::

    {"format": 1, "encoding": "protobuf" | "json", "content_type": "<request Content-Type>",
     "content_encoding": "gzip" | "identity", "body": "<base64 of the body as received>",
     "spans": <accepted span count>, "rejected": <rejected span count>}

The body is stored *as received* — still gzip-compressed when the client compressed it — rather
than decompressed or re-encoded: SDK batches compress ~10x, so the blob written before we answer
(the durable raw log, re-read by every replay) is ~10x smaller and base64 costs ~10x less, while
the worker pays only a gunzip (~2 ms per 10,000 spans). The worker decodes the same bytes with
the same decoder and the same per-span validation, so it accepts exactly the spans accepted here.
"""

from __future__ import annotations

import base64
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from skyglass.contracts import otlp
from skyglass.contracts.messages import BlobEnvelope
from skyglass.errors import InvalidRequest
from skyglass.ingestion.common import (
    DEFAULT_GATE,
    BackpressureGate,
    Caller,
    HttpRequest,
    land,
    sdk_info,
    utc_now,
)
from skyglass.ports.blob import BlobStore
from skyglass.ports.queue import MessageQueue
from skyglass.settings import Settings

PAYLOAD_FORMAT = 1
# The newest ``x-langfuse-ingestion-version`` Langfuse knows (compat §2.2); it refuses newer ones.
MAX_INGESTION_VERSION = 4
RESPONSE_CONTENT_TYPES: dict[otlp.Encoding, str] = {"protobuf": otlp.PROTOBUF, "json": otlp.JSON}


@dataclass(frozen=True, slots=True)
class OtelResult:
    """The 200 answer (an ``ExportTraceServiceResponse`` in the request's encoding) and what landed."""

    body: bytes
    content_type: str
    accepted: int
    rejected: int
    blob_key: str | None = None


def _content_encoding(headers: Mapping[str, str]) -> str:
    coding = (headers.get("content-encoding") or "identity").strip().lower() or "identity"
    return "gzip" if coding == "x-gzip" else coding


def check_ingestion_version(value: str | None) -> None:
    """400 for an ``x-langfuse-ingestion-version`` that is not an integer or is newer than we know."""
    if value is None or not value.strip():
        return
    try:
        version = int(value.strip())
    except ValueError:
        raise InvalidRequest(f"Unsupported x-langfuse-ingestion-version: {value!r}") from None
    if version > MAX_INGESTION_VERSION:
        raise InvalidRequest(
            f"Unsupported x-langfuse-ingestion-version: {version} (newest supported: {MAX_INGESTION_VERSION})"
        )


def screen_request(
    body: bytes, content_type: str | None, content_encoding: str, *, max_decompressed_bytes: int
) -> tuple[otlp.Encoding, int, int, str]:
    """``(encoding, accepted, rejected, error message)`` of an export request body.

    Raises 415/400/413 (see ``contracts.otlp.decode_export_request``) for a request that cannot
    be read at all.
    """
    request = otlp.decode_export_request(
        body, content_type, content_encoding, max_decompressed_bytes=max_decompressed_bytes
    )
    if request.message is not None:
        accepted, rejected, message = otlp.screen_protobuf_spans(request.message)
        return request.encoding, accepted, rejected, message
    valid, rejected, message = otlp.validate_spans(request.json_spans)
    return request.encoding, len(valid), rejected, message


def otel_payload(
    body: bytes, content_type: str, content_encoding: str, encoding: str, accepted: int, rejected: int
) -> dict[str, Any]:
    """The blob payload of an accepted request (format in the module docstring)."""
    return {
        "format": PAYLOAD_FORMAT,
        "encoding": encoding,
        "content_type": content_type,
        "content_encoding": content_encoding,
        "body": base64.b64encode(body).decode("ascii"),
        "spans": accepted,
        "rejected": rejected,
    }


def ingest_otel(
    request: HttpRequest,
    caller: Caller,
    *,
    blobs: BlobStore,
    queue: MessageQueue,
    settings: Settings,
    now: datetime | None = None,
    gate: BackpressureGate = DEFAULT_GATE,
    max_decompressed_bytes: int = otlp.MAX_DECOMPRESSED_BYTES,
) -> OtelResult:
    """Check an OTLP export request and land its valid spans; see the module docstring.

    Refusals come cheapest first: content type (415), ingestion version (400), back-pressure
    (503 + Retry-After), then decoding (413/400). A request without valid spans (empty, or every
    span rejected) writes nothing and is still a 200, as OTLP asks.
    """
    headers = request.headers
    content_type = headers.get("content-type") or ""
    encoding = otlp.media_type(content_type)
    check_ingestion_version(headers.get("x-langfuse-ingestion-version"))
    gate.check(queue, settings.queue_backpressure_depth)
    content_encoding = _content_encoding(headers)
    _, accepted, rejected, message = screen_request(
        request.body, content_type, content_encoding, max_decompressed_bytes=max_decompressed_bytes
    )
    blob_key = None
    if accepted:
        envelope = BlobEnvelope(
            kind="otel",
            project_id=caller.project_id,
            received_at=now or utc_now(),
            sdk=sdk_info(headers, caller),
            payload=otel_payload(request.body, content_type, content_encoding, encoding, accepted, rejected),
        )
        blob_key = land(blobs, queue, envelope).blob_key
    body = otlp.encode_response(rejected, message, content_type)
    return OtelResult(body, RESPONSE_CONTENT_TYPES[encoding], accepted, rejected, blob_key)
