"""The pure merge: all events of one entity → one row, whatever order they come in."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
import pytest

from skyglass.domain.merge import merge_observation, merge_trace
from skyglass.domain.merge_rules import SHALLOW_TRACE
from skyglass.domain.records import EntityEvent
from skyglass.domain.timeutil import format_iso, parse_iso, parse_optional

BASE = datetime(2026, 1, 1, 10, 0, tzinfo=UTC)


def at(ms: int) -> datetime:
    return BASE + timedelta(milliseconds=ms)


def iso(ms: int) -> str:
    return at(ms).isoformat().replace("+00:00", "Z")


def event(
    event_id: str,
    event_type: str,
    ms: int,
    body: dict[str, Any],
    *,
    entity_id: str = "e1",
    received_ms: int = 60_000,
) -> EntityEvent:
    entity_type = "trace" if event_type.startswith("trace") else "observation"
    return EntityEvent(
        project_id="p1",
        entity_type=entity_type,
        entity_id=entity_id,
        event_id=event_id,
        event_type=event_type,
        timestamp=at(ms),
        body=orjson.dumps({"id": entity_id, **body}).decode(),
        received_at=at(received_ms),
        blob_key=f"raw/{event_id}",
    )


def trace_events() -> list[EntityEvent]:
    return [
        event("t1", "trace-create", 0, {"name": "first", "tags": ["b"], "metadata": {"a": 1, "n": {"x": 1}}}),
        event(
            "t2", "trace-create", 100, {"name": "second", "userId": "u1", "tags": ["a", "b"], "input": "q"}
        ),
        event(
            "t3",
            "trace-create",
            200,
            {"output": {"answer": 42}, "metadata": {"n": {"y": 2}}},
            received_ms=61_000,
        ),
    ]


def span_events() -> list[EntityEvent]:
    return [
        event(
            "s1",
            "span-create",
            0,
            {"traceId": "t", "name": "root", "startTime": iso(0), "environment": "prod"},
        ),
        event("s2", "span-update", 100, {"traceId": "t", "metadata": {"k": "v"}, "level": "WARNING"}),
        event("s3", "span-update", 200, {"endTime": iso(500), "output": "done", "name": "renamed"}),
    ]


def test_trace_merge_is_identical_for_every_permutation() -> None:
    # Given a create and two later updates of one trace
    events = trace_events()
    # When the merge sees them in every possible order
    records = [merge_trace("p1", list(perm)) for perm in itertools.permutations(events)]
    # Then every record is the same, and it holds the expected merged values
    assert all(r == records[0] for r in records)
    record = records[0]
    assert record.name == "second"
    assert record.user_id == "u1"
    assert record.tags == ["a", "b"]
    assert record.metadata == {"a": "1", "n": '{"x":1,"y":2}'}
    assert record.input == '"q"'
    assert record.output == '{"answer":42}'
    assert record.timestamp == at(0)
    assert record.event_ts == at(200)
    assert (record.created_at, record.updated_at) == (at(60_000), at(61_000))


def test_observation_merge_is_identical_for_every_permutation() -> None:
    # Given a span create and two updates
    events = span_events()
    # When merged in every order
    records = [merge_observation("p1", list(perm)) for perm in itertools.permutations(events)]
    # Then the records agree and carry the merged state
    assert all(r == records[0] for r in records)
    record = records[0]
    assert (record.type, record.trace_id, record.name) == ("SPAN", "t", "renamed")
    assert (record.start_time, record.end_time) == (at(0), at(500))
    assert (record.level, record.environment) == ("WARNING", "prod")
    assert record.metadata == {"k": '"v"'}
    assert record.output == '"done"'
    assert record.event_ts == at(200)


def test_create_sorts_before_update_on_equal_timestamps() -> None:
    # Given an update and a create with the same timestamp, the update's event id sorting first
    events = [
        event("a-update", "span-update", 100, {"name": "from-update"}),
        event("z-create", "span-create", 100, {"name": "from-create", "traceId": "t"}),
    ]
    # When merged in both orders
    records = [merge_observation("p1", list(p)) for p in itertools.permutations(events)]
    # Then the update is applied after the create
    assert {r.name for r in records} == {"from-update"}


def test_trace_immutables_keep_the_first_present_value() -> None:
    # Given a first event without body timestamp or environment, then two that have them
    events = [
        event("t1", "trace-create", 0, {"name": "n"}),
        event("t2", "trace-create", 100, {"timestamp": iso(-5_000), "environment": "Staging"}),
        event("t3", "trace-create", 200, {"timestamp": iso(-9_000), "environment": "prod"}),
    ]
    # When merged
    record = merge_trace("p1", events)
    # Then the earliest event that carries each value decides it (normalised environment)
    assert record.id == "e1"
    assert record.timestamp == at(-5_000)
    assert record.environment == "staging"


def test_trace_timestamp_falls_back_to_the_earliest_event_time() -> None:
    # Given trace events none of which has a body timestamp
    events = [event("t2", "trace-create", 300, {}), event("t1", "trace-create", 100, {})]
    # When merged
    record = merge_trace("p1", events)
    # Then the earliest envelope timestamp is used
    assert record.timestamp == at(100)


def test_observation_immutables_keep_the_first_present_value() -> None:
    # Given an update (earliest, no start time or trace) followed by creates with other values
    events = [
        event("o1", "generation-update", 0, {"output": "x"}),
        event("o2", "generation-create", 10, {"traceId": "t-a", "startTime": iso(-100), "environment": "a"}),
        event("o3", "generation-update", 20, {"traceId": "t-b", "startTime": iso(-900), "environment": "b"}),
    ]
    # When merged
    record = merge_observation("p1", events)
    # Then trace id, start time and environment come from the first event carrying them
    assert (record.trace_id, record.start_time, record.environment) == ("t-a", at(-100), "a")
    assert record.type == "GENERATION"


def test_observation_start_time_defaults_to_event_time_and_end_is_clamped() -> None:
    # Given an observation without startTime whose endTime lies before its start
    events = [event("o1", "span-create", 1_000, {"traceId": "t", "endTime": iso(500)})]
    # When merged
    record = merge_observation("p1", events)
    # Then start is the event time and end is raised to the start; level defaults
    assert record.start_time == at(1_000)
    assert record.end_time == at(1_000)
    assert record.level == "DEFAULT"


def test_observation_without_trace_id_gets_a_trace_of_its_own_id() -> None:
    # Given a legacy observation event without a trace id
    events = [event("o1", "observation-create", 0, {"type": "event"}, entity_id="obs-9")]
    # When merged
    record = merge_observation("p1", events)
    # Then the trace id is the observation id and the type comes from the body
    assert (record.trace_id, record.type) == ("obs-9", "EVENT")


@pytest.mark.parametrize(
    ("event_type", "body", "expected"),
    [
        ("span-create", {}, "SPAN"),
        ("generation-update", {}, "GENERATION"),
        ("event-create", {}, "EVENT"),
        ("agent-create", {}, "AGENT"),
        ("tool-create", {}, "TOOL"),
        ("chain-create", {}, "CHAIN"),
        ("retriever-create", {}, "RETRIEVER"),
        ("evaluator-create", {}, "EVALUATOR"),
        ("embedding-create", {}, "EMBEDDING"),
        ("guardrail-create", {}, "GUARDRAIL"),
        ("observation-update", {"type": "GENERATION"}, "GENERATION"),
    ],
)
def test_observation_type_comes_from_the_event_type(
    event_type: str, body: dict[str, Any], expected: str
) -> None:
    # Given one event of the type; When merged; Then its type is mapped
    assert merge_observation("p1", [event("x", event_type, 0, body)]).type == expected


def test_create_event_decides_the_type_over_an_earlier_update() -> None:
    # Given a span-update that sorts before the agent-create
    events = [event("u", "span-update", 0, {}), event("c", "agent-create", 10, {})]
    # Then the create's type wins
    assert merge_observation("p1", events).type == "AGENT"


def test_metadata_none_and_empty_never_overwrite() -> None:
    # Given metadata set, then a None value for a key, an empty object and no metadata
    events = [
        event("1", "trace-create", 0, {"metadata": {"keep": "v", "nested": {"a": 1}}}),
        event("2", "trace-create", 10, {"metadata": {"keep": None, "new": None}}),
        event("3", "trace-create", 20, {"metadata": {}}),
        event("4", "trace-create", 30, {"metadata": {"nested": {"b": [1, 2]}}}),
    ]
    # When merged
    record = merge_trace("p1", events)
    # Then existing values stay, new keys may be null, nested objects merge
    assert record.metadata == {"keep": '"v"', "new": "null", "nested": '{"a":1,"b":[1,2]}'}


def test_non_object_metadata_is_stored_under_the_metadata_key() -> None:
    # Given string metadata on an observation
    record = merge_observation("p1", [event("1", "span-create", 0, {"metadata": "plain"})])
    # Then it is kept under "metadata", JSON-encoded
    assert record.metadata == {"metadata": '"plain"'}


def test_input_output_keep_the_last_non_null_value_as_json_text() -> None:
    # Given input set, then an update with explicit nulls, then a falsy but present output
    events = [
        event("1", "span-create", 0, {"input": {"q": 1}, "output": "a"}),
        event("2", "span-update", 10, {"input": None, "output": None}),
        event("3", "span-update", 20, {"output": 0}),
    ]
    record = merge_observation("p1", events)
    # Then nulls did not erase anything and values are JSON text
    assert (record.input, record.output) == ('{"q":1}', "0")


def test_generation_fields_model_prompt_usage_and_cost() -> None:
    # Given a generation create with model data and an update with usage and cost
    events = [
        event(
            "1",
            "generation-create",
            0,
            {
                "model": "gpt-4o",
                "modelParameters": {"temperature": 0.2, "stop": ["x"]},
                "promptName": "p",
                "promptVersion": 3,
                "completionStartTime": iso(40),
                "usageDetails": {"input": 1},
            },
        ),
        event(
            "2",
            "generation-update",
            10,
            {
                "usageDetails": {
                    "prompt_tokens": 10,
                    "completion_tokens": 5,
                    "total_tokens": 15,
                    "prompt_tokens_details": {"cached_tokens": 4},
                },
                "costDetails": {"input": 0.5, "output": 0.25},
            },
        ),
        event("3", "generation-update", 20, {"usageDetails": {}, "costDetails": {}, "modelParameters": {}}),
    ]
    # When merged
    record = merge_observation("p1", events)
    # Then the last non-empty usage/cost maps win and totals are derived
    assert record.provided_model_name == "gpt-4o"
    assert record.model_parameters == '{"temperature":0.2,"stop":["x"]}'
    assert (record.prompt_name, record.prompt_version) == ("p", 3)
    assert record.completion_start_time == at(40)
    assert record.provided_usage_details == {"input": 6, "output": 5, "total": 15, "input_cached_tokens": 4}
    assert record.usage_details == record.provided_usage_details
    assert record.provided_cost_details == {"input": 0.5, "output": 0.25}
    assert record.cost_details == {"input": 0.5, "output": 0.25, "total": 0.75}
    assert record.total_cost == 0.75


def shallow(event_id: str, ms: int, start_ms: int, environment: str | None = None) -> EntityEvent:
    body: dict[str, Any] = {"timestamp": iso(start_ms)}
    if environment:
        body["environment"] = environment
    return event(event_id, SHALLOW_TRACE, ms, body)


def test_shallow_events_never_override_a_real_trace_event() -> None:
    # Given a real trace event without body timestamp, and earlier shallow events carrying values
    real = event("real", "trace-create", 500, {"name": "real", "environment": "staging"})
    fake = shallow("shallow-1", 100, -10_000, "prod")
    fake_with_junk = event(
        "shallow-2", SHALLOW_TRACE, 50, {"name": "junk", "tags": ["x"], "metadata": {"a": 1}}
    )
    # When merged in any order
    records = [merge_trace("p1", list(p)) for p in itertools.permutations([real, fake, fake_with_junk])]
    # Then the real event decides every field; shallow events only count for version/receive times
    assert all(r == records[0] for r in records)
    record = records[0]
    assert (record.name, record.environment, record.timestamp) == ("real", "staging", at(500))
    assert (record.tags, record.metadata) == ([], {})
    assert record.event_ts == at(500)


def test_shallow_environment_is_used_only_when_no_real_event_has_one() -> None:
    # Given a real trace event without environment and a shallow one with it
    events = [event("real", "trace-create", 500, {"name": "real"}), shallow("s", 100, 0, "prod")]
    # Then the shallow event provides the environment, nothing else
    record = merge_trace("p1", events)
    assert (record.environment, record.timestamp, record.name) == ("prod", at(500), "real")


def test_shallow_only_trace_takes_the_earliest_observation_start() -> None:
    # Given only shallow events (observations in several blobs)
    events = [shallow("s2", 900, 700), shallow("s1", 800, 300, "prod"), shallow("s3", 1_000, 800)]
    # When merged
    record = merge_trace("p1", events)
    # Then the trace exists with the earliest start, the environment, and the newest version
    assert (record.id, record.timestamp, record.environment) == ("e1", at(300), "prod")
    assert record.event_ts == at(1_000)
    assert record.name is None


def test_merge_needs_events() -> None:
    with pytest.raises(ValueError):
        merge_trace("p1", [])
    with pytest.raises(ValueError):
        merge_observation("p1", [])


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-01-01T10:00:00.123Z", datetime(2026, 1, 1, 10, 0, 0, 123000, tzinfo=UTC)),
        ("2026-01-01T12:00:00.123987654+02:00", datetime(2026, 1, 1, 10, 0, 0, 123000, tzinfo=UTC)),
        ("2026-01-01T10:00:00", datetime(2026, 1, 1, 10, 0, tzinfo=UTC)),
    ],
)
def test_times_parse_to_utc_milliseconds(text: str, expected: datetime) -> None:
    # Given ISO-8601 text with an offset (or none), any fraction digits; Then UTC at ms precision
    parsed = parse_iso(text)
    assert parsed == expected and parsed.tzinfo is UTC
    assert format_iso(parsed) == expected.strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def test_bad_times() -> None:
    with pytest.raises(ValueError):
        parse_iso("yesterday")
    assert parse_optional("yesterday") is None
    assert parse_optional(None) is None
    assert parse_optional(12) is None
