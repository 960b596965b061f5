"""The ingest load loop: concurrent senders of pre-made payloads, and a poller that times how long
sampled traces take to become queryable.

Bounded in count and time: senders stop at the deadline or when the payloads run out; the drain
phase stops when every sample is queryable or at its own deadline.
"""

from __future__ import annotations

import collections
import contextlib
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import httpx

from bench.common import percentile


@dataclass
class Target:
    """One server under load: where to send, how to check a trace, how to count stored spans."""

    name: str
    protocol: str
    url: str
    headers: dict[str, str]
    payload: Callable[[int], bytes]
    spans_per_batch: int
    traces_per_batch: int
    is_queryable: Callable[[httpx.Client, int], bool]  # trace number -> all its spans readable
    count_spans: Callable[[], int]
    auth: tuple[str, str] | None = None


@dataclass
class LoadResult:
    sent_batches: int = 0
    accepted_batches: int = 0
    rejected: collections.Counter[int] = field(default_factory=collections.Counter)
    errors: int = 0
    ack_ms: list[float] = field(default_factory=list)
    first_send: float = 0.0
    last_ack: float = 0.0
    send_end: float = 0.0  # when the senders stopped (deadline or payloads exhausted)
    queryable_s: list[float] = field(default_factory=list)  # ack -> queryable, per sample
    samples: int = 0
    unresolved: int = 0  # samples still not queryable at the drain deadline
    polls: int = 0

    def accepted_spans(self, spans_per_batch: int) -> int:
        return self.accepted_batches * spans_per_batch

    def send_seconds(self) -> float:
        """The whole send window: a server that refuses (429/503) part of it is not credited
        with the rate of its accepted burst only."""
        return max(1e-9, max(self.send_end, self.last_ack) - self.first_send)


class Poller(threading.Thread):
    """Polls the oldest pending sample (queue processing is FIFO) and records its delay."""

    def __init__(self, target: Target, result: LoadResult, interval: float = 0.05):
        super().__init__(name=f"poller-{target.name}", daemon=True)
        self.target, self.result, self.interval = target, result, interval
        self.pending: collections.deque[tuple[int, float]] = collections.deque()
        self.lock = threading.Lock()
        self.sending_done = threading.Event()
        self.deadline = float("inf")

    def add(self, trace_number: int, acked_at: float) -> None:
        with self.lock:
            self.pending.append((trace_number, acked_at))
            self.result.samples += 1

    def run(self) -> None:
        with httpx.Client(timeout=30, auth=self.target.auth) as client:
            while time.monotonic() < self.deadline:
                with self.lock:
                    head = self.pending[0] if self.pending else None
                if head is None:
                    if self.sending_done.is_set():
                        return
                    time.sleep(self.interval)
                    continue
                self.result.polls += 1
                try:
                    ready = self.target.is_queryable(client, head[0])
                except httpx.HTTPError:
                    ready = False
                if ready:
                    self.result.queryable_s.append(time.monotonic() - head[1])
                    with self.lock:
                        self.pending.popleft()
                else:
                    time.sleep(self.interval)
        with self.lock:
            self.result.unresolved = len(self.pending)


def run_load(
    target: Target,
    *,
    batches: int,
    duration: float,
    senders: int,
    rate: float = 0.0,
    sample_interval: float = 0.25,
    drain_timeout: float = 120.0,
    on_send_done: Callable[[], None] | None = None,
) -> LoadResult:
    """Send up to ``batches`` payloads for at most ``duration`` seconds, then drain the samples.

    ``rate`` (spans/s) paces an open-loop load; 0 sends as fast as the senders are answered.
    """
    result = LoadResult()
    poller = Poller(target, result)
    poller.start()
    lock = threading.Lock()
    state = {"next": 0, "last_sample": 0.0}
    start = time.monotonic()
    stop_at = start + duration
    result.first_send = start

    def take() -> int | None:
        with lock:
            index = state["next"]
            if index >= batches or time.monotonic() >= stop_at:
                return None
            state["next"] = index + 1
        if rate > 0:
            due = start + index * target.spans_per_batch / rate
            pause = due - time.monotonic()
            if pause > 0:
                time.sleep(min(pause, max(0.0, stop_at - time.monotonic())))
        return int(index)

    def sender() -> None:
        with httpx.Client(timeout=60, auth=target.auth, headers=target.headers) as client:
            while (index := take()) is not None:
                body = target.payload(index)
                for _attempt in range(10):
                    sent = time.monotonic()
                    try:
                        response = client.post(target.url, content=body)
                    except httpx.HTTPError:
                        with lock:
                            result.errors += 1
                        time.sleep(0.2)
                        continue
                    acked = time.monotonic()
                    sample = False
                    with lock:
                        result.sent_batches += 1
                        if response.status_code < 300:
                            result.accepted_batches += 1
                            result.ack_ms.append((acked - sent) * 1000)
                            result.last_ack = max(result.last_ack, acked)
                            sample = acked - state["last_sample"] >= sample_interval
                            if sample:
                                state["last_sample"] = acked
                        else:
                            result.rejected[response.status_code] += 1
                    if response.status_code < 300:
                        if sample:
                            last_trace = (index + 1) * target.traces_per_batch - 1
                            poller.add(last_trace, acked)
                        break
                    if response.status_code not in (429, 503) or acked >= stop_at:
                        break
                    retry_after = float(response.headers.get("retry-after", "1") or 1)
                    time.sleep(min(1.0, retry_after))

    threads = [threading.Thread(target=sender, name=f"sender-{i}", daemon=True) for i in range(senders)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=duration + 120)
    result.send_end = time.monotonic()
    if on_send_done is not None:
        on_send_done()
    poller.deadline = time.monotonic() + drain_timeout
    poller.sending_done.set()
    poller.join(timeout=drain_timeout + 60)
    return result


def wait_for_count(
    count: Callable[[], int], expected: int, timeout: float, interval: float = 0.5
) -> tuple[int, float]:
    """Poll ``count`` until it reaches ``expected`` or ``timeout``; ``(last count, seconds waited)``."""
    start = time.monotonic()
    last = -1
    while True:
        with contextlib.suppress(httpx.HTTPError, OSError, ValueError):
            last = count()
        waited = time.monotonic() - start
        if last >= expected or waited >= timeout:
            return last, waited
        time.sleep(interval)


def summary(target: Target, result: LoadResult) -> dict[str, float | int]:
    """The numbers the report tables show."""
    spans = result.accepted_spans(target.spans_per_batch)
    return {
        "accepted_spans": spans,
        "spans_per_s": spans / result.send_seconds(),
        "requests": result.sent_batches,
        "rejected": sum(result.rejected.values()),
        "errors": result.errors,
        "ack_p50_ms": percentile(result.ack_ms, 50),
        "ack_p99_ms": percentile(result.ack_ms, 99),
        "ack_max_ms": max(result.ack_ms, default=float("nan")),
        "queryable_p50_s": percentile(result.queryable_s, 50),
        "queryable_p99_s": percentile(result.queryable_s, 99),
        "queryable_max_s": max(result.queryable_s, default=float("nan")),
        "samples": result.samples,
        "unresolved": result.unresolved,
    }
