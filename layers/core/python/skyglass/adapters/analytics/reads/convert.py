"""Result rows → read models that ``adapters.analytics.rows`` does not cover.

Records themselves come from ``rows.row_to_trace`` / ``row_to_observation`` / ``row_to_score``,
which tolerate partial column selections (a missing key keeps the record's default).
"""

from __future__ import annotations

from typing import Any

from skyglass.domain.queries import TraceContext


def trace_context_from_row(row: dict[str, Any]) -> TraceContext:
    return TraceContext(
        id=row["id"],
        name=row.get("name"),
        user_id=row.get("user_id"),
        session_id=row.get("session_id"),
        release=row.get("release"),
        version=row.get("version"),
        environment=row.get("environment") or "default",
        tags=tuple(row.get("tags") or ()),
        bookmarked=bool(row.get("bookmarked", False)),
        public=bool(row.get("public", False)),
    )
