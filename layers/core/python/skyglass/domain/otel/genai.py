"""OpenTelemetry GenAI semantic conventions (``gen_ai.*``): parameters, usage, cost and IO.

IO comes from attributes (``gen_ai.input.messages``/``gen_ai.output.messages`` with
``gen_ai.system_instructions``, Traceloop's flattened ``gen_ai.prompt.N.*``/``gen_ai.completion.N.*``,
tool call arguments/result) or from span events (``gen_ai.client.inference.operation.details``,
per-message ``gen_ai.{system,user,assistant,tool}.message`` and ``gen_ai.choice``, the legacy
``gen_ai.content.prompt``/``gen_ai.content.completion``).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from skyglass.domain.otel.span import OtelEvent, OtelSpan
from skyglass.domain.otel.values import (
    AttributeReader,
    after,
    as_number,
    loads_if_json,
    meaningful,
    unflatten,
)

NAMESPACE = "gen_ai"
OPERATION_NAME = "gen_ai.operation.name"
SYSTEM = "gen_ai.system"
PROVIDER_NAME = "gen_ai.provider.name"
REQUEST_MODEL = "gen_ai.request.model"
RESPONSE_MODEL = "gen_ai.response.model"
CONVERSATION_ID = "gen_ai.conversation.id"
TOOL_NAME = "gen_ai.tool.name"
TOOL_CALL_ID = "gen_ai.tool.call.id"
TOOL_CALL_ARGUMENTS = "gen_ai.tool.call.arguments"
TOOL_CALL_RESULT = "gen_ai.tool.call.result"
INPUT_MESSAGES = "gen_ai.input.messages"
OUTPUT_MESSAGES = "gen_ai.output.messages"
SYSTEM_INSTRUCTIONS = "gen_ai.system_instructions"
TIME_TO_FIRST_CHUNK = "gen_ai.response.time_to_first_chunk"  # seconds
USAGE_COST = "gen_ai.usage.cost"
REQUEST_PREFIX = "gen_ai.request."
USAGE_PREFIX = "gen_ai.usage."
PROMPT_PREFIX = "gen_ai.prompt"
COMPLETION_PREFIX = "gen_ai.completion"

# Agent spans name the model they run on without being generations (compat §4.2).
AGENT_OPERATIONS = frozenset({"invoke_agent", "agent_step"})

INFERENCE_DETAILS_EVENT = "gen_ai.client.inference.operation.details"
MESSAGE_EVENTS: dict[str, str] = {
    "gen_ai.system.message": "system",
    "gen_ai.user.message": "user",
    "gen_ai.assistant.message": "assistant",
    "gen_ai.tool.message": "tool",
}
CHOICE_EVENT = "gen_ai.choice"
LEGACY_PROMPT_EVENT = "gen_ai.content.prompt"
LEGACY_COMPLETION_EVENT = "gen_ai.content.completion"

PYDANTIC_AI_SCOPE = "pydantic-ai"
# Pydantic AI reports totals and a detailed breakdown; only the breakdown is counted.
PYDANTIC_AI_USAGE: dict[str, tuple[str, ...]] = {
    "input": ("gen_ai.usage.details.input_tokens",),
    "output": ("gen_ai.usage.details.output_tokens",),
    "input_cache_read": (
        "gen_ai.usage.details.cache_read_input_tokens",
        "gen_ai.usage.details.cache_read_tokens",
    ),
    "input_cache_creation": (
        "gen_ai.usage.cache_write_tokens",
        "gen_ai.usage.details.cache_creation_input_tokens",
    ),
}


def skips_model(reader: AttributeReader) -> bool:
    """Agent operations carry a model attribute that must not turn into a generation's model."""
    operation = reader.peek(OPERATION_NAME)
    return isinstance(operation, str) and operation in AGENT_OPERATIONS


def request_parameters(reader: AttributeReader) -> dict[str, Any]:
    """Every ``gen_ai.request.*`` except the model → model parameters."""
    if not reader.has_namespace(NAMESPACE):
        return {}
    model_used = REQUEST_MODEL in reader.used
    found = reader.prefixed(REQUEST_PREFIX)
    if found.pop("model", None) is not None and not model_used:
        reader.used.discard(REQUEST_MODEL)  # not a parameter: keep it unless the model field took it
    return found


def pydantic_ai_usage(reader: AttributeReader, scope_name: str) -> dict[str, int] | None:
    """Pydantic AI's breakdown (``gen_ai.usage.details.*``), or ``None`` for other scopes."""
    if scope_name != PYDANTIC_AI_SCOPE or reader.peek("gen_ai.usage.details.input_tokens") is None:
        return None
    out: dict[str, int] = {}
    for target, keys in PYDANTIC_AI_USAGE.items():
        count = as_number(reader.first(keys))
        if count is not None and count >= 0:
            out[target] = int(count)
    return out


def token_counts(reader: AttributeReader) -> dict[str, Any]:
    """Raw ``gen_ai.usage.*`` counts by suffix (the cost is not a count: left for ``cost``)."""
    if not reader.has_namespace(NAMESPACE):
        return {}
    cost_used = USAGE_COST in reader.used
    found = reader.prefixed(USAGE_PREFIX)
    if found.pop("cost", None) is not None and not cost_used:
        reader.used.discard(USAGE_COST)
    return found


