"""The server as a user meets it: first start, keys, restart, signals, kill -9, replay."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx

from tests.support.server import LiveServer, free_port, wait_until

TS = "2026-01-01T10:00:00.000Z"


def _batch(trace_ids: list[str]) -> dict:
    return {
        "batch": [
            {
                "id": f"evt-{tid}",
                "type": "trace-create",
                "timestamp": TS,
                "body": {"id": tid, "name": "lifecycle", "userId": "u1"},
            }
            for tid in trace_ids
        ]
    }


def _trace_exists(server: LiveServer, trace_id: str) -> bool:
    reply = httpx.get(f"{server.base_url}/api/public/traces/{trace_id}", auth=server.auth, timeout=5)
    return reply.status_code == 200


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SKYGLASS_INIT_")}
    return subprocess.run(
        [sys.executable, "-m", "skyglass.local.cli", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )


def test_first_start_creates_and_prints_a_key_pair_and_later_starts_do_not(tmp_path: Path):
    # Given a fresh data folder and no headless-init variables
    data = tmp_path / "data"
    env = {k: v for k, v in os.environ.items() if not k.startswith("SKYGLASS_INIT_")}
    port = free_port()
    cmd = [sys.executable, "-m", "skyglass.local.cli", "serve", "--port", str(port), "--data-dir", str(data)]

    def run_once() -> str:
        proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        try:
            wait_until(lambda: _healthy(port), timeout=60)
        finally:
            proc.send_signal(signal.SIGTERM)
            out, _ = proc.communicate(timeout=30)
        assert proc.returncode == 0, out
        return out

    # When it starts the first time
    first = run_once()
    # Then it prints a new pair, usable as Langfuse credentials
    assert "LANGFUSE_PUBLIC_KEY=pk-sg-" in first and "LANGFUSE_SECRET_KEY=sk-sg-" in first
    # When it starts again
    second = run_once()
    # Then it prints the public key and how to make a new pair, but no secret
    assert "sk-sg-" not in second
    public = first.split("LANGFUSE_PUBLIC_KEY=")[1].split()[0]
    assert public in second
    assert "skyglass keys create --project" in second


def _healthy(port: int) -> bool:
    try:
        return httpx.get(f"http://127.0.0.1:{port}/api/public/health", timeout=1).status_code == 200
    except httpx.HTTPError:
        return False


def test_keys_created_while_running_work_immediately_and_sigterm_exits_cleanly(tmp_path: Path):
    # Given a running server
    server = LiveServer(data_dir=tmp_path / "data").start()
    try:
        # When a second process creates a key pair for a new project in the same data folder
        result = _cli("keys", "create", "--project", "second", "--data-dir", str(server.data_dir))
        assert result.returncode == 0, result.stderr
        values = dict(
            line.split("=", 1) for line in result.stdout.splitlines() if line.startswith("LANGFUSE_")
        )
        auth = (values["LANGFUSE_PUBLIC_KEY"], values["LANGFUSE_SECRET_KEY"])
        # Then the running server accepts it, scoped to the new project
        reply = httpx.get(f"{server.base_url}/api/public/projects", auth=auth, timeout=5)
        assert reply.status_code == 200
        assert reply.json()["data"][0]["name"] == "second"
    finally:
        # When it receives SIGTERM
        started = time.monotonic()
        code = server.stop(signal.SIGTERM)
    # Then it exits 0 within seconds
    assert code == 0, server.logs()
    assert time.monotonic() - started < 20


def test_nothing_acknowledged_is_lost_after_kill_9(tmp_path: Path):
    # Given a running server that acknowledged a batch
    server = LiveServer(data_dir=tmp_path / "data").start()
    trace_ids = [f"kill9-{i}" for i in range(200)]
    reply = httpx.post(f"{server.base_url}/api/public/ingestion", json=_batch(trace_ids), auth=server.auth)
    assert reply.status_code == 207 and len(reply.json()["successes"]) == 200
    # When the process is killed without warning right after the acknowledgement
    server.kill()
    # Then after a restart on the same folder every acknowledged trace becomes queryable
    restarted = LiveServer(
        data_dir=server.data_dir, public_key=server.public_key, secret_key=server.secret_key
    ).start()
    try:
        # A message the killed worker had received is hidden for the 60 s visibility timeout
        # unless the start reclaims it; this bound is well below that (and generous otherwise).
        wait_until(
            lambda: all(_trace_exists(restarted, t) for t in (trace_ids[0], trace_ids[-1])), timeout=30
        )
        listing = httpx.get(
            f"{restarted.base_url}/api/public/traces", params={"limit": 1}, auth=restarted.auth, timeout=5
        ).json()
        assert listing["meta"]["totalItems"] == 200
    finally:
        assert restarted.stop() == 0


def test_replay_while_running_changes_nothing(tmp_path: Path):
    # Given a server that has processed a batch
    server = LiveServer(data_dir=tmp_path / "data").start()
    try:
        trace_ids = [f"replay-{i}" for i in range(20)]
        httpx.post(f"{server.base_url}/api/public/ingestion", json=_batch(trace_ids), auth=server.auth)
        wait_until(lambda: _trace_exists(server, trace_ids[-1]))
        before = httpx.get(f"{server.base_url}/api/public/traces/{trace_ids[0]}", auth=server.auth).json()
        # When every blob is replayed through the queue
        result = _cli("replay", "--since", "2000-01-01T00:00:00Z", "--data-dir", str(server.data_dir))
        assert result.returncode == 0, result.stderr
        assert "re-enqueued 1 blobs" in result.stdout
        # Then once the queue is drained the data is exactly the same
        wait_until(lambda: _queue_empty(server))
        after = httpx.get(f"{server.base_url}/api/public/traces/{trace_ids[0]}", auth=server.auth).json()
        assert after == before
        total = httpx.get(f"{server.base_url}/api/public/traces", auth=server.auth).json()["meta"][
            "totalItems"
        ]
        assert total == 20
    finally:
        assert server.stop() == 0


def _queue_depth(server: LiveServer) -> int:
    """Messages waiting or in flight in the server's queue file, read from this process."""
    from skyglass.adapters.queue.local import LocalQueue

    with LocalQueue(server.data_dir / "queue.db") as queue:
        return queue.depth()


