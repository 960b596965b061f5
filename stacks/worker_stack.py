"""The processing side: the SQS-fed worker and the migrations that run on every deploy."""

from __future__ import annotations

from typing import Any

from aws_cdk import Stack
from aws_cdk import aws_lambda as lambda_
from constructs import Construct

from stacks.config import SkyglassConfig
from stacks.constructs.data_access import DataResources
from stacks.constructs.migrations import MigrationRunner
from stacks.constructs.queue_consumer import QueueConsumer
from stacks.constructs.service_function import FunctionFactory


class WorkerStack(Stack):
    """``functions`` (worker, migrate) and ``migrations`` (the custom resource)."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: SkyglassConfig,
        data: DataResources,
        **kwargs: Any,
    ):
        super().__init__(scope, construct_id, **kwargs)
        factory = FunctionFactory(self, config=config, environment=data.environment())

        migrate = factory.make("Migrate", "migrate").function
        data.grant_meta(migrate)
        data.grant_analytics(migrate)
        data.grant_keys_write(migrate)  # a migration may rebuild the key projection from Aurora
        self.migrations = MigrationRunner(
            self,
            "Migrations",
            function=migrate,
            log_retention_days=config.log_retention_days,
            deploy_nonce=config.deploy_nonce,
        )

        # Reserved concurrency is the knob that protects ClickHouse from too many parallel inserts.
        worker_fn = factory.make("Worker", "worker", reserved_concurrency=config.worker_reserved_concurrency)
        worker = worker_fn.function
        data.grant_raw_read(worker)
        data.grant_meta(worker)
        data.grant_analytics(worker)
        QueueConsumer(
            self,
            "Consumer",
            function=worker,
            queue=data.queue,
            spec=worker_fn.spec,
            max_concurrency=config.worker_reserved_concurrency,
        )
        # No message is processed before the schema it writes to exists.
        worker.node.add_dependency(self.migrations.resource)
        self.functions: dict[str, lambda_.Function] = {"worker": worker, "migrate": migrate}
