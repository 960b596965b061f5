"""Fixture scenarios of the Vercel AI SDK (hand-written, attributes as it sets them) and the real
Langfuse SDK v5 (recorded from the installed SDK)."""

from __future__ import annotations

import datetime as dt
from contextlib import suppress

from opentelemetry.sdk.trace import ReadableSpan

from tests.events.otel.spans import end, provider, start

LANGFUSE_PUBLIC_KEY = "pk-lf-fixture"


# --- Vercel AI SDK ----------------------------------------------------------------------------


def vercel_spans() -> list[ReadableSpan]:
    tp, exporter = provider(
        {"service.name": "next-app", "deployment.environment": "preview"}, trace_base=0xD0000000000000
    )
    tracer = tp.get_tracer("ai")
    telemetry = {
        "ai.telemetry.functionId": "chat-fn",
        "ai.telemetry.metadata.userId": "u-v",
        "ai.telemetry.metadata.sessionId": "s-v",
        "ai.telemetry.metadata.tags": ["vercel", "demo"],
        "ai.telemetry.metadata.customer": "acme",
        "ai.model.id": "gpt-4o",
        "ai.model.provider": "openai.chat",
        "ai.settings.maxRetries": 2,
    }
    outer = start(
        tracer,
        "ai.generateText",
        0,
        900,
        {
            **telemetry,
            "ai.operationId": "ai.generateText",
            "operation.name": "ai.generateText chat-fn",
            "ai.prompt": '{"system":"Be nice","prompt":"Weather in Paris?"}',
            "ai.response.text": "It is 21°C in Paris.",
            "ai.usage.promptTokens": 10,
            "ai.usage.completionTokens": 3,
        },
    )
    inner = start(
        tracer,
        "ai.generateText.doGenerate",
        5,
        400,
        {
            **telemetry,
            "ai.operationId": "ai.generateText.doGenerate",
            "operation.name": "ai.generateText.doGenerate chat-fn",
            "ai.telemetry.metadata.langfusePrompt": '{"name":"greeter","version":2}',
            "ai.prompt.messages": '[{"role":"system","content":"Be nice"},{"role":"user","content":[{"type":"text","text":"Weather in Paris?"}]}]',
            "ai.prompt.tools": ['{"type":"function","name":"weather","parameters":{}}'],
            "ai.prompt.toolChoice": '{"type":"auto"}',
            "ai.response.text": "",
            "ai.response.toolCalls": '[{"toolCallType":"function","toolCallId":"call_1","toolName":"weather","args":"{\\"city\\":\\"Paris\\"}"}]',
            "ai.response.finishReason": "tool-calls",
            "ai.response.msToFirstChunk": 120.4,
            "ai.response.providerMetadata": '{"openai":{"reasoningTokens":1,"acceptedPredictionTokens":0}}',
            "ai.usage.cachedInputTokens": 4,
            "gen_ai.system": "openai.chat",
            "gen_ai.request.model": "gpt-4o",
            "gen_ai.response.model": "gpt-4o-2024-08-06",
            "gen_ai.request.temperature": 0.5,
            "gen_ai.request.max_tokens": 100,
            "gen_ai.response.finish_reasons": ["tool-calls"],
            "gen_ai.usage.input_tokens": 10,
            "gen_ai.usage.output_tokens": 3,
        },
        parent=outer,
    )
    end(inner, 400)
    tool = start(
        tracer,
        "ai.toolCall",
        410,
        450,
        {
            "ai.operationId": "ai.toolCall",
            "operation.name": "ai.toolCall chat-fn",
            "ai.toolCall.name": "weather",
            "ai.toolCall.id": "call_1",
            "ai.toolCall.args": '{"city":"Paris"}',
            "ai.toolCall.result": '{"temp":21}',
        },
        parent=outer,
    )
    end(tool, 450)
    end(outer, 900)
    return list(exporter.get_finished_spans())


# --- Langfuse Python SDK v5 -------------------------------------------------------------------


def langfuse_sdk_spans(
    public_key: str = LANGFUSE_PUBLIC_KEY, trace_base: int = 0xA0000000000000
) -> list[ReadableSpan]:
    """Drive the real SDK: nested ``@observe``, ``propagate_attributes``, every observation type,
    a generation with model/usage/cost/parameters/prompt, an event, an error, a remote parent."""
    from langfuse import Langfuse, observe, propagate_attributes
    from langfuse._client.resource_manager import LangfuseResourceManager
    from langfuse.api import Prompt_Text
    from langfuse.model import TextPromptClient

    tp, exporter = provider(
        {
            "service.name": "unknown_service:python",
            "telemetry.sdk.language": "python",
            "langfuse.release": "r-42",
        },
        trace_base=trace_base,
        export=False,
    )
    client = Langfuse(
        public_key=public_key,
        secret_key="sk-lf-fixture",
        base_url="http://127.0.0.1:9",  # never contacted: the exporter is in memory
        tracer_provider=tp,
        span_exporter=exporter,
        environment="staging",
        flush_at=1000,
    )
    prompt = TextPromptClient(
        Prompt_Text(
            name="chat-prompt", version=3, prompt="Answer {{q}}", config={}, labels=["production"], tags=[]
        )
    )

    @observe(as_type="generation", name="llm-call")
    def llm(question: str) -> str:
        client.update_current_generation(
            model="gpt-4o-mini",
            model_parameters={"temperature": 0.2, "max_tokens": 256},
            usage_details={"input": 12, "output": 5, "cache_read_input_tokens": 2},
            cost_details={"input": 0.00001, "output": 0.00002, "total": 0.00003},
            completion_start_time=dt.datetime(2026, 1, 1, 10, 0, 0, 350000, tzinfo=dt.UTC),
            prompt=prompt,
            metadata={"step": "answer", "attempt": 1},
        )
        return f"answer to {question}"

    @observe(name="handle-request")
    def handle(question: str) -> dict[str, str]:
        with propagate_attributes(
            user_id="user-1",
            session_id="sess-1",
            tags=["t1", "t2"],
            metadata={"tenant": "acme"},
            trace_name="chat-trace",
            version="v7",
        ):
            with client.start_as_current_observation(
                name="search", as_type="retriever", input={"q": question}
            ) as r:
                r.update(output=[{"id": "doc-1"}])
            client.create_event(name="cache-miss", metadata={"key": "q1"})
            return {"answer": llm(question)}

    handle("hi", langfuse_public_key=public_key)  # type: ignore[call-arg]

    with client.start_as_current_observation(
        name="pipeline", as_type="agent", input="go", metadata={"plan": ["a", "b"]}
    ) as agent:
        client.set_current_trace_as_public()
        for kind in ("chain", "tool", "evaluator", "guardrail"):
            with client.start_as_current_observation(
                name=f"a-{kind}", as_type=kind, input={"kind": kind}
            ) as child:
                child.update(output={"ok": True})
        with client.start_as_current_observation(
            name="embed", as_type="embedding", model="text-embedding-3-small", usage_details={"input": 8}
        ):
            pass
        with client.start_as_current_observation(
            name="warn", level="WARNING", status_message="slow upstream", version="2.0"
        ):
            pass
        with suppress(ValueError), client.start_as_current_observation(name="boom"):
            raise ValueError("bad input")
        agent.update(output="done")

    with client.start_as_current_observation(
        trace_context={"trace_id": "f" * 32, "parent_span_id": "e" * 16}, name="remote-child"
    ):
        pass

    client.flush()
    spans = list(exporter.get_finished_spans())
    client.shutdown()
    LangfuseResourceManager._instances.pop(public_key, None)
    return spans
