"""The local platform in-process (``skyglass.local.server.build_platform``) for functional tests."""

from __future__ import annotations

from skyglass.local.server import LocalPlatform


def drain(platform: LocalPlatform) -> None:
    """Run the worker on whatever is visible now (the worker thread is not started in these tests)."""
    while received := platform.runtime.queue.receive(max_messages=50):
        platform.worker.run_once(received)
