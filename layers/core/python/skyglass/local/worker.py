"""The local worker: threads that drain the durable queue through the shared Processor.

Same at-least-once contract as the SQS-triggered Lambda: a message is acked only after its rows
are written; a failed message is released with a back-off and, after the configured number of
deliveries, lands in the dead-letter queue.

Batch size adapts to the messages: a batch of 100 small SDK batches is a few thousand spans, but
100 OTLP exports of 512 spans each are 50,000 spans — a minute of work and gigabytes of memory
before anything is committed. So each thread aims at batches of about ``target_batch_seconds``:
after every batch it scales the number of messages it asks for next by how long the last one took
(between 1 and ``batch_messages``). Rows become queryable batch by batch, so this bounds the
ingest-to-queryable delay and the memory a batch holds without costing throughput.

Each thread keeps two batches in flight: while one is merged and written here, the next one is
already being mapped by the processor's helper processes (``SKYGLASS_WORKER_PROCESSES``,
``processing.mapping``), so on two or more cores the Python halves of consecutive batches overlap.

Several threads may run (``SKYGLASS_WORKER_THREADS``): the Processor is safe to run concurrently
(it stores events before loading them back), and chDB releases the GIL while it parses, compresses
and writes, so one thread's Python mapping overlaps another's insert.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass

from pydantic import ValidationError

from skyglass.contracts.messages import QueueMessage
from skyglass.errors import DomainError
from skyglass.ports.queue import MessageQueue, ReceivedMessage
from skyglass.processing.worker import PreparedBatch, Processor

log = logging.getLogger(__name__)


class BatchSizer:
    """How many messages to ask for next, so a batch takes about ``target_seconds``."""

    def __init__(self, max_messages: int, target_seconds: float = 1.0, start: int = 10):
        self.max_messages = max(1, max_messages)
        self.target_seconds = target_seconds
        self.size = max(1, min(start, self.max_messages))

    def record(self, messages: int, seconds: float) -> None:
        """Scale towards the target from one batch of ``messages`` that took ``seconds``."""
        if messages <= 0 or seconds <= 0:
            return
        if messages < self.size and seconds < self.target_seconds:
            return  # the queue ran short: says nothing about what a full batch would cost
        wanted = messages * self.target_seconds / seconds
        # grow at most 2x per batch (one slow outlier must not make the next batch huge)
        self.size = max(1, min(self.max_messages, round(min(wanted, 2 * messages))))


class LocalWorker:
    def __init__(
        self,
        queue: MessageQueue,
        processor: Processor,
        *,
        batch_messages: int = 100,
        threads: int = 1,
        target_batch_seconds: float = 1.0,
    ):
        self._queue = queue
        self._processor = processor
        self._batch = batch_messages
        self._threads_wanted = max(1, threads)
        self._target = target_batch_seconds
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._count_lock = threading.Lock()
        self.processed_messages = 0

    def start(self) -> None:
        for index in range(self._threads_wanted):
            name = "skyglass-worker" if index == 0 else f"skyglass-worker-{index}"
            thread = threading.Thread(target=self._run, name=name, daemon=True)
            thread.start()
            self._threads.append(thread)

    def stop(self, drain_seconds: float = 10.0) -> None:
        """Finish queued work (up to ``drain_seconds``), then stop the threads."""
        deadline = time.monotonic() + drain_seconds
        while time.monotonic() < deadline and self._queue.depth() > 0 and self.is_alive():
            time.sleep(0.05)
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=max(1.0, deadline - time.monotonic() + 5))

    def is_alive(self) -> bool:
        return any(thread.is_alive() for thread in self._threads)

    def _run(self) -> None:
        # Two batches in flight: the next one is received and handed to the mapper (helper
        # processes) before the current one is merged and written, so the two overlap. With an
        # in-process mapper this is the plain one-batch-at-a-time loop.
        sizer = BatchSizer(self._batch, self._target)
        pending: _InFlight | None = None
        while not self._stop.is_set():
            try:
                received = self._queue.receive(
                    max_messages=sizer.size, wait_seconds=0.0 if pending is not None else 0.2
                )
            except DomainError:
                log.exception("queue receive failed; retrying")
                received = []
                if pending is None:
                    self._stop.wait(1.0)
            upcoming = self._prepare(received) if received else None
            if pending is not None:
                self._finish(pending)
                sizer.record(len(pending.parsed), time.monotonic() - pending.started)
            pending = upcoming
        if pending is not None:
            self._finish(pending)

    def run_once(self, received: list[ReceivedMessage]) -> None:
        """Process one batch of deliveries: ack what landed, release what failed."""
        inflight = self._prepare(received)
        if inflight is not None:
            self._finish(inflight)

    def _prepare(self, received: list[ReceivedMessage]) -> _InFlight | None:
        """Parse the deliveries (an unparseable one is released for the DLQ) and start mapping."""
        parsed: list[tuple[ReceivedMessage, QueueMessage]] = []
        for delivery in received:
            try:
                parsed.append((delivery, QueueMessage.model_validate_json(delivery.body)))
            except ValidationError:
                log.error("unparseable queue message %s; releasing for the DLQ", delivery.message_id)
                self._queue.release(delivery.receipt, delay_seconds=1)
        if not parsed:
            return None
        started = time.monotonic()
        return _InFlight(parsed, self._processor.prepare([m for _, m in parsed]), started)

    def _finish(self, inflight: _InFlight) -> None:
        parsed = inflight.parsed
        try:
            result = self._processor.finish(inflight.prepared)
        except DomainError as exc:
            log.warning("batch failed (%s); releasing %d messages", exc.message, len(parsed))
            for delivery, _ in parsed:
                self._queue.release(delivery.receipt, delay_seconds=_backoff(delivery.receive_count))
            return
        failed = result.failed_keys()
        done = [d.receipt for d, m in parsed if m.blob_key not in failed]
        self._queue.ack(done)
        with self._count_lock:
            self.processed_messages += len(done)
        for delivery, message in parsed:
            if message.blob_key in failed:
                log.warning("message for %s failed: %s", message.blob_key, failed[message.blob_key])
                self._queue.release(delivery.receipt, delay_seconds=_backoff(delivery.receive_count))


@dataclass(slots=True)
class _InFlight:
    """A batch handed to the processor and not yet written."""

    parsed: list[tuple[ReceivedMessage, QueueMessage]]
    prepared: PreparedBatch
    started: float


def _backoff(receive_count: int) -> int:
    return min(30, 2 ** max(0, receive_count - 1))
