"""The read API through the HTTP handlers (in-process), on chDB: traces, observations, sessions,
scores, and trace deletion."""

from __future__ import annotations

import json

import pytest

from skyglass.api.deps import ApiServices
from skyglass.auth.service import Authenticator
from skyglass.settings import Settings
from tests.support.api import ApiClient, basic_auth
from tests.support.fakes import FakeMetaStore
from tests.support.records import at, make_api_key, make_generation, make_observation, make_score, make_trace

P, OTHER = "project-a", "project-b"
API = "/api/public"


class Caller:
    """One project's view of the API; callers share one ApiClient (the routers are module-level,
    so only one resolver can be bound to them at a time)."""

    def __init__(self, client: ApiClient, auth: str | None):
        self.client, self.auth = client, auth

    def get(self, path: str, **kwargs):
        return self.client.get(path, headers={"authorization": self.auth or ""}, **kwargs)

    def delete(self, path: str, **kwargs):
        return self.client.delete(path, headers={"authorization": self.auth or ""}, **kwargs)


def _auth(meta: FakeMetaStore, project_id: str) -> str:
    key, secret = make_api_key(project_id)
    meta.add_api_key(key)
    return basic_auth(key.public_key, secret)


@pytest.fixture
def api(chdb_store) -> tuple[Caller, Caller]:
    """(caller of project-a, caller of project-b) over one seeded store."""
    meta = FakeMetaStore()
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
            make_trace(id="t/1", timestamp=at(0), name="chat", user_id="u1", session_id="s 1", tags=["a", "b"],
                       environment="prod", input='{"q": "hi"}', output='"hello"', metadata={"k": [1, 2]}),
            make_trace(id="t2", timestamp=at(10), name="chat", user_id="u2", session_id="s 1", tags=["a"]),
            make_trace(id="t3", timestamp=at(20), name="other", user_id="u3"),
            make_trace(id="x1", project_id=OTHER, timestamp=at(30), session_id="s 1"),
        ]
    )  # fmt: skip
    chdb_store.upsert_observations(
        [
            make_generation(id="o1", trace_id="t/1", start_time=at(0), end_time=at(2),
                            completion_start_time=at(0.5), prompt_name="p", prompt_version=3,
                            usage_details={"input": 10, "input_cached": 5, "output": 20, "total": 35},
                            cost_details={"input": 0.001, "input_cached": 0.0005, "output": 0.002, "total": 0.0035},
                            total_cost=0.0035, metadata={"m": "v" * 300}),
            make_observation(id="o2", trace_id="t/1", parent_observation_id="o1", start_time=at(1),
                             end_time=at(4), level="ERROR"),
            make_observation(id="o3", trace_id="t2", start_time=at(10), type="EVENT", end_time=None),
            make_observation(id="ox", trace_id="x1", project_id=OTHER, start_time=at(30)),
        ]
    )  # fmt: skip
    chdb_store.upsert_scores(
        [
            make_score(id="sc1", trace_id="t/1", name="quality", value=0.8, timestamp=at(1)),
            make_score(id="sc2", trace_id="t/1", observation_id="o1", name="ok", data_type="BOOLEAN", value=1,
                       string_value="True", timestamp=at(2), comment="fine", metadata={"by": "me"}),
            make_score(id="sc3", session_id="s 1", trace_id=None, name="mood", data_type="CATEGORICAL",
                       value=0, string_value="happy", timestamp=at(3), source="ANNOTATION"),
            make_score(id="scx", trace_id="x1", project_id=OTHER),
        ]
    )  # fmt: skip
    client = ApiClient(services)
    return Caller(client, _auth(meta, P)), Caller(client, _auth(meta, OTHER))


def _ok(reply, status: int = 200):
    assert reply.status == status, reply.text
    return reply.json()


def _ids(reply) -> list[str]:
    return [item["id"] for item in _ok(reply)["data"]]


