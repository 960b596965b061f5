"""Spans of the Langfuse Python SDK v5 → Langfuse ingestion events (compat §3.3, §4).

The recorded fixture ``tests/events/otel/langfuse_sdk_v5`` was produced by the real SDK (see
``record.langfuse_sdk_spans``): nested ``@observe`` inside ``propagate_attributes``, a generation
with model/usage/cost/parameters/prompt, every observation type, an event, an error and a span
under a remote parent. One test re-runs the SDK to catch drift from the recording.
"""

from __future__ import annotations

import copy
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
import pytest

from skyglass.contracts.otlp import decode_export_request, iter_spans
from skyglass.domain.merge import merge_observation, merge_trace
from skyglass.domain.otel import span_to_events
from skyglass.domain.otel.values import format_ms, nanos_to_datetime
from skyglass.domain.records import EntityEvent
from tests.events.otel.frameworks import LANGFUSE_PUBLIC_KEY, langfuse_sdk_spans
from tests.events.otel.record import RECEIVED_AT, decode_fixture, events_by_span, mapped, single_span
from tests.events.otel.spans import encode

FIXTURE = "langfuse_sdk_v5"
TRACE_A = "000000000000000000a0000000000001"
TRACE_B = "000000000000000000a0000000000002"
SCOPE = {"name": "langfuse-sdk", "version": "5.0.4", "attributes": {"public_key": LANGFUSE_PUBLIC_KEY}}


@pytest.fixture(scope="module")
def spans():
    return {span.name: span for span in decode_fixture(FIXTURE)}


@pytest.fixture(scope="module")
def events():
    return mapped(FIXTURE)


def iso(nanos: int) -> str:
    moment = nanos_to_datetime(nanos)
    assert moment is not None
    return format_ms(moment)


def without_context(metadata: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in metadata.items() if k not in ("resourceAttributes", "scope")}


def test_root_span_describes_the_whole_trace(spans, events):
    # Given the @observe root inside propagate_attributes(...)
    root = spans["handle-request"]
    trace = events["handle-request"]["trace"]
    # Then its trace-create carries every trace field, IO from the root observation (v5 sends no trace IO)
    assert trace["type"] == "trace-create"
    assert trace["timestamp"] == iso(root.start_time_unix_nano)
    body = trace["body"]
    assert body == {
        "id": TRACE_A,
        "timestamp": iso(root.start_time_unix_nano),
        "environment": "staging",
        "name": "chat-trace",
        "userId": "user-1",
        "sessionId": "sess-1",
        "tags": ["t1", "t2"],
        "version": "v7",
        "release": "r-42",
        "input": {"args": ["hi"], "kwargs": {}},
        "output": {"answer": "answer to hi"},
        "metadata": {
            "tenant": "acme",
            "resourceAttributes": root.resource_attributes,
            "scope": SCOPE,
        },
    }


def test_root_observation_is_a_span_without_parent(spans, events):
    # Given the @observe root
    root = spans["handle-request"]
    observation = events["handle-request"]["observation"]
    # Then its observation is a SPAN with no parent and the SDK context in metadata
    assert observation["type"] == "span-create"
    assert observation["body"] == {
        "id": root.span_id,
        "traceId": TRACE_A,
        "name": "handle-request",
        "startTime": iso(root.start_time_unix_nano),
        "endTime": iso(root.end_time_unix_nano),
        "input": {"args": ["hi"], "kwargs": {}},
        "output": {"answer": "answer to hi"},
        "level": "DEFAULT",
        "version": "v7",
        "environment": "staging",
        "metadata": {"resourceAttributes": root.resource_attributes, "scope": SCOPE},
    }


