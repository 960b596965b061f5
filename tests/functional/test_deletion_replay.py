"""Deletes survive a replay of the raw log, on the local platform (blob folder, SQLite queue, chDB).

Ingest → process → delete through the API → ``replay`` every blob → process: the deleted traces and
scores stay gone. Events received after a deletion that use the same id are ingested normally.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from skyglass.local.server import LocalPlatform, build_platform
from skyglass.processing.replay import replay
from skyglass.settings import Settings
from tests.support.api import ApiClient, basic_auth
from tests.support.platform import drain

PK, SK = "pk-sg-deletes", "sk-sg-deletes"
API = "/api/public"
TS = "2026-01-01T10:00:00Z"


@pytest.fixture
def platform(tmp_path: Path) -> Iterator[LocalPlatform]:
    built = build_platform(
        Settings(data_dir=tmp_path / "data", init_project_name="shop", init_public_key=PK, init_secret_key=SK)
    )
    yield built
    built.runtime.close()


def _replay_everything(platform: LocalPlatform) -> None:
    since, until = datetime(2000, 1, 1, tzinfo=UTC), datetime(2100, 1, 1, tzinfo=UTC)
    assert replay(platform.runtime.blobs, platform.runtime.queue, since=since, until=until).count > 0
    drain(platform)


def _trace(trace_id: str, name: str, event: str) -> list[dict]:
    """A trace with a generation and a score on it."""
    return [
        {"id": f"{event}-t", "type": "trace-create", "timestamp": TS, "body": {"id": trace_id, "name": name}},
        {"id": f"{event}-g", "type": "generation-create", "timestamp": TS,
         "body": {"id": f"{trace_id}-gen", "traceId": trace_id, "startTime": TS, "output": name}},
        {"id": f"{event}-s", "type": "score-create", "timestamp": TS,
         "body": {"id": f"{trace_id}-score", "traceId": trace_id, "name": "quality", "value": 1}},
    ]  # fmt: skip


def test_deleted_traces_and_scores_stay_deleted_after_a_replay(platform: LocalPlatform):
    client = ApiClient(platform.runtime.api_services(), auth=basic_auth(PK, SK))
    # Given three traces with a generation and a score each, and a session score, all processed
    batch = _trace("t1", "first", "a") + _trace("t2", "second", "b") + _trace("t3", "third", "c")
    assert client.post(f"{API}/ingestion", body={"batch": batch}).status == 207
    session_score = {"id": "sess-score", "sessionId": "s1", "name": "mood", "value": "ok"}
    assert client.post(f"{API}/scores", body=session_score).status == 200
    drain(platform)
    assert client.get(f"{API}/traces").json()["meta"]["totalItems"] == 3
    # When t1 is deleted by id, t2 in bulk, and two scores (one on the kept trace t3) by id
    assert client.delete(f"{API}/traces/t1").status == 200
    assert client.delete(f"{API}/traces", body={"traceIds": ["t2"]}).status == 200
    assert client.delete(f"{API}/scores/t3-score").status == 202
    assert client.delete(f"{API}/scores/sess-score").status == 202
    # And every blob of the raw log is replayed and processed
    _replay_everything(platform)
    # Then the deleted traces, their observations and scores, and the deleted scores are still gone
    for trace_id in ("t1", "t2"):
        assert client.get(f"{API}/traces/{trace_id}").status == 404
        assert client.get(f"{API}/observations", query={"traceId": trace_id}).json()["data"] == []
        assert client.get(f"{API}/v2/scores/{trace_id}-score").status == 404
    assert client.get(f"{API}/v2/scores/t3-score").status == 404
    assert client.get(f"{API}/v2/scores/sess-score").status == 404
    # And what was not deleted is rebuilt as it was
    kept = client.get(f"{API}/traces/t3").json()
    assert kept["name"] == "third" and [o["id"] for o in kept["observations"]] == ["t3-gen"]
    assert kept["scores"] == []
    assert client.get(f"{API}/traces").json()["meta"]["totalItems"] == 1

    # When new events use a deleted trace id and a deleted score id after the deletions
    assert client.post(f"{API}/ingestion", body={"batch": _trace("t1", "reborn", "z")}).status == 207
    assert client.post(f"{API}/scores", body={**session_score, "value": "better"}).status == 200
    drain(platform)
    # Then they are ingested normally, built from the new events only
    reborn = client.get(f"{API}/traces/t1").json()
    assert reborn["name"] == "reborn"
    assert [(o["id"], o["output"]) for o in reborn["observations"]] == [("t1-gen", "reborn")]
    assert [s["id"] for s in reborn["scores"]] == ["t1-score"]
    assert client.get(f"{API}/v2/scores/sess-score").json()["stringValue"] == "better"
    # And another full replay keeps exactly that state
    _replay_everything(platform)
    assert client.get(f"{API}/traces/t1").json() == reborn
    assert client.get(f"{API}/traces/t2").status == 404
    assert client.get(f"{API}/traces").json()["meta"]["totalItems"] == 2
