"""OpenInference conventions (Arize Phoenix instrumentations, Agno, BeeAI, SmolAgents…).

``llm.invocation_parameters`` (JSON) → model parameters, ``llm.token_count.*`` → usage,
``llm.cost.*`` → provided cost, ``input.value``/``output.value`` (read by their mime type) and the
flattened ``llm.input_messages.N.message.*`` lists → chat messages.
"""

from __future__ import annotations

from typing import Any

from skyglass.domain.otel.values import (
    AttributeReader,
    as_number,
    json_object,
    loads_if_json,
    loads_json,
    unflatten,
)

NAMESPACE = "llm"
SPAN_KIND = "openinference.span.kind"
MODEL_NAME = "llm.model_name"
INVOCATION_PARAMETERS = "llm.invocation_parameters"
TOKEN_COUNT_PREFIX = "llm.token_count."
COST_PREFIX = "llm.cost."
INPUT_VALUE = "input.value"
INPUT_MIME_TYPE = "input.mime_type"
OUTPUT_VALUE = "output.value"
OUTPUT_MIME_TYPE = "output.mime_type"
INPUT_MESSAGES = "llm.input_messages"
OUTPUT_MESSAGES = "llm.output_messages"
METADATA = "metadata"
JSON_MIME = "application/json"
TEXT_MIME = "text/plain"

# ``llm.cost.<key>`` → (Langfuse cost key, side). Keys match the usage keys so a price per usage
# key lines up with its cost. ``*_details.input/output`` are the uncached remainder: skipped,
# since input/output are computed as prompt/completion minus the other details.
COST_TOTALS = {"prompt": "input", "completion": "output", "total": "total"}
COST_DETAILS: dict[str, tuple[str, str]] = {
    "prompt_details.cache_read": ("input_cached_tokens", "input"),
    "prompt_details.cache_write": ("input_cache_creation", "input"),
    "prompt_details.cache_input": ("input_cache_input", "input"),
    "prompt_details.audio": ("input_audio_tokens", "input"),
    "completion_details.reasoning": ("output_reasoning_tokens", "output"),
    "completion_details.audio": ("output_audio_tokens", "output"),
}
COST_REMAINDERS = {"prompt_details.input": "input", "completion_details.output": "output"}


def invocation_parameters(reader: AttributeReader) -> dict[str, Any] | None:
    """``llm.invocation_parameters`` (a JSON object), else its flattened ``.<k>`` form."""
    if not reader.has_namespace(NAMESPACE):
        return None
    whole = json_object(reader.peek(INVOCATION_PARAMETERS))
    if whole is not None:
        reader.mark(INVOCATION_PARAMETERS)
        return whole
    return reader.prefixed(INVOCATION_PARAMETERS + ".") or None


def token_counts(reader: AttributeReader) -> dict[str, Any]:
    """Raw ``llm.token_count.*`` counts by suffix (normalised with the GenAI ones)."""
    return reader.prefixed(TOKEN_COUNT_PREFIX) if reader.has_namespace(NAMESPACE) else {}


def cost(reader: AttributeReader) -> dict[str, float] | None:
    """``llm.cost.*`` (USD) as provided cost details, details split out of their side."""
    if not reader.has_namespace(NAMESPACE):
        return None
    raw = {
        k: float(n)
        for k, v in reader.prefixed(COST_PREFIX).items()
        if (n := as_number(v)) is not None and n >= 0
    }
    if not raw:
        return None
    costs: dict[str, float] = {target: raw[key] for key, target in COST_TOTALS.items() if key in raw}
    for key, side in COST_REMAINDERS.items():
        if side not in costs and key in raw:
            costs[side] = raw[key]
    subtract = {"input": 0.0, "output": 0.0}
    for key, (target, side) in COST_DETAILS.items():
        if key in raw:
            costs[target] = raw[key]
            subtract[side] += raw[key]
    for side, amount in subtract.items():
        # Only a prompt/completion total contains its details; a remainder already excludes them.
        total_key = "prompt" if side == "input" else "completion"
        if total_key in raw and amount and side in costs:
            # Rounded to the stored precision (Decimal64(12)) so float noise is not kept.
            costs[side] = max(round(costs[side] - amount, 12), 0.0)
    return costs


def _value(reader: AttributeReader, key: str, mime_key: str) -> Any:
    value = reader.get(key)
    if value is None:
        return None
    mime = reader.get(mime_key)
    if mime == TEXT_MIME:
        return value
    if mime == JSON_MIME:
        return loads_json(value, value)
    return loads_if_json(value)


def io_values(reader: AttributeReader) -> tuple[Any, Any] | None:
    """``input.value``/``output.value``: JSON when the mime type says so, text when it says text."""
    if not (reader.has_namespace("input") or reader.has_namespace("output")):
        return None
    found = _value(reader, INPUT_VALUE, INPUT_MIME_TYPE), _value(reader, OUTPUT_VALUE, OUTPUT_MIME_TYPE)
    return None if found == (None, None) else found


def _tool_call(entry: Any) -> Any:
    call = entry.get("tool_call", entry) if isinstance(entry, dict) else entry
    if isinstance(call, dict) and "function" in call:
        return {"type": "function", **call}
    return call


def _message(entry: Any) -> Any:
    """``{"message": {role, content, contents: [{message_content: …}], tool_calls: [{tool_call: …}]}}``
    → ``{role, content, tool_calls}`` (OpenAI-style chat message)."""
    message = entry.get("message", entry) if isinstance(entry, dict) else entry
    if not isinstance(message, dict):
        return message
    out = {k: v for k, v in message.items() if k not in ("contents", "tool_calls")}
    contents = message.get("contents")
    if isinstance(contents, list) and "content" not in out:
        out["content"] = [c.get("message_content", c) if isinstance(c, dict) else c for c in contents]
    tool_calls = message.get("tool_calls")
    if isinstance(tool_calls, list):
        out["tool_calls"] = [_tool_call(call) for call in tool_calls]
    return out


def _messages(reader: AttributeReader, prefix: str) -> Any:
    found = reader.prefixed(prefix + ".")
    if not found:
        return None
    nested = unflatten(found)
    return [_message(entry) for entry in nested] if isinstance(nested, list) else nested


def messages(reader: AttributeReader) -> tuple[Any, Any] | None:
    """``llm.input_messages.N.message.*`` / ``llm.output_messages.N.message.*`` → message lists."""
    if not reader.has_namespace(NAMESPACE):
        return None
    found = _messages(reader, INPUT_MESSAGES), _messages(reader, OUTPUT_MESSAGES)
    return None if found == (None, None) else found


def metadata(reader: AttributeReader) -> dict[str, Any] | None:
    """OpenInference's ``metadata`` attribute (a JSON object) merged into observation metadata."""
    found = json_object(reader.peek(METADATA))
    if found is None:
        return None
    reader.mark(METADATA)
    return found
