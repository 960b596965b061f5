"""Observation responses: v1 ``ObservationsView`` pages and v2 ``ObservationV2`` cursor pages."""

from __future__ import annotations

from typing import Any

from skyglass.contracts.public_api.common import IsoDateTime, MetaResponse, WireModel


class Usage(WireModel):
    """Legacy usage summary (tokens): input, output, total, unit."""

    input: int
    output: int
    total: int
    unit: str | None


class ObservationsView(WireModel):
    id: str
    trace_id: str | None
    project_id: str
    type: str
    name: str | None
    start_time: IsoDateTime
    end_time: IsoDateTime | None
    completion_start_time: IsoDateTime | None
    model: str | None
    model_parameters: Any
    input: Any
    output: Any
    version: str | None
    metadata: Any
    usage: Usage
    level: str
    status_message: str | None
    parent_observation_id: str | None
    prompt_id: str | None
    prompt_name: str | None
    prompt_version: int | None
    usage_details: dict[str, int]
    cost_details: dict[str, float]
    environment: str
    model_id: str | None
    input_price: float | None
    output_price: float | None
    total_price: float | None
    calculated_input_cost: float | None
    calculated_output_cost: float | None
    calculated_total_cost: float | None
    latency: float | None
    time_to_first_token: float | None
    created_at: IsoDateTime | None
    updated_at: IsoDateTime | None
    # backwards-compatible token fields Langfuse still sends
    unit: str | None
    prompt_tokens: int
    completion_tokens: int
    total_tokens: int


class ObservationsViews(WireModel):
    data: list[ObservationsView]
    meta: MetaResponse


class ObservationV2(WireModel):
    """Core fields always; every other field only when its field group was requested."""

    id: str
    trace_id: str | None
    start_time: IsoDateTime
    end_time: IsoDateTime | None
    project_id: str
    parent_observation_id: str | None
    type: str
    # basic
    name: str | None = None
    level: str | None = None
    status_message: str | None = None
    version: str | None = None
    environment: str | None = None
    bookmarked: bool | None = None
    public: bool | None = None
    user_id: str | None = None
    session_id: str | None = None
    is_root_observation: bool | None = None
    # time
    completion_start_time: IsoDateTime | None = None
    created_at: IsoDateTime | None = None
    updated_at: IsoDateTime | None = None
    # io (raw strings) and metadata
    input: Any = None
    output: Any = None
    metadata: Any = None
    # model
    provided_model_name: str | None = None
    model: str | None = None
    internal_model_id: str | None = None
    model_parameters: Any = None
    model_id: str | None = None
    input_price: str | None = None
    output_price: str | None = None
    total_price: str | None = None
    # usage
    usage_details: dict[str, int] | None = None
    cost_details: dict[str, float] | None = None
    total_cost: float | None = None
    usage_pricing_tier_name: str | None = None
    # prompt
    prompt_id: str | None = None
    prompt_name: str | None = None
    prompt_version: int | None = None
    # metrics
    latency: float | None = None
    time_to_first_token: float | None = None
    # trace_context
    trace_name: str | None = None
    tags: list[str] | None = None
    release: str | None = None


class ObservationsV2Meta(WireModel):
    cursor: str | None = None


class ObservationsV2Response(WireModel):
    data: list[ObservationV2]
    meta: ObservationsV2Meta
