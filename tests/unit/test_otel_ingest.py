"""OTLP ingest use case and the worker's ``otel`` blobs, over in-memory ports.

``ingest_otel`` checks a request and lands it as one blob + one message; ``Processor`` maps the
blob's spans to Langfuse events and merges them. The decoder itself is tested in
``test_otlp_decode``; the mapping of attributes in ``test_otel_mapping_*``.
"""

from __future__ import annotations

import base64
import copy
import gzip
import json
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

import pytest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)

from skyglass.contracts.messages import BlobEnvelope, QueueMessage
from skyglass.errors import InvalidRequest, PayloadTooLarge, StoreUnavailable, UnsupportedMediaType
from skyglass.ingestion.common import BackpressureGate, HttpRequest
from skyglass.ingestion.otel import ingest_otel
from skyglass.processing import otel_events
from skyglass.processing.worker import Processor
from skyglass.settings import Settings
from tests.events.otel.record import load
from tests.support.fake_analytics import FakeAnalyticsWriter
from tests.support.fakes import FakeBlobStore, FakeQueue

NOW = datetime(2026, 1, 2, 9, 0, tzinfo=UTC)
PB = {"content-type": "application/x-protobuf"}
JSON_CT = {"content-type": "application/json"}


@dataclass(frozen=True)
class Caller:
    project_id: str = "p1"
    public_key: str = "pk-sg-test"
    access_level: str = "project"


@dataclass
class Ports:
    blobs: FakeBlobStore
    queue: FakeQueue
    settings: Settings

    def ingest(self, body: bytes, headers: dict[str, str], **kwargs: Any):  # type: ignore[no-untyped-def]
        return ingest_otel(
            HttpRequest.of(body, headers),
            Caller(),
            blobs=self.blobs,
            queue=self.queue,
            settings=self.settings,
            now=NOW,
            gate=BackpressureGate(ttl_seconds=0),
            **kwargs,
        )

    def envelopes(self) -> list[BlobEnvelope]:
        return [BlobEnvelope.model_validate_json(self.blobs.get(k)) for k in self.blobs.list_keys()]

    def messages(self) -> list[QueueMessage]:
        return [QueueMessage.model_validate_json(m.body) for m in self.queue.receive(100)]


@pytest.fixture
def ports(tmp_path) -> Ports:  # type: ignore[no-untyped-def]
    return Ports(FakeBlobStore(), FakeQueue(), Settings(data_dir=tmp_path))


def fixture_request(name: str = "genai_semconv") -> ExportTraceServiceRequest:
    return ExportTraceServiceRequest.FromString(load(name))


def all_spans(request: ExportTraceServiceRequest) -> list[Any]:
    return [s for rs in request.resource_spans for ss in rs.scope_spans for s in ss.spans]


# --- ingest -------------------------------------------------------------------------------------


def test_a_gzip_protobuf_request_lands_as_one_blob_and_one_message(ports: Ports):
    # Given the Langfuse SDK's request, gzip-compressed, with its attribution headers
    body = gzip.compress(load("langfuse_sdk_v5"))
    sdk = {"x-langfuse-sdk-name": "python", "x-langfuse-sdk-version": "5.0.4"}
    headers = {**PB, "content-encoding": "gzip", "x-langfuse-ingestion-version": "4", **sdk}
    # When it is ingested
    result = ports.ingest(body, headers)
    # Then every span is accepted and the answer is an empty ExportTraceServiceResponse
    spans = len(all_spans(fixture_request("langfuse_sdk_v5")))
    assert (result.accepted, result.rejected, result.content_type) == (spans, 0, "application/x-protobuf")
    assert result.body == b""  # ExportTraceServiceResponse without partial_success
    # And exactly one blob holds the body as received (still gzip), with its decoding recipe
    [envelope] = ports.envelopes()
    assert (envelope.kind, envelope.project_id, envelope.received_at) == ("otel", "p1", NOW)
    sdk_info = (envelope.sdk.name, envelope.sdk.version, envelope.sdk.ingestion_version)
    assert sdk_info == ("python", "5.0.4", "4")
    assert envelope.events == []
    payload = envelope.payload or {}
    assert base64.b64decode(payload["body"]) == body
    assert payload["content_encoding"] == "gzip" and payload["encoding"] == "protobuf"
    assert (payload["format"], payload["spans"], payload["rejected"]) == (1, spans, 0)
    # And one queue message names it
    [message] = ports.messages()
    assert (message.kind, message.blob_key) == ("otel", result.blob_key)


