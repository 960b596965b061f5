"""Fixture scenarios of the OpenTelemetry GenAI and OpenInference conventions (plain OTel SDK).

Hand-written after the conventions, to cover more of them than one instrumentation emits; what
real instrumentations emit is recorded in ``recorded/`` by ``tests/events/record_openai.py``.
"""

from __future__ import annotations

import json

from opentelemetry.sdk.trace import ReadableSpan

from tests.events.otel.spans import end, provider, start

# --- OpenTelemetry GenAI semantic conventions -----------------------------------------------


def genai_spans() -> list[ReadableSpan]:
    tp, exporter = provider(
        {
            "service.name": "support-bot",
            "service.version": "1.2.3",
            "deployment.environment.name": "production",
        },
        trace_base=0xB0000000000000,
    )
    tracer = tp.get_tracer("opentelemetry.instrumentation.openai_v2", "2.1b0")
    agent = start(
        tracer,
        "invoke_agent support-bot",
        0,
        1000,
        {
            "gen_ai.operation.name": "invoke_agent",
            "gen_ai.agent.name": "support-bot",
            "gen_ai.provider.name": "openai",
            "gen_ai.request.model": "gpt-4o",
            "gen_ai.conversation.id": "conv-42",
        },
    )
    chat = start(
        tracer,
        "chat gpt-4o",
        10,
        400,
        {
            "gen_ai.operation.name": "chat",
            "gen_ai.provider.name": "openai",
            "gen_ai.request.model": "gpt-4o",
            "gen_ai.response.model": "gpt-4o-2024-08-06",
            "gen_ai.request.temperature": 0.3,
            "gen_ai.request.max_tokens": 200,
            "gen_ai.request.stop_sequences": ["\n\n"],
            "gen_ai.response.id": "chatcmpl-1",
            "gen_ai.response.finish_reasons": ["tool_calls"],
            "gen_ai.usage.input_tokens": 100,
            "gen_ai.usage.output_tokens": 40,
            "gen_ai.usage.cache_read.input_tokens": 30,
            "gen_ai.usage.reasoning.output_tokens": 10,
            "gen_ai.system_instructions": json.dumps(
                [{"type": "text", "content": "You are a support agent."}]
            ),
            "gen_ai.input.messages": json.dumps(
                [{"role": "user", "parts": [{"type": "text", "content": "Where is order A1?"}]}]
            ),
            "gen_ai.output.messages": json.dumps(
                [
                    {
                        "role": "assistant",
                        "parts": [
                            {
                                "type": "tool_call",
                                "id": "call_1",
                                "name": "lookup_order",
                                "arguments": {"order_id": "A1"},
                            }
                        ],
                        "finish_reason": "tool_calls",
                    }
                ]
            ),
            "server.address": "api.openai.com",
        },
        parent=agent,
    )
    end(chat, 400)
    tool = start(
        tracer,
        "execute_tool lookup_order",
        410,
        450,
        {
            "gen_ai.operation.name": "execute_tool",
            "gen_ai.tool.name": "lookup_order",
            "gen_ai.tool.call.id": "call_1",
            "gen_ai.tool.type": "function",
            "gen_ai.tool.call.arguments": '{"order_id": "A1"}',
            "gen_ai.tool.call.result": '{"status": "shipped"}',
        },
        parent=agent,
    )
    end(tool, 450)
    events = start(
        tracer,
        "chat claude-sonnet-4",
        460,
        700,
        {
            "gen_ai.operation.name": "chat",
            "gen_ai.system": "anthropic",
            "gen_ai.request.model": "claude-sonnet-4",
            "gen_ai.usage.input_tokens": 50,
            "gen_ai.usage.cache_creation.input_tokens": 20,
            "gen_ai.usage.output_tokens": 12,
            "app.tenant": "acme",
        },
        parent=agent,
        events=[
            ("gen_ai.system.message", {"content": "Be brief."}),
            ("gen_ai.user.message", {"content": "Status?"}),
            (
                "gen_ai.choice",
                {
                    "index": 0,
                    "finish_reason": "end_turn",
                    "message": '{"role": "assistant", "content": "Shipped."}',
                },
            ),
        ],
    )
    end(events, 700)
    legacy = start(
        tracer,
        "openai.completion",
        710,
        800,
        {
            "gen_ai.system": "openai",
            "gen_ai.request.model": "gpt-3.5-turbo-instruct",
            "gen_ai.prompt.0.role": "user",
            "gen_ai.prompt.0.content": "Say hi",
            "gen_ai.completion.0.role": "assistant",
            "gen_ai.completion.0.content": "hi",
            "gen_ai.usage.prompt_tokens": 3,
            "gen_ai.usage.completion_tokens": 1,
            "gen_ai.usage.total_tokens": 4,
        },
        parent=agent,
    )
    end(legacy, 800)
    details = start(
        tracer,
        "generate_content gemini-2.5-flash",
        810,
        900,
        {
            "gen_ai.operation.name": "generate_content",
            "gen_ai.provider.name": "gcp.gemini",
            "gen_ai.request.model": "gemini-2.5-flash",
            "gen_ai.response.time_to_first_chunk": 0.25,
            "gen_ai.usage.cost": 0.0004,
        },
        parent=agent,
        events=[
            (
                "gen_ai.client.inference.operation.details",
                {
                    "gen_ai.input.messages": json.dumps(
                        [{"role": "user", "parts": [{"type": "text", "content": "Translate: bonjour"}]}]
                    ),
                    "gen_ai.output.messages": json.dumps(
                        [{"role": "assistant", "parts": [{"type": "text", "content": "hello"}]}]
                    ),
                },
            ),
        ],
    )
    end(details, 900)
    embed = start(
        tracer,
        "embeddings text-embedding-3-small",
        905,
        950,
        {
            "gen_ai.operation.name": "embeddings",
            "gen_ai.request.model": "text-embedding-3-small",
            "gen_ai.usage.input_tokens": 8,
        },
        parent=agent,
    )
    end(embed, 950)
    end(agent, 1000)
    return list(exporter.get_finished_spans())


