"""Vercel AI SDK telemetry (tracer ``ai``) → Langfuse ingestion events.

Fixture ``tests/events/otel/vercel_ai`` (see ``record.vercel_spans``): ``ai.generateText`` with its
provider call ``ai.generateText.doGenerate`` and an ``ai.toolCall``, with telemetry metadata.
"""

from __future__ import annotations

import pytest

from skyglass.domain.otel import span_to_events
from tests.events.otel.record import RECEIVED_AT, mapped, single_span


@pytest.fixture(scope="module")
def events():
    return mapped("vercel_ai")


def observation_of(span):
    return span_to_events(span, received_at=RECEIVED_AT)[-1]


def test_provider_call_is_a_generation(events):
    # Given the inner doGenerate span
    generation = events["ai.generateText.doGenerate"]["observation"]
    b = generation["body"]
    # Then it is a generation named after function and operation, with the response model
    assert generation["type"] == "generation-create"
    assert b["name"] == "chat-fn:ai.generateText.doGenerate"
    assert b["model"] == "gpt-4o-2024-08-06"
    # Vercel parameters, stringified as Langfuse does for this SDK
    assert b["modelParameters"] == {
        "toolChoice": '{"type":"auto"}',
        "maxTokens": "100",
        "finishReason": "tool-calls",
        "system": "openai.chat",
        "maxRetries": "2",
        "temperature": "0.5",
    }
    # Cached and reasoning tokens split out of input and output
    assert b["usageDetails"] == {
        "input": 6,
        "output": 2,
        "input_cached_tokens": 4,
        "output_reasoning_tokens": 1,
        "accepted_prediction_tokens": 0,
    }
    assert b["completionStartTime"] == "2026-01-01T10:00:00.126Z"  # start .005 + ceil(120.4 ms)
    assert (b["promptName"], b["promptVersion"]) == ("greeter", 2)


def test_provider_call_io_and_metadata(events):
    # Given the doGenerate span's prompt, response and telemetry metadata
    b = events["ai.generateText.doGenerate"]["observation"]["body"]
    # Then they map to IO and metadata
    assert b["input"] == [
        {"role": "system", "content": "Be nice"},
        {"role": "user", "content": [{"type": "text", "text": "Weather in Paris?"}]},
    ]
    # Text and tool calls together make one assistant message
    assert b["output"]["role"] == "assistant"
    assert b["output"]["tool_calls"][0]["toolName"] == "weather"
    # Telemetry metadata (minus trace fields and the prompt link) and tools go to metadata
    assert b["metadata"]["customer"] == "acme"
    assert b["metadata"]["tools"] == [{"type": "function", "name": "weather", "parameters": {}}]
    assert "userId" not in b["metadata"] and "langfusePrompt" not in b["metadata"]


def test_every_span_with_telemetry_ids_updates_the_trace(events):
    # Given the inner span (not a root) with userId/sessionId/tags in telemetry metadata
    trace = events["ai.generateText.doGenerate"]["trace"]["body"]
    # Then it sets those trace fields
    assert (trace["userId"], trace["sessionId"], trace["tags"]) == ("u-v", "s-v", ["vercel", "demo"])
    assert trace["environment"] == "preview"  # resource deployment.environment


def test_outer_call_is_the_trace_root(events):
    # Given the outer ai.generateText span
    outer = events["ai.generateText"]
    # Then it is the root SPAN and its trace has its name and IO
    assert outer["observation"]["type"] == "span-create"
    trace = outer["trace"]["body"]
    assert trace["name"] == "chat-fn:ai.generateText"
    assert trace["input"] == {"system": "Be nice", "prompt": "Weather in Paris?"}
    assert trace["output"] == "It is 21°C in Paris."
    # Its own usage attributes are not a generation's: kept in metadata, not counted
    assert "usageDetails" not in outer["observation"]["body"]
    assert outer["observation"]["body"]["metadata"]["attributes"]["ai.usage.promptTokens"] == 10


def test_tool_call(events):
    # Given an ai.toolCall span
    tool = events["ai.toolCall"]["observation"]
    # Then it is a TOOL named after the tool with args and result
    assert tool["type"] == "tool-create"
    assert (tool["body"]["name"], tool["body"]["input"], tool["body"]["output"]) == (
        "weather",
        {"city": "Paris"},
        {"temp": 21},
    )


def test_provider_metadata_cache_details():
    # Given Anthropic cache usage reported through providerMetadata
    span = single_span(
        {
            "ai.operationId": "ai.streamText.doStream",
            "ai.model.id": "claude",
            "gen_ai.usage.input_tokens": 100,
            "gen_ai.usage.output_tokens": 10,
            "ai.response.providerMetadata": (
                '{"anthropic":{"usage":{"cache_creation_input_tokens":30,"cache_read_input_tokens":50,'
                '"cache_creation":{"ephemeral_5m_input_tokens":20,"ephemeral_1h_input_tokens":10}}}}'
            ),
        },
        scope="ai",
    )
    # Then cache creation is split by TTL and everything cached leaves the input count
    assert observation_of(span)["body"]["usageDetails"] == {
        "input": 20,
        "output": 10,
        "input_cache_creation": 0,
        "input_cached_tokens": 50,
        "input_cache_creation_5m": 20,
        "input_cache_creation_1h": 10,
    }


def test_vercel_attributes_outside_the_ai_scope_do_not_use_its_parameters():
    # Given Vercel-looking attributes from another scope
    span = single_span({"ai.operationId": "ai.toolCall", "gen_ai.request.temperature": 0.1}, scope="other")
    # Then generic GenAI parameters apply
    assert observation_of(span)["body"]["modelParameters"] == {"temperature": 0.1}
