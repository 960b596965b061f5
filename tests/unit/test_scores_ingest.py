"""The scores use cases: one object (200 {id}), an SDK v5 array (202/207) and delete."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
import pytest

from skyglass.auth.service import ProjectScope
from skyglass.contracts.messages import BlobEnvelope, QueueMessage
from skyglass.errors import InvalidRequest, NotFound, StoreUnavailable, UnsupportedMediaType
from skyglass.ingestion.common import BackpressureGate, HttpRequest
from skyglass.ingestion.scores import ScoresResult, create_scores, delete_score
from skyglass.settings import Settings
from tests.support.fake_analytics import FakeAnalyticsWriter
from tests.support.fakes import FakeBlobStore, FakeQueue

EVENTS = Path(__file__).resolve().parents[1] / "events"
NOW = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
CALLER = ProjectScope(project_id="proj-1", public_key="pk-sg-1", access_level="scores")


class World:
    def __init__(self) -> None:
        self.blobs = FakeBlobStore()
        self.queue = FakeQueue()

    def post(self, body: Any, headers: dict[str, str] | None = None, **overrides: Any) -> ScoresResult:
        request = HttpRequest.of(orjson.dumps(body), {"content-type": "application/json", **(headers or {})})
        return create_scores(
            request,
            CALLER,
            blobs=self.blobs,
            queue=self.queue,
            settings=Settings(data_dir=Path("/nonexistent"), **overrides),
            now=NOW,
            gate=BackpressureGate(ttl_seconds=0),
        )

    def envelopes(self) -> list[BlobEnvelope]:
        return [BlobEnvelope.model_validate_json(data) for data in self.blobs.blobs.values()]

    def messages(self) -> list[QueueMessage]:
        return [QueueMessage.model_validate_json(m.body) for m in self.queue.receive(100)]


@pytest.fixture
def world() -> World:
    return World()


def test_recorded_sdk_v5_array_is_accepted_as_one_blob(world):
    # Given the array langfuse==5.0.4 posted
    rec = json.loads((EVENTS / "scores_sdk_v5_array.json").read_text())
    sent = rec["body"]
    # When it is posted
    result = world.post(sent, rec["headers"])
    # Then the answer is the 202 body the SDK's generated client parses
    assert (result.status, result.body) == (202, {"message": "Accepted"})
    # And one blob holds one score-create event per score, each with a fresh event id
    [envelope] = world.envelopes()
    assert envelope.sdk.name == "python" and envelope.sdk.version == "5.0.4"
    assert [e["type"] for e in envelope.events] == ["score-create"] * len(sent)
    assert len({e["id"] for e in envelope.events}) == len(sent)
    for stored, original in zip(envelope.events, sent, strict=True):
        assert stored["body"]["id"] == original["id"]
        assert stored["timestamp"] == original["timestamp"]
        assert {k: stored["body"][k] for k in original} == original
    assert [e["body"]["dataType"] for e in envelope.events] == [
        "NUMERIC",
        "BOOLEAN",
        "CATEGORICAL",
        "NUMERIC",
        "NUMERIC",
    ]
    [message] = world.messages()
    assert message.event_count == len(sent) and message.blob_key == result.blob_key


def test_single_score_gets_a_generated_id(world):
    # Given a score object without id or timestamp
    result = world.post({"name": "quality", "value": 0.5, "traceId": "t1"})
    # Then the answer is 200 {id} with a new uuid4
    assert result.status == 200
    assert uuid.UUID(result.body["id"]).version == 4
    # And the stored event carries that id and the receive time
    [envelope] = world.envelopes()
    [stored] = envelope.events
    assert stored["body"]["id"] == result.body["id"]
    assert stored["timestamp"] == "2026-01-01T12:00:00.000Z"
    assert stored["type"] == "score-create" and stored["id"] != result.body["id"]


def test_single_score_keeps_its_own_id(world):
    result = world.post({"id": "s-1", "name": "q", "value": "good", "sessionId": "sess"})
    assert result.body == {"id": "s-1"}
    assert world.envelopes()[0].events[0]["body"]["dataType"] == "CATEGORICAL"


def test_invalid_single_score_is_400_and_nothing_lands(world):
    with pytest.raises(InvalidRequest) as info:
        world.post({"name": "q", "value": 2, "dataType": "BOOLEAN", "traceId": "t"})
    assert info.value.status == 400
    assert "must be 0 or 1" in info.value.message
    assert world.envelopes() == [] and world.messages() == []


def test_array_with_invalid_scores_answers_207_and_keeps_the_valid_ones(world):
    # Given three scores of which two break rules
    scores = [
        {"id": "good", "name": "q", "value": 1, "traceId": "t"},
        {"id": "eval", "name": "q", "value": 1, "traceId": "t", "source": "EVAL"},
        "not a score",
    ]
    # When posted
    result = world.post(scores)
    # Then 207 counts both outcomes and names each problem
    assert result.status == 207
    assert result.body["accepted"] == 1 and result.body["rejected"] == 2
    messages = [e["message"] for e in result.body["errors"]]
    assert messages[0].startswith("score [1] (id eval): ") and "EVAL is reserved" in messages[0]
    assert messages[1].startswith("score [2]: a score must be a JSON object")
    # And the valid score still lands
    [envelope] = world.envelopes()
    assert [e["body"]["id"] for e in envelope.events] == ["good"]


def test_array_without_any_valid_score_writes_nothing(world):
    result = world.post([{"name": "q", "value": 1}])
    assert (result.status, result.body["accepted"], result.body["rejected"]) == (207, 0, 1)
    assert result.blob_key is None
    assert world.envelopes() == [] and world.messages() == []


@pytest.mark.parametrize(
    ("body", "text"), [([], "array of scores is empty"), ("q", "score object or an array")]
)
def test_empty_array_and_scalars_are_400(world, body, text):
    with pytest.raises(InvalidRequest, match=text):
        world.post(body)


def test_scores_share_the_request_checks(world):
    with pytest.raises(UnsupportedMediaType):
        world.post([], {"content-type": "text/csv"})
    world.queue.send("{}")
    with pytest.raises(StoreUnavailable):
        world.post({"name": "q", "value": 1, "traceId": "t"}, queue_backpressure_depth=0)


def test_store_failure_is_503(world):
    class Down(FakeQueue):
        def send(self, body: str) -> str:
            raise ConnectionError("no route")

    world.queue = Down()
    with pytest.raises(StoreUnavailable):
        world.post([{"name": "q", "value": 1, "traceId": "t"}])


def test_delete_score_records_a_tombstone_then_deletes_by_project_and_id():
    # Given a store
    store = FakeAnalyticsWriter()
    now = datetime(2026, 3, 1, 12, 0, 0, 123456, tzinfo=UTC)
    # When a score is deleted
    delete_score(store, "proj-1", "s-1", now=now)
    # Then a tombstone for that score (at millisecond precision) and the delete were both written
    assert store.calls["delete_scores"] == 1
    assert store.deletions == {("proj-1", "score", "s-1"): datetime(2026, 3, 1, 12, 0, 0, 123000, tzinfo=UTC)}


def test_the_tombstone_is_recorded_before_the_rows_go():
    # Given a store that fails to record the tombstone
    store = FakeAnalyticsWriter()
    store.fail_on.add("record_deletions")
    # When a score is deleted / Then the call fails retryably and nothing was deleted yet
    with pytest.raises(StoreUnavailable):
        delete_score(store, "proj-1", "s-1")
    assert store.calls["delete_scores"] == 0


def test_delete_score_failures_are_retryable():
    store = FakeAnalyticsWriter()
    store.fail_on.add("delete_scores")
    with pytest.raises(StoreUnavailable):
        delete_score(store, "proj-1", "s-1")
    with pytest.raises(StoreUnavailable):
        delete_score(None, "proj-1", "s-1")

    class Broken:
        def record_deletions(self, deletions: Any) -> None:
            return None

        def delete_scores(self, project_id: str, score_ids: Any) -> None:
            raise RuntimeError("boom")

    with pytest.raises(StoreUnavailable, match="Could not delete"):
        delete_score(Broken(), "proj-1", "s-1")

    class Missing:
        def record_deletions(self, deletions: Any) -> None:
            return None

        def delete_scores(self, project_id: str, score_ids: Any) -> None:
            raise NotFound("no such score")

    with pytest.raises(NotFound):  # domain errors keep their status
        delete_score(Missing(), "proj-1", "s-1")
    with pytest.raises(InvalidRequest):
        delete_score(store, "proj-1", "")
