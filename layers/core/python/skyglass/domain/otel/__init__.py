"""OpenTelemetry spans → Langfuse ingestion events (compat §4), free of protobuf and I/O.

``contracts.otlp`` decodes an OTLP request into ``OtelSpan`` values; ``mapper.span_to_events``
turns each span into the batch-ingestion events the worker already merges.
"""

from __future__ import annotations

from skyglass.domain.otel.mapper import span_to_events
from skyglass.domain.otel.span import OtelEvent, OtelSpan, span_problem

__all__ = ["OtelEvent", "OtelSpan", "span_problem", "span_to_events"]
