"""One OTel span → Langfuse batch-ingestion events (compat §4): an observation ``<type>-create``
and, for a root span or a span carrying trace fields, a ``trace-create``.

Events are deterministic: times come from the span (``received_at`` only stands in for a span
without any), and an event id is the trace id, span id and a hash of the event, so a span
exported twice becomes the same events and the worker's merge stores it once.

Metadata follows Langfuse: the flattened metadata attributes at the top level, then
``attributes`` (span attributes no field consumed; for the Langfuse SDK's own scope minus the
SDK vocabulary, which is mapped, so what remains are foreign attributes and ``langfuse.*`` keys
this version does not know: unknown attributes are kept, never dropped), ``events`` (span events
not used as IO, e.g. exceptions), ``resourceAttributes`` and ``scope`` (``{name, version,
attributes}``).
"""

from __future__ import annotations

import hashlib
import json
from datetime import datetime
from typing import Any

import orjson

from skyglass.domain.otel import fields, generation, openinference, vercel
from skyglass.domain.otel import langfuse_attrs as lf
from skyglass.domain.otel.io import extract_io
from skyglass.domain.otel.span import OtelSpan
from skyglass.domain.otel.trace import read_trace_fields, trace_body
from skyglass.domain.otel.types import observation_type
from skyglass.domain.otel.values import AttributeReader, format_ms, nanos_to_datetime
from skyglass.domain.timeutil import to_ms

TRACE_CREATE = "trace-create"
_OBSERVATION_METADATA_PREFIXES = (lf.OBSERVATION_METADATA, lf.COMPAT_METADATA, vercel.METADATA_PREFIX)


def _times(span: OtelSpan, received_at: datetime) -> tuple[datetime, datetime]:
    """Start and end; a missing edge is the other one, both missing the receive time."""
    start = nanos_to_datetime(span.start_time_unix_nano)
    end = nanos_to_datetime(span.end_time_unix_nano)
    start = start or end or to_ms(received_at)
    return start, end or start


def _canonical(body: dict[str, Any]) -> bytes:
    try:
        return orjson.dumps(body, option=orjson.OPT_SORT_KEYS)
    except TypeError:  # e.g. an int beyond 64 bits from OTLP/JSON
        return json.dumps(body, sort_keys=True, separators=(",", ":"), default=str).encode()


def _event(
    kind: str, event_type: str, span: OtelSpan, timestamp: str, body: dict[str, Any]
) -> dict[str, Any]:
    digest = hashlib.blake2b(event_type.encode() + b"\n" + _canonical(body), digest_size=10).hexdigest()
    return {
        "id": f"{span.trace_id}-{span.span_id}-{kind}{digest}",
        "type": event_type,
        "timestamp": timestamp,
        "body": body,
    }


def _resource_metadata(resource: dict[str, Any]) -> dict[str, Any]:
    """``langfuse.trace.metadata.*`` set on the resource (rare: checked before building a reader)."""
    if not any(key.startswith(lf.TRACE_METADATA) for key in resource):
        return {}
    return lf.flattened_metadata(AttributeReader(resource), (lf.TRACE_METADATA,))


def _observation_metadata(reader: AttributeReader) -> dict[str, Any]:
    """Metadata the user set on the span: OpenInference ``metadata``, the flattened observation
    metadata (Langfuse, legacy, Vercel telemetry), Vercel tools and the experiment fields."""
    found: dict[str, Any] = openinference.metadata(reader) or {}
    found.update(lf.flattened_metadata(reader, _OBSERVATION_METADATA_PREFIXES, skip=vercel.RESERVED_METADATA))
    tools = vercel.tools(reader)
    if tools is not None:
        found["tools"] = tools
    experiment = lf.experiment(reader)
    if experiment is not None:
        found["experiment"] = experiment
    return found


def _leftover_attributes(span: OtelSpan, reader: AttributeReader) -> dict[str, Any]:
    """``{"attributes": …}`` with what no field consumed; ``{}`` when nothing is left.

    On the SDK's own spans its vocabulary counts as consumed even where a value was unusable
    (e.g. a prompt name on a span) or is bookkeeping (``langfuse.internal.*``), as in Langfuse;
    foreign attributes and unknown ``langfuse.*`` keys (a newer SDK's) stay.
    """
    attributes = reader.remaining()
    if span.scope_name == lf.SDK_SCOPE:
        attributes = {k: v for k, v in attributes.items() if not lf.is_vocabulary(k)}
    return {"attributes": attributes} if attributes else {}


