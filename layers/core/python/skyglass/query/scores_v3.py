"""Use case: ``GET /v3/scores`` — cursor pages, csv filters, typed ``value``, field groups."""

from __future__ import annotations

import math
from typing import Any

from skyglass.contracts.public_api import GetScoresV3Meta, GetScoresV3Response, ScoreSubjectV3, ScoreV3
from skyglass.domain.filters import FilterCondition
from skyglass.domain.queries import SCORE_V3_FIELD_GROUPS, ScoreCursor, ScoreV3Query, parse_field_groups
from skyglass.domain.records import ScoreRecord
from skyglass.errors import InvalidRequest
from skyglass.ports.analytics_reads import AnalyticsReader
from skyglass.query.mapping import decode_metadata
from skyglass.query.params import QueryParams
from skyglass.query.scores import SCORE_DATA_TYPES, SCORE_SOURCES

MAX_LIMIT = 100
_CSV_COLUMNS = (
    ("id", "id"),
    ("name", "name"),
    ("environment", "environment"),
    ("configId", "configId"),
    ("queueId", "queueId"),
    ("authorUserId", "authorUserId"),
    ("traceId", "traceId"),
    ("sessionId", "sessionId"),
    ("observationId", "observationId"),
    ("experimentId", "datasetRunId"),
)


def _upper_csv(params: QueryParams, name: str, allowed: tuple[str, ...]) -> list[str]:
    values = [v.upper() for v in params.csv(name)]
    unknown = [v for v in values if v not in allowed]
    if unknown:
        raise InvalidRequest(f"Invalid {name} parameter: {', '.join(unknown)} (use {', '.join(allowed)}).")
    return values


def _check_subjects(params: QueryParams) -> None:
    given = [name for name in ("traceId", "sessionId", "experimentId") if params.csv(name)]
    if len(given) > 1:
        raise InvalidRequest(f"Invalid parameters: {' and '.join(given)} are mutually exclusive.")
    if params.csv("observationId") and not params.csv("traceId"):
        raise InvalidRequest(
            "Invalid observationId parameter: it requires traceId (observation ids are per trace)."
        )


def _value_conditions(params: QueryParams, data_types: list[str]) -> list[FilterCondition]:
    values, low, high = params.csv("value"), params.number("valueMin"), params.number("valueMax")
    out: list[FilterCondition] = []
    if values:
        if len(data_types) != 1 or data_types[0] not in ("NUMERIC", "BOOLEAN", "CATEGORICAL"):
            raise InvalidRequest(
                "Invalid value parameter: it requires exactly one dataType of NUMERIC, BOOLEAN or CATEGORICAL."
            )
        if data_types[0] == "CATEGORICAL":
            out.append(FilterCondition("stringOptions", "stringValue", "any of", tuple(values)))
        elif data_types[0] == "BOOLEAN":
            if any(v.lower() not in ("true", "false") for v in values):
                raise InvalidRequest("Invalid value parameter: BOOLEAN values must be true or false.")
            out.append(
                FilterCondition(
                    "numberOptions", "value", "any of", tuple(float(v.lower() == "true") for v in values)
                )
            )
        else:
            try:
                numbers = tuple(float(v) for v in values)
            except ValueError:
                numbers = (math.nan,)
            if not all(math.isfinite(n) for n in numbers):
                raise InvalidRequest("Invalid value parameter: NUMERIC values must be finite numbers.")
            out.append(FilterCondition("numberOptions", "value", "any of", numbers))
    if low is not None or high is not None:
        if data_types != ["NUMERIC"]:
            raise InvalidRequest("Invalid valueMin/valueMax parameters: they require dataType=NUMERIC.")
        if low is not None:
            out.append(FilterCondition("number", "value", ">=", low))
        if high is not None:
            out.append(FilterCondition("number", "value", "<=", high))
    return out


def score_v3_conditions(params: QueryParams) -> list[FilterCondition]:
    """Every v3 filter parameter as conditions (csv lists are OR within, AND across)."""
    _check_subjects(params)
    out = [
        FilterCondition("stringOptions", column, "any of", tuple(values))
        for param, column in _CSV_COLUMNS
        if (values := params.csv(param))
    ]
    sources = _upper_csv(params, "source", SCORE_SOURCES)
    if sources:
        out.append(FilterCondition("stringOptions", "source", "any of", tuple(sources)))
    data_types = _upper_csv(params, "dataType", SCORE_DATA_TYPES)
    if data_types:
        out.append(FilterCondition("stringOptions", "dataType", "any of", tuple(data_types)))
    out += _value_conditions(params, data_types)
    start, end = params.datetime("fromTimestamp"), params.datetime("toTimestamp")
    if start is not None:
        out.append(FilterCondition("datetime", "timestamp", ">=", start))
    if end is not None:
        out.append(FilterCondition("datetime", "timestamp", "<", end))
    return out


def list_scores_v3(reader: AnalyticsReader, project_id: str, params: QueryParams) -> GetScoresV3Response:
    """Newest first by (timestamp, id); ``meta.cursor`` only when a next page exists."""
    limit = params.integer("limit", default=50, minimum=1, maximum=MAX_LIMIT)
    groups = parse_field_groups(params.get("fields"), SCORE_V3_FIELD_GROUPS)
    raw_cursor = params.text("cursor")
    query = ScoreV3Query(
        project_id=project_id,
        limit=limit,
        filters=tuple(score_v3_conditions(params)),
        cursor=ScoreCursor.decode(raw_cursor) if raw_cursor else None,
    )
    records = reader.list_scores_v3(query)
    page = records[:limit]
    meta = GetScoresV3Meta(limit=limit)
    if len(records) > limit and page:
        meta = GetScoresV3Meta(limit=limit, cursor=ScoreCursor(page[-1].timestamp, page[-1].id).encode())
    return GetScoresV3Response(data=[to_score_v3(r, groups) for r in page], meta=meta)


def score_v3_value(record: ScoreRecord) -> bool | float | str:
    """NUMERIC → number, BOOLEAN → boolean, CATEGORICAL/TEXT/CORRECTION → string."""
    if record.data_type == "NUMERIC":
        return record.value
    if record.data_type == "BOOLEAN":
        return record.value == 1
    return record.string_value or ""


def score_subject(record: ScoreRecord) -> ScoreSubjectV3 | None:
    if record.observation_id:
        return ScoreSubjectV3(kind="observation", id=record.observation_id, trace_id=record.trace_id)
    if record.trace_id:
        return ScoreSubjectV3(kind="trace", id=record.trace_id)
    if record.session_id:
        return ScoreSubjectV3(kind="session", id=record.session_id)
    if record.dataset_run_id:
        return ScoreSubjectV3(kind="experiment", id=record.dataset_run_id)
    return None


def to_score_v3(record: ScoreRecord, groups: frozenset[str]) -> ScoreV3:
    fields: dict[str, Any] = {
        "id": record.id,
        "project_id": record.project_id,
        "name": record.name,
        "value": score_v3_value(record),
        "data_type": record.data_type,
        "source": record.source,
        "timestamp": record.timestamp,
        "environment": record.environment,
        "created_at": record.created_at or record.timestamp,
        "updated_at": record.updated_at or record.timestamp,
    }
    if "details" in groups:
        fields.update(
            comment=record.comment, config_id=record.config_id, metadata=decode_metadata(record.metadata)
        )
    if "annotation" in groups:
        fields.update(author_user_id=record.author_user_id, queue_id=record.queue_id)
    if "subject" in groups:
        fields["subject"] = score_subject(record)
    return ScoreV3(**fields)
