"""Record what real OpenAI instrumentations emit, as OTLP/JSON fixtures in ``otel/recorded/``.

The real ``openai`` client calls a local fake OpenAI endpoint (an in-process HTTP server that
answers ``POST /v1/chat/completions`` with a canned completion, or its server-sent-event stream,
usage included) while an instrumentation is active; an in-memory exporter keeps the spans it
made, and they are written as the OTLP/JSON request an exporter would post. Scenarios:

* ``openai_v2`` — ``opentelemetry-instrumentation-openai-v2`` with message content on spans
  (``OTEL_SEMCONV_STABILITY_OPT_IN=gen_ai_latest_experimental``,
  ``OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT=SPAN_ONLY``);
* ``openai_v2_no_content`` — the same instrumentation with its defaults (no message content);
* ``openinference_openai`` — ``openinference-instrumentation-openai``.

Each makes one chat completion (``gpt-4o-mini``, asking for the capital of France) and one
streamed completion (``gpt-4o``, Italy). Ids are sequential per scenario; times are the wall
clock. Regenerate with ``python -m tests.events.record_openai`` after upgrading an
instrumentation (the tests compare a live run with the recording, so drift shows up there).
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from tests.events.otel.record import to_otlp_json
from tests.events.otel.spans import SequentialIds, encode

RECORDED = Path(__file__).parent / "otel" / "recorded"
CREATED = 1_767_261_600  # 2026-01-01T10:00:00Z, in the canned answers
SYSTEM = {"role": "system", "content": "Answer with one word."}
QUESTIONS = {
    # model asked → (question, answer, model that answers, usage)
    "gpt-4o-mini": (
        "What is the capital of France?",
        "Paris.",
        "gpt-4o-mini-2024-07-18",
        {"prompt_tokens": 1250, "completion_tokens": 3, "cached_tokens": 1024},
    ),
    "gpt-4o": (
        "What is the capital of Italy?",
        "Rome.",
        "gpt-4o-2024-08-06",
        {"prompt_tokens": 24, "completion_tokens": 2, "cached_tokens": 0},
    ),
}


def _usage(counts: dict[str, int]) -> dict[str, Any]:
    return {
        "prompt_tokens": counts["prompt_tokens"],
        "completion_tokens": counts["completion_tokens"],
        "total_tokens": counts["prompt_tokens"] + counts["completion_tokens"],
        "prompt_tokens_details": {"cached_tokens": counts["cached_tokens"], "audio_tokens": 0},
        "completion_tokens_details": {"reasoning_tokens": 0, "audio_tokens": 0},
    }


def _completion(model: str) -> dict[str, Any]:
    _, answer, served_by, counts = QUESTIONS[model]
    return {
        "id": f"chatcmpl-{model}",
        "object": "chat.completion",
        "created": CREATED,
        "model": served_by,
        "system_fingerprint": "fp_fixture",
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": answer, "refusal": None},
                "logprobs": None,
                "finish_reason": "stop",
            }
        ],
        "usage": _usage(counts),
    }


def _chunks(model: str) -> Iterator[dict[str, Any]]:
    """The completion as a stream: role, two content deltas, the finish, then the usage chunk."""
    _, answer, served_by, counts = QUESTIONS[model]
    base = {
        "id": f"chatcmpl-{model}",
        "object": "chat.completion.chunk",
        "created": CREATED,
        "model": served_by,
    }
    half = len(answer) // 2
    deltas: list[dict[str, Any]] = [
        {"role": "assistant", "content": ""},
        {"content": answer[:half]},
        {"content": answer[half:]},
    ]
    for delta in deltas:
        yield {**base, "choices": [{"index": 0, "delta": delta, "finish_reason": None}]}
    yield {**base, "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]}
    yield {**base, "choices": [], "usage": _usage(counts)}


class _FakeOpenAI(BaseHTTPRequestHandler):
    """``POST /v1/chat/completions``: the canned completion for the requested model."""

    def do_POST(self) -> None:
        request = json.loads(self.rfile.read(int(self.headers["content-length"])))
        if self.path != "/v1/chat/completions" or request.get("model") not in QUESTIONS:
            self.send_error(404)
            return
        if request.get("stream"):
            self.send_response(200)
            self.send_header("content-type", "text/event-stream")
            self.end_headers()
            for chunk in _chunks(request["model"]):
                self.wfile.write(b"data: " + json.dumps(chunk).encode() + b"\n\n")
            self.wfile.write(b"data: [DONE]\n\n")
            return
        body = json.dumps(_completion(request["model"])).encode()
        self.send_response(200)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:  # quiet
        return


@contextmanager
def fake_openai() -> Iterator[str]:
    """A local fake OpenAI API for the test's duration; yields its base URL (``…/v1``)."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _FakeOpenAI)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}/v1"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


