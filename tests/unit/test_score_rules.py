"""Score inflation: body → ScoreRecord, or dropped when the value does not fit (compat §2.4)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from skyglass.domain.score_rules import inflate_score

EVENT_TS = datetime(2026, 1, 1, 10, 0, tzinfo=UTC)
RECEIVED = datetime(2026, 1, 1, 10, 0, 5, tzinfo=UTC)


def inflate(body: dict[str, Any]):  # type: ignore[no-untyped-def]
    return inflate_score(
        "p1", "s1", {"name": "quality", **body}, event_timestamp=EVENT_TS, received_at=RECEIVED
    )


@pytest.mark.parametrize(
    ("body", "data_type", "value", "string_value"),
    [
        ({"value": 0.75}, "NUMERIC", 0.75, None),
        ({"value": 3}, "NUMERIC", 3.0, None),
        ({"value": "good"}, "CATEGORICAL", 0.0, "good"),
        ({"value": 1, "dataType": "BOOLEAN"}, "BOOLEAN", 1.0, "True"),
        ({"value": 0, "dataType": "BOOLEAN"}, "BOOLEAN", 0.0, "False"),
        ({"value": True}, "BOOLEAN", 1.0, "True"),
        ({"value": "bad", "dataType": "CATEGORICAL"}, "CATEGORICAL", 0.0, "bad"),
        ({"value": 2, "dataType": "NUMERIC"}, "NUMERIC", 2.0, None),
        ({"value": "some text", "dataType": "TEXT"}, "TEXT", 0.0, "some text"),
        ({"value": "x" * 5000, "dataType": "CORRECTION"}, "CORRECTION", 0.0, "x" * 5000),
    ],
)
def test_value_and_data_type(
    body: dict[str, Any], data_type: str, value: float, string_value: str | None
) -> None:
    # Given a score body; When inflated
    score = inflate(body)
    # Then data type, numeric value and string value follow the rules
    assert score is not None
    assert (score.data_type, score.value, score.string_value) == (data_type, value, string_value)


@pytest.mark.parametrize(
    "body",
    [
        {"value": 2, "dataType": "BOOLEAN"},
        {"value": "yes", "dataType": "NUMERIC"},
        {"value": 1, "dataType": "CATEGORICAL"},
        {"value": "", "dataType": "TEXT"},
        {"value": "x" * 501, "dataType": "TEXT"},
        {"value": 1, "dataType": "CORRECTION"},
        {"value": "fix", "dataType": "CORRECTION", "sessionId": "s1"},
        {"value": "fix", "dataType": "CORRECTION", "datasetRunId": "r1"},
        {"value": "fix", "dataType": "CORRECTION", "traceId": "t1", "configId": "c1"},
        {"value": "fix", "dataType": "PERCENT"},
        {"value": None},
        {"value": float("nan")},
        {"value": 1, "name": ""},
    ],
)
def test_invalid_scores_are_dropped(body: dict[str, Any]) -> None:
    assert inflate(body) is None


def test_a_correction_is_always_named_output() -> None:
    # Given a correction of an observation's output sent under another name
    score = inflate({"name": "fixed", "value": "the right answer", "dataType": "CORRECTION",
                     "traceId": "t1", "observationId": "o1"})  # fmt: skip
    # Then it is stored as Langfuse stores it: name "output", the text as string value, value 0
    assert score is not None
    assert (score.name, score.data_type, score.value, score.string_value) == (
        "output", "CORRECTION", 0.0, "the right answer"
    )  # fmt: skip
    assert (score.trace_id, score.observation_id) == ("t1", "o1")


def test_defaults_and_references() -> None:
    # Given a score with references but without source, environment or timestamp
    score = inflate(
        {
            "value": 1,
            "traceId": "t1",
            "observationId": "o1",
            "comment": "nice",
            "metadata": {"k": "v"},
            "configId": "c1",
            "queueId": "q1",
        }
    )
    # Then source is API, environment default, timestamp the event time, version the event time
    assert score is not None
    assert (score.source, score.environment, score.timestamp) == ("API", "default", EVENT_TS)
    assert (score.trace_id, score.observation_id, score.comment) == ("t1", "o1", "nice")
    assert (score.config_id, score.queue_id, score.metadata) == ("c1", "q1", {"k": '"v"'})
    assert (score.event_ts, score.created_at, score.updated_at) == (EVENT_TS, RECEIVED, RECEIVED)


def test_explicit_source_environment_and_timestamp() -> None:
    score = inflate(
        {
            "value": 1,
            "sessionId": "sess",
            "source": "annotation",
            "environment": "Langfuse-Prod",
            "timestamp": "2026-01-01T09:00:00.123456+01:00",
        }
    )
    assert score is not None
    assert (score.source, score.environment, score.session_id) == ("ANNOTATION", "prod", "sess")
    assert score.timestamp == datetime(2026, 1, 1, 8, 0, 0, 123000, tzinfo=UTC)
    assert score.id == "s1"


def test_unknown_source_falls_back_to_api() -> None:
    score = inflate({"value": 1, "source": "robot"})
    assert score is not None and score.source == "API"
