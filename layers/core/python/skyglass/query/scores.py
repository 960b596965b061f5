"""Use cases: v1/v2 score lists (``GetScoresResponse``) and one score by id."""

from __future__ import annotations

from skyglass.contracts.public_api import GetScoresResponse, MetaResponse, ScoreView
from skyglass.domain.filters import FilterCondition, merge_filters, parse_filter_param
from skyglass.domain.queries import SCORE_V2_FIELD_GROUPS, ScoreQuery, parse_field_groups
from skyglass.errors import InvalidRequest, NotFound
from skyglass.ports.analytics_reads import AnalyticsReader
from skyglass.query.mapping import to_score_view
from skyglass.query.params import QueryParams

SCORE_SOURCES = ("API", "ANNOTATION", "EVAL")
SCORE_DATA_TYPES = ("NUMERIC", "BOOLEAN", "CATEGORICAL", "CORRECTION", "TEXT")
VALUE_OPERATORS = ("<", ">", "<=", ">=", "!=", "=")


def score_conditions(params: QueryParams) -> list[FilterCondition]:
    """The simple query parameters of ``GET /v2/scores`` as filter conditions."""
    out: list[FilterCondition] = []
    for param, column in (
        ("userId", "userId"),
        ("name", "name"),
        ("configId", "configId"),
        ("sessionId", "sessionId"),
        ("datasetRunId", "datasetRunId"),
        ("traceId", "traceId"),
        ("queueId", "queueId"),
    ):
        value = params.text(param)
        if value is not None:
            out.append(FilterCondition("string", column, "=", value))
    source = params.choice("source", SCORE_SOURCES, upper=True)
    if source is not None:
        out.append(FilterCondition("string", "source", "=", source))
    data_type = params.choice("dataType", SCORE_DATA_TYPES, upper=True)
    if data_type is not None:
        out.append(FilterCondition("string", "dataType", "=", data_type))
    start, end = params.datetime("fromTimestamp"), params.datetime("toTimestamp")
    if start is not None:
        out.append(FilterCondition("datetime", "timestamp", ">=", start))
    if end is not None:
        out.append(FilterCondition("datetime", "timestamp", "<", end))
    environments = params.many("environment")
    if environments:
        out.append(FilterCondition("stringOptions", "environment", "any of", tuple(environments)))
    score_ids = params.csv("scoreIds")
    if score_ids:
        out.append(FilterCondition("stringOptions", "id", "any of", tuple(score_ids)))
    observation_ids = params.csv("observationId")
    if observation_ids:
        out.append(FilterCondition("stringOptions", "observationId", "any of", tuple(observation_ids)))
    tags = params.many("traceTags")
    if tags:
        out.append(FilterCondition("arrayOptions", "traceTags", "all of", tuple(tags)))
    operator, score_value = params.text("operator"), params.number("value")
    if (operator is None) != (score_value is None):
        raise InvalidRequest("Invalid operator/value parameters: give both operator and value, or neither.")
    if operator is not None and score_value is not None:
        if operator not in VALUE_OPERATORS:
            raise InvalidRequest(
                f"Invalid operator parameter {operator!r}: must be one of {', '.join(VALUE_OPERATORS)}."
            )
        out.append(FilterCondition("number", "value", operator, score_value))
    return out


def list_scores(reader: AnalyticsReader, project_id: str, params: QueryParams) -> GetScoresResponse:
    """``GET /v2/scores`` (and legacy ``GET /scores``): newest first, page pagination."""
    page = params.page()
    groups = parse_field_groups(params.get("fields"), SCORE_V2_FIELD_GROUPS) or frozenset(
        SCORE_V2_FIELD_GROUPS
    )
    with_trace = "trace" in groups
    if not with_trace and (params.text("userId") or params.many("traceTags")):
        raise InvalidRequest(
            "Invalid fields parameter: filtering by userId or traceTags needs the 'trace' field group."
        )
    filters = merge_filters(score_conditions(params), parse_filter_param(params.get("filter")))
    query = ScoreQuery(project_id=project_id, page=page, filters=tuple(filters))
    records = reader.list_scores(query)
    total = reader.count_scores(query)
    contexts = (
        reader.trace_contexts(project_id, [r.trace_id for r in records if r.trace_id]) if with_trace else {}
    )
    data = [
        to_score_view(r, contexts.get(r.trace_id) if r.trace_id else None, with_trace=with_trace)
        for r in records
    ]
    meta = MetaResponse(
        page=page.page, limit=page.limit, total_items=total, total_pages=page.total_pages(total)
    )
    return GetScoresResponse(data=data, meta=meta)


def get_score(reader: AnalyticsReader, project_id: str, score_id: str) -> ScoreView:
    """``GET /v2/scores/{scoreId}`` (and legacy ``GET /scores/{scoreId}``); 404 when unknown."""
    record = reader.get_score(project_id, score_id)
    if record is None:
        raise NotFound(f"Score {score_id} not found within authorized project")
    return to_score_view(record)