@contextmanager
def _environment(values: dict[str, str]) -> Iterator[None]:
    saved = {name: os.environ.get(name) for name in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def _chat(base_url: str) -> None:
    """One plain and one streamed chat completion with the real client."""
    import openai

    client = openai.OpenAI(api_key="sk-fixture", base_url=base_url, max_retries=0)
    question, _, _, _ = QUESTIONS["gpt-4o-mini"]
    client.chat.completions.create(
        model="gpt-4o-mini",
        messages=[SYSTEM, {"role": "user", "content": question}],  # type: ignore[list-item]
        temperature=0.2,
        max_tokens=16,
    )
    question, _, _, _ = QUESTIONS["gpt-4o"]
    stream = client.chat.completions.create(
        model="gpt-4o",
        messages=[SYSTEM, {"role": "user", "content": question}],  # type: ignore[list-item]
        stream=True,
        stream_options={"include_usage": True},
    )
    for _ in stream:  # consume it: the span ends with the stream
        pass


def _record(instrumentor: Any, trace_base: int, environment: dict[str, str]) -> list[ReadableSpan]:
    memory = InMemorySpanExporter()
    provider = TracerProvider(
        resource=Resource({"service.name": "openai-app", "deployment.environment.name": "test"}),
        id_generator=SequentialIds(trace_base),
    )
    provider.add_span_processor(SimpleSpanProcessor(memory))
    with _environment(environment), fake_openai() as base_url:
        instrumentor.instrument(tracer_provider=provider)
        try:
            _chat(base_url)
        finally:
            instrumentor.uninstrument()
    provider.shutdown()
    return list(memory.get_finished_spans())


def openai_v2_spans() -> list[ReadableSpan]:
    from opentelemetry.instrumentation.openai_v2 import OpenAIInstrumentor

    content = {
        "OTEL_SEMCONV_STABILITY_OPT_IN": "gen_ai_latest_experimental",
        "OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT": "SPAN_ONLY",
    }
    return _record(OpenAIInstrumentor(), 0xE1000000000000, content)


def openai_v2_no_content_spans() -> list[ReadableSpan]:
    from opentelemetry.instrumentation.openai_v2 import OpenAIInstrumentor

    defaults = {"OTEL_SEMCONV_STABILITY_OPT_IN": "", "OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT": ""}
    return _record(OpenAIInstrumentor(), 0xE2000000000000, defaults)


def openinference_spans() -> list[ReadableSpan]:
    from openinference.instrumentation.openai import OpenAIInstrumentor

    return _record(OpenAIInstrumentor(), 0xE3000000000000, {})


SCENARIOS: dict[str, Callable[[], list[ReadableSpan]]] = {
    "openai_v2": openai_v2_spans,
    "openai_v2_no_content": openai_v2_no_content_spans,
    "openinference_openai": openinference_spans,
}


def recorded_request(spans: list[ReadableSpan]) -> dict[str, Any]:
    """The OTLP/JSON export request of ``spans`` (hex ids, integer enums)."""
    return to_otlp_json(encode(spans))


def load_recorded(name: str) -> bytes:
    return (RECORDED / f"{name}.json").read_bytes()


def main() -> None:
    RECORDED.mkdir(exist_ok=True)
    for name, build in SCENARIOS.items():
        document = recorded_request(build())
        (RECORDED / f"{name}.json").write_text(json.dumps(document, indent=1) + "\n")
        print(f"wrote otel/recorded/{name}.json")


if __name__ == "__main__":
    main()
