"""Benchmark 2 — query latency at 100k traces / 1M observations, through the public API.

    .venv/bin/python -m bench.query --traces 100000

The data set is written straight through the analytics writer (``bench/dataset.py``), then
``skyglass serve`` is started on it and every query is sent over HTTP one at a time (after a
warm-up), so a number is what a client sees. The daily cost-by-model aggregation has no public
endpoint yet (``GET /api/public/metrics/daily``); its SQL is timed directly on the store, and the
endpoint is timed too if the server answers it.
"""

from __future__ import annotations

import argparse
import dataclasses
import random
import shutil
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx

from bench import dataset
from bench.common import RESULTS, Report, percentile, results_path, table
from bench.servers import SkyglassServer

DAILY_COST_SQL = (
    "SELECT toDate(start_time) AS day, provided_model_name AS model, count() AS observations, "
    "sum(usage_details['input']) AS input_tokens, sum(usage_details['output']) AS output_tokens, "
    "toFloat64(sum(coalesce(total_cost, 0))) AS cost "
    "FROM observations FINAL WHERE project_id = {project_id:String} AND is_deleted = 0 "
    "AND type = 'GENERATION' AND start_time >= {since:DateTime64(3)} "
    "GROUP BY day, model ORDER BY day, model"
)


def layout_experiment(ex: Any, shape: dataset.DatasetShape, tries: int = 30) -> str:
    """Time a trace's observations (the read behind trace-by-id) on the table as migrated and on a
    copy in the layout before migration 0002 (sorted by id, default 10 MiB granules, read by a
    bloom-filter match then FINAL by id); the copy is dropped after."""
    from skyglass.adapters.analytics.reads.lookups import rows_of_traces
    from skyglass.adapters.analytics.reads.observations import OBSERVATION_ALL_COLUMNS
    from skyglass.adapters.analytics.reads.params import SqlParams

    def current(ids: list[str]) -> tuple[str, dict[str, Any]]:
        params = SqlParams(shape.project_id)
        sql = f"SELECT {OBSERVATION_ALL_COLUMNS} FROM {rows_of_traces(ids, params)} ORDER BY start_time, id"
        return sql, params.values

    def before(ids: list[str]) -> tuple[str, dict[str, Any]]:
        sql = (
            f"SELECT {OBSERVATION_ALL_COLUMNS} FROM bench_obs_by_id FINAL WHERE project_id = {{p:String}} "
            "AND id IN (SELECT id FROM bench_obs_by_id WHERE project_id = {p:String} AND trace_id IN {ids:Array(String)}) "
            "AND trace_id IN {ids:Array(String)} AND is_deleted = 0 ORDER BY start_time, id"
        )
        return sql, {"p": shape.project_id, "ids": ids}

    ex.command("DROP TABLE IF EXISTS bench_obs_by_id")
    ex.command("CREATE TABLE bench_obs_by_id AS observations ENGINE = ReplacingMergeTree(row_version, is_deleted) "
               "ORDER BY (project_id, id) SETTINGS index_granularity_bytes = 10485760")  # fmt: skip
    ex.command("INSERT INTO bench_obs_by_id SELECT * FROM observations")
    variants = [
        ("sorted by (project_id, trace_id, id), 256 KiB granules, key in PREWHERE (as migrated)",
         "observations", current),
        ("sorted by (project_id, id), 10 MiB granules, bloom match then FINAL by id (before 0002)",
         "bench_obs_by_id", before),
    ]  # fmt: skip
    rng = random.Random(9)
    rows = []
    for label, name, make in variants:
        timings = []
        for _ in range(tries):
            sql, params = make([shape.trace_id(rng.randrange(shape.traces))])
            t = time.perf_counter()
            ex.query(sql, params)
            timings.append((time.perf_counter() - t) * 1000)
        parts = ex.query(
            "SELECT sum(marks) AS marks, sum(data_compressed_bytes) AS bytes, count() AS parts "
            "FROM system.parts WHERE active AND table = {t:String}",
            {"t": name},
        )[0]
        rows.append([label, int(parts["parts"]), int(parts["marks"]), int(parts["bytes"]) / 2**20,
                     percentile(timings, 50), percentile(timings, 99)])  # fmt: skip
    ex.command("DROP TABLE bench_obs_by_id")
    return table(["observations table", "parts", "marks", "compressed MiB", "p50 ms", "p99 ms"], rows)


