"""OTLP/HTTP trace export requests: decode, turn into ``OtelSpan``s, validate, answer.

``POST /api/public/otel/v1/traces`` accepts ``application/x-protobuf`` (what the Langfuse SDK
and the Python exporter send) and ``application/json`` (OTLP/JSON, the JS exporter), gzip or
identity encoded. A body that cannot be decoded is a 400; spans with unusable ids are rejected
one by one and reported in the OTLP ``partial_success``, the rest are accepted.

Protobuf fields are read directly (no ``MessageToDict``): decoding and mapping must keep up with
tens of thousands of spans per second on one core.
"""

from __future__ import annotations

import base64
import math
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any, Literal

import orjson
from google.protobuf.message import DecodeError
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTracePartialSuccess,
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue

from skyglass.contracts import otlp_json
from skyglass.contracts.compression import gunzip
from skyglass.domain.otel.span import OtelEvent, OtelSpan, id_bytes_problem, span_problem
from skyglass.errors import InvalidRequest, UnsupportedMediaType

PROTOBUF = "application/x-protobuf"
JSON = "application/json"
Encoding = Literal["protobuf", "json"]
# ``application/protobuf`` is the registered name some clients use for the same bytes.
MEDIA_TYPES: dict[str, Encoding] = {PROTOBUF: "protobuf", "application/protobuf": "protobuf", JSON: "json"}
CONTENT_ENCODINGS = ("gzip", "x-gzip", "identity")
# A gzip body may expand ~1000x; cap what one request may decompress to.
MAX_DECOMPRESSED_BYTES = 64 * 1024 * 1024


@dataclass(slots=True)
class DecodedRequest:
    """A decoded export request: the protobuf message, or the spans read from OTLP/JSON."""

    encoding: Encoding
    message: ExportTraceServiceRequest | None = None
    json_spans: list[OtelSpan] = field(default_factory=list)


def media_type(content_type: str | None) -> Encoding:
    """The encoding named by a ``Content-Type`` header (parameters ignored); 415 otherwise."""
    essence = (content_type or "").split(";", 1)[0].strip().lower()
    encoding = MEDIA_TYPES.get(essence)
    if encoding is None:
        raise UnsupportedMediaType(
            f"Unsupported content type {essence or '(none)'!r}: send OTLP traces as {PROTOBUF} or {JSON}"
        )
    return encoding


def decompress(body: bytes, content_encoding: str | None, *, limit: int = MAX_DECOMPRESSED_BYTES) -> bytes:
    """The body under ``gzip`` or identity ``Content-Encoding``; 415 for any other coding."""
    coding = (content_encoding or "identity").strip().lower() or "identity"
    if coding not in CONTENT_ENCODINGS:
        raise UnsupportedMediaType(f"Unsupported content encoding {coding!r}: use gzip or identity")
    if coding == "identity":
        return body
    return gunzip(body, limit, f"Request body decompresses to more than {limit} bytes")


def decode_export_request(
    body: bytes,
    content_type: str | None,
    content_encoding: str | None,
    *,
    max_decompressed_bytes: int = MAX_DECOMPRESSED_BYTES,
) -> DecodedRequest:
    """Decode an ``ExportTraceServiceRequest`` body (protobuf or OTLP/JSON, gzip or identity).

    Raises ``UnsupportedMediaType`` (415) for other content types/encodings, ``InvalidRequest``
    (400) naming the problem for undecodable bodies, ``PayloadTooLarge`` (413) for gzip bombs.
    An empty body is an empty request (nothing to ingest, answered 200 like Langfuse).
    """
    encoding = media_type(content_type)
    raw = decompress(body, content_encoding, limit=max_decompressed_bytes)
    if encoding == "json":
        return DecodedRequest("json", json_spans=otlp_json.read_spans(raw))
    try:
        message = ExportTraceServiceRequest.FromString(raw)
    except DecodeError as exc:
        raise InvalidRequest(f"Invalid OTLP protobuf body (ExportTraceServiceRequest): {exc}") from exc
    return DecodedRequest("protobuf", message=message)


# --- protobuf → OtelSpan --------------------------------------------------------------------


def _double(number: float) -> float | str:
    if math.isfinite(number):
        return number
    return "NaN" if math.isnan(number) else ("Infinity" if number > 0 else "-Infinity")


def any_value(value: AnyValue) -> Any:
    """An OTLP ``AnyValue`` as a plain value (bytes as base64 text, empty as ``None``)."""
    kind = value.WhichOneof("value")
    if kind == "string_value":
        return value.string_value
    if kind == "int_value":
        return value.int_value
    if kind == "bool_value":
        return value.bool_value
    if kind == "double_value":
        return _double(value.double_value)
    if kind == "array_value":
        return [any_value(item) for item in value.array_value.values]
    if kind == "kvlist_value":
        return attributes(value.kvlist_value.values)
    if kind == "bytes_value":
        return base64.b64encode(value.bytes_value).decode("ascii")
    return None


