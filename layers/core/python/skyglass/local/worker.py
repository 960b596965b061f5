"""The local worker: a thread that drains the durable queue through the shared Processor.

Same at-least-once contract as the SQS-triggered Lambda: a message is acked only after its rows
are written; a failed message is released with a back-off and, after the configured number of
deliveries, lands in the dead-letter queue.
"""

from __future__ import annotations

import logging
import threading
import time

from pydantic import ValidationError

from skyglass.contracts.messages import QueueMessage
from skyglass.errors import DomainError
from skyglass.ports.queue import MessageQueue, ReceivedMessage
from skyglass.processing.worker import Processor

log = logging.getLogger(__name__)


class LocalWorker:
    def __init__(self, queue: MessageQueue, processor: Processor, *, batch_messages: int = 100):
        self._queue = queue
        self._processor = processor
        self._batch = batch_messages
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.processed_messages = 0

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="skyglass-worker", daemon=True)
        self._thread.start()

    def stop(self, drain_seconds: float = 10.0) -> None:
        """Finish queued work (up to ``drain_seconds``), then stop the thread."""
        deadline = time.monotonic() + drain_seconds
        while time.monotonic() < deadline and self._queue.depth() > 0 and self.is_alive():
            time.sleep(0.05)
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=max(1.0, deadline - time.monotonic() + 5))

    def is_alive(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                received = self._queue.receive(max_messages=self._batch, wait_seconds=0.2)
            except DomainError:
                log.exception("queue receive failed; retrying")
                self._stop.wait(1.0)
                continue
            if received:
                self.run_once(received)

    def run_once(self, received: list[ReceivedMessage]) -> None:
        """Process one batch of deliveries: ack what landed, release what failed."""
        parsed: list[tuple[ReceivedMessage, QueueMessage]] = []
        for delivery in received:
            try:
                parsed.append((delivery, QueueMessage.model_validate_json(delivery.body)))
            except ValidationError:
                log.error("unparseable queue message %s; releasing for the DLQ", delivery.message_id)
                self._queue.release(delivery.receipt, delay_seconds=1)
        if not parsed:
            return
        try:
            result = self._processor.process([m for _, m in parsed])
        except DomainError as exc:
            log.warning("batch failed (%s); releasing %d messages", exc.message, len(parsed))
            for delivery, _ in parsed:
                self._queue.release(delivery.receipt, delay_seconds=_backoff(delivery.receive_count))
            return
        failed = result.failed_keys()
        done = [d.receipt for d, m in parsed if m.blob_key not in failed]
        self._queue.ack(done)
        self.processed_messages += len(done)
        for delivery, message in parsed:
            if message.blob_key in failed:
                log.warning("message for %s failed: %s", message.blob_key, failed[message.blob_key])
                self._queue.release(delivery.receipt, delay_seconds=_backoff(delivery.receive_count))


def _backoff(receive_count: int) -> int:
    return min(30, 2 ** max(0, receive_count - 1))
