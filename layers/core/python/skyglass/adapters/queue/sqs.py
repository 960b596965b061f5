"""MessageQueue on SQS: the work queue of the AWS runtime, with its dead-letter queue.

In AWS the worker Lambda is fed by an event source mapping, so this adapter serves the ingest path
(``send``), back-pressure (``depth``) and the operator commands (``redrive``, DLQ depth); ``receive``
/ ``ack`` / ``release`` complete the port for tools and tests. Dead-lettering is SQS's own redrive
policy (``maxReceiveCount``, set by the data stack); ``max_receives`` here is informational.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from skyglass.errors import InvalidRequest, StoreUnavailable
from skyglass.ports.queue import ReceivedMessage

if TYPE_CHECKING:
    from mypy_boto3_sqs import SQSClient

_BATCH = 10  # SQS batch APIs take at most 10 entries
_BATCH_BYTES = 256 * 1024  # and at most 256 KiB of bodies per SendMessageBatch (classic limit)
_MAX_WAIT = 20  # longest long poll SQS allows
_MAX_VISIBILITY = 12 * 3600  # longest visibility timeout SQS allows
_ATTEMPTS = 4  # tries for entries a batch call reports as failed (throttling, internal errors)
_STALE_RECEIPT = frozenset({"ReceiptHandleIsInvalid", "MessageNotInflight"})


def region_from_queue_url(queue_url: str) -> str | None:
    """``https://sqs.<region>.amazonaws.com/…`` → ``<region>`` (None for other hosts)."""
    host = urlsplit(queue_url).hostname or ""
    parts = host.split(".")
    if len(parts) >= 4 and parts[0] == "sqs" and parts[2] == "amazonaws":
        return parts[1]
    return None


def new_sqs_client(region: str | None = None) -> SQSClient:
    """Build a default SQS client; boto3 is imported here so the package stays light to import."""
    import boto3

    return boto3.client("sqs", region_name=region) if region else boto3.client("sqs")


def _provider_errors() -> tuple[type[Exception], ...]:
    from botocore.exceptions import BotoCoreError, ClientError

    return (ClientError, BotoCoreError)


def _error_code(exc: Exception) -> str:
    response: Any = getattr(exc, "response", None) or {}
    return str(response.get("Error", {}).get("Code", ""))


def _is_stale_receipt(exc: Exception) -> bool:
    """SQS's ways of saying "this receipt no longer names an in-flight message"."""
    code = _error_code(exc)
    if any(code.endswith(stale) for stale in _STALE_RECEIPT):
        return True
    # Real SQS answers a deleted message's receipt with InvalidParameterValue on ReceiptHandle.
    return code == "InvalidParameterValue" and "ReceiptHandle" in str(exc)


def _chunks(bodies: list[str]) -> Iterator[list[tuple[int, str]]]:
    """(index, body) groups within SQS's per-batch entry and size limits."""
    chunk: list[tuple[int, str]] = []
    size = 0
    for index, body in enumerate(bodies):
        body_size = len(body.encode())
        if chunk and (len(chunk) == _BATCH or size + body_size > _BATCH_BYTES):
            yield chunk
            chunk, size = [], 0
        chunk.append((index, body))
        size += body_size
    if chunk:
        yield chunk


