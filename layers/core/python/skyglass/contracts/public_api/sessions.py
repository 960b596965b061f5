"""Session responses: ``Session``, ``SessionWithTraces``, ``PaginatedSessions``."""

from __future__ import annotations

from skyglass.contracts.public_api.common import IsoDateTime, MetaResponse, WireModel
from skyglass.contracts.public_api.traces import Trace


class Session(WireModel):
    id: str
    created_at: IsoDateTime
    project_id: str
    environment: str


class SessionWithTraces(Session):
    traces: list[Trace]


class PaginatedSessions(WireModel):
    data: list[Session]
    meta: MetaResponse
