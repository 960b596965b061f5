"""Tracing with the real ``langfuse==5.0.4`` SDK (OTLP/HTTP protobuf, gzip) against a live server.

Everything the SDK records — nested ``@observe`` functions, every observation type, propagated
trace attributes, generations with model/usage/cost, exceptions, scores — is read back through
the SDK's own API client (v2 observations, v3 scores) and the raw v1 trace endpoint, and checked
field by field: hierarchy, timings, attributes, usage, provided and computed cost.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from langfuse import Langfuse, observe, propagate_attributes
from opentelemetry import trace as otel_trace
from opentelemetry.sdk.trace import TracerProvider

from skyglass.domain.pricing_models import load_default_models
from tests.support.openapi import assert_matches_schema
from tests.support.server import LiveServer, wait_until

pytestmark = pytest.mark.compat

ALL_FIELDS = "core,basic,time,io,metadata,model,usage,metrics"
OBSERVATION_TYPES = [
    "span",
    "generation",
    "agent",
    "tool",
    "chain",
    "retriever",
    "evaluator",
    "embedding",
    "guardrail",
]


@pytest.fixture(scope="module")
def langfuse(live_server: LiveServer) -> Iterator[Langfuse]:
    # Its own TracerProvider: other modules' clients may have registered the global one.
    client = Langfuse(
        public_key=live_server.public_key,
        secret_key=live_server.secret_key,
        base_url=live_server.base_url,
        tracer_provider=TracerProvider(),
        flush_interval=0.2,
    )
    yield client
    client.shutdown()


def now_ms() -> datetime:
    moment = datetime.now(UTC)
    return moment.replace(microsecond=moment.microsecond // 1000 * 1000)


def parse(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def raw_trace(server: LiveServer, trace_id: str) -> dict[str, Any] | None:
    reply = httpx.get(f"{server.base_url}/api/public/traces/{trace_id}", auth=server.auth, timeout=10)
    return reply.json() if reply.status_code == 200 else None


def trace_with(server: LiveServer, trace_id: str, observations: int) -> dict[str, Any]:
    """The v1 trace once all ``observations`` are processed (eventual consistency)."""

    def ready() -> dict[str, Any] | None:
        trace = raw_trace(server, trace_id)
        return trace if trace and len(trace["observations"]) == observations else None

    result: dict[str, Any] = wait_until(ready, timeout=30)
    return result


def gpt4o_price(key: str) -> float:
    model = next(m for m in load_default_models() if m.id == "gpt-4o")
    assert model.default_tier is not None
    return model.default_tier.prices[key]


def test_nested_observe_functions_with_propagated_attributes_usage_cost_and_scores(
    live_server: LiveServer, langfuse: Langfuse
):
    seen: dict[str, Any] = {}
    first_token = datetime.now(UTC) + timedelta(milliseconds=5)

    @observe(name="retrieve-docs", as_type="retriever")
    def retrieve(query: str) -> list[str]:
        return [f"doc about {query}"]

    @observe(as_type="generation")
    def call_llm(question: str, docs: list[str]) -> str:
        langfuse.update_current_generation(
            model="gpt-4o",
            model_parameters={"temperature": 0.2, "max_tokens": 64},
            usage_details={"input": 120, "output": 30},
            cost_details={"input": 0.0003, "output": 0.0003},
            completion_start_time=first_token,
        )
        return f"answer to {question}"

    @observe(as_type="generation", name="summarise")
    def summarise(text: str) -> str:
        # usage only: the cost comes from the default price table
        langfuse.update_current_generation(model="gpt-4o", usage_details={"input": 1000, "output": 200})
        return text[:10]

    @observe(name="rag-pipeline")
    def pipeline(question: str) -> str:
        with propagate_attributes(
            user_id="user-42",
            session_id="session-42",
            tags=["compat", "rag"],
            metadata={"team": "search"},
            trace_name="rag-request",
        ):
            seen["trace_id"] = langfuse.get_current_trace_id()
            seen["root_id"] = langfuse.get_current_observation_id()
            answer = call_llm(question, retrieve(question))
            summarise(answer)
            langfuse.score_current_trace(name="helpfulness", value=0.75, comment="good enough")
            return answer

    # Given an app traced with @observe, run once between two clock readings
    before = now_ms()
    assert pipeline("what is otel?", langfuse_public_key=live_server.public_key) == "answer to what is otel?"
    after = datetime.now(UTC)
    # When the SDK flushes (OTLP spans and the score)
    langfuse.flush()
    trace_id = seen["trace_id"]
    trace = trace_with(live_server, trace_id, 4)

    # Then the v1 trace has the propagated attributes, the root's IO and the rolled-up cost
    assert_matches_schema("TraceWithFullDetails", trace)
    assert (trace["name"], trace["userId"], trace["sessionId"]) == ("rag-request", "user-42", "session-42")
    assert sorted(trace["tags"]) == ["compat", "rag"]
    assert trace["metadata"]["team"] == "search"
    assert trace["input"] == {"args": ["what is otel?"], "kwargs": {}}
    assert trace["output"] == "answer to what is otel?"
    computed = 1000 * gpt4o_price("input") + 200 * gpt4o_price("output")
    assert trace["totalCost"] == pytest.approx(0.0006 + computed)

    # And the SDK's v2 client reads the exact hierarchy, with timings inside the run
    page = langfuse.api.observations.get_many(trace_id=trace_id, fields=ALL_FIELDS)
    by_name = {o.name: o for o in page.data}
    assert set(by_name) == {"rag-pipeline", "retrieve-docs", "call_llm", "summarise"}
    root = by_name["rag-pipeline"]
    assert root.id == seen["root_id"] and root.parent_observation_id is None and root.type == "SPAN"
    for name in ("retrieve-docs", "call_llm", "summarise"):
        child = by_name[name]
        assert child.parent_observation_id == root.id and child.trace_id == trace_id
        assert root.start_time <= child.start_time <= child.end_time <= root.end_time
    assert before <= root.start_time <= root.end_time <= after
    assert by_name["retrieve-docs"].type == "RETRIEVER"
    assert (
        by_name["retrieve-docs"].output is not None
        and "doc about what is otel?" in by_name["retrieve-docs"].output
    )

    # And the generation carries model, parameters, completion start, usage and its provided cost
    llm = by_name["call_llm"]
    assert (llm.type, llm.model, llm.internal_model_id) == ("GENERATION", "gpt-4o", "gpt-4o")
    assert llm.model_parameters == {"temperature": 0.2, "max_tokens": 64}
    assert llm.completion_start_time is not None
    assert abs(llm.completion_start_time - first_token) < timedelta(milliseconds=2)
    assert llm.usage_details == {"input": 120, "output": 30, "total": 150}
    assert llm.cost_details == pytest.approx({"input": 0.0003, "output": 0.0003, "total": 0.0006})
    assert llm.total_cost == pytest.approx(0.0006)
    assert json.loads(llm.input or "null") == {
        "args": ["what is otel?", ["doc about what is otel?"]],
        "kwargs": {},
    }

    # And the usage-only generation was priced from the default table
    summary = by_name["summarise"]
    assert summary.usage_details == {"input": 1000, "output": 200, "total": 1200}
    assert summary.cost_details["input"] == pytest.approx(1000 * gpt4o_price("input"))
    assert summary.total_cost == pytest.approx(computed)
    assert summary.usage_pricing_tier_name == "Standard"

    # And the trace score reads back through the v3 client
    scores = wait_until(
        lambda: langfuse.api.scores.get_many(trace_id=trace_id, fields="details,subject").data
    )
    [score] = scores
    assert (score.name, score.value, score.comment) == ("helpfulness", pytest.approx(0.75), "good enough")
    assert (score.subject.kind, score.subject.id) == ("trace", trace_id)


def test_every_observation_type_and_an_exception(live_server: LiveServer, langfuse: Langfuse):
    ids: dict[str, str] = {}
    # Given a root span with one child per observation type, an event and a failing span
    with langfuse.start_as_current_observation(
        name="root", as_type="agent", input={"task": "all types"}
    ) as root:
        trace_id = langfuse.get_current_trace_id()
        for as_type in OBSERVATION_TYPES:
            extra: dict[str, Any] = {}
            if as_type in ("generation", "embedding"):
                extra = {"model": "text-embedding-3-small" if as_type == "embedding" else "gpt-4o-mini"}
                extra["usage_details"] = {"input": 40}
            with langfuse.start_as_current_observation(
                name=f"a-{as_type}", as_type=as_type, metadata={"kind": as_type}, version="v7", **extra
            ) as child:  # type: ignore[call-overload]
                ids[as_type] = child.id
        langfuse.create_event(name="a-event", input={"hit": False}, level="WARNING").end()
        with (
            pytest.raises(ValueError, match="kaput"),
            langfuse.start_as_current_observation(name="fails", as_type="tool"),
        ):
            raise ValueError("kaput")
        root.update(output={"done": True})
    # And a score on one observation
    langfuse.create_score(
        name="correct", value=1, data_type="BOOLEAN", trace_id=trace_id, observation_id=ids["tool"]
    )
    # When everything is flushed
    langfuse.flush()
    total = 1 + len(OBSERVATION_TYPES) + 2
    trace = trace_with(live_server, trace_id, total)

    # Then every type is stored as Langfuse names it, under the root, with its metadata and version
    by_name = {o["name"]: o for o in trace["observations"]}
    assert by_name["root"]["type"] == "AGENT" and by_name["root"]["parentObservationId"] is None
    for as_type in OBSERVATION_TYPES:
        child = by_name[f"a-{as_type}"]
        assert child["type"] == as_type.upper() and child["id"] == ids[as_type]
        assert child["parentObservationId"] == by_name["root"]["id"]
        assert child["metadata"]["kind"] == as_type and child["version"] == "v7"
    event = by_name["a-event"]
    assert (event["type"], event["level"], event["input"]) == ("EVENT", "WARNING", {"hit": False})
    assert event["startTime"] == event["endTime"]
    # And the exception made the span an ERROR with the exception as status message and event
    failed = by_name["fails"]
    assert failed["level"] == "ERROR" and "kaput" in failed["statusMessage"]
    [exception] = failed["metadata"]["events"]
    assert exception["name"] == "exception" and exception["attributes"]["exception.type"] == "ValueError"
    # And usage without a cost is priced by model (embedding included)
    embedding = by_name["a-embedding"]
    assert embedding["modelId"] == "text-embedding-3-small" and embedding["calculatedTotalCost"] > 0
    assert by_name["a-generation"]["modelId"] == "gpt-4o-mini"
    # And the trace is named after the root and has its IO
    assert (trace["name"], trace["input"], trace["output"]) == ("root", {"task": "all types"}, {"done": True})
    # And the observation score reads back
    found = wait_until(
        lambda: (
            langfuse.api.scores.get_many(trace_id=trace_id, observation_id=ids["tool"], fields="subject").data
        )
    )
    [score] = found
    assert (score.name, score.data_type, score.value) == ("correct", "BOOLEAN", True)
    assert (score.subject.kind, score.subject.id) == ("observation", ids["tool"])


def test_an_app_root_under_a_foreign_parent_with_trace_io_and_an_unknown_langfuse_key(
    live_server: LiveServer, langfuse: Langfuse
):
    # Given a web framework's server span from another TracerProvider, which the SDK does not
    # export (OTel context is shared, so it still parents the SDK's observation)
    server_tracer = TracerProvider().get_tracer("my.web.framework")
    # And an SDK observation inside it: the SDK marks it langfuse.internal.is_app_root
    with (
        server_tracer.start_as_current_span("POST /chat") as http_span,
        langfuse.start_as_current_observation(name="handle-chat", input={"q": "hi"}) as handler,
    ):
        # (SDK v5 has no trace-IO API; these are the attributes SDK v3/v4 set, plus a key this
        # server does not know, set on the SDK's own span through the OTel API)
        otel_span = otel_trace.get_current_span()
        otel_span.set_attribute("langfuse.trace.input", json.dumps({"question": "hi"}))
        otel_span.set_attribute("langfuse.trace.output", json.dumps({"answer": "yo"}))
        otel_span.set_attribute("langfuse.future.flag", "on")
        handler.update(output="yo")
    # When the SDK flushes
    langfuse.flush()
    trace_id = format(http_span.get_span_context().trace_id, "032x")
    trace = trace_with(live_server, trace_id, 1)
    # Then the observation keeps its (unexported) parent yet describes the trace as its root
    [observation] = trace["observations"]
    assert observation["parentObservationId"] == format(http_span.get_span_context().span_id, "016x")
    assert trace["name"] == "handle-chat"
    # And the trace IO comes from the trace attributes, the observation keeps its own
    assert (trace["input"], trace["output"]) == ({"question": "hi"}, {"answer": "yo"})
    assert (observation["input"], observation["output"]) == ({"q": "hi"}, "yo")
    # And the unknown langfuse.* key is kept in metadata, the SDK's own keys are not
    attributes = observation["metadata"]["attributes"]
    assert attributes == {"langfuse.future.flag": "on"}


# --- the README's snippets ----------------------------------------------------------------------

README = Path(__file__).resolve().parents[2] / "README.md"


def readme_python(heading: str) -> str:
    """The first ```python block after ``heading`` in the README."""
    text = README.read_text()
    section = text[text.index(heading) :]
    return section.split("```python\n", 1)[1].split("```", 1)[0]


def run_snippet(server: LiveServer, code: str) -> str:
    env = {
        **os.environ,
        "LANGFUSE_PUBLIC_KEY": server.public_key,
        "LANGFUSE_SECRET_KEY": server.secret_key,
        "LANGFUSE_BASE_URL": server.base_url,
    }
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_the_readme_quickstart_sends_a_trace_and_reads_its_cost_back(live_server: LiveServer):
    # Given the Quickstart's first lines, with its pause replaced by polling (no timing in tests)
    code = readme_python("## Quickstart")
    assert len(code.splitlines()) == 5 and "time.sleep(2)" in code
    poll = "[time.sleep(0.1) for _ in range(300) if not lf.api.observations.get_many(trace_id=trace_id).data]"
    # When it runs against the server
    out = run_snippet(live_server, code.replace("time.sleep(2)", poll))
    # Then it prints the generation's cost, priced from the default gpt-4o price
    assert float(out.strip()) == pytest.approx(1000 * gpt4o_price("input") + 200 * gpt4o_price("output"))


def test_the_readme_sdk_example_records_what_it_says(live_server: LiveServer):
    # When the README's SDK v5 example runs
    run_snippet(live_server, readme_python("## Use it with the Langfuse SDK"))

    # Then the trace has the propagated attributes, the nested observations and the score
    def rag_trace() -> dict[str, Any] | None:
        listing = httpx.get(
            f"{live_server.base_url}/api/public/traces", params={"name": "rag"}, auth=live_server.auth
        ).json()
        return listing["data"][0] if listing["data"] and listing["data"][0]["scores"] else None

    trace = wait_until(rag_trace)
    assert (trace["userId"], trace["sessionId"], trace["tags"]) == ("user-1", "session-1", ["docs"])
    full = trace_with(live_server, trace["id"], 3)
    by_name = {o["name"]: o for o in full["observations"]}
    assert by_name["search"]["parentObservationId"] == by_name["answer"]["parentObservationId"]
    assert by_name["search"]["parentObservationId"] == by_name["rag"]["id"]
    assert by_name["answer"]["calculatedTotalCost"] == pytest.approx(
        320 * gpt4o_price("input") + 40 * gpt4o_price("output")
    )