def test_trace_list_has_details_meta_and_filters(api):
    client, _ = api
    # When listing all traces
    body = _ok(client.get(f"{API}/traces"))
    # Then they are newest first with ids of observations and scores, latency, cost and a page meta
    assert [t["id"] for t in body["data"]] == ["t3", "t2", "t/1"]
    assert body["meta"] == {"page": 1, "limit": 50, "totalItems": 3, "totalPages": 1}
    first = body["data"][2]
    assert first["htmlPath"] == "/project/project-a/traces/t/1"
    assert first["observations"] == ["o1", "o2"] and sorted(first["scores"]) == ["sc1", "sc2"]
    assert first["latency"] == 4.0 and first["totalCost"] == pytest.approx(0.0035)
    assert first["input"] == {"q": "hi"} and first["output"] == "hello" and first["metadata"] == {"k": [1, 2]}
    assert first["timestamp"] == "2026-01-01T10:00:00.000Z" and first["tags"] == ["a", "b"]
    # And the simple parameters filter (tags repeated = all of), as do pages and order
    query = [("tags", "a"), ("tags", "b")]
    assert _ids(client.get(f"{API}/traces", query=query)) == ["t/1"]
    assert _ids(client.get(f"{API}/traces", query={"userId": "u2", "name": "chat"})) == ["t2"]
    ranged = {"fromTimestamp": "2026-01-01T10:00:05Z", "toTimestamp": "2026-01-01T10:00:20Z"}
    assert _ids(client.get(f"{API}/traces", query=ranged)) == ["t2"]
    assert _ids(client.get(f"{API}/traces", query={"environment": "prod"})) == ["t/1"]
    paged = _ok(client.get(f"{API}/traces", query={"limit": 2, "page": 2, "orderBy": "timestamp.asc"}))
    assert [t["id"] for t in paged["data"]] == ["t3"] and paged["meta"]["totalPages"] == 2
    # And a JSON filter overrides the simple parameter on the same column
    advanced = json.dumps([{"type": "string", "column": "userId", "operator": "=", "value": "u3"}])
    assert _ids(client.get(f"{API}/traces", query={"userId": "u1", "filter": advanced})) == ["t3"]


def test_trace_list_fields_skip_the_expensive_parts(api):
    client, _ = api
    body = _ok(client.get(f"{API}/traces", query={"fields": "core", "userId": "u1"}))
    [trace] = body["data"]
    assert trace["observations"] == [] and trace["scores"] == []
    assert trace["latency"] == -1 and trace["totalCost"] == -1
    assert trace["input"] is None and trace["metadata"] is None
    [trace] = _ok(client.get(f"{API}/traces", query={"fields": "core,scores", "userId": "u1"}))["data"]
    assert sorted(trace["scores"]) == ["sc1", "sc2"] and trace["observations"] == []


def test_one_trace_with_full_observations_and_scores(api):
    client, other = api
    # When reading a trace whose id needs URL encoding
    body = _ok(client.get(f"{API}/traces/t%2F1"))
    # Then it carries full observation views, scores, latency and cost
    assert body["id"] == "t/1" and body["latency"] == 4.0 and body["totalCost"] == pytest.approx(0.0035)
    generation, span = body["observations"]
    assert generation["usage"] == {"input": 15, "output": 20, "total": 35, "unit": "TOKENS"}
    assert generation["calculatedInputCost"] == pytest.approx(0.0015)
    assert generation["calculatedOutputCost"] == pytest.approx(0.002)
    assert generation["calculatedTotalCost"] == pytest.approx(0.0035)
    assert generation["latency"] == 2.0 and generation["timeToFirstToken"] == 0.5
    assert generation["modelParameters"] == {"temperature": 0.2} and generation["model"] == "gpt-4o"
    assert (
        generation["input"] == [{"role": "user", "content": "hi"}]
        and generation["metadata"]["m"] == "v" * 300
    )
    assert generation["promptName"] == "p" and generation["promptVersion"] == 3
    assert span["parentObservationId"] == "o1" and span["level"] == "ERROR"
    by_id = {s["id"]: s for s in body["scores"]}
    assert by_id["sc2"]["value"] == 1 and by_id["sc2"]["stringValue"] == "True"
    assert "stringValue" not in by_id["sc1"]
    # And unknown ids and other projects' traces are 404s
    assert client.get(f"{API}/traces/nope").status == 404
    assert other.get(f"{API}/traces/t%2F1").status == 404
    assert _ok(other.get(f"{API}/traces"))["meta"]["totalItems"] == 1


def test_deleting_traces(api):
    client, other = api
    # When another project deletes our trace id, nothing of ours goes
    assert _ok(other.delete(f"{API}/traces/t2")) == {"message": "Trace deleted successfully"}
    assert client.get(f"{API}/traces/t2").status == 200
    # When we delete one trace and then a batch
    assert _ok(client.delete(f"{API}/traces/t2")) == {"message": "Trace deleted successfully"}
    assert client.get(f"{API}/traces/t2").status == 404
    body = _ok(client.delete(f"{API}/traces", body={"traceIds": ["t/1", "t3"]}))
    assert body == {"message": "Traces deleted successfully"}
    # Then the traces, their observations and scores are gone
    assert _ok(client.get(f"{API}/traces"))["data"] == []
    assert _ok(client.get(f"{API}/observations"))["data"] == []
    assert _ids(client.get(f"{API}/v2/scores")) == ["sc3"]
    # And a malformed body is a 400
    bad: object
    for bad in ({"traceIds": []}, {"ids": ["x"]}, {"traceIds": [1]}, "not json"):
        reply = client.delete(f"{API}/traces", body=bad)
        assert reply.status == 400, bad
        assert "traceIds" in reply.json()["message"] or "JSON" in reply.json()["message"]


