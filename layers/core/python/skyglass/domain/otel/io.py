"""Input and output of a span: the first framework in compat §4.2's order that yields a value.

Sources are data: most frameworks are an (input keys, output keys) pair; the others are
functions of their convention module. Values that are JSON text are decoded (``loads_if_json``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from skyglass.domain.otel import genai, openinference, vercel
from skyglass.domain.otel import langfuse_attrs as lf
from skyglass.domain.otel.span import OtelSpan
from skyglass.domain.otel.values import AttributeReader, loads_if_json, loads_json

Found = tuple[Any, Any] | None
Source = Callable[[OtelSpan, AttributeReader], Found]


def _pair(input_keys: tuple[str, ...], output_keys: tuple[str, ...]) -> Source:
    def source(_: OtelSpan, reader: AttributeReader) -> Found:
        return loads_if_json(reader.first(input_keys)), loads_if_json(reader.first(output_keys))

    return source


def _vercel(span: OtelSpan, reader: AttributeReader) -> Found:
    return vercel.io(reader) if vercel.is_vercel(span.scope_name) else None


def _vertex(_: OtelSpan, reader: AttributeReader) -> Found:
    """Google ADK sets ``llm_request``/``llm_response`` to ``{}`` on tool calls."""
    request = reader.get("gcp.vertex.agent.llm_request")
    response = reader.get("gcp.vertex.agent.llm_response")
    if request in (None, "{}"):
        request = reader.get("gcp.vertex.agent.tool_call_args") or request
    if response in (None, "{}"):
        response = reader.get("gcp.vertex.agent.tool_response") or response
    return loads_if_json(request), loads_if_json(response)


def _logfire_events(_: OtelSpan, reader: AttributeReader) -> Found:
    """Logfire's single ``events`` attribute: the ``gen_ai.choice`` entry is the output."""
    value = reader.peek("events")
    events = loads_json(value) if isinstance(value, str) else value
    if not isinstance(events, list):
        return None
    choice = next(
        (e for e in events if isinstance(e, dict) and e.get("event.name") == genai.CHOICE_EVENT), None
    )
    inputs = [e for e in events if not (isinstance(e, dict) and e.get("event.name") == genai.CHOICE_EVENT)]
    if choice is None and not inputs:
        return None
    reader.mark("events")
    return inputs or None, choice


def _pydantic_ai(span: OtelSpan, reader: AttributeReader) -> Found:
    if span.scope_name != genai.PYDANTIC_AI_SCOPE:
        return None
    return loads_if_json(reader.get("pydantic_ai.all_messages")), loads_if_json(reader.get("final_result"))


def _events(function: Callable[[OtelSpan], Found]) -> Source:
    return lambda span, _reader: function(span) if span.events else None


def _attrs(function: Callable[[AttributeReader], Found]) -> Source:
    return lambda _span, reader: function(reader)


# Event sources and the span events they consume (those are not repeated in metadata).
_DETAILS = _events(genai.inference_details)
_MESSAGES = _events(genai.message_events)
_LEGACY = _events(genai.legacy_content_events)
EVENT_SOURCES: dict[Source, frozenset[str]] = {
    _DETAILS: frozenset({genai.INFERENCE_DETAILS_EVENT}),
    _MESSAGES: frozenset({*genai.MESSAGE_EVENTS, genai.CHOICE_EVENT}),
    _LEGACY: frozenset({genai.LEGACY_PROMPT_EVENT, genai.LEGACY_COMPLETION_EVENT}),
}

SOURCES: tuple[Source, ...] = (
    _pair((lf.OBSERVATION_INPUT,), (lf.OBSERVATION_OUTPUT,)),
    _pair(("genkit:input",), ("genkit:output",)),
    _vercel,
    _DETAILS,
    _MESSAGES,
    _LEGACY,
    _vertex,
    _pair(("prompt",), ("all_messages_events",)),  # Logfire
    _pair(
        ("lk.input_text", "lk.user_transcript", "lk.chat_ctx"),
        ("lk.function_tool.output", "lk.response.text"),
    ),
    _logfire_events,
    _pair(("mlflow.spanInputs",), ("mlflow.spanOutputs",)),
    _pair(("traceloop.entity.input",), ("traceloop.entity.output",)),
    _attrs(openinference.io_values),
    _pair(("input",), ("output",)),  # Pydantic, Pipecat
    _pydantic_ai,
    _pair(("tool_arguments",), ("tool_response",)),  # Pydantic AI tools
    _attrs(genai.flattened_messages),
    _attrs(openinference.messages),
    _attrs(genai.messages_attributes),
    _attrs(genai.tool_call),
)


def extract_io(span: OtelSpan, reader: AttributeReader) -> tuple[Any, Any, frozenset[str]]:
    """``(input, output, names of the span events used)`` — ``None`` where nothing was found."""
    for source in SOURCES:
        found = source(span, reader)
        if found is not None and (found[0] is not None or found[1] is not None):
            return found[0], found[1], EVENT_SOURCES.get(source, frozenset())
    return None, None, frozenset()
