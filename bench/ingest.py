"""Benchmark 1 — ingest end to end: spans/s accepted, acknowledgement latency, delay until every
span of a trace is queryable, and server memory; skyglass and Arize Phoenix in the same run with
the same spans.

    .venv/bin/python -m bench.ingest --duration 60 --senders 4

skyglass gets OTLP protobuf at ``/api/public/otel/v1/traces`` when the server has the endpoint
(else the Langfuse batch API); Phoenix gets the identical OTLP payloads at ``/v1/traces``.
Payloads are made before the clock starts, so the client spends its CPU on sending only.
"""

from __future__ import annotations

import argparse
import math
import shutil
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import httpx

from bench.common import RESULTS, Report, fmt, results_path, table
from bench.ingest_load import Target, run_load, summary, wait_for_count
from bench.loadgen import IngestionBatches, OtlpBatches, TraceIds, make_pool
from bench.profiling import profile_markdown, record
from bench.servers import PHOENIX_PROJECT, Monitor, PhoenixServer, Server, SkyglassServer, cpu_seconds

OTLP_PATH = "/api/public/otel/v1/traces"
_worker_batches: OtlpBatches | None = None


def _init_worker(nonce: bytes, base_ns: int, traces_per_batch: int) -> None:
    global _worker_batches
    _worker_batches = OtlpBatches(TraceIds(nonce), make_pool(), traces_per_batch, base_ns=base_ns)


def _make_range(bounds: tuple[int, int]) -> list[bytes]:
    assert _worker_batches is not None
    return [_worker_batches.payload(i) for i in range(*bounds)]


def pregenerate_otlp(batches: OtlpBatches, count: int, processes: int = 2) -> list[bytes]:
    """``count`` OTLP payloads, made in parallel before any server runs."""
    if count <= 8:
        return [batches.payload(i) for i in range(count)]
    step = max(1, math.ceil(count / (processes * 4)))
    ranges = [(lo, min(count, lo + step)) for lo in range(0, count, step)]
    init = (batches.ids.nonce, batches._base_ns, batches.traces_per_batch)
    with ProcessPoolExecutor(processes, initializer=_init_worker, initargs=init) as pool:
        return [payload for chunk in pool.map(_make_range, ranges) for payload in chunk]


def skyglass_has_otlp(server: SkyglassServer) -> bool:
    response = httpx.post(
        server.base_url + OTLP_PATH,
        content=b"",
        auth=server.auth,
        headers={"content-type": "application/x-protobuf"},
        timeout=30,
    )
    return response.status_code != 404


def skyglass_target(server: SkyglassServer, protocol: str, otlp: OtlpBatches, otlp_payloads: list[bytes],
                    json_batches: IngestionBatches) -> Target:  # fmt: skip
    ids = otlp.ids

    def queryable(client: httpx.Client, n: int) -> bool:
        response = client.get(f"{server.base_url}/api/public/traces/{ids.trace_hex(n)}")
        return response.status_code == 200 and len(response.json().get("observations", [])) >= 10

    def count() -> int:
        response = httpx.get(
            f"{server.base_url}/api/public/observations", params={"limit": 1}, auth=server.auth, timeout=60
        )
        return int(response.json()["meta"]["totalItems"])

    if protocol == "otlp":
        return Target("skyglass", "OTLP protobuf+gzip", server.base_url + OTLP_PATH, otlp.headers(),
                      otlp_payloads.__getitem__, otlp.spans_per_batch, otlp.traces_per_batch, queryable,
                      count, server.auth)  # fmt: skip
    return Target("skyglass", "batch JSON", server.base_url + "/api/public/ingestion", json_batches.headers(),
                  json_batches.payload, json_batches.spans_per_batch, json_batches.traces_per_batch,
                  queryable, count, server.auth)  # fmt: skip


