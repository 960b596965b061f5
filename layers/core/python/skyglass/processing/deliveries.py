"""The SQS-fed worker's deliveries: which failed, and a sooner retry for those worth retrying.

The worker Lambda's event source mapping deletes every delivery the handler does not report as
failed; a reported one becomes visible again only when the queue's visibility timeout runs out
(six times the worker's timeout, about 12 minutes). That is far too long for a store outage
such as Aurora resuming from auto-pause: the cluster this very batch woke pauses again after
5 idle minutes, and each wasted delivery brings the message closer to the dead-letter queue. So
deliveries that failed *retryably* are made visible again after a short delay that grows with
each delivery (``retry_delay_seconds``), which still spreads the retries of a longer outage over
about half an hour. A bad message keeps the full timeout: retrying it sooner changes nothing.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from skyglass.contracts.messages import QueueMessage
from skyglass.errors import DomainError
from skyglass.ports.queue import MessageQueue, ReceivedMessage
from skyglass.processing.worker import Processor

log = logging.getLogger(__name__)

# Delay before a retryable failure is delivered again: 30 s, 2 min, 8 min, then 10 min (always
# shorter than the queue's visibility timeout, which it replaces).
RETRY_FIRST_SECONDS = 30
RETRY_GROWTH = 4
RETRY_MAX_SECONDS = 600


@dataclass(frozen=True, slots=True)
class DeliveryFailure:
    """Why a delivery failed, and whether retrying it soon may help (store trouble)."""

    reason: str
    retryable: bool


def delivery_from_sqs_record(record: Mapping[str, Any]) -> ReceivedMessage:
    """One record of an SQS Lambda event as a ``ReceivedMessage``."""
    attributes = record.get("attributes") or {}
    return ReceivedMessage(
        message_id=str(record["messageId"]),
        body=str(record.get("body", "")),
        receipt=str(record.get("receiptHandle", "")),
        receive_count=int(attributes.get("ApproximateReceiveCount", "1")),
    )


def failed_deliveries(
    deliveries: Sequence[ReceivedMessage], processor: Processor
) -> dict[str, DeliveryFailure]:
    """Process every parseable delivery in one call; message id → failure for each that failed."""
    failures: dict[str, DeliveryFailure] = {}
    by_key: dict[str, list[str]] = {}
    messages: list[QueueMessage] = []
    for delivery in deliveries:
        try:
            message = QueueMessage.model_validate_json(delivery.body)
        except ValidationError as exc:
            reason = f"unparseable queue message: {exc.error_count()} error(s)"
            failures[delivery.message_id] = DeliveryFailure(reason, retryable=False)
            continue
        if message.blob_key not in by_key:
            messages.append(message)
        by_key.setdefault(message.blob_key, []).append(delivery.message_id)
    if messages:
        for failure in processor.process(messages).failures:
            for message_id in by_key.get(failure.blob_key, []):
                failures[message_id] = DeliveryFailure(failure.reason, failure.retryable)
    return failures


def retry_delay_seconds(receive_count: int) -> int:
    """Seconds until a delivery that failed retryably (its ``receive_count``-th) is tried again."""
    exponent = max(0, receive_count - 1)
    return min(RETRY_MAX_SECONDS, RETRY_FIRST_SECONDS * RETRY_GROWTH**exponent)


def retry_soon(
    queue: MessageQueue, deliveries: Sequence[ReceivedMessage], failures: Mapping[str, DeliveryFailure]
) -> int:
    """Shorten the wait of every retryably failed delivery; returns how many were shortened.

    Best effort: a delivery whose visibility cannot be changed simply waits out the full
    visibility timeout, as it would have anyway.
    """
    shortened = 0
    for delivery in deliveries:
        failure = failures.get(delivery.message_id)
        if failure is None or not failure.retryable:
            continue
        try:
            queue.release(delivery.receipt, delay_seconds=retry_delay_seconds(delivery.receive_count))
        except DomainError as exc:
            log.warning("could not shorten the retry of %s: %s", delivery.message_id, exc.message)
            continue
        shortened += 1
    return shortened
