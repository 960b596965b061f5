"""The raw event log bucket (and its server access log bucket).

One object per accepted ingestion request under ``raw/``: the durable record the analytics store can
always be rebuilt from. The API-key projection (one small object per key hash) lives in the same
bucket under ``keys/``, so the ingest path authenticates without waking Aurora.
"""

from __future__ import annotations

from typing import Any

from aws_cdk import Duration, RemovalPolicy
from aws_cdk import aws_s3 as s3
from constructs import Construct

from stacks.nag import acknowledge

RAW_PREFIX = "raw"
KEYS_PREFIX = "keys"
ACCESS_LOG_DAYS = 90


def _private_bucket(scope: Construct, construct_id: str, **props: Any) -> s3.Bucket:
    """SSE-S3, TLS 1.2+ only, no public access, no ACLs, kept when the stack goes."""
    return s3.Bucket(
        scope,
        construct_id,
        encryption=s3.BucketEncryption.S3_MANAGED,
        enforce_ssl=True,
        minimum_tls_version=1.2,
        block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
        object_ownership=s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
        removal_policy=RemovalPolicy.RETAIN,
        **props,
    )


class EventStorage(Construct):
    """``bucket`` (raw events + key projection) and ``access_logs`` (its S3 server access logs)."""

    def __init__(
        self, scope: Construct, construct_id: str, *, bucket_name: str, versioned: bool, ia_after_days: int
    ):
        super().__init__(scope, construct_id)
        self.access_logs = _private_bucket(
            self,
            "AccessLogs",
            lifecycle_rules=[s3.LifecycleRule(id="expire", expiration=Duration.days(ACCESS_LOG_DAYS))],
        )
        acknowledge(
            self.access_logs,
            "AwsSolutions-S1",
            "This bucket is the destination of the event bucket's server access logs; logging the "
            "log bucket into itself would loop, and a third bucket would only move the question.",
        )
        rules = [
            s3.LifecycleRule(
                id="raw-to-infrequent-access",
                prefix=f"{RAW_PREFIX}/",
                transitions=[
                    s3.Transition(
                        storage_class=s3.StorageClass.INFREQUENT_ACCESS,
                        transition_after=Duration.days(ia_after_days),
                    )
                ],
            ),
            s3.LifecycleRule(
                id="abort-incomplete-uploads", abort_incomplete_multipart_upload_after=Duration.days(7)
            ),
        ]
        if versioned:
            rules.append(
                s3.LifecycleRule(id="expire-old-versions", noncurrent_version_expiration=Duration.days(30))
            )
        self.bucket = _private_bucket(
            self,
            "Events",
            bucket_name=bucket_name,
            versioned=versioned,
            server_access_logs_bucket=self.access_logs,
            server_access_logs_prefix="events/",
            lifecycle_rules=rules,
        )
