"""Read half of the AnalyticsStore port (traces, observations, sessions, scores).

Owned by the query layer; query parameter objects and read models live in
``skyglass.domain.queries``. Every method is scoped to one project and never returns deleted
rows or superseded versions (only the newest ``event_ts`` of an id counts). Lists are built for
one page at a time: related rows of a whole page come back from one call (no N+1).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from skyglass.domain.queries import (
    ObservationQuery,
    ObservationV2Query,
    ScoreQuery,
    ScoreV3Query,
    SessionQuery,
    SessionSummary,
    TraceAggregate,
    TraceContext,
    TraceQuery,
)
from skyglass.domain.records import ObservationRecord, ScoreRecord, TraceRecord


class AnalyticsReader(Protocol):
    # --- traces -----------------------------------------------------------------------------
    def list_traces(self, query: TraceQuery) -> list[TraceRecord]:
        """One page of traces matching the query, in its order (default newest first).

        Without ``with_io`` the records carry no input, output or metadata.
        """

    def count_traces(self, query: TraceQuery) -> int:
        """How many traces match the query's filters (ignores page and order)."""

    def get_trace(self, project_id: str, trace_id: str, *, with_io: bool = True) -> TraceRecord | None:
        """The trace, or None when it does not exist in this project (or was deleted)."""

    def trace_aggregates(
        self,
        project_id: str,
        trace_ids: Sequence[str],
        *,
        observations: bool = True,
        scores: bool = True,
    ) -> dict[str, TraceAggregate]:
        """Observation ids, latency and cost (``observations``) and score ids (``scores``) per trace.

        Traces without observations or scores are absent from the result.
        """

    def trace_contexts(self, project_id: str, trace_ids: Sequence[str]) -> dict[str, TraceContext]:
        """The trace attributes repeated on observation and score rows, by trace id."""

    def observations_of_traces(self, project_id: str, trace_ids: Sequence[str]) -> list[ObservationRecord]:
        """Every observation of the given traces, oldest start time first."""

    def scores_of_traces(self, project_id: str, trace_ids: Sequence[str]) -> list[ScoreRecord]:
        """Every score attached to the given traces (any observation), newest first."""

    # --- observations -----------------------------------------------------------------------
    def list_observations(self, query: ObservationQuery) -> list[ObservationRecord]:
        """One page of observations, newest start time first."""

    def count_observations(self, query: ObservationQuery) -> int:
        """How many observations match the query's filters."""

    def get_observation(self, project_id: str, observation_id: str) -> ObservationRecord | None:
        """The observation, or None when it does not exist in this project."""

    def list_observations_v2(self, query: ObservationV2Query) -> list[ObservationRecord]:
        """Up to ``limit + 1`` observations after the cursor, by (start_time, trace_id, id) desc.

        Only the columns of the requested field groups are filled in; the extra row tells the
        caller there is a next page.
        """

    # --- sessions ---------------------------------------------------------------------------
    def list_sessions(self, query: SessionQuery) -> list[SessionSummary]:
        """One page of sessions (from traces' session ids), newest first."""

    def count_sessions(self, query: SessionQuery) -> int:
        """How many sessions match the query."""

    def session_traces(self, project_id: str, session_id: str) -> list[TraceRecord]:
        """Every trace of the session, oldest first (empty when the session does not exist)."""

    # --- scores -----------------------------------------------------------------------------
    def list_scores(self, query: ScoreQuery) -> list[ScoreRecord]:
        """One page of scores, newest first."""

    def count_scores(self, query: ScoreQuery) -> int:
        """How many scores match the query's filters."""

    def get_score(self, project_id: str, score_id: str) -> ScoreRecord | None:
        """The score, or None when it does not exist in this project."""

    def list_scores_v3(self, query: ScoreV3Query) -> list[ScoreRecord]:
        """Up to ``limit + 1`` scores after the cursor, by (timestamp, id) desc."""