def _du(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def load_dataset(
    data_dir: Path, shape: dataset.DatasetShape, report: Report, layout: bool = False
) -> dict[str, Any]:
    """Write the data set, then time the daily cost SQL in process (chDB: one process per folder)."""
    from skyglass.bootstrap import Runtime
    from skyglass.settings import Settings

    runtime = Runtime(Settings(data_dir=data_dir))
    store: Any = runtime.analytics  # the ClickHouse store: its executor runs the SQL directly
    try:
        seconds = dataset.load(store, shape)
        counts = {
            table_name: int(store.executor.query(f"SELECT count() AS n FROM {table_name}")[0]["n"])
            for table_name in ("traces", "observations", "scores")
        }
        params = {"project_id": shape.project_id, "since": shape.start}
        store.executor.query(DAILY_COST_SQL, params)  # warm-up
        timings = []
        for _ in range(20):
            t = time.perf_counter()
            rows = store.executor.query(DAILY_COST_SQL, params)
            timings.append((time.perf_counter() - t) * 1000)
        if layout:
            report.add(
                "Experiment: the observations of one trace (SQL in process) by table layout",
                layout_experiment(store.executor, shape),
            )
    finally:
        runtime.close()
    report.add(
        "Data set",
        table(
            ["traces", "observations", "scores", "load seconds", "rows/s", "chDB folder MiB"],
            [[counts["traces"], counts["observations"], counts["scores"], seconds,
              sum(counts.values()) / seconds, _du(data_dir / "chdb") / 2**20]],
        ),
    )  # fmt: skip
    return {"daily_sql_ms": timings, "daily_rows": len(rows), "counts": counts}


def _timed(client: httpx.Client, requests: int, limit_s: float, call: Callable[[int], httpx.Response],
           check: Callable[[httpx.Response], bool]) -> tuple[list[float], int]:  # fmt: skip
    for i in range(3):  # warm-up: first reads load marks and indexes
        call(-1 - i)
    timings: list[float] = []
    bad = 0
    deadline = time.monotonic() + limit_s
    for i in range(requests):
        if time.monotonic() > deadline:
            break
        t = time.perf_counter()
        response = call(i)
        timings.append((time.perf_counter() - t) * 1000)
        bad += 0 if response.status_code == 200 and check(response) else 1
    return timings, bad


def run_queries(
    server: SkyglassServer, shape: dataset.DatasetShape, requests: int, limit_s: float
) -> list[list[Any]]:
    rng = random.Random(5)
    base = server.base_url + "/api/public"
    week = shape.end - (shape.end - shape.start) / 4
    rows: list[list[Any]] = []
    with httpx.Client(auth=server.auth, timeout=120) as client:

        def trace_by_id(i: int) -> httpx.Response:
            return client.get(f"{base}/traces/{shape.trace_id(rng.randrange(shape.traces))}")

        def trace_list(i: int) -> httpx.Response:
            params: dict[str, Any] = {"userId": f"user-{rng.randint(1, 500)}", "tags": "prod",
                      "fromTimestamp": week.isoformat().replace("+00:00", "Z"),
                      "toTimestamp": shape.end.isoformat().replace("+00:00", "Z"), "limit": 50}  # fmt: skip
            return client.get(f"{base}/traces", params=params)

        def sessions(i: int) -> httpx.Response:
            return client.get(f"{base}/sessions", params={"limit": 50, "page": 1 + rng.randrange(5)})

        cursor: dict[str, str | None] = {"next": None}

        def v2_page(i: int) -> httpx.Response:
            params: dict[str, Any] = {"limit": 50}
            if cursor["next"]:
                params["cursor"] = cursor["next"]
            response = client.get(f"{base}/v2/observations", params=params)
            cursor["next"] = (
                response.json().get("meta", {}).get("cursor") if response.status_code == 200 else None
            )
            return response

        def daily(i: int) -> httpx.Response:
            return client.get(f"{base}/metrics/daily", params={"limit": 50})

        cases: list[tuple[str, Callable[[int], httpx.Response], Callable[[httpx.Response], bool]]] = [
            (
                "trace by id (observations + scores)",
                trace_by_id,
                lambda r: len(r.json()["observations"]) == 10,
            ),
            ("trace list: user + tag + 7-day window", trace_list, lambda r: "data" in r.json()),
            ("sessions list (page of 50)", sessions, lambda r: "data" in r.json()),
            ("v2 observations page, following the cursor", v2_page, lambda r: len(r.json()["data"]) == 50),
        ]
        probe = client.get(f"{base}/metrics/daily")
        if probe.status_code != 404:
            cases.append(("GET /metrics/daily", daily, lambda r: "data" in r.json()))
        for name, call, check in cases:
            timings, bad = _timed(client, requests, limit_s, call, check)
            rows.append(
                [name, len(timings), percentile(timings, 50), percentile(timings, 99), max(timings), bad]
            )
            print(
                f"  {name}: p50 {percentile(timings, 50):.1f} ms, p99 {percentile(timings, 99):.1f} ms",
                flush=True,
            )
    return rows


def project_of(server: SkyglassServer) -> str:
    response = httpx.get(server.base_url + "/api/public/projects", auth=server.auth, timeout=30)
    response.raise_for_status()
    return str(response.json()["data"][0]["id"])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--traces", type=int, default=100_000, help="traces to load (10 observations each)")
    parser.add_argument("--requests", type=int, default=200, help="requests per query")
    parser.add_argument("--time-limit", type=float, default=120.0, help="seconds per query at most")
    parser.add_argument("--results", default=str(RESULTS), help="file to append to ('-' prints only)")
    parser.add_argument("--keep-data", action="store_true")
    parser.add_argument(
        "--layout", action="store_true", help="also time trace reads on a copy in the layout before 0002"
    )
    args = parser.parse_args(argv)
    report = Report("Query latency")
    root = Path(tempfile.mkdtemp(prefix="skyglass-bench-query-"))
    shape = dataset.DatasetShape(traces=args.traces, end=dataset.now_utc())
    try:
        server = SkyglassServer("skyglass", root).start()
        try:
            project_id = project_of(server)
        finally:
            server.stop()
        print(f"loading {args.traces:,} traces ...", flush=True)
        shape = dataclasses.replace(shape, project_id=project_id)
        loaded = load_dataset(root, shape, report, args.layout)
        server = SkyglassServer("skyglass", root, public_key=server.public_key, secret_key=server.secret_key)
        server.start()
        try:
            rows = run_queries(server, shape, args.requests, args.time_limit)
        finally:
            server.stop()
    finally:
        if not args.keep_data:
            shutil.rmtree(root, ignore_errors=True)
    sql = loaded["daily_sql_ms"]
    rows.append(["daily cost by model, 30 days (SQL on the store, no endpoint yet)", len(sql),
                 percentile(sql, 50), percentile(sql, 99), max(sql), 0 if loaded["daily_rows"] else 1])  # fmt: skip
    report.add(
        "",
        "One request at a time over HTTP (keep-alive) against `skyglass serve`, after 3 warm-up requests; "
        "random trace ids and users; latency is what the client measured.",
    )
    report.add(
        "Latency (ms)", table(["query", "requests", "p50 ms", "p99 ms", "max ms", "bad answers"], rows)
    )
    report.save(results_path(args.results))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
