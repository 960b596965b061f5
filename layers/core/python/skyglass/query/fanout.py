"""Independent reads of one request, run side by side.

A trace with its observations and scores is three reads that do not depend on each other; one
after another their latencies add up, side by side the request takes about the slowest. Both
engines serve concurrent queries (ClickHouse over sessionless HTTP; chDB on one connection per
thread), so a small pool of long-lived threads runs them — long-lived, so chDB's per-thread
connections are reused rather than opened per request.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import TypeVar

T = TypeVar("T")

_POOL = ThreadPoolExecutor(max_workers=4, thread_name_prefix="skyglass-read")


def start(call: Callable[[], T]) -> Future[T]:
    """Run ``call`` on the read pool; ``.result()`` returns its value or raises its error."""
    return _POOL.submit(call)