def test_v1_observations(api):
    client, _ = api
    body = _ok(client.get(f"{API}/observations", query={"limit": 2}))
    assert [o["id"] for o in body["data"]] == ["o3", "o2"]
    assert body["meta"] == {"page": 1, "limit": 2, "totalItems": 3, "totalPages": 2}
    assert _ids(client.get(f"{API}/observations", query={"type": "GENERATION"})) == ["o1"]
    assert _ids(client.get(f"{API}/observations", query={"userId": "u2"})) == ["o3"]
    assert _ids(client.get(f"{API}/observations", query={"level": "ERROR", "traceId": "t/1"})) == ["o2"]
    one = _ok(client.get(f"{API}/observations/o3"))
    assert one["type"] == "EVENT" and one["endTime"] is None and one["latency"] is None
    assert client.get(f"{API}/observations/ox").status == 404
    assert client.get(f"{API}/observations", query={"level": "LOUD"}).status == 400


def test_v2_observations_field_groups_and_cursor(api):
    client, _ = api
    # When paging with a limit of one and following the cursor
    seen, cursor = [], None
    for _ in range(5):
        query = {"limit": 1, "fields": "core,io,metadata,usage,metrics,trace_context,model,prompt,time"}
        if cursor:
            query["cursor"] = cursor
        body = _ok(client.get(f"{API}/v2/observations", query=query))
        seen += body["data"]
        cursor = body["meta"].get("cursor")
        if not cursor:
            break
    # Then every observation came once, newest first, and the last page has no cursor
    assert [o["id"] for o in seen] == ["o3", "o2", "o1"]
    generation = seen[2]
    assert generation["input"] == '[{"role": "user", "content": "hi"}]'  # raw string in v2
    assert generation["metadata"]["m"] == "v" * 200  # truncated unless expanded
    assert generation["usageDetails"]["total"] == 35 and generation["totalCost"] == pytest.approx(0.0035)
    assert generation["tags"] == ["a", "b"] and generation["traceName"] == "chat"
    assert generation["providedModelName"] == "gpt-4o" and generation["latency"] == 2.0
    assert "name" not in generation  # basic was not requested
    # And the default groups are core and basic, with trace attributes
    [latest] = _ok(client.get(f"{API}/v2/observations", query={"limit": 1}))["data"]
    assert latest["userId"] == "u2" and latest["sessionId"] == "s 1" and "input" not in latest
    expanded = _ok(
        client.get(
            f"{API}/v2/observations",
            query={"fields": "metadata", "expandMetadata": "m", "traceId": "t/1", "type": "GENERATION"},
        )
    )
    assert expanded["data"][0]["metadata"]["m"] == "v" * 300
    assert _ids(client.get(f"{API}/v2/observations", query={"isRootObservation": "false"})) == ["o2"]
    assert _ids(client.get(f"{API}/v2/observations", query={"parentObservationId": ""})) == ["o3", "o1"]


def test_v2_observations_bad_input(api):
    client, _ = api
    reply = client.get(f"{API}/v2/observations", query={"parseIoAsJson": "true"})
    assert reply.status == 400 and "parseIoAsJson=true is no longer supported" in reply.json()["message"]
    for query, name in (({"fields": "core,bogus"}, "fields"), ({"limit": 1001}, "limit"),
                        ({"cursor": "%%%"}, "cursor")):  # fmt: skip
        reply = client.get(f"{API}/v2/observations", query=query)
        assert reply.status == 400 and name in reply.json()["message"]


def test_sessions(api):
    client, other = api
    body = _ok(client.get(f"{API}/sessions"))
    assert body["data"] == [
        {"id": "s 1", "createdAt": "2026-01-01T10:00:00.000Z", "projectId": P, "environment": "prod"}
    ]
    assert body["meta"]["totalItems"] == 1
    assert _ok(client.get(f"{API}/sessions", query={"fromTimestamp": "2026-01-01T10:00:01Z"}))["data"] == []
    session = _ok(client.get(f"{API}/sessions/s%201"))
    assert [t["id"] for t in session["traces"]] == ["t/1", "t2"] and session["createdAt"].endswith("00.000Z")
    assert [t["id"] for t in _ok(other.get(f"{API}/sessions/s%201"))["traces"]] == ["x1"]
    assert client.get(f"{API}/sessions/nope").status == 404


