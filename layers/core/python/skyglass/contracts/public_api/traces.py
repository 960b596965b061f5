"""Trace responses: ``Trace``, ``TraceWithDetails`` (lists), ``TraceWithFullDetails`` (one)."""

from __future__ import annotations

from typing import Any

from skyglass.contracts.public_api.common import IsoDateTime, MetaResponse, WireModel
from skyglass.contracts.public_api.observations import ObservationsView
from skyglass.contracts.public_api.scores import ScoreView


class Trace(WireModel):
    id: str
    timestamp: IsoDateTime
    name: str | None
    input: Any
    output: Any
    session_id: str | None
    release: str | None
    version: str | None
    user_id: str | None
    metadata: Any
    tags: list[str]
    public: bool
    environment: str
    # not in the schema's required list, but sent by Langfuse too
    project_id: str
    bookmarked: bool
    external_id: str | None
    created_at: IsoDateTime | None
    updated_at: IsoDateTime | None


class TraceWithDetails(Trace):
    html_path: str
    latency: float | None
    total_cost: float | None
    observations: list[str] | None
    scores: list[str] | None


class TraceWithFullDetails(Trace):
    html_path: str
    latency: float | None
    total_cost: float | None
    observations: list[ObservationsView]
    scores: list[ScoreView]


class Traces(WireModel):
    data: list[TraceWithDetails]
    meta: MetaResponse
