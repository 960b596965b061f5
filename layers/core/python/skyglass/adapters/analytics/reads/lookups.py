"""FROM-clauses for reading rows by key: ``<table> FINAL PREWHERE <key conditions> WHERE …``.

``FINAL`` resolves the versions of a row (newest ``row_version``/``event_ts``, ties to the last
insert, tombstones dropped). Conditions on the sorting key go to ``PREWHERE``: every version of a
row shares its key, so filtering on it before the merge keeps or drops all versions together and
stays exact, while the engine reads the other columns only for the matching rows. Left in WHERE,
the same read of a few rows costs several times more once the table has a few parts.
Conditions on other columns stay in WHERE: they must see the newest version only.

Observations are sorted by (project_id, trace_id, id): a trace's rows are one key range. A worker
that sees an observation move to another trace tombstones the row under the old key, so the range
holds only rows that still belong to the trace.

Traces and scores are sorted by (project_id, id), so the rows of one trace or session are spread
over the table: candidate ids come from a plain read that the skip index prunes, then the rows
are read by primary key and the column is checked again on the newest version, so a row that
moved is not returned.
"""

from __future__ import annotations

from skyglass.adapters.analytics.reads.params import SqlParams

_TABLES = frozenset({"traces", "scores"})
_COLUMNS = frozenset({"trace_id", "session_id"})


def rows_of_traces(trace_ids: list[str], params: SqlParams) -> str:
    """``observations`` FROM-clause: the live observations of the given traces."""
    return (
        f"observations FINAL PREWHERE project_id = {params.project} "
        f"AND trace_id IN {params.strings(trace_ids)} WHERE is_deleted = 0"
    )


def rows_by_key(table: str, key_condition: str, params: SqlParams) -> str:
    """``table`` FROM-clause: live rows whose key columns satisfy ``key_condition``.

    ``key_condition`` may test only sorting-key columns (``id``; for observations also
    ``trace_id``): it is applied before versions are resolved.
    """
    return f"{table} FINAL PREWHERE project_id = {params.project} AND {key_condition} WHERE is_deleted = 0"


def rows_where_column(table: str, column: str, values: list[str], params: SqlParams) -> str:
    """``table`` FROM-clause: live rows whose newest version has ``column`` in ``values``."""
    assert table in _TABLES and column in _COLUMNS  # fixed names only, never user input
    bound = params.strings(values)
    candidates = f"SELECT id FROM {table} WHERE project_id = {params.project} AND {column} IN {bound}"
    return f"{rows_by_key(table, f'id IN ({candidates})', params)} AND {column} IN {bound}"
