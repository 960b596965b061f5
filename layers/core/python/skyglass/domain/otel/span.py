"""The span as the mapper sees it: plain Python values, no protobuf.

Ids are lowercase hex ('' when absent), times are unix nanoseconds (0 when absent), attribute
values are ``str | int | float | bool | list | dict | None`` (non-finite doubles arrive as the
strings ``"NaN"``/``"Infinity"``/``"-Infinity"``, as Langfuse keeps them). Resource and scope
attribute dicts are shared by every span of their resource/scope: treat them as read-only.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

# OTLP enums (opentelemetry/proto/trace/v1/trace.proto), as numbers on the wire.
SPAN_KIND_NAMES = ("UNSPECIFIED", "INTERNAL", "SERVER", "CLIENT", "PRODUCER", "CONSUMER")
STATUS_UNSET, STATUS_OK, STATUS_ERROR = 0, 1, 2

TRACE_ID_HEX = 32
SPAN_ID_HEX = 16
_HEX = frozenset("0123456789abcdef")

INVALID_TRACE_ID = "invalid trace id (must be 16 bytes, not all zero)"
INVALID_SPAN_ID = "invalid span id (must be 8 bytes, not all zero)"
INVALID_PARENT_SPAN_ID = "invalid parent span id (must be empty or 8 bytes)"


@dataclass(slots=True)
class OtelEvent:
    """A span event (``Span.Event``): e.g. ``gen_ai.choice`` or ``exception``."""

    name: str
    time_unix_nano: int
    attributes: dict[str, Any] = field(default_factory=dict)


@dataclass(slots=True)
class OtelSpan:
    """One decoded OTLP span with its resource and instrumentation scope."""

    trace_id: str
    span_id: str
    parent_span_id: str = ""
    name: str = ""
    kind: int = 0
    start_time_unix_nano: int = 0
    end_time_unix_nano: int = 0
    status_code: int = STATUS_UNSET
    status_message: str = ""
    attributes: dict[str, Any] = field(default_factory=dict)
    events: list[OtelEvent] = field(default_factory=list)
    resource_attributes: dict[str, Any] = field(default_factory=dict)
    scope_name: str = ""
    scope_version: str = ""
    scope_attributes: dict[str, Any] = field(default_factory=dict)


def _valid_id(value: str, length: int) -> bool:
    return len(value) == length and value.count("0") != length and _HEX.issuperset(value)


def span_problem(span: OtelSpan) -> str | None:
    """Why ``span`` cannot be ingested (``None`` when it can).

    OTLP requires a 16-byte trace id and an 8-byte span id, neither all zero, and a parent id
    that is empty or 8 bytes; a span without them cannot be placed, so it is rejected on its own
    while its siblings are accepted. (Decoders read an all-zero parent as no parent.)
    """
    if not _valid_id(span.trace_id, TRACE_ID_HEX):
        return INVALID_TRACE_ID
    if not _valid_id(span.span_id, SPAN_ID_HEX):
        return INVALID_SPAN_ID
    if span.parent_span_id and not _valid_id(span.parent_span_id, SPAN_ID_HEX):
        return INVALID_PARENT_SPAN_ID
    return None


def id_bytes_problem(trace_id: bytes, span_id: bytes, parent_span_id: bytes) -> str | None:
    """``span_problem`` for the raw ids of a protobuf span, without building an ``OtelSpan``.

    Same rule, on bytes: decoders turn bytes into lowercase hex (always valid hex) and read an
    all-zero parent as no parent. Used to screen large export requests cheaply at ingest.
    """
    if len(trace_id) != TRACE_ID_HEX // 2 or not trace_id.strip(b"\0"):
        return INVALID_TRACE_ID
    if len(span_id) != SPAN_ID_HEX // 2 or not span_id.strip(b"\0"):
        return INVALID_SPAN_ID
    if parent_span_id.strip(b"\0") and len(parent_span_id) != SPAN_ID_HEX // 2:
        return INVALID_PARENT_SPAN_ID
    return None
