"""Observation reads: v1 pages, one observation, v2 cursor pages with field groups."""

from __future__ import annotations

from collections.abc import Sequence

from skyglass.adapters.analytics.executor import SqlExecutor
from skyglass.adapters.analytics.reads.columns import OBSERVATION_COLUMNS
from skyglass.adapters.analytics.reads.filters_sql import where_sql
from skyglass.adapters.analytics.reads.lookups import rows_by_key, rows_of_traces
from skyglass.adapters.analytics.reads.params import SqlParams
from skyglass.adapters.analytics.rows import row_to_observation
from skyglass.domain.filters import FilterCondition
from skyglass.domain.queries import ObservationQuery, ObservationV2Query
from skyglass.domain.records import ObservationRecord

OBSERVATION_ALL_COLUMNS = (
    "id, trace_id, project_id, type, start_time, end_time, name, parent_observation_id, environment, "
    "level, status_message, version, metadata, input, output, completion_start_time, "
    "provided_model_name, internal_model_id, model_parameters, provided_usage_details, usage_details, "
    "provided_cost_details, cost_details, total_cost, usage_pricing_tier_id, usage_pricing_tier_name, "
    "prompt_id, prompt_name, prompt_version, created_at, updated_at"
)
# Columns each v2 field group needs ("trace_context" comes from the traces, not this table).
V2_GROUP_COLUMNS: dict[str, tuple[str, ...]] = {
    "core": ("id", "trace_id", "project_id", "type", "start_time", "end_time", "parent_observation_id"),
    "basic": ("name", "level", "status_message", "version", "environment"),
    "time": ("completion_start_time", "created_at", "updated_at"),
    "io": ("input", "output"),
    "metadata": ("metadata",),
    "model": ("provided_model_name", "internal_model_id", "model_parameters"),
    "usage": ("usage_details", "cost_details", "total_cost", "usage_pricing_tier_name"),
    "prompt": ("prompt_id", "prompt_name", "prompt_version"),
    "metrics": ("completion_start_time",),
    "trace_context": (),
}
_HEAVY = frozenset({"input", "output", "metadata"})
_V1_ORDER = "start_time DESC, id DESC"
_V2_ORDER = "start_time DESC, trace_id DESC, id DESC"


def v2_columns(groups: frozenset[str]) -> list[str]:
    """The columns to select for the requested v2 field groups (core always), in a fixed order."""
    wanted = {"core"} | set(groups)
    seen: dict[str, None] = {}
    for group, columns in V2_GROUP_COLUMNS.items():
        if group in wanted:
            seen.update(dict.fromkeys(columns))
    return list(seen)


class ObservationReads:
    _ex: SqlExecutor

    def _observation_where(self, params: SqlParams, filters: Sequence[FilterCondition]) -> list[str]:
        parts = [f"project_id = {params.project}", "is_deleted = 0"]
        return parts + where_sql(filters, OBSERVATION_COLUMNS, params, "observations")

    def _paged(
        self, params: SqlParams, columns: str, where: list[str], order: str, limit: str, offset: str
    ) -> str:
        # Choose the page on the light columns, then read the selected columns for it only, by
        # primary key: (trace_id, id) is the sort key after project_id.
        page = (
            f"SELECT trace_id, id FROM observations FINAL WHERE {' AND '.join(where)} "
            f"ORDER BY {order} LIMIT {limit} OFFSET {offset}"
        )
        return f"SELECT {columns} FROM {rows_by_key('observations', f'(trace_id, id) IN ({page})', params)} ORDER BY {order}"

    def list_observations(self, query: ObservationQuery) -> list[ObservationRecord]:
        params = SqlParams(query.project_id)
        where = self._observation_where(params, query.filters)
        limit, offset = params.integer(query.page.limit), params.integer(query.page.offset)
        sql = self._paged(params, OBSERVATION_ALL_COLUMNS, where, _V1_ORDER, limit, offset)
        return [row_to_observation(row) for row in self._ex.query(sql, params.values)]

    def count_observations(self, query: ObservationQuery) -> int:
        params = SqlParams(query.project_id)
        where = " AND ".join(self._observation_where(params, query.filters))
        rows = self._ex.query(f"SELECT count() AS n FROM observations FINAL WHERE {where}", params.values)
        return int(rows[0]["n"]) if rows else 0

    def get_observation(self, project_id: str, observation_id: str) -> ObservationRecord | None:
        params = SqlParams(project_id)
        observation = params.string(observation_id)
        # The id alone is not a key prefix: find the trace through the bloom filter on id, then
        # read the row by its full key.
        traces = (
            f"SELECT trace_id FROM observations WHERE project_id = {params.project} AND id = {observation}"
        )
        key = f"trace_id IN ({traces}) AND id = {observation}"
        sql = f"SELECT {OBSERVATION_ALL_COLUMNS} FROM {rows_by_key('observations', key, params)} LIMIT 1"
        rows = self._ex.query(sql, params.values)
        return row_to_observation(rows[0]) if rows else None

    def list_observations_v2(self, query: ObservationV2Query) -> list[ObservationRecord]:
        params = SqlParams(query.project_id)
        where = self._observation_where(params, query.filters)
        if query.cursor is not None:
            cursor = query.cursor
            where.append(
                f"(start_time, trace_id, id) < ({params.datetime(cursor.start_time)}, "
                f"{params.string(cursor.trace_id)}, {params.string(cursor.id)})"
            )
        columns = v2_columns(query.fields)
        limit, offset = params.integer(query.limit + 1), params.integer(0)
        if _HEAVY.intersection(columns):
            sql = self._paged(params, ", ".join(columns), where, _V2_ORDER, limit, offset)
        else:
            sql = (
                f"SELECT {', '.join(columns)} FROM observations FINAL WHERE {' AND '.join(where)} "
                f"ORDER BY {_V2_ORDER} LIMIT {limit}"
            )
        return [row_to_observation(row) for row in self._ex.query(sql, params.values)]

    def observations_of_traces(self, project_id: str, trace_ids: Sequence[str]) -> list[ObservationRecord]:
        if not trace_ids:
            return []
        params = SqlParams(project_id)
        sql = (
            f"SELECT {OBSERVATION_ALL_COLUMNS} FROM {rows_of_traces(sorted(set(trace_ids)), params)} "
            "ORDER BY start_time, id"
        )
        return [row_to_observation(row) for row in self._ex.query(sql, params.values)]
