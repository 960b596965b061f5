"""The batch ingest use case: per-event verdicts, one blob + one message, and every refusal."""

from __future__ import annotations

import gzip
import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
import pytest

from skyglass.adapters.blob.local import LocalBlobStore
from skyglass.adapters.queue.local import LocalQueue
from skyglass.auth.service import ProjectScope
from skyglass.contracts.messages import BlobEnvelope, QueueMessage
from skyglass.errors import InvalidRequest, PayloadTooLarge, StoreUnavailable, UnsupportedMediaType
from skyglass.ingestion.batch import BatchResult, ingest_batch
from skyglass.ingestion.common import (
    BackpressureGate,
    HttpRequest,
    encode_envelope,
    iso_z,
    read_body,
    sdk_info,
)
from skyglass.settings import Settings
from tests.support.fakes import FakeBlobStore, FakeQueue

EVENTS = Path(__file__).resolve().parents[1] / "events"
TS = "2026-01-01T10:00:00.000Z"
NOW = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
PROJECT = ProjectScope(project_id="proj-1", public_key="pk-sg-1", access_level="project")
SCORES_ONLY = ProjectScope(project_id="proj-1", public_key="pk-sg-1", access_level="scores")


class Stores:
    """A blob store and a queue, read back the way the worker reads them."""

    def __init__(self, blobs: Any, queue: Any):
        self.blobs = blobs
        self.queue = queue

    def messages(self) -> list[QueueMessage]:
        received = self.queue.receive(max_messages=100)
        return [QueueMessage.model_validate_json(m.body) for m in received]

    def envelopes(self) -> list[BlobEnvelope]:
        return [BlobEnvelope.model_validate_json(self.blobs.get(k)) for k in self.blobs.list_keys()]


@pytest.fixture(params=["fake", "local"])
def stores(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Stores]:
    if request.param == "fake":
        yield Stores(FakeBlobStore(), FakeQueue())
        return
    queue = LocalQueue(tmp_path / "queue.db", visibility_seconds=30, max_receives=3)
    yield Stores(LocalBlobStore(tmp_path / "blobs"), queue)
    queue.close()


def settings(**overrides: Any) -> Settings:
    return Settings(data_dir=Path("/nonexistent"), **overrides)


def post(body: Any, headers: dict[str, str] | None = None) -> HttpRequest:
    data = body if isinstance(body, bytes) else orjson.dumps(body)
    return HttpRequest.of(data, {"content-type": "application/json", **(headers or {})})


def run(
    stores: Stores, request: HttpRequest, caller: ProjectScope = PROJECT, **overrides: Any
) -> BatchResult:
    return ingest_batch(
        request,
        caller,
        blobs=stores.blobs,
        queue=stores.queue,
        settings=settings(**overrides),
        now=NOW,
        gate=BackpressureGate(ttl_seconds=0),
    )


def event(event_id: str, event_type: str = "trace-create", **body: Any) -> dict[str, Any]:
    return {"id": event_id, "type": event_type, "timestamp": TS, "body": {"id": f"b-{event_id}", **body}}


def recorded_v2() -> dict[str, Any]:
    return json.loads((EVENTS / "ingestion_sdk_v2_batch.json").read_text())


def test_recorded_sdk_v2_batch_lands_as_one_blob_and_one_message(stores):
    # Given the batch langfuse 2.60.10 sent, with its underscore sdk headers
    rec = recorded_v2()
    request = post(rec["body"], rec["headers"])
    # When it is ingested
    result = run(stores, request)
    # Then every event succeeds with 201
    sent = rec["body"]["batch"]
    assert result.successes == [{"id": e["id"], "status": 201} for e in sent]
    assert result.errors == []
    # And exactly one blob holds every event as sent (scores only gain an explicit dataType)
    [envelope] = stores.envelopes()
    assert envelope.kind == "ingestion" and envelope.project_id == "proj-1"
    assert envelope.received_at == NOW
    assert [e["id"] for e in envelope.events] == [e["id"] for e in sent]
    for stored, original in zip(envelope.events, sent, strict=True):
        if original["type"] == "score-create":
            assert stored["body"] == {**original["body"], "dataType": stored["body"]["dataType"]}
        else:
            assert stored == original
    assert envelope.sdk.name == "python" and envelope.sdk.version == "2.60.10"
    assert envelope.sdk.public_key == "pk-lf-test"
    # And one queue message names that blob
    [message] = stores.messages()
    assert message.blob_key == result.blob_key == next(iter(stores.blobs.list_keys()))
    assert message.event_count == len(sent) and message.kind == "ingestion"
    assert message.project_id == "proj-1"


