"""Trace use cases read side by side (``query.fanout``): same answers, errors still surface."""

from __future__ import annotations

import threading
from datetime import UTC, datetime
from typing import Any

import pytest

from skyglass.domain.queries import TraceAggregate
from skyglass.domain.records import ObservationRecord, ScoreRecord, TraceRecord
from skyglass.errors import NotFound, StoreUnavailable
from skyglass.query.params import QueryParams
from skyglass.query.traces import get_trace, list_traces

T0 = datetime(2026, 1, 1, tzinfo=UTC)


class Reader:
    """Answers one trace ``t1`` with one observation and one score; records the calling threads."""

    def __init__(self, fail: str = "") -> None:
        self.fail = fail
        self.threads: dict[str, str] = {}

    def _called(self, name: str) -> None:
        self.threads[name] = threading.current_thread().name
        if name == self.fail:
            raise StoreUnavailable(f"{name} failed")

    def get_trace(self, project_id: str, trace_id: str, *, with_io: bool = True) -> TraceRecord | None:
        self._called("get_trace")
        return TraceRecord(id="t1", project_id=project_id, timestamp=T0) if trace_id == "t1" else None

    def observations_of_traces(self, project_id: str, trace_ids: list[str]) -> list[ObservationRecord]:
        self._called("observations_of_traces")
        return [ObservationRecord(id="o1", trace_id="t1", project_id=project_id, type="SPAN", start_time=T0)]

    def scores_of_traces(self, project_id: str, trace_ids: list[str]) -> list[ScoreRecord]:
        self._called("scores_of_traces")
        return [ScoreRecord(id="s1", project_id=project_id, timestamp=T0, name="q", value=1.0, trace_id="t1")]

    def list_traces(self, query: Any) -> list[TraceRecord]:
        self._called("list_traces")
        return [TraceRecord(id="t1", project_id=query.project_id, timestamp=T0)]

    def count_traces(self, query: Any) -> int:
        self._called("count_traces")
        return 1

    def trace_aggregates(
        self, project_id: str, trace_ids: list[str], *, observations: bool = True, scores: bool = True
    ) -> dict[str, TraceAggregate]:
        self._called(f"trace_aggregates({'observations' if observations else 'scores'})")
        aggregate = TraceAggregate()
        if observations:
            aggregate.observation_ids, aggregate.total_cost = ["o1"], 0.5
        if scores:
            aggregate.score_ids = ["s1"]
        return {"t1": aggregate}


def test_a_trace_is_read_with_its_observations_and_scores_beside_it():
    reader = Reader()
    trace = get_trace(reader, "p1", "t1", QueryParams([]))  # type: ignore[arg-type]
    assert [o.id for o in trace.observations] == ["o1"] and [s.id for s in trace.scores] == ["s1"]
    # the observations and scores were read on the read pool, the trace on the caller's thread
    assert reader.threads["observations_of_traces"].startswith("skyglass-read")
    assert reader.threads["scores_of_traces"].startswith("skyglass-read")
    assert reader.threads["get_trace"] == threading.current_thread().name


def test_an_unknown_trace_is_404_even_though_its_reads_ran():
    with pytest.raises(NotFound):
        get_trace(Reader(), "p1", "nope", QueryParams([]))  # type: ignore[arg-type]


@pytest.mark.parametrize("failing", ["observations_of_traces", "scores_of_traces", "get_trace"])
def test_a_failing_read_fails_the_trace_request(failing: str):
    with pytest.raises(StoreUnavailable, match=failing):
        get_trace(Reader(fail=failing), "p1", "t1", QueryParams([]))  # type: ignore[arg-type]


def test_a_page_of_traces_merges_the_aggregates_read_side_by_side():
    page = list_traces(Reader(), "p1", QueryParams([]))  # type: ignore[arg-type]
    [trace] = page.data
    assert (trace.observations, trace.scores, trace.total_cost) == (["o1"], ["s1"], 0.5)
    assert page.meta.total_items == 1


@pytest.mark.parametrize(
    "failing", ["count_traces", "list_traces", "trace_aggregates(observations)", "trace_aggregates(scores)"]
)
def test_a_failing_read_fails_the_page(failing: str):
    with pytest.raises(StoreUnavailable):
        list_traces(Reader(fail=failing), "p1", QueryParams([]))  # type: ignore[arg-type]
