"""Result rows (dicts from ``SqlExecutor.query``) back to the record dataclasses.

Rows come from JSONEachRow with the shared output settings, so times are ISO-8601 UTC strings
(``2026-01-01T10:00:00.123Z``), decimals and 64-bit integers are JSON numbers. The converters
also accept quoted numbers and ``datetime`` values, so they keep working if a reader selects an
expression with a different output type. Keys the record does not know (computed columns) are
ignored; missing keys take the record's default, so a reader may select a subset of columns as
long as the required ones are there.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import fields
from datetime import UTC, datetime
from typing import Any, TypeVar

from skyglass.domain.records import EntityEvent, ObservationRecord, ScoreRecord, TraceRecord

R = TypeVar("R")
Converter = Callable[[Any], Any]


def parse_time(value: Any) -> datetime | None:
    """An aware UTC datetime from ISO text (``Z``, an offset, or none meaning UTC) or a datetime."""
    if value is None or value == "":
        return None
    moment = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def _optional(convert: Converter) -> Converter:
    return lambda v: None if v is None else convert(v)


def _str_map(value: Any) -> dict[str, str]:
    return {str(k): str(v) for k, v in (value or {}).items()}


def _int_map(value: Any) -> dict[str, int]:
    return {str(k): int(v) for k, v in (value or {}).items()}


def _float_map(value: Any) -> dict[str, float]:
    return {str(k): float(v) for k, v in (value or {}).items()}


def _bool(value: Any) -> bool:
    if isinstance(value, str):
        return value.strip().lower() in ("1", "true")
    return bool(value)


# Keyed by the annotation text of the record fields (records.py uses postponed annotations).
_BY_TYPE: dict[str, Converter] = {
    "datetime": parse_time,
    "datetime | None": parse_time,
    "float": float,
    "float | None": _optional(float),
    "int": int,
    "int | None": _optional(int),
    "bool": _bool,
    "list[str]": lambda v: [str(x) for x in (v or [])],
    "dict[str, str]": _str_map,
    "dict[str, int]": _int_map,
    "dict[str, float]": _float_map,
}


def _converters(cls: type) -> dict[str, Converter]:
    """Field name → converter; strings and unknown types pass through unchanged."""
    out: dict[str, Converter] = {}
    for f in fields(cls):
        type_name = f.type if isinstance(f.type, str) else getattr(f.type, "__name__", "")
        convert = _BY_TYPE.get(type_name)
        if convert is not None:
            out[f.name] = convert
    return out


def _field_names(cls: type) -> tuple[str, ...]:
    return tuple(f.name for f in fields(cls))


def _builder(cls: type[R]) -> Callable[[Mapping[str, Any]], R]:
    names = _field_names(cls)
    converters = _converters(cls)

    def build(row: Mapping[str, Any]) -> R:
        kwargs: dict[str, Any] = {}
        for name in names:
            if name in row:
                value = row[name]
                convert = converters.get(name)
                kwargs[name] = convert(value) if convert is not None else value
        return cls(**kwargs)

    return build


# Column lists matching the records, for explicit SELECTs (the tables have exactly these columns).
TRACE_COLUMNS = _field_names(TraceRecord)
OBSERVATION_COLUMNS = _field_names(ObservationRecord)
SCORE_COLUMNS = _field_names(ScoreRecord)
EVENT_COLUMNS = _field_names(EntityEvent)

_trace = _builder(TraceRecord)
_observation = _builder(ObservationRecord)
_score = _builder(ScoreRecord)
_event = _builder(EntityEvent)


def row_to_trace(row: Mapping[str, Any]) -> TraceRecord:
    """A ``traces`` row (``SELECT * ... FINAL``) as a ``TraceRecord``."""
    return _trace(row)


def row_to_observation(row: Mapping[str, Any]) -> ObservationRecord:
    """An ``observations`` row as an ``ObservationRecord`` (costs as floats, usage as ints)."""
    return _observation(row)


def row_to_score(row: Mapping[str, Any]) -> ScoreRecord:
    """A ``scores`` row as a ``ScoreRecord``."""
    return _score(row)


def row_to_event(row: Mapping[str, Any]) -> EntityEvent:
    """An ``entity_events`` row as an ``EntityEvent``."""
    return _event(row)