def test_otlp_json_is_answered_in_json(ports: Ports):
    # Given an OTLP/JSON request
    body = load("openinference", "json")
    # When it is ingested
    result = ports.ingest(body, JSON_CT)
    # Then the answer is an empty JSON response and the blob says how to decode the body
    assert (result.body, result.content_type) == (b"{}", "application/json")
    assert result.accepted == len(json.loads(body)["resourceSpans"][0]["scopeSpans"][0]["spans"])
    [envelope] = ports.envelopes()
    assert envelope.payload and envelope.payload["encoding"] == "json"
    assert envelope.payload["content_type"] == "application/json"


def test_invalid_spans_are_counted_in_partial_success_and_valid_ones_land(ports: Ports):
    # Given a request where two spans have unusable ids
    request = fixture_request()
    spans = all_spans(request)
    spans[0].trace_id = b"\x00" * 16
    spans[1].span_id = b"\x01\x02"
    # When it is ingested
    result = ports.ingest(request.SerializeToString(), PB)
    # Then the answer carries the rejected count and reasons
    response = ExportTraceServiceResponse.FromString(result.body)
    assert response.partial_success.rejected_spans == 2 == result.rejected
    message = response.partial_success.error_message
    assert "Rejected 2 of" in message and "trace id" in message and "span id" in message
    # And the other spans landed, counted in the payload
    payload = ports.envelopes()[0].payload or {}
    assert (payload["spans"], payload["rejected"]) == (len(spans) - 2, 2)


def test_a_request_whose_spans_are_all_invalid_writes_nothing(ports: Ports):
    request = fixture_request()
    for span in all_spans(request):
        span.span_id = b""
    result = ports.ingest(request.SerializeToString(), PB)
    assert result.accepted == 0 and result.rejected == len(all_spans(request))
    assert result.blob_key is None and ports.envelopes() == [] and ports.queue.depth() == 0


@pytest.mark.parametrize(
    ("body", "headers", "expected"),
    [
        (b"", PB, b""),
        (b"", JSON_CT, b"{}"),
        (b"{}", JSON_CT, b"{}"),
        (gzip.compress(b"", mtime=0), {**PB, "content-encoding": "gzip"}, b""),
        (ExportTraceServiceRequest().SerializeToString(), PB, b""),
    ],
    ids=["empty-pb", "empty-json", "json-object", "gzip-empty", "no-resource-spans"],
)
def test_empty_requests_are_200_with_an_empty_response_and_store_nothing(
    ports: Ports, body, headers, expected
):
    result = ports.ingest(body, headers)
    assert (result.body, result.accepted, result.rejected) == (expected, 0, 0)
    assert ports.envelopes() == [] and ports.queue.depth() == 0


@pytest.mark.parametrize(
    ("body", "headers", "error"),
    [
        (b"x", {"content-type": "text/plain"}, UnsupportedMediaType),
        (b"x", {}, UnsupportedMediaType),
        (load("genai_semconv")[:-7], PB, InvalidRequest),
        (b"\x1f\x8b not really gzip", {**PB, "content-encoding": "gzip"}, InvalidRequest),
        (b'{"resourceSpans": 3}', JSON_CT, InvalidRequest),
        (b'{"resourceLogs": []}', JSON_CT, InvalidRequest),
        (load("genai_semconv"), {**PB, "x-langfuse-ingestion-version": "5"}, InvalidRequest),
        (load("genai_semconv"), {**PB, "x-langfuse-ingestion-version": "v4"}, InvalidRequest),
    ],
    ids=["text", "no-type", "truncated", "bad-gzip", "json-shape", "otlp-logs", "version-5", "version-nan"],
)
def test_unreadable_requests_raise_and_store_nothing(ports: Ports, body, headers, error):
    with pytest.raises(error) as caught:
        ports.ingest(body, headers)
    assert caught.value.message
    assert ports.envelopes() == [] and ports.queue.depth() == 0


