"""Blob → records: the pure, CPU-heavy half of processing, in the worker's thread or beside it.

Decoding a blob and mapping its events or OTLP spans (``processing.events``,
``processing.otel_events``) is about half of the worker's CPU, all of it Python: in one process it
competes for the interpreter lock with the other half (merge, enrich, store calls) and with the
HTTP thread of ``skyglass serve``. ``ProcessMapper`` runs it in child processes instead, so on a
machine with two or more cores mapping one batch overlaps writing the previous one, and the API
answers without waiting behind the worker. ``InlineMapper`` maps in the caller's thread (Lambda:
one batch per invocation and no second core to use).

A blob that cannot be mapped fails its own message (``MappingFailure``), never the batch.
"""

from __future__ import annotations

import logging
import multiprocessing
import signal
import threading
from collections.abc import Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from typing import Protocol

from skyglass.contracts.messages import BlobEnvelope, QueueMessage
from skyglass.errors import InvalidRequest
from skyglass.processing.events import BlobRecords, envelope_records
from skyglass.processing.otel_events import otel_records

logger = logging.getLogger(__name__)

BlobItem = tuple[QueueMessage, bytes]  # a message and the bytes of the blob it names


@dataclass(frozen=True, slots=True)
class MappingFailure:
    """Why a blob could not be mapped (a bad blob: retrying cannot help)."""

    reason: str


MappedBlob = BlobRecords | MappingFailure


def map_blob(message: QueueMessage, data: bytes) -> BlobRecords:
    """The records of one blob; ``InvalidRequest`` for a blob we cannot read."""
    try:
        envelope = BlobEnvelope.model_validate_json(data)
    except ValueError as exc:  # pydantic's ValidationError is a ValueError
        raise InvalidRequest(f"unreadable blob: {exc.__class__.__name__}") from exc
    if envelope.project_id != message.project_id:
        raise InvalidRequest("blob project does not match the message")
    if envelope.kind == "ingestion":
        return envelope_records(envelope, message.blob_key)
    if envelope.kind == "otel":
        return otel_records(envelope, message.blob_key)
    raise InvalidRequest(f"unsupported blob kind: {envelope.kind}")


def map_blobs(items: Sequence[BlobItem]) -> list[MappedBlob]:
    """``map_blob`` for each item, in order; a failure is returned in the blob's place."""
    out: list[MappedBlob] = []
    for message, data in items:
        try:
            out.append(map_blob(message, data))
        except Exception as exc:  # a bad blob fails its own message, never the batch
            logger.warning("message failed: %s: %s", message.blob_key, exc)
            out.append(MappingFailure(failure_reason(exc)))
    return out


def failure_reason(exc: BaseException) -> str:
    """``ExceptionClass: message`` for a message's failure record."""
    message = getattr(exc, "message", None) or str(exc) or exc.__class__.__name__
    return f"{exc.__class__.__name__}: {message}"


def _leave_interrupts_to_parent() -> None:
    """Ctrl-C reaches the whole process group: the parent drains and stops its helpers itself."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)


class BlobMapper(Protocol):
    def submit(self, items: list[BlobItem]) -> Future[list[MappedBlob]]:
        """Start mapping ``items``; the future holds one ``MappedBlob`` per item, in order."""

    def close(self) -> None:
        """Stop any helper processes."""


class InlineMapper:
    """Maps in the calling thread; the future is already done when ``submit`` returns."""

    def submit(self, items: list[BlobItem]) -> Future[list[MappedBlob]]:
        future: Future[list[MappedBlob]] = Future()
        future.set_result(map_blobs(items))
        return future

    def close(self) -> None:
        return None


class ProcessMapper:
    """Maps in ``processes`` child processes, started on first use.

    Children are spawned, never forked: the parent runs threads and an embedded database that a
    fork would copy mid-flight. If a child dies, the pending future fails with
    ``BrokenProcessPool`` (the caller retries the batch) and the next ``submit`` starts a new pool.
    """

    def __init__(self, processes: int = 1):
        self._processes = max(1, processes)
        self._pool: ProcessPoolExecutor | None = None
        self._lock = threading.Lock()

    def _executor(self, replace_broken: ProcessPoolExecutor | None = None) -> ProcessPoolExecutor:
        with self._lock:
            if self._pool is None or self._pool is replace_broken:
                if self._pool is not None:
                    self._pool.shutdown(wait=False, cancel_futures=True)
                context = multiprocessing.get_context("spawn")
                self._pool = ProcessPoolExecutor(
                    max_workers=self._processes, mp_context=context, initializer=_leave_interrupts_to_parent
                )
            return self._pool

    def submit(self, items: list[BlobItem]) -> Future[list[MappedBlob]]:
        pool = self._executor()
        try:
            return pool.submit(map_blobs, items)
        except BrokenProcessPool:  # a child died since the last batch: start afresh
            return self._executor(replace_broken=pool).submit(map_blobs, items)

    def close(self) -> None:
        with self._lock:
            pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)
