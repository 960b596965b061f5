"""The worker use case over in-memory ports: blobs → events → merged rows, failures per message."""

from __future__ import annotations

import copy
import itertools
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from skyglass.contracts.messages import BlobEnvelope, QueueMessage, blob_key_for
from skyglass.domain.records import TraceRecord
from skyglass.errors import StoreUnavailable
from skyglass.processing import worker
from skyglass.processing.events import derived_score_id
from skyglass.processing.worker import Processor
from tests.support.fake_analytics import FakeAnalyticsWriter
from tests.support.fakes import FakeBlobStore

BASE = datetime(2026, 1, 1, 10, 0, tzinfo=UTC)


def iso(ms: int) -> str:
    return (BASE + timedelta(milliseconds=ms)).isoformat().replace("+00:00", "Z")


def ev(event_id: str, event_type: str, ms: int, body: dict[str, Any]) -> dict[str, Any]:
    return {"id": event_id, "type": event_type, "timestamp": iso(ms), "body": body}


def put_blob(
    blobs: FakeBlobStore,
    events: list[dict[str, Any]],
    *,
    received_ms: int = 60_000,
    project_id: str = "p1",
    kind: str = "ingestion",
) -> QueueMessage:
    received_at = BASE + timedelta(milliseconds=received_ms)
    key = blob_key_for(project_id, received_at, "ingestion")
    envelope = BlobEnvelope(kind="ingestion", project_id=project_id, received_at=received_at, events=events)
    data = envelope.model_dump_json().replace('"kind":"ingestion"', f'"kind":"{kind}"')
    blobs.put(key, data.encode())
    return QueueMessage(blob_key=key, project_id=project_id, kind="ingestion", received_at=received_at)


def snapshot(store: FakeAnalyticsWriter) -> dict[str, Any]:
    return copy.deepcopy(
        {
            "traces": store.traces,
            "observations": store.observations,
            "scores": store.scores,
            "events": store.events,
        }
    )


# Three blobs, each holding one step of a trace and of a generation in it.
STEPS = [
    [
        ev("t-1", "trace-create", 0, {"id": "tr", "name": "chat", "tags": ["a"], "metadata": {"m": 1}}),
        ev(
            "g-1",
            "generation-create",
            10,
            {"id": "gen", "traceId": "tr", "startTime": iso(10), "model": "m1"},
        ),
    ],
    [
        ev("t-2", "trace-create", 100, {"id": "tr", "userId": "u", "tags": ["b"], "input": "q"}),
        ev("g-2", "generation-update", 110, {"id": "gen", "usageDetails": {"input": 3, "output": 4}}),
    ],
    [
        ev("t-3", "trace-create", 200, {"id": "tr", "output": "a", "metadata": {"n": 2}}),
        ev("g-3", "generation-update", 210, {"id": "gen", "endTime": iso(250), "output": "a"}),
    ],
]


def test_one_batch_writes_merged_rows_with_one_insert_per_table() -> None:
    # Given three blobs and a score
    blobs, store = FakeBlobStore(), FakeAnalyticsWriter()
    messages = [put_blob(blobs, step, received_ms=60_000 + i) for i, step in enumerate(STEPS)]
    messages.append(
        put_blob(
            blobs, [ev("s-1", "score-create", 5, {"id": "sc", "traceId": "tr", "name": "q", "value": 1})]
        )
    )
    # When processed as one batch
    result = Processor(blobs, store).process(messages)
    # Then nothing failed and each table got exactly one insert
    assert result.ok and (result.traces, result.observations, result.scores) == (1, 1, 1)
    assert store.calls["insert_events"] == 1
    assert (
        store.calls["upsert_traces"]
        == store.calls["upsert_observations"]
        == store.calls["upsert_scores"]
        == 1
    )
    # one key lookup per (project, entity type); no bodies read back: the batch held them all
    assert (store.calls["stored_event_times"], store.calls["load_events"]) == (2, 0)
    trace = store.traces[("p1", "tr")]
    assert (trace.name, trace.user_id, trace.tags, trace.input, trace.output) == (
        "chat",
        "u",
        ["a", "b"],
        '"q"',
        '"a"',
    )
    assert trace.metadata == {"m": "1", "n": "2"}
    generation = store.observations[("p1", "gen")]
    assert (generation.type, generation.trace_id, generation.provided_model_name) == (
        "GENERATION",
        "tr",
        "m1",
    )
    assert generation.usage_details == {"input": 3, "output": 4, "total": 7}
    assert generation.end_time == BASE + timedelta(milliseconds=250)
    assert store.scores[("p1", "sc")].string_value is None