def _queue_empty(server: LiveServer) -> bool:
    return _queue_depth(server) == 0


def _generations(trace_ids: list[str]) -> dict:
    """Each trace with a gpt-4o generation whose usage the worker must count from its text."""
    text = "The quick brown fox jumps over the lazy dog. " * 20
    events: list[dict] = _batch(trace_ids)["batch"]
    for tid in trace_ids:
        body = {"id": f"gen-{tid}", "traceId": tid, "model": "gpt-4o", "input": text, "output": text}
        events.append({"id": f"evt-gen-{tid}", "type": "generation-create", "timestamp": TS, "body": body})
    return {"batch": events}


def test_sigterm_with_queued_work_drains_it_exits_0_and_a_restart_reads_everything(tmp_path: Path):
    # Given a server that acknowledged requests whose processing takes a while (token counting)
    server = LiveServer(data_dir=tmp_path / "data", extra_env={"SKYGLASS_WORKER_BATCH_MESSAGES": "1"}).start()
    acknowledged: list[str] = []
    try:
        for request in range(3):
            trace_ids = [f"drain-{request}-{i}" for i in range(400)]
            reply = httpx.post(
                f"{server.base_url}/api/public/ingestion",
                json=_generations(trace_ids),
                auth=server.auth,
                timeout=30,
            )
            assert reply.status_code == 207 and len(reply.json()["successes"]) == 800
            acknowledged += trace_ids
        assert _queue_depth(server) > 0, "the worker kept up; the queue never held work"
    finally:
        # When it receives SIGTERM while the queue holds that work
        code = server.stop(signal.SIGTERM, timeout=30)  # a safety bound, not a performance check
    # Then it exits 0 having drained the queue
    assert code == 0, server.logs()
    assert _queue_empty(server), server.logs()
    # And after a restart every acknowledged trace is readable
    restarted = LiveServer(
        data_dir=server.data_dir, public_key=server.public_key, secret_key=server.secret_key
    ).start()
    try:
        listing = httpx.get(
            f"{restarted.base_url}/api/public/traces", params={"limit": 1}, auth=restarted.auth, timeout=10
        ).json()
        assert listing["meta"]["totalItems"] == len(acknowledged)
        observations = httpx.get(
            f"{restarted.base_url}/api/public/observations",
            params={"limit": 1},
            auth=restarted.auth,
            timeout=10,
        ).json()
        assert observations["meta"]["totalItems"] == len(acknowledged)
        assert all(_trace_exists(restarted, t) for t in (acknowledged[0], acknowledged[-1]))
    finally:
        assert restarted.stop() == 0
