"""``POST /api/public/ingestion``, ``POST /api/public/scores`` and ``DELETE /scores/{id}`` through
the real resolver (API Gateway v2 events), plus the SDK v5 generated client against them."""

from __future__ import annotations

import gzip
import json
import logging
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from queue import Queue
from typing import Any

import httpx
import orjson
import pytest
from langfuse._task_manager.score_consumer import ScoreConsumer
from langfuse.api import LangfuseAPI
from langfuse.api.scores.types.create_score_batch_response import CreateScoreBatchResponse
from langfuse.api.scores.types.create_score_batch_results import CreateScoreBatchResults

from skyglass.adapters.blob.local import LocalBlobStore
from skyglass.api.app import handle
from skyglass.api.deps import ApiServices
from skyglass.auth.service import Authenticator
from skyglass.contracts.messages import BlobEnvelope, QueueMessage
from skyglass.domain.keys import display_secret, hash_secret, new_public_key, new_secret_key
from skyglass.errors import StoreUnavailable
from skyglass.ports.meta import StoredApiKey
from skyglass.settings import Settings
from tests.support.api import ApiClient, basic_auth, make_event
from tests.support.fake_analytics import FakeAnalyticsWriter
from tests.support.fakes import FakeBlobStore, FakeMetaStore, FakeQueue
from tests.support.openapi import assert_matches_schema

EVENTS = Path(__file__).resolve().parents[1] / "events"
TS = "2026-01-01T10:00:00.000Z"


@dataclass
class Env:
    client: ApiClient
    services: ApiServices
    project_id: str
    public_key: str
    secret_key: str
    analytics: FakeAnalyticsWriter

    @property
    def bearer(self) -> str:
        return f"Bearer {self.public_key}"

    def envelopes(self) -> list[BlobEnvelope]:
        blobs = self.services.blobs
        return [BlobEnvelope.model_validate_json(blobs.get(key)) for key in blobs.list_keys()]

    def messages(self) -> list[QueueMessage]:
        return [QueueMessage.model_validate_json(m.body) for m in self.services.queue.receive(100)]


def make_env(tmp_path: Path, blobs: Any = None, queue: Any = None, **settings: Any) -> Env:
    meta = FakeMetaStore()
    org = meta.ensure_organization("org")
    project = meta.ensure_project(org.id, "proj")
    public_key, secret_key = new_public_key(), new_secret_key()
    meta.add_api_key(
        StoredApiKey(
            id="key-1",
            project_id=project.id,
            public_key=public_key,
            secret_hash=hash_secret(secret_key),
            display_secret_key=display_secret(secret_key),
            created_at=datetime.now(UTC),
        )
    )
    analytics = FakeAnalyticsWriter()
    services = ApiServices(
        settings=Settings(data_dir=tmp_path, **settings),
        blobs=blobs if blobs is not None else FakeBlobStore(),
        queue=queue if queue is not None else FakeQueue(),
        analytics=analytics,  # type: ignore[arg-type]
        meta=meta,
        authenticator=Authenticator(meta),
    )
    client = ApiClient(services, auth=basic_auth(public_key, secret_key))
    return Env(client, services, project.id, public_key, secret_key, analytics)


@pytest.fixture(params=["fake-blobs", "local-blobs"])
def env(request: pytest.FixtureRequest, tmp_path: Path) -> Env:
    blobs = LocalBlobStore(tmp_path / "blobs") if request.param == "local-blobs" else FakeBlobStore()
    return make_env(tmp_path, blobs=blobs)


def recorded(name: str) -> dict[str, Any]:
    return json.loads((EVENTS / name).read_text())


def event(event_id: str, event_type: str = "trace-create", **body: Any) -> dict[str, Any]:
    return {"id": event_id, "type": event_type, "timestamp": TS, "body": {"id": f"b-{event_id}", **body}}


# --- POST /ingestion --------------------------------------------------------------------------


