"""Allow-lists: the filterable wire columns of each entity and the SQL each one stands for.

Only these expressions ever reach SQL text; user input selects among them by name and supplies
values that are bound as parameters. ``Via`` columns are evaluated on another table and matched
back through an id (an observation's trace attributes, a trace's aggregated observations or
scores), so the main query never needs a join.
"""

from __future__ import annotations

from dataclasses import dataclass

STRING = frozenset({"string", "stringOptions", "categoryOptions"})
NULLABLE_STRING = STRING | {"null"}
NUMBER = frozenset({"number"})
DATETIME = frozenset({"datetime"})
NULLABLE_DATETIME = DATETIME | {"null"}
BOOLEAN = frozenset({"boolean"})
ARRAY = frozenset({"arrayOptions", "stringOptions", "categoryOptions"})
MAP = frozenset({"stringObject", "numberObject", "booleanObject", "categoryOptions", "stringOptions", "null"})


@dataclass(frozen=True, slots=True)
class Via:
    """Evaluate on ``table`` and keep rows whose ``link`` is among the matching ``select`` values."""

    link: str  # column of the filtered row
    table: str  # traces | observations | scores
    select: str  # column of ``table`` compared with ``link``
    aggregate: bool = False  # the expression is an aggregate: GROUP BY select HAVING …
    where: str = ""  # fixed extra condition on ``table``
    key_column: str | None = None  # keyed types: the condition's ``key`` must equal this column
    absent: float | None = None  # aggregate value of a row with no related rows (None: no match)


@dataclass(frozen=True, slots=True)
class Column:
    expr: str
    types: frozenset[str]
    kind: str = "scalar"  # scalar | array | map
    via: Via | None = None
    case_sensitive_match: bool = False  # the ``matches`` operator (metadata values are exact)


def _contains_keys(map_column: str, part: str) -> str:
    return f"arraySum(mapValues(mapFilter((k, v) -> position(k, '{part}') > 0, {map_column})))"


_INPUT_TOKENS = _contains_keys("usage_details", "input")
_OUTPUT_TOKENS = _contains_keys("usage_details", "output")
_INPUT_COST = f"toFloat64({_contains_keys('cost_details', 'input')})"
_OUTPUT_COST = f"toFloat64({_contains_keys('cost_details', 'output')})"
_LATENCY = "date_diff('millisecond', start_time, end_time) / 1000"

# Trace attributes as seen from an observation or a score row (link: trace_id).
_TRACE_OF_ROW = Via(link="trace_id", table="traces", select="id")


def _trace_attrs() -> dict[str, Column]:
    return {
        "userId": Column("user_id", NULLABLE_STRING, via=_TRACE_OF_ROW),
        "sessionId": Column("session_id", NULLABLE_STRING, via=_TRACE_OF_ROW),
        "traceName": Column("name", NULLABLE_STRING, via=_TRACE_OF_ROW),
        "traceEnvironment": Column("environment", STRING, via=_TRACE_OF_ROW),
        "traceTags": Column("tags", ARRAY, kind="array", via=_TRACE_OF_ROW),
    }


def _obs_agg(expr: str, types: frozenset[str] = NUMBER, absent: float | None = 0.0) -> Column:
    return Column(
        expr,
        types,
        via=Via(link="id", table="observations", select="trace_id", aggregate=True, absent=absent),
    )


def _score_of_trace(expr: str, types: frozenset[str], data_type: str, *, aggregate: bool = False) -> Column:
    via = Via(
        link="id",
        table="scores",
        select="trace_id",
        aggregate=aggregate,
        where=f"data_type = '{data_type}'",
        key_column="name",
    )
    return Column(expr, types, via=via)


_LEVEL = (
    "multiIf(countIf(level = 'ERROR') > 0, 'ERROR', countIf(level = 'WARNING') > 0, 'WARNING', "
    "countIf(level = 'DEFAULT') > 0, 'DEFAULT', 'DEBUG')"
)

