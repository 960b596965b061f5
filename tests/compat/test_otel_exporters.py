"""Plain OpenTelemetry against a live server: the OTel SDK's own ``OTLPSpanExporter`` (protobuf,
gzip, a Basic ``Authorization`` header), recorded GenAI-semconv / OpenInference / Vercel AI
requests posted as protobuf and OTLP/JSON, and bad input over HTTP (never a 5xx).
"""

from __future__ import annotations

import base64
import gzip
import json
import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from google.protobuf import json_format
from google.rpc import code_pb2, error_details_pb2, status_pb2
from opentelemetry.exporter.otlp.proto.http import Compression
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor, SpanExportResult
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from skyglass.domain.pricing_models import load_default_models
from tests.events.otel.record import load, to_otlp_json
from tests.support.server import LiveServer, wait_until

pytestmark = pytest.mark.compat

PATH = "/api/public/otel/v1/traces"
PB = "application/x-protobuf"
GZIP_PB = {"content-type": PB, "content-encoding": "gzip"}


def basic(server: LiveServer) -> str:
    return "Basic " + base64.b64encode(f"{server.public_key}:{server.secret_key}".encode()).decode()


def post(server: LiveServer, body: bytes, headers: dict[str, str]) -> httpx.Response:
    return httpx.post(f"{server.base_url}{PATH}", content=body, headers=headers, auth=server.auth, timeout=30)


def get(server: LiveServer, path: str, **params: Any) -> Any:
    reply = httpx.get(f"{server.base_url}/api/public{path}", params=params, auth=server.auth, timeout=10)
    return reply.json() if reply.status_code == 200 else None


def observations_of(server: LiveServer, trace_id: str, count: int) -> dict[str, dict[str, Any]]:
    """The trace's observations by name, once ``count`` of them are processed."""

    def ready() -> dict[str, dict[str, Any]] | None:
        trace = get(server, f"/traces/{trace_id}")
        if not trace or len(trace["observations"]) != count:
            return None
        return {o["name"]: {**o, "_trace": trace} for o in trace["observations"]}

    found: dict[str, dict[str, Any]] = wait_until(ready, timeout=60)
    return found


def remap_ids(request: ExportTraceServiceRequest) -> dict[bytes, bytes]:
    """Give every trace and span fresh random ids, consistently (recorded fixtures reuse theirs)."""
    mapping: dict[bytes, bytes] = {}

    def fresh(old: bytes) -> bytes:
        if not old:
            return old
        if old not in mapping:
            mapping[old] = os.urandom(len(old))
        return mapping[old]

    for resource_spans in request.resource_spans:
        for scope_spans in resource_spans.scope_spans:
            for span in scope_spans.spans:
                span.trace_id, span.span_id = fresh(span.trace_id), fresh(span.span_id)
                span.parent_span_id = fresh(span.parent_span_id)
    return mapping


def gpt4o_price(key: str) -> float:
    model = next(m for m in load_default_models() if m.id == "gpt-4o")
    assert model.default_tier is not None
    return model.default_tier.prices[key]


# --- the OTel SDK's exporter ------------------------------------------------------------------


@pytest.fixture
def recorded_spans() -> Iterator[tuple[TracerProvider, InMemorySpanExporter]]:
    memory = InMemorySpanExporter()
    provider = TracerProvider(
        resource=Resource.create({"service.name": "otel-compat", "deployment.environment": "staging"})
    )
    provider.add_span_processor(SimpleSpanProcessor(memory))
    yield provider, memory
    provider.shutdown()


def export(server: LiveServer, spans: list[ReadableSpan]) -> SpanExportResult:
    exporter = OTLPSpanExporter(
        endpoint=f"{server.base_url}{PATH}",
        headers={"Authorization": basic(server)},
        compression=Compression.Gzip,
    )
    try:
        return exporter.export(spans)
    finally:
        exporter.shutdown()