def test_sdk_v2_batch_is_207_all_201_with_one_blob_and_one_message(env):
    # Given the batch langfuse 2.60.10 sent, with its headers
    rec = recorded("ingestion_sdk_v2_batch.json")
    # When it is posted
    reply = env.client.post("/api/public/ingestion", body=orjson.dumps(rec["body"]), headers=rec["headers"])
    # Then 207 with a 201 per event, in the spec's IngestionResponse shape
    assert reply.status == 207
    assert_matches_schema("IngestionResponse", reply.json())
    assert reply.json()["successes"] == [{"id": e["id"], "status": 201} for e in rec["body"]["batch"]]
    # And one blob holds the accepted events, named by one queue message
    [envelope] = env.envelopes()
    assert envelope.project_id == env.project_id
    assert [e["id"] for e in envelope.events] == [e["id"] for e in rec["body"]["batch"]]
    [message] = env.messages()
    assert message.blob_key == next(iter(env.services.blobs.list_keys()))


def test_mixed_batch_reports_per_event_errors_and_stores_the_rest(env):
    batch = [event("ok"), {"id": "bad", "type": "span-create", "timestamp": TS, "body": {}}, {"type": "x"}]
    reply = env.client.post("/api/public/ingestion", body={"batch": batch})
    assert reply.status == 207
    body = reply.json()
    assert_matches_schema("IngestionResponse", body)
    assert body["successes"] == [{"id": "ok", "status": 201}]
    assert [(e["id"], e["status"], e["message"]) for e in body["errors"]] == [
        ("bad", 400, "Invalid request data"),
        ("unknown", 400, "Invalid request data"),
    ]
    assert body["errors"][0]["error"] == "body.id: Field required"
    [envelope] = env.envelopes()
    assert envelope.events == [batch[0]]


@pytest.mark.parametrize(
    ("auth", "status"),
    [(None, 401), ("Basic bm9wZTpub3Bl", 401), ("Token abc", 401), ("Bearer pk-sg-unknown", 401)],
)
def test_bad_credentials_are_refused(tmp_path, auth, status):
    env = make_env(tmp_path)
    env.client.auth = auth
    reply = env.client.post("/api/public/ingestion", body={"batch": [event("e")]})
    assert reply.status == status
    assert set(reply.json()) >= {"message", "error"}
    assert env.envelopes() == []


def test_bearer_key_only_lands_scores(env):
    # Given a Bearer public key posting a trace and a score
    batch = [
        event("t"),
        {
            "id": "s",
            "type": "score-create",
            "timestamp": TS,
            "body": {"name": "q", "value": 1, "traceId": "t"},
        },
    ]
    reply = env.client.post(
        "/api/public/ingestion", body={"batch": batch}, headers={"authorization": env.bearer}
    )
    # Then the trace gets a per-event 401 and the score lands
    body = reply.json()
    assert reply.status == 207
    assert body["errors"] == [
        {"id": "t", "status": 401, "message": "Authentication error", "error": "Access Scope Denied"}
    ]
    assert body["successes"] == [{"id": "s", "status": 201}]
    assert [e["id"] for e in env.envelopes()[0].events] == ["s"]


def test_body_over_the_limit_is_413(tmp_path):
    env = make_env(tmp_path, max_body_bytes=1000)
    reply = env.client.post("/api/public/ingestion", body={"batch": [event("e", input="x" * 2000)]})
    assert reply.status == 413
    assert "1000 bytes" in reply.json()["message"]
    assert env.envelopes() == []


def test_non_json_content_type_is_415(env):
    reply = env.client.post(
        "/api/public/ingestion",
        body=b"batch=1",
        headers={"content-type": "application/x-www-form-urlencoded"},
    )
    assert reply.status == 415
    assert "application/json" in reply.json()["message"]


def test_malformed_json_is_400_with_the_position(env):
    reply = env.client.post(
        "/api/public/ingestion", body=b'{"batch": [1,]}', headers={"content-type": "application/json"}
    )
    assert reply.status == 400
    assert reply.json()["message"].startswith("Invalid JSON: ")
    assert "line 1 column" in reply.json()["message"]


@pytest.mark.parametrize("body", [[{"id": "e"}], {"batches": []}, {"batch": 3}])
def test_wrong_envelope_is_400(env, body):
    reply = env.client.post("/api/public/ingestion", body=body)
    assert reply.status == 400
    assert reply.json()["message"].startswith("Invalid request data: ")
    assert env.envelopes() == []


