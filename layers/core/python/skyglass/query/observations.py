"""Use cases: v1 observations (pages of ``ObservationsView``) and one observation by id."""

from __future__ import annotations

from skyglass.contracts.public_api import MetaResponse, ObservationsView, ObservationsViews
from skyglass.domain.filters import FilterCondition, merge_filters, parse_filter_param
from skyglass.domain.queries import ObservationQuery
from skyglass.domain.records import ObservationLevel, ObservationType
from skyglass.errors import NotFound
from skyglass.ports.analytics_reads import AnalyticsReader
from skyglass.query.mapping import to_observation_view
from skyglass.query.params import QueryParams

OBSERVATION_TYPES = tuple(t.value for t in ObservationType)
OBSERVATION_LEVELS = tuple(level.value for level in ObservationLevel)


def observation_conditions(params: QueryParams, *, v2: bool = False) -> list[FilterCondition]:
    """The simple query parameters shared by v1 and v2 observation lists, as conditions."""
    out: list[FilterCondition] = []
    for param, column in (
        ("name", "name"),
        ("userId", "userId"),
        ("traceId", "traceId"),
        ("version", "version"),
        *((("sessionId", "sessionId"),) if v2 else ()),
    ):
        value = params.text(param)
        if value is not None:
            out.append(FilterCondition("string", column, "=", value))
    obs_type = params.choice("type", OBSERVATION_TYPES, upper=True)
    if obs_type is not None:
        out.append(FilterCondition("string", "type", "=", obs_type))
    level = params.choice("level", OBSERVATION_LEVELS, upper=True)
    if level is not None:
        out.append(FilterCondition("string", "level", "=", level))
    parent = params.get("parentObservationId")
    if parent:
        out.append(FilterCondition("string", "parentObservationId", "=", parent))
    elif parent == "" and v2:  # v2: an empty value asks for observations without a parent
        out.append(FilterCondition("null", "parentObservationId", "is null"))
    if v2:
        is_root = params.boolean("isRootObservation")
        if is_root is not None:
            out.append(FilterCondition("boolean", "isRootObservation", "=", is_root))
    environments = params.many("environment")
    if environments:
        out.append(FilterCondition("stringOptions", "environment", "any of", tuple(environments)))
    start, end = params.datetime("fromStartTime"), params.datetime("toStartTime")
    if start is not None:
        out.append(FilterCondition("datetime", "startTime", ">=", start))
    if end is not None:
        out.append(FilterCondition("datetime", "startTime", "<", end))
    return out


def list_observations(reader: AnalyticsReader, project_id: str, params: QueryParams) -> ObservationsViews:
    """``GET /observations``: newest first, page pagination."""
    page = params.page()
    filters = merge_filters(observation_conditions(params), parse_filter_param(params.get("filter")))
    query = ObservationQuery(project_id=project_id, page=page, filters=tuple(filters))
    records = reader.list_observations(query)
    total = reader.count_observations(query)
    meta = MetaResponse(
        page=page.page, limit=page.limit, total_items=total, total_pages=page.total_pages(total)
    )
    return ObservationsViews(data=[to_observation_view(r) for r in records], meta=meta)


def get_observation(reader: AnalyticsReader, project_id: str, observation_id: str) -> ObservationsView:
    """``GET /observations/{observationId}``; 404 when unknown in this project."""
    record = reader.get_observation(project_id, observation_id)
    if record is None:
        raise NotFound(f"Observation {observation_id} not found within authorized project")
    return to_observation_view(record)
