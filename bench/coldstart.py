"""Benchmark 3 — cold start: import time and package size of each Lambda handler, and how soon a
fresh ``skyglass serve`` answers its first requests.

    .venv/bin/python -m bench.coldstart

A handler is ``functions/<name>/handler.py`` where it exists; otherwise the modules that handler
would import are measured instead (named in the table). Import time is measured in a fresh
interpreter (``python -X importtime``), the median of several runs, excluding interpreter start-up
(shown separately). Package size is the installed size of every top-level package the import
loads — the least a Lambda deployment of that handler has to ship; layer size is what it does ship:
the dependency layer ``make layers`` built for it (the lean ``ingest`` one or the ``full`` one, as
``functions/manifest.py`` says), when it is built.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import httpx

from bench.common import REPO, RESULTS, Report, results_path, table
from bench.servers import SkyglassServer
from functions.manifest import FUNCTIONS

# Where `make layers` builds each kind of dependency layer (the Makefile's LAYER_DIR, INGEST_LAYER_DIR).
LAYER_DIRS = {"full": REPO / "build" / "layers" / "deps", "ingest": REPO / "build" / "layers" / "ingest"}

# What each function's handler imports when the handler file does not exist (yet).
FALLBACK_MODULES: dict[str, list[str]] = {
    "ingest": ["skyglass.api.app", "skyglass.api.ingestion", "skyglass.api.scores", "skyglass.api.otel",
               "skyglass.ingestion.batch", "skyglass.bootstrap"],
    "api": ["skyglass.api.app", "skyglass.api.routes", "skyglass.bootstrap",
            "skyglass.adapters.analytics.clickhouse_executor"],
    "worker": ["skyglass.processing.worker", "skyglass.adapters.analytics.store",
               "skyglass.adapters.analytics.clickhouse_executor", "skyglass.bootstrap"],
}  # fmt: skip

_PROBE = """
import importlib, importlib.util, json, sys, time
names = sys.argv[1:]
start = time.perf_counter()
for name in names:
    if importlib.util.find_spec(name) is not None:
        importlib.import_module(name)
    if name == "skyglass.api.routes":
        importlib.import_module(name).all_routers()
elapsed = time.perf_counter() - start
files = sorted({m.__file__ for m in list(sys.modules.values()) if getattr(m, "__file__", None)})
print(json.dumps({"seconds": elapsed, "files": files, "modules": len(sys.modules)}))
"""


def handler_modules(name: str) -> tuple[list[str], str]:
    """``(modules, what)`` for function ``name``: its handler, or the fallback list."""
    if (REPO / "functions" / name / "handler.py").exists():
        return [f"functions.{name}.handler"], f"`functions/{name}/handler.py`"
    return FALLBACK_MODULES[name], "modules it would import (no handler yet): " + ", ".join(
        f"`{m}`" for m in FALLBACK_MODULES[name]
    )


def deployed_env(name: str) -> dict[str, str]:
    """The variables the stacks give function ``name`` that change what it imports: ingest runs
    without Powertools' Tracer unless ``skyglass:ingest_tracer`` (see ``stacks/api_stack.py``)."""
    from stacks.config import SkyglassConfig

    if name == "ingest" and not SkyglassConfig().ingest_tracer:
        return {"POWERTOOLS_TRACE_DISABLED": "true"}
    return {}


def _probe(modules: list[str], extra_env: dict[str, str]) -> dict[str, object]:
    import json

    env = {**os.environ, "PYTHONPATH": str(REPO), **extra_env}
    out = subprocess.run(
        [sys.executable, "-c", _PROBE, *modules],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    return dict(json.loads(out.stdout.strip().splitlines()[-1]))


def _importtime_top(modules: list[str], extra_env: dict[str, str], top: int = 5) -> str:
    """Heaviest third-party packages (cumulative ms) and skyglass modules (self ms), from
    ``python -X importtime``."""
    env = {**os.environ, "PYTHONPATH": str(REPO), **extra_env}
    code = "; ".join(f"import {m}" for m in modules if _exists(m))
    err = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", code], cwd=REPO, env=env, capture_output=True, text=True
    ).stderr
    packages: dict[str, float] = {}
    own: dict[str, float] = {}
    for line in err.splitlines():
        parts = line[len("import time:") :].split("|") if line.startswith("import time:") else []
        if len(parts) != 3 or not parts[1].strip().isdigit():
            continue
        self_us, cumulative_us, name = int(parts[0]), int(parts[1]), parts[2].strip()
        if name.startswith(("skyglass", "functions")):
            own[name] = self_us / 1000
        elif "." not in name and not name.startswith("_"):
            packages[name] = max(packages.get(name, 0.0), cumulative_us / 1000)
    heavy = sorted(packages.items(), key=lambda kv: -kv[1])[:top]
    mine = sorted(own.items(), key=lambda kv: -kv[1])[:3]
    return "; ".join(
        [
            ", ".join(f"{n} {ms:.0f}" for n, ms in heavy),
            "self: " + ", ".join(f"{n} {ms:.0f}" for n, ms in mine),
        ]
    )


