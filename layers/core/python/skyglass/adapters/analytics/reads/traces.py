"""Trace reads: pages of traces, one trace, and per-page aggregates of observations and scores."""

from __future__ import annotations

from collections.abc import Sequence

from skyglass.adapters.analytics.executor import SqlExecutor
from skyglass.adapters.analytics.reads.columns import TRACE_COLUMNS
from skyglass.adapters.analytics.reads.convert import trace_context_from_row
from skyglass.adapters.analytics.reads.filters_sql import where_sql
from skyglass.adapters.analytics.reads.lookups import rows_by_key, rows_of_traces, rows_where_column
from skyglass.adapters.analytics.reads.params import SqlParams
from skyglass.adapters.analytics.rows import row_to_trace
from skyglass.domain.queries import TraceAggregate, TraceContext, TraceQuery
from skyglass.domain.records import TraceRecord

TRACE_CORE_COLUMNS = (
    "id, project_id, timestamp, name, user_id, session_id, release, version, environment, "
    "public, bookmarked, tags, created_at, updated_at"
)
TRACE_IO_COLUMNS = "input, output, metadata"
_CONTEXT_COLUMNS = "id, name, user_id, session_id, release, version, environment, tags, bookmarked, public"
_ORDER_SQL = {
    "id": "id",
    "timestamp": "timestamp",
    "name": "name",
    "userId": "user_id",
    "release": "release",
    "version": "version",
    "public": "public",
    "bookmarked": "bookmarked",
    "sessionId": "session_id",
}
# Latency spans every observation time, also when an observation has no end time yet.
_LATENCY_MS = (
    "date_diff('millisecond', least(min(start_time), min(coalesce(end_time, start_time))), "
    "greatest(max(start_time), max(coalesce(end_time, start_time))))"
)


def trace_columns(with_io: bool) -> str:
    return f"{TRACE_CORE_COLUMNS}, {TRACE_IO_COLUMNS}" if with_io else TRACE_CORE_COLUMNS


class TraceReads:
    _ex: SqlExecutor

    def _trace_where(self, query: TraceQuery, params: SqlParams) -> str:
        parts = [f"project_id = {params.project}", "is_deleted = 0"]
        parts += where_sql(query.filters, TRACE_COLUMNS, params, "traces")
        return " AND ".join(parts)

    def list_traces(self, query: TraceQuery) -> list[TraceRecord]:
        params = SqlParams(query.project_id)
        where = self._trace_where(query, params)
        order = "timestamp DESC"
        if query.order_by is not None:
            order = f"{_ORDER_SQL[query.order_by.column]} {'DESC' if query.order_by.descending else 'ASC'}"
        order += ", id DESC"  # a total order, so pages never overlap or skip rows
        limit, offset = params.integer(query.page.limit), params.integer(query.page.offset)
        # Pick the page reading only the filter and sort columns, then read the (possibly large)
        # selected columns for those ids alone.
        page = f"SELECT id FROM traces FINAL WHERE {where} ORDER BY {order} LIMIT {limit} OFFSET {offset}"
        sql = (
            f"SELECT {trace_columns(query.with_io)} FROM {rows_by_key('traces', f'id IN ({page})', params)} "
            f"ORDER BY {order}"
        )
        return [row_to_trace(row) for row in self._ex.query(sql, params.values)]

    def count_traces(self, query: TraceQuery) -> int:
        params = SqlParams(query.project_id)
        sql = f"SELECT count() AS n FROM traces FINAL WHERE {self._trace_where(query, params)}"
        rows = self._ex.query(sql, params.values)
        return int(rows[0]["n"]) if rows else 0

    def get_trace(self, project_id: str, trace_id: str, *, with_io: bool = True) -> TraceRecord | None:
        params = SqlParams(project_id)
        sql = (
            f"SELECT {trace_columns(with_io)} "
            f"FROM {rows_by_key('traces', f'id = {params.string(trace_id)}', params)} LIMIT 1"
        )
        rows = self._ex.query(sql, params.values)
        return row_to_trace(rows[0]) if rows else None

    def trace_aggregates(
        self,
        project_id: str,
        trace_ids: Sequence[str],
        *,
        observations: bool = True,
        scores: bool = True,
    ) -> dict[str, TraceAggregate]:
        result: dict[str, TraceAggregate] = {}
        if not trace_ids:
            return result
        if observations:
            params = SqlParams(project_id)
            sql = (
                "SELECT trace_id, arrayMap(x -> x.2, arraySort(groupArray((start_time, id)))) AS ids, "
                f"toFloat64(sum(coalesce(total_cost, 0))) AS cost, {_LATENCY_MS} AS latency_ms "
                f"FROM {rows_of_traces(list(trace_ids), params)} GROUP BY trace_id"
            )
            for row in self._ex.query(sql, params.values):
                aggregate = result.setdefault(row["trace_id"], TraceAggregate())
                aggregate.observation_ids = list(row["ids"])
                aggregate.total_cost = float(row["cost"] or 0.0)
                aggregate.latency = float(row["latency_ms"] or 0) / 1000
        if scores:
            params = SqlParams(project_id)
            sql = (
                "SELECT trace_id, arrayMap(x -> x.2, arraySort(groupArray((timestamp, id)))) AS ids "
                f"FROM {rows_where_column('scores', 'trace_id', list(trace_ids), params)} GROUP BY trace_id"
            )
            for row in self._ex.query(sql, params.values):
                result.setdefault(row["trace_id"], TraceAggregate()).score_ids = list(row["ids"])
        return result

    def trace_contexts(self, project_id: str, trace_ids: Sequence[str]) -> dict[str, TraceContext]:
        unique = sorted(set(trace_ids))
        if not unique:
            return {}
        params = SqlParams(project_id)
        sql = f"SELECT {_CONTEXT_COLUMNS} FROM {rows_by_key('traces', f'id IN {params.strings(unique)}', params)}"
        return {row["id"]: trace_context_from_row(row) for row in self._ex.query(sql, params.values)}

    def session_traces(self, project_id: str, session_id: str) -> list[TraceRecord]:
        params = SqlParams(project_id)
        sql = (
            f"SELECT {trace_columns(True)} FROM {rows_where_column('traces', 'session_id', [session_id], params)} "
            "ORDER BY timestamp, id"
        )
        return [row_to_trace(row) for row in self._ex.query(sql, params.values)]
