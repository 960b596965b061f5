"""OTLP/HTTP failures of ``POST /api/public/otel/v1/traces``: a ``google.rpc.Status`` in the
request's encoding (OTLP spec, Failures), decoded here with the real ``googleapis-common-protos``
classes; and the real ``opentelemetry-exporter-otlp-proto-http`` exporter against the local
server's ASGI app over a socket, to show it still retries a 503 and gives up on a 400.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import orjson
import pytest
import uvicorn
from google.protobuf import json_format
from google.rpc import code_pb2, error_details_pb2, status_pb2
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor, SpanExportResult
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from skyglass.contracts.otlp_status import grpc_code
from skyglass.local.asgi import LocalHttpApp
from tests.events.otel.record import load
from tests.functional.test_otel_api import PATH, PB, asgi_post, body_bytes, decode_status, fake_services, post
from tests.support.api import ApiClient
from tests.support.server import free_port, wait_until

JSON = "application/json"


class BrokenAuthenticator:
    """Fails in a way nothing maps to an HTTP status (a bug, not bad input or an outage)."""

    def authenticate(self, header: str | None, *, allow_bearer: bool = False) -> Any:
        raise RuntimeError("unexpected")


# --- the body in each encoding ------------------------------------------------------------------


def test_a_json_request_gets_a_json_status_with_langfuses_error_name(tmp_path):
    services, auth = fake_services(tmp_path)
    # Given an OTLP/JSON request that is not JSON
    result = post(services, auth, b"{", {"content-type": JSON})
    # Then the 400 is the Status JSON mapping, plus the error name Langfuse clients read
    assert result["statusCode"] == 400 and result["headers"]["Content-Type"] == JSON
    document = orjson.loads(body_bytes(result))
    assert document["code"] == code_pb2.INVALID_ARGUMENT
    assert document["error"] == "InvalidRequestError"
    assert document["message"].startswith("Invalid JSON body")
    # And it parses as a google.rpc.Status whose detail is a BadRequest describing the problem
    status = json_format.Parse(body_bytes(result), status_pb2.Status(), ignore_unknown_fields=True)
    bad_request = error_details_pb2.BadRequest()
    assert status.details[0].Unpack(bad_request)
    assert bad_request.field_violations[0].description == status.message


def test_a_protobuf_request_gets_a_protobuf_status_with_a_bad_request_detail(tmp_path):
    services, auth = fake_services(tmp_path)
    # Given a protobuf request with an unsupported ingestion version header
    headers = {"content-type": PB, "x-langfuse-ingestion-version": "99"}
    result = post(services, auth, load("vercel_ai"), headers)
    # Then the 400 body is Status bytes (base64 in the Lambda result, as every binary answer)
    assert result["statusCode"] == 400 and result["isBase64Encoded"] is True
    status = status_pb2.Status.FromString(body_bytes(result))
    assert status.code == code_pb2.INVALID_ARGUMENT and "x-langfuse-ingestion-version" in status.message
    [detail] = status.details
    bad_request = error_details_pb2.BadRequest()
    assert detail.Unpack(bad_request) and bad_request.field_violations[0].description == status.message


@pytest.mark.parametrize("content_type", [PB, JSON])
def test_an_unexpected_error_is_a_500_status_in_the_request_encoding(tmp_path, content_type):
    services, auth = fake_services(tmp_path)
    services.authenticator = BrokenAuthenticator()  # type: ignore[assignment]
    body = load("openinference", "pb" if content_type == PB else "json")
    # Given a failure nobody mapped to a status
    result = post(services, auth, body, {"content-type": content_type})
    # Then the 500 is still a Status (no details: nothing about the request was wrong)
    assert result["statusCode"] == 500 and result["headers"]["Content-Type"] == content_type
    status = decode_status(result)
    assert (status.code, status.message, len(status.details)) == (
        code_pb2.INTERNAL,
        "Internal Server Error",
        0,
    )


def test_backpressure_keeps_retry_after_in_both_encodings(tmp_path):
    services, auth = fake_services(tmp_path, queue_backpressure_depth=0)
    services.queue.send("{}")
    for content_type, body in ((PB, load("vercel_ai")), (JSON, load("vercel_ai", "json"))):
        # Given a queue deeper than the limit
        result = post(services, auth, body, {"content-type": content_type})
        # Then the 503 carries Retry-After and an UNAVAILABLE Status in the request's encoding
        assert result["statusCode"] == 503 and int(result["headers"]["Retry-After"]) > 0
        assert result["headers"]["Content-Type"] == content_type
        assert decode_status(result).code == code_pb2.UNAVAILABLE


def test_the_local_server_sends_status_bytes_on_the_wire(tmp_path):
    services, auth = fake_services(tmp_path, max_body_bytes=1000)
    app = LocalHttpApp(services, max_body_bytes=2000)
    # Given a protobuf body over the resolver's limit, through the ASGI app
    status, headers, body = asgi_post(app, b"x" * 1500, {"content-type": PB, "authorization": auth})
    # Then the HTTP body is the Status itself, not its base64
    assert status == 413 and headers["content-type"] == PB
    assert status_pb2.Status.FromString(body).code == code_pb2.RESOURCE_EXHAUSTED


def test_other_routes_keep_the_json_error_body(tmp_path):
    # Given the same missing credentials on another route
    services, _ = fake_services(tmp_path)
    reply = ApiClient(services).request("POST", "/api/public/ingestion", body={"batch": []})
    # Then the answer is Langfuse's JSON error, not a Status
    assert reply.status == 401 and set(reply.json()) == {"message", "error"}


@pytest.mark.parametrize(
    ("http_status", "code"),
    [
        (400, code_pb2.INVALID_ARGUMENT),
        (401, code_pb2.UNAUTHENTICATED),
        (403, code_pb2.PERMISSION_DENIED),
        (413, code_pb2.RESOURCE_EXHAUSTED),
        (415, code_pb2.INVALID_ARGUMENT),
        (429, code_pb2.RESOURCE_EXHAUSTED),
        (503, code_pb2.UNAVAILABLE),
        (500, code_pb2.INTERNAL),
        (502, code_pb2.INTERNAL),
        (418, code_pb2.UNKNOWN),
    ],
)
def test_grpc_codes_follow_the_canonical_mapping(http_status, code):
    assert grpc_code(http_status) == code


# --- the real OTLP exporter over a socket ---------------------------------------------------------


class Recording:
    """ASGI middleware keeping every answer (status, headers, body); ``after`` runs after each."""

    def __init__(self, app: Any, after: Callable[[dict[str, Any]], None] | None = None):
        self.app, self.after = app, after
        self.answers: list[dict[str, Any]] = []

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        answer: dict[str, Any] = {}

        async def capture(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                answer["status"] = message["status"]
                answer["headers"] = {k.decode(): v.decode() for k, v in message["headers"]}
            elif message["type"] == "http.response.body":
                answer["body"] = message.get("body", b"")
            await send(message)

        await self.app(scope, receive, capture)
        self.answers.append(answer)
        if self.after is not None:
            await asyncio.to_thread(self.after, answer)


@contextmanager
def serving(app: Any) -> Iterator[str]:
    """``app`` on a free local port with uvicorn, in a thread, for the test's duration."""
    port = free_port()
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="off")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    wait_until(lambda: server.started, timeout=15)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=15)


