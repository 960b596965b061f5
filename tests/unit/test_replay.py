"""Replay and redrive use cases: fakes for the logic, then once over the real local adapters."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest

from skyglass.adapters.blob.local import LocalBlobStore
from skyglass.adapters.queue.local import LocalQueue
from skyglass.contracts.messages import BlobEnvelope, BlobKind, QueueMessage, blob_key_for
from skyglass.errors import InvalidRequest
from skyglass.ports.blob import BlobStore
from skyglass.processing.replay import ReplayReport, key_project, redrive, replay
from tests.support.fakes import FakeBlobStore, FakeQueue

T0 = datetime(2024, 5, 31, 22, 30, tzinfo=UTC)


def put_envelope(
    blobs: BlobStore,
    at: datetime,
    project_id: str = "p1",
    kind: BlobKind = "ingestion",
    events: int = 2,
) -> str:
    """Store one accepted request the way the ingest path does; returns its key."""
    envelope = BlobEnvelope(
        kind=kind,
        project_id=project_id,
        received_at=at,
        events=[{"id": f"e{i}", "type": "trace-create", "body": {}} for i in range(events)],
    )
    key = blob_key_for(project_id, at, kind)
    blobs.put(key, envelope.model_dump_json().encode())
    return key


def sent_messages(queue: FakeQueue) -> list[QueueMessage]:
    return [QueueMessage.model_validate_json(body) for _, body, _ in queue.ready]


class RecordingBlobStore(FakeBlobStore):
    """Counts what the use case lists and reads, to check it stays inside the range."""

    def __init__(self) -> None:
        super().__init__()
        self.listings: list[tuple[str, str | None]] = []
        self.listed = 0
        self.reads: list[str] = []

    def list_keys(self, prefix: str = "", start_after: str | None = None) -> Iterator[str]:
        self.listings.append((prefix, start_after))
        for key in super().list_keys(prefix, start_after):
            self.listed += 1
            yield key

    def get(self, key: str) -> bytes:
        self.reads.append(key)
        return super().get(key)


class RecordingQueue(FakeQueue):
    def __init__(self) -> None:
        super().__init__()
        self.batches: list[int] = []

    def send_many(self, bodies: list[str]) -> list[str]:
        self.batches.append(len(bodies))
        return super().send_many(bodies)


def test_replay_enqueues_one_message_per_blob_in_the_half_open_range() -> None:
    # Given blobs before, at the start of, inside (across midnight and a month end) and at the end
    blobs, queue = FakeBlobStore(), FakeQueue()
    since, until = T0, T0 + timedelta(hours=3)
    put_envelope(blobs, since - timedelta(milliseconds=1))
    first = put_envelope(blobs, since, events=3)
    middle = put_envelope(blobs, T0 + timedelta(hours=1, minutes=45), project_id="p2", kind="otel", events=0)
    last = put_envelope(blobs, until - timedelta(milliseconds=1))
    put_envelope(blobs, until)
    # When the range is replayed
    report = replay(blobs, queue, since=since, until=until)
    # Then exactly the three blobs in [since, until) are enqueued, oldest first
    assert report == ReplayReport(count=3, first_key=first, last_key=last)
    messages = sent_messages(queue)
    assert [m.blob_key for m in messages] == [first, middle, last]
    # And each message describes its blob as the ingest path would have
    assert (messages[0].project_id, messages[0].kind, messages[0].event_count) == ("p1", "ingestion", 3)
    assert (messages[1].project_id, messages[1].kind, messages[1].event_count) == ("p2", "otel", 0)
    assert messages[0].received_at == since


def test_replay_of_one_project_skips_the_others_even_with_dashed_ids() -> None:
    # Given interleaved blobs of projects whose ids share a dashed prefix
    blobs, queue = FakeBlobStore(), FakeQueue()
    wanted = [put_envelope(blobs, T0 + timedelta(minutes=i), project_id="team-a") for i in (0, 2)]
    put_envelope(blobs, T0 + timedelta(minutes=1), project_id="team-a-b")
    put_envelope(blobs, T0 + timedelta(minutes=3), project_id="a")
    # When one project is replayed
    report = replay(blobs, queue, since=T0, until=T0 + timedelta(hours=1), project_id="team-a")
    # Then only its blobs are enqueued
    assert report.count == 2
    assert [m.blob_key for m in sent_messages(queue)] == wanted
    assert key_project(wanted[0]) == "team-a"


def test_dry_run_counts_without_reading_or_sending() -> None:
    # Given two blobs in range, one of them not even valid JSON
    blobs, queue = RecordingBlobStore(), FakeQueue()
    first = put_envelope(blobs, T0)
    broken = blob_key_for("p1", T0 + timedelta(minutes=5), "ingestion")
    blobs.put(broken, b"not json")
    # When a dry run is made
    report = replay(blobs, queue, since=T0, until=T0 + timedelta(hours=1), dry_run=True)
    # Then it reports what would be replayed, read nothing and sent nothing
    assert report == ReplayReport(count=2, first_key=first, last_key=broken)
    assert blobs.reads == []
    assert queue.depth() == 0


def test_listing_is_confined_to_the_range() -> None:
    # Given a log holding a day of hourly blobs in May and June
    blobs, queue = RecordingBlobStore(), FakeQueue()
    for day in (datetime(2024, 5, 10, tzinfo=UTC), datetime(2024, 6, 10, tzinfo=UTC)):
        for hour in range(24):
            put_envelope(blobs, day + timedelta(hours=hour, minutes=30))
    # When two hours of 10 May are replayed
    since = datetime(2024, 5, 10, 5, tzinfo=UTC)
    report = replay(blobs, queue, since=since, until=since + timedelta(hours=2))
    # Then one listing under May 10's folder starts at `since` and stops at the first key after
    # the range: earlier hours, other days and June are never listed, and only hits are read
    assert report.count == 2
    [(prefix, start_after)] = blobs.listings
    assert prefix == "raw/2024/05/10/"
    assert start_after == f"raw/2024/05/10/05/{int(since.timestamp() * 1000):013d}"
    assert blobs.listed == 3
    assert blobs.reads == [report.first_key, report.last_key]


def test_messages_are_sent_in_chunks() -> None:
    # Given five blobs in range
    blobs, queue = FakeBlobStore(), RecordingQueue()
    for minute in range(5):
        put_envelope(blobs, T0 + timedelta(minutes=minute))
    # When replayed with chunks of two
    report = replay(blobs, queue, since=T0, until=T0 + timedelta(hours=1), chunk_size=2)
    # Then send_many got 2 + 2 + 1 messages
    assert report.count == 5
    assert queue.batches == [2, 2, 1]


def test_a_chunk_size_below_one_is_refused() -> None:
    # Given / When a replay is asked to send chunks of nothing / Then it is a bad request
    with pytest.raises(InvalidRequest):
        replay(FakeBlobStore(), FakeQueue(), since=T0, until=T0 + timedelta(hours=1), chunk_size=0)


def test_unreadable_blobs_and_foreign_keys_are_skipped_not_enqueued() -> None:
    # Given a good blob, a blob that is not an envelope and a key not made by blob_key_for
    blobs, queue = FakeBlobStore(), FakeQueue()
    good = put_envelope(blobs, T0)
    blobs.put(blob_key_for("p1", T0 + timedelta(minutes=1), "otel"), b'{"kind": "nope"}')
    blobs.put("raw/2024/05/31/22/notes.txt", b"hello")
    # When replayed
    report = replay(blobs, queue, since=T0, until=T0 + timedelta(hours=1))
    # Then only the good blob is enqueued and the broken one is reported as skipped
    assert report == ReplayReport(count=1, first_key=good, last_key=good, skipped=1)
    assert [m.blob_key for m in sent_messages(queue)] == [good]


def test_naive_and_offset_datetimes_mean_the_same_instant() -> None:
    # Given a blob at 22:30 UTC
    blobs = FakeBlobStore()
    key = put_envelope(blobs, T0)
    # When replaying with a naive UTC range, and with the same range in UTC+02:00
    naive = replay(blobs, FakeQueue(), since=datetime(2024, 5, 31, 22), until=datetime(2024, 5, 31, 23))
    plus_two = timezone(timedelta(hours=2))
    offset = replay(
        blobs,
        FakeQueue(),
        since=datetime(2024, 6, 1, 0, tzinfo=plus_two),
        until=datetime(2024, 6, 1, 1, tzinfo=plus_two),
    )
    # Then both find it
    assert naive.first_key == offset.first_key == key


def test_empty_or_inverted_range_replays_nothing() -> None:
    # Given a blob / When the range is empty or inverted / Then nothing is listed or sent
    blobs, queue = FakeBlobStore(), FakeQueue()
    put_envelope(blobs, T0)
    assert replay(blobs, queue, since=T0, until=T0) == ReplayReport(0, None, None)
    assert replay(blobs, queue, since=T0 + timedelta(hours=1), until=T0) == ReplayReport(0, None, None)
    assert queue.depth() == 0


def test_redrive_delegates_to_the_queue() -> None:
    # Given two dead-lettered messages
    queue = FakeQueue(max_receives=1)
    queue.send_many(["a", "b"])
    for message in queue.receive():
        queue.release(message.receipt)
    assert queue.receive() == []
    # When redriven, one at a time then the rest / Then they move back
    assert redrive(queue, max_messages=1) == 1
    assert redrive(queue) == 1
    assert (queue.dead_letter_depth(), queue.depth()) == (0, 2)


def test_replay_over_the_local_blob_store_and_queue(tmp_path: Path) -> None:
    # Given blobs in a local folder spread over two days, and an empty local queue
    blobs = LocalBlobStore(tmp_path / "blobs")
    keys = [put_envelope(blobs, T0 + timedelta(hours=h)) for h in range(0, 30, 3)]
    with LocalQueue(tmp_path / "queue.db") as queue:
        # When the middle of the range is replayed
        report = replay(blobs, queue, since=T0 + timedelta(hours=3), until=T0 + timedelta(hours=24))
        # Then the worker would receive one message per blob in range, each naming a readable blob
        assert (report.count, report.first_key, report.last_key) == (7, keys[1], keys[7])
        received = queue.receive(max_messages=100)
        messages = [QueueMessage.model_validate_json(m.body) for m in received]
        assert sorted(m.blob_key for m in messages) == keys[1:8]
        assert all(
            BlobEnvelope.model_validate_json(blobs.get(m.blob_key)).project_id == "p1" for m in messages
        )
