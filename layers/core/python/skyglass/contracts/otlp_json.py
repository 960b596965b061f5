"""OTLP/JSON trace requests → ``OtelSpan``s, read directly (no protobuf JSON mapping).

OTLP/JSON differs from the protobuf JSON mapping: trace and span ids are hex (not base64).
Keys are lowerCamelCase (snake_case accepted), 64-bit integers are decimal strings or numbers,
enums are integers or their names, unknown fields are ignored. Structural errors are a 400 that
names the place; unusable ids are left for per-span validation (the span alone is rejected).
"""

from __future__ import annotations

import base64
import binascii
from typing import Any

import orjson

from skyglass.domain.otel.span import SPAN_ID_HEX, TRACE_ID_HEX, OtelEvent, OtelSpan
from skyglass.errors import InvalidRequest

SPAN_KINDS = {
    f"SPAN_KIND_{name}": number
    for number, name in enumerate(("UNSPECIFIED", "INTERNAL", "SERVER", "CLIENT", "PRODUCER", "CONSUMER"))
}
STATUS_CODES = {"STATUS_CODE_UNSET": 0, "STATUS_CODE_OK": 1, "STATUS_CODE_ERROR": 2}
NON_FINITE = frozenset({"NaN", "Infinity", "-Infinity"})
OTHER_SIGNALS = ("resourceLogs", "resource_logs", "resourceMetrics", "resource_metrics")
_HEX = frozenset("0123456789abcdefABCDEF")


class _Malformed(ValueError):
    """A structural error; ``path`` is filled in on the way out."""


def _get(obj: dict[str, Any], camel: str, snake: str) -> Any:
    value = obj.get(camel)
    return obj.get(snake) if value is None else value


def _objects(value: Any, what: str) -> list[Any]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise _Malformed(f"{what} must be an array")
    return value


def _object(value: Any, what: str) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise _Malformed(f"{what} must be an object")
    return value


def _int(value: Any, what: str) -> int:
    if value is None or value == "":
        return 0
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str):
        try:
            return int(value)
        except ValueError:
            pass
    if isinstance(value, float) and value.is_integer():
        return int(value)
    raise _Malformed(f"{what} must be an integer, got {value!r}")


def _enum(value: Any, names: dict[str, int], what: str) -> int:
    if isinstance(value, str) and value in names:
        return names[value]
    return _int(value, what)


def _id(value: Any, size: int) -> str:
    """Hex id (lowercase); base64 (protobuf JSON mapping) tolerated; '' when absent or unusable."""
    if not isinstance(value, str) or not value:
        return ""
    if len(value) == size and _HEX.issuperset(value):
        return value.lower()
    try:
        decoded = base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        return value  # kept so validation can reject the span with its reason
    return decoded.hex() if len(decoded) * 2 == size else value


def _parent_id(value: Any) -> str:
    parent = _id(value, SPAN_ID_HEX)
    return "" if parent and not parent.strip("0") else parent  # all-zero parent = no parent


def any_value(value: Any) -> Any:
    """An OTLP/JSON ``AnyValue`` object as a plain value."""
    if not isinstance(value, dict):
        raise _Malformed("attribute value must be an object")
    for key, item in value.items():
        if key == "stringValue" or key == "string_value":
            return item
        if key in ("intValue", "int_value"):
            return _int(item, "intValue")
        if key in ("boolValue", "bool_value"):
            if not isinstance(item, bool):
                raise _Malformed(f"boolValue must be true or false, got {item!r}")
            return item
        if key in ("doubleValue", "double_value"):
            return _double(item)
        if key in ("arrayValue", "array_value"):
            return [
                any_value(v) for v in _objects(_object(item, "arrayValue").get("values"), "arrayValue.values")
            ]
        if key in ("kvlistValue", "kvlist_value"):
            return attributes(_object(item, "kvlistValue").get("values"))
        if key in ("bytesValue", "bytes_value"):
            return item
    return None


def _double(item: Any) -> float | str:
    if isinstance(item, str) and item in NON_FINITE:
        return item  # kept as Langfuse keeps them
    if isinstance(item, int | float) and not isinstance(item, bool):
        return float(item)
    if isinstance(item, str):
        try:
            return float(item)
        except ValueError:
            pass
    raise _Malformed(f"doubleValue must be a number, got {item!r}")


