"""``POST /api/public/otel/v1/traces`` through the real resolver and the local ASGI app, then the
local platform (chDB, SQLite queue, blob folder) from OTLP request to read API.

The resolver is what both runtimes run: its API Gateway v2 result is what a Lambda returns (a
protobuf answer must come back base64 with ``isBase64Encoded``), and the local server turns the
same result into HTTP bytes.
"""

from __future__ import annotations

import asyncio
import base64
import gzip
import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from google.protobuf import json_format
from google.rpc import code_pb2, status_pb2
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)

from skyglass.api.app import build_app, handle
from skyglass.api.deps import ApiServices
from skyglass.auth.service import Authenticator
from skyglass.domain.keys import display_secret, hash_secret, new_public_key, new_secret_key
from skyglass.domain.pricing_models import load_default_models
from skyglass.local.asgi import LocalHttpApp
from skyglass.local.server import LocalPlatform, build_platform
from skyglass.ports.meta import StoredApiKey
from skyglass.settings import Settings
from tests.events.otel.record import load
from tests.support.api import ApiClient, basic_auth, make_event
from tests.support.fake_analytics import FakeAnalyticsWriter
from tests.support.fakes import FakeBlobStore, FakeMetaStore, FakeQueue
from tests.support.openapi import assert_matches_schema
from tests.support.platform import drain

PATH = "/api/public/otel/v1/traces"
PB = "application/x-protobuf"


def fake_services(tmp_path: Path, **settings: Any) -> tuple[ApiServices, str]:
    """Services on in-memory ports with one project key; returns them and its Basic header."""
    meta = FakeMetaStore()
    project = meta.ensure_project(meta.ensure_organization("org").id, "proj")
    public_key, secret_key = new_public_key(), new_secret_key()
    meta.add_api_key(
        StoredApiKey(
            id="k1",
            project_id=project.id,
            public_key=public_key,
            secret_hash=hash_secret(secret_key),
            display_secret_key=display_secret(secret_key),
            created_at=datetime.now(UTC),
        )
    )
    services = ApiServices(
        settings=Settings(data_dir=tmp_path, **settings),
        blobs=FakeBlobStore(),
        queue=FakeQueue(),
        analytics=FakeAnalyticsWriter(),  # type: ignore[arg-type]
        meta=meta,
        authenticator=Authenticator(meta),
    )
    return services, basic_auth(public_key, secret_key)


def post(services: ApiServices, auth: str | None, body: bytes, headers: dict[str, str]) -> dict[str, Any]:
    """The raw API Gateway v2 result of one POST (what the Lambda returns)."""
    all_headers = {**headers, **({"authorization": auth} if auth else {})}
    return handle(build_app(), services, make_event("POST", PATH, headers=all_headers, body=body), None)


def body_bytes(result: dict[str, Any]) -> bytes:
    raw = result.get("body") or ""
    return base64.b64decode(raw) if result.get("isBase64Encoded") else raw.encode()


def decode_status(result: dict[str, Any]) -> status_pb2.Status:
    """The ``google.rpc.Status`` of a failure, read with the real classes in its content type."""
    content_type = result["headers"]["Content-Type"]
    if content_type == PB:
        return status_pb2.Status.FromString(body_bytes(result))
    assert content_type == "application/json"
    return json_format.Parse(body_bytes(result), status_pb2.Status(), ignore_unknown_fields=True)


# --- the resolver (Lambda result shape) -------------------------------------------------------


