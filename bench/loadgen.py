"""The shared load generator: realistic agent traces, encoded the way the SDKs send them.

One trace is an agent run of 10 observations — the agent root, 3 LLM generations (chat messages
of 1-4 KB in, 0.5-2 KB out, model, parameters, token usage), 3 tool calls, 2 retrievals (2-4 KB
of documents) and an event — with user, session, tags and metadata, as the Langfuse SDK v5 sets
them (``langfuse.*`` span attributes inside ``propagate_attributes``).

Contents come from a small pool of generated traces; ids are unique per trace *number* ``n`` and
derive from it (``TraceIds``), so payloads are cheap to make, identical for every server of a run,
and a sampled trace can be looked up by number. Two encodings of the same spans:

- ``OtlpBatches``: OTLP protobuf ``ExportTraceServiceRequest`` of up to 512 spans, gzip, like the
  SDK's BatchSpanProcessor + OTLP/HTTP exporter;
- ``IngestionBatches``: Langfuse batch-ingestion JSON (``trace-create`` + ``<type>-create``
  events) of ~15-100 events, like SDK v2/v3 flushes.
"""

from __future__ import annotations

import gzip
import os
import random
import time
from dataclasses import dataclass, field

import orjson
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue
from opentelemetry.proto.trace.v1.trace_pb2 import Span

SPANS_PER_TRACE = 10
_WORDS_TEXT = (
    "the of and to in is for on that with as by this are be from at or an it not which have was "
    "model agent tool query answer document context user system assistant result value price order "
    "customer account invoice shipping refund policy product search index vector embedding token "
    "latency request response error retry timeout cache database table column report summary plan "
    "step reason evidence source citation chapter section paragraph claim fact check verify update "
    "create delete list filter sort page cursor limit offset window region service deploy stack"
)
_WORDS = _WORDS_TEXT.split(" ")
_MODELS = ("gpt-4o", "gpt-4o-mini", "claude-3-5-sonnet-20241022", "gpt-4.1-mini")
_TOOLS = ("web_search", "calculator", "fetch_url", "sql_query", "send_email")


def _text(rng: random.Random, size: int) -> str:
    words: list[str] = []
    length = 0
    while length < size:
        word = rng.choice(_WORDS)
        words.append(word)
        length += len(word) + 1
    return " ".join(words)[:size]


@dataclass(frozen=True, slots=True)
class SpanSpec:
    """One observation of a trace; ``input``/``output`` are JSON text."""

    index: int
    parent: int | None
    name: str
    kind: str  # langfuse observation type: agent, generation, tool, retriever, event
    start_ms: int
    end_ms: int
    input: str
    output: str
    metadata: dict[str, str] = field(default_factory=dict)
    model: str | None = None
    model_parameters: str | None = None
    usage: dict[str, int] | None = None


@dataclass(frozen=True, slots=True)
class TraceSpec:
    name: str
    user_id: str
    session_id: str
    tags: tuple[str, ...]
    spans: tuple[SpanSpec, ...]


def _chat(rng: random.Random, size: int) -> str:
    messages = [{"role": "system", "content": _text(rng, 300)}]
    while len(orjson.dumps(messages)) < size:
        role = "user" if len(messages) % 2 else "assistant"
        messages.append({"role": role, "content": _text(rng, rng.randint(200, 900))})
    return orjson.dumps(messages).decode()


def make_trace(rng: random.Random) -> TraceSpec:
    """One agent trace of ``SPANS_PER_TRACE`` observations with realistic sizes."""
    spans: list[SpanSpec] = []
    clock = 0

    def add(name: str, kind: str, duration: int, inp: str, out: str, **extra: object) -> None:
        nonlocal clock
        index = len(spans)
        parent = None if index == 0 else 0
        spans.append(SpanSpec(index, parent, name, kind, clock, clock + duration, inp, out, **extra))  # type: ignore[arg-type]
        clock += duration + rng.randint(1, 20)

    question = _text(rng, rng.randint(80, 400))
    add("agent-run", "agent", 0, orjson.dumps({"question": question}).decode(), "")
    for step in range(3):
        model = rng.choice(_MODELS)
        usage_in, usage_out = rng.randint(300, 1500), rng.randint(50, 600)
        add(
            ("plan", "reason", "answer")[step],
            "generation",
            rng.randint(300, 3000),
            _chat(rng, rng.randint(1024, 4096)),
            orjson.dumps({"role": "assistant", "content": _text(rng, rng.randint(500, 2000))}).decode(),
            model=model,
            model_parameters=orjson.dumps({"temperature": 0.2, "max_tokens": 1024}).decode(),
            usage={"input": usage_in, "output": usage_out, "total": usage_in + usage_out},
            metadata={"step": str(step), "prompt_version": '"v3"'},
        )
        tool = rng.choice(_TOOLS)
        add(
            tool,
            "tool",
            rng.randint(20, 400),
            orjson.dumps({"tool": tool, "arguments": {"q": _text(rng, 120)}}).decode(),
            orjson.dumps({"result": _text(rng, rng.randint(300, 1000))}).decode(),
            metadata={"tool": f'"{tool}"'},
        )
        if step < 2:
            docs = [{"id": f"doc-{rng.randint(1, 99999)}", "text": _text(rng, 700)} for _ in range(4)]
            add(
                "vector-search",
                "retriever",
                rng.randint(10, 120),
                orjson.dumps({"query": question[:200], "top_k": 4}).decode(),
                orjson.dumps(docs).decode(),
                metadata={"index": '"kb-main"'},
            )
    add("guardrail", "event", 0, orjson.dumps({"check": "pii"}).decode(), orjson.dumps({"ok": True}).decode())
    root = spans[0]
    spans[0] = SpanSpec(
        0, None, root.name, root.kind, 0, clock, root.input,
        orjson.dumps({"answer": _text(rng, rng.randint(300, 1200))}).decode(),
    )  # fmt: skip
    return TraceSpec(
        name=rng.choice(("support-agent", "research-agent", "sql-agent")),
        user_id=f"user-{rng.randint(1, 500)}",
        session_id=f"session-{rng.randint(1, 5000)}",
        tags=tuple(sorted(rng.sample(("prod", "beta", "eu", "us", "mobile", "web"), 2))),
        spans=tuple(spans),
    )