def attributes(pairs: Iterable[KeyValue]) -> dict[str, Any]:
    """``KeyValue`` list → dict (a repeated key keeps its last value)."""
    # Strings dominate: try the string field first (an empty string falls through to the
    # generic dispatch, which returns it too).
    return {
        pair.key: (text if (text := (value := pair.value).string_value) else any_value(value))
        for pair in pairs
    }


def _proto_spans(message: ExportTraceServiceRequest) -> Iterator[OtelSpan]:
    for resource_spans in message.resource_spans:
        resource = attributes(resource_spans.resource.attributes)
        for scope_spans in resource_spans.scope_spans:
            scope = scope_spans.scope
            scope_attributes = attributes(scope.attributes)
            for span in scope_spans.spans:
                status = span.status
                parent = span.parent_span_id
                events = span.events
                # Positional: this runs once per span and keyword construction is measurably slower.
                yield OtelSpan(
                    span.trace_id.hex(),
                    span.span_id.hex(),
                    parent.hex() if any(parent) else "",  # some exporters send an all-zero parent
                    span.name,
                    span.kind,
                    span.start_time_unix_nano,
                    span.end_time_unix_nano,
                    status.code,
                    status.message,
                    attributes(span.attributes),
                    [OtelEvent(e.name, e.time_unix_nano, attributes(e.attributes)) for e in events]
                    if events
                    else [],
                    resource,
                    scope.name,
                    scope.version,
                    scope_attributes,
                )


def iter_spans(request: DecodedRequest) -> Iterator[OtelSpan]:
    """Every span of the request with its resource and scope, in request order (unvalidated)."""
    if request.message is not None:
        yield from _proto_spans(request.message)
    else:
        yield from request.json_spans


def validate_spans(spans: Iterable[OtelSpan]) -> tuple[list[OtelSpan], int, str]:
    """``(accepted, rejected count, error message)``: invalid spans are rejected individually.

    The message counts each reason, for the OTLP ``partial_success.error_message``; it is empty
    when nothing was rejected.
    """
    accepted: list[OtelSpan] = []
    reasons: dict[str, int] = {}
    for span in spans:
        problem = span_problem(span)
        if problem is None:
            accepted.append(span)
        else:
            reasons[problem] = reasons.get(problem, 0) + 1
    rejected, message = _rejections(reasons, len(accepted))
    return accepted, rejected, message


def screen_protobuf_spans(message: ExportTraceServiceRequest) -> tuple[int, int, str]:
    """``(accepted count, rejected count, error message)`` of a decoded protobuf request, by the
    rule of ``validate_spans`` applied to the raw ids: no span object is built, so screening
    a 10,000-span request at ingest stays cheap."""
    accepted = 0
    reasons: dict[str, int] = {}
    for resource_spans in message.resource_spans:
        for scope_spans in resource_spans.scope_spans:
            for span in scope_spans.spans:
                problem = id_bytes_problem(span.trace_id, span.span_id, span.parent_span_id)
                if problem is None:
                    accepted += 1
                else:
                    reasons[problem] = reasons.get(problem, 0) + 1
    rejected, text = _rejections(reasons, accepted)
    return accepted, rejected, text


def _rejections(reasons: dict[str, int], accepted: int) -> tuple[int, str]:
    """The rejected count and the ``partial_success`` message counting each reason."""
    rejected = sum(reasons.values())
    if not rejected:
        return 0, ""
    detail = "; ".join(f"{count} with an {reason}" for reason, count in reasons.items())
    return rejected, f"Rejected {rejected} of {rejected + accepted} spans: {detail}"


def encode_response(rejected: int, message: str, content_type: str | None) -> bytes:
    """An ``ExportTraceServiceResponse`` in the request's encoding.

    ``partial_success`` is set when spans were rejected (or a warning message is given); an
    empty response means full success, as the OTLP spec asks.
    """
    encoding = media_type(content_type)
    partial = rejected > 0 or bool(message)
    if encoding == "json":
        if not partial:
            return b"{}"
        # OTLP/JSON: int64 as a decimal string, lowerCamelCase keys.
        return orjson.dumps({"partialSuccess": {"rejectedSpans": str(rejected), "errorMessage": message}})
    response = ExportTraceServiceResponse()
    if partial:
        response.partial_success.CopyFrom(
            ExportTracePartialSuccess(rejected_spans=rejected, error_message=message)
        )
    return response.SerializeToString()
