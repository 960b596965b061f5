"""MessageQueue port: at-least-once work queue with a dead-letter queue (local SQLite, or SQS)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True, slots=True)
class ReceivedMessage:
    message_id: str
    body: str
    receipt: str  # handle for ack/release; changes with every delivery
    receive_count: int  # 1 on first delivery


class MessageQueue(Protocol):
    def send(self, body: str) -> str:
        """Enqueue durably; returns the message id. Returns only once durable."""

    def send_many(self, bodies: list[str]) -> list[str]:
        """Enqueue several messages; all durable on return."""

    def receive(self, max_messages: int = 10, wait_seconds: float = 0.0) -> list[ReceivedMessage]:
        """Deliver up to ``max_messages`` visible messages, hiding them for the visibility timeout.

        A message received more than the configured maximum number of times is moved to the
        dead-letter queue instead of being delivered again.
        """

    def ack(self, receipts: list[str]) -> None:
        """Delete delivered messages (processing succeeded)."""

    def release(self, receipt: str, delay_seconds: int = 0) -> None:
        """Make a delivered message visible again after ``delay_seconds`` (processing failed)."""

    def reclaim_in_flight(self) -> int:
        """Make every delivered, unacknowledged message visible again now; returns how many.

        For a consumer that starts up knowing it is the queue's only one (``skyglass serve`` and
        its local queue): whatever was in flight belonged to a previous run that died (``kill -9``,
        power loss), so waiting out the visibility timeout would only delay it. Receive counts are
        kept, so a message that keeps crashing the process still reaches the dead-letter queue.
        Queues shared by several consumers (SQS) leave in-flight messages alone and return 0.
        """

    def depth(self) -> int:
        """Approximate number of messages waiting (visible or in flight), not counting the DLQ."""

    def dead_letter_depth(self) -> int:
        """Number of messages in the dead-letter queue."""

    def redrive(self, max_messages: int | None = None) -> int:
        """Move dead-lettered messages back to the main queue; returns how many moved."""