TRACE_COLUMNS: dict[str, Column] = {
    "id": Column("id", STRING),
    "name": Column("name", NULLABLE_STRING),
    "timestamp": Column("timestamp", DATETIME),
    "userId": Column("user_id", NULLABLE_STRING),
    "sessionId": Column("session_id", NULLABLE_STRING),
    "environment": Column("environment", STRING),
    "version": Column("version", NULLABLE_STRING),
    "release": Column("release", NULLABLE_STRING),
    "tags": Column("tags", ARRAY, kind="array"),
    "bookmarked": Column("bookmarked", BOOLEAN),
    "public": Column("public", BOOLEAN),
    "metadata": Column("metadata", MAP, kind="map", case_sensitive_match=True),
    "input": Column("input", NULLABLE_STRING),
    "output": Column("output", NULLABLE_STRING),
    "latency": _obs_agg(
        "date_diff('millisecond', least(min(start_time), min(coalesce(end_time, start_time))), "
        "greatest(max(start_time), max(coalesce(end_time, start_time)))) / 1000"
    ),
    "inputTokens": _obs_agg(f"sum({_INPUT_TOKENS})"),
    "outputTokens": _obs_agg(f"sum({_OUTPUT_TOKENS})"),
    "totalTokens": _obs_agg("sum(usage_details['total'])"),
    "tokens": _obs_agg("sum(usage_details['total'])"),
    "inputCost": _obs_agg(f"sum({_INPUT_COST})"),
    "outputCost": _obs_agg(f"sum({_OUTPUT_COST})"),
    "totalCost": _obs_agg("toFloat64(sum(coalesce(total_cost, 0)))"),
    "level": _obs_agg(_LEVEL, STRING, absent=None),
    "warningCount": _obs_agg("countIf(level = 'WARNING')"),
    "errorCount": _obs_agg("countIf(level = 'ERROR')"),
    "defaultCount": _obs_agg("countIf(level = 'DEFAULT')"),
    "debugCount": _obs_agg("countIf(level = 'DEBUG')"),
    "scores_avg": _score_of_trace("avg(value)", NUMBER | {"numberObject"}, "NUMERIC", aggregate=True),
    "scores": _score_of_trace("avg(value)", NUMBER | {"numberObject"}, "NUMERIC", aggregate=True),
    "score_categories": _score_of_trace("string_value", STRING, "CATEGORICAL"),
    "score_booleans": _score_of_trace("value = 1", frozenset({"booleanObject"}), "BOOLEAN"),
}

OBSERVATION_COLUMNS: dict[str, Column] = {
    "id": Column("id", STRING),
    "type": Column("type", STRING),
    "name": Column("name", NULLABLE_STRING),
    "traceId": Column("trace_id", STRING),
    "startTime": Column("start_time", DATETIME),
    "endTime": Column("end_time", NULLABLE_DATETIME),
    "completionStartTime": Column("completion_start_time", NULLABLE_DATETIME),
    "environment": Column("environment", STRING),
    "level": Column("level", STRING),
    "statusMessage": Column("status_message", NULLABLE_STRING),
    "version": Column("version", NULLABLE_STRING),
    "parentObservationId": Column("parent_observation_id", NULLABLE_STRING),
    "isRootObservation": Column("parent_observation_id IS NULL", BOOLEAN),
    "latency": Column(_LATENCY, NUMBER | {"null"}),
    "timeToFirstToken": Column(
        "date_diff('millisecond', start_time, completion_start_time) / 1000", NUMBER | {"null"}
    ),
    "tokensPerSecond": Column(
        f"if(end_time > start_time, {_OUTPUT_TOKENS} / ({_LATENCY}), NULL)", NUMBER | {"null"}
    ),
    "inputTokens": Column(_INPUT_TOKENS, NUMBER),
    "outputTokens": Column(_OUTPUT_TOKENS, NUMBER),
    "totalTokens": Column("usage_details['total']", NUMBER),
    "tokens": Column("usage_details['total']", NUMBER),
    "inputCost": Column(_INPUT_COST, NUMBER),
    "outputCost": Column(_OUTPUT_COST, NUMBER),
    "totalCost": Column("toFloat64(total_cost)", NUMBER | {"null"}),
    "model": Column("provided_model_name", NULLABLE_STRING),
    "providedModelName": Column("provided_model_name", NULLABLE_STRING),
    "promptName": Column("prompt_name", NULLABLE_STRING),
    "promptVersion": Column("prompt_version", NUMBER | {"null"}),
    "metadata": Column("metadata", MAP, kind="map", case_sensitive_match=True),
    "input": Column("input", NULLABLE_STRING),
    "output": Column("output", NULLABLE_STRING),
    **_trace_attrs(),
    "tags": Column("tags", ARRAY, kind="array", via=_TRACE_OF_ROW),
}

SCORE_COLUMNS: dict[str, Column] = {
    "id": Column("id", STRING),
    "name": Column("name", STRING),
    "value": Column("value", NUMBER),
    "stringValue": Column("string_value", NULLABLE_STRING),
    "source": Column("source", STRING),
    "dataType": Column("data_type", STRING),
    "timestamp": Column("timestamp", DATETIME),
    "environment": Column("environment", STRING),
    "traceId": Column("trace_id", NULLABLE_STRING),
    "observationId": Column("observation_id", NULLABLE_STRING),
    "sessionId": Column("session_id", NULLABLE_STRING),
    "datasetRunId": Column("dataset_run_id", NULLABLE_STRING),
    "configId": Column("config_id", NULLABLE_STRING),
    "queueId": Column("queue_id", NULLABLE_STRING),
    "authorUserId": Column("author_user_id", NULLABLE_STRING),
    "comment": Column("comment", NULLABLE_STRING),
    "metadata": Column("metadata", MAP, kind="map", case_sensitive_match=True),
    "userId": Column("user_id", NULLABLE_STRING, via=_TRACE_OF_ROW),
    "traceName": Column("name", NULLABLE_STRING, via=_TRACE_OF_ROW),
    "traceTags": Column("tags", ARRAY, kind="array", via=_TRACE_OF_ROW),
}
