"""OpenTelemetry GenAI semantic conventions → Langfuse ingestion events.

Fixture ``tests/events/otel/genai_semconv`` (see ``record.genai_spans``): an ``invoke_agent`` root
with a chat (messages as attributes), a tool call, a chat with per-message events, a Traceloop
style completion, a chat with the inference-details event and an embedding.
"""

from __future__ import annotations

import json

import pytest

from skyglass.domain.otel import span_to_events
from skyglass.domain.otel.tokens import normalize_token_counts
from tests.events.otel.record import RECEIVED_AT, mapped, single_span

TRACE = "000000000000000000b0000000000001"


@pytest.fixture(scope="module")
def events():
    return mapped("genai_semconv")


def body(events, name):
    return events[name]["observation"]["body"]


def observation_of(span):
    return span_to_events(span, received_at=RECEIVED_AT)[-1]


def test_chat_with_messages_usage_and_parameters(events):
    # Given a chat span with system instructions, messages, cached and reasoning tokens
    chat = events["chat gpt-4o"]["observation"]
    # Then it is a generation with the response model, request parameters and disjoint usage
    assert chat["type"] == "generation-create"
    b = chat["body"]
    assert b["model"] == "gpt-4o-2024-08-06"
    assert b["modelParameters"] == {"temperature": 0.3, "max_tokens": 200, "stop_sequences": ["\n\n"]}
    assert b["usageDetails"] == {
        "input": 70,
        "output": 30,
        "input_cached_tokens": 30,
        "output_reasoning_tokens": 10,
    }
    # And the system instructions lead the input messages
    assert b["input"] == [
        {"role": "system", "parts": [{"type": "text", "content": "You are a support agent."}]},
        {"role": "user", "parts": [{"type": "text", "content": "Where is order A1?"}]},
    ]
    assert b["output"][0]["parts"][0]["name"] == "lookup_order"
    # And resource conventions give version and environment
    assert (b["version"], b["environment"]) == ("1.2.3", "production")


def test_unconsumed_attributes_are_kept_in_metadata(events):
    # Given attributes no field uses (the losing request model, provider, response id, server)
    attributes = body(events, "chat gpt-4o")["metadata"]["attributes"]
    # Then they are kept verbatim
    assert attributes == {
        "gen_ai.operation.name": "chat",
        "gen_ai.provider.name": "openai",
        "gen_ai.request.model": "gpt-4o",
        "gen_ai.response.id": "chatcmpl-1",
        "gen_ai.response.finish_reasons": ["tool_calls"],
        "server.address": "api.openai.com",
    }
    assert body(events, "chat gpt-4o")["metadata"]["resourceAttributes"]["service.name"] == "support-bot"


def test_agent_root_has_no_model_and_sets_the_session(events):
    # Given an invoke_agent root naming the model it runs on
    agent = events["invoke_agent support-bot"]
    # Then it is an AGENT without a model (its model stays in metadata) ...
    assert agent["observation"]["type"] == "agent-create"
    assert "model" not in agent["observation"]["body"]
    assert agent["observation"]["body"]["metadata"]["attributes"]["gen_ai.request.model"] == "gpt-4o"
    # ... and its trace takes the conversation id as session
    trace = agent["trace"]["body"]
    assert (trace["id"], trace["name"], trace["sessionId"]) == (TRACE, "invoke_agent support-bot", "conv-42")


def test_tool_call_name_and_io(events):
    # Given an execute_tool span
    tool = events["execute_tool lookup_order"]["observation"]
    # Then it is a TOOL named after the tool, with arguments and result as IO
    assert tool["type"] == "tool-create"
    assert tool["body"]["name"] == "lookup_order"
    assert (tool["body"]["input"], tool["body"]["output"]) == ({"order_id": "A1"}, {"status": "shipped"})


