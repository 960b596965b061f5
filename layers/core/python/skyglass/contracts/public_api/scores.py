"""Score responses: v1/v2 ``Score`` (+ trace data) pages and v3 ``ScoreV3`` cursor pages."""

from __future__ import annotations

from typing import Any

from skyglass.contracts.public_api.common import IsoDateTime, MetaResponse, WireModel


class ScoreTraceData(WireModel):
    """The trace attributes attached to a v2 score (``GetScoresResponseTraceData``)."""

    user_id: str | None
    tags: list[str]
    environment: str | None
    session_id: str | None


class ScoreView(WireModel):
    """A v1/v2 score; ``stringValue`` only for non-numeric types, ``trace`` only when requested."""

    id: str
    trace_id: str | None
    session_id: str | None
    observation_id: str | None
    dataset_run_id: str | None
    name: str
    source: str
    timestamp: IsoDateTime
    created_at: IsoDateTime
    updated_at: IsoDateTime
    author_user_id: str | None
    comment: str | None
    metadata: Any
    config_id: str | None
    queue_id: str | None
    environment: str
    data_type: str
    value: float
    string_value: str | None = None
    trace: ScoreTraceData | None = None


class GetScoresResponse(WireModel):
    data: list[ScoreView]
    meta: MetaResponse


class ScoreSubjectV3(WireModel):
    kind: str  # trace | observation | session | experiment
    id: str
    trace_id: str | None = None  # observation subjects only


class ScoreV3(WireModel):
    id: str
    project_id: str
    name: str
    value: bool | float | str
    data_type: str
    source: str
    timestamp: IsoDateTime
    environment: str
    created_at: IsoDateTime
    updated_at: IsoDateTime
    # details
    comment: str | None = None
    config_id: str | None = None
    metadata: dict[str, Any] | None = None
    # annotation
    author_user_id: str | None = None
    queue_id: str | None = None
    # subject
    subject: ScoreSubjectV3 | None = None


class GetScoresV3Meta(WireModel):
    limit: int
    cursor: str | None = None


class GetScoresV3Response(WireModel):
    data: list[ScoreV3]
    meta: GetScoresV3Meta