def test_gzip_request_is_accepted(env):
    data = gzip.compress(orjson.dumps({"batch": [event("g")]}))
    headers = {"content-type": "application/json", "content-encoding": "gzip"}
    reply = env.client.post("/api/public/ingestion", body=data, headers=headers)
    assert reply.status == 207 and reply.json()["successes"] == [{"id": "g", "status": 201}]


def test_backpressure_is_503_with_retry_after(tmp_path):
    # Given a queue deeper than the configured limit
    queue = FakeQueue()
    for _ in range(5):
        queue.send("{}")
    env = make_env(tmp_path, queue=queue, queue_backpressure_depth=4)
    # When a batch arrives
    reply = env.client.post("/api/public/ingestion", body={"batch": [event("e")]})
    # Then it is refused for now, with a hint when to retry
    assert reply.status == 503
    assert int(reply.headers["retry-after"]) > 0
    assert env.envelopes() == [] and queue.depth() == 5


class FailingBlobs(FakeBlobStore):
    def put(self, key: str, data: bytes) -> None:
        raise StoreUnavailable("bucket unreachable")


class FailingQueue(FakeQueue):
    def send(self, body: str) -> str:
        raise StoreUnavailable("queue unreachable")


def test_blob_store_failure_is_503_and_nothing_is_queued(tmp_path):
    env = make_env(tmp_path, blobs=FailingBlobs())
    reply = env.client.post("/api/public/ingestion", body={"batch": [event("e")]})
    assert reply.status == 503 and "retry-after" in reply.headers
    assert env.services.queue.depth() == 0


def test_queue_failure_is_503(tmp_path):
    env = make_env(tmp_path, queue=FailingQueue())
    reply = env.client.post("/api/public/ingestion", body={"batch": [event("e")]})
    assert reply.status == 503 and "retry-after" in reply.headers


def test_large_batch_is_one_blob(env):
    batch = [event(f"e{i}", "generation-create", traceId="t", usageDetails={"input": i}) for i in range(5000)]
    reply = env.client.post("/api/public/ingestion", body={"batch": batch})
    assert reply.status == 207
    assert len(reply.json()["successes"]) == 5000
    [envelope] = env.envelopes()
    assert len(envelope.events) == 5000
    assert [m.event_count for m in env.messages()] == [5000]


# --- POST /scores, DELETE /scores/{id} ---------------------------------------------------------


def test_score_object_with_bearer_key_is_200_with_id(env):
    reply = env.client.post(
        "/api/public/scores",
        body={"name": "q", "value": 1, "traceId": "t"},
        headers={"authorization": env.bearer},
    )
    assert reply.status == 200
    assert_matches_schema("CreateScoreResponse", reply.json())
    [envelope] = env.envelopes()
    assert envelope.events[0]["body"]["id"] == reply.json()["id"]


def test_score_array_is_202_or_207(env):
    rec = recorded("scores_sdk_v5_array.json")
    ok = env.client.post("/api/public/scores", body=orjson.dumps(rec["body"]), headers=rec["headers"])
    assert (ok.status, ok.json()) == (202, {"message": "Accepted"})
    mixed = env.client.post("/api/public/scores", body=[rec["body"][0], {"name": "q", "value": 1}])
    assert mixed.status == 207
    assert mixed.json()["accepted"] == 1 and mixed.json()["rejected"] == 1
    assert "exactly one of traceId" in mixed.json()["errors"][0]["message"]
    assert sorted(len(e.events) for e in env.envelopes()) == [1, 5]


@pytest.mark.parametrize(
    ("body", "text"),
    [
        ([], "empty"),
        ({"name": "q", "value": "x", "dataType": "NUMERIC", "traceId": "t"}, "must be a number"),
        ({"name": "q", "value": 1, "traceId": "t", "source": "ANNOTATION"}, "requires configId"),
        ({"name": "q", "value": 1, "observationId": "o"}, "observationId requires traceId"),
    ],
)
def test_invalid_scores_are_400(env, body, text):
    reply = env.client.post("/api/public/scores", body=body)
    assert reply.status == 400
    assert text in reply.json()["message"]
    assert env.envelopes() == []


