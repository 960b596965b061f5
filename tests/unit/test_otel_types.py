"""Observation type of a span: the priority rules of compat §4.3, tried top to bottom."""

from __future__ import annotations

import pytest

from skyglass.domain.otel.types import observation_type

PY = {"telemetry.sdk.language": "python"}

# (attributes, resource, scope name, scope version, span name) → type. Each row pits a rule
# against a lower-priority one, so reordering the rules breaks a row.
CASES = [
    # default
    ({}, {}, "", "", "anything", "SPAN"),
    # 0: Python SDK <= 3.3 tagged generations as "span"
    (
        {"langfuse.observation.type": "span", "langfuse.observation.model.name": "m"},
        PY,
        "langfuse-sdk",
        "3.3.1",
        "",
        "GENERATION",
    ),
    (
        {"langfuse.observation.type": "span", "langfuse.observation.usage_details": "{}"},
        PY,
        "langfuse-sdk",
        "2.0.0",
        "",
        "GENERATION",
    ),
    (
        {"langfuse.observation.type": "span", "langfuse.observation.model.name": "m"},
        PY,
        "langfuse-sdk",
        "3.4.0",
        "",
        "SPAN",
    ),
    (
        {"langfuse.observation.type": "span", "langfuse.observation.model.name": "m"},
        PY,
        "langfuse-sdk",
        "5.0.4",
        "",
        "SPAN",
    ),
    (
        {"langfuse.observation.type": "span", "langfuse.observation.model.name": "m"},
        {},
        "langfuse-sdk",
        "3.0.0",
        "",
        "SPAN",
    ),
    ({"langfuse.observation.type": "span"}, PY, "langfuse-sdk", "3.0.0", "", "SPAN"),
    # 1: langfuse.observation.type beats everything below
    *[
        ({"langfuse.observation.type": name, "openinference.span.kind": "LLM"}, {}, "", "", "", name.upper())
        for name in (
            "span",
            "generation",
            "event",
            "agent",
            "tool",
            "chain",
            "retriever",
            "evaluator",
            "embedding",
            "guardrail",
        )
    ],
    ({"langfuse.observation.type": "unknown", "openinference.span.kind": "TOOL"}, {}, "", "", "", "TOOL"),
    # 2: OpenInference span kind beats GenAI operation
    (
        {"openinference.span.kind": "LLM", "gen_ai.operation.name": "execute_tool"},
        {},
        "",
        "",
        "",
        "GENERATION",
    ),
    ({"openinference.span.kind": "CHAIN"}, {}, "", "", "", "CHAIN"),
    ({"openinference.span.kind": "RETRIEVER"}, {}, "", "", "", "RETRIEVER"),
    ({"openinference.span.kind": "EMBEDDING"}, {}, "", "", "", "EMBEDDING"),
    ({"openinference.span.kind": "AGENT"}, {}, "", "", "", "AGENT"),
    ({"openinference.span.kind": "GUARDRAIL"}, {}, "", "", "", "GUARDRAIL"),
    ({"openinference.span.kind": "EVALUATOR"}, {}, "", "", "", "EVALUATOR"),
    ({"openinference.span.kind": "RERANKER", "llm.model_name": "m"}, {}, "", "", "", "GENERATION"),
    # 3: GenAI operation beats Genkit and models
    ({"gen_ai.operation.name": "chat"}, {}, "", "", "", "GENERATION"),
    ({"gen_ai.operation.name": "text_completion"}, {}, "", "", "", "GENERATION"),
    ({"gen_ai.operation.name": "completion"}, {}, "", "", "", "GENERATION"),
    ({"gen_ai.operation.name": "generate_content"}, {}, "", "", "", "GENERATION"),
    ({"gen_ai.operation.name": "embeddings", "gen_ai.request.model": "m"}, {}, "", "", "", "EMBEDDING"),
    ({"gen_ai.operation.name": "invoke_agent", "gen_ai.request.model": "m"}, {}, "", "", "", "AGENT"),
    ({"gen_ai.operation.name": "create_agent"}, {}, "", "", "", "AGENT"),
    ({"gen_ai.operation.name": "execute_tool", "genkit:metadata:subtype": "model"}, {}, "", "", "", "TOOL"),
    # 4: Genkit subtype beats Vercel
    ({"genkit:metadata:subtype": "embedder", "ai.operationId": "ai.toolCall"}, {}, "", "", "", "EMBEDDING"),
    ({"genkit:metadata:subtype": "model"}, {}, "", "", "", "GENERATION"),
    ({"genkit:metadata:subtype": "retriever"}, {}, "", "", "", "RETRIEVER"),
    # 5-6: Vercel operations (generation-like ones need a model)
    (
        {"ai.operationId": "ai.generateText.doGenerate", "ai.model.id": "gpt-4o"},
        {},
        "ai",
        "",
        "",
        "GENERATION",
    ),
    (
        {"operation.name": "ai.streamText.doStream my-fn", "ai.model.id": "gpt-4o"},
        {},
        "ai",
        "",
        "",
        "GENERATION",
    ),
    ({"ai.operationId": "ai.embedMany.doEmbed", "ai.model.id": "e"}, {}, "ai", "", "", "EMBEDDING"),
    ({"ai.operationId": "ai.generateText.doGenerate"}, {}, "ai", "", "", "SPAN"),
    ({"ai.operationId": "ai.generateText", "ai.model.id": "gpt-4o"}, {}, "ai", "", "", "SPAN"),
    ({"ai.operationId": "ai.toolCall", "gen_ai.request.model": "m"}, {}, "ai", "", "", "TOOL"),
    # 7: GenAI tool attributes beat LiveKit names and models
    ({"gen_ai.tool.name": "search", "gen_ai.request.model": "m"}, {}, "", "", "", "TOOL"),
    ({"gen_ai.tool.call.id": "call_1"}, {}, "livekit-agents", "", "agent_turn", "TOOL"),
    # 9: LiveKit span names (only for its scope)
    ({}, {}, "livekit-agents", "", "agent_turn", "AGENT"),
    ({}, {}, "livekit-agents", "", "start_agent_activity", "AGENT"),
    ({"model": "m"}, {}, "livekit-agents", "", "function_tool", "TOOL"),
    ({}, {}, "other", "", "function_tool", "SPAN"),
    # 10: any model attribute
    ({"gen_ai.request.model": "m"}, {}, "", "", "", "GENERATION"),
    ({"gen_ai.response.model": "m"}, {}, "", "", "", "GENERATION"),
    ({"llm.model_name": "m"}, {}, "", "", "", "GENERATION"),
    ({"model": "m"}, {}, "", "", "", "GENERATION"),
    ({"langfuse.observation.model.name": "m"}, {}, "", "", "", "GENERATION"),
    ({"model": ""}, {}, "", "", "", "SPAN"),
]


@pytest.mark.parametrize(("attributes", "resource", "scope", "version", "span_name", "expected"), CASES)
def test_priority_table(attributes, resource, scope, version, span_name, expected):
    # Given a span's attributes, resource, scope and name
    # When its observation type is decided
    found = observation_type(attributes, resource, scope, version, span_name)
    # Then the highest-priority rule that answers wins
    assert found == expected
