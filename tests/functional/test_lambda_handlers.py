"""The Lambda handlers end to end, in-process, on the AWS adapters.

S3, SQS (with its DLQ) and Secrets Manager are moto; Aurora is the Data API double over a real
throwaway PostgreSQL; the bring-your-own ClickHouse is the ClickHouse HTTP test server (its
password in Secrets Manager). Events are what API Gateway (HTTP API, payload v2), SQS and the CDK
Provider framework send; handlers are configured only through ``SKYGLASS_*`` variables.
"""

from __future__ import annotations

import base64
import importlib.util
import json
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import boto3
import moto.sqs.models as moto_sqs
import pytest
from moto import mock_aws

from functions.api.handler import handler as api_handler
from functions.ingest.handler import handler as ingest_handler
from functions.manifest import FUNCTIONS
from functions.migrate.handler import handler as migrate_handler
from functions.worker.handler import handler as worker_handler
from skyglass.adapters import secrets
from skyglass.bootstrap import reset_function_runtimes
from skyglass.contracts.messages import QueueMessage
from skyglass.local import cli as cli_module
from skyglass.local.cli import main as cli
from skyglass.ports.keys import entry_id
from skyglass.processing.deliveries import retry_delay_seconds
from tests.support.api import basic_auth, make_event
from tests.support.clickhouse_http import ChdbHttpServer
from tests.support.data_api import FakeRdsData, data_api_double

pytestmark = pytest.mark.postgres

BUCKET, QUEUE, DLQ = "skyglass-raw", "skyglass-ingest", "skyglass-ingest-dlq"
# The data stack's visibility timeout: six times the worker's timeout plus its batching window.
VISIBILITY_SECONDS = 6 * FUNCTIONS["worker"]["timeout_s"] + FUNCTIONS["worker"]["batching_window_s"]
PK, SK = "pk-sg-lambda", "sk-sg-lambda"
CH_PASSWORD = "ch/p@ss word"


@dataclass
class LambdaContext:
    function_name: str = "skyglass-test"
    memory_limit_in_mb: int = 512
    invoked_function_arn: str = "arn:aws:lambda:us-east-1:123456789012:function:skyglass-test"
    aws_request_id: str = "req-1"

    def get_remaining_time_in_millis(self) -> int:
        return 60_000


@dataclass
class Stack:
    """A deployed stack (the handlers see it through their ``SKYGLASS_*`` environment)."""

    aurora: FakeRdsData
    clickhouse: ChdbHttpServer
    sqs: Any
    s3: Any
    queue_url: str
    dlq_url: str


@pytest.fixture
def stack(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, fresh_postgres_url: str) -> Iterator[Stack]:
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"):
        monkeypatch.setenv(name, "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    with (
        mock_aws(),
        data_api_double(fresh_postgres_url) as aurora,
        ChdbHttpServer(tmp_path / "clickhouse", password=CH_PASSWORD) as clickhouse,
    ):
        s3, sqs = boto3.client("s3"), boto3.client("sqs")
        s3.create_bucket(Bucket=BUCKET)
        dlq_url = sqs.create_queue(QueueName=DLQ)["QueueUrl"]
        dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq_url, AttributeNames=["QueueArn"])["Attributes"][
            "QueueArn"
        ]
        policy = json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": 2})
        attributes = {"RedrivePolicy": policy, "VisibilityTimeout": str(VISIBILITY_SECONDS)}
        queue_url = sqs.create_queue(QueueName=QUEUE, Attributes=attributes)["QueueUrl"]
        secret = boto3.client("secretsmanager").create_secret(
            Name="skyglass/clickhouse", SecretString=json.dumps({"password": CH_PASSWORD})
        )
        secrets.set_client_factory(lambda: boto3.client("secretsmanager"))
        env = {
            "SKYGLASS_BLOB_URL": f"s3://{BUCKET}",
            "SKYGLASS_QUEUE_URL": queue_url,
            "SKYGLASS_META_URL": aurora.url,
            "SKYGLASS_ANALYTICS_URL": f"clickhouse://default@127.0.0.1:{clickhouse.port}/default",
            "SKYGLASS_ANALYTICS_SECRET_ARN": secret["ARN"],
            "SKYGLASS_KEYS_URL": f"s3://{BUCKET}/keys",
        }
        for name, value in env.items():
            monkeypatch.setenv(name, value)
        reset_function_runtimes()
        try:
            yield Stack(aurora, clickhouse, sqs, s3, queue_url, dlq_url)
        finally:
            reset_function_runtimes()
            secrets.set_client_factory(None)


