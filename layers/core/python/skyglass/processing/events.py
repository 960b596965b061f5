"""One blob's Langfuse events → raw entity events (traces, observations) and complete score rows.

``ingestion`` blobs carry the events as sent; ``otel`` blobs are first mapped to the same events
(``processing.otel_events``) and then take this same road.

Events passed API validation before the blob was written, so anything malformed here means the
blob itself is bad: the whole blob is rejected (``InvalidRequest``) and its message ends in the
dead-letter queue, rather than half of it being stored. Like Langfuse, a trace or observation
body without ``id`` is silently skipped, and so is a score whose value does not fit its type.

For every observation's trace one *shallow* trace event per blob is added (the blob's earliest
observation event names it), so a trace that only has observations still gets a trace row. Its
id, ``shallow-<event id>``, is deterministic: replaying the blob stores the same event again.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from skyglass.contracts.messages import BlobEnvelope
from skyglass.domain.merge_rules import (
    OBSERVATION_EVENT_TYPES,
    SCORE_CREATE,
    SDK_LOG,
    SHALLOW_TRACE,
    TRACE_CREATE,
    as_str,
    dumps_json,
    event_sort_key,
    is_create,
)
from skyglass.domain.records import EntityEvent, EntityType, ScoreRecord
from skyglass.domain.score_rules import inflate_score
from skyglass.domain.timeutil import format_iso, parse_iso, parse_optional, to_ms
from skyglass.errors import InvalidRequest

SHALLOW_PREFIX = "shallow-"
_SCORE_ID_NAMESPACE = uuid.UUID("6f1c3a52-8f0e-4c55-9a43-1d7c2b9e5a10")


SortKey = tuple[Any, int, str]  # ``event_sort_key``: the order every merge uses


@dataclass(slots=True)
class BlobRecords:
    """What one blob contributes: raw events to store and merge, and finished score rows.

    ``received_at`` (the blob's receive time, millisecond precision — the time its key encodes)
    is the receive time of its scores, as ``EntityEvent.received_at`` is of its events: deletions
    are compared with it. ``observation_traces`` maps each observation id to the trace its
    earliest event names (with that event's sort key), so the worker knows which trace an
    observation event belongs to without parsing the bodies again.
    """

    project_id: str
    received_at: datetime
    entity_events: list[EntityEvent] = field(default_factory=list)
    scores: list[ScoreRecord] = field(default_factory=list)
    skipped: int = 0  # events dropped on purpose (sdk-log, no body id, invalid score)
    observation_traces: dict[str, tuple[SortKey, str]] = field(default_factory=dict)


@dataclass(slots=True)
class _TraceSighting:
    """The earliest observation event of one trace within a blob, and what it tells."""

    first: EntityEvent
    start: datetime
    environment: Any = None
    environment_key: tuple[Any, ...] | None = None  # sort key of the event that gave it


def derived_score_id(project_id: str, event_id: str) -> str:
    """A stable id for a score sent without one, so replays upsert the same row."""
    return str(uuid.uuid5(_SCORE_ID_NAMESPACE, f"{project_id}:{event_id}"))


def _envelope_fields(raw: Any, index: int) -> tuple[str, str, datetime, dict[str, Any]]:
    if not isinstance(raw, dict):
        raise InvalidRequest(f"event #{index} is not an object")
    event_id, event_type, body = raw.get("id"), raw.get("type"), raw.get("body")
    if not isinstance(event_id, str) or not event_id:
        raise InvalidRequest(f"event #{index} has no id")
    if not isinstance(event_type, str):
        raise InvalidRequest(f"event {event_id} has no type")
    if not isinstance(body, dict):
        raise InvalidRequest(f"event {event_id} has no body object")
    try:
        timestamp = parse_iso(raw.get("timestamp"))  # type: ignore[arg-type]
    except ValueError as exc:
        raise InvalidRequest(f"event {event_id} has an invalid timestamp") from exc
    return event_id, event_type, timestamp, body


def envelope_records(envelope: BlobEnvelope, blob_key: str) -> BlobRecords:
    """Map the events of an ``ingestion`` blob; raises ``InvalidRequest`` for a malformed blob."""
    return events_records(envelope.project_id, envelope.received_at, envelope.events, blob_key)


def events_records(
    project_id: str, received_at: datetime, events: Iterable[Any], blob_key: str
) -> BlobRecords:
    """Map Langfuse ingestion events (as sent, or as mapped from OTel spans) of one blob.

    Raises ``InvalidRequest`` for a malformed event: the blob is bad and fails as a whole.
    """
    received_at = to_ms(received_at)
    out = BlobRecords(project_id, received_at)
    sightings: dict[str, _TraceSighting] = {}

    for index, raw in enumerate(events):
        event_id, event_type, timestamp, body = _envelope_fields(raw, index)
        if event_type == SDK_LOG:
            out.skipped += 1
            continue
        if event_type == SCORE_CREATE:
            body_id = body.get("id")
            score_id = str(body_id) if body_id else derived_score_id(project_id, event_id)
            score = inflate_score(
                project_id, score_id, body, event_timestamp=timestamp, received_at=received_at
            )
            if score is None:
                out.skipped += 1
            else:
                out.scores.append(score)
            continue
        if event_type == TRACE_CREATE:
            entity_type = EntityType.TRACE.value
        elif event_type in OBSERVATION_EVENT_TYPES:
            entity_type = EntityType.OBSERVATION.value
        else:
            raise InvalidRequest(f"event {event_id} has an unsupported type: {event_type}")
        entity_id = body.get("id")
        if not entity_id:
            out.skipped += 1
            continue
        event = EntityEvent(
            project_id=project_id,
            entity_type=entity_type,
            entity_id=str(entity_id),
            event_id=event_id,
            event_type=event_type,
            timestamp=timestamp,
            body=dumps_json(body),
            received_at=received_at,
            blob_key=blob_key,
        )
        out.entity_events.append(event)
        if entity_type == EntityType.OBSERVATION:
            _sight_trace(sightings, event, body)
            _note_trace(out.observation_traces, event, body.get("traceId"))

    out.entity_events.extend(_shallow_events(sightings, project_id, received_at, blob_key))
    return out


def _note_trace(traces: dict[str, tuple[SortKey, str]], event: EntityEvent, trace_id: Any) -> None:
    """Keep, per observation, the trace named by its earliest event (the merge keeps that one)."""
    trace = as_str(trace_id)
    if not trace:
        return
    order = event_sort_key(event)
    known = traces.get(event.entity_id)
    if known is None or order < known[0]:
        traces[event.entity_id] = (order, trace)


def _sight_trace(sightings: dict[str, _TraceSighting], event: EntityEvent, body: dict[str, Any]) -> None:
    """Remember the trace an observation event belongs to (earliest event and start win)."""
    trace_id = body.get("traceId")
    if not trace_id:
        # Only a create may imply the legacy wrapper trace; an update without a trace id
        # usually belongs to a create that names its trace.
        if not is_create(event.event_type):
            return
        trace_id = event.entity_id
    start = parse_optional(body.get("startTime")) or event.timestamp
    order = event_sort_key(event)
    seen = sightings.setdefault(str(trace_id), _TraceSighting(event, start))
    seen.start = min(seen.start, start)
    if order < event_sort_key(seen.first):
        seen.first = event
    environment = body.get("environment")
    if environment is not None and (seen.environment_key is None or order < seen.environment_key):
        seen.environment, seen.environment_key = environment, order


def _shallow_events(
    sightings: dict[str, _TraceSighting], project_id: str, received_at: datetime, blob_key: str
) -> list[EntityEvent]:
    events = []
    for trace_id, seen in sightings.items():
        body: dict[str, Any] = {"id": trace_id, "timestamp": format_iso(seen.start)}
        if seen.environment is not None:
            body["environment"] = seen.environment
        events.append(
            EntityEvent(
                project_id=project_id,
                entity_type=EntityType.TRACE.value,
                entity_id=trace_id,
                event_id=f"{SHALLOW_PREFIX}{seen.first.event_id}",
                event_type=SHALLOW_TRACE,
                timestamp=seen.first.timestamp,
                body=dumps_json(body),
                received_at=received_at,
                blob_key=blob_key,
            )
        )
    return events