def test_every_order_of_three_batches_gives_identical_rows() -> None:
    # Given the expected state: all three blobs processed in one batch
    reference_blobs, reference = FakeBlobStore(), FakeAnalyticsWriter()
    messages = [put_blob(reference_blobs, step, received_ms=60_000 + i) for i, step in enumerate(STEPS)]
    Processor(reference_blobs, reference).process(messages)
    expected = snapshot(reference)
    for order in itertools.permutations(range(3)):
        # When the blobs arrive one per batch in this order
        store = FakeAnalyticsWriter()
        processor = Processor(reference_blobs, store)
        for index in order:
            assert processor.process([messages[index]]).ok
        # Then the stored rows and events are exactly the reference ones
        assert snapshot(store) == expected, order


def test_redelivery_and_replay_change_nothing() -> None:
    # Given processed blobs
    blobs, store = FakeBlobStore(), FakeAnalyticsWriter()
    messages = [put_blob(blobs, step, received_ms=60_000 + i) for i, step in enumerate(STEPS)]
    processor = Processor(blobs, store)
    processor.process(messages)
    before = snapshot(store)
    # When the same messages come again, together and one by one
    processor.process(messages)
    for message in reversed(messages):
        processor.process([message])
    # Then the tables are unchanged
    assert snapshot(store) == before


def test_poison_blobs_fail_alone() -> None:
    # Given one good blob and several kinds of bad ones
    blobs, store = FakeBlobStore(), FakeAnalyticsWriter()
    good = put_blob(blobs, STEPS[0])
    missing = QueueMessage(blob_key="raw/missing.json", project_id="p1", kind="ingestion", received_at=BASE)
    garbage = QueueMessage(blob_key="raw/garbage.json", project_id="p1", kind="ingestion", received_at=BASE)
    blobs.put(garbage.blob_key, b"\x00not json")
    otel = put_blob(blobs, [], kind="otel", received_ms=1)
    wrong_project = put_blob(blobs, STEPS[1], received_ms=2).model_copy(update={"project_id": "p2"})
    no_timestamp = put_blob(blobs, [{"id": "x", "type": "trace-create", "body": {"id": "t"}}], received_ms=3)
    unknown_type = put_blob(blobs, [ev("x", "dataset-run-item-create", 0, {"id": "d"})], received_ms=4)
    bad = [missing, garbage, otel, wrong_project, no_timestamp, unknown_type]
    # When processed together
    result = Processor(blobs, store).process([good, *bad])
    # Then exactly the bad ones failed, as poison, and the good one was stored
    assert set(result.failed_keys()) == {m.blob_key for m in bad}
    assert not any(f.retryable for f in result.failures)
    reasons = {f.blob_key: f.reason for f in result.failures}
    assert "NotFound" in reasons[missing.blob_key]
    assert "otel blob has no payload" in reasons[otel.blob_key]  # otel is processed since the OTLP endpoint
    assert "dataset-run-item-create" in reasons[unknown_type.blob_key]
    assert set(store.traces) == {("p1", "tr")} and set(store.observations) == {("p1", "gen")}


class DownBlobStore(FakeBlobStore):
    def get(self, key: str) -> bytes:
        raise StoreUnavailable("blob store down")


def test_store_errors_fail_the_whole_batch_retryably() -> None:
    # Given a good blob, a poison one, and an analytics store that cannot insert
    blobs, store = FakeBlobStore(), FakeAnalyticsWriter()
    good = put_blob(blobs, STEPS[0])
    poison = QueueMessage(blob_key="raw/missing.json", project_id="p1", kind="ingestion", received_at=BASE)
    store.fail_on = {"insert_events"}
    # When processed
    result = Processor(blobs, store).process([good, poison])
    # Then every message failed; the good one retryably, the poison one keeps its own reason
    by_key = {f.blob_key: f for f in result.failures}
    assert by_key[good.blob_key].retryable and "store unavailable" in by_key[good.blob_key].reason
    assert not by_key[poison.blob_key].retryable
    assert store.traces == {} and store.observations == {}

    # Given a blob store that is down; When processed; Then the whole batch fails retryably
    result = Processor(DownBlobStore(), FakeAnalyticsWriter()).process([good, poison])
    assert set(result.failed_keys()) == {good.blob_key, poison.blob_key}
    assert all(f.retryable for f in result.failures)