def one_span() -> list[Any]:
    memory = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(memory))
    provider.get_tracer("exporter-check").start_span("work").end()
    provider.shutdown()
    return list(memory.get_finished_spans())


def export(url: str, auth: str, **headers: str) -> SpanExportResult:
    exporter = OTLPSpanExporter(
        endpoint=f"{url}{PATH}", headers={"Authorization": auth, **headers}, timeout=30
    )
    try:
        return exporter.export(one_span())
    finally:
        exporter.shutdown()


def test_the_exporter_gives_up_on_a_400_after_one_request(tmp_path):
    services, auth = fake_services(tmp_path)
    app = Recording(LocalHttpApp(services, max_body_bytes=services.settings.max_body_bytes))
    with serving(app) as url:
        # When the OTel SDK's exporter sends a request the server refuses as bad (400)
        result = export(url, auth, **{"x-langfuse-ingestion-version": "99"})
    # Then it reports a failure without retrying, and the answer it got was a protobuf Status
    assert result == SpanExportResult.FAILURE
    [answer] = app.answers
    assert answer["status"] == 400 and answer["headers"]["content-type"] == PB
    assert status_pb2.Status.FromString(answer["body"]).code == code_pb2.INVALID_ARGUMENT
    assert list(services.blobs.list_keys()) == []


def test_the_exporter_retries_a_503_after_retry_after_and_then_lands(tmp_path):
    services, auth = fake_services(tmp_path, queue_backpressure_depth=1)
    services.queue.send_many(["{}", "{}"])  # deeper than the limit: the next export is refused

    def drain_after_refusal(answer: dict[str, Any]) -> None:
        if answer["status"] == 503:  # the backlog clears while the exporter waits
            services.queue.ack([m.receipt for m in services.queue.receive(max_messages=10)])

    app = Recording(
        LocalHttpApp(services, max_body_bytes=services.settings.max_body_bytes), drain_after_refusal
    )
    with serving(app) as url:
        # When the exporter sends one span into the back-pressure
        result = export(url, auth)
    # Then it retried the 503 (which carried Retry-After and an UNAVAILABLE Status) and succeeded
    assert result == SpanExportResult.SUCCESS
    refused, accepted = app.answers
    assert refused["status"] == 503 and int(refused["headers"]["retry-after"]) > 0
    assert status_pb2.Status.FromString(refused["body"]).code == code_pb2.UNAVAILABLE
    assert accepted["status"] == 200
    assert len(list(services.blobs.list_keys())) == 1
