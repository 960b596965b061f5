"""CORRECTION scores end to end on the local platform: both write paths, the worker, every read.

A correction is a corrected output of a trace or an observation (Langfuse's ``CORRECTION`` data
type): the text travels as the score value, is stored with the name ``output`` and value 0, and
reads back as ``stringValue`` (v1/v2) or as the value itself (v3).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from skyglass.local.server import LocalPlatform, build_platform
from skyglass.settings import Settings
from tests.support.api import ApiClient, basic_auth
from tests.support.openapi import assert_matches_schema
from tests.support.platform import drain

PK, SK = "pk-sg-corrections", "sk-sg-corrections"
API = "/api/public"
FIXED = "The capital of Australia is Canberra.\n" * 40  # longer than a TEXT score may be


@pytest.fixture
def platform(tmp_path: Path) -> Iterator[LocalPlatform]:
    settings = Settings(
        data_dir=tmp_path / "data",
        init_project_name="shop",
        init_public_key=PK,
        init_secret_key=SK,
    )
    built = build_platform(settings)
    yield built
    built.runtime.close()


def test_a_correction_sent_either_way_is_stored_and_read_back_as_langfuse_does(platform: LocalPlatform):
    client = ApiClient(platform.runtime.api_services(), auth=basic_auth(PK, SK))
    batch = [
        {"id": "e1", "type": "trace-create", "timestamp": "2026-01-01T10:00:00Z",
         "body": {"id": "t1", "name": "qa"}},
        {"id": "e2", "type": "generation-create", "timestamp": "2026-01-01T10:00:00Z",
         "body": {"id": "g1", "traceId": "t1", "startTime": "2026-01-01T10:00:00Z", "output": "Sydney"}},
        {"id": "e3", "type": "score-create", "timestamp": "2026-01-01T10:00:05Z",
         "body": {"id": "c-obs", "traceId": "t1", "observationId": "g1", "name": "fixed",
                  "value": FIXED, "dataType": "CORRECTION", "source": "ANNOTATION"}},
        {"id": "e4", "type": "score-create", "timestamp": "2026-01-01T10:00:05Z",
         "body": {"id": "q1", "traceId": "t1", "name": "quality", "value": 0.2}},
    ]  # fmt: skip
    # Given a correction sent in an ingestion batch, and one posted to /scores
    reply = client.post(f"{API}/ingestion", body={"batch": batch})
    assert reply.status == 207 and reply.json()["errors"] == [], reply.text
    posted = client.post(
        f"{API}/scores",
        body={
            "id": "c-trace",
            "traceId": "t1",
            "name": "output",
            "value": "Canberra",
            "dataType": "CORRECTION",
        },
    )
    assert (posted.status, posted.json()) == (200, {"id": "c-trace"})
    # When the worker has processed them
    drain(platform)
    # Then v2 reads give value 0 and the text as stringValue, named "output" whatever was sent
    on_observation = client.get(f"{API}/v2/scores/c-obs").json()
    assert_matches_schema("Score", on_observation)
    assert (on_observation["name"], on_observation["dataType"], on_observation["value"]) == (
        "output", "CORRECTION", 0
    )  # fmt: skip
    assert on_observation["stringValue"] == FIXED
    assert (on_observation["traceId"], on_observation["observationId"]) == ("t1", "g1")
    listing = client.get(f"{API}/v2/scores", query={"dataType": "CORRECTION"}).json()
    assert_matches_schema("GetScoresResponse", listing)
    assert {s["id"]: s["stringValue"] for s in listing["data"]} == {"c-obs": FIXED, "c-trace": "Canberra"}
    # And v3 returns the text as the value, with the subject it corrects
    v3 = client.get(f"{API}/v3/scores", query={"dataType": "correction", "fields": "subject"}).json()
    assert_matches_schema("GetScoresV3Response", v3)
    assert {s["id"]: (s["value"], s["subject"]["kind"]) for s in v3["data"]} == {
        "c-obs": (FIXED, "observation"),
        "c-trace": ("Canberra", "trace"),
    }
    # And the trace's v1 score list leaves them out, as Langfuse does (ScoreV1 has no CORRECTION)
    trace = client.get(f"{API}/traces/t1").json()
    assert_matches_schema("TraceWithFullDetails", trace)
    assert [s["id"] for s in trace["scores"]] == ["q1"]


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"sessionId": "s1", "value": "x"}, "not to a session or dataset run"),
        ({"traceId": "t1", "value": 1}, "must be a string (the corrected output)"),
        ({"traceId": "t1", "value": "x", "configId": "cfg"}, "cannot reference a score config"),
    ],
)
def test_an_invalid_correction_is_refused_the_same_way_on_both_paths(
    platform: LocalPlatform, body: dict, message: str
):
    client = ApiClient(platform.runtime.api_services(), auth=basic_auth(PK, SK))
    score = {"name": "output", "dataType": "CORRECTION", **body}
    # When posted to /scores: a 400 naming the rule
    reply = client.post(f"{API}/scores", body=score)
    assert reply.status == 400 and message in reply.json()["message"]
    # When sent as a score-create event: that event's 400, naming the same rule
    event = {"id": "e1", "type": "score-create", "timestamp": "2026-01-01T10:00:00Z", "body": score}
    result = client.post(f"{API}/ingestion", body={"batch": [event]}).json()
    assert result["successes"] == []
    [error] = result["errors"]
    assert error["status"] == 400 and message in error["error"]
    # And nothing was stored for processing
    assert list(platform.runtime.blobs.list_keys("raw/")) == []