def test_generation_fields(spans, events):
    # Given the generation updated with model, usage, cost, parameters, prompt and metadata
    span = spans["llm-call"]
    observation = events["llm-call"]["observation"]
    # Then every generation field is on the generation-create body
    assert observation["type"] == "generation-create"
    assert observation["body"] == {
        "id": span.span_id,
        "traceId": TRACE_A,
        "parentObservationId": spans["handle-request"].span_id,
        "name": "llm-call",
        "startTime": iso(span.start_time_unix_nano),
        "endTime": iso(span.end_time_unix_nano),
        "completionStartTime": "2026-01-01T10:00:00.350Z",
        "input": {"args": ["hi"], "kwargs": {}},
        "output": "answer to hi",
        "level": "DEFAULT",
        "version": "v7",
        "environment": "staging",
        "model": "gpt-4o-mini",
        "modelParameters": {"temperature": 0.2, "max_tokens": 256},
        # As sent: the worker's usage normalisation handles provider-specific keys.
        "usageDetails": {"input": 12, "output": 5, "cache_read_input_tokens": 2},
        "costDetails": {"input": 0.00001, "output": 0.00002, "total": 0.00003},
        "promptName": "chat-prompt",
        "promptVersion": 3,
        # Metadata values were JSON-encoded per key by the SDK and are decoded here.
        "metadata": {
            "step": "answer",
            "attempt": 1,
            "resourceAttributes": span.resource_attributes,
            "scope": SCOPE,
        },
    }


def test_child_spans_update_their_trace_with_propagated_fields_only(events):
    # Given a child span inside propagate_attributes(...)
    trace = events["llm-call"]["trace"]["body"]
    # Then it emits a partial trace-create: trace fields, but no IO (only a root has trace IO)
    assert trace["name"] == "chat-trace"
    assert (trace["userId"], trace["sessionId"], trace["tags"]) == ("user-1", "sess-1", ["t1", "t2"])
    assert without_context(trace["metadata"]) == {"tenant": "acme"}
    assert "input" not in trace and "output" not in trace


def test_spans_without_trace_fields_or_root_emit_no_trace_event(events):
    # Given trace B, whose children carry no trace attributes
    assert events["a-chain"]["trace"] is None
    assert events["warn"]["trace"] is None


@pytest.mark.parametrize(
    ("name", "event_type"),
    [
        ("handle-request", "span-create"),
        ("search", "retriever-create"),
        ("cache-miss", "event-create"),
        ("llm-call", "generation-create"),
        ("pipeline", "agent-create"),
        ("a-chain", "chain-create"),
        ("a-tool", "tool-create"),
        ("a-evaluator", "evaluator-create"),
        ("a-guardrail", "guardrail-create"),
        ("embed", "embedding-create"),
        ("warn", "span-create"),
        ("boom", "span-create"),
        ("remote-child", "span-create"),
    ],
)
def test_every_observation_type(events, name, event_type):
    # Given a span of each as_type
    # Then the event type follows langfuse.observation.type
    assert events[name]["observation"]["type"] == event_type


def test_observation_io_and_metadata_of_start_as_current_observation(events):
    # Given observations made with start_as_current_observation / create_event
    retriever = events["search"]["observation"]["body"]
    # Then IO, metadata, model and usage are mapped
    assert (retriever["input"], retriever["output"]) == ({"q": "hi"}, [{"id": "doc-1"}])
    event = events["cache-miss"]["observation"]["body"]
    assert without_context(event["metadata"]) == {"key": "q1"}
    embed = events["embed"]["observation"]["body"]
    assert (embed["model"], embed["usageDetails"]) == ("text-embedding-3-small", {"input": 8})


def test_level_status_message_and_version(events):
    # Given a span with level, status message and version
    warn = events["warn"]["observation"]["body"]
    # Then all three are on the observation
    assert (warn["level"], warn["statusMessage"], warn["version"]) == ("WARNING", "slow upstream", "2.0")


def test_exception_makes_an_error_and_is_kept_in_metadata(events):
    # Given a span left by an exception (OTel status ERROR + an "exception" event)
    boom = events["boom"]["observation"]["body"]
    # Then it is an ERROR with the status description, and the exception event is not lost
    assert (boom["level"], boom["statusMessage"]) == ("ERROR", "ValueError: bad input")
    (exception,) = boom["metadata"]["events"]
    assert exception["name"] == "exception"
    assert exception["attributes"]["exception.type"] == "ValueError"


def test_public_trace_with_root_io_and_metadata(events):
    # Given trace B, made public from its agent root
    trace = events["pipeline"]["trace"]["body"]
    # Then its trace is public with the root's IO and metadata
    assert trace["id"] == TRACE_B
    assert (trace["name"], trace["public"], trace["input"], trace["output"]) == (
        "pipeline",
        True,
        "go",
        "done",
    )
    assert without_context(trace["metadata"]) == {"plan": ["a", "b"]}