def phoenix_target(server: PhoenixServer, otlp: OtlpBatches, otlp_payloads: list[bytes]) -> Target:
    ids = otlp.ids

    def queryable(client: httpx.Client, n: int) -> bool:
        response = client.get(
            f"{server.base_url}/v1/projects/{PHOENIX_PROJECT}/spans",
            params={"trace_id": ids.trace_hex(n), "limit": 100},
        )
        return response.status_code == 200 and len(response.json().get("data", [])) >= 10

    return Target("phoenix", "OTLP protobuf+gzip", server.base_url + "/v1/traces", otlp.headers(),
                  otlp_payloads.__getitem__, otlp.spans_per_batch, otlp.traces_per_batch, queryable,
                  server.db_span_count)  # fmt: skip


def measure(server: Server, target: Target, args: argparse.Namespace, batches: int, report: Report,
            profile_dir: Path | None) -> dict[str, float | int | str]:  # fmt: skip
    """Run the load against one started server; the row of the results table."""
    monitor = Monitor(server.pid).start()
    cpu_before = cpu_seconds(server.pid)
    recording = record(server.pid, args.duration, profile_dir / f"{target.name}.txt") if profile_dir else None
    cpu_sent: list[float] = []
    started = time.monotonic()
    result = run_load(
        target,
        batches=batches,
        duration=args.duration,
        senders=args.senders,
        rate=args.rate,
        drain_timeout=args.drain_timeout,
        on_send_done=lambda: cpu_sent.append(cpu_seconds(server.pid)),
    )
    row: dict[str, float | int | str] = {"server": target.name, "protocol": target.protocol}
    row.update(summary(target, result))
    accepted = int(row["accepted_spans"])
    stored, waited = wait_for_count(target.count_spans, accepted, args.drain_timeout)
    elapsed = time.monotonic() - started
    monitor.stop()
    row["stored_spans"] = stored
    row["all_stored_after_s"] = waited if stored >= accepted else float("nan")
    row["stored_per_s"] = stored / max(1e-9, elapsed)  # first send until all (or the last) stored
    row["peak_rss_mib"] = monitor.peak_rss / 2**20
    row["end_rss_mib"] = monitor.last_rss / 2**20
    row["cpu_ms_per_1k_spans"] = (cpu_sent[0] - cpu_before) * 1e6 / max(1, accepted)
    if recording is not None:
        path = recording.finish()
        if path is not None:
            report.add(f"py-spy profile of {target.name} during the send phase", profile_markdown(path))
    return row


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--duration", type=float, default=60.0, help="seconds of sending per server")
    parser.add_argument("--senders", type=int, default=4, help="concurrent sender threads")
    parser.add_argument("--rate", type=float, default=0.0, help="paced spans/s (0: as fast as acked)")
    parser.add_argument("--max-spans", type=int, default=1_500_000, help="upper bound of spans sent")
    parser.add_argument("--drain-timeout", type=float, default=120.0, help="seconds to wait for queryability")
    parser.add_argument("--peers", default="skyglass,phoenix", help="comma list: skyglass, phoenix")
    parser.add_argument("--skyglass-protocol", choices=("auto", "otlp", "batch"), default="auto")
    parser.add_argument("--profile", action="store_true", help="py-spy the servers during the send phase")
    parser.add_argument("--results", default=str(RESULTS), help="file to append to ('-' prints only)")
    parser.add_argument("--keep-data", action="store_true", help="keep the temporary data folders")
    args = parser.parse_args(argv)
    peers = [p.strip() for p in args.peers.split(",") if p.strip()]

    report = Report("Ingest end to end")
    ids, pool = TraceIds(), make_pool()
    otlp = OtlpBatches(ids, pool)
    json_batches = IngestionBatches(ids, pool)
    otlp_count = math.ceil(args.max_spans / otlp.spans_per_batch)
    t0 = time.monotonic()
    otlp_payloads = pregenerate_otlp(otlp, otlp_count)
    print(f"made {otlp_count} OTLP payloads ({otlp_count * otlp.spans_per_batch:,} spans) "
          f"in {time.monotonic() - t0:.1f} s", flush=True)  # fmt: skip

    root = Path(tempfile.mkdtemp(prefix="skyglass-bench-ingest-"))
    profile_dir = root / "profiles" if args.profile else None
    if profile_dir:
        profile_dir.mkdir(parents=True)
    rows: list[dict[str, float | int | str]] = []
    try:
        for peer in peers:
            server: Server
            if peer == "skyglass":
                server = SkyglassServer("skyglass", root / "skyglass").start()
                protocol = args.skyglass_protocol
                if protocol == "auto":
                    protocol = "otlp" if skyglass_has_otlp(server) else "batch"
                target = skyglass_target(server, protocol, otlp, otlp_payloads, json_batches)
                batches = (
                    otlp_count
                    if protocol == "otlp"
                    else math.ceil(args.max_spans / json_batches.spans_per_batch)
                )
            elif peer == "phoenix":
                server = PhoenixServer("phoenix", root / "phoenix").start()
                target, batches = phoenix_target(server, otlp, otlp_payloads), otlp_count
            else:
                raise SystemExit(f"unknown peer {peer!r}")
            print(
                f"{peer}: ready after {server.ready_after:.1f} s; sending {target.protocol} ...", flush=True
            )
            try:
                rows.append(measure(server, target, args, batches, report, profile_dir))
            finally:
                server.stop()
    finally:
        if not args.keep_data:
            shutil.rmtree(root, ignore_errors=True)

    _report(report, rows, args)
    report.save(results_path(args.results))
    return 0