def test_a_gzip_bomb_is_413(ports: Ports):
    body = gzip.compress(b"\x00" * 200_000)
    with pytest.raises(PayloadTooLarge):
        ports.ingest(body, {**PB, "content-encoding": "gzip"}, max_decompressed_bytes=100_000)
    assert ports.envelopes() == []


def test_backpressure_is_503_with_retry_after_before_decoding(ports: Ports):
    # Given a queue deeper than the limit
    ports.settings = Settings(data_dir=ports.settings.data_dir, queue_backpressure_depth=2)
    for _ in range(3):
        ports.queue.send("{}")
    # When even an undecodable request arrives
    with pytest.raises(StoreUnavailable) as caught:
        ports.ingest(b"garbage", PB)
    # Then it is refused with a retry hint, and nothing was written
    assert caught.value.status == 503 and int(caught.value.headers["Retry-After"]) > 0
    assert ports.envelopes() == []


# --- worker -------------------------------------------------------------------------------------


def land_and_process(ports: Ports, store: FakeAnalyticsWriter, *bodies: tuple[bytes, dict[str, str]]):  # type: ignore[no-untyped-def]
    for body, headers in bodies:
        ports.ingest(body, headers)
    return Processor(ports.blobs, store, tokenizer=None).process(ports.messages())


def test_the_worker_maps_every_span_of_a_blob_to_observations_and_traces(ports: Ports):
    # Given a recorded GenAI-semconv request, landed
    request = fixture_request()
    store = FakeAnalyticsWriter()
    # When the worker processes it
    result = land_and_process(ports, store, (request.SerializeToString(), PB))
    # Then every span is one observation with its parent, and the trace has a row
    assert result.ok
    spans = all_spans(request)
    assert {k[1] for k in store.observations} == {s.span_id.hex() for s in spans}
    for span in spans:
        row = store.observations[("p1", span.span_id.hex())]
        assert row.trace_id == span.trace_id.hex()
        assert row.parent_observation_id == (span.parent_span_id.hex() or None)
    [trace] = store.traces.values()
    assert trace.id == spans[0].trace_id.hex()
    agent = next(o for o in store.observations.values() if o.name == "invoke_agent support-bot")
    assert agent.type == "AGENT" and agent.parent_observation_id is None


def test_json_and_protobuf_encodings_of_one_request_store_identical_rows(tmp_path):
    stores = []
    for body, headers in [(load("vercel_ai"), PB), (load("vercel_ai", "json"), JSON_CT)]:
        ports, store = Ports(FakeBlobStore(), FakeQueue(), Settings(data_dir=tmp_path)), FakeAnalyticsWriter()
        assert land_and_process(ports, store, (body, headers)).ok
        stores.append(store)
    assert stores[0].observations == stores[1].observations and stores[0].traces == stores[1].traces
    assert len(stores[0].observations) == 3


def test_a_span_exported_twice_is_one_observation_and_child_before_parent_merges(ports: Ports):
    # Given the child spans in one request, then the root, then the whole request again
    request = fixture_request("openinference")
    spans = all_spans(request)
    root = next(s for s in spans if not s.parent_span_id)
    children, parent_only = copy.deepcopy(request), copy.deepcopy(request)
    for part, is_root in ((children, False), (parent_only, True)):
        for scope in part.resource_spans[0].scope_spans:
            kept = [s for s in scope.spans if (not s.parent_span_id) == is_root]
            del scope.spans[:]
            scope.spans.extend(kept)
    store = FakeAnalyticsWriter()
    processor = Processor(ports.blobs, store, tokenizer=None)
    # When they are processed in that order, one batch each
    for part in (children, parent_only, request):
        ports.ingest(part.SerializeToString(), PB)
        assert processor.process(ports.messages()).ok
    # Then there is one observation per span, one trace named by the root, and no duplicates
    assert len(store.observations) == len(spans)
    [trace] = store.traces.values()
    assert trace.name == root.name
    # And the rows and span events are exactly those of one clean export of the whole request
    clean = FakeAnalyticsWriter()
    fresh = Ports(FakeBlobStore(), FakeQueue(), ports.settings)
    land_and_process(fresh, clean, (request.SerializeToString(), PB))

    assert {k[3] for k in store.events if not k[3].startswith("shallow-")} == {
        k[3] for k in clean.events if not k[3].startswith("shallow-")
    }
    assert store.observations == clean.observations
    # (the trace's version may differ: shallow trace events come from whichever blob saw it first)
    [clean_trace] = clean.traces.values()
    assert replace(trace, event_ts=None, row_version=0) == replace(clean_trace, event_ts=None, row_version=0)