CHAT = {
    "gen_ai.operation.name": "chat",
    "gen_ai.request.model": "gpt-4o",
    "gen_ai.request.temperature": 0.1,
    "gen_ai.usage.input_tokens": 500,
    "gen_ai.usage.output_tokens": 50,
    "gen_ai.input.messages": json.dumps([{"role": "user", "parts": [{"type": "text", "content": "hi"}]}]),
    "gen_ai.output.messages": json.dumps(
        [{"role": "assistant", "parts": [{"type": "text", "content": "yo"}]}]
    ),
}
OPENINFERENCE_LLM = {
    "openinference.span.kind": "LLM",
    "llm.model_name": "gpt-4o",
    "llm.token_count.prompt": 40,
    "llm.token_count.completion": 10,
    "llm.cost.total": 0.123,
}


def test_the_otel_sdk_exporter_sends_genai_semconv_spans(live_server: LiveServer, recorded_spans):
    provider, memory = recorded_spans
    tracer = provider.get_tracer("opentelemetry.instrumentation.openai_v2", "2.1b0")
    # Given an agent span with a chat call and a tool call, GenAI semantic conventions
    with tracer.start_as_current_span(
        "invoke_agent helper",
        attributes={
            "gen_ai.operation.name": "invoke_agent",
            "gen_ai.agent.name": "helper",
            "gen_ai.conversation.id": "conv-7",
        },
    ) as agent:
        tracer.start_span("chat gpt-4o", attributes=CHAT).end()  # a child of the current span
        tool_attributes = {"gen_ai.operation.name": "execute_tool", "gen_ai.tool.name": "search"}
        tracer.start_span("execute_tool search", attributes=tool_attributes).end()
        trace_id = format(agent.get_span_context().trace_id, "032x")
    # When the OTel SDK's OTLP/HTTP exporter sends them with a Basic auth header
    assert export(live_server, list(memory.get_finished_spans())) == SpanExportResult.SUCCESS
    # Then they read back as an agent with a priced generation and a tool
    found = observations_of(live_server, trace_id, 3)
    agent_row, chat, tool = found["invoke_agent helper"], found["chat gpt-4o"], found["search"]
    assert agent_row["type"] == "AGENT" and agent_row["parentObservationId"] is None
    assert (chat["type"], tool["type"]) == ("GENERATION", "TOOL")
    assert chat["parentObservationId"] == tool["parentObservationId"] == agent_row["id"]
    assert chat["model"] == "gpt-4o" and chat["modelParameters"] == {"temperature": 0.1}
    assert chat["usageDetails"] == {"input": 500, "output": 50, "total": 550}
    assert chat["calculatedTotalCost"] == pytest.approx(
        500 * gpt4o_price("input") + 50 * gpt4o_price("output")
    )
    assert chat["input"] and chat["output"]
    trace = chat["_trace"]
    assert trace["sessionId"] == "conv-7" and trace["environment"] == "staging"


def test_the_otel_sdk_exporter_sends_openinference_spans(live_server: LiveServer, recorded_spans):
    provider, memory = recorded_spans
    tracer = provider.get_tracer("openinference.instrumentation.langchain", "0.1.0")
    # Given an OpenInference chain with an LLM and a retriever span
    with tracer.start_as_current_span(
        "qa-chain",
        attributes={"openinference.span.kind": "CHAIN", "input.value": "question?", "user.id": "u-oi"},
    ) as chain:
        tracer.start_span("llm", attributes=OPENINFERENCE_LLM).end()
        tracer.start_span("retriever", attributes={"openinference.span.kind": "RETRIEVER"}).end()
        trace_id = format(chain.get_span_context().trace_id, "032x")
    # When exported with the plain exporter
    assert export(live_server, list(memory.get_finished_spans())) == SpanExportResult.SUCCESS
    # Then the kinds map to Langfuse types and the provided cost wins over prices
    found = observations_of(live_server, trace_id, 3)
    assert {name: o["type"] for name, o in found.items()} == {
        "qa-chain": "CHAIN",
        "llm": "GENERATION",
        "retriever": "RETRIEVER",
    }
    assert found["llm"]["usageDetails"] == {"input": 40, "output": 10, "total": 50}
    assert found["llm"]["costDetails"] == {"total": pytest.approx(0.123)}
    assert found["qa-chain"]["_trace"]["userId"] == "u-oi"


