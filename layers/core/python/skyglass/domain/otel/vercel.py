"""Vercel AI SDK telemetry (tracer ``ai``): names, parameters, usage, IO and its metadata.

The SDK nests a provider call (``ai.generateText.doGenerate``, which also carries ``gen_ai.*``)
under the user-facing call (``ai.generateText``); only the inner one is a generation.
"""

from __future__ import annotations

import math
from datetime import datetime
from typing import Any

from skyglass.domain.otel.values import (
    AttributeReader,
    after,
    as_number,
    as_text,
    decode_json_value,
    json_object,
    loads_if_json,
    meaningful,
)

SCOPE = "ai"
NAMESPACE = "ai"
OPERATION_ID = "ai.operationId"
FUNCTION_ID = "ai.telemetry.functionId"
TOOL_CALL_NAME = "ai.toolCall.name"
MODEL_ID = "ai.model.id"
PROMPT_TOOLS = "ai.prompt.tools"
PROVIDER_METADATA = "ai.response.providerMetadata"
METADATA_PREFIX = "ai.telemetry.metadata"
LANGFUSE_PROMPT = "ai.telemetry.metadata.langfusePrompt"
# Telemetry metadata keys that are trace fields or the prompt link, not metadata.
RESERVED_METADATA = frozenset(
    {
        "ai.telemetry.metadata.userId",
        "ai.telemetry.metadata.sessionId",
        "ai.telemetry.metadata.tags",
        LANGFUSE_PROMPT,
    }
)

# modelParameters key → attribute sources (values stringified, as Langfuse does for this SDK).
PARAMETERS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("maxSteps", ("ai.settings.maxSteps",)),
    ("toolChoice", ("ai.prompt.toolChoice",)),
    ("maxTokens", ("gen_ai.request.max_tokens",)),
    ("finishReason", ("gen_ai.response.finish_reasons", "gen_ai.finishReason")),
    ("system", ("gen_ai.system", "ai.model.provider")),
    ("maxRetries", ("ai.settings.maxRetries",)),
    ("mode", ("ai.settings.mode",)),
    ("temperature", ("gen_ai.request.temperature",)),
)
INPUT_KEYS = ("ai.prompt.messages", "ai.prompt", "ai.toolCall.args")
OUTPUT_KEYS = (
    "ai.response.text",
    "ai.result.text",  # SDK < 4
    "ai.toolCall.result",
    "ai.response.object",
    "ai.result.object",
    "ai.response.toolCalls",
    "ai.result.toolCalls",
)
FIRST_CHUNK_KEYS = ("ai.response.msToFirstChunk", "ai.stream.msToFirstChunk")
USAGE_INPUT = ("gen_ai.usage.prompt_tokens", "gen_ai.usage.input_tokens")
USAGE_OUTPUT = ("gen_ai.usage.completion_tokens", "gen_ai.usage.output_tokens")
USAGE_TOTAL = ("ai.usage.tokens", "ai.usage.totalTokens")
USAGE_DETAILS = {
    "ai.usage.cachedInputTokens": "input_cached_tokens",
    "ai.usage.reasoningTokens": "output_reasoning_tokens",
}
# providerMetadata (JSON) → usage keys, per provider; the path is inside the provider's object.
PROVIDER_USAGE: dict[str, tuple[tuple[tuple[str, ...], str], ...]] = {
    "openai": (
        (("cachedPromptTokens",), "input_cached_tokens"),
        (("acceptedPredictionTokens",), "accepted_prediction_tokens"),
        (("rejectedPredictionTokens",), "rejected_prediction_tokens"),
        (("reasoningTokens",), "output_reasoning_tokens"),
    ),
    "anthropic": (
        (("usage", "cache_creation_input_tokens"), "input_cache_creation"),
        (("usage", "cache_read_input_tokens"), "input_cached_tokens"),
        (("usage", "cache_creation", "ephemeral_5m_input_tokens"), "input_cache_creation_5m"),
        (("usage", "cache_creation", "ephemeral_1h_input_tokens"), "input_cache_creation_1h"),
    ),
    "bedrock": (
        (("usage", "cacheReadInputTokens"), "input_cache_read"),
        (("usage", "cacheWriteInputTokens"), "input_cache_write"),
        (("usage", "cacheCreationInputTokens"), "input_cache_creation"),
    ),
}
INPUT_DETAILS = (
    "input_cached_tokens",
    "input_cache_creation",
    "input_cache_creation_5m",
    "input_cache_creation_1h",
    "input_cache_read",
)


