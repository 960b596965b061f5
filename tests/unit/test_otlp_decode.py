"""OTLP/HTTP trace requests: content negotiation, decoding, per-span validation, responses."""

from __future__ import annotations

import gzip
import json
import math

import pytest
from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue, KeyValueList

from skyglass.contracts.otlp import (
    JSON,
    PROTOBUF,
    decode_export_request,
    encode_response,
    iter_spans,
    screen_protobuf_spans,
    validate_spans,
)
from skyglass.domain.otel.span import INVALID_PARENT_SPAN_ID, INVALID_SPAN_ID, INVALID_TRACE_ID
from skyglass.errors import InvalidRequest, PayloadTooLarge, UnsupportedMediaType
from tests.events.otel.record import SCENARIOS, load, to_otlp_json
from tests.events.otel.spans import T0, provider


def sdk_request(count: int = 2, attributes: dict | None = None) -> ExportTraceServiceRequest:
    """``count`` spans (a root and children) made by the real OTel SDK, encoded as an exporter would."""
    tp, exporter = provider({"service.name": "decode-test"})
    tracer = tp.get_tracer("decode.test", "1.0")
    with tracer.start_as_current_span("root", start_time=T0, attributes=attributes or {"k": "v"}):
        for i in range(count - 1):
            tracer.start_span(f"child-{i}", start_time=T0 + i).end(end_time=T0 + i + 1)
    return encode_spans(exporter.get_finished_spans())


def spans_of(body: bytes, content_type: str = PROTOBUF, encoding: str | None = None) -> list:
    return list(iter_spans(decode_export_request(body, content_type, encoding)))


# --- content types and encodings ----------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(SCENARIOS))
def test_protobuf_and_json_fixtures_decode_to_the_same_spans(name):
    # Given one recorded request in both encodings
    # When both are decoded
    from_protobuf = spans_of(load(name, "pb"))
    from_json = spans_of(load(name, "json"), JSON)
    # Then the spans are identical, ids as lowercase hex
    assert from_protobuf == from_json
    assert from_protobuf and all(len(s.trace_id) == 32 and len(s.span_id) == 16 for s in from_protobuf)


def test_protobuf_span_fields_resource_and_scope_are_plain_values():
    # Given a request made by the SDK
    request = sdk_request(2, {"s": "x", "i": 7, "f": 1.5, "b": True, "list": ["a", "b"]})
    # When it is decoded
    root = next(s for s in spans_of(request.SerializeToString()) if s.name == "root")
    # Then every field is a plain Python value
    assert root.attributes == {"s": "x", "i": 7, "f": 1.5, "b": True, "list": ["a", "b"]}
    assert root.parent_span_id == ""
    assert root.start_time_unix_nano == T0
    assert root.kind == 1  # INTERNAL
    assert root.resource_attributes["service.name"] == "decode-test"
    assert (root.scope_name, root.scope_version) == ("decode.test", "1.0")


@pytest.mark.parametrize("content_type", ["application/x-protobuf; charset=utf-8", "Application/X-Protobuf"])
def test_content_type_parameters_and_case_are_ignored(content_type):
    # Given a protobuf body labelled with parameters or odd case
    # Then it decodes as protobuf
    assert len(spans_of(sdk_request(3).SerializeToString(), content_type)) == 3


@pytest.mark.parametrize("encoding", ["gzip", "GZIP", "x-gzip"])
def test_gzip_bodies_decode_like_identity(encoding):
    # Given the same request, compressed
    raw = sdk_request(3).SerializeToString()
    # Then decoding the gzip body gives the same spans
    assert spans_of(gzip.compress(raw), PROTOBUF, encoding) == spans_of(raw, PROTOBUF, "identity")


def test_gzip_json_and_multi_member_gzip_decode():
    # Given an OTLP/JSON body split over two gzip members (a valid gzip stream)
    text = json.dumps(to_otlp_json(sdk_request(2))).encode()
    body = gzip.compress(text[:10]) + gzip.compress(text[10:])
    # Then it decodes like the plain JSON
    assert spans_of(body, JSON, "gzip") == spans_of(text, JSON)


@pytest.mark.parametrize("content_type", ["text/plain", "application/xml", "", None, "application/grpc"])
def test_other_content_types_are_415_naming_the_accepted_types(content_type):
    # Given a content type that is not OTLP
    # Then the client gets 415 naming both accepted types
    with pytest.raises(UnsupportedMediaType) as caught:
        decode_export_request(b"", content_type, None)
    assert caught.value.status == 415
    assert PROTOBUF in caught.value.message and JSON in caught.value.message