def test_delete_score_is_202_and_deletes_in_the_project(env):
    reply = env.client.delete("/api/public/scores/score%2F1")
    assert reply.status == 202
    assert reply.json() == {"message": "Score deleted"}
    assert env.analytics.calls["delete_scores"] == 1


def test_delete_score_needs_basic_auth(env):
    reply = env.client.delete("/api/public/scores/s1", headers={"authorization": env.bearer})
    assert reply.status == 403
    assert env.analytics.calls["delete_scores"] == 0


# --- the SDK v5 generated client against these routes -----------------------------------------


def sdk_client(env: Env) -> LangfuseAPI:
    """``LangfuseAPI`` whose HTTP goes through the in-process resolver instead of a socket."""

    def handle(request: httpx.Request) -> httpx.Response:
        headers = {k: v for k, v in request.headers.items() if k.lower() not in ("host", "content-length")}
        reply = env.client.request(
            request.method, request.url.path, headers=headers, body=request.content or None
        )
        return httpx.Response(reply.status, headers=reply.headers, content=reply.text.encode())

    http = httpx.Client(transport=httpx.MockTransport(handle), base_url="http://skyglass.test")
    return LangfuseAPI(
        base_url="http://skyglass.test",
        username=env.public_key,
        password=env.secret_key,
        x_langfuse_sdk_name="python",
        x_langfuse_sdk_version="5.0.4",
        x_langfuse_public_key=env.public_key,
        httpx_client=http,
    )


@pytest.fixture
def sdk(tmp_path: Path) -> Iterator[tuple[Env, LangfuseAPI]]:
    env = make_env(tmp_path)
    yield env, sdk_client(env)


def test_sdk_parses_202_and_207_and_deletes(sdk):
    env, api = sdk
    good = {"name": "q", "value": 0.5, "traceId": "t", "timestamp": TS}
    # When the SDK's client posts a valid array, it gets the 202 model
    accepted = api.scores.create(request=[good])
    assert isinstance(accepted, CreateScoreBatchResponse)
    # When one score is invalid, it gets the 207 model with counts and messages
    partial = api.scores.create(request=[good, {"name": "q", "value": 1}])
    assert isinstance(partial, CreateScoreBatchResults)
    assert (partial.accepted, partial.rejected) == (1, 1)
    # And delete succeeds without raising
    assert api.scores.delete("some-score") is None
    assert env.analytics.calls["delete_scores"] == 1
    # And the SDK's attribution headers reached the blob
    assert {e.sdk.version for e in env.envelopes()} == {"5.0.4"}


def test_sdk_score_consumer_logs_a_207_and_not_a_202(sdk, caplog):
    env, api = sdk
    consumer = ScoreConsumer(score_queue=Queue(), identifier=0, api_client=api)
    good = {"id": "0123456789abcdef", "name": "q", "value": 1.0, "traceId": "t", "timestamp": TS}
    with caplog.at_level(logging.DEBUG, logger="langfuse"):
        consumer._upload_batch([good])
        assert "rejected" not in caplog.text
        consumer._upload_batch([good, {"name": "q", "value": 1.0, "sessionId": "s", "observationId": "o"}])
    assert "Langfuse accepted 1 and rejected 1 of 2 scores" in caplog.text
    assert len(env.envelopes()) == 2


def test_plain_text_event_bodies_are_read_too(env):
    # Given an API Gateway event whose body is not base64-encoded
    data = orjson.dumps({"batch": [event("p")]}).decode()
    raw = make_event(
        "POST",
        "/api/public/ingestion",
        headers={"content-type": "application/json", "authorization": env.client.auth or ""},
        body=data,
    )
    raw["body"], raw["isBase64Encoded"] = data, False
    # When it is handled
    result = handle(env.client.app, env.services, raw, None)
    # Then it is read like any other
    assert result["statusCode"] == 207
    assert json.loads(result["body"])["successes"] == [{"id": "p", "status": 201}]
