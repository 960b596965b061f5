"""The stateful stack: bucket, queues, Aurora, secrets — secure, retained, scale-to-zero."""

from __future__ import annotations

import json

from aws_cdk.assertions import Match

from stacks.constructs.ingest_queue import MAX_RECEIVE_COUNT
from stacks.specs import function_spec
from tests.infra.conftest import STAGE, Synth, only, resources


def test_event_bucket_is_private_encrypted_tls_only_with_ia_lifecycle(synth: Synth) -> None:
    # Given the data stack's template
    template = synth.template("data")
    # Then the event bucket is SSE, blocks public access, logs access, and moves raw/ to IA after 30 days
    template.has_resource_properties(
        "AWS::S3::Bucket",
        {
            "BucketName": {
                "Fn::Join": [
                    "",
                    [f"skyglass-{STAGE}-events-", {"Ref": "AWS::AccountId"}, "-", {"Ref": "AWS::Region"}],
                ]
            },
            "BucketEncryption": {
                "ServerSideEncryptionConfiguration": [
                    {"ServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}
                ]
            },
            "PublicAccessBlockConfiguration": {
                "BlockPublicAcls": True,
                "BlockPublicPolicy": True,
                "IgnorePublicAcls": True,
                "RestrictPublicBuckets": True,
            },
            "LoggingConfiguration": {"DestinationBucketName": Match.any_value(), "LogFilePrefix": "events/"},
            "LifecycleConfiguration": {
                "Rules": Match.array_with(
                    [
                        Match.object_like(
                            {
                                "Prefix": "raw/",
                                "Status": "Enabled",
                                "Transitions": [{"StorageClass": "STANDARD_IA", "TransitionInDays": 30}],
                            }
                        )
                    ]
                )
            },
        },
    )


def test_every_bucket_denies_plain_http_and_old_tls(synth: Synth) -> None:
    # Given the data stack's bucket policies
    template = synth.template_json("data")
    policies = resources(template, "AWS::S3::BucketPolicy")
    # Then each of the two buckets denies aws:SecureTransport=false and TLS < 1.2
    assert len(policies) == 2
    for policy in policies.values():
        denies = [s for s in policy["Properties"]["PolicyDocument"]["Statement"] if s["Effect"] == "Deny"]
        conditions = json.dumps([s["Condition"] for s in denies])
        assert '"aws:SecureTransport": "false"' in conditions
        assert '"s3:TlsVersion": 1.2' in conditions


def test_ingest_queue_dead_letters_after_five_receives_encrypted_tls_only(synth: Synth) -> None:
    # Given the data stack's template
    template = synth.template("data")
    worker = function_spec("worker")
    # Then the ingest queue redrives to the DLQ after 5 receives and outlasts the worker six times over
    template.has_resource_properties(
        "AWS::SQS::Queue",
        {
            "RedrivePolicy": {"deadLetterTargetArn": Match.any_value(), "maxReceiveCount": MAX_RECEIVE_COUNT},
            "SqsManagedSseEnabled": True,
            "VisibilityTimeout": 6 * worker.timeout_s + worker.batching_window_s,
        },
    )
    assert MAX_RECEIVE_COUNT == 5
    # And both queues are encrypted and deny non-TLS access
    template.resource_properties_count_is("AWS::SQS::Queue", {"SqsManagedSseEnabled": True}, 2)
    template.resource_properties_count_is(
        "AWS::SQS::QueuePolicy",
        {
            "PolicyDocument": {
                "Statement": Match.array_with(
                    [
                        Match.object_like(
                            {"Effect": "Deny", "Condition": {"Bool": {"aws:SecureTransport": "false"}}}
                        )
                    ]
                )
            }
        },
        2,
    )


def test_aurora_scales_to_zero_with_data_api_encrypted_and_protected(synth: Synth) -> None:
    # Given the data stack's Aurora cluster
    cluster = only(synth.template_json("data"), "AWS::RDS::DBCluster")
    props = cluster["Properties"]
    # Then it is Serverless v2 that pauses at 0 ACU, with the Data API, encryption and protection on
    assert props["Engine"] == "aurora-postgresql"
    assert props["EngineVersion"] == "18.4"
    assert props["ServerlessV2ScalingConfiguration"]["MinCapacity"] == 0
    assert props["ServerlessV2ScalingConfiguration"]["SecondsUntilAutoPause"] == 300
    assert props["EnableHttpEndpoint"] is True
    assert props["StorageEncrypted"] is True
    assert props["DeletionProtection"] is True
    assert props["BackupRetentionPeriod"] == 7
    assert cluster["DeletionPolicy"] == "Retain"
    # And its one instance is serverless and private
    instance = only(synth.template_json("data"), "AWS::RDS::DBInstance")["Properties"]
    assert instance["DBInstanceClass"] == "db.serverless"
    assert instance["PubliclyAccessible"] is False


def test_aurora_credentials_live_in_secrets_manager(synth: Synth) -> None:
    # Given the data stack's cluster
    props = only(synth.template_json("data"), "AWS::RDS::DBCluster")["Properties"]
    # Then the master password is resolved from a generated secret, never written in the template
    assert "{{resolve:secretsmanager:" in json.dumps(props["MasterUserPassword"])


def test_vpc_is_isolated_without_nat_or_internet_gateway(synth: Synth) -> None:
    # Given the data stack's network
    template = synth.template("data")
    # Then there are two isolated subnets and nothing that routes to the internet (nothing always on)
    template.resource_count_is("AWS::EC2::VPC", 1)
    template.resource_count_is("AWS::EC2::Subnet", 2)
    for kind in (
        "AWS::EC2::NatGateway",
        "AWS::EC2::InternetGateway",
        "AWS::EC2::EIP",
        "AWS::EC2::VPCEndpoint",
    ):
        template.resource_count_is(kind, 0)
    template.all_resources_properties("AWS::EC2::Subnet", {"MapPublicIpOnLaunch": False})


def test_clickhouse_secret_is_created_with_a_generated_password(synth: Synth) -> None:
    # Given no clickhouse_secret_arn in context
    template = synth.template("data")
    # Then a named secret holds a username and a generated password
    template.has_resource_properties(
        "AWS::SecretsManager::Secret",
        {
            "Name": f"skyglass/{STAGE}/clickhouse",
            "GenerateSecretString": Match.object_like({"GenerateStringKey": "password"}),
        },
    )


def test_every_data_resource_is_retained_and_the_stack_is_termination_protected(synth: Synth) -> None:
    # Given the data stack
    template = synth.template_json("data")
    # Then every resource survives a stack deletion or replacement
    not_retained = [k for k, r in template["Resources"].items() if r.get("DeletionPolicy") != "Retain"]
    assert not_retained == []
    assert {r.get("UpdateReplacePolicy") for r in template["Resources"].values()} == {"Retain"}
    # And the stack itself cannot be deleted by accident
    assert synth.stacks.data.termination_protection is True
    manifest = json.loads((synth.outdir / "manifest.json").read_text())
    assert manifest["artifacts"][synth.stacks.data.artifact_id]["properties"]["terminationProtection"] is True


def test_data_stack_outputs_what_operators_need(synth: Synth) -> None:
    # Given the data stack's outputs
    outputs = synth.template_json("data")["Outputs"]
    # Then the CLI (keys, replay, redrive) finds every stateful resource there
    for name in (
        "EventBucketName",
        "QueueUrl",
        "DeadLetterQueueUrl",
        "AuroraClusterArn",
        "AuroraSecretArn",
        "AuroraDatabase",
        "ClickHouseSecretArn",
    ):
        assert name in outputs, name