def test_mixed_batch_stores_only_the_valid_events(stores):
    # Given a batch with valid and invalid events in between
    batch = [
        event("ok-1"),
        {"id": "bad-ts", "type": "trace-create", "timestamp": "2026-01-01T10:00:00", "body": {}},
        event("bad-type", "trace-delete"),
        {"type": "trace-create", "timestamp": TS, "body": {}},
        event("ok-2", "span-create"),
    ]
    # When ingested
    result = run(stores, post({"batch": batch}))
    # Then each invalid event has its own 400 naming the field
    assert [(e["id"], e["status"]) for e in result.errors] == [
        ("bad-ts", 400),
        ("bad-type", 400),
        ("unknown", 400),
    ]
    assert all(e["message"] == "Invalid request data" for e in result.errors)
    assert result.errors[0]["error"].startswith("timestamp: must be an ISO-8601")
    assert "unknown event type 'trace-delete'" in result.errors[1]["error"]
    assert result.errors[2]["error"] == "id: Field required"
    # And the valid ones land, in order, unchanged
    assert [s["id"] for s in result.successes] == ["ok-1", "ok-2"]
    [envelope] = stores.envelopes()
    assert envelope.events == [batch[0], batch[4]]


def test_sdk_log_succeeds_but_is_not_stored(stores, caplog):
    # Given a batch holding only an sdk-log event
    batch = [{"id": "log-1", "type": "sdk-log", "timestamp": TS, "body": {"log": "flush failed"}}]
    # When ingested
    with caplog.at_level("INFO", logger="skyglass.ingestion.batch"):
        result = run(stores, post({"batch": batch}))
    # Then it is a success, logged, and nothing is written or queued
    assert result.successes == [{"id": "log-1", "status": 201}]
    assert "flush failed" in caplog.text
    assert result.blob_key is None
    assert stores.envelopes() == [] and stores.messages() == []


@pytest.mark.parametrize("batch", [[], [{"id": "x"}], ["not an event"]])
def test_nothing_is_written_when_nothing_is_accepted(stores, batch):
    result = run(stores, post({"batch": batch}))
    assert result.successes == []
    assert len(result.errors) == len(batch)
    assert stores.envelopes() == [] and stores.messages() == []


def test_bearer_key_may_only_send_scores_and_sdk_logs(stores):
    # Given a scores-only caller (Bearer public key) sending a trace, a score and a log
    batch = [
        event("t-1"),
        {
            "id": "s-1",
            "type": "score-create",
            "timestamp": TS,
            "body": {"name": "q", "value": 1, "traceId": "t"},
        },
        {"id": "l-1", "type": "sdk-log", "timestamp": TS, "body": {"log": {}}},
    ]
    # When ingested
    result = run(stores, post({"batch": batch}), caller=SCORES_ONLY)
    # Then the trace is refused with 401 and the rest succeeds
    assert result.errors == [
        {"id": "t-1", "status": 401, "message": "Authentication error", "error": "Access Scope Denied"}
    ]
    assert [s["id"] for s in result.successes] == ["s-1", "l-1"]
    [envelope] = stores.envelopes()
    assert [e["id"] for e in envelope.events] == ["s-1"]
    assert envelope.events[0]["body"]["dataType"] == "NUMERIC"


def test_invalid_events_get_400_even_outside_the_bearer_scope(stores):
    # Given an invalid trace from a scores-only caller: validation comes first, as in Langfuse
    result = run(stores, post({"batch": [event("t-1", timestamp=5)]}), caller=SCORES_ONLY)
    # Then the verdict is the validation error
    assert [(e["id"], e["status"]) for e in result.errors] == [("t-1", 400)]
    assert result.errors[0]["error"].startswith("body.timestamp:")


