"""Worker function: an SQS batch of queue messages → one ``Processor.process`` → partial failures.

The Processor works on a whole batch at once (one insert per table for all messages), so the
batch is processed first and Powertools' ``BatchProcessor`` then only reports, per record, whether
its blob failed: failed records come back as ``batchItemFailures`` and SQS redelivers just those
(after ``maxReceiveCount`` deliveries they land in the dead-letter queue). The event source
mapping must enable ``ReportBatchItemFailures``.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from pydantic import ValidationError

from skyglass.bootstrap import function_runtime, lambda_metrics, lambda_tracer
from skyglass.contracts.messages import QueueMessage
from skyglass.processing.worker import Processor

logger = Logger()
metrics = lambda_metrics()
tracer = lambda_tracer()
# A batch where every record failed is reported like any other (all ids in batchItemFailures)
# rather than as a function error, so it does not count as a Lambda failure.
batch = BatchProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False)


class MessageFailed(Exception):
    """Marks one record failed for the BatchProcessor (the reason is logged)."""


def failed_records(records: list[dict[str, Any]], processor: Processor) -> dict[str, str]:
    """Process every parseable message in one call; SQS message id → reason for each failure."""
    failures: dict[str, str] = {}
    by_key: dict[str, list[str]] = {}
    messages: list[QueueMessage] = []
    for record in records:
        try:
            message = QueueMessage.model_validate_json(record["body"])
        except ValidationError as exc:
            failures[record["messageId"]] = f"unparseable queue message: {exc.error_count()} error(s)"
            continue
        if message.blob_key not in by_key:
            messages.append(message)
        by_key.setdefault(message.blob_key, []).append(record["messageId"])
    if messages:
        for blob_key, reason in processor.process(messages).failed_keys().items():
            for message_id in by_key.get(blob_key, []):
                failures[message_id] = reason
    return failures


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler
@metrics.log_metrics(capture_cold_start_metric=True)
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """SQS event → ``{"batchItemFailures": [{"itemIdentifier": <messageId>}, …]}``."""
    runtime = function_runtime("worker")
    records = event.get("Records", [])
    failures = failed_records(records, runtime.processor)
    for message_id, reason in failures.items():
        logger.warning("message failed", extra={"message_id": message_id, "reason": reason})
    metrics.add_metric(name="MessagesProcessed", unit=MetricUnit.Count, value=len(records) - len(failures))
    metrics.add_metric(name="MessagesFailed", unit=MetricUnit.Count, value=len(failures))

    def record_handler(record: SQSRecord) -> None:
        if record.message_id in failures:
            raise MessageFailed(failures[record.message_id])

    return process_partial_response(
        event=event, record_handler=record_handler, processor=batch, context=context
    )
