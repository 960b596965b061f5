"""One ``otel`` blob → Langfuse ingestion events → the records of ``processing.events``.

The blob holds the OTLP export request as received (payload format: ``ingestion.otel``). It is
decoded with the same decoder and validated with the same per-span rule as at ingest, so exactly
the spans the client was told were accepted are mapped; each becomes its observation event (and
a trace event when it carries trace fields) through ``domain.otel.span_to_events``.

Mapping is deterministic — event ids hash the span, times come from the span and the blob's
receive time — so a span exported twice (or a blob replayed) yields the same events, which the
merge stores once. A payload that cannot be decoded fails its message alone (``InvalidRequest``);
a span the mapper fails on is skipped and logged (see ``otel_events``).
"""

from __future__ import annotations

import base64
import binascii
import logging
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from skyglass.contracts import otlp
from skyglass.contracts.messages import BlobEnvelope
from skyglass.domain.otel import span_to_events
from skyglass.errors import DomainError, InvalidRequest
from skyglass.processing.events import BlobRecords, events_records

logger = logging.getLogger(__name__)

SUPPORTED_FORMATS = frozenset({1})


def _payload_body(payload: dict[str, Any] | None) -> tuple[bytes, str, str]:
    """``(body as received, content type, content encoding)`` of an ``otel`` payload."""
    if not isinstance(payload, dict):
        raise InvalidRequest("otel blob has no payload")
    if payload.get("format") not in SUPPORTED_FORMATS:
        raise InvalidRequest(f"otel blob has an unsupported payload format: {payload.get('format')!r}")
    body, content_type = payload.get("body"), payload.get("content_type")
    if not isinstance(body, str) or not isinstance(content_type, str):
        raise InvalidRequest("otel blob payload lacks body or content_type")
    try:
        raw = base64.b64decode(body, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise InvalidRequest("otel blob body is not base64") from exc
    content_encoding = payload.get("content_encoding")
    return raw, content_type, content_encoding if isinstance(content_encoding, str) else "identity"


@dataclass(slots=True)
class _Unmapped:
    """Spans the mapper failed on (a mapper bug, never user error): skipped, logged, counted."""

    count: int = 0


def otel_events(
    payload: dict[str, Any] | None,
    received_at: datetime,
    *,
    blob_key: str = "",
    unmapped: _Unmapped | None = None,
) -> Iterator[dict[str, Any]]:
    """The Langfuse ingestion events of every valid span of an ``otel`` payload, in request order.

    A span the mapper cannot handle is skipped and logged with its blob, rather than failing the
    whole request: its siblings are stored now, and a replay of the blob after a fix adds it.
    """
    raw, content_type, content_encoding = _payload_body(payload)
    try:
        request = otlp.decode_export_request(raw, content_type, content_encoding)
    except DomainError as exc:  # decodable at ingest, so the stored bytes are damaged
        raise InvalidRequest(f"otel blob body cannot be decoded: {exc.message}") from exc
    accepted, _, _ = otlp.validate_spans(otlp.iter_spans(request))
    for span in accepted:
        try:
            events = span_to_events(span, received_at=received_at)
        except Exception:
            logger.exception("could not map span %s/%s of %s", span.trace_id, span.span_id, blob_key)
            if unmapped is not None:
                unmapped.count += 1
            continue
        yield from events


def otel_records(envelope: BlobEnvelope, blob_key: str) -> BlobRecords:
    """Map an ``otel`` blob; raises ``InvalidRequest`` for a payload that cannot be decoded."""
    unmapped = _Unmapped()
    events = otel_events(envelope.payload, envelope.received_at, blob_key=blob_key, unmapped=unmapped)
    records = events_records(envelope.project_id, envelope.received_at, events, blob_key)
    records.skipped += unmapped.count
    return records
