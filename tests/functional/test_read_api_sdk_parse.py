"""Every read response parses where a client parses it.

Endpoints the installed SDK (langfuse 5.0.4) calls are driven through its own generated client
(``LangfuseAPI`` over an httpx transport into our handlers), so the SDK builds the requests and
validates the responses with its pydantic models. The legacy read endpoints the SDK no longer
wraps (traces, sessions, v1 observations, v2 scores) are validated against their schemas in the
Langfuse OpenAPI spec, and their score items also with the SDK's ``Score`` union.
"""

from __future__ import annotations

import base64
import json
from typing import Any
from urllib.parse import parse_qsl

import httpx
import pytest
from langfuse.api import LangfuseAPI, Score
from langfuse.api.core.pydantic_utilities import parse_obj_as

from skyglass.api.deps import ApiServices
from skyglass.auth.service import Authenticator
from skyglass.settings import Settings
from tests.support.api import ApiClient, basic_auth
from tests.support.fakes import FakeMetaStore
from tests.support.openapi import assert_matches_schema, schema_errors
from tests.support.records import at, make_api_key, make_generation, make_observation, make_score, make_trace

P = "project-a"
API = "/api/public"


def sdk_score(item: dict[str, Any]) -> Any:
    """Parse one score as the SDK parses its ``Score`` union (by ``dataType``)."""
    return parse_obj_as(Score, item)  # type: ignore[arg-type]  # an Annotated union, not a class


def _conforms(name: str, body: Any) -> Any:
    assert_matches_schema(name, body)
    return body


@pytest.fixture
def world(chdb_store):
    """(ApiClient, SDK client) of one project over a seeded store."""
    meta = FakeMetaStore()
    key, secret = make_api_key(P)
    meta.add_api_key(key)
    public = key.public_key
    services = ApiServices(
        settings=Settings(),
        blobs=None,  # type: ignore[arg-type]
        queue=None,  # type: ignore[arg-type]
        analytics=chdb_store,
        meta=meta,
        authenticator=Authenticator(meta),
    )
    chdb_store.upsert_traces(
        [
            make_trace(
                id="t1", session_id="s1", user_id="u1", tags=["x"], input='{"a": 1}', metadata={"k": 1}
            ),
            make_trace(id="t2", session_id="s1", timestamp=at(5), release="r1", version="v1"),
        ]
    )
    chdb_store.upsert_observations(
        [
            make_generation(id="o1", trace_id="t1", completion_start_time=at(0.25), prompt_id="pr",
                            prompt_name="p", prompt_version=1, metadata={"k": "v"}),
            make_observation(id="o2", trace_id="t1", parent_observation_id="o1", start_time=at(1)),
            make_observation(id="o3", trace_id="t2", start_time=at(5), end_time=None, type="EVENT"),
        ]
    )  # fmt: skip
    chdb_store.upsert_scores(
        [
            make_score(id="n1", trace_id="t1", value=0.75, comment="c", metadata={"m": True}),
            make_score(id="b1", trace_id="t1", observation_id="o1", name="ok", data_type="BOOLEAN", value=0,
                       string_value="False", timestamp=at(1), source="EVAL"),
            make_score(id="c1", session_id="s1", trace_id=None, name="mood", data_type="CATEGORICAL",
                       value=1, string_value="good", timestamp=at(2), source="ANNOTATION", queue_id="q"),
        ]
    )  # fmt: skip
    client = ApiClient(services, basic_auth(public, secret))

    def bridge(request: httpx.Request) -> httpx.Response:
        # the SDK's request, as API Gateway would hand it to our handlers
        raw_path, _, raw_query = request.url.raw_path.decode().partition("?")
        reply = client.request(
            request.method,
            raw_path,
            query=parse_qsl(raw_query, keep_blank_values=True),
            headers=dict(request.headers),
            body=request.content or None,
        )
        return httpx.Response(reply.status, headers=reply.headers, content=reply.text.encode())

    sdk = LangfuseAPI(
        base_url="http://skyglass.test",
        username=public,
        password=secret,
        httpx_client=httpx.Client(transport=httpx.MockTransport(bridge)),
    )
    return client, sdk


def test_sdk_v2_observations_parse_and_page(world):
    _, sdk = world
    # When the SDK pages through v2 observations with every field group
    groups = "core,basic,time,io,metadata,model,usage,prompt,metrics,trace_context"
    first = sdk.observations.get_many(fields=groups, limit=2, environment=["default"])
    rest = sdk.observations.get_many(fields=groups, limit=2, cursor=first.meta.cursor)
    # Then its models hold our values
    assert [o.id for o in first.data + rest.data] == ["o3", "o2", "o1"]
    assert rest.meta.cursor is None
    generation = rest.data[0]
    assert generation.type == "GENERATION" and generation.trace_id == "t1" and generation.project_id == P
    assert generation.model == "gpt-4o" and generation.usage_details == {
        "input": 10,
        "output": 20,
        "total": 30,
    }
    assert generation.cost_details["total"] == pytest.approx(
        0.003
    ) and generation.total_cost == pytest.approx(0.003)
    assert generation.time_to_first_token == 0.25 and generation.latency == 1.0
    assert generation.prompt_name == "p" and generation.prompt_version == 1
    assert json.loads(generation.input) == [{"role": "user", "content": "hi"}]
    assert generation.metadata == {"k": "v"} and generation.tags == ["x"] and generation.user_id == "u1"
    assert generation.start_time == at(0) and generation.level == "DEFAULT"
    # And filters the SDK sends (lists, booleans) arrive intact
    roots = sdk.observations.get_many(is_root_observation=True, trace_id="t1")
    assert [o.id for o in roots.data] == ["o1"]


