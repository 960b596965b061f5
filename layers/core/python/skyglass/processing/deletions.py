"""Deletions in the worker: drop what a tombstone covers, keep what arrived after it.

Deleting a trace or a score removes its rows and stored events and records a tombstone
(``domain.records.Deletion``), but the raw event log keeps every blob: a replay, or a message
still queued when the delete ran, would bring the entity back. So for every batch the worker loads
the tombstones of the traces and scores the batch touches (one small query) and drops, when they
were *received* at or before the deletion:

* trace events (real and shallow) of a deleted trace;
* observation events whose trace is deleted — the trace the observation's events name first in
  merge order, or, when none names one, the trace of the observation's own id (the merge's rule);
* score versions of a deleted score, or attached to a deleted trace.

Anything received after the deletion is the id used again and is ingested as usual. Stored events
loaded back for a merge pass the same filter, so an event stored by a batch that raced with the
delete cannot revive the entity either.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass, field
from datetime import datetime

from skyglass.domain.merge_rules import as_str, event_sort_key, loads_body
from skyglass.domain.records import DeletionKey, EntityEvent, EntityType, ScoreRecord

EntityKey = tuple[str, str, str]  # (project_id, entity_type, entity_id)

_TRACE = EntityType.TRACE.value
_SCORE = EntityType.SCORE.value


@dataclass(slots=True)
class Tombstones:
    """The tombstones looked up for one batch: which keys were asked for and their times."""

    deleted_at: dict[DeletionKey, datetime] = field(default_factory=dict)
    looked_up: set[DeletionKey] = field(default_factory=set)

    def add(self, asked: Collection[DeletionKey], found: dict[DeletionKey, datetime]) -> None:
        self.looked_up.update(asked)
        self.deleted_at.update(found)

    def covers(self, key: DeletionKey, received_at: datetime) -> bool:
        """True when ``key`` was deleted at or after ``received_at`` (so that data is gone)."""
        cutoff = self.deleted_at.get(key)
        return cutoff is not None and received_at <= cutoff

    def covers_score(self, score: ScoreRecord, received_at: datetime) -> bool:
        """The score itself, or the trace it is attached to, was deleted after it was received."""
        if self.covers((score.project_id, _SCORE, score.id), received_at):
            return True
        return bool(score.trace_id) and self.covers(
            (score.project_id, _TRACE, str(score.trace_id)), received_at
        )


def trace_key(key: EntityKey, observation_traces: dict[tuple[str, str], str]) -> DeletionKey:
    """The tombstone key deciding an entity's events: its own for a trace, its trace's otherwise."""
    project_id, entity_type, entity_id = key
    if entity_type == _TRACE:
        return (project_id, _TRACE, entity_id)
    return (project_id, _TRACE, observation_traces.get((project_id, entity_id), entity_id))


def score_keys(score: ScoreRecord) -> list[DeletionKey]:
    """The tombstones that can cover a score: its own and its trace's."""
    keys = [(score.project_id, _SCORE, score.id)]
    if score.trace_id:
        keys.append((score.project_id, _TRACE, str(score.trace_id)))
    return keys


def drop_covered(events: dict[str, EntityEvent], key: DeletionKey, tombstones: Tombstones) -> int:
    """Remove (in place) the events received at or before ``key``'s deletion; returns how many."""
    if key not in tombstones.deleted_at:
        return 0
    doomed = [event_id for event_id, event in events.items() if tombstones.covers(key, event.received_at)]
    for event_id in doomed:
        del events[event_id]
    return len(doomed)


def named_trace(events: Iterable[EntityEvent]) -> str | None:
    """The trace id the earliest of an observation's events names (parsing their bodies), if any.

    Only needed for observations whose events in the batch name no trace (legacy updates): the
    stored events loaded back may name it.
    """
    for event in sorted(events, key=event_sort_key):
        trace_id = as_str(loads_body(event.body).get("traceId"))
        if trace_id:
            return trace_id
    return None