def test_oversized_event_is_refused_alone(stores):
    # Given a 3 kB limit per event and one event over it
    big = event("big", input="x" * 4000)
    result = run(stores, post({"batch": [event("small"), big]}), max_event_bytes=3000)
    # Then only that event fails, naming its size and the limit
    [error] = result.errors
    assert error["id"] == "big" and error["status"] == 400
    assert "the limit is 3000 bytes" in error["error"]
    [envelope] = stores.envelopes()
    assert [e["id"] for e in envelope.events] == ["small"]


def test_score_event_bodies_are_normalised_in_the_blob(stores):
    # Given a boolean score sent as JSON true without a dataType
    raw = {
        "id": "s-1",
        "type": "score-create",
        "timestamp": TS,
        "body": {"name": "ok", "value": True, "traceId": "t"},
    }
    run(stores, post({"batch": [raw]}))
    # Then the stored body carries a number and an explicit BOOLEAN type
    [envelope] = stores.envelopes()
    assert envelope.events[0]["body"] == {"name": "ok", "value": 1.0, "traceId": "t", "dataType": "BOOLEAN"}


def test_gzip_body_is_accepted(stores):
    data = gzip.compress(orjson.dumps({"batch": [event("z-1")]}))
    result = run(stores, post(data, {"content-encoding": "gzip"}))
    assert result.successes == [{"id": "z-1", "status": 201}]


def test_gzip_body_inflating_past_the_limit_is_413(stores):
    data = gzip.compress(orjson.dumps({"batch": [event("z-1", input="x" * 50_000)]}))
    with pytest.raises(PayloadTooLarge, match="limit of 10000 bytes"):
        run(stores, post(data, {"content-encoding": "gzip"}), max_body_bytes=10_000)
    assert stores.messages() == []


@pytest.mark.parametrize(
    ("request_", "error", "text"),
    [
        (
            post({"batch": []}, {"content-type": "text/plain"}),
            UnsupportedMediaType,
            "expected application/json",
        ),
        (post({"batch": []}, {"content-encoding": "br"}), UnsupportedMediaType, "content encoding 'br'"),
        (post(b'{"batch": [}'), InvalidRequest, "at line 1 column 12 (char 11)"),
        (post(b""), InvalidRequest, "Invalid JSON: the request body is empty"),
        (post(b"\x1f\x8b garbage", {"content-encoding": "gzip"}), InvalidRequest, "Invalid gzip body"),
        (post([event("e")]), InvalidRequest, "Invalid request data: body must be a JSON object"),
        (post({"events": []}), InvalidRequest, "batch: Field required"),
        (post({"batch": "x"}), InvalidRequest, "batch: must be an array"),
    ],
)
def test_request_level_problems_raise_and_store_nothing(stores, request_, error, text):
    with pytest.raises(error) as info:
        run(stores, request_)
    assert text in info.value.message
    assert stores.envelopes() == [] and stores.messages() == []


def test_json_content_type_variants_are_accepted(stores):
    for content_type in ("application/json; charset=utf-8", "application/vnd.api+json", "APPLICATION/JSON"):
        request = post({"batch": [event("e")]}, {"content-type": content_type})
        assert run(stores, request).successes == [{"id": "e", "status": 201}]


def test_backpressure_refuses_with_retry_after_before_parsing(stores):
    # Given a queue already deeper than the limit
    for _ in range(3):
        stores.queue.send("{}")
    # When even a malformed body arrives
    with pytest.raises(StoreUnavailable) as info:
        run(stores, post(b"{not json"), queue_backpressure_depth=2)
    # Then the answer is 503 with Retry-After, and nothing is added
    assert info.value.status == 503
    assert int(info.value.headers["Retry-After"]) > 0
    assert "backed up (3 queued" in info.value.message
    assert stores.queue.depth() == 3


class BrokenBlobs(FakeBlobStore):
    def put(self, key: str, data: bytes) -> None:
        raise OSError("disk full at /secret/path")


class BrokenQueue(FakeQueue):
    def send(self, body: str) -> str:
        raise StoreUnavailable("sqs down", retry_after=7)


