"""Write half of the ClickHouse analytics store.

Writes are insert-only: an update re-inserts the whole row with a newer ``event_ts`` and the
ReplacingMergeTree tables keep the newest on read (``FINAL``). Each call is one INSERT per table
whatever the batch size, because ClickHouse wants few large inserts (every insert makes a part).

Deletes use lightweight ``DELETE FROM``, which is synchronous by default on ClickHouse and chDB,
so a read right after never sees the rows. Related ids are read first and deleted by value rather
than with ``IN (SELECT ...)``: replicated/shared tables (ClickHouse Cloud) refuse mutations with
subqueries unless non-deterministic mutations are allowed.
"""

from __future__ import annotations

from collections.abc import Collection, Iterator, Sequence
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any, TypeVar

from skyglass.adapters.analytics.executor import SqlExecutor
from skyglass.adapters.analytics.migrate import apply_migrations
from skyglass.adapters.analytics.rows import EVENT_COLUMNS, parse_time, row_to_event
from skyglass.domain.merge_rules import row_version
from skyglass.domain.records import (
    Deletion,
    DeletionKey,
    EntityEvent,
    EntityType,
    ObservationRecord,
    ScoreRecord,
    TraceRecord,
)

# Id lists travel as one Array(String) parameter. ClickHouse caps a form field at 128 KiB
# (http_max_field_value_size) and URLs at 1 MiB, so chunks stay well under both.
_CHUNK_BYTES = 64 * 1024
_CHUNK_IDS = 2000

_EVENT_SELECT = ", ".join(EVENT_COLUMNS)

Row = TypeVar("Row", TraceRecord, ObservationRecord, ScoreRecord)


def id_chunks(ids: Sequence[str]) -> Iterator[list[str]]:
    """Distinct ids in first-seen order, in lists small enough for one bound parameter."""
    chunk: list[str] = []
    size = 0
    for entity_id in dict.fromkeys(ids):
        cost = len(entity_id.encode()) + 4  # quotes, comma, space
        if chunk and (size + cost > _CHUNK_BYTES or len(chunk) >= _CHUNK_IDS):
            yield chunk
            chunk, size = [], 0
        chunk.append(entity_id)
        size += cost
    if chunk:
        yield chunk


def _stamped(rows: Sequence[Row]) -> list[Row]:
    """Fill missing ``created_at``/``updated_at``/``event_ts`` with now (and ``row_version``).

    The columns are not nullable: a missing ``event_ts`` would store 1970, making the row lose to
    every other version. A row that was not merged from events (``row_version`` 0) is versioned by
    its ``event_ts`` alone. Only incomplete rows are copied, so a full batch costs nothing extra.
    """
    now: datetime | None = None
    out: list[Row] = []
    for row in rows:
        if row.event_ts is None or row.created_at is None or row.updated_at is None:
            now = now or datetime.now(UTC)
            row = replace(
                row,
                created_at=row.created_at or now,
                updated_at=row.updated_at or now,
                event_ts=row.event_ts or now,
            )
        if not isinstance(row, ScoreRecord) and row.row_version == 0 and row.event_ts is not None:
            row = replace(row, row_version=row_version(row.event_ts, 0))
        out.append(row)
    return out


