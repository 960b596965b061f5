"""Compat §4.2 sources of the generation fields: model, parameters, completion start, prompt
link, usage and cost. The Langfuse attribute wins, then each convention in Langfuse's order."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from skyglass.domain.merge_rules import dumps_json
from skyglass.domain.otel import genai, openinference, vercel
from skyglass.domain.otel import langfuse_attrs as lf
from skyglass.domain.otel.tokens import normalize_token_counts
from skyglass.domain.otel.values import AttributeReader, as_int, as_text, json_object, parse_time
from skyglass.domain.records import ObservationType

MODEL_KEYS = (
    lf.OBSERVATION_MODEL,
    genai.RESPONSE_MODEL,
    vercel.MODEL_ID,
    genai.REQUEST_MODEL,
    "llm.response.model",
    openinference.MODEL_NAME,
    "model",
)
MODEL_CONFIG = "model_config"
PROMPT_NAME_KEYS = (lf.OBSERVATION_PROMPT_NAME, lf.COMPAT_PROMPT_NAME)
PROMPT_VERSION_KEYS = (lf.OBSERVATION_PROMPT_VERSION, lf.COMPAT_PROMPT_VERSION)


def model(reader: AttributeReader) -> str | None:
    """The provided model name (none for agent operations, whose model is not theirs to bill)."""
    if genai.skips_model(reader):
        return None
    return as_text(reader.first(MODEL_KEYS))


def _parameter(value: Any) -> Any:
    if isinstance(value, str | int | float | bool):
        return value
    if isinstance(value, list) and all(isinstance(item, str) for item in value):
        return value  # the batch API allows string arrays (e.g. stop sequences)
    return dumps_json(value)


def _sanitize(parameters: dict[str, Any]) -> dict[str, Any] | None:
    """Model parameters are flat (batch API ``MapValue``): scalars and string arrays kept,
    other structures as JSON text, nulls dropped."""
    out = {str(key): _parameter(value) for key, value in parameters.items() if value is not None}
    return out or None


def _json_attribute(reader: AttributeReader, key: str) -> dict[str, Any] | None:
    found = json_object(reader.peek(key))
    if found is not None:
        reader.mark(key)
    return found


def model_parameters(reader: AttributeReader, scope_name: str) -> dict[str, Any] | None:
    explicit = _json_attribute(reader, lf.OBSERVATION_MODEL_PARAMETERS)
    if explicit is not None:
        return _sanitize(explicit)
    if vercel.is_vercel(scope_name):
        return vercel.model_parameters(reader)
    for found in (
        openinference.invocation_parameters(reader),
        _json_attribute(reader, MODEL_CONFIG),
        genai.request_parameters(reader),
    ):
        if found:
            return _sanitize(found)
    return None


def completion_start(reader: AttributeReader, start: datetime | None) -> datetime | None:
    """The SDK's ISO time (plain or JSON-quoted), else time-to-first-chunk after the start."""
    parsed = parse_time(reader.peek(lf.OBSERVATION_COMPLETION_START_TIME))
    if parsed is not None:
        reader.mark(lf.OBSERVATION_COMPLETION_START_TIME)
        return parsed
    return vercel.completion_start(reader, start) or genai.completion_start(reader, start)


def prompt(reader: AttributeReader, observation_type: str) -> tuple[str, int] | None:
    """``(promptName, promptVersion)`` of a generation; both or neither (batch API rule)."""
    if observation_type != ObservationType.GENERATION:
        return None
    name, version = reader.first(PROMPT_NAME_KEYS), reader.first(PROMPT_VERSION_KEYS)
    if name is None:
        found = vercel.prompt(reader)
        if found is not None:
            name, version = found
    number = as_int(version)
    if not isinstance(name, str) or not name or number is None:
        return None
    return name, number


def usage(reader: AttributeReader, scope_name: str) -> dict[str, Any] | None:
    """The SDK's ``usage_details`` as sent (the worker normalises OpenAI shapes), else counts."""
    explicit = _json_attribute(reader, lf.OBSERVATION_USAGE_DETAILS)
    if explicit is not None:
        return explicit or None
    if vercel.is_vercel(scope_name):
        return vercel.usage(reader) or None
    pydantic = genai.pydantic_ai_usage(reader, scope_name)
    if pydantic is not None:
        return pydantic or None
    raw = openinference.token_counts(reader)
    raw.update(genai.token_counts(reader))
    return normalize_token_counts(raw) or None


def cost(reader: AttributeReader) -> dict[str, Any] | None:
    """The SDK's ``cost_details``, else ``gen_ai.usage.cost`` (a total), else ``llm.cost.*``."""
    explicit = _json_attribute(reader, lf.OBSERVATION_COST_DETAILS)
    if explicit is not None:
        return explicit or None
    return genai.cost(reader) or openinference.cost(reader)
