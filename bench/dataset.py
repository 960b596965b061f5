"""A realistic analytics data set written straight through the store's writer (no HTTP, no
worker): traces of 10 observations from the load generator's agent traces, spread over 30 days,
500 users, ~5,000 sessions, tags, one score per trace, model, usage and cost on generations.

Rows are what the worker would write for the same spans (same record types, same tables), so the
read queries meet real column sizes: 1-4 KB inputs and outputs, metadata maps, usage maps.
"""

from __future__ import annotations

import hashlib
import random
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from bench.loadgen import SPANS_PER_TRACE, TraceSpec, make_pool

_PRICES = {"input": 2.5e-6, "output": 1e-5}


@dataclass(frozen=True)
class DatasetShape:
    traces: int
    end: datetime
    project_id: str = "bench-project"
    days: int = 30
    seed: int = 1

    @property
    def start(self) -> datetime:
        return self.end - timedelta(days=self.days)

    def trace_id(self, n: int) -> str:
        """32 hex digits, spread like OTel trace ids (not clustered in the table's sort order)."""
        return hashlib.blake2b(f"{self.seed}:{n}".encode(), digest_size=16).hexdigest()

    def observation_id(self, n: int, index: int) -> str:
        """16 hex digits, like an OTel span id: the observations of a trace lie far apart."""
        return hashlib.blake2b(f"{self.seed}:{n}:{index}".encode(), digest_size=8).hexdigest()

    def trace_time(self, n: int) -> datetime:
        # evenly spread, newest last; deterministic so queries can aim at known windows
        span = self.days * 86_400_000
        return self.start + timedelta(milliseconds=span * n // max(1, self.traces))


def _records(shape: DatasetShape, pool: list[TraceSpec], first: int, last: int) -> tuple[list[Any], ...]:
    from skyglass.domain.records import ObservationRecord, ScoreRecord, TraceRecord

    traces, observations, scores = [], [], []
    rng = random.Random(first)
    for n in range(first, last):
        spec = pool[n % len(pool)]
        trace_id = shape.trace_id(n)
        t0 = shape.trace_time(n)
        user = f"user-{rng.randint(1, 500)}"
        session = f"session-{rng.randint(1, 5000)}"
        tags = sorted(rng.sample(("prod", "beta", "eu", "us", "mobile", "web"), 2))
        traces.append(
            TraceRecord(
                id=trace_id, project_id=shape.project_id, timestamp=t0, name=spec.name, user_id=user,
                session_id=session, release="2026.1", version="v3", tags=tags,
                metadata={"tenant": '"acme"'}, input=spec.spans[0].input, output=spec.spans[0].output,
                created_at=t0, updated_at=t0, event_ts=t0,
            )
        )  # fmt: skip
        for span in spec.spans:
            start = t0 + timedelta(milliseconds=span.start_ms)
            end = t0 + timedelta(milliseconds=span.end_ms)
            usage = dict(span.usage or {})
            cost = {k: usage.get(k, 0) * p for k, p in _PRICES.items()} if usage else {}
            if cost:
                cost["total"] = sum(cost.values())
            observations.append(
                ObservationRecord(
                    id=shape.observation_id(n, span.index), trace_id=trace_id, project_id=shape.project_id,
                    type=span.kind.upper(), start_time=start, end_time=end, name=span.name,
                    parent_observation_id=shape.observation_id(n, 0) if span.parent is not None else None,
                    metadata=dict(span.metadata), input=span.input, output=span.output or None,
                    completion_start_time=start + timedelta(milliseconds=150) if span.model else None,
                    provided_model_name=span.model, internal_model_id=span.model,
                    model_parameters=span.model_parameters, provided_usage_details=usage,
                    usage_details=usage, cost_details=cost, total_cost=cost.get("total"),
                    created_at=end, updated_at=end, event_ts=end,
                )
            )  # fmt: skip
        scores.append(
            ScoreRecord(
                id=f"{trace_id}-score", project_id=shape.project_id, timestamp=t0, name="quality",
                value=round(rng.random(), 3), trace_id=trace_id, session_id=session,
                created_at=t0, updated_at=t0, event_ts=t0,
            )
        )  # fmt: skip
    return traces, observations, scores


def chunks(total: int, size: int) -> Iterator[tuple[int, int]]:
    for first in range(0, total, size):
        yield first, min(total, first + size)


def load(store: Any, shape: DatasetShape, chunk_traces: int = 5_000, progress: bool = True) -> float:
    """Write the data set into ``store`` (an ``AnalyticsStore``); returns the seconds it took."""
    pool = make_pool(size=96, seed=11)
    start = time.perf_counter()
    for first, last in chunks(shape.traces, chunk_traces):
        traces, observations, scores = _records(shape, pool, first, last)
        store.upsert_traces(traces)
        store.upsert_observations(observations)
        store.upsert_scores(scores)
        if progress and (last // chunk_traces) % 4 == 0:
            rate = last * (1 + SPANS_PER_TRACE) / (time.perf_counter() - start)
            print(f"  loaded {last:,} traces ({rate:,.0f} rows/s)", flush=True)
    return time.perf_counter() - start


def now_utc() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)
