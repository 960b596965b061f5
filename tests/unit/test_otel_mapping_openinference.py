"""OpenInference conventions → Langfuse ingestion events.

Fixture ``tests/events/otel/openinference`` (see ``record.openinference_spans``): a CHAIN root with
text input and JSON output, an LLM span with flattened messages, token counts and costs, a
RETRIEVER and a TOOL.
"""

from __future__ import annotations

import pytest

from skyglass.domain.otel import span_to_events
from tests.events.otel.record import RECEIVED_AT, mapped, single_span


@pytest.fixture(scope="module")
def events():
    return mapped("openinference")


def observation_of(span):
    return span_to_events(span, received_at=RECEIVED_AT)[-1]


def test_llm_span_is_a_generation_with_parameters_usage_and_cost(events):
    # Given an LLM span with invocation parameters, token counts and costs
    llm = events["ChatCompletion"]["observation"]
    b = llm["body"]
    # Then it is a generation with parameters, disjoint usage and the provided costs
    assert llm["type"] == "generation-create"
    assert b["model"] == "gpt-4o-mini"
    assert b["modelParameters"] == {"temperature": 0, "max_tokens": 64}
    assert b["usageDetails"] == {
        "input": 12,
        "output": 3,
        "total": 25,
        "input_cached_tokens": 8,
        "output_reasoning_tokens": 2,
    }
    # Costs use the usage keys; the cached part is split out of the prompt cost
    assert b["costDetails"] == {
        "input": pytest.approx(0.000016),
        "output": 0.00001,
        "total": 0.00003,
        "input_cached_tokens": 0.000004,
    }


def test_flattened_messages_become_chat_messages(events):
    # Given the LLM span's flattened input/output messages
    b = events["ChatCompletion"]["observation"]["body"]
    # Then they read as chat messages with contents and tool calls
    assert b["input"] == [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": [{"type": "text", "text": "What is 2+2?"}]},
    ]
    assert b["output"] == [
        {
            "role": "assistant",
            "tool_calls": [
                {"type": "function", "id": "call_9", "function": {"name": "calc", "arguments": '{"x": 2}'}}
            ],
        }
    ]
    # Only the attributes no field used remain
    assert b["metadata"]["attributes"] == {"openinference.span.kind": "LLM", "llm.provider": "openai"}


def test_chain_root_reads_values_by_mime_type_and_sets_the_trace(events):
    # Given a CHAIN root: text input, JSON output, session/user ids, tags and metadata
    chain = events["agent-run"]
    b = chain["observation"]["body"]
    # Then text stays text, JSON is decoded, metadata is merged
    assert chain["observation"]["type"] == "chain-create"
    assert (b["input"], b["output"]) == ("What is 2+2?", {"answer": "4"})
    assert b["metadata"]["run"] == 7
    # And the trace gets the user, session and tags
    trace = chain["trace"]["body"]
    assert (trace["userId"], trace["sessionId"], trace["tags"]) == ("u-oi", "s-oi", ["math", "demo"])
    assert (trace["input"], trace["output"]) == ("What is 2+2?", {"answer": "4"})
    assert trace["environment"] == "default"


def test_retriever_keeps_documents_in_metadata(events):
    # Given a RETRIEVER span with documents
    retriever = events["retrieve"]["observation"]
    # Then its input is mapped and the documents are kept in metadata
    assert retriever["type"] == "retriever-create"
    assert retriever["body"]["input"] == "2+2"
    assert retriever["body"]["metadata"]["attributes"]["retrieval.documents.0.document.content"] == "2+2=4"


def test_tool_value_without_mime_type_is_decoded_when_json(events):
    # Given a TOOL span whose values have no mime type
    tool = events["calc"]["observation"]
    # Then JSON text is decoded, other text kept
    assert tool["type"] == "tool-create"
    assert (tool["body"]["input"], tool["body"]["output"]) == ({"x": 2}, "4")


def test_text_mime_type_keeps_json_looking_text():
    # Given an input marked text/plain that looks like JSON
    span = single_span(
        {"openinference.span.kind": "LLM", "input.value": '{"a": 1}', "input.mime_type": "text/plain"}
    )
    # Then it stays text
    assert observation_of(span)["body"]["input"] == '{"a": 1}'


def test_input_value_wins_over_messages_as_in_langfuse():
    # Given both the raw request and the flattened messages (typical for OpenAI instrumentation)
    span = single_span(
        {
            "openinference.span.kind": "LLM",
            "input.value": '{"messages": []}',
            "input.mime_type": "application/json",
            "llm.input_messages.0.message.role": "user",
            "llm.input_messages.0.message.content": "hi",
        }
    )
    b = observation_of(span)["body"]
    # Then input.value is the input (Langfuse's order) and the messages are kept, not dropped
    assert b["input"] == {"messages": []}
    assert b["metadata"]["attributes"]["llm.input_messages.0.message.content"] == "hi"


def test_flattened_invocation_parameters_and_total_cost_only():
    # Given flattened invocation parameters and only a total cost
    span = single_span(
        {
            "llm.model_name": "m",
            "llm.invocation_parameters.temperature": 0.1,
            "llm.cost.total": 0.5,
        }
    )
    b = observation_of(span)["body"]
    # Then both map
    assert b["modelParameters"] == {"temperature": 0.1}
    assert b["costDetails"] == {"total": 0.5}


def test_prompt_cost_remainder_is_used_without_a_prompt_total():
    # Given the uncached prompt cost and a cache-read cost, no prompt total
    span = single_span(
        {
            "llm.model_name": "m",
            "llm.cost.prompt_details.input": 0.3,
            "llm.cost.prompt_details.cache_read": 0.1,
        }
    )
    # Then the remainder is the input cost
    assert observation_of(span)["body"]["costDetails"] == {"input": 0.3, "input_cached_tokens": 0.1}
