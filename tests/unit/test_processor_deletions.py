"""The worker and tombstones, over in-memory ports: a replay never brings deleted data back, while
an id used again after its deletion is ingested as usual."""

from __future__ import annotations

from datetime import timedelta

from skyglass.domain.records import Deletion
from skyglass.processing.worker import Processor
from skyglass.query.traces import delete_traces
from tests.support.fake_analytics import FakeAnalyticsWriter
from tests.support.fakes import FakeBlobStore
from tests.unit.test_processor import BASE, ev, iso, put_blob

DELETED_MS = 70_000  # the deletion happens between the old blobs (60 s) and the new ones (80 s)


def _delete_trace(store: FakeAnalyticsWriter, trace_id: str) -> None:
    delete_traces(store, "p1", [trace_id], now=BASE + timedelta(milliseconds=DELETED_MS))


def _old_trace_blob(blobs: FakeBlobStore, received_ms: int = 60_000):  # type: ignore[no-untyped-def]
    return put_blob(
        blobs,
        [
            ev("t-1", "trace-create", 0, {"id": "tr", "name": "old", "tags": ["old"]}),
            ev(
                "o-1", "span-create", 10, {"id": "sp", "traceId": "tr", "startTime": iso(10), "output": "old"}
            ),
            ev("s-1", "score-create", 20, {"id": "sc", "traceId": "tr", "name": "q", "value": 0.1}),
            ev("t-9", "trace-create", 0, {"id": "kept", "name": "untouched"}),
        ],
        received_ms=received_ms,
    )


def test_a_replay_after_a_trace_deletion_brings_nothing_back_but_a_new_use_of_the_id_does() -> None:
    blobs, store = FakeBlobStore(), FakeAnalyticsWriter()
    processor = Processor(blobs, store)
    # Given a processed trace with a span and a score, next to another trace
    old = _old_trace_blob(blobs)
    assert processor.process([old]).ok
    assert ("p1", "tr") in store.traces and ("p1", "sc") in store.scores
    # When the trace is deleted and its blob replayed
    _delete_trace(store, "tr")
    store.calls.clear()
    result = processor.process([old])
    # Then none of it comes back (trace, shallow trace, span and score events dropped), the
    # other trace is rebuilt as before, and the tombstones took one lookup for the batch
    assert result.ok and result.deleted == 4
    assert ("p1", "tr") not in store.traces
    assert ("p1", "sp") not in store.observations and ("p1", "sc") not in store.scores
    assert store.traces[("p1", "kept")].name == "untouched"
    assert {k[2] for k in store.events} == {"kept"}
    assert store.calls["load_deletions"] == 1
    # When events for the same ids arrive after the deletion, in a batch with the old blob again
    new = put_blob(
        blobs,
        [
            ev("t-2", "trace-create", 100, {"id": "tr", "name": "new"}),
            ev("o-2", "span-create", 110, {"id": "sp", "traceId": "tr", "startTime": iso(110)}),
            ev("s-2", "score-create", 120, {"id": "sc", "traceId": "tr", "name": "q", "value": 0.9}),
        ],
        received_ms=80_000,
    )
    assert processor.process([old, new]).ok
    # Then the trace, span and score exist again, built from the new events only
    trace = store.traces[("p1", "tr")]
    assert (trace.name, trace.tags) == ("new", [])
    assert store.observations[("p1", "sp")].output is None
    assert store.scores[("p1", "sc")].value == 0.9


def test_a_deleted_score_stays_deleted_on_replay_and_its_id_can_be_used_again() -> None:
    blobs, store = FakeBlobStore(), FakeAnalyticsWriter()
    processor = Processor(blobs, store)
    score = {"id": "sc", "sessionId": "sess", "name": "mood", "value": "ok"}
    old = put_blob(blobs, [ev("s-1", "score-create", 0, score)], received_ms=60_000)
    assert processor.process([old]).ok
    # When the score is deleted and its blob replayed
    store.record_deletions([Deletion("p1", "score", "sc", BASE + timedelta(milliseconds=DELETED_MS))])
    store.delete_scores("p1", ["sc"])
    assert processor.process([old]).deleted == 1
    # Then it stays deleted
    assert ("p1", "sc") not in store.scores
    # When a score with that id is sent after the deletion, even with an older score timestamp
    newer = put_blob(blobs, [ev("s-2", "score-create", -5, {**score, "value": "good"})], received_ms=80_000)
    assert processor.process([old, newer]).ok
    # Then it is stored, and only it
    assert store.scores[("p1", "sc")].string_value == "good"


def test_an_observation_update_naming_no_trace_is_matched_through_its_stored_events() -> None:
    blobs, store = FakeBlobStore(), FakeAnalyticsWriter()
    processor = Processor(blobs, store)
    create = {"id": "sp", "traceId": "tr", "startTime": iso(10)}
    # Given a span whose update (a legacy event naming no trace) came in a separate blob
    old_create = put_blob(blobs, [ev("o-1", "span-create", 10, create)], received_ms=60_000)
    old_update = put_blob(
        blobs, [ev("o-2", "span-update", 20, {"id": "sp", "output": "old"})], received_ms=61_000
    )
    assert processor.process([old_create, old_update]).ok
    # And the trace deleted, then the span created again after the deletion
    _delete_trace(store, "tr")
    again = put_blob(blobs, [ev("o-3", "span-create", 30, create)], received_ms=80_000)
    assert processor.process([again]).ok
    store.calls.clear()
    # When the old update alone is replayed
    assert processor.process([old_update]).ok
    # Then its stored sibling names the deleted trace, so the old update does not count
    span = store.observations[("p1", "sp")]
    assert (span.trace_id, span.output) == ("tr", None)
    assert store.calls["load_deletions"] == 2  # the batch's lookup, then the stored trace's


def test_an_event_stored_by_a_batch_that_raced_with_the_delete_does_not_revive_the_trace() -> None:
    blobs, store = FakeBlobStore(), FakeAnalyticsWriter()
    processor = Processor(blobs, store)
    old = _old_trace_blob(blobs)
    # Given the trace deleted while a batch still stored its old events (insert after the delete)
    processor.process([old])
    _delete_trace(store, "tr")
    racing = FakeAnalyticsWriter()
    Processor(blobs, racing).process([old])
    store.insert_events([e for k, e in racing.events.items() if k[2] == "tr"])
    # When a new event of that trace arrives after the deletion
    new = put_blob(blobs, [ev("t-2", "trace-create", 100, {"id": "tr", "name": "new"})], received_ms=80_000)
    assert processor.process([new]).ok
    # Then the row is built from the new event only
    trace = store.traces[("p1", "tr")]
    assert (trace.name, trace.tags) == ("new", [])