def _report(report: Report, rows: list[dict[str, float | int | str]], args: argparse.Namespace) -> None:
    headers = ["server", "protocol", "spans/s accepted", "ack p50 ms", "ack p99 ms", "queryable p50 s",
               "queryable p99 s", "samples (unresolved)", "all stored after s", "stored spans/s",
               "peak RSS MiB", "CPU ms / 1k spans"]  # fmt: skip
    body = [
        [r["server"], r["protocol"], r["spans_per_s"], r["ack_p50_ms"], r["ack_p99_ms"], r["queryable_p50_s"],
         r["queryable_p99_s"], f"{r['samples']} ({r['unresolved']})", r["all_stored_after_s"],
         r["stored_per_s"], r["peak_rss_mib"], r["cpu_ms_per_1k_spans"]]
        for r in rows
    ]  # fmt: skip
    text = table(headers, body)
    details = table(
        ["server", "accepted spans", "stored spans", "requests", "rejected (429/503)", "errors", "ack max ms"],
        [[r["server"], r["accepted_spans"], r["stored_spans"], r["requests"], r["rejected"], r["errors"],
          r["ack_max_ms"]] for r in rows],
    )  # fmt: skip
    load = (f"{args.duration:.0f} s of sending per server, {args.senders} senders, "
            f"{'open loop at ' + fmt(args.rate, 0) + ' spans/s' if args.rate else 'closed loop'}; "
            f"agent traces of 10 spans (~2.7 KB/span, 3.6x gzip); drain timeout {args.drain_timeout:.0f} s.")  # fmt: skip
    by_name = {r["server"]: r for r in rows}
    if "skyglass" in by_name and "phoenix" in by_name:
        sky, phx = by_name["skyglass"], by_name["phoenix"]
        load += (f"\n\nskyglass / Phoenix: accepted spans/s x{float(sky['spans_per_s']) / float(phx['spans_per_s']):.2f}, "
                 f"stored spans/s x{float(sky['stored_per_s']) / max(1e-9, float(phx['stored_per_s'])):.2f}.")  # fmt: skip
    report.add("", load)
    report.add("Results", text)
    report.add("Details", details)


if __name__ == "__main__":
    raise SystemExit(main())
