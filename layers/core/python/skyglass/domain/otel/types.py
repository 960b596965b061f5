"""Observation type of a span: compat §4.3, rules tried in priority order, default ``SPAN``.

Each rule either answers or passes (an unknown value of its attribute passes too, as Langfuse's
``ObservationTypeMapperRegistry`` does), so the tables below read top to bottom.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from skyglass.domain.otel.values import meaningful
from skyglass.domain.records import ObservationType as T

LANGFUSE_TYPE = "langfuse.observation.type"

# Rule 1: the SDK's own lowercase names.
LANGFUSE_TYPES: dict[str, str] = {t.value.lower(): t.value for t in T}

# Rules 2-4: one attribute, a value table.
OPENINFERENCE_KINDS: dict[str, str] = {
    "CHAIN": T.CHAIN,
    "RETRIEVER": T.RETRIEVER,
    "LLM": T.GENERATION,
    "EMBEDDING": T.EMBEDDING,
    "AGENT": T.AGENT,
    "TOOL": T.TOOL,
    "GUARDRAIL": T.GUARDRAIL,
    "EVALUATOR": T.EVALUATOR,
}
GENAI_OPERATIONS: dict[str, str] = {
    "chat": T.GENERATION,
    "completion": T.GENERATION,  # historical name, kept by Langfuse for old instrumentations
    "text_completion": T.GENERATION,
    "generate_content": T.GENERATION,
    "generate": T.GENERATION,
    "embeddings": T.EMBEDDING,
    "invoke_agent": T.AGENT,
    "create_agent": T.AGENT,
    "execute_tool": T.TOOL,
}
GENKIT_SUBTYPES: dict[str, str] = {
    "model": T.GENERATION,
    "embedder": T.EMBEDDING,
    "tool": T.TOOL,
    "retriever": T.RETRIEVER,
    "evaluator": T.EVALUATOR,
}
_TABLE_RULES: tuple[tuple[str, dict[str, str]], ...] = (
    (LANGFUSE_TYPE, LANGFUSE_TYPES),
    ("openinference.span.kind", OPENINFERENCE_KINDS),
    ("gen_ai.operation.name", GENAI_OPERATIONS),
    ("genkit:metadata:subtype", GENKIT_SUBTYPES),
)

# Rules 5-6: Vercel AI SDK operations (``ai.operationId`` exact, ``operation.name`` prefix since the
# SDK appends the function id). Generation-like ones need a model attribute.
VERCEL_MODEL_OPERATIONS: tuple[tuple[tuple[str, ...], str], ...] = (
    (
        (
            "ai.generateText.doGenerate",
            "ai.streamText.doStream",
            "ai.generateObject.doGenerate",
            "ai.streamObject.doStream",
        ),
        T.GENERATION,
    ),
    (("ai.embedMany.doEmbed", "ai.embed.doEmbed"), T.EMBEDDING),
)
VERCEL_MODEL_KEYS = (
    "langfuse.observation.model.name",
    "ai.model.id",
    "gen_ai.request.model",
    "gen_ai.response.model",
)
VERCEL_TOOL_OPERATIONS = ("ai.toolCall",)

# Rule 7 and rule 10.
GENAI_TOOL_KEYS = ("gen_ai.tool.name", "gen_ai.tool.call.id")
MODEL_KEYS = (
    "langfuse.observation.model.name",
    "gen_ai.request.model",
    "gen_ai.response.model",
    "llm.model_name",
    "model",
)

# Rule 9: LiveKit agents name their spans instead of tagging them.
LIVEKIT_SCOPE = "livekit-agents"
LIVEKIT_SPAN_NAMES: dict[str, str] = {
    "agent_turn": T.AGENT,
    "start_agent_activity": T.AGENT,
    "function_tool": T.TOOL,
}

# Rule 0: Python SDK <= 3.3 tagged generations as "span" (langfuse/langfuse#8682).
LEGACY_SDK_SCOPE = "langfuse-sdk"
LEGACY_GENERATION_KEYS = (
    "langfuse.observation.model.name",
    "langfuse.observation.cost_details",
    "langfuse.observation.usage_details",
    "langfuse.observation.completion_start_time",
    "langfuse.observation.model.parameters",
    "langfuse.observation.prompt.name",
    "langfuse.observation.prompt.version",
)

Rule = Callable[[dict[str, Any], dict[str, Any], str, str, str], str | None]


def _legacy_python_sdk(
    attrs: dict[str, Any], resource: dict[str, Any], scope: str, version: str, _: str
) -> str | None:
    if attrs.get(LANGFUSE_TYPE) != "span" or scope != LEGACY_SDK_SCOPE:
        return None
    if resource.get("telemetry.sdk.language") != "python":
        return None
    parts = version.split(".")
    try:
        major, minor = int(parts[0]), int(parts[1]) if len(parts) > 1 else 0
    except ValueError:
        major, minor = 0, 0  # unparseable: Langfuse's Number() gives NaN, which never compares greater
    if version and (major > 3 or (major == 3 and minor > 3)):
        return None
    return T.GENERATION if any(key in attrs for key in LEGACY_GENERATION_KEYS) else None


def _tables(attrs: dict[str, Any], *_: str | dict[str, Any]) -> str | None:
    for key, table in _TABLE_RULES:
        value = attrs.get(key)
        if isinstance(value, str) and value in table:
            return table[value]
    return None


def _vercel_matches(attrs: dict[str, Any], operations: tuple[str, ...]) -> bool:
    name, operation_id = attrs.get("operation.name"), attrs.get("ai.operationId")
    if isinstance(name, str) and name.startswith(operations):
        return True
    return isinstance(operation_id, str) and operation_id in operations


def _vercel(attrs: dict[str, Any], *_: str | dict[str, Any]) -> str | None:
    if any(meaningful(attrs.get(key)) for key in VERCEL_MODEL_KEYS):
        for operations, observation_type in VERCEL_MODEL_OPERATIONS:
            if _vercel_matches(attrs, operations):
                return observation_type
    return T.TOOL if _vercel_matches(attrs, VERCEL_TOOL_OPERATIONS) else None


def _genai_tool(attrs: dict[str, Any], *_: str | dict[str, Any]) -> str | None:
    return T.TOOL if any(meaningful(attrs.get(key)) for key in GENAI_TOOL_KEYS) else None


def _livekit(
    attrs: dict[str, Any], resource: dict[str, Any], scope: str, version: str, span_name: str
) -> str | None:
    return LIVEKIT_SPAN_NAMES.get(span_name) if scope == LIVEKIT_SCOPE else None


def _model(attrs: dict[str, Any], *_: str | dict[str, Any]) -> str | None:
    return T.GENERATION if any(meaningful(attrs.get(key)) for key in MODEL_KEYS) else None


# Priority order; the table rules are 1-4 (Langfuse, OpenInference, GenAI, Genkit).
RULES: tuple[Rule, ...] = (_legacy_python_sdk, _tables, _vercel, _genai_tool, _livekit, _model)


def observation_type(
    attributes: dict[str, Any],
    resource_attributes: dict[str, Any] | None = None,
    scope_name: str = "",
    scope_version: str = "",
    span_name: str = "",
) -> str:
    """The Langfuse observation type (``ObservationType`` value) of a span's attributes."""
    resource = resource_attributes or {}
    for rule in RULES:
        found = rule(attributes, resource, scope_name, scope_version, span_name)
        if found is not None:
            return str(found)
    return T.SPAN.value