class AnalyticsWriteMixin:
    """Implements ``ports.analytics.AnalyticsWriter`` with ``self._ex`` (a SqlExecutor)."""

    _ex: SqlExecutor

    def migrate(self) -> None:
        """Apply pending ``migrations/analytics`` files; safe at every start."""
        apply_migrations(self._ex)

    def insert_events(self, events: Sequence[EntityEvent]) -> None:
        """Store raw partial events in one INSERT; the table is keyed by event id, so replays
        collapse (``load_events`` reads with ``FINAL``)."""
        if events:
            self._ex.insert_rows("entity_events", list(events))

    def load_events(self, project_id: str, entity_type: str, entity_ids: Sequence[str]) -> list[EntityEvent]:
        """Every stored event of the given entities, deduplicated by event id, in no set order."""
        out: list[EntityEvent] = []
        for chunk in id_chunks(entity_ids):
            rows = self._ex.query(
                # Every condition is on the sorting key, so it may run before FINAL (PREWHERE):
                # only the matching rows' bodies are read (see reads/lookups.py).
                f"SELECT {_EVENT_SELECT} FROM entity_events FINAL "
                "PREWHERE project_id = {project_id:String} AND entity_type = {entity_type:String} "
                "AND entity_id IN {ids:Array(String)}",
                {"project_id": project_id, "entity_type": str(entity_type), "ids": chunk},
            )
            out.extend(row_to_event(row) for row in rows)
        return out

    def stored_event_times(
        self, project_id: str, entity_type: str, entity_ids: Sequence[str]
    ) -> dict[tuple[str, str], datetime]:
        """(entity id, event id) → receive time of the newest stored copy, for the given entities.

        Reads two short key columns and the receive time, never the bodies, so the worker can
        load bodies only for the events it does not hold itself.
        """
        out: dict[tuple[str, str], datetime] = {}
        for chunk in id_chunks(entity_ids):
            rows = self._ex.query(
                "SELECT entity_id, event_id, max(received_at) AS received_at FROM entity_events "
                "PREWHERE project_id = {project_id:String} AND entity_type = {entity_type:String} "
                "AND entity_id IN {ids:Array(String)} GROUP BY entity_id, event_id",
                {"project_id": project_id, "entity_type": str(entity_type), "ids": chunk},
            )
            for row in rows:
                received_at = parse_time(row["received_at"])
                assert received_at is not None  # a non-nullable column
                out[(str(row["entity_id"]), str(row["event_id"]))] = received_at
        return out

    def upsert_traces(self, rows: Sequence[TraceRecord]) -> None:
        """Insert full trace rows in one INSERT; the newest ``event_ts`` wins on read."""
        if rows:
            self._ex.insert_rows("traces", _stamped(rows))

    def upsert_observations(self, rows: Sequence[ObservationRecord]) -> None:
        """Insert full observation rows in one INSERT; the newest ``event_ts`` wins on read."""
        if rows:
            self._ex.insert_rows("observations", _stamped(rows))

    def upsert_scores(self, rows: Sequence[ScoreRecord]) -> None:
        """Insert full score rows in one INSERT; the newest ``event_ts`` wins on read."""
        if rows:
            self._ex.insert_rows("scores", _stamped(rows))

    def delete_traces(self, project_id: str, trace_ids: Sequence[str]) -> None:
        """Delete traces with their observations, scores and stored events (this project only).

        Children go first and the trace row last, so if a call fails midway a retry still finds
        the trace and its remaining children.
        """
        for chunk in id_chunks(trace_ids):
            observation_ids = self._child_ids("observations", project_id, chunk)
            score_ids = self._child_ids("scores", project_id, chunk)
            self._delete_events(project_id, EntityType.TRACE, chunk)
            self._delete_events(project_id, EntityType.OBSERVATION, observation_ids)
            self._delete_events(project_id, EntityType.SCORE, score_ids)
            # Events whose row was never written (still being processed) are found by body.
            self._delete(
                "entity_events",
                "entity_type != 'trace' AND JSONExtractString(body, 'traceId') IN {ids:Array(String)}",
                project_id,
                chunk,
            )
            self._delete("scores", "trace_id IN {ids:Array(String)}", project_id, chunk)
            self._delete("observations", "trace_id IN {ids:Array(String)}", project_id, chunk)
            self._delete("traces", "id IN {ids:Array(String)}", project_id, chunk)

    def delete_scores(self, project_id: str, score_ids: Sequence[str]) -> None:
        """Delete scores (and their stored events) by id, in this project only."""
        for chunk in id_chunks(score_ids):
            self._delete_events(project_id, EntityType.SCORE, chunk)
            self._delete("scores", "id IN {ids:Array(String)}", project_id, chunk)

    def record_deletions(self, deletions: Sequence[Deletion]) -> None:
        """Insert tombstones in one INSERT; the newest ``deleted_at`` per entity wins on read."""
        if deletions:
            self._ex.insert_rows("deletions", list(deletions))

    def load_deletions(self, keys: Collection[DeletionKey]) -> dict[DeletionKey, datetime]:
        """Newest ``deleted_at`` per given key that has a tombstone: one small query per id chunk.

        The table is keyed by (project_id, entity_type, entity_id), so the id list is a key
        lookup; the few rows that match an id under another project or type are filtered here.
        """
        wanted = set(keys)
        if not wanted:
            return {}
        projects = sorted({project_id for project_id, _, _ in wanted})
        found: dict[DeletionKey, datetime] = {}
        for chunk in id_chunks(sorted({entity_id for _, _, entity_id in wanted})):
            rows = self._ex.query(
                "SELECT project_id, entity_type, entity_id, max(deleted_at) AS deleted_at FROM deletions "
                "WHERE project_id IN {projects:Array(String)} AND entity_id IN {ids:Array(String)} "
                "GROUP BY project_id, entity_type, entity_id",
                {"projects": projects, "ids": chunk},
            )
            for row in rows:
                key = (str(row["project_id"]), str(row["entity_type"]), str(row["entity_id"]))
                deleted_at = parse_time(row["deleted_at"])
                if key in wanted and deleted_at is not None:
                    found[key] = deleted_at
        return found

    def close(self) -> None:
        """Release the engine: the embedded chDB session or the HTTP connection pool."""
        self._ex.close()

    # -- helpers -------------------------------------------------------------------------------

    def _child_ids(self, table: str, project_id: str, trace_ids: list[str]) -> list[str]:
        rows = self._ex.query(
            f"SELECT DISTINCT id FROM {table} "
            "WHERE project_id = {project_id:String} AND trace_id IN {ids:Array(String)}",
            {"project_id": project_id, "ids": trace_ids},
        )
        return [str(row["id"]) for row in rows]

    def _delete_events(self, project_id: str, entity_type: str, entity_ids: Sequence[str]) -> None:
        for chunk in id_chunks(entity_ids):
            self._delete(
                "entity_events",
                "entity_type = {entity_type:String} AND entity_id IN {ids:Array(String)}",
                project_id,
                chunk,
                entity_type=str(entity_type),
            )

    def _delete(self, table: str, condition: str, project_id: str, ids: list[str], **extra: Any) -> None:
        self._ex.command(
            f"DELETE FROM {table} WHERE project_id = {{project_id:String}} AND ({condition})",
            {"project_id": project_id, "ids": ids, **extra},
        )
