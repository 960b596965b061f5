"""Use cases: list sessions and get one session with its traces (sessions come from traces)."""

from __future__ import annotations

from skyglass.contracts.public_api import MetaResponse, PaginatedSessions, Session, SessionWithTraces
from skyglass.domain.queries import SessionQuery
from skyglass.errors import NotFound
from skyglass.ports.analytics_reads import AnalyticsReader
from skyglass.query.mapping import to_trace
from skyglass.query.params import QueryParams


def list_sessions(reader: AnalyticsReader, project_id: str, params: QueryParams) -> PaginatedSessions:
    """``GET /sessions``: newest first; the time range applies to a session's first trace."""
    page = params.page()
    query = SessionQuery(
        project_id=project_id,
        page=page,
        from_timestamp=params.datetime("fromTimestamp"),
        to_timestamp=params.datetime("toTimestamp"),
        environments=tuple(params.many("environment")),
    )
    sessions = reader.list_sessions(query)
    total = reader.count_sessions(query)
    data = [
        Session(id=s.id, created_at=s.created_at, project_id=s.project_id, environment=s.environment)
        for s in sessions
    ]
    meta = MetaResponse(
        page=page.page, limit=page.limit, total_items=total, total_pages=page.total_pages(total)
    )
    return PaginatedSessions(data=data, meta=meta)


def get_session(reader: AnalyticsReader, project_id: str, session_id: str) -> SessionWithTraces:
    """``GET /sessions/{sessionId}``: the session and all its traces; 404 when it has none."""
    traces = reader.session_traces(project_id, session_id)
    if not traces:
        raise NotFound(f"Session {session_id} not found within authorized project")
    first = traces[0]
    return SessionWithTraces(
        id=session_id,
        created_at=first.timestamp,
        project_id=project_id,
        environment=first.environment,
        traces=[to_trace(t) for t in traces],
    )
