"""Use case: ``GET /v2/observations`` — cursor pages with field groups, raw input/output strings."""

from __future__ import annotations

from typing import Any

from skyglass.contracts.public_api import ObservationsV2Meta, ObservationsV2Response, ObservationV2
from skyglass.domain.filters import merge_filters, parse_filter_param
from skyglass.domain.queries import (
    OBSERVATION_V2_FIELD_GROUPS,
    ObservationCursor,
    ObservationV2Query,
    TraceContext,
    parse_field_groups,
)
from skyglass.domain.records import ObservationRecord
from skyglass.errors import InvalidRequest
from skyglass.ports.analytics_reads import AnalyticsReader
from skyglass.query.mapping import decode_json
from skyglass.query.observations import observation_conditions
from skyglass.query.params import QueryParams

MAX_LIMIT = 1000
METADATA_TRUNCATE = 200
DEFAULT_GROUPS = frozenset({"core", "basic"})
_TRACE_GROUPS = frozenset({"basic", "trace_context"})
PARSE_IO_MESSAGE = (
    "parseIoAsJson=true is no longer supported on the v2 observations endpoint. Input/output fields "
    "are always returned as raw strings. Remove the parseIoAsJson parameter or set it to false."
)


def list_observations_v2(
    reader: AnalyticsReader, project_id: str, params: QueryParams
) -> ObservationsV2Response:
    """Newest first by (startTime, traceId, id); ``meta.cursor`` only when a next page exists."""
    if params.boolean("parseIoAsJson"):
        raise InvalidRequest(PARSE_IO_MESSAGE)
    groups = parse_field_groups(params.get("fields"), OBSERVATION_V2_FIELD_GROUPS) or DEFAULT_GROUPS
    groups = groups | {"core"}
    raw_cursor = params.text("cursor")
    limit = params.integer("limit", default=50, minimum=1, maximum=MAX_LIMIT)
    filters = merge_filters(observation_conditions(params, v2=True), parse_filter_param(params.get("filter")))
    query = ObservationV2Query(
        project_id=project_id,
        limit=limit,
        filters=tuple(filters),
        cursor=ObservationCursor.decode(raw_cursor) if raw_cursor else None,
        fields=groups,
    )
    records = reader.list_observations_v2(query)
    page, has_more = records[:limit], len(records) > limit
    contexts = (
        reader.trace_contexts(project_id, [r.trace_id for r in page if r.trace_id])
        if groups & _TRACE_GROUPS
        else {}
    )
    expand = frozenset(params.csv("expandMetadata"))
    data = [to_observation_v2(r, groups, contexts.get(r.trace_id), expand) for r in page]
    meta = ObservationsV2Meta()
    if has_more and page:
        last = page[-1]
        meta = ObservationsV2Meta(cursor=ObservationCursor(last.start_time, last.trace_id, last.id).encode())
    return ObservationsV2Response(data=data, meta=meta)


def truncate_metadata(metadata: dict[str, str], expand: frozenset[str]) -> dict[str, Any]:
    """Decoded metadata; values longer than 200 characters are cut unless their key is expanded."""
    out: dict[str, Any] = {}
    for key, raw in metadata.items():
        value = decode_json(raw)
        if key not in expand:
            if isinstance(value, str):
                value = value[:METADATA_TRUNCATE]
            elif len(raw) > METADATA_TRUNCATE:
                value = raw[:METADATA_TRUNCATE]
        out[key] = value
    return out


def _seconds(later: Any, earlier: Any) -> float | None:
    return None if later is None or earlier is None else float((later - earlier).total_seconds())


def to_observation_v2(
    record: ObservationRecord,
    groups: frozenset[str],
    trace: TraceContext | None,
    expand: frozenset[str] = frozenset(),
) -> ObservationV2:
    """Only the requested groups' fields are set (and so serialised)."""
    fields: dict[str, Any] = {
        "id": record.id,
        "trace_id": record.trace_id or None,
        "start_time": record.start_time,
        "end_time": record.end_time,
        "project_id": record.project_id,
        "parent_observation_id": record.parent_observation_id,
        "type": record.type,
    }
    if "basic" in groups:
        fields.update(
            name=record.name,
            level=record.level,
            status_message=record.status_message,
            version=record.version,
            environment=record.environment,
            bookmarked=trace.bookmarked if trace else False,
            public=trace.public if trace else False,
            user_id=trace.user_id if trace else None,
            session_id=trace.session_id if trace else None,
            is_root_observation=record.parent_observation_id is None,
        )
    if "time" in groups:
        fields.update(
            completion_start_time=record.completion_start_time,
            created_at=record.created_at,
            updated_at=record.updated_at,
        )
    if "io" in groups:
        fields.update(input=record.input, output=record.output)
    if "metadata" in groups:
        fields["metadata"] = truncate_metadata(record.metadata, expand)
    if "model" in groups:
        fields.update(
            provided_model_name=record.provided_model_name,
            model=record.provided_model_name,
            internal_model_id=record.internal_model_id,
            model_parameters=decode_json(record.model_parameters),
            model_id=record.internal_model_id,
            input_price=None,
            output_price=None,
            total_price=None,
        )
    if "usage" in groups:
        fields.update(
            usage_details=dict(record.usage_details),
            cost_details=dict(record.cost_details),
            total_cost=record.total_cost,
            usage_pricing_tier_name=record.usage_pricing_tier_name,
        )
    if "prompt" in groups:
        fields.update(
            prompt_id=record.prompt_id, prompt_name=record.prompt_name, prompt_version=record.prompt_version
        )
    if "metrics" in groups:
        fields.update(
            latency=_seconds(record.end_time, record.start_time),
            time_to_first_token=_seconds(record.completion_start_time, record.start_time),
        )
    if "trace_context" in groups:
        fields.update(
            trace_name=trace.name if trace else None,
            tags=list(trace.tags) if trace else [],
            release=trace.release if trace else None,
        )
    return ObservationV2(**fields)
