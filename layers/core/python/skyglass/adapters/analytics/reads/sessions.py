"""Session reads: sessions are not stored, they are the distinct session ids of live traces."""

from __future__ import annotations

from skyglass.adapters.analytics.executor import SqlExecutor
from skyglass.adapters.analytics.reads.params import SqlParams
from skyglass.adapters.analytics.rows import parse_time
from skyglass.domain.queries import SessionQuery, SessionSummary


class SessionReads:
    _ex: SqlExecutor

    def _sessions_sql(self, query: SessionQuery, params: SqlParams) -> str:
        where = [
            f"project_id = {params.project}",
            "is_deleted = 0",
            "session_id IS NOT NULL",
            "session_id != ''",
        ]
        if query.environments:
            where.append(f"environment IN {params.strings(query.environments)}")
        having = []
        if query.from_timestamp is not None:
            having.append(f"first_timestamp >= {params.datetime(query.from_timestamp)}")
        if query.to_timestamp is not None:
            having.append(f"first_timestamp < {params.datetime(query.to_timestamp)}")
        return (
            # aliases differ from column names: an alias would shadow the column in WHERE
            "SELECT assumeNotNull(session_id) AS session, min(timestamp) AS first_timestamp, "
            "argMin(environment, timestamp) AS first_environment "
            f"FROM traces FINAL WHERE {' AND '.join(where)} GROUP BY session_id"
            + (f" HAVING {' AND '.join(having)}" if having else "")
        )

    def list_sessions(self, query: SessionQuery) -> list[SessionSummary]:
        params = SqlParams(query.project_id)
        limit, offset = params.integer(query.page.limit), params.integer(query.page.offset)
        sql = (
            f"{self._sessions_sql(query, params)} ORDER BY first_timestamp DESC, session DESC "
            f"LIMIT {limit} OFFSET {offset}"
        )
        out = []
        for row in self._ex.query(sql, params.values):
            created = parse_time(row["first_timestamp"])
            assert created is not None
            out.append(
                SessionSummary(
                    id=row["session"],
                    project_id=query.project_id,
                    created_at=created,
                    environment=row.get("first_environment") or "default",
                )
            )
        return out

    def count_sessions(self, query: SessionQuery) -> int:
        params = SqlParams(query.project_id)
        rows = self._ex.query(
            f"SELECT count() AS n FROM ({self._sessions_sql(query, params)})", params.values
        )
        return int(rows[0]["n"]) if rows else 0