def test_protobuf_answer_is_base64_encoded_protobuf_with_partial_success(tmp_path):
    # Given a protobuf request where one span has an all-zero trace id
    services, auth = fake_services(tmp_path)
    request = ExportTraceServiceRequest.FromString(load("genai_semconv"))
    request.resource_spans[0].scope_spans[0].spans[0].trace_id = b"\x00" * 16
    # When it is posted gzip-compressed
    result = post(
        services,
        auth,
        gzip.compress(request.SerializeToString()),
        {"content-type": PB, "content-encoding": "gzip"},
    )
    # Then the Lambda result is a 200 carrying protobuf bytes, base64-encoded as API Gateway needs
    assert result["statusCode"] == 200 and result["isBase64Encoded"] is True
    assert result["headers"]["Content-Type"] == PB
    response = ExportTraceServiceResponse.FromString(body_bytes(result))
    assert response.partial_success.rejected_spans == 1
    assert "trace id" in response.partial_success.error_message
    # And one blob and one message hold the request
    assert len(list(services.blobs.list_keys())) == 1 and services.queue.depth() == 1


def test_json_answer_is_plain_json(tmp_path):
    services, auth = fake_services(tmp_path)
    result = post(services, auth, load("openinference", "json"), {"content-type": "application/json"})
    assert result["statusCode"] == 200 and result["isBase64Encoded"] is False
    assert result["headers"]["Content-Type"] == "application/json"
    assert json.loads(result["body"]) == {}


def test_a_successful_protobuf_answer_is_an_empty_message(tmp_path):
    services, auth = fake_services(tmp_path)
    result = post(services, auth, load("vercel_ai"), {"content-type": PB})
    assert result["statusCode"] == 200 and body_bytes(result) == b""


@pytest.mark.parametrize(
    ("body", "headers", "status", "code", "fragment"),
    [
        (
            load("genai_semconv"),
            {"content-type": "text/plain"},
            415,
            code_pb2.INVALID_ARGUMENT,
            "application/x-protobuf",
        ),
        (load("genai_semconv")[:-5], {"content-type": PB}, 400, code_pb2.INVALID_ARGUMENT, "protobuf"),
        (
            b"not gzip",
            {"content-type": PB, "content-encoding": "gzip"},
            400,
            code_pb2.INVALID_ARGUMENT,
            "gzip",
        ),
        (b"{", {"content-type": "application/json"}, 400, code_pb2.INVALID_ARGUMENT, "json"),
        (b"x" * 100_001, {"content-type": PB}, 413, code_pb2.RESOURCE_EXHAUSTED, "limit"),
        (
            load("vercel_ai"),
            {"content-type": PB, "content-encoding": "br"},
            415,
            code_pb2.INVALID_ARGUMENT,
            "br",
        ),
    ],
    ids=["415", "truncated", "bad-gzip", "bad-json", "413", "brotli"],
)
def test_bad_requests_are_4xx_status_errors_and_store_nothing(
    tmp_path, body, headers, status, code, fragment
):
    services, auth = fake_services(tmp_path, max_body_bytes=100_000)
    result = post(services, auth, body, headers)
    assert result["statusCode"] == status
    # The body is a google.rpc.Status in the request's encoding (JSON when the type is unknown)
    error = decode_status(result)
    assert error.code == code
    assert fragment in error.message.lower() or fragment in error.message
    assert list(services.blobs.list_keys()) == [] and services.queue.depth() == 0


@pytest.mark.parametrize(
    ("auth", "status"),
    [(None, 401), ("Basic bm9wZTpub3Bl", 401), ("Bearer {pk}", 403)],
    ids=["none", "wrong", "bearer-public-key"],
)
def test_only_basic_auth_with_a_project_key_is_let_in(tmp_path, auth, status):
    # (a Bearer public key may only post scores, as in Langfuse: 403 for its access level)
    services, good = fake_services(tmp_path)
    public_key = base64.b64decode(good.split()[1]).decode().split(":")[0]
    header = auth.format(pk=public_key) if auth else None
    result = post(services, header, load("vercel_ai"), {"content-type": PB})
    assert result["statusCode"] == status
    expected = code_pb2.UNAUTHENTICATED if status == 401 else code_pb2.PERMISSION_DENIED
    assert decode_status(result).code == expected
    assert list(services.blobs.list_keys()) == []