class SqsQueue:
    """An SQS queue (and optionally its DLQ, found from the redrive policy when not given)."""

    def __init__(
        self,
        queue_url: str,
        dlq_url: str | None = None,
        client: SQSClient | None = None,
        max_receives: int = 5,
    ):
        if not queue_url:
            raise InvalidRequest("an SQS queue needs a queue URL")
        self.queue_url = queue_url
        self.max_receives = max_receives
        self._dlq_url = dlq_url
        self._dlq_resolved = dlq_url is not None
        self._client = client

    @property
    def client(self) -> SQSClient:
        # Created on first use so constructing the queue (e.g. at Lambda init) does no I/O.
        if self._client is None:
            self._client = new_sqs_client(region_from_queue_url(self.queue_url))
        return self._client

    def _fail(self, what: str, exc: Exception) -> StoreUnavailable:
        return StoreUnavailable(f"SQS {what} failed: {exc}")

    def send(self, body: str) -> str:
        """Enqueue one message; SQS has stored it redundantly when this returns."""
        try:
            return self.client.send_message(QueueUrl=self.queue_url, MessageBody=body)["MessageId"]
        except _provider_errors() as exc:
            raise self._fail("send", exc) from exc

    def send_many(self, bodies: list[str]) -> list[str]:
        """Enqueue with ``SendMessageBatch`` in groups of 10, retrying entries SQS reports failed."""
        return self._send_batches(self.queue_url, bodies)

    def _send_batches(self, queue_url: str, bodies: list[str]) -> list[str]:
        ids: list[str] = [""] * len(bodies)
        for chunk in _chunks(bodies):
            pending = {str(index): body for index, body in chunk}
            for attempt in range(_ATTEMPTS):
                entries: Any = [{"Id": key, "MessageBody": body} for key, body in pending.items()]
                try:
                    result = self.client.send_message_batch(QueueUrl=queue_url, Entries=entries)
                except _provider_errors() as exc:
                    raise self._fail("send", exc) from exc
                for ok in result.get("Successful", []):
                    ids[int(ok["Id"])] = ok["MessageId"]
                    pending.pop(ok["Id"], None)
                failed = result.get("Failed", [])
                if any(f.get("SenderFault") for f in failed):
                    raise InvalidRequest(f"SQS rejected messages: {failed}")
                if not pending:
                    break
                if attempt + 1 < _ATTEMPTS:
                    time.sleep(0.05 * 2**attempt)  # failed entries are throttling / internal errors
            if pending:
                raise StoreUnavailable(f"SQS kept failing {len(pending)} message(s) after {_ATTEMPTS} tries")
        return ids

    def receive(self, max_messages: int = 10, wait_seconds: float = 0.0) -> list[ReceivedMessage]:
        """Long-poll (≤ 20 s) for the first batch, then fill up to ``max_messages`` without waiting."""
        out: list[ReceivedMessage] = []
        wait = min(_MAX_WAIT, math.ceil(max(0.0, wait_seconds)))
        while len(out) < max_messages:
            try:
                result = self.client.receive_message(
                    QueueUrl=self.queue_url,
                    MaxNumberOfMessages=min(_BATCH, max_messages - len(out)),
                    WaitTimeSeconds=0 if out else wait,
                    MessageSystemAttributeNames=["ApproximateReceiveCount"],
                )
            except _provider_errors() as exc:
                raise self._fail("receive", exc) from exc
            messages = result.get("Messages", [])
            out.extend(
                ReceivedMessage(
                    message_id=m["MessageId"],
                    body=m["Body"],
                    receipt=m["ReceiptHandle"],
                    receive_count=int(m.get("Attributes", {}).get("ApproximateReceiveCount", "1")),
                )
                for m in messages
            )
            if not messages:
                break
        return out

    def ack(self, receipts: list[str]) -> None:
        """Delete delivered messages in batches of 10; stale receipts are ignored."""
        self._delete(self.queue_url, list(dict.fromkeys(receipts)))

    def _delete(self, queue_url: str, receipts: list[str]) -> None:
        for start in range(0, len(receipts), _BATCH):
            pending = {str(i): r for i, r in enumerate(receipts[start : start + _BATCH])}
            for attempt in range(_ATTEMPTS):
                entries: Any = [{"Id": key, "ReceiptHandle": r} for key, r in pending.items()]
                try:
                    result = self.client.delete_message_batch(QueueUrl=queue_url, Entries=entries)
                except _provider_errors() as exc:
                    raise self._fail("delete", exc) from exc
                for ok in result.get("Successful", []):
                    pending.pop(ok["Id"], None)
                for failure in result.get("Failed", []):
                    # A stale receipt means the message was already deleted or redelivered:
                    # retrying cannot help and at-least-once processing makes it harmless.
                    if failure.get("Code") in _STALE_RECEIPT or failure.get("SenderFault"):
                        pending.pop(failure["Id"], None)
                if not pending:
                    break
                if attempt + 1 < _ATTEMPTS:
                    time.sleep(0.05 * 2**attempt)
            if pending:
                raise StoreUnavailable(f"SQS kept failing to delete {len(pending)} message(s)")

    def release(self, receipt: str, delay_seconds: int = 0) -> None:
        """Make a message visible again after ``delay_seconds`` (capped at SQS's 12 hours)."""
        timeout = min(_MAX_VISIBILITY, max(0, int(delay_seconds)))
        try:
            self.client.change_message_visibility(
                QueueUrl=self.queue_url, ReceiptHandle=receipt, VisibilityTimeout=timeout
            )
        except _provider_errors() as exc:
            if _is_stale_receipt(exc):
                return  # already deleted or redelivered: nothing left to release
            raise self._fail("release", exc) from exc

    def reclaim_in_flight(self) -> int:
        """Nothing to do: SQS has other consumers (the worker Lambdas) and no way to list in-flight
        messages; each becomes visible again when its visibility timeout ends."""
        return 0

    def _count(self, queue_url: str, names: list[str]) -> int:
        try:
            result: Any = self.client.get_queue_attributes(QueueUrl=queue_url, AttributeNames=names)  # type: ignore[arg-type]
        except _provider_errors() as exc:
            raise self._fail("depth", exc) from exc
        attributes: dict[str, str] = result.get("Attributes", {})
        return sum(int(attributes.get(name, "0")) for name in names)

    def depth(self) -> int:
        """Approximate visible + in-flight + delayed messages (SQS counts are eventually consistent)."""
        return self._count(
            self.queue_url,
            [
                "ApproximateNumberOfMessages",
                "ApproximateNumberOfMessagesNotVisible",
                "ApproximateNumberOfMessagesDelayed",
            ],
        )

    def dead_letter_url(self) -> str | None:
        """The DLQ URL: as given, else looked up once from the main queue's ``RedrivePolicy``."""
        if not self._dlq_resolved:
            try:
                attrs = self.client.get_queue_attributes(
                    QueueUrl=self.queue_url, AttributeNames=["RedrivePolicy"]
                )
                policy = attrs.get("Attributes", {}).get("RedrivePolicy")
                if policy:
                    arn = json.loads(policy)["deadLetterTargetArn"]
                    account, name = arn.split(":")[4:6]
                    self._dlq_url = self.client.get_queue_url(QueueName=name, QueueOwnerAWSAccountId=account)[
                        "QueueUrl"
                    ]
            except _provider_errors() as exc:
                raise self._fail("dead-letter queue lookup", exc) from exc
            self._dlq_resolved = True
        return self._dlq_url

    def dead_letter_depth(self) -> int:
        """Approximate messages in the DLQ (0 when the queue has none)."""
        dlq = self.dead_letter_url()
        if dlq is None:
            return 0
        return self._count(dlq, ["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"])

    def redrive(self, max_messages: int | None = None) -> int:
        """Move DLQ messages back: receive from the DLQ, re-send to the main queue, then delete.

        Re-sent before deleted, so a crash in between duplicates a message rather than losing it
        (processing is idempotent). Received DLQ messages stay hidden while being moved.
        """
        dlq = self.dead_letter_url()
        if dlq is None:
            return 0
        moved = 0
        while max_messages is None or moved < max_messages:
            want = _BATCH if max_messages is None else min(_BATCH, max_messages - moved)
            try:
                # A short long-poll: plain short polling samples a subset of servers and can
                # answer "empty" while messages remain.
                result = self.client.receive_message(
                    QueueUrl=dlq, MaxNumberOfMessages=want, WaitTimeSeconds=1, VisibilityTimeout=60
                )
            except _provider_errors() as exc:
                raise self._fail("redrive", exc) from exc
            messages = result.get("Messages", [])
            if not messages:
                break
            self._send_batches(self.queue_url, [m["Body"] for m in messages])
            self._delete(dlq, [m["ReceiptHandle"] for m in messages])
            moved += len(messages)
        return moved
