"""How stateless functions reach the data stack: the ``SKYGLASS_*`` environment and narrow grants.

Every function gets the same environment (so ``skyglass.bootstrap`` picks the same adapters
everywhere); what each may actually touch is decided by the grants below, one per need.
"""

from __future__ import annotations

from dataclasses import dataclass

from aws_cdk import Aws
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_rds as rds
from aws_cdk import aws_secretsmanager as secretsmanager
from aws_cdk import aws_sqs as sqs

from stacks.constructs.event_storage import KEYS_PREFIX, RAW_PREFIX
from stacks.nag import acknowledge

# How cdk-nag spells the pseudo parameters in a finding (``Resource::arn:<AWS::Partition>:…``).
NAG_PSEUDO = {"account": "<AWS::AccountId>", "region": "<AWS::Region>", "partition": "<AWS::Partition>"}


def event_bucket_name(stage: str, *, account: str = Aws.ACCOUNT_ID, region: str = Aws.REGION) -> str:
    """The event bucket's name: fixed per stage, account and region (at most 60 characters).

    Every stack derives it from pseudo parameters instead of importing it from the data stack, so
    object ARNs such as ``…/raw/*`` are plain local expressions (and their cdk-nag findings can be
    acknowledged by name) and nothing couples the stateless stacks to a data stack export.
    """
    return f"skyglass-{stage}-events-{account}-{region}"


# Lambda's only writable folder: an embedded default that slips through lands here, not on /var/task.
LAMBDA_DATA_DIR = "/tmp/skyglass"


def encoded_queue_url(queue_name: str) -> str:
    """The percent-encoded URL of the SQS queue ``queue_name`` in this account and region.

    CloudFormation cannot url-encode a value, but an SQS URL is ``https://sqs.<region>.<url
    suffix>/<account>/<name>`` and only its ``:`` and ``/`` need encoding (queue names are
    ``[A-Za-z0-9_-]``), so the encoded form is assembled from its parts.
    """
    return f"https%3A%2F%2Fsqs.{Aws.REGION}.{Aws.URL_SUFFIX}%2F{Aws.ACCOUNT_ID}%2F{queue_name}"


@dataclass(frozen=True)
class DataResources:
    """The stateful resources the functions use (all owned by the data stack)."""

    stage: str
    queue: sqs.IQueue
    dead_letters: sqs.IQueue
    cluster: rds.DatabaseCluster
    cluster_secret: secretsmanager.ISecret
    database_name: str
    analytics_secret: secretsmanager.ISecret
    analytics_url: str

    @property
    def bucket_name(self) -> str:
        return event_bucket_name(self.stage)

    @property
    def bucket_arn(self) -> str:
        return f"arn:{Aws.PARTITION}:s3:::{self.bucket_name}"

    def environment(self) -> dict[str, str]:
        """The ``SKYGLASS_*`` variables ``skyglass.settings`` (and the Aurora adapter) read."""
        cluster_arn = self.cluster.cluster_arn
        secret_arn = self.cluster_secret.secret_arn
        return {
            "SKYGLASS_DATA_DIR": LAMBDA_DATA_DIR,
            # The bucket root: blob keys already start with the raw prefix (``raw/YYYY/…``), which
            # is what the grants and the lifecycle rule cover.
            "SKYGLASS_BLOB_URL": f"s3://{self.bucket_name}",
            "SKYGLASS_KEYS_URL": f"s3://{self.bucket_name}/{KEYS_PREFIX}",
            "SKYGLASS_QUEUE_URL": f"{self.queue.queue_url}?dlq={encoded_queue_url(self.dead_letters.queue_name)}",
            "SKYGLASS_ANALYTICS_URL": self.analytics_url,
            "SKYGLASS_ANALYTICS_SECRET_ARN": self.analytics_secret.secret_arn,
            "SKYGLASS_META_URL": f"aurora-data-api://{cluster_arn}/{self.database_name}?secret_arn={secret_arn}",
            "SKYGLASS_AURORA_CLUSTER_ARN": cluster_arn,
            "SKYGLASS_AURORA_SECRET_ARN": secret_arn,
            "SKYGLASS_AURORA_DATABASE": self.database_name,
        }

    def grant_raw_write(self, grantee: lambda_.IFunction) -> None:
        """Put one raw request object (the ingest path)."""
        self._grant_objects(grantee, ["s3:PutObject"], RAW_PREFIX)

    def grant_raw_read(self, grantee: lambda_.IFunction) -> None:
        """Read raw request objects (the worker)."""
        self._grant_objects(grantee, ["s3:GetObject"], RAW_PREFIX)

    def grant_keys_read(self, grantee: lambda_.IFunction) -> None:
        """Look up the API-key projection. ``s3:ListBucket`` makes a missing key a 404
        (an unknown API key) instead of a 403 that would look like an outage."""
        self._grant_objects(grantee, ["s3:GetObject"], KEYS_PREFIX)
        self._grant(grantee, ["s3:ListBucket"], self.bucket_arn)

    def grant_keys_write(self, grantee: lambda_.IFunction) -> None:
        """Maintain the API-key projection (key management and the migration that rebuilds it)."""
        self.grant_keys_read(grantee)
        self._grant_objects(grantee, ["s3:PutObject", "s3:DeleteObject"], KEYS_PREFIX)

    def grant_enqueue(self, grantee: lambda_.IFunction) -> None:
        """Send work; read queue depths for back-pressure (main queue and dead letters)."""
        self._grant(grantee, ["sqs:SendMessage", "sqs:GetQueueAttributes"], self.queue.queue_arn)
        self._grant(grantee, ["sqs:GetQueueAttributes"], self.dead_letters.queue_arn)

    def grant_meta(self, grantee: lambda_.IFunction) -> None:
        """Use the metadata store through the Data API (statements + the cluster secret)."""
        self.cluster.grant_data_api_access(grantee)

    def grant_analytics(self, grantee: lambda_.IFunction) -> None:
        """Read the ClickHouse credentials."""
        self.analytics_secret.grant_read(grantee)

    def _grant_objects(self, grantee: lambda_.IFunction, actions: list[str], prefix: str) -> None:
        """``actions`` on the objects under ``prefix/`` only, acknowledged as the one wildcard."""
        self._grant(grantee, actions, f"{self.bucket_arn}/{prefix}/*")
        nag_name = event_bucket_name(self.stage, account=NAG_PSEUDO["account"], region=NAG_PSEUDO["region"])
        acknowledge(
            grantee.role or grantee,  # the role's policy carries the statement
            f"AwsSolutions-IAM5[Resource::arn:{NAG_PSEUDO['partition']}:s3:::{nag_name}/{prefix}/*]",
            f"Object-level access is granted under the {prefix}/ prefix of the event bucket only; the "
            "object keys are generated at run time, so they cannot be listed in the policy.",
        )

    @staticmethod
    def _grant(grantee: lambda_.IFunction, actions: list[str], resource: str) -> None:
        iam.Grant.add_to_principal(grantee=grantee, actions=actions, resource_arns=[resource])