def test_backpressure_is_503_with_retry_after(tmp_path):
    services, auth = fake_services(tmp_path, queue_backpressure_depth=1)
    for _ in range(2):
        services.queue.send("{}")
    result = post(services, auth, load("vercel_ai"), {"content-type": PB})
    assert result["statusCode"] == 503 and int(result["headers"]["Retry-After"]) > 0
    status = decode_status(result)
    assert status.code == code_pb2.UNAVAILABLE and "retry later" in status.message


# --- the local server's ASGI app: bytes on the wire -----------------------------------------


def asgi_post(app: LocalHttpApp, body: bytes, headers: dict[str, str]) -> tuple[int, dict[str, str], bytes]:
    """One request through the ASGI app, as uvicorn would drive it (no socket)."""
    sent: list[dict[str, Any]] = []
    chunks = [body[: len(body) // 2], body[len(body) // 2 :]]

    async def receive() -> dict[str, Any]:
        chunk = chunks.pop(0)
        return {"type": "http.request", "body": chunk, "more_body": bool(chunks)}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    scope = {
        "type": "http",
        "method": "POST",
        "path": PATH,
        "raw_path": PATH.encode(),
        "query_string": b"",
        "headers": [(k.encode(), v.encode()) for k, v in headers.items()],
    }
    asyncio.run(app(scope, receive, send))
    start, content = sent
    return start["status"], {k.decode(): v.decode() for k, v in start["headers"]}, content["body"]


def test_the_local_server_returns_protobuf_bytes(tmp_path):
    # Given the local ASGI app over in-memory ports
    services, auth = fake_services(tmp_path)
    app = LocalHttpApp(services, max_body_bytes=services.settings.max_body_bytes)
    request = ExportTraceServiceRequest.FromString(load("openinference"))
    request.resource_spans[0].scope_spans[0].spans[0].span_id = b"\x00" * 8
    # When a protobuf request with one bad span arrives over "HTTP"
    status, headers, body = asgi_post(
        app, request.SerializeToString(), {"content-type": PB, "authorization": auth}
    )
    # Then the HTTP body is the protobuf response itself, not its base64
    assert status == 200 and headers["content-type"] == PB
    assert ExportTraceServiceResponse.FromString(body).partial_success.rejected_spans == 1


# --- the local platform: OTLP in, read API out ----------------------------------------------

PK, SK = "pk-sg-otel-api", "sk-sg-otel-api"


@pytest.fixture
def platform(tmp_path: Path) -> Iterator[LocalPlatform]:
    settings = Settings(
        data_dir=tmp_path / "data",
        init_org_name="acme",
        init_project_name="otel",
        init_public_key=PK,
        init_secret_key=SK,
    )
    built = build_platform(settings)
    yield built
    built.runtime.close()


def price(model_id: str, key: str) -> float:
    model = next(m for m in load_default_models() if m.id == model_id)
    tier = model.default_tier
    assert tier is not None
    return tier.prices[key]


def test_genai_semconv_spans_are_queryable_with_hierarchy_usage_and_cost(platform: LocalPlatform):
    client = ApiClient(platform.runtime.api_services(), auth=basic_auth(PK, SK))
    # Given the GenAI-semconv fixture, posted gzip-compressed protobuf
    headers = {"content-type": PB, "content-encoding": "gzip"}
    result = client.request("POST", PATH, body=gzip.compress(load("genai_semconv")), headers=headers)
    assert result.status == 200
    # When the worker has run
    drain(platform)
    # Then the trace reads back with every span as an observation under the agent
    trace_id = "000000000000000000b0000000000001"
    trace = client.get(f"/api/public/traces/{trace_id}").json()
    assert_matches_schema("TraceWithFullDetails", trace)
    by_name = {o["name"]: o for o in trace["observations"]}
    agent = by_name["invoke_agent support-bot"]
    assert agent["type"] == "AGENT" and agent["parentObservationId"] is None
    assert {o["parentObservationId"] for n, o in by_name.items() if n != agent["name"]} == {agent["id"]}
    assert trace["sessionId"] == "conv-42" and trace["environment"] == "production"
    # And the chat generation got its usage priced with gpt-4o's default tier (matched by pattern)
    chat = by_name["chat gpt-4o"]
    assert (
        chat["type"] == "GENERATION" and chat["model"] == "gpt-4o-2024-08-06" and chat["modelId"] == "gpt-4o"
    )
    usage = {"input": 70, "output": 30, "input_cached_tokens": 30, "output_reasoning_tokens": 10}
    assert chat["usageDetails"] == {**usage, "total": 140}
    expected = {key: count * price("gpt-4o", key) for key, count in usage.items()}
    assert chat["costDetails"] == pytest.approx({**expected, "total": sum(expected.values())})
    # And a provided cost wins over any price
    assert by_name["generate_content gemini-2.5-flash"]["costDetails"] == {"total": pytest.approx(0.0004)}
    # And the trace's total cost is the sum over its observations
    total = sum(o["calculatedTotalCost"] or 0 for o in trace["observations"])
    assert total > sum(expected.values()) and trace["totalCost"] == pytest.approx(total)
    # And v2 observations expose usage, cost, model id and tier
    page = client.get(
        "/api/public/v2/observations", query={"traceId": trace_id, "fields": "core,basic,model,usage"}
    ).json()
    assert_matches_schema("ObservationsV2Response", page)
    v2 = {o["name"]: o for o in page["data"]}["chat gpt-4o"]
    assert v2["totalCost"] == pytest.approx(sum(expected.values()))
    assert (v2["internalModelId"], v2["usagePricingTierName"]) == ("gpt-4o", "Standard")


@pytest.mark.parametrize("encoding", ["pb", "json"])
@pytest.mark.parametrize(
    ("fixture", "expected"),
    [
        (
            "openinference",
            {"agent-run": "CHAIN", "ChatCompletion": "GENERATION", "retrieve": "RETRIEVER", "calc": "TOOL"},
        ),
        (
            "vercel_ai",
            {
                "chat-fn:ai.generateText": "SPAN",
                "chat-fn:ai.generateText.doGenerate": "GENERATION",
                "weather": "TOOL",
            },
        ),
    ],
)
def test_framework_fixtures_land_in_either_encoding(platform: LocalPlatform, fixture, expected, encoding):
    # (one fixture per project: the recorded fixtures reuse span ids, and an observation id is a span id)
    client = ApiClient(platform.runtime.api_services(), auth=basic_auth(PK, SK))
    content_type = PB if encoding == "pb" else "application/json"
    # Given a framework's recorded request in one encoding
    reply = client.request("POST", PATH, body=load(fixture, encoding), headers={"content-type": content_type})
    assert reply.status == 200
    drain(platform)
    # Then its trace is queryable with every span, typed as the framework meant
    [trace] = client.get("/api/public/traces").json()["data"]
    observations = client.get(f"/api/public/traces/{trace['id']}").json()["observations"]
    assert {o["name"]: o["type"] for o in observations} == expected


def test_a_request_exported_twice_and_replayed_is_stored_once(platform: LocalPlatform):
    client = ApiClient(platform.runtime.api_services(), auth=basic_auth(PK, SK))
    # Given the same SDK request exported twice (an exporter retry)
    for _ in range(2):
        client.request("POST", PATH, body=load("langfuse_sdk_v5"), headers={"content-type": PB})
    drain(platform)
    first = client.get("/api/public/observations", query={"limit": 100}).json()
    # Then each span is one observation
    spans = ExportTraceServiceRequest.FromString(load("langfuse_sdk_v5"))
    count = sum(len(ss.spans) for rs in spans.resource_spans for ss in rs.scope_spans)
    assert first["meta"]["totalItems"] == count
    ids = [o["id"] for o in first["data"]]
    assert len(set(ids)) == len(ids)
