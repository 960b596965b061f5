"""AnalyticsStore port: ClickHouse (clickhouse-connect) or chDB, one SQL dialect, same SQL files.

Split in two protocols so the write path and the read API can evolve separately; an adapter
implements both. The reader protocol lives in ``ports.analytics_reads``.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import datetime
from typing import Protocol

from skyglass.domain.records import (
    Deletion,
    DeletionKey,
    EntityEvent,
    ObservationRecord,
    ScoreRecord,
    TraceRecord,
)
from skyglass.ports.analytics_reads import AnalyticsReader


class AnalyticsWriter(Protocol):
    def migrate(self) -> None:
        """Apply pending ``migrations/analytics/NNNN_*.sql`` files (idempotent, recorded)."""

    def insert_events(self, events: Sequence[EntityEvent]) -> None:
        """Store raw partial events; re-inserting the same ``event_id`` changes nothing."""

    def load_events(self, project_id: str, entity_type: str, entity_ids: Sequence[str]) -> list[EntityEvent]:
        """Every stored event of the given entities (deduplicated by event id), any order."""

    def stored_event_times(
        self, project_id: str, entity_type: str, entity_ids: Sequence[str]
    ) -> dict[tuple[str, str], datetime]:
        """(entity id, event id) → receive time of the newest stored copy (no bodies read)."""

    def upsert_traces(self, rows: Sequence[TraceRecord]) -> None:
        """Insert full trace rows; the newest ``event_ts`` per (project_id, id) wins on read."""

    def upsert_observations(self, rows: Sequence[ObservationRecord]) -> None:
        """Insert full observation rows; newest ``event_ts`` per (project_id, id) wins on read."""

    def upsert_scores(self, rows: Sequence[ScoreRecord]) -> None:
        """Insert full score rows; newest ``event_ts`` per (project_id, id) wins on read."""

    def delete_traces(self, project_id: str, trace_ids: Sequence[str]) -> None:
        """Delete traces with their observations, scores and stored events."""

    def delete_scores(self, project_id: str, score_ids: Sequence[str]) -> None:
        """Delete scores by id."""

    def record_deletions(self, deletions: Sequence[Deletion]) -> None:
        """Store tombstones; recording the same entity again keeps the newest ``deleted_at``."""

    def load_deletions(self, keys: Collection[DeletionKey]) -> dict[DeletionKey, datetime]:
        """The newest ``deleted_at`` of each given (project, type, id) that has a tombstone.

        Keys without one are absent; the worker calls this once per batch.
        """

    def close(self) -> None:
        """Release connections / the embedded engine."""


class AnalyticsStore(AnalyticsWriter, AnalyticsReader, Protocol):
    """What the bootstrap hands to use cases: both halves."""
