"""The worker against the real embedded engine: shuffled blobs → expected rows, replays change nothing."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from typing import Any

from skyglass.adapters.analytics.rows import row_to_event, row_to_observation, row_to_score, row_to_trace
from skyglass.adapters.analytics.store import ClickHouseAnalyticsStore
from skyglass.contracts.messages import BlobEnvelope, QueueMessage, blob_key_for
from skyglass.processing.events import derived_score_id
from skyglass.processing.worker import Processor
from tests.support.fake_analytics import FakeAnalyticsWriter
from tests.support.fakes import FakeBlobStore

BASE = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def at(ms: int) -> datetime:
    return BASE + timedelta(milliseconds=ms)


def iso(ms: int) -> str:
    return at(ms).isoformat().replace("+00:00", "Z")


def ev(event_id: str, event_type: str, ms: int, body: dict[str, Any]) -> dict[str, Any]:
    return {"id": event_id, "type": event_type, "timestamp": iso(ms), "body": body}


BLOBS: list[list[dict[str, Any]]] = [
    [
        ev(
            "e1",
            "trace-create",
            0,
            {
                "id": "t1",
                "name": "chat",
                "userId": "u1",
                "sessionId": "s1",
                "tags": ["b"],
                "metadata": {"k": "v", "n": {"a": 1}},
                "input": "hi",
                "environment": "prod",
            },
        ),
        ev(
            "e2",
            "generation-create",
            10,
            {
                "id": "g1",
                "traceId": "t1",
                "name": "llm",
                "startTime": iso(10),
                "model": "gpt-4o",
                "modelParameters": {"temperature": 0.1},
                "promptName": "p",
                "promptVersion": 2,
                "input": [{"role": "user"}],
                "environment": "prod",
            },
        ),
    ],
    [
        ev(
            "e3",
            "generation-update",
            900,
            {
                "id": "g1",
                "endTime": iso(900),
                "output": "hello",
                "usageDetails": {
                    "prompt_tokens": 10,
                    "completion_tokens": 5,
                    "total_tokens": 15,
                    "prompt_tokens_details": {"cached_tokens": 4},
                },
                "costDetails": {"input": 0.25, "output": 0.5},
            },
        ),
        ev(
            "e4",
            "trace-create",
            950,
            {"id": "t1", "output": "hello", "tags": ["a", "b"], "metadata": {"n": {"b": 2}}},
        ),
    ],
    [
        ev(
            "e5",
            "span-create",
            20,
            {"id": "sp1", "traceId": "t1", "parentObservationId": "g1", "startTime": iso(20)},
        ),
        ev(
            "e6",
            "span-update",
            30,
            {"id": "sp1", "endTime": iso(5), "level": "ERROR", "statusMessage": "boom"},
        ),
        ev(
            "e7",
            "event-create",
            40,
            {"id": "ev1", "traceId": "t2", "startTime": iso(40), "environment": "dev"},
        ),
    ],
    [
        ev(
            "e8",
            "score-create",
            60,
            {"id": "sc1", "traceId": "t1", "name": "ok", "value": 1, "dataType": "BOOLEAN"},
        ),
        ev(
            "e9",
            "score-create",
            70,
            {"traceId": "t1", "name": "tone", "value": "polite", "dataType": "CATEGORICAL"},
        ),
        ev(
            "e10",
            "observation-create",
            80,
            {
                "id": "legacy",
                "type": "GENERATION",
                "startTime": iso(80),
                "usage": {"input": 3, "output": 4, "inputCost": 0.1},
            },
        ),
    ],
]


def make_messages(blobs: FakeBlobStore) -> list[QueueMessage]:
    messages = []
    for index, events in enumerate(BLOBS):
        received_at = at(60_000 + index * 1_000)
        envelope = BlobEnvelope(kind="ingestion", project_id="p1", received_at=received_at, events=events)
        key = blob_key_for("p1", received_at, "ingestion")
        blobs.put(key, envelope.model_dump_json().encode())
        messages.append(
            QueueMessage(blob_key=key, project_id="p1", kind="ingestion", received_at=received_at)
        )
    return messages


def tables(store: ClickHouseAnalyticsStore) -> dict[str, Any]:
    """Full contents of every table, as the engine resolves them (FINAL), as records."""
    query = store.executor.query
    return {
        "traces": [row_to_trace(r) for r in query("SELECT * FROM traces FINAL ORDER BY project_id, id")],
        "observations": [
            row_to_observation(r) for r in query("SELECT * FROM observations FINAL ORDER BY project_id, id")
        ],
        "scores": [row_to_score(r) for r in query("SELECT * FROM scores FINAL ORDER BY project_id, id")],
        "events": [
            row_to_event(r)
            for r in query("SELECT * FROM entity_events FINAL ORDER BY entity_type, entity_id, event_id")
        ],
    }


def reference_tables(messages: list[QueueMessage], blobs: FakeBlobStore) -> dict[str, Any]:
    """The same messages in one batch through the in-memory writer, in the same layout."""
    fake = FakeAnalyticsWriter()
    assert Processor(blobs, fake).process(messages).ok
    return {
        "traces": [fake.traces[k] for k in sorted(fake.traces)],
        "observations": [fake.observations[k] for k in sorted(fake.observations)],
        "scores": [fake.scores[k] for k in sorted(fake.scores)],
        "events": [fake.events[k] for k in sorted(fake.events, key=lambda k: (k[1], k[2], k[3]))],
    }


def test_shuffled_blobs_build_the_expected_rows_and_replays_change_nothing(
    chdb_store: ClickHouseAnalyticsStore,
) -> None:
    # Given four blobs processed in a shuffled order, in batches of 1, 2 and 1 messages
    blobs = FakeBlobStore()
    messages = make_messages(blobs)
    shuffled = messages[:]
    random.Random(7).shuffle(shuffled)
    processor = Processor(blobs, chdb_store)
    for batch in (shuffled[:1], shuffled[1:3], shuffled[3:]):
        result = processor.process(batch)
        assert result.ok, result.failures

    # Then the stored rows equal those of a single in-order batch through the reference writer
    rows = tables(chdb_store)
    assert rows == reference_tables(messages, blobs)

    # And they hold the merged values
    traces = {t.id: t for t in rows["traces"]}
    assert set(traces) == {"t1", "t2", "legacy"}
    t1 = traces["t1"]
    assert (t1.name, t1.user_id, t1.session_id, t1.environment) == ("chat", "u1", "s1", "prod")
    assert (t1.tags, t1.input, t1.output) == (["a", "b"], '"hi"', '"hello"')
    assert t1.metadata == {"k": '"v"', "n": '{"a":1,"b":2}'}
    assert (t1.timestamp, t1.event_ts) == (at(0), at(950))
    assert (t1.created_at, t1.updated_at) == (at(60_000), at(62_000))
    assert (traces["t2"].timestamp, traces["t2"].environment, traces["t2"].name) == (at(40), "dev", None)
    observations = {o.id: o for o in rows["observations"]}
    g1 = observations["g1"]
    assert (g1.type, g1.trace_id, g1.start_time, g1.end_time) == ("GENERATION", "t1", at(10), at(900))
    assert (g1.provided_model_name, g1.model_parameters) == ("gpt-4o", '{"temperature":0.1}')
    assert (g1.prompt_name, g1.prompt_version, g1.output) == ("p", 2, '"hello"')
    assert g1.usage_details == {"input": 6, "output": 5, "total": 15, "input_cached_tokens": 4}
    assert (g1.cost_details, g1.total_cost) == ({"input": 0.25, "output": 0.5, "total": 0.75}, 0.75)
    sp1 = observations["sp1"]
    assert (sp1.end_time, sp1.level, sp1.status_message, sp1.parent_observation_id) == (
        at(20),
        "ERROR",
        "boom",
        "g1",
    )
    legacy = observations["legacy"]
    assert (legacy.trace_id, legacy.type, legacy.usage_details) == (
        "legacy",
        "GENERATION",
        {"input": 3, "output": 4, "total": 7},
    )
    assert (legacy.cost_details, legacy.total_cost) == ({"input": 0.1, "total": 0.1}, 0.1)
    scores = {s.id: s for s in rows["scores"]}
    assert (scores["sc1"].value, scores["sc1"].string_value) == (1.0, "True")
    assert scores[derived_score_id("p1", "e9")].string_value == "polite"

    # When every message is delivered again: as one batch, then one by one in reverse
    assert processor.process(messages).ok
    for message in reversed(messages):
        assert processor.process([message]).ok

    # Then the full table contents are unchanged
    assert tables(chdb_store) == rows


def test_a_poison_blob_fails_alone(chdb_store: ClickHouseAnalyticsStore) -> None:
    # Given a good blob and a corrupt one
    blobs = FakeBlobStore()
    good = make_messages(blobs)[0]
    poison = QueueMessage(
        blob_key="raw/2026/03/01/12/corrupt.json", project_id="p1", kind="ingestion", received_at=BASE
    )
    blobs.put(poison.blob_key, b'{"v": 1, "kind": "ingestion", "events": [')
    # When both are processed together
    result = Processor(blobs, chdb_store).process([poison, good])
    # Then only the corrupt one failed, not retryably, and the good one's rows are stored
    assert list(result.failed_keys()) == [poison.blob_key]
    assert not result.failures[0].retryable
    stored = tables(chdb_store)
    assert {t.id for t in stored["traces"]} == {"t1"}
    assert {o.id for o in stored["observations"]} == {"g1"}


def _blob(blobs: FakeBlobStore, index: int, events: list[dict[str, Any]]) -> QueueMessage:
    received_at = at(120_000 + index * 1_000)
    envelope = BlobEnvelope(kind="ingestion", project_id="p1", received_at=received_at, events=events)
    key = blob_key_for("p1", received_at, "ingestion")
    blobs.put(key, envelope.model_dump_json().encode())
    return QueueMessage(blob_key=key, project_id="p1", kind="ingestion", received_at=received_at)


def test_an_observation_first_seen_without_its_trace_moves_to_it(
    chdb_store: ClickHouseAnalyticsStore,
) -> None:
    # Given an update without a trace id processed before its create (the row lands under a
    # trace named after the observation, as Langfuse does for trace-less observations)
    blobs = FakeBlobStore()
    processor = Processor(blobs, chdb_store)
    update = ev("u1", "generation-update", 500, {"id": "g9", "output": "done", "endTime": iso(500)})
    assert processor.process([_blob(blobs, 0, [update])]).ok
    assert [o.trace_id for o in chdb_store.observations_of_traces("p1", ["g9"])] == ["g9"]
    # When the create, carrying the trace id, arrives in a later batch
    create = ev("c1", "generation-create", 100, {"id": "g9", "traceId": "t9", "startTime": iso(100)})
    assert processor.process([_blob(blobs, 1, [create])]).ok
    # Then the observation is listed under its trace only, with both events merged
    assert chdb_store.observations_of_traces("p1", ["g9"]) == []
    [moved] = chdb_store.observations_of_traces("p1", ["t9"])
    assert (moved.id, moved.output, moved.start_time, moved.end_time) == ("g9", '"done"', at(100), at(500))
    found = chdb_store.get_observation("p1", "g9")
    assert found is not None and found.trace_id == "t9"
    assert [o.id for o in tables(chdb_store)["observations"]] == ["g9"]
    # And replaying both blobs, in either order, changes nothing
    before = tables(chdb_store)
    for key in sorted(blobs.blobs, reverse=True):
        message = QueueMessage(blob_key=key, project_id="p1", kind="ingestion", received_at=at(0))
        assert processor.process([message]).ok
    assert tables(chdb_store) == before
