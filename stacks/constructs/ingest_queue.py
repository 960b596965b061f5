"""The ingest work queue and its dead-letter queue (SSE, TLS only, retained)."""

from __future__ import annotations

from aws_cdk import Duration, RemovalPolicy
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from stacks.nag import acknowledge

MAX_RECEIVE_COUNT = 5


class IngestQueue(Construct):
    """``queue`` of blob keys to process; after 5 failed deliveries a message moves to ``dead_letters``.

    ``visibility_timeout`` must outlast the worker: AWS recommends six times the function timeout
    (plus the batching window) so a batch being retried is not delivered twice meanwhile.
    """

    def __init__(self, scope: Construct, construct_id: str, *, visibility_timeout: Duration):
        super().__init__(scope, construct_id)
        self.dead_letters = sqs.Queue(
            self,
            "DeadLetters",
            encryption=sqs.QueueEncryption.SQS_MANAGED,
            enforce_ssl=True,
            # Longer than the source queue's retention: a dead letter keeps its original enqueue time.
            retention_period=Duration.days(14),
            removal_policy=RemovalPolicy.RETAIN,
        )
        acknowledge(
            self.dead_letters,
            "AwsSolutions-SQS3",
            "This queue is the dead-letter queue; `skyglass redrive` moves its messages back.",
        )
        self.queue = sqs.Queue(
            self,
            "Queue",
            encryption=sqs.QueueEncryption.SQS_MANAGED,
            enforce_ssl=True,
            visibility_timeout=visibility_timeout,
            retention_period=Duration.days(4),
            dead_letter_queue=sqs.DeadLetterQueue(
                queue=self.dead_letters, max_receive_count=MAX_RECEIVE_COUNT
            ),
            removal_policy=RemovalPolicy.RETAIN,
        )
