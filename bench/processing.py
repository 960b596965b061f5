"""Benchmark 4 — processing: worker events/s from queued blobs to committed rows (Processor +
chDB), without HTTP.

    .venv/bin/python -m bench.processing --spans 200000

Blobs and queue messages are landed by the real ingest use case (``ingest_batch``, or the OTLP
one when it exists) into a temporary data folder; then the worker drains the queue batch by batch
(``LocalWorker.run_once``, as ``skyglass serve`` does) while every store call is timed, so the
table shows where a batch's time goes.
"""

from __future__ import annotations

import argparse
import cProfile
import importlib
import pstats
import resource
import shutil
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.common import RESULTS, Report, percentile, results_path, table
from bench.loadgen import IngestionBatches, OtlpBatches, TraceIds, make_pool


@dataclass(frozen=True)
class Caller:
    project_id: str = "bench-project"
    public_key: str = "pk-sg-bench"
    access_level: str = "project"


class Timers:
    """Wall time per wrapped call, by name."""

    def __init__(self) -> None:
        self.seconds: defaultdict[str, float] = defaultdict(float)
        self.calls: defaultdict[str, int] = defaultdict(int)

    def wrap(self, obj: Any, method: str, name: str | None = None) -> None:
        original: Callable[..., Any] = getattr(obj, method)
        label = name or method

        def timed(*args: Any, **kwargs: Any) -> Any:
            start = time.perf_counter()
            try:
                return original(*args, **kwargs)
            finally:
                self.seconds[label] += time.perf_counter() - start
                self.calls[label] += 1

        setattr(obj, method, timed)


def _otlp_lander() -> Callable[..., Any] | None:
    """The OTLP ingest use case, if this checkout has it (``skyglass.ingestion.otel``)."""
    try:
        module = importlib.import_module("skyglass.ingestion.otel")
    except ImportError:
        return None
    return getattr(module, "ingest_otel", None) or getattr(module, "ingest_traces", None)


