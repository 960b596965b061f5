"""Building blocks of the entity merge: event ordering, JSON text, metadata, observation types.

Kept apart from ``merge`` so score inflation and the worker can share them without pulling in
the whole merge.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

import orjson

from skyglass.domain.records import EntityEvent, ObservationType

TRACE_CREATE = "trace-create"
SHALLOW_TRACE = "trace-shallow"  # synthesised by the worker for every observation's trace
SCORE_CREATE = "score-create"
SDK_LOG = "sdk-log"
LEGACY_OBSERVATION_TYPES = frozenset({"observation-create", "observation-update"})
OBSERVATION_EVENT_TYPES = frozenset(
    {
        "span-create",
        "span-update",
        "generation-create",
        "generation-update",
        "event-create",
        "agent-create",
        "tool-create",
        "chain-create",
        "retriever-create",
        "evaluator-create",
        "embedding-create",
        "guardrail-create",
        *LEGACY_OBSERVATION_TYPES,
    }
)
_OBSERVATION_TYPES = frozenset(t.value for t in ObservationType)


def dumps_json(value: Any) -> str:
    """JSON text of a decoded JSON value (orjson; stdlib for what orjson refuses, e.g. huge ints)."""
    try:
        return orjson.dumps(value).decode()
    except TypeError:
        return json.dumps(value, ensure_ascii=False, separators=(",", ":"), default=str)


def loads_body(text: str) -> dict[str, Any]:
    """A stored event body; anything that is not a JSON object reads as an empty body."""
    try:
        value = orjson.loads(text)
    except orjson.JSONDecodeError:
        return {}
    return value if isinstance(value, dict) else {}


def is_create(event_type: str) -> bool:
    """Create events sort before updates with the same timestamp."""
    return event_type.endswith("-create")


def event_sort_key(event: EntityEvent) -> tuple[Any, int, str]:
    """The one order every merge uses: (client timestamp, create before update, event id)."""
    return (event.timestamp, 0 if is_create(event.event_type) else 1, event.event_id)


_COUNT_BITS = 20
_MAX_MS = (1 << 43) - 1  # year 2248: keeps the version inside UInt64 for any client timestamp


def row_version(event_ts: datetime, event_count: int) -> int:
    """The ReplacingMergeTree version of a merged row: (newest event ms, number of events).

    Events of an entity are only ever added, so a row rebuilt from a superset of events has a
    newer-or-equal time and strictly more events: it always outranks a row built from a subset,
    whatever order the inserts land in (a plain time version would tie when the extra events are
    older, and a tie keeps whichever insert came last).
    """
    ms = min(max(int(event_ts.timestamp() * 1000), 0), _MAX_MS)
    return (ms << _COUNT_BITS) | min(max(event_count, 0), (1 << _COUNT_BITS) - 1)


def observation_type(event_type: str, body: dict[str, Any]) -> str | None:
    """The observation type an event declares: ``span-*`` → SPAN; legacy ``observation-*`` → body.type."""
    if event_type in LEGACY_OBSERVATION_TYPES:
        declared = body.get("type")
        candidate = declared.upper() if isinstance(declared, str) else ""
    else:
        candidate = event_type.rsplit("-", 1)[0].upper()
    return candidate if candidate in _OBSERVATION_TYPES else None


def as_str(value: Any) -> str | None:
    """A string column value: ``None`` stays absent, other scalars are stringified."""
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    return dumps_json(value)


def metadata_object(value: Any) -> dict[str, Any] | None:
    """Body metadata as an object to merge; a non-object value is kept under key ``metadata``.

    ``None`` and ``{}`` give ``None``: they never overwrite earlier metadata.
    """
    if value is None:
        return None
    if isinstance(value, dict):
        return value or None
    return {"metadata": value}


def deep_merge(base: dict[str, Any], update: dict[str, Any]) -> dict[str, Any]:
    """``update`` merged into a copy of ``base``: nested objects merge key by key, other values
    replace, and ``None`` never replaces an existing value (it is stored only for a new key)."""
    out = dict(base)
    for key, value in update.items():
        current = out.get(key)
        if value is None:
            if key not in out:
                out[key] = None
        elif isinstance(value, dict) and isinstance(current, dict):
            out[key] = deep_merge(current, value)
        else:
            out[key] = value
    return out


def encode_metadata(merged: dict[str, Any]) -> dict[str, str]:
    """The stored form: each top-level key maps to the JSON text of its value."""
    return {str(key): dumps_json(value) for key, value in merged.items()}


def metadata_from_body(value: Any) -> dict[str, str]:
    """One body's metadata in stored form (used for complete objects such as scores)."""
    obj = metadata_object(value)
    return encode_metadata(obj) if obj else {}
