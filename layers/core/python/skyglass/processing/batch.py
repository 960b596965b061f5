"""One batch of the worker: the records of its readable blobs, grouped by entity, with the
deletion filter applied (``processing.deletions``); ``processing.worker`` merges and writes it."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from skyglass.domain.records import DeletionKey, EntityEvent, ScoreRecord
from skyglass.processing.deletions import EntityKey, Tombstones, drop_covered, score_keys, trace_key
from skyglass.processing.events import BlobRecords, SortKey


@dataclass(slots=True)
class Batch:
    """Everything the readable messages of one batch contribute, grouped by entity."""

    events: dict[EntityKey, dict[str, EntityEvent]] = field(default_factory=dict)
    contributors: defaultdict[EntityKey, set[str]] = field(default_factory=lambda: defaultdict(set))
    scores: list[tuple[ScoreRecord, datetime]] = field(default_factory=list)  # with receive time
    # (project, observation id) → (sort key, trace id) of the earliest event naming its trace
    named_traces: dict[tuple[str, str], tuple[SortKey, str]] = field(default_factory=dict)

    def add(self, blob_key: str, records: BlobRecords) -> None:
        for event in records.entity_events:
            key = (event.project_id, event.entity_type, event.entity_id)
            self.events.setdefault(key, {})[event.event_id] = event
            self.contributors[key].add(blob_key)
        self.scores.extend((score, records.received_at) for score in records.scores)
        for observation_id, (order, trace_id) in records.observation_traces.items():
            known = self.named_traces.get((records.project_id, observation_id))
            if known is None or order < known[0]:
                self.named_traces[(records.project_id, observation_id)] = (order, trace_id)

    def observation_traces(self) -> dict[tuple[str, str], str]:
        return {key: trace_id for key, (_, trace_id) in self.named_traces.items()}

    def deletion_keys(self) -> set[DeletionKey]:
        """Every tombstone that could cover something in the batch."""
        traces = self.observation_traces()
        keys = {trace_key(key, traces) for key in self.events}
        for score, _ in self.scores:
            keys.update(score_keys(score))
        return keys

    def drop_deleted(self, tombstones: Tombstones) -> int:
        """Remove the events and score versions deleted after receipt; returns how many."""
        dropped = self.drop_deleted_events(tombstones, self.observation_traces())
        kept = [
            (score, received)
            for score, received in self.scores
            if not tombstones.covers_score(score, received)
        ]
        dropped += len(self.scores) - len(kept)
        self.scores = kept
        return dropped

    def drop_deleted_events(self, tombstones: Tombstones, traces: dict[tuple[str, str], str]) -> int:
        """Remove the events deleted after receipt (entities left empty go); returns how many."""
        dropped = 0
        for key in list(self.events):
            dropped += drop_covered(self.events[key], trace_key(key, traces), tombstones)
            if not self.events[key]:  # nothing left to merge for this entity
                del self.events[key]
                self.contributors.pop(key, None)
        return dropped

    def newest_scores(self) -> list[ScoreRecord]:
        """One version per score id: the newest; equal versions are decided by content, so the
        choice does not depend on message order."""
        best: dict[tuple[str, str], ScoreRecord] = {}
        for score, _ in self.scores:
            key = (score.project_id, score.id)
            current = best.get(key)
            if current is None or _score_rank(score) > _score_rank(current):
                best[key] = score
        return [best[key] for key in sorted(best)]


def _score_rank(score: ScoreRecord) -> tuple[Any, ...]:
    return (score.event_ts, score.updated_at, score.value, score.string_value or "", score.name)
