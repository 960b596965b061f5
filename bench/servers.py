"""Servers under test: ``skyglass serve`` and Arize Phoenix, each on 127.0.0.1, a free port and a
temporary data folder; plus a monitor that samples a process tree's memory and CPU time.

Phoenix is installed on first use into its own virtualenv (``bench/.venv-phoenix``) from PyPI with
the ordinary ``pip``; nothing of it enters the project's environment.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

import httpx

from bench.common import REPO

PHOENIX_VENV = REPO / "bench" / ".venv-phoenix"
PHOENIX_PACKAGE = "arize-phoenix==20.26.1"
PHOENIX_PROJECT = "skyglass-bench"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _children(pid: int) -> list[int]:
    out: list[int] = []
    try:
        for task in Path(f"/proc/{pid}/task").iterdir():
            text = (task / "children").read_text().split()
            out.extend(int(child) for child in text)
    except OSError:
        pass
    return out


def process_tree(pid: int) -> list[int]:
    """``pid`` and all its descendants (Linux ``/proc``)."""
    seen, todo = [], [pid]
    while todo:
        current = todo.pop()
        seen.append(current)
        todo.extend(_children(current))
    return seen


def rss_bytes(pid: int) -> int:
    """Resident memory of ``pid`` and its descendants, in bytes."""
    total = 0
    for member in process_tree(pid):
        try:
            for line in Path(f"/proc/{member}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1]) * 1024
        except OSError:
            continue
    return total


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of ``pid`` and its live descendants."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0.0
    for member in process_tree(pid):
        try:
            fields = Path(f"/proc/{member}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += (int(fields[11]) + int(fields[12])) / ticks
    return total


@dataclass
class Monitor:
    """Samples a process tree's RSS every ``interval`` seconds while running."""

    pid: int
    interval: float = 0.5
    peak_rss: int = 0
    last_rss: int = 0
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def start(self) -> Monitor:
        self._thread = threading.Thread(target=self._run, name="rss-monitor", daemon=True)
        self._thread.start()
        return self

    def _run(self) -> None:
        while not self._stop.is_set():
            self.sample()
            self._stop.wait(self.interval)

    def sample(self) -> int:
        self.last_rss = rss_bytes(self.pid)
        self.peak_rss = max(self.peak_rss, self.last_rss)
        return self.last_rss

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self.sample()


@dataclass
class Server:
    """A server subprocess with its log, health URL and a clean SIGTERM stop."""

    name: str
    data_dir: Path
    port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None
    started_at: float = 0.0
    ready_after: float = 0.0
    _log: IO[bytes] | None = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    def _spawn(self, cmd: list[str], env: dict[str, str], health_path: str, timeout: float) -> None:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self._log = (self.data_dir / f"{self.name}.log").open("wb")
        self.started_at = time.monotonic()
        self.process = subprocess.Popen(cmd, env=env, stdout=self._log, stderr=subprocess.STDOUT)
        deadline = self.started_at + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"{self.name} exited early:\n{self.logs()[-4000:]}")
            try:
                if httpx.get(self.base_url + health_path, timeout=1).status_code == 200:
                    self.ready_after = time.monotonic() - self.started_at
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"{self.name} did not become healthy in {timeout} s:\n{self.logs()[-4000:]}")

    def logs(self) -> str:
        path = self.data_dir / f"{self.name}.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def stop(self, timeout: float = 60.0) -> int | None:
        if self.process is None:
            return None
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
        if self._log is not None:
            self._log.close()
        return self.process.returncode


@dataclass
class SkyglassServer(Server):
    """``skyglass serve`` with a headless-initialised project and key pair."""

    public_key: str = field(default_factory=lambda: f"pk-sg-{uuid.uuid4()}")
    secret_key: str = field(default_factory=lambda: f"sk-sg-{uuid.uuid4()}")
    extra_env: dict[str, str] = field(default_factory=dict)

    @property
    def auth(self) -> tuple[str, str]:
        return (self.public_key, self.secret_key)

    def start(self, timeout: float = 120.0) -> SkyglassServer:
        env = {
            **os.environ,
            "SKYGLASS_INIT_ORG_NAME": "bench",
            "SKYGLASS_INIT_PROJECT_NAME": "bench",
            "SKYGLASS_INIT_PUBLIC_KEY": self.public_key,
            "SKYGLASS_INIT_SECRET_KEY": self.secret_key,
            "SKYGLASS_LOG_LEVEL": "WARNING",
            **self.extra_env,
        }
        cmd = [sys.executable, "-m", "skyglass.local.cli", "serve", "--port", str(self.port)]
        cmd += ["--data-dir", str(self.data_dir)]
        self._spawn(cmd, env, "/api/public/health", timeout)
        return self


def ensure_phoenix(venv: Path = PHOENIX_VENV) -> Path:
    """The ``phoenix`` executable, installing Phoenix into ``venv`` from PyPI if needed."""
    exe = venv / "bin" / "phoenix"
    if exe.exists():
        return exe
    print(f"installing {PHOENIX_PACKAGE} into {venv} (about a minute) ...", flush=True)
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    pip = [str(venv / "bin" / "python"), "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
    subprocess.run([*pip, PHOENIX_PACKAGE], check=True)
    return exe


@dataclass
class PhoenixServer(Server):
    """``phoenix serve`` on SQLite; OTLP/HTTP at ``/v1/traces``, REST at ``/v1/projects/...``."""

    grpc_port: int = field(default_factory=free_port)

    def start(self, timeout: float = 180.0) -> PhoenixServer:
        exe = ensure_phoenix()
        env = {
            **os.environ,
            "PHOENIX_WORKING_DIR": str(self.data_dir),
            "PHOENIX_HOST": "127.0.0.1",
            "PHOENIX_PORT": str(self.port),
            "PHOENIX_GRPC_PORT": str(self.grpc_port),
            "PHOENIX_TELEMETRY_ENABLED": "false",
        }
        self._spawn([str(exe), "serve"], env, "/healthz", timeout)
        return self

    def db_span_count(self) -> int:
        """Spans persisted in ``phoenix.db`` (read-only; WAL lets us read while it writes)."""
        import sqlite3

        uri = f"file:{self.data_dir / 'phoenix.db'}?mode=ro"
        with sqlite3.connect(uri, uri=True, timeout=30) as conn:
            return int(conn.execute("SELECT count(*) FROM spans").fetchone()[0])