def test_sdk_v3_scores_parse_with_typed_values(world):
    _, sdk = world
    page = sdk.scores.get_many(fields="details,subject,annotation", limit=2)
    more = sdk.scores.get_many(limit=2, cursor=page.meta.cursor)
    assert [s.id for s in page.data + more.data] == ["c1", "b1", "n1"]
    mood, ok = page.data
    assert (mood.data_type, mood.value, mood.queue_id) == ("CATEGORICAL", "good", "q")
    assert mood.subject.kind == "session" and mood.subject.id == "s1"
    assert (ok.data_type, ok.value, ok.source) == ("BOOLEAN", False, "EVAL")
    assert ok.subject.kind == "observation" and ok.subject.trace_id == "t1"
    assert more.data[0].value == 0.75 and more.data[0].comment is None  # details not requested
    assert page.meta.limit == 2 and more.meta.cursor is None
    numeric = sdk.scores.get_many(data_type="NUMERIC", value_min=0.5, fields="details")
    assert [(s.id, s.comment, s.metadata) for s in numeric.data] == [("n1", "c", {"m": True})]


def test_sdk_deletes_traces(world):
    client, sdk = world
    assert sdk.trace.delete("t1").message == "Trace deleted successfully"
    assert sdk.trace.delete_multiple(trace_ids=["t2", "nope"]).message == "Traces deleted successfully"
    assert client.get(f"{API}/traces").json()["data"] == []


def test_legacy_trace_and_session_responses_match_the_spec(world):
    client, _ = world
    traces = _conforms("Traces", client.get(f"{API}/traces").json())
    assert [t["id"] for t in traces["data"]] == ["t2", "t1"]
    full = _conforms("TraceWithFullDetails", client.get(f"{API}/traces/t1").json())
    assert [o["id"] for o in full["observations"]] == ["o1", "o2"]
    assert {s["id"] for s in full["scores"]} == {"n1", "b1"}
    for score in full["scores"]:  # ScoreV1 items are also SDK scores
        assert sdk_score(score).id == score["id"]
    _conforms("Traces", client.get(f"{API}/traces", query={"fields": "core"}).json())
    _conforms("PaginatedSessions", client.get(f"{API}/sessions").json())
    session = _conforms("SessionWithTraces", client.get(f"{API}/sessions/s1").json())
    assert [t["id"] for t in session["traces"]] == ["t1", "t2"]


def test_legacy_observation_and_score_responses_match_the_spec(world):
    client, _ = world
    views = _conforms("legacyObservationsViews", client.get(f"{API}/observations").json())
    assert len(views["data"]) == 3
    single = _conforms("ObservationsViewSingle", client.get(f"{API}/observations/o1").json())
    assert single["usage"] == {"input": 10, "output": 20, "total": 30, "unit": "TOKENS"}
    listed = _conforms("GetScoresResponse", client.get(f"{API}/v2/scores").json())
    parsed = [sdk_score(item) for item in listed["data"]]
    assert [(s.id, s.data_type) for s in parsed] == [
        ("c1", "CATEGORICAL"),
        ("b1", "BOOLEAN"),
        ("n1", "NUMERIC"),
    ]
    assert parsed[1].string_value == "False" and parsed[1].value == 0
    assert listed["data"][2]["trace"] == {
        "userId": "u1",
        "tags": ["x"],
        "environment": "default",
        "sessionId": "s1",
    }
    _conforms("GetScoresResponse", client.get(f"{API}/scores").json())
    one = _conforms("Score", client.get(f"{API}/v2/scores/c1").json())
    assert sdk_score(one).string_value == "good"


def test_cursors_are_opaque_base64(world):
    _, sdk = world
    cursor = sdk.observations.get_many(limit=1).meta.cursor
    assert cursor and json.loads(base64.b64decode(cursor))["lastId"] == "o3"


def test_the_spec_check_rejects_wrong_shapes(world):
    # Given a valid trace list body
    client, _ = world
    body = client.get(f"{API}/traces").json()
    # When a required field is missing, a type is wrong or an enum value unknown, Then it fails
    broken = [
        lambda b: b["data"][0].pop("htmlPath"),
        lambda b: b["data"][0].update(tags="x"),
        lambda b: b["meta"].update(page="1"),
        lambda b: b["data"][0].update(timestamp="yesterday"),
    ]
    for breaks in broken:
        copy = json.loads(json.dumps(body))
        breaks(copy)
        assert schema_errors("Traces", copy), f"not rejected: {copy['data'][0]}"
    assert schema_errors("Score", {"dataType": "NOPE"})
