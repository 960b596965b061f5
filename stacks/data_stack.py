"""The stateful stack: raw event bucket, ingest queue + DLQ, Aurora metadata store, ClickHouse secret.

Every resource here is retained when the stack is deleted (the VPC, subnets and security group too,
which the retained cluster still uses) and the stack has termination protection: the stateless
stacks can be destroyed and redeployed at will without losing a byte.
"""

from __future__ import annotations

from typing import Any

from aws_cdk import Annotations, CfnOutput, Duration, RemovalPolicies, Stack
from constructs import Construct

from stacks.config import SkyglassConfig
from stacks.constructs.clickhouse_secret import ClickHouseSecret
from stacks.constructs.data_access import DataResources, event_bucket_name
from stacks.constructs.event_storage import EventStorage
from stacks.constructs.ingest_queue import IngestQueue
from stacks.constructs.metadata_database import DATABASE_NAME, MetadataDatabase
from stacks.specs import function_spec

# AWS: visibility timeout >= 6 x the consumer's timeout (+ batching window) for SQS event sources.
VISIBILITY_FACTOR = 6


def worker_visibility_timeout() -> Duration:
    """The ingest queue's visibility timeout, derived from the worker's manifest entry."""
    worker = function_spec("worker")
    return Duration.seconds(VISIBILITY_FACTOR * worker.timeout_s + worker.batching_window_s)


class DataStack(Stack):
    """``resources``: what the stateless stacks wire their functions to."""

    def __init__(self, scope: Construct, construct_id: str, *, config: SkyglassConfig, **kwargs: Any):
        super().__init__(scope, construct_id, termination_protection=True, **kwargs)
        storage = EventStorage(
            self,
            "Storage",
            bucket_name=event_bucket_name(config.stage),
            versioned=config.raw_bucket_versioned,
            ia_after_days=config.raw_ia_after_days,
        )
        queue = IngestQueue(self, "Ingest", visibility_timeout=worker_visibility_timeout())
        database = MetadataDatabase(
            self,
            "Metadata",
            cluster_identifier=f"skyglass-{config.stage}",
            min_acu=config.aurora_min_acu,
            max_acu=config.aurora_max_acu,
            auto_pause=Duration.minutes(config.aurora_auto_pause_minutes) if config.auto_pause else None,
            backup_days=config.aurora_backup_days,
            log_retention_days=config.log_retention_days,
        )
        clickhouse = ClickHouseSecret(
            self,
            "ClickHouse",
            secret_arn=config.clickhouse_secret_arn,
            secret_name=config.clickhouse_secret_name or f"skyglass/{config.stage}/clickhouse",
        )
        self.resources = DataResources(
            stage=config.stage,
            queue=queue.queue,
            dead_letters=queue.dead_letters,
            cluster=database.cluster,
            cluster_secret=database.secret,
            database_name=DATABASE_NAME,
            analytics_secret=clickhouse.secret,
            analytics_url=config.clickhouse_url,
        )
        outputs = {
            "EventBucketName": storage.bucket.bucket_name,
            "QueueUrl": queue.queue.queue_url,
            "DeadLetterQueueUrl": queue.dead_letters.queue_url,
            "AuroraClusterArn": database.cluster.cluster_arn,
            "AuroraSecretArn": database.secret.secret_arn,
            "AuroraDatabase": DATABASE_NAME,
            "ClickHouseSecretArn": clickhouse.secret.secret_arn,
        }
        for name, value in outputs.items():
            CfnOutput(self, name, value=value)
        RemovalPolicies.of(self).retain()
        if not config.clickhouse_url:
            Annotations.of(self).add_warning_v2(
                "skyglass:noClickHouseUrl",
                "skyglass:clickhouse_url is not set: the worker and the read API have no analytics store",
            )