@pytest.mark.parametrize(
    "failing", ["load_deletions", "stored_event_times", "upsert_traces", "upsert_scores"]
)
def test_later_store_errors_also_fail_the_batch(failing: str) -> None:
    blobs, store = FakeBlobStore(), FakeAnalyticsWriter()
    messages = [put_blob(blobs, [*STEPS[0], ev("s", "score-create", 0, {"name": "n", "value": 1})])]
    store.fail_on = {failing}
    result = Processor(blobs, store).process(messages)
    assert set(result.failed_keys()) == {messages[0].blob_key} and result.failures[0].retryable


def test_traces_with_only_observations_get_a_shallow_row() -> None:
    # Given observations whose traces were never sent, one without any trace id, one update only
    blobs, store = FakeBlobStore(), FakeAnalyticsWriter()
    message = put_blob(
        blobs,
        [
            ev(
                "o-1",
                "span-create",
                50,
                {"id": "s1", "traceId": "lonely", "startTime": iso(40), "environment": "prod"},
            ),
            ev("o-2", "span-create", 30, {"id": "s2", "traceId": "lonely", "startTime": iso(20)}),
            ev("o-3", "event-create", 70, {"id": "legacy-obs"}),
            ev("o-4", "span-update", 80, {"id": "orphan-update"}),
        ],
    )
    # When processed
    assert Processor(blobs, store).process([message]).ok
    # Then the named trace exists with the earliest start and the observations' environment
    lonely = store.traces[("p1", "lonely")]
    assert (lonely.timestamp, lonely.environment, lonely.name) == (
        BASE + timedelta(milliseconds=20),
        "prod",
        None,
    )
    # And the observation without trace id got a wrapper trace of its own id; the update did not
    assert store.observations[("p1", "legacy-obs")].trace_id == "legacy-obs"
    assert ("p1", "legacy-obs") in store.traces
    assert ("p1", "orphan-update") not in store.traces
    # And exactly one shallow event per trace and blob was stored
    shallow = sorted(k[3] for k in store.events if k[1] == "trace")
    assert shallow == ["shallow-o-2", "shallow-o-3"]


def test_a_real_trace_arriving_after_its_shallow_row_replaces_it() -> None:
    # Given a trace row that only exists because of an observation
    blobs, store = FakeBlobStore(), FakeAnalyticsWriter()
    processor = Processor(blobs, store)
    processor.process(
        [put_blob(blobs, [ev("o", "span-create", 500, {"id": "s", "traceId": "tr", "startTime": iso(500)})])]
    )
    # When the trace's own (earlier) create event arrives later
    processor.process(
        [put_blob(blobs, [ev("t", "trace-create", 0, {"id": "tr", "name": "real"})], received_ms=90_000)]
    )
    # Then the stored row is the real one
    trace = store.traces[("p1", "tr")]
    assert (trace.name, trace.timestamp) == ("real", BASE)


def test_scores_skip_logs_drop_invalid_and_get_stable_ids() -> None:
    # Given a blob with an sdk-log, an invalid score, a score without id and a trace without id
    events = [
        ev("log", "sdk-log", 0, {"log": "hello"}),
        ev("bad", "score-create", 0, {"name": "b", "value": 7, "dataType": "BOOLEAN"}),
        ev("anon", "score-create", 0, {"name": "n", "value": 0.5, "traceId": "t"}),
        ev("noid", "trace-create", 0, {"name": "no id"}),
    ]
    blobs, store = FakeBlobStore(), FakeAnalyticsWriter()
    message = put_blob(blobs, events)
    # When processed twice
    processor = Processor(blobs, store)
    first = processor.process([message])
    processor.process([message])
    # Then one score exists, under the id derived from its event id, and nothing else was stored
    assert first.ok and (first.events, first.traces, first.scores) == (0, 0, 1)
    assert list(store.scores) == [("p1", derived_score_id("p1", "anon"))]
    assert store.calls["insert_events"] == 0