def attributes(value: Any) -> dict[str, Any]:
    """A ``KeyValue`` array → dict (a repeated key keeps its last value)."""
    out: dict[str, Any] = {}
    for pair in _objects(value, "attributes"):
        if not isinstance(pair, dict) or not isinstance(pair.get("key"), str):
            raise _Malformed("each attribute must be an object with a string key")
        raw = pair.get("value")
        out[pair["key"]] = None if raw is None else any_value(raw)
    return out


def _span(
    raw: Any, resource: dict[str, Any], scope: dict[str, Any], scope_attributes: dict[str, Any]
) -> OtelSpan:
    span = _object(raw, "span")
    status = _object(span.get("status"), "status")
    events = [
        OtelEvent(
            str(event.get("name") or ""),
            _int(_get(event, "timeUnixNano", "time_unix_nano"), "timeUnixNano"),
            attributes(event.get("attributes")),
        )
        for event in (_object(e, "event") for e in _objects(span.get("events"), "events"))
    ]
    return OtelSpan(
        trace_id=_id(_get(span, "traceId", "trace_id"), TRACE_ID_HEX),
        span_id=_id(_get(span, "spanId", "span_id"), SPAN_ID_HEX),
        parent_span_id=_parent_id(_get(span, "parentSpanId", "parent_span_id")),
        name=str(span.get("name") or ""),
        kind=_enum(span.get("kind"), SPAN_KINDS, "kind"),
        start_time_unix_nano=_int(
            _get(span, "startTimeUnixNano", "start_time_unix_nano"), "startTimeUnixNano"
        ),
        end_time_unix_nano=_int(_get(span, "endTimeUnixNano", "end_time_unix_nano"), "endTimeUnixNano"),
        status_code=_enum(status.get("code"), STATUS_CODES, "status.code"),
        status_message=str(status.get("message") or ""),
        attributes=attributes(span.get("attributes")),
        events=events,
        resource_attributes=resource,
        scope_name=str(scope.get("name") or ""),
        scope_version=str(scope.get("version") or ""),
        scope_attributes=scope_attributes,
    )


def spans_from_document(document: Any) -> list[OtelSpan]:
    """Every span of a parsed OTLP/JSON ``ExportTraceServiceRequest``."""
    if not isinstance(document, dict):
        raise InvalidRequest("Invalid OTLP/JSON body: expected an object with resourceSpans")
    resource_spans = _get(document, "resourceSpans", "resource_spans")
    if resource_spans is None and any(key in document for key in OTHER_SIGNALS):
        raise InvalidRequest(
            "Invalid OTLP/JSON body: this endpoint accepts traces (resourceSpans), not logs or metrics"
        )
    spans: list[OtelSpan] = []
    path = "resourceSpans"
    try:
        for r, entry in enumerate(_objects(resource_spans, "resourceSpans")):
            path = f"resourceSpans[{r}]"
            entry = _object(entry, "resourceSpans entry")
            resource = attributes(_object(entry.get("resource"), "resource").get("attributes"))
            for s, scope_entry in enumerate(_objects(_get(entry, "scopeSpans", "scope_spans"), "scopeSpans")):
                path = f"resourceSpans[{r}].scopeSpans[{s}]"
                scope_entry = _object(scope_entry, "scopeSpans entry")
                scope = _object(scope_entry.get("scope"), "scope")
                scope_attributes = attributes(scope.get("attributes"))
                for i, raw in enumerate(_objects(scope_entry.get("spans"), "spans")):
                    path = f"resourceSpans[{r}].scopeSpans[{s}].spans[{i}]"
                    spans.append(_span(raw, resource, scope, scope_attributes))
    except _Malformed as exc:
        raise InvalidRequest(f"Invalid OTLP/JSON body at {path}: {exc}") from exc
    return spans


def read_spans(raw: bytes) -> list[OtelSpan]:
    """Parse an OTLP/JSON body (an empty body is an empty request)."""
    if not raw.strip():
        return []
    try:
        document = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise InvalidRequest(f"Invalid JSON body: {exc}") from exc
    return spans_from_document(document)
