"""Worker function: an SQS batch of queue messages → one ``Processor.process`` → partial failures.

The Processor works on a whole batch at once (one insert per table for all messages), so the
batch is processed first and Powertools' ``BatchProcessor`` then only reports, per record, whether
its blob failed: failed records come back as ``batchItemFailures`` and SQS redelivers just those
(after ``maxReceiveCount`` deliveries they land in the dead-letter queue). Records that failed
retryably (a store outage, Aurora still resuming) are made visible again after a short delay
instead of the whole visibility timeout (``skyglass.processing.deliveries``). The event source
mapping must enable ``ReportBatchItemFailures``.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

from skyglass.bootstrap import function_runtime, lambda_metrics, lambda_tracer
from skyglass.processing.deliveries import delivery_from_sqs_record, failed_deliveries, retry_soon

logger = Logger()
metrics = lambda_metrics()
tracer = lambda_tracer()
# A batch where every record failed is reported like any other (all ids in batchItemFailures)
# rather than as a function error, so it does not count as a Lambda failure.
batch = BatchProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False)


class MessageFailed(Exception):
    """Marks one record failed for the BatchProcessor (the reason is logged)."""


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler
@metrics.log_metrics(capture_cold_start_metric=True)
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """SQS event → ``{"batchItemFailures": [{"itemIdentifier": <messageId>}, …]}``."""
    runtime = function_runtime("worker")
    deliveries = [delivery_from_sqs_record(record) for record in event.get("Records", [])]
    failures = failed_deliveries(deliveries, runtime.processor)
    for message_id, failure in failures.items():
        logger.warning(
            "message failed",
            extra={"message_id": message_id, "reason": failure.reason, "retryable": failure.retryable},
        )
    retried = retry_soon(runtime.queue, deliveries, failures) if failures else 0
    metrics.add_metric(name="MessagesProcessed", unit=MetricUnit.Count, value=len(deliveries) - len(failures))
    metrics.add_metric(name="MessagesFailed", unit=MetricUnit.Count, value=len(failures))
    metrics.add_metric(name="MessagesRetriedSoon", unit=MetricUnit.Count, value=retried)

    def record_handler(record: SQSRecord) -> None:
        failure = failures.get(record.message_id)
        if failure is not None:
            raise MessageFailed(failure.reason)

    return process_partial_response(
        event=event, record_handler=record_handler, processor=batch, context=context
    )
