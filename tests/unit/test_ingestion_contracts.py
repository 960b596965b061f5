"""Wire contracts of batch ingestion and scores: what is accepted, what is refused and why."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from skyglass.contracts.ingestion import (
    BODY_MODELS,
    EVENT_TYPES,
    NOT_STORED_EVENT_TYPES,
    EventRejected,
    TraceBody,
    describe_validation_error,
    event_id_of,
    split_envelope,
    validate_event,
)
from skyglass.contracts.scores import ScoreBody, parse_timestamp, wire_score_body
from skyglass.domain.merge_rules import OBSERVATION_EVENT_TYPES, SCORE_CREATE, TRACE_CREATE
from skyglass.domain.score_rules import score_value

EVENTS = Path(__file__).resolve().parents[1] / "events"
TS = "2026-01-01T10:00:00.000Z"


def recorded(name: str) -> dict[str, Any]:
    return json.loads((EVENTS / name).read_text())


def event(event_type: str, body: Any, **envelope: Any) -> dict[str, Any]:
    return {"id": "evt-1", "type": event_type, "timestamp": TS, "body": body, **envelope}


def rejection(raw: Any) -> str:
    with pytest.raises(EventRejected) as info:
        validate_event(raw)
    return info.value.error


MINIMAL_BODIES: dict[str, dict[str, Any]] = {
    "trace-create": {},
    "score-create": {"name": "q", "value": 1, "traceId": "t"},
    "sdk-log": {"log": "hello"},
    "observation-create": {"type": "SPAN"},
    "observation-update": {"id": "o", "type": "GENERATION"},
}


@pytest.mark.parametrize("event_type", sorted(EVENT_TYPES))
def test_every_public_event_type_accepts_its_minimal_body(event_type):
    # Given the smallest valid body of each type (observations need only their id)
    body = MINIMAL_BODIES.get(event_type, {"id": "obs-1"})
    # When it is validated
    checked = validate_event(event(event_type, body))
    # Then it passes with its type and envelope id
    assert checked.type == event_type
    assert checked.id == "evt-1"


def test_recorded_sdk_v2_batch_validates_event_by_event():
    # Given a batch recorded from langfuse==2.60.10 on the wire
    batch, metadata = split_envelope(recorded("ingestion_sdk_v2_batch.json")["body"])
    # When every event is validated
    types = [validate_event(raw).type for raw in batch]
    # Then all pass, covering the v2 vocabulary
    assert set(types) == {
        "trace-create",
        "span-create",
        "span-update",
        "generation-create",
        "generation-update",
        "event-create",
        "score-create",
    }
    assert metadata["sdk_name"] == "python"


def test_events_that_get_stored_are_all_known_to_the_worker():
    # Given the types the worker maps into entities
    worker_types = {TRACE_CREATE, SCORE_CREATE, *OBSERVATION_EVENT_TYPES}
    # Then every stored public type is one of them (the worker rejects whole blobs otherwise)
    assert set(EVENT_TYPES - NOT_STORED_EVENT_TYPES) == worker_types


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("not an object", "must be a JSON object"),
        ({"type": "trace-create", "timestamp": TS, "body": {}}, "id: Field required"),
        ({"id": "e", "timestamp": TS, "body": {}}, "type: Field required"),
        ({"id": "e", "type": "trace-create", "body": {}}, "timestamp: Field required"),
        ({"id": "e", "type": "trace-create", "timestamp": TS}, "body: Field required"),
        (event("trace-create", {}, timestamp="2026-01-01T10:00:00"), "timestamp: must be an ISO-8601"),
        (event("trace-create", {}, timestamp=1767261600), "timestamp: Input should be a valid string"),
        (event("trace-create", {}, id="x" * 801), "id: String should have at most 800"),
        (event("trace-create", {}, id="a\rb"), "id: must not contain carriage return"),
        (event("trace-create", {}, id=""), "id: String should have at least 1"),
        (event("foo-create", {}), "unknown event type 'foo-create'"),
        (event("dataset-run-item-create", {"traceId": "t"}), "internal-only"),
        (event("span-create", {"name": "no id"}), "body.id: Field required"),
        (event("span-create", {"id": "s", "level": "LOUD"}), "body.level: Input should be"),
        (event("span-create", {"id": "s", "startTime": "yesterday"}), "body.startTime: must be an ISO-8601"),
        (event("span-update", {"id": "s", "endTime": "2026-01-01"}), "body.endTime: must be an ISO-8601"),
        (event("generation-create", {"id": "g", "promptName": "p"}), "promptName and promptVersion"),
        (event("generation-update", {"id": "g", "promptVersion": 2}), "promptName and promptVersion"),
        (
            event("generation-create", {"id": "g", "promptName": "p", "promptVersion": 1.5}),
            "must be an integer",
        ),
        (
            event("generation-create", {"id": "g", "usage": {"input": "5"}}),
            "body.usage.input: Input should be",
        ),
        (event("generation-create", {"id": "g", "usage": {"unit": "BYTES"}}), "body.usage.unit"),
        (
            event("generation-create", {"id": "g", "usageDetails": {"input": -1}}),
            "body.usageDetails: must map",
        ),
        (event("generation-create", {"id": "g", "usageDetails": {"input": 1.5}}), "body.usageDetails"),
        (event("generation-create", {"id": "g", "costDetails": {"total": -0.1}}), "body.costDetails.total"),
        (event("generation-create", {"id": "g", "costDetails": {"total": "0.1"}}), "body.costDetails.total"),
        (
            event("tool-create", {"id": "g", "modelParameters": {"x": {"a": 1}}}),
            "body.modelParameters: x: must",
        ),
        (event("trace-create", {"public": "yes"}), "body.public: Input should be a valid boolean"),
        (event("trace-create", {"environment": "Prod"}), "body.environment"),
        (event("trace-create", {"environment": "langfuse-internal"}), "must not start with 'langfuse'"),
        (event("trace-create", {"environment": "e" * 41}), "body.environment"),
        (event("trace-create", {"name": "n" * 1001}), "body.name: String should have at most 1000"),
        (event("trace-create", {"tags": ["a", 1]}), "body.tags.1: Input should be a valid string"),
        (event("trace-create", {"userId": 42}), "body.userId: Input should be a valid string"),
        (event("observation-create", {"type": "BLOB"}), "body.type: Input should be"),
        (event("sdk-log", {}), "body.log: Field required"),
        (event("score-create", {"name": "q", "value": 1}), "exactly one of traceId"),
        (event("event-create", "not an object"), "body: Input should be"),
    ],
)
def test_invalid_events_are_rejected_naming_the_field(raw, expected):
    # Given an event that breaks one rule; When validated; Then the error names field and reason
    assert expected in rejection(raw)


@pytest.mark.parametrize(
    "body",
    [
        {"id": "g", "promptName": "p", "promptVersion": 3.0},  # JSON numbers: 3.0 is an integer
        {"id": "g", "usage": {"input": 10.0, "output": 5, "total": 15, "unit": "TOKENS", "totalCost": 0.1}},
        {"id": "g", "usage": {"promptTokens": 3, "completionTokens": 4, "totalTokens": 7}},
        {"id": "g", "usageDetails": {"input": 10, "output": 5, "cache_read": "2", "x": None}},
        {
            "id": "g",
            "usageDetails": {
                "prompt_tokens": 10,
                "completion_tokens": 5,
                "total_tokens": 15,
                "prompt_tokens_details": {"cached_tokens": 2, "audio_tokens": None},
            },
        },
        {"id": "g", "usageDetails": {"input_tokens": 1, "output_tokens": 2, "total_tokens": 3}},
        {"id": "g", "modelParameters": {"t": 0.1, "stop": ["\n"], "stream": True, "fmt": {"type": "json"}}},
        {"id": "g", "costDetails": {"input": 0, "output": 0.5, "other": None}},
        {"id": "g", "input": {"any": ["json", 1, None]}, "metadata": [1, 2], "output": 3},
    ],
)
def test_generation_bodies_langfuse_accepts_are_accepted(body):
    # Given shapes the Langfuse zod schema accepts; When validated; Then no error
    assert validate_event(event("generation-create", body)).body.id == "g"  # type: ignore[attr-defined]


def test_openai_usage_details_with_unknown_keys_is_refused():
    # Given an OpenAI-style usage object with nested details and a stray key (strict in Langfuse)
    usage = {
        "prompt_tokens": 1,
        "completion_tokens": 2,
        "total_tokens": 3,
        "prompt_tokens_details": {},
        "x": 1,
    }
    # Then it is neither a flat count map nor an OpenAI usage object
    assert "body.usageDetails" in rejection(event("generation-create", {"id": "g", "usageDetails": usage}))


def test_snake_case_field_names_are_not_read_as_the_camel_case_ones():
    # Given a score that names its trace as trace_id (the worker only reads traceId)
    raw = event("score-create", {"name": "q", "value": 1, "trace_id": "t"})
    # Then it has no subject
    assert "exactly one of traceId" in rejection(raw)


def test_unknown_keys_are_ignored_like_zod_does():
    # Given an event and body with keys the schema does not know
    raw = event("trace-create", {"id": "t", "somethingNew": 1}, extra="x")
    # Then the event passes
    assert validate_event(raw).type == "trace-create"


def test_many_issues_are_summarised():
    # Given a body with five errors
    with pytest.raises(ValidationError) as info:
        TraceBody.model_validate({"name": 1, "userId": 2, "sessionId": 3, "release": 4, "version": 5})
    # When described
    text = describe_validation_error(info.value)
    # Then three are named and the rest counted
    assert text.count("Input should be a valid string") == 3
    assert text.endswith("(+2 more)")


def test_event_id_of_reports_only_string_ids():
    # Then events without a usable id are reported as "unknown" (the spec's id is a string)
    assert event_id_of({"id": "e1"}) == "e1"
    assert event_id_of({"id": 5}) == "unknown"
    assert event_id_of(["e1"]) == "unknown"


@pytest.mark.parametrize(
    ("payload", "expected"),
    [
        ([], "got array"),
        ("batch", "got str"),
        ({"metadata": {}}, "batch: Field required"),
        ({"batch": {"id": "e"}}, "batch: must be an array, got dict"),
        ({"batch": None}, "batch: must be an array, got NoneType"),
    ],
)
def test_envelope_problems_are_named(payload, expected):
    with pytest.raises(ValueError) as info:
        split_envelope(payload)
    assert expected in str(info.value)


def test_envelope_without_metadata_is_fine():
    assert split_envelope({"batch": []}) == ([], None)


# --- scores ---------------------------------------------------------------------------------


def score(**fields: Any) -> dict[str, Any]:
    return {"name": "quality", "value": 0.5, "traceId": "t1", **fields}


@pytest.mark.parametrize(
    ("raw", "data_type"),
    [
        (score(), "NUMERIC"),
        (score(value=3), "NUMERIC"),
        (score(value="good"), "CATEGORICAL"),
        (score(value=True), "BOOLEAN"),
        (score(value=1, dataType="BOOLEAN"), "BOOLEAN"),
        (score(value=0.0, dataType="BOOLEAN"), "BOOLEAN"),
        (score(value=False, dataType="BOOLEAN"), "BOOLEAN"),
        (score(value=True, dataType="NUMERIC"), "NUMERIC"),
        (score(value="x", dataType="CATEGORICAL"), "CATEGORICAL"),
        (score(value="a long answer", dataType="TEXT"), "TEXT"),
        (score(value="the corrected answer", dataType="CORRECTION"), "CORRECTION"),
        (score(value="", dataType="CORRECTION", observationId="o1", source="ANNOTATION"), "CORRECTION"),
        (score(observationId="o1"), "NUMERIC"),
        ({"name": "s", "value": 1, "sessionId": "s1"}, "NUMERIC"),
        ({"name": "r", "value": 1, "datasetRunId": "r1"}, "NUMERIC"),
        (score(source="API"), "NUMERIC"),
        (score(source="ANNOTATION", configId="cfg-1"), "NUMERIC"),
        (score(timestamp="2026-01-01T10:00:00+02:00", environment="prod", metadata="any"), "NUMERIC"),
    ],
)
def test_valid_scores_get_an_explicit_data_type(raw, data_type):
    # Given a valid score; When validated and normalised for storage
    checked = ScoreBody.model_validate(raw)
    body = wire_score_body(raw, checked)
    # Then the stored body names its data type and keeps a number for booleans
    assert body["dataType"] == data_type
    if data_type == "BOOLEAN":
        assert body["value"] in (0.0, 1.0) and not isinstance(body["value"], bool)
    # And the worker's score rules can store it (an accepted score must never be dropped)
    assert score_value(body["value"], body["dataType"]) is not None


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ({"value": 1, "traceId": "t"}, "name: Field required"),
        (score(name=""), "name: String should have at least 1"),
        ({"name": "q", "traceId": "t"}, "value: Field required"),
        (score(value=None), "value must be a number or a string"),
        (score(value=[1]), "value must be a number or a string"),
        (score(value="1", dataType="NUMERIC"), "value must be a number for dataType NUMERIC"),
        (score(value=2, dataType="BOOLEAN"), "must be 0 or 1"),
        (score(value="true", dataType="BOOLEAN"), "must be 0 or 1"),
        (score(value=True, dataType="CATEGORICAL"), "must be a string for dataType CATEGORICAL"),
        (score(value=2, dataType="CATEGORICAL"), "must be a string for dataType CATEGORICAL"),
        (score(value="", dataType="TEXT"), "1 to 500 characters for dataType TEXT"),
        (score(value="x" * 501, dataType="TEXT"), "1 to 500 characters for dataType TEXT"),
        (score(value=1, dataType="TEXT"), "1 to 500 characters for dataType TEXT"),
        (
            score(value=1, dataType="CORRECTION"),
            "must be a string (the corrected output) for dataType CORRECTION",
        ),
        (
            {"name": "output", "value": "fix", "dataType": "CORRECTION", "sessionId": "s1"},
            "CORRECTION scores belong to a trace or an observation, not to a session",
        ),
        (
            {"name": "output", "value": "fix", "dataType": "CORRECTION", "datasetRunId": "r1"},
            "not to a session or dataset run",
        ),
        (score(value="fix", dataType="CORRECTION", configId="c1"), "cannot reference a score config"),
        (score(dataType="PERCENT"), "dataType: Input should be"),
        ({"name": "q", "value": 1}, "exactly one of traceId"),
        (score(sessionId="s1"), "exactly one of traceId"),
        ({"name": "q", "value": 1, "sessionId": "s", "datasetRunId": "r"}, "exactly one of traceId"),
        ({"name": "q", "value": 1, "sessionId": "s", "observationId": "o"}, "observationId requires traceId"),
        (
            {"name": "q", "value": 1, "traceId": "", "sessionId": "s", "observationId": "o"},
            "requires traceId",
        ),
        (score(source="EVAL"), "EVAL is reserved"),
        (score(source="USER"), "source must be API or ANNOTATION"),
        (score(source="ANNOTATION"), "source ANNOTATION requires configId"),
        (score(timestamp="2026-01-01T10:00:00"), "timestamp: must be an ISO-8601"),
        (score(environment="Production"), "environment"),
        (score(comment=5), "comment: Input should be a valid string"),
        (score(id="a\rb"), "id: must not contain carriage return"),
    ],
)
def test_invalid_scores_say_which_rule_they_break(raw, expected):
    with pytest.raises(ValidationError) as info:
        ScoreBody.model_validate(raw)
    assert expected in describe_validation_error(info.value)


def test_empty_subject_ids_are_dropped_from_the_stored_body():
    # Given a session score that also sends an empty traceId
    raw = {"name": "q", "value": 1, "sessionId": "s1", "traceId": ""}
    # When normalised
    body = wire_score_body(raw, ScoreBody.model_validate(raw))
    # Then the worker never sees traceId ""
    assert "traceId" not in body
    assert body["sessionId"] == "s1"
    assert raw["traceId"] == ""  # the caller's dict is not changed


def test_recorded_sdk_v5_scores_all_validate():
    # Given the array langfuse==5.0.4 posts to /api/public/scores
    scores = recorded("scores_sdk_v5_array.json")["body"]
    # Then each item is a valid CreateScoreRequest
    checked = [ScoreBody.model_validate(item) for item in scores]
    assert [s.name for s in checked] == ["quality", "helpful", "label", "session-rating", "run-accuracy"]


@pytest.mark.parametrize(
    "text", ["2026-01-01T10:00:00Z", "2026-01-01T10:00:00.123456789+05:30", "2026-01-01 10:00Z"]
)
def test_timestamps_with_an_offset_parse(text):
    assert parse_timestamp(text).utcoffset() is not None


@pytest.mark.parametrize("text", ["2026-01-01T10:00:00", "2026-01-01", "soon"])
def test_timestamps_without_an_offset_do_not(text):
    with pytest.raises(ValueError):
        parse_timestamp(text)


def test_body_models_cover_the_langfuse_vocabulary():
    # Then the public event types are exactly Langfuse's, plus the typed observation creates
    assert set(BODY_MODELS) == {
        "trace-create",
        "score-create",
        "span-create",
        "span-update",
        "generation-create",
        "generation-update",
        "event-create",
        "agent-create",
        "tool-create",
        "chain-create",
        "retriever-create",
        "evaluator-create",
        "embedding-create",
        "guardrail-create",
        "observation-create",
        "observation-update",
        "sdk-log",
    }