def test_remote_parent_with_as_root_still_describes_the_trace(events):
    # Given a span started with trace_context (the SDK marks it langfuse.internal.as_root)
    remote = events["remote-child"]
    # Then it keeps its remote parent but also emits a full trace-create
    assert remote["observation"]["body"]["parentObservationId"] == "e" * 16
    assert remote["trace"]["body"]["id"] == "f" * 32
    assert remote["trace"]["body"]["name"] == "remote-child"


def test_sdk_internal_attributes_never_reach_metadata(events):
    # The SDK's own attributes are all mapped; only foreign attributes would appear under "attributes".
    # Given every SDK span of the fixture
    # Then no leftover attributes: the SDK vocabulary is fully mapped
    for name, pair in events.items():
        assert "attributes" not in pair["observation"]["body"]["metadata"], name


def test_same_span_twice_gives_identical_events(spans):
    # Given the same span exported twice (two requests, two receive times)
    span = spans["llm-call"]
    first = span_to_events(span, received_at=RECEIVED_AT)
    again = span_to_events(copy.deepcopy(span), received_at=RECEIVED_AT + timedelta(hours=1))
    # Then the events, ids included, are identical: the worker stores them once
    assert first == again
    assert len({e["id"] for e in first}) == 2


def test_json_and_protobuf_give_the_same_events():
    # Given the fixture as OTLP/JSON and as protobuf
    # Then both map to identical events
    assert events_by_span(decode_fixture(FIXTURE, "json")) == mapped(FIXTURE)


def _entity_events(all_events: list[dict[str, Any]], entity: str) -> list[EntityEvent]:
    received = datetime(2026, 1, 2, tzinfo=UTC)
    return [
        EntityEvent(
            project_id="p",
            entity_type=entity,
            entity_id=e["body"]["id"],
            event_id=e["id"],
            event_type=e["type"],
            timestamp=datetime.fromisoformat(e["timestamp"]),
            body=orjson.dumps(e["body"]).decode(),
            received_at=received,
        )
        for e in all_events
    ]


def test_merged_trace_from_all_spans_in_any_order(spans):
    # Given every event of trace A, in reverse export order
    all_events = [
        e for s in spans.values() if s.trace_id == TRACE_A for e in span_to_events(s, received_at=RECEIVED_AT)
    ]
    traces = [e for e in reversed(all_events) if e["type"] == "trace-create"]
    # When the worker's merge builds the trace row
    row = merge_trace("p", _entity_events(traces, "trace"))
    # Then it is the trace the SDK described
    assert (row.name, row.user_id, row.session_id, row.tags) == (
        "chat-trace",
        "user-1",
        "sess-1",
        ["t1", "t2"],
    )
    assert (row.environment, row.release, row.version) == ("staging", "r-42", "v7")
    assert row.timestamp == nanos_to_datetime(spans["handle-request"].start_time_unix_nano)
    assert row.input == '{"args":["hi"],"kwargs":{}}'
    assert row.metadata["tenant"] == '"acme"'
    # And the generation row carries its usage, cost and prompt
    generation = [e for e in all_events if e["type"] == "generation-create"]
    observation = merge_observation("p", _entity_events(generation, "observation"))
    assert (observation.type, observation.provided_model_name) == ("GENERATION", "gpt-4o-mini")
    assert (observation.prompt_name, observation.prompt_version) == ("chat-prompt", 3)
    assert observation.total_cost == pytest.approx(0.00003)