# --- OpenInference --------------------------------------------------------------------------


def openinference_spans() -> list[ReadableSpan]:
    tp, exporter = provider(
        {"service.name": "oi-app", "openinference.project.name": "demo"}, trace_base=0xC0000000000000
    )
    tracer = tp.get_tracer("openinference.instrumentation.openai", "0.1.30")
    chain = start(
        tracer,
        "agent-run",
        0,
        500,
        {
            "openinference.span.kind": "CHAIN",
            "input.value": "What is 2+2?",
            "input.mime_type": "text/plain",
            "output.value": '{"answer": "4"}',
            "output.mime_type": "application/json",
            "session.id": "s-oi",
            "user.id": "u-oi",
            "metadata": '{"run": 7}',
            "tag.tags": ["math", "demo"],
        },
    )
    llm = start(
        tracer,
        "ChatCompletion",
        10,
        300,
        {
            "openinference.span.kind": "LLM",
            "llm.model_name": "gpt-4o-mini",
            "llm.provider": "openai",
            "llm.invocation_parameters": '{"temperature": 0, "max_tokens": 64}',
            "llm.token_count.prompt": 20,
            "llm.token_count.completion": 5,
            "llm.token_count.total": 25,
            "llm.token_count.prompt_details.cache_read": 8,
            "llm.token_count.completion_details.reasoning": 2,
            "llm.cost.prompt": 0.00002,
            "llm.cost.completion": 0.00001,
            "llm.cost.total": 0.00003,
            "llm.cost.prompt_details.cache_read": 0.000004,
            "llm.input_messages.0.message.role": "system",
            "llm.input_messages.0.message.content": "Be brief.",
            "llm.input_messages.1.message.role": "user",
            "llm.input_messages.1.message.contents.0.message_content.type": "text",
            "llm.input_messages.1.message.contents.0.message_content.text": "What is 2+2?",
            "llm.output_messages.0.message.role": "assistant",
            "llm.output_messages.0.message.tool_calls.0.tool_call.id": "call_9",
            "llm.output_messages.0.message.tool_calls.0.tool_call.function.name": "calc",
            "llm.output_messages.0.message.tool_calls.0.tool_call.function.arguments": '{"x": 2}',
        },
        parent=chain,
    )
    end(llm, 300)
    retriever = start(
        tracer,
        "retrieve",
        310,
        350,
        {
            "openinference.span.kind": "RETRIEVER",
            "input.value": "2+2",
            "retrieval.documents.0.document.id": "doc-1",
            "retrieval.documents.0.document.content": "2+2=4",
            "retrieval.documents.0.document.score": 0.9,
        },
        parent=chain,
    )
    end(retriever, 350)
    tool = start(
        tracer,
        "calc",
        360,
        380,
        {
            "openinference.span.kind": "TOOL",
            "tool.name": "calc",
            "input.value": '{"x": 2}',
            "output.value": "4",
        },
        parent=chain,
    )
    end(tool, 380)
    end(chain, 500)
    return list(exporter.get_finished_spans())