# --- recorded requests over HTTP ------------------------------------------------------------

FIXTURE_SPANS = {"genai_semconv": 7, "openinference": 4, "vercel_ai": 3}


@pytest.mark.parametrize("encoding", ["protobuf", "json"])
@pytest.mark.parametrize("fixture", sorted(FIXTURE_SPANS))
def test_recorded_requests_are_accepted_in_both_encodings(live_server: LiveServer, fixture, encoding):
    # Given a recorded request with fresh ids, as protobuf or OTLP/JSON
    request = ExportTraceServiceRequest.FromString(load(fixture))
    remap_ids(request)
    trace_id = request.resource_spans[0].scope_spans[0].spans[0].trace_id.hex()
    if encoding == "protobuf":
        body, content_type, headers = gzip.compress(request.SerializeToString()), PB, GZIP_PB
    else:
        body, content_type = json.dumps(to_otlp_json(request)).encode(), "application/json"
        headers = {"content-type": content_type}
    # When it is posted
    reply = post(live_server, body, headers)
    # Then it is a 200 in the request's encoding, and every span becomes an observation
    assert reply.status_code == 200 and reply.headers["content-type"] == content_type
    if encoding == "json":
        assert reply.json() == {}
    else:
        assert not ExportTraceServiceResponse.FromString(reply.content).HasField("partial_success")
    found = observations_of(live_server, trace_id, FIXTURE_SPANS[fixture])
    assert all(o["traceId"] == trace_id for o in found.values())


# --- bad input over HTTP --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "headers", "status"),
    [
        (load("genai_semconv")[:-10], {"content-type": PB}, 400),
        (b"\x1f\x8b\x08\x00garbage", GZIP_PB, 400),
        (gzip.compress(load("genai_semconv"), mtime=0)[:-20], GZIP_PB, 400),
        (b'{"resourceSpans": [{"scopeSpans": 5}]}', {"content-type": "application/json"}, 400),
        (load("genai_semconv"), {"content-type": "text/plain"}, 415),
        (load("genai_semconv"), {"content-type": PB, "content-encoding": "br"}, 415),
        (b"", {"content-type": PB}, 200),
        (b"", {"content-type": "application/json"}, 200),
    ],
    ids=[
        "truncated",
        "not-gzip",
        "truncated-gzip",
        "bad-json",
        "text-plain",
        "brotli",
        "empty-pb",
        "empty-json",
    ],
)
def test_bad_input_gets_a_clear_4xx_and_empty_input_a_200(live_server: LiveServer, body, headers, status):
    reply = post(live_server, body, headers)
    assert reply.status_code == status
    if status >= 400:
        # A google.rpc.Status naming the problem, in the request's encoding (JSON if unknown)
        if reply.headers["content-type"] == PB:
            assert headers["content-type"] == PB
            error = status_pb2.Status.FromString(reply.content)
        else:
            assert reply.headers["content-type"] == "application/json"
            error = json_format.Parse(reply.content, status_pb2.Status(), ignore_unknown_fields=True)
        assert error.message and error.code == code_pb2.INVALID_ARGUMENT
        # (a 400 details the bad data; JSON parsing of that Any needs its type imported)
        if status == 400:
            assert error.details[0].Unpack(error_details_pb2.BadRequest())
    elif headers["content-type"] == PB:
        assert reply.content == b""
    else:
        assert reply.json() == {}