def cost(reader: AttributeReader) -> dict[str, float] | None:
    """``gen_ai.usage.cost`` is a total in USD."""
    amount = as_number(reader.get(USAGE_COST))
    return None if amount is None else {"total": float(amount)}


def completion_start(reader: AttributeReader, start: datetime | None) -> datetime | None:
    return after(start, as_number(reader.get(TIME_TO_FIRST_CHUNK)))


def tool_name(reader: AttributeReader) -> Any:
    return reader.get(TOOL_NAME)


# --- input/output -------------------------------------------------------------------------


def _with_instructions(messages: Any, instructions: Any) -> Any:
    """``gen_ai.system_instructions`` (parts) prepended to the input as a system message."""
    if instructions is None:
        return messages
    system = {"role": "system", "parts": instructions if isinstance(instructions, list) else [instructions]}
    if messages is None:
        return [system]
    return [system, *messages] if isinstance(messages, list) else [system, messages]


def inference_details(span: OtelSpan) -> tuple[Any, Any] | None:
    """The semconv ≥ 1.37 event carrying the whole request and response."""
    for event in span.events:
        if event.name == INFERENCE_DETAILS_EVENT:
            attrs = event.attributes
            messages = loads_if_json(attrs.get(INPUT_MESSAGES))
            instructions = loads_if_json(attrs.get(SYSTEM_INSTRUCTIONS))
            return _with_instructions(messages, instructions), loads_if_json(attrs.get(OUTPUT_MESSAGES))
    return None


def _event_message(event: OtelEvent, role: str | None) -> dict[str, Any]:
    message: dict[str, Any] = {"role": role} if role else {}
    for key, value in event.attributes.items():
        message[key] = loads_if_json(value)
    return message


def message_events(span: OtelSpan) -> tuple[Any, Any] | None:
    """Per-message events: inputs with their role from the event name, choices as output."""
    inputs = [_event_message(e, MESSAGE_EVENTS[e.name]) for e in span.events if e.name in MESSAGE_EVENTS]
    choices = [_event_message(e, None) for e in span.events if e.name == CHOICE_EVENT]
    if not inputs and not choices:
        return None
    output: Any = choices[0] if len(choices) == 1 else (choices or None)
    return inputs or None, output


def legacy_content_events(span: OtelSpan) -> tuple[Any, Any] | None:
    """Semantic Kernel's ``gen_ai.content.prompt``/``completion`` events (``gen_ai.prompt`` inside)."""
    prompt = next((e for e in span.events if e.name == LEGACY_PROMPT_EVENT), None)
    completion = next((e for e in span.events if e.name == LEGACY_COMPLETION_EVENT), None)
    if prompt is None and completion is None:
        return None

    def content(event: OtelEvent | None, key: str) -> Any:
        if event is None:
            return None
        value = event.attributes.get(key)
        return loads_if_json(value) if meaningful(value) else dict(event.attributes)

    return content(prompt, PROMPT_PREFIX), content(completion, COMPLETION_PREFIX)


def _flattened(reader: AttributeReader, prefix: str) -> Any:
    """``gen_ai.prompt`` itself, or ``gen_ai.prompt.<N>.*`` unflattened (``gen_ai.prompt.name``,
    a prompt-template attribute, is not a message)."""
    whole = reader.get(prefix)
    if whole is not None:
        return loads_if_json(whole)
    found = {
        k: v
        for k, v in reader.values.items()
        if k.startswith(prefix + ".") and k[len(prefix) + 1 : len(prefix) + 2].isdigit()
    }
    if not found:
        return None
    reader.mark(*found)
    return unflatten({k[len(prefix) + 1 :]: v for k, v in found.items()})


def flattened_messages(reader: AttributeReader) -> tuple[Any, Any] | None:
    """Traceloop's ``gen_ai.prompt.N.{role,content}`` / ``gen_ai.completion.N.*``."""
    if not reader.has_namespace(NAMESPACE):
        return None
    prompt, completion = _flattened(reader, PROMPT_PREFIX), _flattened(reader, COMPLETION_PREFIX)
    if prompt is None and completion is None:
        return None
    return prompt, completion


def messages_attributes(reader: AttributeReader) -> tuple[Any, Any] | None:
    """``gen_ai.input.messages``/``gen_ai.output.messages`` (+ system instructions)."""
    if not reader.has_namespace(NAMESPACE):
        return None
    messages = reader.get(INPUT_MESSAGES)
    output = reader.get(OUTPUT_MESSAGES)
    if messages is None and output is None:
        return None
    instructions = reader.get(SYSTEM_INSTRUCTIONS)
    return _with_instructions(loads_if_json(messages), loads_if_json(instructions)), loads_if_json(output)


def tool_call(reader: AttributeReader) -> tuple[Any, Any] | None:
    """``gen_ai.tool.call.arguments`` / ``gen_ai.tool.call.result`` of an ``execute_tool`` span."""
    if not reader.has_namespace(NAMESPACE):
        return None
    arguments, result = reader.get(TOOL_CALL_ARGUMENTS), reader.get(TOOL_CALL_RESULT)
    if arguments is None and result is None:
        return None
    return loads_if_json(arguments), loads_if_json(result)
