"""``skyglass serve``: one process running the HTTP API and the worker on embedded engines.

chDB allows one process per data folder, so the API and the worker share this process. Start-up
applies migrations and the headless initialisation; SIGINT/SIGTERM stop accepting requests, drain
the queue for a few seconds and close the stores. Anything acknowledged is already in the blob
store and the durable queue, so even a ``kill -9`` loses nothing: the next start picks it up,
including the messages the killed worker had received but not finished (reclaimed at start).
"""

from __future__ import annotations

import logging
import signal
import sys
from dataclasses import dataclass
from typing import TextIO

from skyglass.auth.init import InitResult, initialise
from skyglass.bootstrap import Runtime
from skyglass.local.asgi import LocalHttpApp
from skyglass.local.worker import LocalWorker
from skyglass.settings import Settings

log = logging.getLogger(__name__)

# The API thread mostly waits on I/O (fsync, zlib, chDB release the GIL) while the worker thread
# runs Python for seconds at a time. With CPython's default 5 ms switch interval, every time the
# API thread wants the GIL back after an I/O call it can wait up to 5 ms behind the worker;
# a request re-takes the GIL a dozen times. 1 ms measured +35-45% accepted spans/s and -30% ack
# latency under load (docs/benchmarks.md), with no loss of processing throughput.
GIL_SWITCH_INTERVAL_SECONDS = 0.001


@dataclass
class LocalPlatform:
    """Everything ``serve`` runs, built but not yet listening (tests drive it directly)."""

    runtime: Runtime
    app: LocalHttpApp
    worker: LocalWorker
    init: InitResult


def build_platform(settings: Settings) -> LocalPlatform:
    """Open the stores, apply the headless init and reclaim the queue's in-flight messages.

    ``serve`` is the only consumer of its queue (chDB allows one process per data folder), so a
    message still in flight at start was received by a previous run that died before acking:
    it is made visible at once instead of after the visibility timeout (receive counts kept).
    """
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    runtime = Runtime(settings)
    init = initialise(runtime.meta, settings)
    reclaimed = runtime.queue.reclaim_in_flight()
    if reclaimed:
        log.info("start: %d message(s) left in flight by the previous run are visible again", reclaimed)
    services = runtime.api_services()
    worker = LocalWorker(
        runtime.queue,
        runtime.processor,
        batch_messages=settings.worker_batch_messages,
        threads=settings.worker_threads,
    )
    return LocalPlatform(runtime, LocalHttpApp(services, settings.max_body_bytes), worker, init)


def banner_lines(init: InitResult, settings: Settings) -> list[str]:
    """What ``serve`` prints at start: where it runs, the project, and the credentials to use.

    A secret is shown only when this start generated it. Otherwise the banner says where the
    secret comes from: ``SKYGLASS_INIT_SECRET_KEY`` for the pair that variable defines, else the
    output of the start or ``keys create`` that made the pair.
    """
    url = f"http://{settings.host}:{settings.port}"
    lines = [
        "",
        f"skyglass is running at {url}  (data in {settings.data_dir.resolve()})",
        f"  organisation: {init.org_name}   project: {init.project_name} ({init.project_id})",
    ]
    if init.secret_key:
        lines += [
            "  A new API key pair was created (the secret is shown only now):",
            f"    LANGFUSE_PUBLIC_KEY={init.public_key}",
            f"    LANGFUSE_SECRET_KEY={init.secret_key}",
        ]
    elif init.public_key and init.public_key == settings.init_public_key.strip():
        lines += [f"  public key: {init.public_key}  (its secret is the value of SKYGLASS_INIT_SECRET_KEY)"]
    elif init.public_key:
        lines += [f"  public key: {init.public_key}  (its secret was printed when it was created)"]
    else:
        lines += ["  No active API key: create one with the command below."]
    lines += [
        f"    LANGFUSE_BASE_URL={url}",
        f"  New key pair: skyglass keys create --project {init.project_name} --data-dir {settings.data_dir}",
        "",
    ]
    return lines


def print_banner(platform: LocalPlatform, settings: Settings, out: TextIO = sys.stdout) -> None:
    out.write("\n".join(banner_lines(platform.init, settings)) + "\n")
    out.flush()


def _note_signal(signum: int, frame: object) -> None:
    log.info("received signal %s after shutdown; already stopping", signum)


def serve(settings: Settings) -> int:
    """Run until SIGINT/SIGTERM; returns the exit code."""
    import uvicorn

    sys.setswitchinterval(GIL_SWITCH_INTERVAL_SECONDS)
    platform = build_platform(settings)
    platform.worker.start()
    config = uvicorn.Config(
        platform.app,
        host=settings.host,
        port=settings.port,
        log_level=settings.log_level.lower(),
        access_log=False,
        lifespan="on",
        timeout_graceful_shutdown=5,
    )
    server = uvicorn.Server(config)
    # uvicorn restores the previous handlers after shutdown and re-raises the signal it caught;
    # with the default handlers that would kill the process before the queue is drained.
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, _note_signal)
    print_banner(platform, settings)
    try:
        server.run()
    finally:
        log.info("stopping: draining the queue")
        platform.worker.stop(drain_seconds=10.0)
        platform.runtime.close()
    return 0