def test_other_content_encodings_are_415():
    # Given a body compressed with an encoding we do not decode
    # Then 415 says which encodings work
    with pytest.raises(UnsupportedMediaType) as caught:
        decode_export_request(b"x", PROTOBUF, "br")
    assert "gzip" in caught.value.message


# --- undecodable bodies ---------------------------------------------------------------------------


def test_truncated_protobuf_is_400():
    # Given a request cut in the middle of a span
    raw = sdk_request(3).SerializeToString()
    # When decoded
    with pytest.raises(InvalidRequest) as caught:
        decode_export_request(raw[: len(raw) // 2], PROTOBUF, None)
    # Then the client is told the protobuf is invalid
    assert caught.value.status == 400
    assert "protobuf" in caught.value.message


# mtime=0: a gzip header holds the time, and collected test ids must not differ between xdist workers.
@pytest.mark.parametrize(
    "body", [b"not gzip at all", gzip.compress(b"x" * 100, mtime=0)[:-12]], ids=["not-gzip", "truncated"]
)
def test_bad_or_truncated_gzip_is_400(body):
    # Given a body labelled gzip that is not a complete gzip stream
    # Then it is a 400 about the gzip
    with pytest.raises(InvalidRequest) as caught:
        decode_export_request(body, PROTOBUF, "gzip")
    assert "gzip" in caught.value.message


def test_gzip_expanding_beyond_the_limit_is_413():
    # Given a small gzip body that inflates past the configured limit
    body = gzip.compress(b"\0" * 10_000)
    # Then it is refused without inflating it all
    with pytest.raises(PayloadTooLarge):
        decode_export_request(body, PROTOBUF, "gzip", max_decompressed_bytes=1_000)


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        (b"{not json", "Invalid JSON"),
        (b"[1, 2]", "expected an object"),
        (b'{"resourceLogs": []}', "not logs or metrics"),
        (b'{"resourceSpans": {}}', "resourceSpans must be an array"),
        (b'{"resourceSpans": [{"scopeSpans": [{"spans": {"a": 1}}]}]}', "resourceSpans[0].scopeSpans[0]"),
        (
            b'{"resourceSpans": [{"scopeSpans": [{"spans": [{"startTimeUnixNano": "soon"}]}]}]}',
            "startTimeUnixNano",
        ),
        (
            b'{"resourceSpans": [{"scopeSpans": [{"spans": [{"attributes": [{"key": "k", "value": {"intValue": "x"}}]}]}]}]}',
            "intValue",
        ),
    ],
)
def test_malformed_json_is_400_saying_where(body, fragment):
    # Given OTLP/JSON that is not JSON or not shaped like a trace request
    # Then it is a 400 naming what and where
    with pytest.raises(InvalidRequest) as caught:
        decode_export_request(body, JSON, None)
    assert fragment in caught.value.message


@pytest.mark.parametrize(
    ("body", "content_type", "encoding"),
    [
        (b"", PROTOBUF, None),
        (b"", JSON, None),
        (b"  ", JSON, None),
        (b"{}", JSON, None),
        (b'{"resourceSpans": []}', JSON, None),
        (gzip.compress(b"", mtime=0), PROTOBUF, "gzip"),
    ],
)
def test_empty_requests_decode_to_no_spans(body, content_type, encoding):
    # Langfuse answers 200 {} when there are no resourceSpans: nothing to ingest, nothing wrong.
    # Given an empty request in any encoding
    # Then there is nothing to ingest (Langfuse answers 200 {})
    assert spans_of(body, content_type, encoding) == []


# --- values ---------------------------------------------------------------------------------------


def test_any_values_of_every_kind_in_protobuf():
    # Given a span whose attributes use every AnyValue kind, including non-finite doubles
    request = sdk_request(1, {"nan": math.nan, "inf": math.inf, "ninf": -math.inf, "big": 2**62})
    attributes = request.resource_spans[0].scope_spans[0].spans[0].attributes
    attributes.append(KeyValue(key="bytes", value=AnyValue(bytes_value=b"\x00\xff")))
    attributes.append(KeyValue(key="empty", value=AnyValue()))
    nested = KeyValueList(values=[KeyValue(key="a", value=AnyValue(int_value=1))])
    attributes.append(KeyValue(key="kv", value=AnyValue(kvlist_value=nested)))
    # When decoded
    (span,) = spans_of(request.SerializeToString())
    # Then NaN/Infinity stay as strings (as Langfuse keeps them), bytes as base64, maps as dicts
    assert span.attributes == {
        "nan": "NaN",
        "inf": "Infinity",
        "ninf": "-Infinity",
        "big": 2**62,
        "bytes": "AP8=",
        "empty": None,
        "kv": {"a": 1},
    }