def _exists(module: str) -> bool:
    import importlib.util

    try:
        return importlib.util.find_spec(module) is not None
    except ModuleNotFoundError:
        return False


def _package_dirs(files: list[str]) -> set[Path]:
    """Top-level package folders (or single-module files) the loaded files belong to."""
    roots = [Path(p) for p in sys.path if p and Path(p).is_dir()] + [REPO / "layers/core/python", REPO]
    roots = sorted(set(roots), key=lambda p: -len(p.parts))
    out: set[Path] = set()
    for file in files:
        path = Path(file)
        for root in roots:
            try:
                rel = path.relative_to(root)
            except ValueError:
                continue
            if "site-packages" in root.parts or root in (REPO / "layers/core/python", REPO):
                out.add(root / rel.parts[0])
            break
    return out


def _size(path: Path) -> int:
    if path.is_file():
        return path.stat().st_size
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file() and "__pycache__" not in p.parts)


def layer_mib(name: str) -> float | str:
    """MiB of the dependency layer function ``name`` ships, or "-" when ``make layers`` has not run."""
    folder = LAYER_DIRS[str(FUNCTIONS[name].get("layer", "full"))] / "python"
    return _size(folder) / 2**20 if folder.is_dir() else "-"


def measure_imports(repeats: int) -> list[list[object]]:
    baseline = statistics.median(_timed_run([sys.executable, "-c", "pass"]) for _ in range(repeats))
    rows: list[list[object]] = [
        ["(interpreter start-up, `python -c pass`)", "-", baseline * 1000, "-", "-", "-", "-"]
    ]
    for name in ("ingest", "api", "worker"):
        modules, what = handler_modules(name)
        env = deployed_env(name)
        _probe(modules, env)  # compile .pyc once
        runs = [_probe(modules, env) for _ in range(repeats)]
        seconds = statistics.median(float(r["seconds"]) for r in runs)  # type: ignore[arg-type]
        files = list(runs[0]["files"])  # type: ignore[call-overload]
        packages = _package_dirs(files)
        size = sum(_size(p) for p in packages)
        heavy = _importtime_top(modules, env)
        rows.append(
            [
                f"{name}: {what}"
                + (" with " + ", ".join(f"`{k}={v}`" for k, v in env.items()) if env else ""),
                runs[0]["modules"],
                seconds * 1000,
                size / 2**20,
                layer_mib(name),
                len(packages),
                heavy,
            ]
        )
    return rows


def _timed_run(cmd: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run(cmd, check=True, capture_output=True)
    return time.perf_counter() - start


def first_requests(data_dir: Path) -> list[float]:
    """Seconds from spawn to: healthy, first trace list, first ingestion ack, first trace readable."""
    server = SkyglassServer("skyglass", data_dir)
    spawn = time.monotonic()
    server.start()
    out = [server.ready_after]
    try:
        with httpx.Client(auth=server.auth, timeout=60) as client:
            client.get(server.base_url + "/api/public/traces", params={"limit": 1}).raise_for_status()
            out.append(time.monotonic() - spawn)
            trace_id = uuid.uuid4().hex
            batch = {"batch": [{"id": uuid.uuid4().hex, "type": "trace-create", "timestamp": "2026-01-01T00:00:00Z",
                                "body": {"id": trace_id, "name": "cold"}}]}  # fmt: skip
            client.post(server.base_url + "/api/public/ingestion", json=batch).raise_for_status()
            out.append(time.monotonic() - spawn)
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline:
                if client.get(f"{server.base_url}/api/public/traces/{trace_id}").status_code == 200:
                    break
                time.sleep(0.01)
            out.append(time.monotonic() - spawn)
    finally:
        server.stop()
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--repeats", type=int, default=5, help="runs per import measurement")
    parser.add_argument("--serve-repeats", type=int, default=3, help="fresh `skyglass serve` starts")
    parser.add_argument("--results", default=str(RESULTS), help="file to append to ('-' prints only)")
    args = parser.parse_args(argv)
    report = Report("Cold start")
    rows = measure_imports(args.repeats)
    report.add(
        "Handler imports (fresh interpreter, median)",
        table(["function", "modules loaded", "import ms", "package MiB", "layer MiB", "top-level packages",
               "heaviest: packages (cumulative ms); self: our modules (ms)"], rows),
    )  # fmt: skip
    root = Path(tempfile.mkdtemp(prefix="skyglass-bench-cold-"))
    serve_rows = []
    try:
        for i in range(args.serve_repeats):
            serve_rows.append([f"fresh data folder #{i + 1}", *first_requests(root / f"fresh-{i}")])
        serve_rows.append(["restart on the same folder", *first_requests(root / "fresh-0")])
    finally:
        shutil.rmtree(root, ignore_errors=True)
    report.add(
        "`skyglass serve`: seconds from spawn until",
        table(["start", "health 200", "first trace list", "first ingestion ack", "that trace readable"],
              serve_rows),
    )  # fmt: skip
    report.save(results_path(args.results))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