def _shape(pairs: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """Events without what differs between runs: times, public key, stack traces."""
    volatile = {"timestamp", "startTime", "endTime"}

    def clean(event: dict[str, Any] | None) -> Any:
        if event is None:
            return None
        body = {k: v for k, v in event["body"].items() if k not in volatile}
        metadata = dict(body.get("metadata", {}))
        metadata.pop("scope", None)
        metadata.pop("events", None)
        body["metadata"] = metadata
        return {"type": event["type"], "body": body}

    return {
        name: {"observation": clean(p["observation"]), "trace": clean(p["trace"])}
        for name, p in pairs.items()
    }


def test_live_sdk_still_produces_the_recorded_shape():
    # Given the same scenario run now with the installed SDK (a fresh client and key)
    live = langfuse_sdk_spans(public_key="pk-lf-live-check")
    request = decode_export_request(encode(live).SerializeToString(), "application/x-protobuf", None)
    # When mapped
    now = events_by_span(list(iter_spans(request)))
    # Then apart from times and the key it matches the recording field for field
    assert _shape(now) == _shape(mapped(FIXTURE))


def _known_keys() -> list[str]:
    """Every attribute name the convention modules mention (constants and lookup tables)."""
    from skyglass.domain.otel import fields, genai, generation, langfuse_attrs, openinference, types, vercel

    keys: set[str] = set()

    def collect(value: Any) -> None:
        if isinstance(value, str) and ("." in value or ":" in value) and " " not in value:
            keys.add(value)
        elif isinstance(value, tuple | list | frozenset | set):
            for item in value:
                collect(item)
        elif isinstance(value, dict):
            for key, item in value.items():
                collect(key)
                collect(item)

    for module in (fields, genai, generation, langfuse_attrs, openinference, types, vercel):
        for name, value in vars(module).items():
            if name.isupper():
                collect(value)
    return sorted(keys)


ODD_VALUES = [
    None,
    "",
    "x",
    "{",
    "[1]",
    '{"a": 1}',
    '"quoted"',
    0,
    -1,
    1.5,
    "NaN",
    True,
    [],
    ["a"],
    [1, "b"],
    {"k": "v"},
    2**70,
]


@pytest.mark.parametrize("value", ODD_VALUES, ids=repr)
def test_any_value_under_any_known_key_maps_without_error(value):
    # Given spans carrying an odd value under every attribute name the mapper knows
    from skyglass.domain.merge_rules import dumps_json
    from skyglass.domain.otel.span import OtelEvent, OtelSpan

    for key in _known_keys():
        for scope in ("", "ai", "langfuse-sdk", "pydantic-ai"):
            span = OtelSpan(
                trace_id="1" * 32,
                span_id="2" * 16,
                parent_span_id="3" * 16 if len(key) % 2 else "",
                name="s",
                start_time_unix_nano=1,
                attributes={key: value},
                events=[OtelEvent("gen_ai.choice", 0, {key: value})],
                scope_name=scope,
            )
            # When mapped
            events = span_to_events(span, received_at=RECEIVED_AT)
            # Then there is an observation event and everything serialises
            assert events[-1]["body"]["id"] == "2" * 16, key
            dumps_json(events)


def _map(attributes: dict[str, Any], **kwargs: Any) -> list[dict[str, Any]]:
    return span_to_events(single_span(attributes, scope="langfuse-sdk", **kwargs), received_at=RECEIVED_AT)


def test_experiment_attributes_are_kept_in_metadata():
    # Given the attributes run_experiment sets (JSON-encoded metadata and expected output)
    events = _map(
        {
            "langfuse.experiment.id": "exp-1",
            "langfuse.experiment.name": "run-a",
            "langfuse.experiment.metadata": '{"model": "m"}',
            "langfuse.experiment.dataset.id": "ds-1",
            "langfuse.experiment.item.id": "item-1",
            "langfuse.experiment.item.expected_output": '{"answer": 4}',
            "langfuse.experiment.item.root_observation_id": "0000000000000001",
        }
    )
    # Then they are one metadata object, nothing dropped
    assert events[-1]["body"]["metadata"]["experiment"] == {
        "id": "exp-1",
        "name": "run-a",
        "metadata": {"model": "m"},
        "datasetId": "ds-1",
        "itemId": "item-1",
        "itemExpectedOutput": {"answer": 4},
        "itemRootObservationId": "0000000000000001",
    }


@pytest.mark.parametrize(
    ("attributes", "expected"),
    [
        ({"langfuse.observation.metadata": '{"a": 1, "b": "x"}'}, {"a": 1, "b": "x"}),
        ({"langfuse.observation.metadata": '"just text"'}, {"metadata": "just text"}),
        ({"langfuse.observation.metadata": '{"a": 1}', "langfuse.observation.metadata.a": "2"}, {"a": 2}),
        ({"langfuse.metadata.legacy": "v"}, {"legacy": "v"}),
        (
            {"langfuse.observation.metadata.n": "123", "langfuse.observation.metadata.s": '"123"'},
            {"n": 123, "s": "123"},
        ),
    ],
)
def test_observation_metadata_shapes(attributes, expected):
    # Given metadata as a bare JSON attribute, per-key attributes or legacy keys
    metadata = _map(attributes)[-1]["body"]["metadata"]
    # Then it is one metadata object, values decoded
    assert {k: v for k, v in metadata.items() if k not in ("resourceAttributes", "scope")} == expected


def test_resource_attributes_supply_environment_release_version_and_trace_metadata():
    # Given a child span whose resource carries the Langfuse settings and service version
    events = _map(
        {"user.id": "u"},
        child=True,
        resource={
            "service.name": "svc",
            "service.version": "9.9",
            "langfuse.environment": "prod",
            "langfuse.release": "r-1",
            "langfuse.trace.metadata.region": '"eu"',
        },
    )
    trace, observation = events[0]["body"], events[1]["body"]
    # Then both events use them, and the resource trace metadata reaches both metadata maps
    assert (observation["environment"], observation["version"]) == ("prod", "9.9")
    assert (trace["environment"], trace["release"], trace["version"]) == ("prod", "r-1", "9.9")
    assert trace["metadata"]["region"] == "eu" and observation["metadata"]["region"] == "eu"
    assert observation["metadata"]["resourceAttributes"]["service.name"] == "svc"


def test_environment_keys_are_tried_span_then_resource_key_by_key():
    # langfuse.environment on the resource beats deployment.environment.name on the span
    # Given environment attributes on the span and the resource
    events = _map({"deployment.environment.name": "span-env"}, resource={"langfuse.environment": "res-env"})
    # Then each key is tried on span then resource, else default
    assert events[-1]["body"]["environment"] == "res-env"
    assert _map({})[-1]["body"]["environment"] == "default"


@pytest.mark.parametrize(
    ("level", "status", "expected"),
    [
        ("warn", 0, "WARNING"),
        ("FATAL", 0, "ERROR"),
        ("info", 2, "DEFAULT"),
        ("verbose", 0, "DEBUG"),
        ("nonsense", 2, "ERROR"),
        (None, 0, "DEFAULT"),
    ],
)
def test_level_aliases_then_status(level, status, expected):
    # Given a level attribute (alias or not) and an OTel status
    from skyglass.domain.otel.fields import level as level_of
    from skyglass.domain.otel.values import AttributeReader

    attributes = {} if level is None else {"langfuse.observation.level": level}
    # Then the alias maps, else an error status means ERROR
    assert level_of(AttributeReader(attributes), status) == expected


@pytest.mark.parametrize(
    ("attributes", "tags"),
    [
        ({"langfuse.trace.tags": ["a", "b"]}, ["a", "b"]),
        ({"langfuse.trace.tags": '["a", "b"]'}, ["a", "b"]),
        ({"langfuse.tags": "a, b"}, ["a", "b"]),
        ({"tag.tags": "solo"}, ["solo"]),
        ({"langfuse.trace.metadata.langfuse_tags": '["m"]'}, ["m"]),
    ],
)
def test_tag_shapes(attributes, tags):
    # Given tags as an array, JSON text, a comma list or a single string
    # Then the trace gets a list of strings
    assert _map(attributes)[0]["body"]["tags"] == tags


def test_trace_public_as_string_and_metadata_ids():
    # Given public as text and ids in JSON-encoded metadata
    trace = _map(
        {
            "langfuse.trace.public": "true",
            "langfuse.observation.metadata.langfuse_user_id": '"u-meta"',
            "langfuse.observation.metadata.langfuse_session_id": '"s-meta"',
        }
    )[0]["body"]
    # Then the trace gets a boolean and plain ids
    assert (trace["public"], trace["userId"], trace["sessionId"]) == (True, "u-meta", "s-meta")


def test_prompt_link_only_on_generations_and_completion_start_forms():
    # Given prompt attributes on a span and on a generation with an offset completion time
    prompt = {"langfuse.observation.prompt.name": "p", "langfuse.observation.prompt.version": "4"}
    span = _map({**prompt, "langfuse.observation.type": "span"})[-1]["body"]
    # Then only the generation links the prompt; the time is UTC
    assert "promptName" not in span
    generation = _map(
        {
            **prompt,
            "langfuse.observation.type": "generation",
            "langfuse.observation.completion_start_time": "2026-01-01T10:00:00.5+01:00",
        }
    )[-1]["body"]
    assert (generation["promptName"], generation["promptVersion"]) == ("p", 4)
    assert generation["completionStartTime"] == "2026-01-01T09:00:00.500Z"
