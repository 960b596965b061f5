"""Use cases: list traces, get one trace with its observations and scores, delete traces."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from skyglass.contracts.public_api import (
    MessageResponse,
    MetaResponse,
    Traces,
    TraceWithDetails,
    TraceWithFullDetails,
)
from skyglass.domain.filters import FilterCondition, merge_filters, parse_filter_param
from skyglass.domain.queries import (
    TRACE_FIELD_GROUPS,
    TRACE_ORDER_COLUMNS,
    TraceAggregate,
    TraceQuery,
    parse_field_groups,
    parse_order_by,
)
from skyglass.domain.records import Deletion, EntityType
from skyglass.domain.timeutil import to_ms
from skyglass.errors import InvalidRequest, NotFound
from skyglass.ports.analytics import AnalyticsWriter
from skyglass.ports.analytics_reads import AnalyticsReader
from skyglass.query import fanout
from skyglass.query.mapping import (
    V1_SCORE_DATA_TYPES,
    html_path,
    to_observation_view,
    to_score_view,
    trace_fields,
    trace_latency,
)
from skyglass.query.params import QueryParams

MAX_DELETE = 1000
_NO_METRIC = -1.0  # what Langfuse sends for latency/totalCost when "metrics" is not requested


def trace_field_groups(params: QueryParams) -> frozenset[str]:
    """Requested groups; absent means all of them, and ``core`` is always in."""
    groups = parse_field_groups(params.get("fields"), TRACE_FIELD_GROUPS)
    return frozenset(TRACE_FIELD_GROUPS) if not groups else groups | {"core"}


def trace_conditions(params: QueryParams) -> list[FilterCondition]:
    """The simple query parameters of ``GET /traces`` as filter conditions."""
    out: list[FilterCondition] = []
    for param, column in (
        ("userId", "userId"),
        ("name", "name"),
        ("sessionId", "sessionId"),
        ("version", "version"),
        ("release", "release"),
    ):
        value = params.text(param)
        if value is not None:
            out.append(FilterCondition("string", column, "=", value))
    start, end = params.datetime("fromTimestamp"), params.datetime("toTimestamp")
    if start is not None:
        out.append(FilterCondition("datetime", "timestamp", ">=", start))
    if end is not None:
        out.append(FilterCondition("datetime", "timestamp", "<", end))
    tags = params.many("tags")
    if tags:
        out.append(FilterCondition("arrayOptions", "tags", "all of", tuple(tags)))
    environments = params.many("environment")
    if environments:
        out.append(FilterCondition("stringOptions", "environment", "any of", tuple(environments)))
    return out


def list_traces(reader: AnalyticsReader, project_id: str, params: QueryParams) -> Traces:
    """``GET /traces``: a page of traces with observation/score ids, latency and cost."""
    page = params.page()
    groups = trace_field_groups(params)
    query = TraceQuery(
        project_id=project_id,
        page=page,
        filters=tuple(merge_filters(trace_conditions(params), parse_filter_param(params.get("filter")))),
        order_by=parse_order_by(params.get("orderBy"), TRACE_ORDER_COLUMNS),
        with_io="io" in groups,
    )
    pending_total = fanout.start(lambda: reader.count_traces(query))  # beside the page
    records = reader.list_traces(query)
    ids = [r.id for r in records]
    want_obs = "observations" in groups or "metrics" in groups
    pending_scores = (
        fanout.start(lambda: reader.trace_aggregates(project_id, ids, observations=False, scores=True))
        if records and "scores" in groups
        else None
    )
    aggregates = (
        reader.trace_aggregates(project_id, ids, observations=True, scores=False)
        if records and want_obs
        else {}
    )
    if pending_scores is not None:
        for trace_id, scored in pending_scores.result().items():
            aggregates.setdefault(trace_id, TraceAggregate()).score_ids = scored.score_ids
    total = pending_total.result()
    data = []
    for record in records:
        aggregate = aggregates.get(record.id, TraceAggregate())
        metrics = "metrics" in groups
        data.append(
            TraceWithDetails(
                **trace_fields(record, with_io=query.with_io),
                html_path=html_path(project_id, record.id),
                latency=aggregate.latency if metrics else _NO_METRIC,
                total_cost=aggregate.total_cost if metrics else _NO_METRIC,
                observations=aggregate.observation_ids if "observations" in groups else [],
                scores=aggregate.score_ids if "scores" in groups else [],
            )
        )
    meta = MetaResponse(
        page=page.page, limit=page.limit, total_items=total, total_pages=page.total_pages(total)
    )
    return Traces(data=data, meta=meta)


def get_trace(
    reader: AnalyticsReader, project_id: str, trace_id: str, params: QueryParams
) -> TraceWithFullDetails:
    """``GET /traces/{traceId}``: the trace with full observations and scores; 404 if unknown."""
    groups = trace_field_groups(params)
    metrics = "metrics" in groups
    # The three reads are independent: side by side, the request takes about the slowest.
    pending_observations = (
        fanout.start(lambda: reader.observations_of_traces(project_id, [trace_id]))
        if "observations" in groups or metrics
        else None
    )
    pending_scores = (
        fanout.start(lambda: reader.scores_of_traces(project_id, [trace_id])) if "scores" in groups else None
    )
    record = reader.get_trace(project_id, trace_id, with_io="io" in groups)
    observations = pending_observations.result() if pending_observations is not None else []
    scores = pending_scores.result() if pending_scores is not None else []
    if record is None:
        raise NotFound(f"Trace {trace_id} not found within authorized project")
    total_cost = sum(o.total_cost or 0.0 for o in observations)
    return TraceWithFullDetails(
        **trace_fields(record, with_io="io" in groups),
        html_path=html_path(project_id, trace_id),
        latency=trace_latency(observations) if metrics else _NO_METRIC,
        total_cost=total_cost if metrics else _NO_METRIC,
        observations=[to_observation_view(o) for o in observations] if "observations" in groups else [],
        scores=[to_score_view(s) for s in scores if s.data_type in V1_SCORE_DATA_TYPES],
    )


def trace_ids_from_body(text: str | None) -> list[str]:
    """The ``traceIds`` of a ``DELETE /traces`` JSON body: a non-empty list of non-empty strings."""
    try:
        body: Any = json.loads(text or "")
    except ValueError as exc:
        raise InvalidRequest('Invalid request body: expected JSON {"traceIds": [...]}.') from exc
    ids = body.get("traceIds") if isinstance(body, dict) else None
    if not isinstance(ids, list) or not ids:
        raise InvalidRequest("Invalid request body: 'traceIds' must be a non-empty array of trace ids.")
    if not all(isinstance(i, str) and i for i in ids):
        raise InvalidRequest("Invalid request body: every entry of 'traceIds' must be a non-empty string.")
    if len(ids) > MAX_DELETE:
        raise InvalidRequest(f"Invalid request body: at most {MAX_DELETE} 'traceIds' per request.")
    return list(dict.fromkeys(ids))


def delete_traces(
    writer: AnalyticsWriter, project_id: str, trace_ids: list[str], *, now: datetime | None = None
) -> MessageResponse:
    """Delete traces with their observations and scores (unknown ids are ignored, as Langfuse).

    A tombstone per trace is recorded first: the worker drops every event of these traces (their
    observations' and scores' too) received until now, so replaying the raw log cannot bring them
    back, and a retry after a failure in between still completes the delete.
    """
    deleted_at = to_ms(now or datetime.now(UTC))
    writer.record_deletions(
        [Deletion(project_id, EntityType.TRACE, trace_id, deleted_at) for trace_id in trace_ids]
    )
    writer.delete_traces(project_id, trace_ids)
    if len(trace_ids) == 1:
        return MessageResponse(message="Trace deleted successfully")
    return MessageResponse(message="Traces deleted successfully")