def test_duplicate_score_ids_in_a_batch_keep_the_newest_event() -> None:
    # Given two versions of one score in two blobs
    blobs = FakeBlobStore()
    old = put_blob(blobs, [ev("a", "score-create", 0, {"id": "sc", "name": "n", "value": 1})], received_ms=1)
    new = put_blob(blobs, [ev("b", "score-create", 10, {"id": "sc", "name": "n", "value": 2})], received_ms=2)
    for order in ([old, new], [new, old]):
        # When processed in either message order
        store = FakeAnalyticsWriter()
        Processor(blobs, store).process(order)
        # Then the newest version is stored
        assert store.scores[("p1", "sc")].value == 2.0


def test_an_entity_the_merge_cannot_handle_fails_only_its_messages(monkeypatch: pytest.MonkeyPatch) -> None:
    # Given a merge that breaks on one trace
    real_merge = worker.merge_trace

    def merge(project_id: str, events: list[Any]) -> TraceRecord:
        if events[0].entity_id == "cursed":
            raise RuntimeError("boom")
        return real_merge(project_id, events)

    monkeypatch.setattr(worker, "merge_trace", merge)
    blobs, store = FakeBlobStore(), FakeAnalyticsWriter()
    cursed = put_blob(blobs, [ev("c", "trace-create", 0, {"id": "cursed"})], received_ms=1)
    fine = put_blob(blobs, STEPS[0], received_ms=2)
    # When processed together
    result = Processor(blobs, store).process([cursed, fine])
    # Then only the message that touched the broken entity failed
    assert set(result.failed_keys()) == {cursed.blob_key}
    assert "boom" in result.failures[0].reason
    assert ("p1", "tr") in store.traces and ("p1", "cursed") not in store.traces


def test_empty_batch_touches_nothing() -> None:
    store = FakeAnalyticsWriter()
    result = Processor(FakeBlobStore(), store).process([])
    assert result.ok and not store.calls


def test_bodies_are_loaded_back_only_for_events_the_batch_does_not_hold():
    # Given a trace whose events all arrive in one blob
    blobs, store = FakeBlobStore(), FakeAnalyticsWriter()
    processor = Processor(blobs, store)
    assert processor.process([put_blob(blobs, STEPS[0])]).ok
    # Then no stored body was read back: the batch held every event of its entities
    assert (store.calls["stored_event_times"], store.calls["load_events"]) == (2, 0)
    # When a later blob adds events to the same entities
    assert processor.process([put_blob(blobs, STEPS[1], received_ms=61_000)]).ok
    # Then the earlier events are loaded back and merged in
    assert store.calls["load_events"] == 2  # one query per entity type
    assert (store.traces[("p1", "tr")].name, store.traces[("p1", "tr")].user_id) == ("chat", "u")


def test_a_newer_stored_copy_of_an_event_wins_over_the_copy_being_replayed():
    # Given an event id sent twice with different bodies: the later copy is processed first
    blobs, store = FakeBlobStore(), FakeAnalyticsWriter()
    processor = Processor(blobs, store)
    newer = put_blob(
        blobs, [ev("t-1", "trace-create", 0, {"id": "tr", "name": "second"})], received_ms=62_000
    )
    older = put_blob(blobs, [ev("t-1", "trace-create", 0, {"id": "tr", "name": "first"})], received_ms=61_000)
    assert processor.process([newer]).ok
    # When the older copy is processed (a late retry or a replay)
    assert processor.process([older]).ok
    # Then the row is built from the newest copy, as the event table keeps it
    assert store.traces[("p1", "tr")].name == "second"
    assert store.traces[("p1", "tr")].updated_at == BASE + timedelta(milliseconds=62_000)


def test_a_failing_body_load_fails_the_batch() -> None:
    # Given a trace with events stored by an earlier batch, and a store failing to load bodies
    blobs, store = FakeBlobStore(), FakeAnalyticsWriter()
    assert Processor(blobs, store).process([put_blob(blobs, STEPS[0])]).ok
    store.fail_on = {"load_events"}
    # When a later blob for the same trace is processed
    message = put_blob(blobs, STEPS[1], received_ms=61_000)
    result = Processor(blobs, store).process([message])
    # Then its message fails retryably
    assert set(result.failed_keys()) == {message.blob_key} and result.failures[0].retryable