def deploy(stack: Stack) -> None:
    """What `cdk deploy` and the operator do: run the migrate custom resource, create a key."""
    reply = migrate_handler({"RequestType": "Create", "ResourceProperties": {}}, LambdaContext())
    assert reply["PhysicalResourceId"] == "skyglass-migrations"
    assert cli(["keys", "create", "--project", "shop", "--public-key", PK, "--secret-key", SK]) == 0


def http(
    handler: Any, method: str, path: str, *, auth: str | None = basic_auth(PK, SK), **kwargs: Any
) -> Any:
    headers = {"authorization": auth} if auth else {}
    result = handler(make_event(method, path, headers=headers, **kwargs), LambdaContext())
    body = result.get("body") or ""
    if result.get("isBase64Encoded"):
        body = base64.b64decode(body).decode()
    return result["statusCode"], {k.lower(): v for k, v in result.get("headers", {}).items()}, body


def receive(stack: Stack, url: str | None = None) -> list[dict[str, Any]]:
    """What the SQS event source mapping would hand the worker next (up to 10 messages)."""
    return stack.sqs.receive_message(
        QueueUrl=url or stack.queue_url, MaxNumberOfMessages=10, MessageSystemAttributeNames=["All"]
    ).get("Messages", [])


def receive_after(stack: Stack, failed: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Make failed deliveries visible at once (their visibility timeout ran out), then receive."""
    for m in failed:
        stack.sqs.change_message_visibility(
            QueueUrl=stack.queue_url, ReceiptHandle=m["ReceiptHandle"], VisibilityTimeout=0
        )
    return receive(stack)


def sqs_event(messages: list[dict[str, Any]]) -> dict[str, Any]:
    """The event the SQS event source mapping hands the worker."""
    arn = f"arn:aws:sqs:us-east-1:123456789012:{QUEUE}"
    return {
        "Records": [
            {
                "messageId": m["MessageId"],
                "receiptHandle": m["ReceiptHandle"],
                "body": m["Body"],
                "attributes": m.get("Attributes", {}),
                "messageAttributes": {},
                "md5OfBody": m.get("MD5OfBody", ""),
                "eventSource": "aws:sqs",
                "eventSourceARN": arn,
                "awsRegion": "us-east-1",
            }
            for m in messages
        ]
    }


BATCH = {
    "batch": [
        {
            "id": "e1",
            "type": "trace-create",
            "timestamp": "2026-01-01T10:00:00Z",
            "body": {"id": "t1", "name": "checkout", "userId": "u1"},
        },
        {
            "id": "e2",
            "type": "generation-create",
            "timestamp": "2026-01-01T10:00:01Z",
            "body": {"id": "g1", "traceId": "t1", "startTime": "2026-01-01T10:00:01Z", "model": "gpt-4o"},
        },
    ]
}


def test_ingest_then_worker_then_api_returns_the_trace(stack: Stack):
    deploy(stack)
    # Given Aurora is paused for the whole ingest phase (every Data API call would fail)
    calls_before = stack.aurora.count()
    stack.aurora.resume_after(10**6)
    # When an SDK sends a batch and a score to the ingest function
    status, _, body = http(ingest_handler, "POST", "/api/public/ingestion", body=BATCH)
    assert status == 207, body
    assert [r["status"] for r in json.loads(body)["successes"]] == [201, 201]
    score = {"id": "s1", "traceId": "t1", "name": "quality", "value": 0.9}
    status, _, body = http(ingest_handler, "POST", "/api/public/scores", body=score)
    assert status == 200, body
    # And a wrong key is refused
    assert (
        http(ingest_handler, "POST", "/api/public/ingestion", body=BATCH, auth=basic_auth(PK, "nope"))[0]
        == 401
    )
    # Then nothing asked Aurora, each accepted request is one S3 object and one SQS message
    assert stack.aurora.count() == calls_before
    stack.aurora.resume_after(0)
    raw = [o["Key"] for o in stack.s3.list_objects_v2(Bucket=BUCKET, Prefix="raw/").get("Contents", [])]
    assert len(raw) == 2
    messages = receive(stack)
    assert sorted(QueueMessage.model_validate_json(m["Body"]).blob_key for m in messages) == sorted(raw)
    # When the worker gets them as an SQS batch
    assert worker_handler(sqs_event(messages), LambdaContext()) == {"batchItemFailures": []}
    # Then the api function returns the trace with its generation and score
    status, _, body = http(api_handler, "GET", "/api/public/traces/t1")
    assert status == 200, body
    trace = json.loads(body)
    assert trace["name"] == "checkout" and trace["userId"] == "u1"
    assert [o["id"] for o in trace["observations"]] == ["g1"]
    assert [s["value"] for s in trace["scores"]] == [0.9]


def missing_blob_message() -> QueueMessage:
    """A queue message naming a blob that does not exist (a poison message)."""
    return QueueMessage(
        blob_key=f"raw/2026/01/01/10/1767261600000-ingestion-x-{uuid.uuid4().hex}.json",
        project_id="x",
        kind="ingestion",
        received_at=datetime(2026, 1, 1, 10, tzinfo=UTC),
    )


def test_a_poison_message_is_reported_alone_then_dead_lettered_and_redriven(
    stack: Stack, capsys: pytest.CaptureFixture[str]
):
    deploy(stack)
    # Given one good request and a message naming a blob that does not exist
    assert http(ingest_handler, "POST", "/api/public/ingestion", body=BATCH)[0] == 207
    poison = missing_blob_message()
    stack.sqs.send_message(QueueUrl=stack.queue_url, MessageBody=poison.model_dump_json())
    stack.sqs.send_message(QueueUrl=stack.queue_url, MessageBody="not a queue message")
    messages = receive(stack)
    assert len(messages) == 3
    # When the worker processes the batch
    reply = worker_handler(sqs_event(messages), LambdaContext())
    # Then exactly the two bad records are reported, the good one is not
    bad = {m["MessageId"] for m in messages if "raw/" not in m["Body"] or poison.blob_key in m["Body"]}
    assert {f["itemIdentifier"] for f in reply["batchItemFailures"]} == bad
    assert http(api_handler, "GET", "/api/public/traces/t1")[0] == 200
    # When SQS redelivers the failures past maxReceiveCount (the ESM deletes the successes)
    good = [m for m in messages if m["MessageId"] not in bad]
    stack.sqs.delete_message(QueueUrl=stack.queue_url, ReceiptHandle=good[0]["ReceiptHandle"])
    again = receive_after(stack, [m for m in messages if m["MessageId"] in bad])
    assert {m["MessageId"] for m in again} == bad
    assert receive_after(stack, again) == []
    # Then they are in the dead-letter queue, and `skyglass redrive` brings them back
    assert cli(["redrive"]) == 0
    assert "moved 2 messages" in capsys.readouterr().out
    assert receive(stack, stack.dlq_url) == []
    assert len(receive(stack)) == 2


def test_replay_from_s3_reenqueues_every_blob(stack: Stack, capsys: pytest.CaptureFixture[str]):
    deploy(stack)
    # Given two accepted requests, processed and acknowledged
    for _ in range(2):
        assert http(ingest_handler, "POST", "/api/public/ingestion", body=BATCH)[0] == 207
    for m in receive(stack):
        stack.sqs.delete_message(QueueUrl=stack.queue_url, ReceiptHandle=m["ReceiptHandle"])
    # When the operator replays the raw log with the CLI, configured like the stack
    assert cli(["replay", "--since", "2000-01-01T00:00:00Z"]) == 0
    # Then both blobs are back on the queue
    assert "re-enqueued 2 blobs" in capsys.readouterr().out
    assert len(receive(stack)) == 2


def test_api_answers_503_with_retry_after_while_aurora_resumes(stack: Stack):
    deploy(stack)
    # Given Aurora is resuming from auto-pause
    stack.aurora.resume_after(1)
    # When a route that needs the metadata store is called (auth itself reads the projection)
    status, headers, body = http(api_handler, "GET", "/api/public/projects")
    # Then the answer is an immediate, retryable 503, and the next call succeeds
    assert status == 503, body
    assert headers["retry-after"] == "10"
    status, _, body = http(api_handler, "GET", "/api/public/projects")
    assert status == 200 and json.loads(body)["data"][0]["name"] == "shop"


@contextmanager
def sqs_clock_ahead(seconds: float) -> Iterator[None]:
    """Let moto's SQS see the time ``seconds`` later (visibility timeouts run out meanwhile)."""
    real_s, real_ms = moto_sqs.unix_time, moto_sqs.unix_time_millis
    moto_sqs.unix_time = lambda dt=None: real_s(dt) + seconds  # type: ignore[assignment]
    moto_sqs.unix_time_millis = lambda dt=None: real_ms(dt) + seconds * 1000  # type: ignore[assignment]
    try:
        yield
    finally:
        moto_sqs.unix_time, moto_sqs.unix_time_millis = real_s, real_ms


def test_a_cold_worker_waits_for_aurora_to_resume_instead_of_failing_the_batch(stack: Stack):
    deploy(stack)
    # Given an accepted batch with a priced generation, and a worker that has never run (no
    # cached project models) while Aurora is paused: its first Data API call answers "resuming"
    assert http(ingest_handler, "POST", "/api/public/ingestion", body=BATCH)[0] == 207
    reset_function_runtimes()
    stack.aurora.resume_after(1)
    calls = stack.aurora.count("execute_statement")
    # When the worker gets the batch
    reply = worker_handler(sqs_event(receive(stack)), LambdaContext())
    # Then it waited for the resume and processed everything: nothing to retry
    assert reply == {"batchItemFailures": []}
    assert stack.aurora.count("execute_statement") > calls + 1  # the refused call, then the real read
    status, _, body = http(api_handler, "GET", "/api/public/observations/g1")
    assert status == 200, body
    assert json.loads(body)["model"] == "gpt-4o"


def test_items_still_failing_retryably_come_back_soon_and_poison_keeps_the_full_timeout(
    stack: Stack, monkeypatch: pytest.MonkeyPatch
):
    deploy(stack)
    # Given a good request and a message naming a blob that does not exist
    assert http(ingest_handler, "POST", "/api/public/ingestion", body=BATCH)[0] == 207
    poison = missing_blob_message()
    stack.sqs.send_message(QueueUrl=stack.queue_url, MessageBody=poison.model_dump_json())
    messages = receive(stack)
    good = next(m["MessageId"] for m in messages if poison.blob_key not in m["Body"])
    # And a cold worker allowed no wait, while Aurora stays paused
    monkeypatch.setenv("SKYGLASS_META_RESUME_WAIT_SECONDS", "0")
    reset_function_runtimes()
    stack.aurora.resume_after(10**6)
    # When the worker gets both
    reply = worker_handler(sqs_event(messages), LambdaContext())
    # Then both are reported failed and hidden for now
    assert len(reply["batchItemFailures"]) == 2
    assert receive(stack) == []
    # And 31 s later (far short of the queue's visibility timeout) only the retryable one is back
    with sqs_clock_ahead(retry_delay_seconds(1) + 1):
        again = receive(stack)
    assert [m["MessageId"] for m in again] == [good]
    assert again[0]["Attributes"]["ApproximateReceiveCount"] == "2"
    # And once Aurora is up it goes through; the poison waits out the full visibility timeout
    stack.aurora.resume_after(0)
    assert worker_handler(sqs_event(again), LambdaContext()) == {"batchItemFailures": []}
    with sqs_clock_ahead(VISIBILITY_SECONDS + 1):
        assert [poison.blob_key in m["Body"] for m in receive(stack)] == [True]


def test_the_key_cli_waits_for_a_paused_aurora_and_says_so(
    stack: Stack, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
):
    migrate_handler({"RequestType": "Create"}, LambdaContext())
    capsys.readouterr()
    # Given a paused cluster whose first Data API call answers "resuming"
    stack.aurora.resume_after(1)
    # When the operator creates a key
    assert cli(["keys", "create", "--project", "shop", "--public-key", PK, "--secret-key", SK]) == 0
    # Then it waited, telling the operator why, and the key works at the ingest function
    err = capsys.readouterr().err
    assert "the metadata database is resuming" in err and "retrying in 1 s" in err
    assert http(ingest_handler, "POST", "/api/public/ingestion", body=BATCH)[0] == 207
    # And when Aurora stays unavailable past the wait, it stops with the reason instead of a traceback
    monkeypatch.setattr(cli_module, "RESUME_WAIT_SECONDS", 0.0)
    stack.aurora.resume_after(10**6)
    assert cli(["keys", "create", "--project", "shop"]) == 1
    assert "error: the metadata database is resuming" in capsys.readouterr().err


def test_migrate_waits_out_a_resume_and_delete_is_a_no_op(stack: Stack):
    # Given a paused cluster that answers one call with DatabaseResumingException
    stack.aurora.resume_after(1)
    # When CloudFormation creates the migrations resource
    reply = migrate_handler({"RequestType": "Create"}, LambdaContext())
    # Then it retried and migrated both stores (and synced the still empty key projection)
    assert reply["Data"] == {"Stores": "meta,analytics", "Attempts": 2, "KeysProjected": 0}
    # And an Update re-applies (idempotently) and repairs the key projection; a Delete touches nothing
    assert cli(["keys", "create", "--project", "shop", "--public-key", PK, "--secret-key", SK]) == 0
    stack.s3.delete_object(Bucket=BUCKET, Key=f"keys/{entry_id(PK)}.json")  # the projection drifted
    updated = migrate_handler({"RequestType": "Update", "PhysicalResourceId": "x"}, LambdaContext())
    assert updated["PhysicalResourceId"] == "x" and updated["Data"]["KeysProjected"] == 1
    assert http(ingest_handler, "POST", "/api/public/ingestion", body=BATCH)[0] == 207
    calls = stack.aurora.count()
    assert migrate_handler({"RequestType": "Delete", "PhysicalResourceId": "x"}, LambdaContext()) == {
        "PhysicalResourceId": "x"
    }
    assert stack.aurora.count() == calls


@pytest.mark.skipif(importlib.util.find_spec("skyglass.api.otel") is None, reason="no OTLP router yet")
def test_an_otlp_export_goes_through_the_ingest_function(stack: Stack):
    deploy(stack)
    # Given an OpenTelemetry exporter's JSON export of one span
    trace_id = "5b8efff798038103d269b633813fc60c"
    span = {
        "traceId": trace_id,
        "spanId": "eee19b7ec3c1b174",
        "name": "otel-root",
        "kind": 1,
        "startTimeUnixNano": "1767261600000000000",
        "endTimeUnixNano": "1767261601000000000",
    }
    export = {"resourceSpans": [{"resource": {}, "scopeSpans": [{"scope": {"name": "t"}, "spans": [span]}]}]}
    # When it is posted to the ingest function, and the worker processes the queue
    status, _, body = http(ingest_handler, "POST", "/api/public/otel/v1/traces", body=export)
    assert status == 200, body
    assert worker_handler(sqs_event(receive(stack)), LambdaContext()) == {"batchItemFailures": []}
    # Then the api function returns the trace
    status, _, body = http(api_handler, "GET", f"/api/public/traces/{trace_id}")
    assert status == 200, body
    assert json.loads(body)["name"] == "otel-root"
