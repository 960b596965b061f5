"""Order-independent merge: every stored event of one trace or observation → one full row.

The worker rebuilds a row from scratch out of *all* events of the entity, sorted by
(``timestamp``, create before update, ``event_id``), so the result depends only on the set of
events, never on the order or batches they arrived in (compat §5.1, adapted):

* a later value overwrites an earlier one unless it is absent or ``None`` (empty objects never
  overwrite metadata, usage or cost);
* immutable fields keep the first value that is present — traces: ``timestamp``, ``environment``;
  observations: ``trace_id``, ``start_time``, ``environment`` (ids are the entity id);
* ``metadata`` is deep-merged, ``tags`` are the sorted union, ``input``/``output`` the last
  non-null value;
* ``event_ts`` is the newest event timestamp, ``row_version`` that time with the number of events
  (``merge_rules.row_version``), ``created_at``/``updated_at`` the first/last ``received_at`` —
  all functions of the event set, so replays change nothing.

Shallow trace events (``trace-shallow``, one per observation's trace) only stand in for the id,
timestamp and environment of a trace no real trace event has described; they take part in the
version and receive times so a row rebuilt after a real event always supersedes a shallow one.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from skyglass.domain.environment import normalize_environment
from skyglass.domain.merge_rules import (
    SHALLOW_TRACE,
    as_str,
    deep_merge,
    dumps_json,
    encode_metadata,
    event_sort_key,
    is_create,
    loads_body,
    metadata_object,
    observation_type,
    row_version,
)
from skyglass.domain.records import (
    EntityEvent,
    ObservationLevel,
    ObservationRecord,
    ObservationType,
    TraceRecord,
)
from skyglass.domain.timeutil import parse_optional
from skyglass.domain.usage import cost_with_total, provided_costs, provided_usage, usage_with_total

Parsed = list[tuple[EntityEvent, dict[str, Any]]]

# Body key → record attribute for plain "last non-null value wins" string fields.
_TRACE_STRINGS = {
    "name": "name",
    "userId": "user_id",
    "sessionId": "session_id",
    "release": "release",
    "version": "version",
}
_OBSERVATION_STRINGS = {
    "name": "name",
    "parentObservationId": "parent_observation_id",
    "statusMessage": "status_message",
    "version": "version",
    "model": "provided_model_name",
}
_LEVELS = frozenset(level.value for level in ObservationLevel)


def _parse(events: Iterable[EntityEvent]) -> Parsed:
    return [(event, loads_body(event.body)) for event in sorted(events, key=event_sort_key)]


def _first(parsed: Parsed, key: str) -> Any:
    """The first present value of ``key`` in event order (immutable fields)."""
    for _, body in parsed:
        value = body.get(key)
        if value is not None:
            return value
    return None


def _first_time(parsed: Parsed, key: str) -> datetime | None:
    for _, body in parsed:
        value = parse_optional(body.get(key))
        if value is not None:
            return value
    return None


def _bookkeeping(events: list[EntityEvent]) -> tuple[datetime, datetime, datetime, int]:
    """``(created_at, updated_at, event_ts, row_version)`` — deterministic from the event set."""
    received = [e.received_at for e in events]
    event_ts = max(e.timestamp for e in events)
    return min(received), max(received), event_ts, row_version(event_ts, len(events))


def observation_trace_id(events: Iterable[EntityEvent]) -> str:
    """The trace an observation belongs to, by the same rule ``merge_observation`` applies."""
    parsed = _parse(events)
    if not parsed:
        raise ValueError("observation_trace_id needs at least one event")
    return _trace_id_of(parsed)


def _trace_id_of(parsed: Parsed) -> str:
    # Legacy SDKs sent observations without a trace: Langfuse wraps them in a trace of the same id.
    return as_str(_first(parsed, "traceId")) or parsed[0][0].entity_id


def _merge_metadata(parsed: Parsed) -> dict[str, str]:
    merged: dict[str, Any] = {}
    for _, body in parsed:
        update = metadata_object(body.get("metadata"))
        if update:
            merged = deep_merge(merged, update)
    return encode_metadata(merged)


def _last_json(parsed: Parsed, key: str) -> str | None:
    for _, body in reversed(parsed):
        value = body.get(key)
        if value is not None:
            return dumps_json(value)
    return None


def merge_trace(project_id: str, events: list[EntityEvent]) -> TraceRecord:
    """Rebuild one trace row from all of its stored events (real and shallow)."""
    if not events:
        raise ValueError("merge_trace needs at least one event")
    everything = _parse(events)
    real = [item for item in everything if item[0].event_type != SHALLOW_TRACE]
    shallow = [item for item in everything if item[0].event_type == SHALLOW_TRACE]

    if real:
        timestamp = _first_time(real, "timestamp") or real[0][0].timestamp
    else:
        starts = [t for _, body in shallow if (t := parse_optional(body.get("timestamp")))]
        timestamp = min(starts) if starts else shallow[0][0].timestamp
    environment = _first(real, "environment")
    if environment is None:
        environment = _first(shallow, "environment")

    created_at, updated_at, event_ts, version = _bookkeeping(events)
    record = TraceRecord(
        id=events[0].entity_id,
        project_id=project_id,
        timestamp=timestamp,
        environment=normalize_environment(environment),
        created_at=created_at,
        updated_at=updated_at,
        event_ts=event_ts,
        row_version=version,
    )
    tags: set[str] = set()
    for _, body in real:
        for key, attr in _TRACE_STRINGS.items():
            value = body.get(key)
            if value is not None:
                setattr(record, attr, as_str(value))
        public = body.get("public")
        if isinstance(public, bool):
            record.public = public
        body_tags = body.get("tags")
        if isinstance(body_tags, list):
            tags.update(t for t in body_tags if isinstance(t, str))
    record.tags = sorted(tags)
    record.metadata = _merge_metadata(real)
    record.input = _last_json(real, "input")
    record.output = _last_json(real, "output")
    return record


def _observation_type(parsed: Parsed) -> str:
    """The type declared by the first create event; failing that, by any event; else SPAN."""
    fallback: str | None = None
    for event, body in parsed:
        declared = observation_type(event.event_type, body)
        if declared is None:
            continue
        if is_create(event.event_type):
            return declared
        fallback = fallback or declared
    return fallback or ObservationType.SPAN.value


def merge_observation(project_id: str, events: list[EntityEvent]) -> ObservationRecord:
    """Rebuild one observation row from all of its stored events."""
    if not events:
        raise ValueError("merge_observation needs at least one event")
    parsed = _parse(events)
    observation_id = events[0].entity_id
    start_time = _first_time(parsed, "startTime") or parsed[0][0].timestamp
    created_at, updated_at, event_ts, version = _bookkeeping(events)
    record = ObservationRecord(
        id=observation_id,
        trace_id=_trace_id_of(parsed),
        project_id=project_id,
        type=_observation_type(parsed),
        start_time=start_time,
        environment=normalize_environment(_first(parsed, "environment")),
        created_at=created_at,
        updated_at=updated_at,
        event_ts=event_ts,
        row_version=version,
    )
    usage: dict[str, int] = {}
    costs: dict[str, float] = {}
    for _, body in parsed:
        for key, attr in _OBSERVATION_STRINGS.items():
            value = body.get(key)
            if value is not None:
                setattr(record, attr, as_str(value))
        level = body.get("level")
        if isinstance(level, str) and level.upper() in _LEVELS:
            record.level = level.upper()
        end_time = parse_optional(body.get("endTime"))
        if end_time is not None:
            record.end_time = end_time
        completion_start = parse_optional(body.get("completionStartTime"))
        if completion_start is not None:
            record.completion_start_time = completion_start
        parameters = body.get("modelParameters")
        if parameters is not None and parameters != {}:
            record.model_parameters = dumps_json(parameters)
        usage = provided_usage(body) or usage  # an empty map never overwrites
        costs = provided_costs(body) or costs
        prompt_name, prompt_version = body.get("promptName"), body.get("promptVersion")
        if (
            isinstance(prompt_name, str)
            and isinstance(prompt_version, int)
            and not isinstance(prompt_version, bool)
        ):
            record.prompt_name, record.prompt_version = prompt_name, prompt_version
    if record.end_time is not None and record.end_time < record.start_time:
        record.end_time = record.start_time
    record.provided_usage_details = usage
    record.usage_details = usage_with_total(usage)
    record.provided_cost_details = costs
    record.cost_details, record.total_cost = cost_with_total(costs)
    record.metadata = _merge_metadata(parsed)
    record.input = _last_json(parsed, "input")
    record.output = _last_json(parsed, "output")
    return record


def observation_tombstone(record: ObservationRecord, trace_id: str) -> ObservationRecord:
    """A deletion marker for ``record``'s id under another trace, as new as ``record`` itself."""
    return ObservationRecord(
        id=record.id,
        trace_id=trace_id,
        project_id=record.project_id,
        type=record.type,
        start_time=record.start_time,
        environment=record.environment,
        created_at=record.created_at,
        updated_at=record.updated_at,
        event_ts=record.event_ts,
        is_deleted=1,
        row_version=record.row_version,
    )