def test_v2_and_v1_scores(api):
    client, _ = api
    body = _ok(client.get(f"{API}/v2/scores"))
    assert [s["id"] for s in body["data"]] == ["sc3", "sc2", "sc1"]
    by_id = {s["id"]: s for s in body["data"]}
    assert by_id["sc2"]["trace"] == {
        "userId": "u1",
        "tags": ["a", "b"],
        "environment": "prod",
        "sessionId": "s 1",
    }
    assert "trace" not in by_id["sc3"] and by_id["sc3"]["stringValue"] == "happy"
    assert by_id["sc2"]["metadata"] == {"by": "me"} and by_id["sc2"]["observationId"] == "o1"
    # And filters, fields and the legacy path
    assert _ids(client.get(f"{API}/v2/scores", query={"operator": ">", "value": 0.9})) == ["sc2"]
    assert _ids(client.get(f"{API}/scores", query={"dataType": "boolean"})) == ["sc2"]
    assert _ids(client.get(f"{API}/v2/scores", query={"userId": "u1"})) == [
        "sc2",
        "sc1",
    ]
    assert "trace" not in _ok(client.get(f"{API}/v2/scores", query={"fields": "score"}))["data"][0]
    assert client.get(f"{API}/v2/scores", query={"fields": "score", "userId": "u1"}).status == 400
    assert client.get(f"{API}/v2/scores", query={"operator": "~", "value": 1}).status == 400
    assert client.get(f"{API}/v2/scores", query={"limit": 101}).status == 400
    assert _ok(client.get(f"{API}/v2/scores/sc1"))["value"] == 0.8
    assert _ok(client.get(f"{API}/scores/sc2"))["stringValue"] == "True"
    assert client.get(f"{API}/v2/scores/scx").status == 404


def test_v3_scores(api):
    client, _ = api
    # When paging two at a time with every field group
    first = _ok(client.get(f"{API}/v3/scores", query={"limit": 2, "fields": "details,subject,annotation"}))
    second = _ok(client.get(f"{API}/v3/scores", query={"limit": 2, "cursor": first["meta"]["cursor"]}))
    # Then values are typed by data type and subjects name what the score is attached to
    assert [s["id"] for s in first["data"] + second["data"]] == ["sc3", "sc2", "sc1"]
    assert "cursor" not in second["meta"] and second["meta"]["limit"] == 2
    mood, ok = first["data"]
    assert mood["value"] == "happy" and mood["subject"] == {"kind": "session", "id": "s 1"}
    assert ok["value"] is True and ok["subject"] == {"kind": "observation", "id": "o1", "traceId": "t/1"}
    assert ok["comment"] == "fine" and ok["queueId"] is None
    assert second["data"][0]["value"] == 0.8 and "comment" not in second["data"][0]
    # And the v3 filters apply, with their rules enforced
    assert _ids(client.get(f"{API}/v3/scores", query={"source": "annotation"})) == ["sc3"]
    numeric = {"dataType": "NUMERIC", "valueMin": 0.5, "valueMax": 1}
    assert _ids(client.get(f"{API}/v3/scores", query=numeric)) == ["sc1"]
    booleans = {"dataType": "BOOLEAN", "value": "true"}
    assert _ids(client.get(f"{API}/v3/scores", query=booleans)) == ["sc2"]
    assert _ids(client.get(f"{API}/v3/scores", query={"traceId": "t/1,t2"})) == [
        "sc2",
        "sc1",
    ]
    for query in ({"observationId": "o1"}, {"traceId": "t/1", "sessionId": "s 1"}, {"limit": 101},
                  {"fields": "everything"}, {"value": "1"}, {"dataType": "BOOLEAN", "valueMin": 1}):  # fmt: skip
        assert client.get(f"{API}/v3/scores", query=query).status == 400, query


@pytest.mark.parametrize(
    ("path", "query", "name"),
    [
        ("/traces", {"limit": 0}, "limit"),
        ("/traces", {"limit": "many"}, "limit"),
        ("/traces", {"page": -1}, "page"),
        ("/traces", {"orderBy": "latency.desc"}, "orderBy"),
        ("/traces", {"filter": "[{"}, "filter"),
        ("/traces", {"filter": '[{"type":"string","column":"nope","operator":"=","value":"x"}]'}, "filter"),
        ("/traces", {"fromTimestamp": "yesterday"}, "fromTimestamp"),
        ("/traces", {"fields": "core,all"}, "fields"),
        ("/observations", {"toStartTime": "2026-02-30T00:00:00Z"}, "toStartTime"),
        ("/sessions", {"limit": 1000}, "limit"),
        ("/v2/scores", {"source": "HUMAN"}, "source"),
    ],
)
def test_bad_parameters_are_400s_naming_the_parameter(api, path, query, name):
    client, _ = api
    reply = client.get(f"{API}{path}", query=query)
    assert reply.status == 400
    assert name in reply.json()["message"] and reply.json()["error"] == "InvalidRequestError"


def test_reads_need_credentials(api):
    client, _ = api
    client.auth = None
    assert client.get(f"{API}/traces").status == 401
    assert client.get(f"{API}/v3/scores").status == 401