def test_invalid_ids_are_reported_in_partial_success_and_valid_spans_all_land(live_server: LiveServer):
    # Given a request with 50 valid spans and 3 with unusable ids
    request = ExportTraceServiceRequest.FromString(load("langfuse_sdk_v5"))
    scope = request.resource_spans[0].scope_spans[0]
    template = scope.spans[0]
    del scope.spans[:]
    trace_id = os.urandom(16)
    for i in range(50):
        span = scope.spans.add()
        span.CopyFrom(template)
        span.name, span.trace_id, span.span_id = f"valid-{i}", trace_id, os.urandom(8)
        span.parent_span_id = b""
    for bad in ({"trace_id": b"\x00" * 16}, {"span_id": b"\x01"}, {"parent_span_id": b"\x02\x03"}):
        span = scope.spans.add()
        span.CopyFrom(template)
        span.trace_id, span.span_id = trace_id, os.urandom(8)
        for field, value in bad.items():
            setattr(span, field, value)
    # When it is posted
    reply = post(live_server, request.SerializeToString(), {"content-type": PB})
    # Then the answer says 3 were rejected and why
    assert reply.status_code == 200
    partial = ExportTraceServiceResponse.FromString(reply.content).partial_success
    assert partial.rejected_spans == 3 and "Rejected 3 of 53" in partial.error_message
    # And all 50 valid spans are stored
    found = observations_of(live_server, trace_id.hex(), 50)
    assert set(found) == {f"valid-{i}" for i in range(50)}


def test_a_ten_thousand_span_request_is_accepted_and_all_queryable(live_server: LiveServer):
    # Given one request of 10,000 spans: 500 traces of a root and 19 children
    run = uuid.uuid4().hex[:8]
    request = ExportTraceServiceRequest()
    resource_spans = request.resource_spans.add()
    resource_spans.resource.attributes.add(key="service.name").value.string_value = "bulk"
    scope = resource_spans.scope_spans.add()
    scope.scope.name = "bulk-test"
    start = 1_767_261_600_000_000_000
    for t in range(500):
        trace_id, root_id = os.urandom(16), os.urandom(8)
        for s in range(20):
            span = scope.spans.add()
            span.trace_id, span.span_id = trace_id, root_id if s == 0 else os.urandom(8)
            span.parent_span_id = b"" if s == 0 else root_id
            span.name = f"bulk-root-{run}" if s == 0 else f"bulk-child-{run}"
            span.start_time_unix_nano = start + t * 1_000_000 + s * 1000
            span.end_time_unix_nano = span.start_time_unix_nano + 500
            span.attributes.add(key="i").value.int_value = s
    body = gzip.compress(request.SerializeToString())
    # When it is posted (gzip, ~the SDK's shape)
    reply = post(live_server, body, GZIP_PB)
    # Then it is accepted whole
    assert reply.status_code == 200 and reply.content == b""

    # And every span becomes queryable
    def counted() -> tuple[int, int] | None:
        roots = get(live_server, "/observations", name=f"bulk-root-{run}", limit=1)
        children = get(live_server, "/observations", name=f"bulk-child-{run}", limit=1)
        totals = (roots["meta"]["totalItems"], children["meta"]["totalItems"]) if roots and children else None
        return totals if totals == (500, 9500) else None

    assert wait_until(counted, timeout=120, interval=0.5) == (500, 9500)
    traces = get(live_server, "/traces", name=f"bulk-root-{run}", limit=1)
    assert traces["meta"]["totalItems"] == 500


def test_the_readme_exporter_snippet_sends_a_priced_generation(live_server: LiveServer):
    # Given the README's plain-OpenTelemetry example
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    section = readme[readme.index("**Any OpenTelemetry exporter**") :]
    code = section.split("```python\n", 1)[1].split("```", 1)[0]
    env = {
        **os.environ,
        "LANGFUSE_PUBLIC_KEY": live_server.public_key,
        "LANGFUSE_BASE_URL": live_server.base_url,
    }
    env["LANGFUSE_SECRET_KEY"] = live_server.secret_key
    # When it runs (it prints the trace id)
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    # Then its span is a gpt-4o generation priced from its usage
    [generation] = observations_of(live_server, done.stdout.strip(), 1).values()
    assert generation["type"] == "GENERATION" and generation["model"] == "gpt-4o"
    expected = 1000 * gpt4o_price("input") + 200 * gpt4o_price("output")
    assert generation["calculatedTotalCost"] == pytest.approx(expected)
