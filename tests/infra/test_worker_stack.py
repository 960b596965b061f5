"""The worker: SQS batches with partial failures, bounded concurrency, and migrations on every deploy."""

from __future__ import annotations

from pathlib import Path

from aws_cdk import App

from functions.manifest import FUNCTIONS
from skyglass.processing.deliveries import retry_delay_seconds
from skyglass.settings import Settings
from stacks.composition import cdk_json_context
from stacks.config import load_config
from stacks.constructs.migrations import fingerprint
from stacks.specs import AWS_ONLY
from tests.infra.conftest import (
    DEPLOY_NONCE,
    Synth,
    actions_of,
    function_by_handler,
    only,
    policy_statements,
    resources,
)

WORKER = FUNCTIONS["worker"]


def test_worker_consumes_the_queue_in_batches_reporting_item_failures(synth: Synth) -> None:
    # Given the worker stack's event source mapping
    mapping = only(synth.template_json("worker"), "AWS::Lambda::EventSourceMapping")["Properties"]
    # Then it takes the manifest's batch and window and reports failed items only
    assert mapping["BatchSize"] == WORKER["batch_size"]
    assert mapping["MaximumBatchingWindowInSeconds"] == WORKER["batching_window_s"]
    assert mapping["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    # And the pollers never outnumber the copies that may run
    assert mapping["ScalingConfig"] == {"MaximumConcurrency": synth.stacks.config.worker_reserved_concurrency}


def test_retryable_failures_come_back_before_the_visibility_timeout(synth: Synth) -> None:
    # Given the queue's visibility timeout
    queue = next(
        r["Properties"]
        for r in resources(synth.template_json("data"), "AWS::SQS::Queue").values()
        if "RedrivePolicy" in r["Properties"]
    )
    # Then the worker's sooner retry is always sooner, and its wait for Aurora fits its timeout
    assert all(retry_delay_seconds(n) < queue["VisibilityTimeout"] for n in range(1, 10))
    assert 2 * Settings().meta_resume_wait_seconds <= WORKER["timeout_s"]


def test_worker_reserved_concurrency_protects_clickhouse(synth: Synth) -> None:
    # Given the worker function
    _, worker = function_by_handler(synth.template_json("worker"), WORKER["handler"])
    props = worker["Properties"]
    # Then its concurrency is reserved (the knob) and its size comes from the manifest
    assert props["ReservedConcurrentExecutions"] == synth.stacks.config.worker_reserved_concurrency == 4
    assert props["MemorySize"] == WORKER["memory_mb"]
    assert props["Timeout"] == WORKER["timeout_s"]
    assert props["Architectures"] == ["arm64"]


def test_worker_reads_raw_events_and_writes_analytics_but_cannot_ingest(synth: Synth) -> None:
    # Given the worker's role
    template = synth.template_json("worker")
    _, worker = function_by_handler(template, WORKER["handler"])
    actions = actions_of(policy_statements(template, worker["Properties"]["Role"]["Fn::GetAtt"][0]))
    # Then it may consume the queue, read blobs, use the Data API and read the ClickHouse secret
    assert {
        "sqs:ReceiveMessage",
        "sqs:DeleteMessage",
        "sqs:ChangeMessageVisibility",  # retryable failures come back sooner than the timeout
        "s3:GetObject",
        "rds-data:ExecuteStatement",
        "secretsmanager:GetSecretValue",
    } <= actions
    # And it cannot write raw events or send messages
    assert "s3:PutObject" not in actions
    assert "sqs:SendMessage" not in actions


def test_migrations_run_on_every_deploy_as_a_custom_resource(synth: Synth) -> None:
    # Given the worker stack
    template = synth.template_json("worker")
    resource = only(template, "Custom::SkyglassMigrations")
    # Then the custom resource carries this synth's nonce (so every deploy re-runs it, whatever
    # changed) and the current migrations fingerprint
    assert resource["Properties"]["DeployNonce"] == DEPLOY_NONCE == synth.stacks.config.deploy_nonce
    assert resource["Properties"]["Fingerprint"] == fingerprint()
    # And its provider calls the migrate function
    migrate_id, migrate = function_by_handler(template, AWS_ONLY["migrate"].handler)
    assert migrate["Properties"]["Timeout"] == AWS_ONLY["migrate"].timeout_s
    framework = [
        r
        for r in template["Resources"].values()
        if r["Type"] == "AWS::Lambda::Function" and migrate_id in str(r["Properties"].get("Environment"))
    ]
    assert len(framework) == 1


def test_each_synth_without_a_pinned_nonce_gets_a_new_one() -> None:
    # Given the context of `cdk deploy` (no skyglass:deploy_nonce)
    context = cdk_json_context()
    # When two deploys synthesize their config
    first, second = (load_config(App(context=context)).deploy_nonce for _ in range(2))
    # Then each has its own nonce, and a pinned one is kept as given
    assert first and second and first != second
    assert load_config(App(context={**context, "skyglass:deploy_nonce": "n1"})).deploy_nonce == "n1"


def test_worker_starts_only_after_the_migrations(synth: Synth) -> None:
    # Given the worker function
    template = synth.template_json("worker")
    _, worker = function_by_handler(template, WORKER["handler"])
    migration_id = next(
        k for k, r in template["Resources"].items() if r["Type"] == "Custom::SkyglassMigrations"
    )
    # Then CloudFormation creates it (and so its queue mapping) after the migrations ran
    assert migration_id in worker.get("DependsOn", [])
    # And the API stack deploys after the worker stack
    assert synth.stacks.worker in synth.stacks.api.dependencies


def test_fingerprint_follows_the_migration_files(tmp_path: Path) -> None:
    # Given a folder of migrations
    folder = tmp_path / "migrations"
    folder.mkdir()
    (folder / "0001.sql").write_text("CREATE TABLE a (x Int8)")
    before = fingerprint([folder])
    # When a migration is added
    (folder / "0002.sql").write_text("ALTER TABLE a ADD COLUMN y Int8")
    # Then the fingerprint changes, and it is stable otherwise
    assert fingerprint([folder]) != before
    assert fingerprint([folder]) == fingerprint([folder])