def test_message_events_give_io_and_cache_creation_is_split_out(events):
    # Given a chat whose messages are span events
    b = body(events, "chat claude-sonnet-4")
    # Then inputs take their role from the event name and the single choice is the output
    assert b["input"] == [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Status?"}]
    assert b["output"] == {
        "index": 0,
        "finish_reason": "end_turn",
        "message": {"role": "assistant", "content": "Shipped."},
    }
    assert b["usageDetails"] == {"input": 30, "output": 12, "input_cache_creation": 20}
    # And the events used as IO are not repeated in metadata, foreign attributes are kept
    assert "events" not in b["metadata"]
    assert b["metadata"]["attributes"]["app.tenant"] == "acme"


def test_flattened_prompt_and_completion(events):
    # Given a Traceloop-style span with flattened gen_ai.prompt.N / gen_ai.completion.N
    b = body(events, "openai.completion")
    # Then they become message lists and the legacy usage names map
    assert b["input"] == [{"role": "user", "content": "Say hi"}]
    assert b["output"] == [{"role": "assistant", "content": "hi"}]
    assert b["usageDetails"] == {"input": 3, "output": 1, "total": 4}
    assert b["model"] == "gpt-3.5-turbo-instruct"


def test_inference_details_event_time_to_first_chunk_and_cost(events):
    # Given a span with the inference-details event, time to first chunk and a cost
    b = body(events, "generate_content gemini-2.5-flash")
    # Then IO come from the event, completion start and cost from the attributes
    assert b["input"] == [{"role": "user", "parts": [{"type": "text", "content": "Translate: bonjour"}]}]
    assert b["output"] == [{"role": "assistant", "parts": [{"type": "text", "content": "hello"}]}]
    assert b["completionStartTime"] == "2026-01-01T10:00:01.060Z"  # start .810 + 0.25 s
    assert b["costDetails"] == {"total": 0.0004}


def test_embeddings(events):
    # Given an embeddings span
    embedding = events["embeddings text-embedding-3-small"]["observation"]
    # Then it is an EMBEDDING with its model and usage
    assert embedding["type"] == "embedding-create"
    assert (embedding["body"]["model"], embedding["body"]["usageDetails"]) == (
        "text-embedding-3-small",
        {"input": 8},
    )


def test_child_with_conversation_id_updates_the_trace_session():
    # Given a child GenAI span (not a root) carrying the conversation id
    span = single_span({"gen_ai.operation.name": "chat", "gen_ai.conversation.id": "conv-7"}, child=True)
    # When mapped
    events = span_to_events(span, received_at=RECEIVED_AT)
    # Then a partial trace event sets the session and nothing else of the trace
    trace = events[0]["body"]
    assert events[0]["type"] == "trace-create"
    assert trace["sessionId"] == "conv-7"
    assert "name" not in trace and "input" not in trace


def test_legacy_content_events():
    # Given Semantic Kernel's gen_ai.content.prompt / gen_ai.content.completion events
    span = single_span(
        {"gen_ai.operation.name": "chat"},
        events=[
            ("gen_ai.content.prompt", {"gen_ai.prompt": json.dumps([{"role": "user", "content": "hi"}])}),
            (
                "gen_ai.content.completion",
                {"gen_ai.completion": json.dumps([{"role": "assistant", "content": "yo"}])},
            ),
        ],
    )
    b = observation_of(span)["body"]
    assert b["input"] == [{"role": "user", "content": "hi"}]
    assert b["output"] == [{"role": "assistant", "content": "yo"}]


def test_prompt_name_attribute_is_not_a_message():
    # gen_ai.prompt.name (a prompt template's name) must not be read as flattened messages
    # Given gen_ai.prompt.name (a template name) next to input messages
    span = single_span(
        {"gen_ai.request.model": "m", "gen_ai.prompt.name": "tpl", "gen_ai.input.messages": "[]"}
    )
    b = observation_of(span)["body"]
    # Then it is kept in metadata, not read as flattened messages
    assert b["input"] == []
    assert b["metadata"]["attributes"]["gen_ai.prompt.name"] == "tpl"


def test_tool_span_without_operation_is_a_tool_named_after_it():
    # Given a span with gen_ai.tool.* but no operation name
    span = single_span({"gen_ai.tool.name": "search", "gen_ai.tool.call.arguments": '{"q": "x"}'}, name="run")
    event = observation_of(span)
    # Then it is a TOOL named after the tool
    assert (event["type"], event["body"]["name"], event["body"]["input"]) == (
        "tool-create",
        "search",
        {"q": "x"},
    )


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        # semconv names: cached and cache-creation tokens are part of input_tokens
        (
            {
                "input_tokens": 100,
                "output_tokens": 50,
                "cache_read.input_tokens": 20,
                "cache_creation.input_tokens": 5,
            },
            {"input": 75, "output": 50, "input_cached_tokens": 20, "input_cache_creation": 5},
        ),
        # Anthropic-style and older spellings
        ({"prompt_tokens": 10, "cache_read_input_tokens": 4}, {"input": 6, "input_cached_tokens": 4}),
        ({"completion_tokens": 9, "reasoning_tokens": 4}, {"output": 5, "output_reasoning_tokens": 4}),
        # OpenInference names
        (
            {
                "prompt": 20,
                "completion": 5,
                "total": 25,
                "prompt_details.audio": 3,
                "completion_details.audio": 1,
            },
            {"input": 17, "output": 4, "total": 25, "input_audio_tokens": 3, "output_audio_tokens": 1},
        ),
        # details larger than the side never go negative; numeric strings count
        ({"input_tokens": "3", "cache_read.input_tokens": 5}, {"input": 0, "input_cached_tokens": 5}),
        # unknown keys are kept, non-numbers dropped
        (
            {"input_tokens": 1, "tool_use_prompt_tokens": 2, "note": "n/a"},
            {"input": 1, "tool_use_prompt_tokens": 2},
        ),
        # the first spelling of a detail wins
        (
            {"input_tokens": 10, "cache_read.input_tokens": 2, "cache_read_input_tokens": 3},
            {"input": 8, "input_cached_tokens": 2},
        ),
        ({}, {}),
    ],
)
def test_token_counts_are_normalised_with_details_subtracted(raw, expected):
    # Given raw token counts in any supported spelling
    # Then usage keys are Langfuse's and disjoint
    assert normalize_token_counts(raw) == expected


def test_request_parameters_are_model_parameters_and_keep_the_request_model():
    # Given an agent span (no model) with request parameters
    span = single_span(
        {"gen_ai.operation.name": "invoke_agent", "gen_ai.request.model": "m", "gen_ai.request.top_p": 0.9}
    )
    b = observation_of(span)["body"]
    # Then the parameters are mapped but the request model stays in metadata, not lost
    assert b["modelParameters"] == {"top_p": 0.9}
    assert b["metadata"]["attributes"]["gen_ai.request.model"] == "m"
