"""Score reads: v1/v2 pages, one score, v3 cursor pages, and the scores of a page of traces."""

from __future__ import annotations

from collections.abc import Sequence

from skyglass.adapters.analytics.executor import SqlExecutor
from skyglass.adapters.analytics.reads.columns import SCORE_COLUMNS
from skyglass.adapters.analytics.reads.filters_sql import where_sql
from skyglass.adapters.analytics.reads.lookups import rows_by_key, rows_where_column
from skyglass.adapters.analytics.reads.params import SqlParams
from skyglass.adapters.analytics.rows import row_to_score
from skyglass.domain.filters import FilterCondition
from skyglass.domain.queries import ScoreQuery, ScoreV3Query
from skyglass.domain.records import ScoreRecord

SCORE_ALL_COLUMNS = (
    "id, project_id, timestamp, name, value, data_type, source, environment, trace_id, observation_id, "
    "session_id, dataset_run_id, string_value, comment, metadata, author_user_id, config_id, queue_id, "
    "execution_trace_id, created_at, updated_at"
)
_ORDER = "timestamp DESC, id DESC"


class ScoreReads:
    _ex: SqlExecutor

    def _score_where(self, params: SqlParams, filters: Sequence[FilterCondition]) -> list[str]:
        parts = [f"project_id = {params.project}", "is_deleted = 0"]
        return parts + where_sql(filters, SCORE_COLUMNS, params, "scores")

    def list_scores(self, query: ScoreQuery) -> list[ScoreRecord]:
        params = SqlParams(query.project_id)
        where = " AND ".join(self._score_where(params, query.filters))
        limit, offset = params.integer(query.page.limit), params.integer(query.page.offset)
        sql = (
            f"SELECT {SCORE_ALL_COLUMNS} FROM scores FINAL WHERE {where} ORDER BY {_ORDER} "
            f"LIMIT {limit} OFFSET {offset}"
        )
        return [row_to_score(row) for row in self._ex.query(sql, params.values)]

    def count_scores(self, query: ScoreQuery) -> int:
        params = SqlParams(query.project_id)
        where = " AND ".join(self._score_where(params, query.filters))
        rows = self._ex.query(f"SELECT count() AS n FROM scores FINAL WHERE {where}", params.values)
        return int(rows[0]["n"]) if rows else 0

    def get_score(self, project_id: str, score_id: str) -> ScoreRecord | None:
        params = SqlParams(project_id)
        sql = f"SELECT {SCORE_ALL_COLUMNS} FROM {rows_by_key('scores', f'id = {params.string(score_id)}', params)} LIMIT 1"
        rows = self._ex.query(sql, params.values)
        return row_to_score(rows[0]) if rows else None

    def list_scores_v3(self, query: ScoreV3Query) -> list[ScoreRecord]:
        params = SqlParams(query.project_id)
        where = self._score_where(params, query.filters)
        if query.cursor is not None:
            where.append(
                f"(timestamp, id) < ({params.datetime(query.cursor.timestamp)}, {params.string(query.cursor.id)})"
            )
        sql = (
            f"SELECT {SCORE_ALL_COLUMNS} FROM scores FINAL WHERE {' AND '.join(where)} "
            f"ORDER BY {_ORDER} LIMIT {params.integer(query.limit + 1)}"
        )
        return [row_to_score(row) for row in self._ex.query(sql, params.values)]

    def scores_of_traces(self, project_id: str, trace_ids: Sequence[str]) -> list[ScoreRecord]:
        if not trace_ids:
            return []
        params = SqlParams(project_id)
        sql = (
            f"SELECT {SCORE_ALL_COLUMNS} FROM {rows_where_column('scores', 'trace_id', sorted(set(trace_ids)), params)} "
            f"ORDER BY {_ORDER}"
        )
        return [row_to_score(row) for row in self._ex.query(sql, params.values)]
