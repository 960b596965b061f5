"""In-memory ``AnalyticsWriter`` with ReplacingMergeTree semantics, for unit tests of the worker.

Rows are kept per (project_id, id): an insert replaces the current row when its version is newer
or equal (equal versions: the last insert wins, as ClickHouse does). Traces and observations are
versioned by ``row_version`` (``event_ts`` alone when it is 0, as the writer stamps it), scores by
``event_ts``. An observation tombstone (``is_deleted``) removes the row only if it still belongs
to the tombstone's trace, as the real table keys observations by (trace_id, id). Every call is counted
in ``calls`` so tests can assert "one insert per table per batch"; ``fail_on`` makes the named
methods raise ``StoreUnavailable`` to simulate an outage.
"""

from __future__ import annotations

import copy
from collections import Counter
from collections.abc import Collection, Sequence
from datetime import datetime
from typing import Any

from skyglass.domain.merge_rules import row_version
from skyglass.domain.records import (
    Deletion,
    DeletionKey,
    EntityEvent,
    ObservationRecord,
    ScoreRecord,
    TraceRecord,
)
from skyglass.errors import StoreUnavailable


class FakeAnalyticsWriter:
    def __init__(self) -> None:
        self.events: dict[tuple[str, str, str, str], EntityEvent] = {}
        self.traces: dict[tuple[str, str], TraceRecord] = {}
        self.observations: dict[tuple[str, str], ObservationRecord] = {}
        self.scores: dict[tuple[str, str], ScoreRecord] = {}
        self.deletions: dict[DeletionKey, datetime] = {}
        self.calls: Counter[str] = Counter()
        self.fail_on: set[str] = set()

    def _call(self, name: str) -> None:
        self.calls[name] += 1
        if name in self.fail_on:
            raise StoreUnavailable(f"fake analytics store down ({name})")

    def migrate(self) -> None:
        self._call("migrate")

    def insert_events(self, events: Sequence[EntityEvent]) -> None:
        self._call("insert_events")
        for event in events:
            key = (event.project_id, event.entity_type, event.entity_id, event.event_id)
            current = self.events.get(key)
            # entity_events is ReplacingMergeTree(received_at): the newest copy of an event id wins.
            if current is None or event.received_at >= current.received_at:
                self.events[key] = copy.copy(event)

    def load_events(self, project_id: str, entity_type: str, entity_ids: Sequence[str]) -> list[EntityEvent]:
        self._call("load_events")
        wanted = set(entity_ids)
        return [
            copy.copy(e)
            for (p, t, entity_id, _), e in self.events.items()
            if p == project_id and t == entity_type and entity_id in wanted
        ]

    def stored_event_times(
        self, project_id: str, entity_type: str, entity_ids: Sequence[str]
    ) -> dict[tuple[str, str], datetime]:
        self._call("stored_event_times")
        wanted = set(entity_ids)
        return {
            (entity_id, event_id): e.received_at
            for (p, t, entity_id, event_id), e in self.events.items()
            if p == project_id and t == entity_type and entity_id in wanted
        }

    @staticmethod
    def _upsert(table: dict[tuple[str, str], Any], rows: Sequence[Any]) -> None:
        for row in rows:
            key = (row.project_id, row.id)
            current = table.get(key)
            if getattr(row, "is_deleted", 0):
                if (
                    current is not None
                    and current.trace_id == row.trace_id
                    and _version(row) >= _version(current)
                ):
                    del table[key]
            elif current is None or _version(row) >= _version(current):
                table[key] = copy.deepcopy(row)

    def upsert_traces(self, rows: Sequence[TraceRecord]) -> None:
        self._call("upsert_traces")
        self._upsert(self.traces, rows)

    def upsert_observations(self, rows: Sequence[ObservationRecord]) -> None:
        self._call("upsert_observations")
        self._upsert(self.observations, rows)

    def upsert_scores(self, rows: Sequence[ScoreRecord]) -> None:
        self._call("upsert_scores")
        self._upsert(self.scores, rows)

    def delete_traces(self, project_id: str, trace_ids: Sequence[str]) -> None:
        self._call("delete_traces")
        ids = set(trace_ids)
        gone_obs = {k[1] for k, o in self.observations.items() if k[0] == project_id and o.trace_id in ids}
        for table, doomed in (
            (self.traces, ids),
            (self.observations, gone_obs),
            (self.scores, {k[1] for k, s in self.scores.items() if k[0] == project_id and s.trace_id in ids}),
        ):
            for row_id in doomed:
                table.pop((project_id, row_id), None)
        for key in [k for k in self.events if k[0] == project_id and (k[2] in ids or k[2] in gone_obs)]:
            del self.events[key]

    def delete_scores(self, project_id: str, score_ids: Sequence[str]) -> None:
        self._call("delete_scores")
        for score_id in score_ids:
            self.scores.pop((project_id, score_id), None)

    def record_deletions(self, deletions: Sequence[Deletion]) -> None:
        self._call("record_deletions")
        for deletion in deletions:
            current = self.deletions.get(deletion.key)
            if current is None or deletion.deleted_at > current:
                self.deletions[deletion.key] = deletion.deleted_at

    def load_deletions(self, keys: Collection[DeletionKey]) -> dict[DeletionKey, datetime]:
        self._call("load_deletions")
        return {key: self.deletions[key] for key in set(keys) if key in self.deletions}

    def close(self) -> None:
        return None


def _version(row: Any) -> Any:
    if isinstance(row, ScoreRecord):
        return row.event_ts
    return row.row_version or row_version(row.event_ts, 0)