def test_blob_write_failure_is_503_and_nothing_is_queued():
    # Given a blob store that fails
    stores = Stores(BrokenBlobs(), FakeQueue())
    # When a valid batch arrives
    with pytest.raises(StoreUnavailable) as info:
        run(stores, post({"batch": [event("e")]}))
    # Then the client is told to retry, without the provider's details, and no message exists
    assert info.value.status == 503 and "Retry-After" in info.value.headers
    assert "/secret/path" not in info.value.message
    assert stores.queue.depth() == 0


def test_queue_failure_is_503_and_the_blob_is_kept():
    # Given a queue that fails after the blob was written
    stores = Stores(FakeBlobStore(), BrokenQueue())
    with pytest.raises(StoreUnavailable) as info:
        run(stores, post({"batch": [event("e")]}))
    # Then the client retries (503, the queue's Retry-After) and the blob stays for replay
    assert info.value.headers["Retry-After"] == "7"
    assert len(stores.blobs.blobs) == 1


def test_large_batch_lands_in_one_blob(stores):
    # Given 5,000 events
    batch = [event(f"e-{i}", "span-create", traceId="t", input={"i": i}) for i in range(5000)]
    result = run(stores, post({"batch": batch}))
    # Then all succeed and one blob holds them all
    assert len(result.successes) == 5000 and result.errors == []
    [envelope] = stores.envelopes()
    assert envelope.events == batch
    [message] = stores.messages()
    assert message.event_count == 5000


# --- helpers of ingestion.common ---------------------------------------------------------------


def test_encoded_envelope_reads_back_as_the_same_model():
    envelope = BlobEnvelope(kind="ingestion", project_id="p", received_at=NOW).model_copy(
        update={"events": [event("e", metadata={"k": [1, None, "x"]})]}
    )
    assert BlobEnvelope.model_validate_json(encode_envelope(envelope)) == envelope
    assert orjson.loads(encode_envelope(envelope)) == orjson.loads(envelope.model_dump_json())


def test_sdk_attribution_prefers_headers_then_metadata_then_the_key():
    headers = {"x-langfuse-sdk-name": "js", "x-langfuse-ingestion-version": "4"}
    info = sdk_info(headers, PROJECT, {"sdk_name": "python", "sdk_version": "2.1"})
    assert (info.name, info.version, info.public_key, info.ingestion_version) == ("js", "2.1", "pk-sg-1", "4")
    assert sdk_info({}, PROJECT).name == "unknown"


def test_read_body_decodes_base64_and_enforces_the_limit():
    assert read_body("aGVsbG8=", True, 5) == b"hello"
    assert read_body("hello", False, 5) == b"hello"
    assert read_body(None, True, 5) == b""
    with pytest.raises(PayloadTooLarge, match="limit of 4 bytes"):
        read_body("aGVsbG8=", True, 4)
    with pytest.raises(PayloadTooLarge):
        read_body("A" * 4000, True, 100)  # refused from the encoded length
    with pytest.raises(InvalidRequest, match="not base64"):
        read_body("***", True, 100)


def test_iso_z_is_utc_milliseconds():
    assert iso_z(datetime(2026, 1, 1, 12, 0, 0, 123456, tzinfo=UTC)) == "2026-01-01T12:00:00.123Z"


class CountingQueue(FakeQueue):
    def __init__(self, depth: int = 0) -> None:
        super().__init__()
        self.fixed = depth
        self.probes = 0
        self.fail = False

    def depth(self) -> int:
        self.probes += 1
        if self.fail:
            raise StoreUnavailable("cannot count")
        return self.fixed


def test_backpressure_gate_reads_the_depth_at_most_once_per_ttl():
    # Given a gate with a hand-driven clock
    clock = [100.0]
    gate = BackpressureGate(ttl_seconds=1.0, clock=lambda: clock[0])
    queue = CountingQueue(depth=5)
    # When checked repeatedly within one second
    for _ in range(10):
        gate.check(queue, 10)
    # Then the queue was asked once
    assert queue.probes == 1
    # And after the ttl the fresh depth counts
    queue.fixed = 50
    clock[0] += 1.5
    with pytest.raises(StoreUnavailable):
        gate.check(queue, 10)
    assert queue.probes == 2


def test_backpressure_gate_admits_when_the_probe_fails():
    queue = CountingQueue()
    queue.fail = True
    BackpressureGate(ttl_seconds=0).check(queue, 0)  # no exception: the write will tell
    assert queue.probes == 1