def make_pool(size: int = 48, seed: int = 7) -> list[TraceSpec]:
    rng = random.Random(seed)
    return [make_trace(rng) for _ in range(size)]


@dataclass(frozen=True, slots=True)
class TraceIds:
    """Ids of trace number ``n`` within one run: unique across runs by a random nonce."""

    nonce: bytes = field(default_factory=lambda: os.urandom(8))

    def trace_id(self, n: int) -> bytes:
        return self.nonce + n.to_bytes(8, "big")

    def span_id(self, n: int, index: int) -> bytes:
        return self.nonce[:4] + (n * 16 + index).to_bytes(4, "big")

    def trace_hex(self, n: int) -> str:
        return self.trace_id(n).hex()

    def span_hex(self, n: int, index: int) -> str:
        return self.span_id(n, index).hex()


def _kv(key: str, value: object) -> KeyValue:
    if isinstance(value, bool):
        return KeyValue(key=key, value=AnyValue(bool_value=value))
    if isinstance(value, tuple):
        array = AnyValue()
        array.array_value.values.extend(AnyValue(string_value=str(v)) for v in value)
        return KeyValue(key=key, value=array)
    return KeyValue(key=key, value=AnyValue(string_value=str(value)))


def _span_attributes(trace: TraceSpec, span: SpanSpec) -> list[KeyValue]:
    attrs: dict[str, object] = {
        "user.id": trace.user_id,
        "session.id": trace.session_id,
        "langfuse.trace.name": trace.name,
        "langfuse.trace.tags": trace.tags,
        "langfuse.trace.metadata.tenant": '"acme"',
        "langfuse.observation.type": span.kind,
        "langfuse.observation.input": span.input,
    }
    if span.output:
        attrs["langfuse.observation.output"] = span.output
    for key, value in span.metadata.items():
        attrs[f"langfuse.observation.metadata.{key}"] = value
    if span.model:
        attrs["langfuse.observation.model.name"] = span.model
        attrs["langfuse.observation.model.parameters"] = span.model_parameters or "{}"
        attrs["langfuse.observation.usage_details"] = orjson.dumps(span.usage).decode()
    if span.parent is None:
        attrs["langfuse.internal.is_app_root"] = True
    return [_kv(k, v) for k, v in attrs.items()]