def test_a_replayed_otel_blob_changes_nothing(ports: Ports):
    store = FakeAnalyticsWriter()
    land_and_process(ports, store, (load("langfuse_sdk_v5"), PB))
    before = copy.deepcopy((store.traces, store.observations, store.events))
    key = next(iter(ports.blobs.list_keys()))
    message = QueueMessage(blob_key=key, project_id="p1", kind="otel", received_at=NOW)
    assert Processor(ports.blobs, store, tokenizer=None).process([message]).ok
    assert (store.traces, store.observations, store.events) == before


def put_otel_blob(blobs: FakeBlobStore, key: str, payload: Any) -> QueueMessage:
    envelope = BlobEnvelope(kind="otel", project_id="p1", received_at=NOW, payload=payload)
    blobs.put(key, envelope.model_dump_json().encode())
    return QueueMessage(blob_key=key, project_id="p1", kind="otel", received_at=NOW)


def test_damaged_otel_blobs_fail_alone_as_poison(ports: Ports):
    # Given one good otel blob and several damaged ones
    ports.ingest(load("genai_semconv"), PB)
    [good] = ports.messages()
    payload = ports.envelopes()[0].payload or {}
    truncated = base64.b64encode(load("genai_semconv")[:-9]).decode()
    bad = [
        put_otel_blob(ports.blobs, "raw/none.json", None),
        put_otel_blob(ports.blobs, "raw/format.json", {**payload, "format": 99}),
        put_otel_blob(ports.blobs, "raw/b64.json", {**payload, "body": "***"}),
        put_otel_blob(ports.blobs, "raw/cut.json", {**payload, "body": truncated}),
    ]
    store = FakeAnalyticsWriter()
    # When processed together
    result = Processor(ports.blobs, store, tokenizer=None).process([good, *bad])
    # Then each damaged blob failed on its own, not retryably, and the good one was stored
    reasons = {f.blob_key: f.reason for f in result.failures}
    assert set(reasons) == {m.blob_key for m in bad}
    assert not any(f.retryable for f in result.failures)
    assert "no payload" in reasons["raw/none.json"] and "format" in reasons["raw/format.json"]
    assert "base64" in reasons["raw/b64.json"] and "cannot be decoded" in reasons["raw/cut.json"]
    assert len(store.observations) == len(all_spans(fixture_request()))


def test_a_span_the_mapper_fails_on_is_skipped_and_its_siblings_stored(ports: Ports, monkeypatch, caplog):
    # Given a mapper that fails on one span (a bug, simulated)
    real = otel_events.span_to_events

    def flaky(span, *, received_at):  # type: ignore[no-untyped-def]
        if span.name == "execute_tool lookup_order":
            raise RuntimeError("mapper bug")
        return real(span, received_at=received_at)

    monkeypatch.setattr(otel_events, "span_to_events", flaky)
    store = FakeAnalyticsWriter()
    # When the request is processed
    result = land_and_process(ports, store, (load("genai_semconv"), PB))
    # Then the message succeeds, the other spans are stored and the failure is logged with the blob
    assert result.ok
    assert len(store.observations) == len(all_spans(fixture_request())) - 1
    assert "execute_tool lookup_order" not in {o.name for o in store.observations.values()}
    assert any("could not map span" in r.getMessage() and "raw/" in r.getMessage() for r in caplog.records)