def land_blobs(runtime: Any, protocol: str, spans: int) -> tuple[int, int, float]:
    """Land payloads through the ingest use case; ``(blobs, spans, seconds)``."""
    from skyglass.ingestion.batch import ingest_batch
    from skyglass.ingestion.common import HttpRequest

    ids, pool = TraceIds(), make_pool()
    maker = OtlpBatches(ids, pool) if protocol == "otlp" else IngestionBatches(ids, pool)
    lander = _otlp_lander() if protocol == "otlp" else ingest_batch
    if lander is None:
        raise SystemExit("this checkout has no OTLP ingest use case (skyglass.ingestion.otel)")
    count = max(1, spans // maker.spans_per_batch)
    settings = runtime.settings.model_copy(update={"queue_backpressure_depth": 10**9})
    start = time.perf_counter()
    for index in range(count):
        request = HttpRequest.of(maker.payload(index), maker.headers())
        lander(request, Caller(), blobs=runtime.blobs, queue=runtime.queue, settings=settings)
    return count, count * maker.spans_per_batch, time.perf_counter() - start


def drain(
    runtime: Any, batch_messages: int, threads: int, limit_s: float
) -> tuple[list[float], float, float]:
    """Process the queue to empty; ``(per-batch seconds, wall seconds, CPU seconds)``.

    ``batch_messages`` 0 runs the worker as ``skyglass serve`` does (its threads, adaptive batch
    size, up to 100 messages); otherwise one thread takes fixed batches of that many messages.
    """
    from skyglass.local.worker import LocalWorker
    from skyglass.processing.worker import Processor

    # the Processor exactly as ``skyglass serve`` builds it, where the runtime offers one
    processor = getattr(runtime, "processor", None) or Processor(runtime.blobs, runtime.analytics)
    worker = LocalWorker(runtime.queue, processor, batch_messages=batch_messages or 100, threads=threads)
    per_batch: list[float] = []
    cpu0, start = time.process_time(), time.perf_counter()
    if batch_messages == 0:
        worker.start()
        while runtime.queue.depth() > 0 and time.perf_counter() - start < limit_s:
            time.sleep(0.01)
        wall = time.perf_counter() - start
        worker.stop(drain_seconds=0)
        return per_batch, wall, time.process_time() - cpu0
    while time.perf_counter() - start < limit_s:
        received = runtime.queue.receive(max_messages=batch_messages, wait_seconds=0)
        if not received:
            break
        t = time.perf_counter()
        worker.run_once(received)
        per_batch.append(time.perf_counter() - t)
    return per_batch, time.perf_counter() - start, time.process_time() - cpu0


def run_case(
    root: Path,
    protocol: str,
    spans: int,
    batch_messages: int,
    threads: int,
    limit_s: float,
    profile: bool = False,
) -> dict[str, Any]:
    from skyglass.bootstrap import Runtime
    from skyglass.settings import Settings

    runtime = Runtime(Settings(data_dir=root / f"{protocol}-{batch_messages}-{threads}"))
    try:
        blobs, sent_spans, land_s = land_blobs(runtime, protocol, spans)
        timers = Timers()
        analytics: Any = runtime.analytics  # the ClickHouse store (its executor is used below)
        for method in (
            "load_deletions",
            "insert_events",
            "stored_event_times",
            "load_events",
            "upsert_traces",
            "upsert_observations",
            "upsert_scores",
        ):
            timers.wrap(analytics, method)
        timers.wrap(runtime.blobs, "get", "blob get")
        timers.wrap(runtime.queue, "ack", "queue ack")
        profiler = cProfile.Profile() if profile else None
        if profiler is not None:
            profiler.enable()
        children_before = _children_cpu()
        per_batch, wall, cpu = drain(runtime, batch_messages, threads, limit_s)
        if profiler is not None:
            profiler.disable()
        rows = analytics.executor.query("SELECT count() AS n FROM observations FINAL")
        events = analytics.executor.query("SELECT count() AS n FROM entity_events")
        stored = int(rows[0]["n"])
        left = runtime.queue.depth()
    finally:
        runtime.close()  # also stops (and reaps) the mapping helper processes
    cpu += _children_cpu() - children_before
    return {
        "protocol": protocol,
        "batch_messages": f"{batch_messages}" if batch_messages else f"adaptive, {threads} thread(s)",
        "blobs": blobs,
        "spans": sent_spans,
        "stored": stored,
        "events": int(events[0]["n"]),
        "left": left,
        "land_s": land_s,
        "wall_s": wall,
        "cpu_s": cpu,
        "batches": len(per_batch),
        "batch_p50_s": percentile(per_batch, 50),
        "batch_p99_s": percentile(per_batch, 99),
        "timers": timers,
        "profile": _profile_table(profiler) if profiler is not None else None,
    }


def _children_cpu() -> float:
    """CPU seconds of this process's reaped children (the worker's mapping helpers)."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _profile_table(profiler: cProfile.Profile, top: int = 20) -> str:
    """The functions with the most self time (cProfile; the worker thread only when run_once)."""
    stats = pstats.Stats(profiler)
    entries = stats.stats  # type: ignore[attr-defined]
    total = sum(v[2] for v in entries.values()) or 1.0
    rows = sorted(entries.items(), key=lambda kv: -kv[1][2])[:top]
    return table(
        ["self s", "self %", "cumulative s", "calls", "function"],
        [[v[2], 100 * v[2] / total, v[3], v[1], f"`{Path(k[0]).name}:{k[1]} {k[2]}`"] for k, v in rows],
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--spans", type=int, default=200_000, help="spans to land and process per case")
    parser.add_argument(
        "--batch-messages", default="100,0", help="comma list of fixed batch sizes; 0 = as serve runs it"
    )
    parser.add_argument("--threads", type=int, default=1, help="worker threads for the 0 (serve) case")
    parser.add_argument(
        "--protocols", default="auto", help="comma list: batch, otlp (auto: both if possible)"
    )
    parser.add_argument("--time-limit", type=float, default=600.0, help="seconds of processing per case")
    parser.add_argument("--profile", action="store_true", help="cProfile the processing (slower)")
    parser.add_argument("--results", default=str(RESULTS), help="file to append to ('-' prints only)")
    args = parser.parse_args(argv)
    protocols = args.protocols.split(",")
    if protocols == ["auto"]:
        protocols = ["batch", "otlp"] if _otlp_lander() is not None else ["batch"]
    report = Report("Processing (worker, no HTTP)")
    root = Path(tempfile.mkdtemp(prefix="skyglass-bench-processing-"))
    results = []
    try:
        for protocol in protocols:
            for size in (int(s) for s in args.batch_messages.split(",")):
                results.append(
                    run_case(root, protocol, args.spans, size, args.threads, args.time_limit, args.profile)
                )
    finally:
        shutil.rmtree(root, ignore_errors=True)

    rows = [
        [r["protocol"], r["batch_messages"], r["blobs"], r["spans"], r["stored"], r["spans"] / r["land_s"],
         r["events"] / r["wall_s"], r["stored"] / r["wall_s"], r["cpu_s"] * 1e6 / max(1, r["stored"]),
         r["batch_p50_s"], r["batch_p99_s"], r["left"]]
        for r in results
    ]  # fmt: skip
    report.add(
        "",
        "Blobs landed by the ingest use case, then drained by `LocalWorker.run_once`; chDB in process. "
        "Events are stored raw events (one per span plus one trace event per trace and blob).",
    )
    report.add("Results", table(
        ["blob kind", "messages per batch", "blobs", "spans sent", "spans stored", "landing spans/s",
         "events/s", "spans/s processed", "CPU µs / span", "batch p50 s", "batch p99 s", "left in queue"],
        rows,
    ))  # fmt: skip
    for r in results:
        timers: Timers = r["timers"]
        stage_rows = [
            [name, timers.calls[name], seconds, 100 * seconds / max(1e-9, r["wall_s"])]
            for name, seconds in sorted(timers.seconds.items(), key=lambda kv: -kv[1])
        ]
        other = r["wall_s"] - sum(timers.seconds.values())
        stage_rows.append(["(parse, map, merge: Python in Processor)", "-", other, 100 * other / r["wall_s"]])
        report.add(
            f"Where the time goes ({r['protocol']}, {r['batch_messages']} messages per batch)",
            table(["step", "calls", "seconds", "% of wall"], stage_rows),
        )
        if r["profile"]:
            report.add(f"cProfile, top self time ({r['protocol']}, {r['batch_messages']})", r["profile"])
    report.save(results_path(args.results))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
