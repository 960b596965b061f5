"""Read-side query objects and read models (pure): what the query use cases ask the reader for.

A query carries the project it is scoped to, its typed filter conditions (simple query
parameters are turned into ``FilterCondition`` values too, so one translator serves both), the
page or cursor and what to select. Cursors are opaque to clients: base64 of a small JSON object
holding the sort key of the last row returned.
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from skyglass.domain.filters import FilterCondition, parse_iso_datetime
from skyglass.errors import InvalidRequest

TRACE_ORDER_COLUMNS = (
    "id",
    "timestamp",
    "name",
    "userId",
    "release",
    "version",
    "public",
    "bookmarked",
    "sessionId",
)
TRACE_FIELD_GROUPS = ("core", "io", "scores", "observations", "metrics")
OBSERVATION_V2_FIELD_GROUPS = (
    "core",
    "basic",
    "time",
    "io",
    "metadata",
    "model",
    "usage",
    "prompt",
    "metrics",
    "trace_context",
)
SCORE_V2_FIELD_GROUPS = ("score", "trace")
SCORE_V3_FIELD_GROUPS = ("details", "subject", "annotation")


@dataclass(frozen=True, slots=True)
class PageRequest:
    """Page-number pagination: ``page`` ≥ 1, ``limit`` rows per page."""

    page: int = 1
    limit: int = 50

    @property
    def offset(self) -> int:
        return (self.page - 1) * self.limit

    def total_pages(self, total_items: int) -> int:
        return -(-total_items // self.limit) if self.limit else 0


@dataclass(frozen=True, slots=True)
class OrderBy:
    """Sort by a wire column name (``timestamp``, ``userId`` …)."""

    column: str
    descending: bool = True


def parse_order_by(raw: str | None, allowed: tuple[str, ...]) -> OrderBy | None:
    """``field.asc`` / ``field.desc`` → OrderBy; anything else is a 400 naming ``orderBy``."""
    if raw is None or raw == "":
        return None
    column, sep, direction = raw.partition(".")
    if not sep or column not in allowed or direction.lower() not in ("asc", "desc"):
        raise InvalidRequest(
            f"Invalid orderBy parameter {raw!r}: use <field>.asc or <field>.desc with field one of "
            f"{', '.join(allowed)}."
        )
    return OrderBy(column=column, descending=direction.lower() == "desc")


def parse_field_groups(raw: str | None, allowed: tuple[str, ...], *, param: str = "fields") -> frozenset[str]:
    """Comma-separated field groups; unknown names are a 400 (empty → empty set)."""
    if raw is None:
        return frozenset()
    groups = frozenset(part.strip() for part in raw.split(",") if part.strip())
    unknown = sorted(groups - set(allowed))
    if unknown:
        raise InvalidRequest(
            f"Invalid {param} parameter: unknown field group(s) {', '.join(unknown)}; "
            f"available: {', '.join(allowed)}."
        )
    return groups


# --- queries -----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class TraceQuery:
    project_id: str
    page: PageRequest = PageRequest()
    filters: tuple[FilterCondition, ...] = ()
    order_by: OrderBy | None = None
    with_io: bool = True  # select input/output/metadata (the expensive columns)


@dataclass(frozen=True, slots=True)
class ObservationQuery:
    """v1 observations: page pagination, newest start time first."""

    project_id: str
    page: PageRequest = PageRequest()
    filters: tuple[FilterCondition, ...] = ()


@dataclass(frozen=True, slots=True)
class ObservationCursor:
    """Position after the last row of a v2 observations page (start_time, trace_id, id desc)."""

    start_time: datetime
    trace_id: str
    id: str

    def encode(self) -> str:
        body = {
            "lastStartTimeTo": _iso(self.start_time),
            "lastTraceId": self.trace_id,
            "lastId": self.id,
        }
        return base64.b64encode(json.dumps(body, separators=(",", ":")).encode()).decode()

    @classmethod
    def decode(cls, raw: str) -> ObservationCursor:
        data = _decode_cursor(raw)
        start = parse_iso_datetime(str(data.get("lastStartTimeTo", "")))
        trace_id, last_id = data.get("lastTraceId"), data.get("lastId")
        if start is None or not isinstance(trace_id, str) or not isinstance(last_id, str):
            raise InvalidRequest("Invalid cursor parameter: not a cursor returned by this API.")
        return cls(start_time=start, trace_id=trace_id, id=last_id)


@dataclass(frozen=True, slots=True)
class ObservationV2Query:
    project_id: str
    limit: int = 50
    filters: tuple[FilterCondition, ...] = ()
    cursor: ObservationCursor | None = None
    fields: frozenset[str] = frozenset({"core", "basic"})


@dataclass(frozen=True, slots=True)
class SessionQuery:
    project_id: str
    page: PageRequest = PageRequest()
    from_timestamp: datetime | None = None  # on or after, on the session's first trace
    to_timestamp: datetime | None = None  # before
    environments: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class ScoreQuery:
    """v1/v2 scores: page pagination, newest first."""

    project_id: str
    page: PageRequest = PageRequest()
    filters: tuple[FilterCondition, ...] = ()


@dataclass(frozen=True, slots=True)
class ScoreCursor:
    """Position after the last row of a v3 scores page (timestamp, id desc)."""

    timestamp: datetime
    id: str

    def encode(self) -> str:
        body = json.dumps({"lastTimestamp": _iso(self.timestamp), "lastId": self.id}, separators=(",", ":"))
        return base64.urlsafe_b64encode(body.encode()).decode().rstrip("=")

    @classmethod
    def decode(cls, raw: str) -> ScoreCursor:
        data = _decode_cursor(raw)
        timestamp = parse_iso_datetime(str(data.get("lastTimestamp", "")))
        last_id = data.get("lastId")
        if timestamp is None or not isinstance(last_id, str):
            raise InvalidRequest("Invalid cursor parameter: not a cursor returned by this API.")
        return cls(timestamp=timestamp, id=last_id)


@dataclass(frozen=True, slots=True)
class ScoreV3Query:
    project_id: str
    limit: int = 50
    filters: tuple[FilterCondition, ...] = ()
    cursor: ScoreCursor | None = None


# --- read models -------------------------------------------------------------------------------


@dataclass(slots=True)
class TraceAggregate:
    """What a trace list row adds to the trace: its observations, scores, latency and cost."""

    observation_ids: list[str] = field(default_factory=list)
    score_ids: list[str] = field(default_factory=list)
    latency: float = 0.0  # seconds from the earliest to the latest observation time
    total_cost: float = 0.0


@dataclass(frozen=True, slots=True)
class TraceContext:
    """The trace attributes that observation and score reads repeat next to each row."""

    id: str
    name: str | None = None
    user_id: str | None = None
    session_id: str | None = None
    release: str | None = None
    version: str | None = None
    environment: str = "default"
    tags: tuple[str, ...] = ()
    bookmarked: bool = False
    public: bool = False


@dataclass(frozen=True, slots=True)
class SessionSummary:
    """A session as derived from its traces: first trace time and that trace's environment."""

    id: str
    project_id: str
    created_at: datetime
    environment: str = "default"


def _iso(value: datetime) -> str:
    return value.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _decode_cursor(raw: str) -> dict[str, Any]:
    text = raw.strip()
    padded = text + "=" * (-len(text) % 4)
    try:
        decoded = base64.b64decode(padded.replace("-", "+").replace("_", "/"), validate=True)
        data = json.loads(decoded)
    except (binascii.Error, ValueError) as exc:
        raise InvalidRequest("Invalid cursor parameter: not a cursor returned by this API.") from exc
    if not isinstance(data, dict):
        raise InvalidRequest("Invalid cursor parameter: not a cursor returned by this API.")
    return data
