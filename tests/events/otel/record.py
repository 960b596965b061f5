"""Build OTLP fixtures with the real OpenTelemetry SDK (and the real Langfuse SDK v5).

The GenAI-semconv, OpenInference and Vercel AI scenarios set attributes by hand, as the
conventions describe them; spans recorded from real instrumentations are in ``recorded/``
(``tests/events/record_openai.py``).

``python -m tests.events.otel.record`` rewrites ``<name>.pb`` (the ``ExportTraceServiceRequest``
bytes an exporter posts) and ``<name>.json`` (the same request as OTLP/JSON: hex ids, integer
enums) for every scenario in ``SCENARIOS`` (built in ``semconv`` and ``frameworks``). Tests read
the files, so they do not depend on SDK internals; the builders are also imported by a test that
checks the live SDK still produces the recorded shape. The plain-OTel scenarios use fixed ids and
times, so re-recording them reproduces the same bytes; the Langfuse one has wall-clock times.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from google.protobuf.json_format import MessageToDict
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.sdk.trace import ReadableSpan

from tests.events.otel.frameworks import langfuse_sdk_spans, vercel_spans
from tests.events.otel.semconv import genai_spans, openinference_spans
from tests.events.otel.spans import T0, encode, end, provider, start

HERE = Path(__file__).parent


def to_otlp_json(request: ExportTraceServiceRequest) -> dict[str, Any]:
    """The request as OTLP/JSON: like the protobuf JSON mapping but with hex ids."""
    document = MessageToDict(request, use_integers_for_enums=True)
    for resource_spans in document.get("resourceSpans", []):
        for scope_spans in resource_spans.get("scopeSpans", []):
            for span in scope_spans.get("spans", []):
                for key in ("traceId", "spanId", "parentSpanId"):
                    if key in span:
                        span[key] = _b64_to_hex(span[key])
    return document


def _b64_to_hex(value: str) -> str:
    return base64.b64decode(value).hex()


def write(name: str, request: ExportTraceServiceRequest) -> None:
    (HERE / f"{name}.pb").write_bytes(request.SerializeToString())
    (HERE / f"{name}.json").write_text(json.dumps(to_otlp_json(request), indent=1) + "\n")


def load(name: str, encoding: str = "pb") -> bytes:
    """A recorded fixture's bytes (``pb`` or ``json``)."""
    return (HERE / f"{name}.{encoding}").read_bytes()


# --- reading fixtures back (tests) -----------------------------------------------------------

RECEIVED_AT = dt.datetime(2026, 1, 2, tzinfo=dt.UTC)
CONTENT_TYPES = {"pb": "application/x-protobuf", "json": "application/json"}


def decode_fixture(name: str, encoding: str = "pb") -> list[Any]:
    """The recorded request's spans (``OtelSpan``), validated: every fixture span is valid."""
    from skyglass.contracts.otlp import decode_export_request, iter_spans, validate_spans

    request = decode_export_request(load(name, encoding), CONTENT_TYPES[encoding], None)
    accepted, rejected, message = validate_spans(iter_spans(request))
    assert rejected == 0, message
    return accepted


def events_by_span(spans: Sequence[Any]) -> dict[str, dict[str, Any]]:
    """``{span name: {"observation": event, "trace": event or None}}`` (names are unique per fixture)."""
    from skyglass.domain.otel import span_to_events

    out: dict[str, dict[str, Any]] = {}
    for span in spans:
        events = span_to_events(span, received_at=RECEIVED_AT)
        trace_events = [e for e in events if e["type"] == "trace-create"]
        out[span.name] = {"observation": events[-1], "trace": trace_events[0] if trace_events else None}
    return out


def mapped(name: str) -> dict[str, dict[str, Any]]:
    return events_by_span(decode_fixture(name))


def single_span(
    attributes: dict[str, Any],
    *,
    name: str = "span",
    scope: str = "test.scope",
    resource: dict[str, Any] | None = None,
    events: Sequence[tuple[str, dict[str, Any]]] = (),
    child: bool = False,
) -> Any:
    """One span made by the real SDK, encoded and decoded: the ``OtelSpan`` the mapper gets.

    ``child=True`` makes it the child of an (unexported) parent, i.e. not a root.
    """
    from skyglass.contracts.otlp import decode_export_request, iter_spans

    tp, exporter = provider(resource or {"service.name": "single"})
    tracer = tp.get_tracer(scope)
    parent = tracer.start_span("parent", start_time=T0) if child else None
    span = start(tracer, name, 0, 100, attributes, parent=parent, events=events)
    end(span, 100)
    spans = [s for s in exporter.get_finished_spans() if s.name == name]
    request = decode_export_request(encode(spans).SerializeToString(), CONTENT_TYPES["pb"], None)
    (decoded,) = iter_spans(request)
    return decoded


SCENARIOS: dict[str, Callable[[], list[ReadableSpan]]] = {
    "langfuse_sdk_v5": langfuse_sdk_spans,
    "genai_semconv": genai_spans,
    "openinference": openinference_spans,
    "vercel_ai": vercel_spans,
}


def main() -> None:
    for name, build in SCENARIOS.items():
        write(name, encode(build()))
        print(f"wrote {name}.pb and {name}.json")


if __name__ == "__main__":
    main()
