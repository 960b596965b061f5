"""The real ``langfuse==5.0.4`` SDK and raw HTTP against a live ``skyglass serve``.

The batch endpoint (what SDK v2 and many integrations send) writes traces; the v5 SDK's client
then reads them back through the endpoints it wraps, and creates and deletes scores.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import httpx
import pytest
from langfuse import Langfuse

from tests.support.openapi import assert_matches_schema
from tests.support.server import LiveServer, wait_until


@pytest.fixture(scope="module")
def langfuse(live_server: LiveServer) -> Iterator[Langfuse]:
    client = Langfuse(
        public_key=live_server.public_key,
        secret_key=live_server.secret_key,
        base_url=live_server.base_url,
        flush_interval=0.2,
    )
    yield client
    client.shutdown()


def _ingest(server: LiveServer, batch: list[dict]) -> httpx.Response:
    return httpx.post(
        f"{server.base_url}/api/public/ingestion", json={"batch": batch}, auth=server.auth, timeout=10
    )


def _agent_trace(trace_id: str) -> list[dict]:
    t0 = "2026-01-01T10:00:00.000Z"
    return [
        {
            "id": f"{trace_id}-e1",
            "type": "trace-create",
            "timestamp": t0,
            "body": {
                "id": trace_id,
                "name": "support-agent",
                "userId": "user-7",
                "sessionId": f"session-{trace_id}",
                "tags": ["prod", "agent"],
                "metadata": {"tier": "gold", "attempt": 2},
                "input": {"question": "where is my order?"},
            },
        },
        {
            "id": f"{trace_id}-e2",
            "type": "generation-create",
            "timestamp": "2026-01-01T10:00:00.100Z",
            "body": {
                "id": f"{trace_id}-gen",
                "traceId": trace_id,
                "name": "plan",
                "startTime": "2026-01-01T10:00:00.100Z",
                "model": "gpt-4o",
                "modelParameters": {"temperature": 0.2},
                "input": [{"role": "user", "content": "where is my order?"}],
                "usageDetails": {"input": 120, "output": 30},
                "costDetails": {"input": 0.0003, "output": 0.0003},
            },
        },
        {
            "id": f"{trace_id}-e3",
            "type": "tool-create",
            "timestamp": "2026-01-01T10:00:00.500Z",
            "body": {
                "id": f"{trace_id}-tool",
                "traceId": trace_id,
                "parentObservationId": f"{trace_id}-gen",
                "name": "lookup_order",
                "startTime": "2026-01-01T10:00:00.500Z",
                "endTime": "2026-01-01T10:00:00.700Z",
                "input": {"order": 42},
                "output": {"status": "shipped"},
            },
        },
        {
            "id": f"{trace_id}-e4",
            "type": "generation-update",
            "timestamp": "2026-01-01T10:00:01.000Z",
            "body": {
                "id": f"{trace_id}-gen",
                "traceId": trace_id,
                "endTime": "2026-01-01T10:00:01.000Z",
                "output": {"role": "assistant", "content": "It has shipped."},
            },
        },
    ]


def _trace(server: LiveServer, trace_id: str) -> dict | None:
    reply = httpx.get(f"{server.base_url}/api/public/traces/{trace_id}", auth=server.auth, timeout=10)
    return reply.json() if reply.status_code == 200 else None


def _ready(server: LiveServer, trace_id: str, observations: int) -> dict | None:
    trace = _trace(server, trace_id)
    return trace if trace and len(trace["observations"]) == observations else None


def test_batch_ingestion_then_read_back_through_every_read_surface(
    live_server: LiveServer, langfuse: Langfuse
):
    # Given an agent trace sent through the batch API, the update before nothing else
    trace_id = f"trace-{uuid.uuid4().hex[:8]}"
    reply = _ingest(live_server, _agent_trace(trace_id))
    assert reply.status_code == 207
    assert [s["status"] for s in reply.json()["successes"]] == [201] * 4

    # When it has been processed
    trace = wait_until(lambda: _ready(live_server, trace_id, 2))

    # Then the v1 trace has the merged fields, IO, metadata, tags and the rolled-up cost
    assert_matches_schema("TraceWithFullDetails", trace)
    assert trace["name"] == "support-agent" and trace["userId"] == "user-7"
    assert trace["metadata"] == {"tier": "gold", "attempt": 2}
    assert sorted(trace["tags"]) == ["agent", "prod"]
    assert trace["input"] == {"question": "where is my order?"}
    assert trace["totalCost"] == pytest.approx(0.0006)
    assert trace["latency"] == pytest.approx(0.9, abs=0.01)
    generation = next(o for o in trace["observations"] if o["type"] == "GENERATION")
    assert generation["output"] == {"role": "assistant", "content": "It has shipped."}
    assert generation["endTime"].startswith("2026-01-01T10:00:01")
    assert generation["usageDetails"]["input"] == 120 and generation["usageDetails"]["total"] == 150
    assert generation["modelParameters"] == {"temperature": 0.2}

    # And the SDK's own client reads the observations (v2) with the right hierarchy
    page = langfuse.api.observations.get_many(trace_id=trace_id, fields="core,basic,io,model,usage")
    by_name = {o.name: o for o in page.data}
    assert set(by_name) == {"plan", "lookup_order"}
    assert by_name["lookup_order"].type == "TOOL"
    assert by_name["lookup_order"].parent_observation_id == f"{trace_id}-gen"

    # And sessions and the trace list find it by user and tag
    session = httpx.get(
        f"{live_server.base_url}/api/public/sessions/session-{trace_id}", auth=live_server.auth
    ).json()
    assert [t["id"] for t in session["traces"]] == [trace_id]
    listing = httpx.get(
        f"{live_server.base_url}/api/public/traces",
        params=[("userId", "user-7"), ("tags", "prod"), ("tags", "agent")],
        auth=live_server.auth,
    ).json()
    assert_matches_schema("Traces", listing)
    assert trace_id in [t["id"] for t in listing["data"]]


def test_sdk_scores_are_created_read_and_deleted(live_server: LiveServer, langfuse: Langfuse):
    # Given a processed trace
    trace_id = f"trace-{uuid.uuid4().hex[:8]}"
    _ingest(live_server, _agent_trace(trace_id)[:1])
    wait_until(lambda: _trace(live_server, trace_id))

    # When the SDK scores it (a JSON array on /api/public/scores) and flushes
    langfuse.create_score(trace_id=trace_id, name="quality", value=0.9, comment="good")
    langfuse.create_score(trace_id=trace_id, name="resolved", value=1, data_type="BOOLEAN")
    langfuse.create_score(trace_id=trace_id, name="tone", value="friendly", data_type="CATEGORICAL")
    langfuse.flush()

    # Then the SDK's v3 scores client reads them back with their data types
    def scores() -> list:
        found = langfuse.api.scores.get_many(trace_id=trace_id).data
        return found if len(found) == 3 else []

    found = {s.name: s for s in wait_until(scores)}
    assert found["quality"].value == pytest.approx(0.9)
    assert found["resolved"].value is True or found["resolved"].value == 1
    assert found["tone"].value == "friendly"

    # When one is deleted through the SDK
    langfuse.api.scores.delete(found["quality"].id)
    # Then it is gone
    remaining = {s.name for s in langfuse.api.scores.get_many(trace_id=trace_id).data}
    assert remaining == {"resolved", "tone"}


def test_sdk_project_lookup_and_trace_deletion(live_server: LiveServer, langfuse: Langfuse):
    # Given the key's project
    projects = langfuse.api.projects.get()
    assert [p.name for p in projects.data] == [live_server.project_name]
    # And a processed trace
    trace_id = f"trace-{uuid.uuid4().hex[:8]}"
    _ingest(live_server, _agent_trace(trace_id))
    wait_until(lambda: _ready(live_server, trace_id, 2))
    # When the SDK deletes it
    langfuse.api.trace.delete(trace_id)
    # Then the trace and its observations are gone
    assert (
        httpx.get(f"{live_server.base_url}/api/public/traces/{trace_id}", auth=live_server.auth).status_code
        == 404
    )
    assert langfuse.api.observations.get_many(trace_id=trace_id).data == []


@pytest.mark.parametrize(
    ("headers", "content", "status", "fragment"),
    [
        ({"content-type": "application/json"}, b'{"batch": [', 400, "Invalid JSON"),
        ({"content-type": "text/plain"}, b'{"batch": []}', 415, "application/json"),
        ({"content-type": "application/json"}, b'{"events": []}', 400, "batch"),
        ({"content-type": "application/json"}, b"x" * (6 * 1024 * 1024), 413, "limit"),
    ],
)
def test_bad_requests_get_clear_4xx_answers_over_http(live_server, headers, content, status, fragment):
    # When a malformed request is sent
    reply = httpx.post(
        f"{live_server.base_url}/api/public/ingestion",
        content=content,
        headers=headers,
        auth=live_server.auth,
        timeout=30,
    )
    # Then the answer is the right 4xx with a message naming the problem
    assert reply.status_code == status
    assert fragment.lower() in reply.json()["message"].lower()


def test_unknown_event_type_and_invalid_fields_fail_alone(live_server: LiveServer):
    trace_id = f"trace-{uuid.uuid4().hex[:8]}"
    batch = [
        *_agent_trace(trace_id)[:1],
        {"id": "bad-type", "type": "banana-create", "timestamp": "2026-01-01T10:00:00Z", "body": {}},
        {"id": "bad-field", "type": "span-create", "timestamp": "2026-01-01T10:00:00Z", "body": {"id": 5}},
    ]
    reply = _ingest(live_server, batch)
    assert reply.status_code == 207
    body = reply.json()
    assert [s["id"] for s in body["successes"]] == [f"{trace_id}-e1"]
    errors = {e["id"]: e for e in body["errors"]}
    assert errors["bad-type"]["status"] == 400 and "banana-create" in errors["bad-type"]["error"]
    assert errors["bad-field"]["status"] == 400
    assert wait_until(lambda: _trace(live_server, trace_id))["name"] == "support-agent"


def test_wrong_or_missing_keys_are_401_and_unknown_ids_404(live_server: LiveServer):
    url = f"{live_server.base_url}/api/public/traces"
    assert httpx.get(url).status_code == 401
    assert httpx.get(url, auth=(live_server.public_key, "sk-sg-wrong")).status_code == 401
    missing = httpx.get(f"{url}/does-not-exist", auth=live_server.auth)
    assert missing.status_code == 404 and missing.json()["message"]