def test_otlp_json_value_encodings():
    # Given OTLP/JSON with int64 as strings and numbers, enum names and ints, snake_case keys
    body = {
        "resource_spans": [
            {
                "resource": {"attributes": [{"key": "service.name", "value": {"stringValue": "svc"}}]},
                "scopeSpans": [
                    {
                        "scope": {"name": "s"},
                        "spans": [
                            {
                                "traceId": "0AF7651916CD43DD8448EB211C80319C",
                                "spanId": "B7AD6B7169203331",
                                "parentSpanId": "0000000000000000",
                                "name": "n",
                                "kind": "SPAN_KIND_CLIENT",
                                "start_time_unix_nano": "1767261600000000000",
                                "endTimeUnixNano": 1767261600500000000,
                                "status": {"code": "STATUS_CODE_ERROR", "message": "boom"},
                                "attributes": [
                                    {"key": "i", "value": {"intValue": "42"}},
                                    {"key": "d", "value": {"doubleValue": "NaN"}},
                                    {"key": "d2", "value": {"doubleValue": 2}},
                                    {"key": "a", "value": {"arrayValue": {"values": [{"boolValue": True}]}}},
                                    {
                                        "key": "m",
                                        "value": {"kvlistValue": {"values": [{"key": "x", "value": {}}]}},
                                    },
                                    {"key": "unknown", "value": {"fancyValue": 1}},
                                ],
                                "events": [{"name": "e", "timeUnixNano": "5", "attributes": []}],
                                "futureField": {"ignored": True},
                            }
                        ],
                    }
                ],
            }
        ]
    }
    # When decoded
    (span,) = spans_of(json.dumps(body).encode(), JSON)
    # Then ids are lowercase hex, an all-zero parent is no parent, and values are typed
    assert (span.trace_id, span.span_id, span.parent_span_id) == (
        "0af7651916cd43dd8448eb211c80319c",
        "b7ad6b7169203331",
        "",
    )
    assert (span.kind, span.status_code, span.status_message) == (3, 2, "boom")
    assert (span.start_time_unix_nano, span.end_time_unix_nano) == (1767261600000000000, 1767261600500000000)
    assert span.attributes == {"i": 42, "d": "NaN", "d2": 2.0, "a": [True], "m": {"x": None}, "unknown": None}
    assert span.events[0].name == "e" and span.events[0].time_unix_nano == 5
    assert span.resource_attributes == {"service.name": "svc"}


# --- per-span validation ------------------------------------------------------------------------


def _with_bad_ids() -> ExportTraceServiceRequest:
    request = sdk_request(6)
    spans = request.resource_spans[0].scope_spans[0].spans
    spans[0].trace_id = b"\x01" * 8  # wrong length
    spans[1].trace_id = b"\x00" * 16  # all zero
    spans[2].span_id = b""  # missing
    spans[3].parent_span_id = b"\x01\x02\x03"  # neither empty nor 8 bytes
    return request


def test_invalid_ids_are_rejected_individually_with_counts():
    # Given six spans of which four have unusable ids
    request = _with_bad_ids()
    # When validated
    accepted, rejected, message = validate_spans(spans_of(request.SerializeToString()))
    # Then the two good spans are accepted and the message counts each reason
    assert len(accepted) == 2 and rejected == 4
    assert message.startswith("Rejected 4 of 6 spans")
    assert f"2 with an {INVALID_TRACE_ID}" in message
    assert f"1 with an {INVALID_SPAN_ID}" in message
    assert f"1 with an {INVALID_PARENT_SPAN_ID}" in message


@pytest.mark.parametrize(
    ("trace_id", "span_id", "parent"),
    [
        (b"\x01" * 16, b"\x02" * 8, b""),
        (b"\x01" * 16, b"\x02" * 8, b"\0" * 8),  # all-zero parent: no parent
        (b"\x01" * 16, b"\x02" * 8, b"\0" * 3),  # all zero at any length: no parent
        (b"\x01" * 16, b"\x02" * 8, b"\x03" * 3),
        (b"\0" * 16, b"\x02" * 8, b""),
        (b"\x01" * 15, b"\x02" * 8, b""),
        (b"", b"\x02" * 8, b""),
        (b"\x01" * 16, b"\0" * 8, b""),
        (b"\x01" * 16, b"\x02" * 9, b"\x03" * 8),
        (b"\0" * 15 + b"\x01", b"\x01" + b"\0" * 7, b"\0" * 7 + b"\x01"),
    ],
)
def test_screening_raw_protobuf_ids_agrees_with_validating_decoded_spans(trace_id, span_id, parent):
    # Given a request with one span with these ids
    request = ExportTraceServiceRequest()
    span = request.resource_spans.add().scope_spans.add().spans.add()
    span.trace_id, span.span_id, span.parent_span_id, span.name = trace_id, span_id, parent, "s"
    # When screened at ingest (raw ids) and validated in the worker (decoded spans)
    screened = screen_protobuf_spans(request)
    accepted, rejected, message = validate_spans(spans_of(request.SerializeToString()))
    # Then both reach the same verdict with the same message
    assert screened == (len(accepted), rejected, message)


