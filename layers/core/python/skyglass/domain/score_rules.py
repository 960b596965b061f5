"""Score inflation (compat §2.4): one ``score-create`` body → the full ``ScoreRecord``, or ``None``.

Scores are complete objects, not partial events, so there is no merge: the newest event of a
score id wins through the row version (``event_ts`` = the event timestamp). Like Langfuse, a score
whose value does not fit its data type is dropped rather than stored half-valid.

* ``dataType`` omitted → NUMERIC for numbers, CATEGORICAL for strings;
* BOOLEAN: value 0/1 → ``string_value`` ``"True"``/``"False"``;
* CATEGORICAL: the label in ``string_value``, ``value`` 0 (no score config mapping yet);
* TEXT: 1-500 characters in ``string_value``, ``value`` 0;
* CORRECTION (a corrected output of the trace or observation): the text in ``string_value``,
  ``value`` 0, the name always ``"output"``; not allowed on sessions or dataset runs;
* ``source`` defaults to API, ``environment`` is normalised, ``timestamp`` defaults to the event time.
"""

from __future__ import annotations

import math
from datetime import datetime
from typing import Any

from skyglass.domain.environment import normalize_environment
from skyglass.domain.merge_rules import as_str, metadata_from_body
from skyglass.domain.records import ScoreDataType, ScoreRecord, ScoreSource
from skyglass.domain.timeutil import parse_optional

MAX_TEXT_LENGTH = 500
CORRECTION_NAME = "output"  # every correction score has this name, whatever was sent (as Langfuse)
_SOURCES = frozenset(source.value for source in ScoreSource)


def _number(value: Any) -> float | None:
    if isinstance(value, bool):
        return 1.0 if value else 0.0
    if isinstance(value, int | float) and math.isfinite(value):
        return float(value)
    return None


def score_value(value: Any, data_type: Any) -> tuple[str, float, str | None] | None:
    """``(data_type, value, string_value)`` for a body value, or ``None`` when they do not fit."""
    declared = data_type.upper() if isinstance(data_type, str) else None
    if declared is None:
        if isinstance(value, bool):
            declared = ScoreDataType.BOOLEAN.value
        elif isinstance(value, str):
            declared = ScoreDataType.CATEGORICAL.value
        else:
            declared = ScoreDataType.NUMERIC.value
    if declared == ScoreDataType.NUMERIC:
        number = None if isinstance(value, bool) else _number(value)
        return None if number is None else (declared, number, None)
    if declared == ScoreDataType.BOOLEAN:
        number = _number(value)
        if number not in (0.0, 1.0):
            return None
        return declared, number, "True" if number == 1.0 else "False"
    if declared == ScoreDataType.CATEGORICAL:
        return (declared, 0.0, value) if isinstance(value, str) else None
    if declared == ScoreDataType.TEXT:
        ok = isinstance(value, str) and 0 < len(value) <= MAX_TEXT_LENGTH
        return (declared, 0.0, value) if ok else None
    if declared == ScoreDataType.CORRECTION:
        return (declared, 0.0, value) if isinstance(value, str) else None
    return None  # an unknown type


def inflate_score(
    project_id: str,
    score_id: str,
    body: dict[str, Any],
    *,
    event_timestamp: datetime,
    received_at: datetime,
) -> ScoreRecord | None:
    """The stored score for one accepted ``score-create`` body; ``None`` drops it (invalid)."""
    name = body.get("name")
    if not isinstance(name, str) or not name:
        return None
    inflated = score_value(body.get("value"), body.get("dataType"))
    if inflated is None:
        return None
    data_type, value, string_value = inflated
    if data_type == ScoreDataType.CORRECTION:
        if body.get("sessionId") or body.get("datasetRunId") or body.get("configId"):
            return None
        name = CORRECTION_NAME
    source = body.get("source")
    source = source.upper() if isinstance(source, str) else ""
    return ScoreRecord(
        id=score_id,
        project_id=project_id,
        timestamp=parse_optional(body.get("timestamp")) or event_timestamp,
        name=name,
        value=value,
        data_type=data_type,
        source=source if source in _SOURCES else ScoreSource.API.value,
        environment=normalize_environment(body.get("environment")),
        trace_id=as_str(body.get("traceId")),
        observation_id=as_str(body.get("observationId")),
        session_id=as_str(body.get("sessionId")),
        dataset_run_id=as_str(body.get("datasetRunId")),
        string_value=string_value,
        comment=as_str(body.get("comment")),
        metadata=metadata_from_body(body.get("metadata")),
        author_user_id=as_str(body.get("authorUserId")),
        config_id=as_str(body.get("configId")),
        queue_id=as_str(body.get("queueId")),
        execution_trace_id=as_str(body.get("executionTraceId")),
        created_at=received_at,
        updated_at=received_at,
        event_ts=event_timestamp,
    )
