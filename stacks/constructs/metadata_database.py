"""The metadata store: Aurora PostgreSQL Serverless v2, reached only through the RDS Data API.

It scales to 0 ACU and pauses after ``auto_pause`` idle, so an idle deployment pays storage only.
The cluster sits in a VPC of isolated subnets (no internet gateway, no NAT: nothing always on);
no Lambda joins that VPC, they all call the Data API over HTTPS with the cluster's secret.
"""

from __future__ import annotations

from aws_cdk import Duration, RemovalPolicy
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_rds as rds
from constructs import Construct

from stacks.constructs.log_groups import log_group
from stacks.nag import acknowledge

DATABASE_NAME = "skyglass"
# The newest Aurora PostgreSQL that aws-cdk-lib offers, that pauses at 0 ACU (16.3 and later) and
# serves the RDS Data API (18.3 and later in the 18 line), and that CloudFormation's schema knows:
# aws-cdk-lib also lists 18.6, but the engine versions CloudFormation validates against (cdk synth's
# own validation, cfn-lint) stop at 18.4. A newer version is a deliberate bump here and in the
# infra test.
ENGINE_VERSION = rds.AuroraPostgresEngineVersion.VER_18_4
ISOLATED = ec2.SubnetSelection(subnet_type=ec2.SubnetType.PRIVATE_ISOLATED)


class MetadataDatabase(Construct):
    """``vpc`` and ``cluster`` (Data API on, encrypted, deletion-protected, retained)."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        cluster_identifier: str,
        min_acu: float,
        max_acu: float,
        auto_pause: Duration | None,
        backup_days: int,
        log_retention_days: int,
    ):
        super().__init__(scope, construct_id)
        self.vpc = ec2.Vpc(
            self,
            "Vpc",
            max_azs=2,
            nat_gateways=0,
            subnet_configuration=[
                ec2.SubnetConfiguration(
                    name="isolated", subnet_type=ec2.SubnetType.PRIVATE_ISOLATED, cidr_mask=24
                )
            ],
        )
        self.vpc.add_flow_log(
            "FlowLog",
            destination=ec2.FlowLogDestination.to_cloud_watch_logs(
                log_group(self, "FlowLogs", log_retention_days)
            ),
        )
        # Created up front (RDS would create it without retention); the cluster's identifier is
        # fixed so the name is known before the cluster exists.
        postgres_logs = log_group(
            self,
            "PostgresLogs",
            log_retention_days,
            name=f"/aws/rds/cluster/{cluster_identifier}/postgresql",
            removal=RemovalPolicy.RETAIN,
        )
        self.cluster = rds.DatabaseCluster(
            self,
            "Cluster",
            cluster_identifier=cluster_identifier,
            engine=rds.DatabaseClusterEngine.aurora_postgres(version=ENGINE_VERSION),
            writer=rds.ClusterInstance.serverless_v2("Writer", publicly_accessible=False),
            serverless_v2_min_capacity=min_acu,
            serverless_v2_max_capacity=max_acu,
            serverless_v2_auto_pause_duration=auto_pause,
            enable_data_api=True,
            storage_encrypted=True,
            iam_authentication=True,
            deletion_protection=True,
            removal_policy=RemovalPolicy.RETAIN,
            copy_tags_to_snapshot=True,
            backup=rds.BackupProps(retention=Duration.days(backup_days)),
            credentials=rds.Credentials.from_generated_secret("skyglass_admin"),
            default_database_name=DATABASE_NAME,
            vpc=self.vpc,
            vpc_subnets=ISOLATED,
            cloudwatch_logs_exports=["postgresql"],
        )
        self.cluster.node.add_dependency(postgres_logs)
        if self.cluster.secret is None:  # pragma: no cover - from_generated_secret always makes one
            raise RuntimeError("the Aurora cluster has no credentials secret")
        self.secret = self.cluster.secret
        acknowledge(
            self.cluster,
            "AwsSolutions-RDS11",
            "The cluster has no network path from outside its isolated subnets and every client uses "
            "the RDS Data API over HTTPS; a non-default port would add obscurity, not protection.",
        )
        acknowledge(
            self.cluster,
            "AwsSolutions-SMG4",
            "Rotating the admin secret needs a rotation Lambda with network access to both the "
            "cluster and Secrets Manager, i.e. an interface endpoint or NAT that bills around the "
            "clock; the secret is read only by the Data API and our functions, scoped by IAM.",
        )