def test_invalid_json_ids_are_rejected_individually_and_base64_ids_tolerated():
    # Given OTLP/JSON spans: hex ids, base64 ids (protobuf JSON mapping), garbage and missing ids
    def span(trace_id, span_id):
        return {"traceId": trace_id, "spanId": span_id, "name": "s"}

    document = {
        "resourceSpans": [
            {
                "scopeSpans": [
                    {
                        "spans": [
                            span("5b8efff798038103d269b633813fc60c", "eee19b7ec3c1b174"),
                            span("W47/95gDgQPSabYzgT/GDA==", "7uGbfsPBsXQ="),
                            span("not-an-id", "eee19b7ec3c1b174"),
                            span("5b8efff798038103d269b633813fc60c", None),
                        ]
                    }
                ]
            }
        ]
    }
    # When decoded and validated
    accepted, rejected, _ = validate_spans(spans_of(json.dumps(document).encode(), JSON))
    # Then both id spellings are accepted as the same ids and the others rejected one by one
    assert [(s.trace_id, s.span_id) for s in accepted] == [
        ("5b8efff798038103d269b633813fc60c", "eee19b7ec3c1b174")
    ] * 2
    assert rejected == 2


def test_all_valid_spans_give_no_message():
    # Given spans with valid ids
    accepted, rejected, message = validate_spans(spans_of(sdk_request(3).SerializeToString()))
    # Then all are accepted and there is no error message
    assert (len(accepted), rejected, message) == (3, 0, "")


def test_ten_thousand_spans_decode_and_validate():
    # Given one request of 10k spans from the SDK, gzip-compressed as the Langfuse SDK sends it
    body = gzip.compress(sdk_request(10_000).SerializeToString())
    # When decoded
    accepted, rejected, _ = validate_spans(spans_of(body, PROTOBUF, "gzip"))
    # Then every span is there
    assert (len(accepted), rejected) == (10_000, 0)
    assert len({s.span_id for s in accepted}) == 10_000


# --- responses ------------------------------------------------------------------------------------


def test_protobuf_response_is_empty_on_success_and_carries_partial_success():
    # Given a fully and a partly accepted request
    # Then success is an empty response; rejects go in partial_success
    assert encode_response(0, "", PROTOBUF) == b""
    response = ExportTraceServiceResponse.FromString(encode_response(2, "Rejected 2 of 5 spans", PROTOBUF))
    assert response.HasField("partial_success")
    assert response.partial_success.rejected_spans == 2
    assert response.partial_success.error_message == "Rejected 2 of 5 spans"


def test_json_response_follows_otlp_json():
    # Given a JSON request
    # Then the response is OTLP/JSON: camelCase, int64 as a string
    assert json.loads(encode_response(0, "", "application/json; charset=utf-8")) == {}
    assert json.loads(encode_response(3, "bad ids", JSON)) == {
        "partialSuccess": {"rejectedSpans": "3", "errorMessage": "bad ids"}
    }


def test_validation_message_round_trips_through_the_response():
    # Given a request with rejected spans
    _, rejected, message = validate_spans(spans_of(_with_bad_ids().SerializeToString()))
    # When answered in protobuf
    response = ExportTraceServiceResponse.FromString(encode_response(rejected, message, PROTOBUF))
    # Then the exporter sees the count and the reasons
    assert response.partial_success.rejected_spans == 4
    assert "invalid trace id" in response.partial_success.error_message


@pytest.mark.parametrize("content_type", [PROTOBUF, JSON])
def test_corrupted_bodies_decode_or_fail_with_400_only(content_type):
    # Given a valid request in the content type, corrupted at seeded random positions
    import random

    rng = random.Random(7)
    request = sdk_request(3, {"s": "x", "list": [1, 2]})
    valid = (
        request.SerializeToString()
        if content_type == PROTOBUF
        else json.dumps(to_otlp_json(request)).encode()
    )
    for _ in range(300):
        body = bytearray(valid)
        for _ in range(rng.randint(1, 4)):
            body[rng.randrange(len(body))] = rng.randrange(256)
        # When decoded and iterated
        try:
            spans = spans_of(bytes(body), content_type)
        except InvalidRequest:
            continue
        # Then whatever decoded validates without error
        validate_spans(spans)
