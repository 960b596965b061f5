"""Langfuse public-API response models (read surfaces), camelCase on the wire.

One module per area; names follow the OpenAPI schemas in ``reference/langfuse-openapi.yml``.
"""

from __future__ import annotations

from skyglass.contracts.public_api.common import (
    IsoDateTime,
    MessageResponse,
    MetaResponse,
    WireModel,
    iso_millis,
)
from skyglass.contracts.public_api.observations import (
    ObservationsV2Meta,
    ObservationsV2Response,
    ObservationsView,
    ObservationsViews,
    ObservationV2,
    Usage,
)
from skyglass.contracts.public_api.scores import (
    GetScoresResponse,
    GetScoresV3Meta,
    GetScoresV3Response,
    ScoreSubjectV3,
    ScoreTraceData,
    ScoreV3,
    ScoreView,
)
from skyglass.contracts.public_api.sessions import PaginatedSessions, Session, SessionWithTraces
from skyglass.contracts.public_api.traces import Trace, Traces, TraceWithDetails, TraceWithFullDetails

__all__ = [
    "GetScoresResponse",
    "GetScoresV3Meta",
    "GetScoresV3Response",
    "IsoDateTime",
    "MessageResponse",
    "MetaResponse",
    "ObservationV2",
    "ObservationsV2Meta",
    "ObservationsV2Response",
    "ObservationsView",
    "ObservationsViews",
    "PaginatedSessions",
    "ScoreSubjectV3",
    "ScoreTraceData",
    "ScoreV3",
    "ScoreView",
    "Session",
    "SessionWithTraces",
    "Trace",
    "TraceWithDetails",
    "TraceWithFullDetails",
    "Traces",
    "Usage",
    "WireModel",
    "iso_millis",
]