def is_vercel(scope_name: str) -> bool:
    return scope_name == SCOPE


def name(reader: AttributeReader) -> str | None:
    """``ai.toolCall.name``, else ``<functionId>:<operationId>`` (or the operation id alone)."""
    if not reader.has_namespace(NAMESPACE):
        return None
    tool = reader.get(TOOL_CALL_NAME)
    if tool is not None:
        return as_text(tool)
    operation = reader.get(OPERATION_ID)
    if operation is None:
        return None
    function = reader.get(FUNCTION_ID)
    return f"{function}:{operation}" if function is not None else as_text(operation)


def _stringify(value: Any) -> str:
    if isinstance(value, list):
        return ",".join(str(item) for item in value)  # JS Array.toString
    return as_text(value) or ""


def model_parameters(reader: AttributeReader) -> dict[str, Any] | None:
    found = {key: _stringify(v) for key, keys in PARAMETERS if (v := reader.first(keys)) is not None}
    return found or None


def _count(value: Any) -> int | None:
    value = decode_json_value(value)
    if isinstance(value, dict):
        value = value.get("intValue")
    number = as_number(value)
    return int(number) if number is not None and number >= 0 else None


def _dig(node: Any, path: tuple[str, ...]) -> Any:
    for part in path:
        if not isinstance(node, dict):
            return None
        node = node.get(part)
    return node


def usage(reader: AttributeReader) -> dict[str, int]:
    """Counts from ``gen_ai.usage.*``/``ai.usage.*`` and the provider metadata, details subtracted."""
    out: dict[str, int] = {}
    for target, keys in (("input", USAGE_INPUT), ("output", USAGE_OUTPUT), ("total", USAGE_TOTAL)):
        count = _count(reader.first(keys))
        if count is not None:
            out[target] = count
    for key, target in USAGE_DETAILS.items():
        count = _count(reader.get(key))
        if count is not None:
            out[target] = count
    provider = json_object(reader.peek(PROVIDER_METADATA)) or {}
    for vendor, fields in PROVIDER_USAGE.items():
        if isinstance(provider.get(vendor), dict):
            for path, target in fields:
                count = _count(_dig(provider[vendor], path))
                if count is not None:
                    out.setdefault(target, count)
    if "input_cache_creation" in out and (
        "input_cache_creation_5m" in out or "input_cache_creation_1h" in out
    ):
        out["input_cache_creation"] = max(
            out["input_cache_creation"]
            - out.get("input_cache_creation_5m", 0)
            - out.get("input_cache_creation_1h", 0),
            0,
        )
    if "input" in out:
        out["input"] = max(out["input"] - sum(out.get(k, 0) for k in INPUT_DETAILS), 0)
    if "output" in out:
        out["output"] = max(out["output"] - out.get("output_reasoning_tokens", 0), 0)
    return out


def io(reader: AttributeReader) -> tuple[Any, Any]:
    """Prompt (messages, prompt object or tool args) and response (text + tool calls, object…)."""
    values = reader.values
    input_key = next((key for key in INPUT_KEYS if key in values), None)
    input_value = loads_if_json(values[input_key]) if input_key else None
    if input_key:
        reader.mark(input_key)
    if "ai.response.text" in values and "ai.response.toolCalls" in values:
        reader.mark("ai.response.text", "ai.response.toolCalls")
        output: Any = {
            "role": "assistant",
            "content": values["ai.response.text"],
            "tool_calls": loads_if_json(values["ai.response.toolCalls"]),
        }
        return input_value, output
    for key in OUTPUT_KEYS:
        if key in values and (key != "ai.response.text" or meaningful(values[key])):
            reader.mark(key)
            return input_value, loads_if_json(values[key])
    return input_value, None


def completion_start(reader: AttributeReader, start: datetime | None) -> datetime | None:
    """Streaming time to first chunk (ms) after the span start."""
    millis = as_number(reader.first(FIRST_CHUNK_KEYS))
    return None if millis is None else after(start, math.ceil(millis) / 1000)


def prompt(reader: AttributeReader) -> tuple[Any, Any] | None:
    """``ai.telemetry.metadata.langfusePrompt`` = JSON ``{name, version}``."""
    found = json_object(reader.get(LANGFUSE_PROMPT))
    return None if found is None else (found.get("name"), found.get("version"))


def tools(reader: AttributeReader) -> Any:
    """``ai.prompt.tools`` (kept in metadata as ``tools``)."""
    value = reader.get(PROMPT_TOOLS)
    if isinstance(value, list):
        return [loads_if_json(item) for item in value]
    return loads_if_json(value)