def _leftover_events(span: OtelSpan, used_events: frozenset[str]) -> dict[str, Any]:
    """``{"events": …}`` with span events not used as IO (e.g. exceptions); ``{}`` when none."""
    kept: list[dict[str, Any]] = []
    for event in span.events:
        if event.name in used_events:
            continue
        entry: dict[str, Any] = {"name": event.name}
        time = nanos_to_datetime(event.time_unix_nano)
        if time is not None:
            entry["time"] = format_ms(time)
        if event.attributes:
            entry["attributes"] = event.attributes
        kept.append(entry)
    return {"events": kept} if kept else {}


def _context(span: OtelSpan) -> dict[str, Any]:
    return {
        "resourceAttributes": span.resource_attributes,
        "scope": {
            "name": span.scope_name,
            "version": span.scope_version,
            "attributes": span.scope_attributes,
        },
    }


def span_to_events(span: OtelSpan, *, received_at: datetime) -> list[dict[str, Any]]:
    """The Langfuse ingestion events of one (valid, see ``span_problem``) span.

    ``[trace-create?, <type>-create]`` with camelCase batch-API bodies; ``None`` fields omitted.
    ``environment`` is reported as found (the worker normalises it).
    """
    reader = AttributeReader(span.attributes)
    resource = span.resource_attributes
    start, end = _times(span, received_at)
    timestamp = format_ms(start)
    kind = observation_type(span.attributes, resource, span.scope_name, span.scope_version, span.name)
    root = lf.is_root(span.parent_span_id, reader)
    reader.mark(lf.OBSERVATION_TYPE, lf.AS_ROOT, lf.IS_APP_ROOT)

    name = fields.name(reader, span.name)
    environment = fields.environment(reader, resource)
    version = fields.version(reader, resource)
    release = fields.release(reader, resource)
    trace = read_trace_fields(reader)
    input_value, output_value, used_events = extract_io(span, reader)
    completion_start = generation.completion_start(reader, start)
    observation: dict[str, Any] = {
        "id": span.span_id,
        "traceId": span.trace_id,
        "parentObservationId": span.parent_span_id or None,
        "name": name,
        "startTime": timestamp,
        "endTime": format_ms(end),
        "completionStartTime": format_ms(completion_start) if completion_start else None,
        "input": input_value,
        "output": output_value,
        "level": fields.level(reader, span.status_code),
        "statusMessage": fields.status_message(reader, span.status_message),
        "version": version,
        "environment": environment,
        "model": generation.model(reader),
        "modelParameters": generation.model_parameters(reader, span.scope_name),
        "usageDetails": generation.usage(reader, span.scope_name),
        "costDetails": generation.cost(reader),
    }
    prompt = generation.prompt(reader, kind)
    if prompt is not None:
        observation["promptName"], observation["promptVersion"] = prompt
    # Metadata layers, later ones winning on a key clash as in Langfuse: resource trace metadata,
    # the span's own metadata, what nothing consumed, then the resource/scope context.
    resource_metadata = _resource_metadata(resource)
    own_metadata = _observation_metadata(reader)
    attributes = _leftover_attributes(span, reader)
    context = _context(span)
    observation["metadata"] = {
        **resource_metadata,
        **own_metadata,
        **attributes,
        **_leftover_events(span, used_events),
        **context,
    }
    observation = {key: value for key, value in observation.items() if value is not None}

    events = [_event("o", f"{kind.lower()}-create", span, timestamp, observation)]
    # A root describes the trace with its own metadata too; other spans only add trace metadata.
    span_metadata = {**own_metadata, **attributes} if root else {}
    trace_metadata = {**resource_metadata, **trace.metadata, **span_metadata, **context}
    body = trace_body(
        span.trace_id,
        trace,
        root=root,
        timestamp=timestamp,
        environment=environment,
        version=version,
        release=release,
        metadata=trace_metadata,
        observation_name=name,
        observation_input=input_value,
        observation_output=output_value,
    )
    if body is not None:
        events.insert(0, _event("t", TRACE_CREATE, span, timestamp, body))
    return events
