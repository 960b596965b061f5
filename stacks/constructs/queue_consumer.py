"""``QueueConsumer``: an SQS event source with partial-batch failures and bounded concurrency."""

from __future__ import annotations

from aws_cdk import Duration
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_sqs as sqs
from aws_cdk.aws_lambda_event_sources import SqsEventSource
from constructs import Construct

from stacks.specs import FunctionSpec


class QueueConsumer(Construct):
    """Feeds ``function`` from ``queue`` in batches of ``spec.batch_size`` (within
    ``spec.batching_window_s``); the handler reports failed items (``batchItemFailures``) so only
    they are retried and, after the queue's max receive count, dead-lettered.

    ``max_concurrency`` caps the pollers at the function's reserved concurrency: together they bound
    the load on ClickHouse, and the poller never invokes more copies than may run, so messages
    are not throttled back into the queue (which would count as failed receives).
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        function: lambda_.Function,
        queue: sqs.IQueue,
        spec: FunctionSpec,
        max_concurrency: int,
    ):
        super().__init__(scope, construct_id)
        if spec.batch_size < 1:
            raise ValueError(f"{spec.name} has no batch_size: it is not an SQS consumer in the manifest")
        self.source = SqsEventSource(
            queue,
            batch_size=spec.batch_size,
            max_batching_window=Duration.seconds(spec.batching_window_s),
            report_batch_item_failures=True,
            max_concurrency=max_concurrency,
        )
        function.add_event_source(self.source)
