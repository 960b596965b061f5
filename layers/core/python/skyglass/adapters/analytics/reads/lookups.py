"""Lookups of rows by trace (observations) or by a non-key column (scores of traces, traces of a
session).

Observations are sorted by (project_id, trace_id, id): a trace's rows are one key range, read
``FINAL`` directly. A worker that sees an observation move to another trace tombstones the row
under the old key, so the range holds only rows that still belong to the trace.

Traces and scores are sorted by (project_id, id), so the rows of one trace or session are spread
over the table. ``FINAL`` on a bloom-filter match still merges every granule that shares key
ranges with the matches, which costs several times more than the match itself. Instead: find
candidate ids with a plain read (the skip index prunes it), then read ``FINAL`` by those primary
keys only and check the column again on the newest version, so a row that moved is not returned.
"""

from __future__ import annotations

from skyglass.adapters.analytics.reads.params import SqlParams

_TABLES = frozenset({"traces", "scores"})
_COLUMNS = frozenset({"trace_id", "session_id"})


def trace_rows_where(trace_ids: list[str], params: SqlParams) -> str:
    """WHERE clause (for ``FROM observations FINAL``) selecting the live observations of traces."""
    return f"project_id = {params.project} AND trace_id IN {params.strings(trace_ids)} AND is_deleted = 0"


def newest_rows_where(table: str, column: str, values: list[str], params: SqlParams) -> str:
    """WHERE clause (for ``FROM <table> FINAL``) selecting live rows whose ``column`` is in ``values``."""
    assert table in _TABLES and column in _COLUMNS  # fixed names only, never user input
    bound = params.strings(values)
    return (
        f"project_id = {params.project} AND id IN (SELECT id FROM {table} "
        f"WHERE project_id = {params.project} AND {column} IN {bound}) "
        f"AND {column} IN {bound} AND is_deleted = 0"
    )
