"""The local platform in-process: ingest → durable queue → worker → read API, on real engines.

Everything here is what ``skyglass serve`` runs (local blob folder, SQLite queue, chDB, SQLite
metadata), minus the HTTP socket: requests go through the same handler as API Gateway events.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from skyglass.contracts.messages import QueueMessage
from skyglass.local.server import LocalPlatform, build_platform
from skyglass.processing.replay import redrive, replay
from skyglass.settings import Settings
from tests.support.api import ApiClient, basic_auth
from tests.support.platform import drain

PK, SK = "pk-sg-local-platform", "sk-sg-local-platform"


@pytest.fixture
def platform(tmp_path: Path) -> Iterator[LocalPlatform]:
    settings = Settings(
        data_dir=tmp_path / "data",
        init_org_name="acme",
        init_project_name="shop",
        init_public_key=PK,
        init_secret_key=SK,
        queue_max_receives=2,
    )
    built = build_platform(settings)
    yield built
    built.runtime.close()


def test_batch_is_queryable_after_the_worker_ran_and_replay_changes_nothing(platform: LocalPlatform):
    client = ApiClient(platform.runtime.api_services(), auth=basic_auth(PK, SK))
    # Given a trace with a span and a generation sent in two separate requests, update first
    update = {
        "id": "e3",
        "type": "generation-update",
        "timestamp": "2026-01-01T10:00:02Z",
        "body": {"id": "g1", "traceId": "t1", "endTime": "2026-01-01T10:00:02Z", "output": "done"},
    }
    creates = [
        {
            "id": "e1",
            "type": "trace-create",
            "timestamp": "2026-01-01T10:00:00Z",
            "body": {"id": "t1", "name": "checkout", "userId": "u1", "tags": ["b", "a"]},
        },
        {
            "id": "e2",
            "type": "generation-create",
            "timestamp": "2026-01-01T10:00:01Z",
            "body": {
                "id": "g1",
                "traceId": "t1",
                "startTime": "2026-01-01T10:00:01Z",
                "model": "gpt-4o",
                "usageDetails": {"input": 10, "output": 5},
                "costDetails": {"total": 0.5},
            },
        },
    ]
    assert client.post("/api/public/ingestion", body={"batch": [update]}).status == 207
    assert client.post("/api/public/ingestion", body={"batch": creates}).status == 207
    # When the worker drains the queue
    drain(platform)
    # Then the trace reads back merged, whatever the arrival order was
    trace = client.get("/api/public/traces/t1").json()
    assert trace["name"] == "checkout" and trace["tags"] == ["a", "b"]
    [generation] = trace["observations"]
    assert generation["output"] == "done" and generation["endTime"].startswith("2026-01-01T10:00:02")
    assert trace["totalCost"] == pytest.approx(0.5)
    # When every raw blob is re-enqueued and processed again
    blobs = list(platform.runtime.blobs.list_keys("raw/"))
    assert len(blobs) == 2
    since, until = datetime(2000, 1, 1, tzinfo=UTC), datetime(2100, 1, 1, tzinfo=UTC)
    report = replay(platform.runtime.blobs, platform.runtime.queue, since=since, until=until)
    assert report.count == 2
    drain(platform)
    # Then nothing changed
    assert client.get("/api/public/traces/t1").json() == trace
    assert client.get("/api/public/traces").json()["meta"]["totalItems"] == 1


def test_a_poison_message_lands_in_the_dead_letter_queue_and_redrive_brings_it_back(
    platform: LocalPlatform,
):
    queue = platform.runtime.queue
    # Given a queue message naming a blob that does not exist
    message = QueueMessage(
        blob_key="raw/2026/01/01/10/0000000000000-ingestion-x-missing.json",
        project_id=platform.init.project_id,
        kind="ingestion",
        received_at=datetime(2026, 1, 1, 10, tzinfo=UTC),
    )
    queue.send(message.model_dump_json())
    # When the worker fails it as many times as allowed (releases are delayed: wait them out)
    deadline = time.monotonic() + 30
    while queue.dead_letter_depth() == 0 and time.monotonic() < deadline:
        received = queue.receive(max_messages=10, wait_seconds=0.5)
        if received:
            platform.worker.run_once(received)
    # Then it is dead-lettered, not retried forever, and the main queue is empty
    assert queue.dead_letter_depth() == 1
    assert queue.depth() == 0
    # When it is redriven
    assert redrive(queue) == 1
    # Then it is deliverable again
    assert [QueueMessage.model_validate_json(m.body).blob_key for m in queue.receive()] == [message.blob_key]


def test_a_restart_reclaims_what_the_previous_run_left_in_flight(tmp_path: Path):
    settings = Settings(data_dir=tmp_path / "data", init_public_key=PK, init_secret_key=SK)
    first = build_platform(settings)
    client = ApiClient(first.runtime.api_services(), auth=basic_auth(PK, SK))
    batch = [{"id": "e1", "type": "trace-create", "timestamp": "2026-01-01T10:00:00Z",
              "body": {"id": "t-crash", "name": "in flight"}}]  # fmt: skip
    # Given an accepted batch whose message the worker received but never finished (a crash)
    assert client.post("/api/public/ingestion", body={"batch": batch}).status == 207
    [held] = first.runtime.queue.receive(max_messages=10)
    assert settings.queue_visibility_seconds >= 60  # hidden for a minute by the timeout alone
    first.runtime.close()
    # When the platform starts again on the same folder
    second = build_platform(settings)
    try:
        # Then the message is deliverable at once, as its second delivery, and lands
        [again] = second.runtime.queue.receive(max_messages=10)
        assert (again.message_id, again.receive_count) == (held.message_id, 2)
        second.worker.run_once([again])
        reader = ApiClient(second.runtime.api_services(), auth=basic_auth(PK, SK))
        assert reader.get("/api/public/traces/t-crash").json()["name"] == "in flight"
        assert second.runtime.queue.depth() == 0
    finally:
        second.runtime.close()
