"""Waiting for a store that is waking up: bounded retry with exponential back-off.

Aurora Serverless v2 at 0 ACU pauses when idle and takes ~15-30 s to resume; meanwhile every
Data API call answers ``DatabaseResumingException`` (``StoreResuming``). A request path must not
wait (it answers 503 + Retry-After), but the worker and the operator's CLI can: failing a whole SQS
batch over a resume would only postpone it by the queue's visibility timeout, after which the
cluster may have paused again. Only ``StoreResuming`` is retried here; any other failure, and the
last ``StoreResuming`` once the budget is spent, reach the caller unchanged.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import TypeVar

from skyglass.errors import StoreResuming

log = logging.getLogger(__name__)

T = TypeVar("T")

FIRST_DELAY_SECONDS = 1.0
MAX_DELAY_SECONDS = 8.0

# Called before each wait with the error and the seconds about to be slept.
OnWait = Callable[[StoreResuming, float], None]


def _log_wait(exc: StoreResuming, delay: float) -> None:
    log.info("%s; retrying in %.1f s", exc.message, delay)


def retry_while_resuming(
    call: Callable[[], T],
    *,
    budget_seconds: float,
    on_wait: OnWait = _log_wait,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
    first_delay: float = FIRST_DELAY_SECONDS,
    max_delay: float = MAX_DELAY_SECONDS,
) -> T:
    """``call()``, retried while it raises ``StoreResuming``, for at most ``budget_seconds``.

    Delays double from ``first_delay`` up to ``max_delay``; a wait that would end past the budget
    is not started, so the whole call never sleeps longer than ``budget_seconds`` (0: no retry).
    """
    deadline = clock() + budget_seconds
    delay = first_delay
    while True:
        try:
            return call()
        except StoreResuming as exc:
            if clock() + delay > deadline:
                raise
            on_wait(exc, delay)
            sleep(delay)
            delay = min(delay * 2, max_delay)