class OtlpBatches:
    """OTLP protobuf payloads of ``traces_per_batch`` traces, gzip-compressed (level 1: inflating
    costs the server the same at any level; level 1 keeps pre-generation short)."""

    content_type = "application/x-protobuf"

    def __init__(
        self,
        ids: TraceIds,
        pool: list[TraceSpec],
        traces_per_batch: int = 51,
        level: int = 1,
        base_ns: int | None = None,
    ):
        self.ids, self.traces_per_batch, self.level = ids, traces_per_batch, level
        self.spans_per_batch = traces_per_batch * SPANS_PER_TRACE
        self._base_ns = base_ns if base_ns is not None else time.time_ns()
        self._templates = [self._template(pool, t) for t in range(max(1, len(pool) // traces_per_batch))]

    def _template(self, pool: list[TraceSpec], number: int) -> ExportTraceServiceRequest:
        request = ExportTraceServiceRequest()
        resource_spans = request.resource_spans.add()
        resource_spans.resource.attributes.extend(
            [
                _kv("service.name", "bench-agent"),
                _kv("openinference.project.name", "skyglass-bench"),
                _kv("telemetry.sdk.language", "python"),
                _kv("telemetry.sdk.name", "opentelemetry"),
                _kv("telemetry.sdk.version", "1.45.2"),
            ]
        )
        scope_spans = resource_spans.scope_spans.add()
        scope_spans.scope.name, scope_spans.scope.version = "langfuse-sdk", "5.0.4"
        scope_spans.scope.attributes.append(_kv("public_key", "pk-lf-bench"))
        for j in range(self.traces_per_batch):
            trace = pool[(number * self.traces_per_batch + j) % len(pool)]
            for spec in trace.spans:
                span = scope_spans.spans.add()
                span.name, span.kind = spec.name, Span.SPAN_KIND_INTERNAL
                span.attributes.extend(_span_attributes(trace, spec))
                span.flags = 256
        return request

    def payload(self, batch: int) -> bytes:
        """Batch number ``batch``: traces ``batch * traces_per_batch`` onwards."""
        request = self._templates[batch % len(self._templates)]
        spans = request.resource_spans[0].scope_spans[0].spans
        first = batch * self.traces_per_batch
        base = self._base_ns + first * 1_000_000
        for position, span in enumerate(spans):
            j, index = divmod(position, SPANS_PER_TRACE)
            n = first + j
            span.trace_id = self.ids.trace_id(n)
            span.span_id = self.ids.span_id(n, index)
            span.parent_span_id = self.ids.span_id(n, 0) if index else b""
            span.start_time_unix_nano = base + j * 1_000_000 + index * 50_000_000
            span.end_time_unix_nano = span.start_time_unix_nano + 40_000_000
        return gzip.compress(request.SerializeToString(), compresslevel=self.level)

    def headers(self) -> dict[str, str]:
        return {"content-type": self.content_type, "content-encoding": "gzip"}


def _iso(ms: int) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(ms // 1000)) + f".{ms % 1000:03d}Z"


class IngestionBatches:
    """Langfuse ``/api/public/ingestion`` JSON batches of ``traces_per_batch`` traces
    (11 events each: one ``trace-create`` and one ``<type>-create`` per observation)."""

    content_type = "application/json"

    def __init__(self, ids: TraceIds, pool: list[TraceSpec], traces_per_batch: int = 6):
        self.ids, self.pool, self.traces_per_batch = ids, pool, traces_per_batch
        self.spans_per_batch = traces_per_batch * SPANS_PER_TRACE
        self._base_ms = int(time.time() * 1000)
        self._parts = [self._template(trace) for trace in pool]

    @staticmethod
    def _template(trace: TraceSpec) -> list[str]:
        """Event JSON split at the id markers: even items literal, odd items marker names."""
        root = trace.spans[0]
        events: list[dict[str, object]] = [
            {
                "id": "@E-trace@",
                "type": "trace-create",
                "timestamp": "@TS@",
                "body": {
                    "id": "@T@", "timestamp": "@TS@", "name": trace.name, "userId": trace.user_id,
                    "sessionId": trace.session_id, "tags": list(trace.tags), "metadata": {"tenant": "acme"},
                    "input": orjson.loads(root.input), "output": orjson.loads(root.output),
                },
            }
        ]  # fmt: skip
        for span in trace.spans:
            body: dict[str, object] = {
                "id": f"@S{span.index}@", "traceId": "@T@", "name": span.name, "startTime": "@TS@",
                "endTime": "@TS@", "input": orjson.loads(span.input),
                "metadata": {k: orjson.loads(v) if v.startswith('"') else v for k, v in span.metadata.items()},
            }  # fmt: skip
            if span.output:
                body["output"] = orjson.loads(span.output)
            if span.parent is not None:
                body["parentObservationId"] = f"@S{span.parent}@"
            if span.model:
                body["model"] = span.model
                body["modelParameters"] = orjson.loads(span.model_parameters or "{}")
                body["usageDetails"] = span.usage
            events.append(
                {"id": f"@E{span.index}@", "type": f"{span.kind}-create", "timestamp": "@TS@", "body": body}
            )
        text = orjson.dumps(events).decode()[1:-1]  # the events, without the list brackets
        return text.split("@")

    def _trace_json(self, n: int) -> str:
        parts = self._parts[n % len(self._parts)]
        trace_hex = self.ids.trace_hex(n)
        stamp = _iso(self._base_ms + n)
        out = []
        for position, part in enumerate(parts):
            if position % 2 == 0:
                out.append(part)
            elif part == "T":
                out.append(trace_hex)
            elif part == "TS":
                out.append(stamp)
            elif part.startswith("S"):
                out.append(self.ids.span_hex(n, int(part[1:])))
            else:  # event ids: E-trace, E<index>
                out.append(f"{trace_hex}-{part[1:]}")
        return "".join(out)

    def payload(self, batch: int) -> bytes:
        first = batch * self.traces_per_batch
        events = ",".join(self._trace_json(n) for n in range(first, first + self.traces_per_batch))
        return f'{{"batch":[{events}],"metadata":{{"sdk_name":"bench"}}}}'.encode()

    def headers(self) -> dict[str, str]:
        return {"content-type": self.content_type}
