"""Span-building helpers for the OTLP fixtures: reproducible ids and times on the real OTel SDK."""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from typing import Any

from opentelemetry import trace
from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.sdk.trace.id_generator import IdGenerator

T0 = 1_767_261_600_000_000_000  # 2026-01-01T10:00:00Z in ns
MS = 1_000_000


class SequentialIds(IdGenerator):
    """Readable, reproducible ids: trace ``0…0a0000000000000N``, span ``000000000000000N``."""

    def __init__(self, trace_base: int = 0xA0000000000000) -> None:
        self._traces = itertools.count(trace_base + 1)
        self._spans = itertools.count(1)

    def generate_trace_id(self) -> int:
        return next(self._traces)

    def generate_span_id(self) -> int:
        return next(self._spans)


def provider(
    resource: dict[str, Any], trace_base: int = 0xA0000000000000, *, export: bool = True
) -> tuple[TracerProvider, InMemorySpanExporter]:
    """A provider with sequential ids; ``export=False`` leaves exporting to the caller's
    processor (the Langfuse SDK adds its own)."""
    exporter = InMemorySpanExporter()
    tracer_provider = TracerProvider(resource=Resource(resource), id_generator=SequentialIds(trace_base))
    if export:
        tracer_provider.add_span_processor(SimpleSpanProcessor(exporter))
    return tracer_provider, exporter


def encode(spans: Sequence[ReadableSpan]) -> ExportTraceServiceRequest:
    return encode_spans(spans)


def start(
    tracer: trace.Tracer,
    name: str,
    start_ms: int,
    end_ms: int,
    attributes: dict[str, Any],
    parent: Any = None,
    events: Sequence[tuple[str, dict[str, Any]]] = (),
) -> trace.Span:
    context = trace.set_span_in_context(parent) if parent is not None else None
    span = tracer.start_span(name, context=context, start_time=T0 + start_ms * MS, attributes=attributes)
    for event_name, event_attributes in events:
        span.add_event(event_name, event_attributes, timestamp=T0 + start_ms * MS + MS)
    return span


def end(span: trace.Span, end_ms: int) -> None:
    span.end(end_time=T0 + end_ms * MS)
