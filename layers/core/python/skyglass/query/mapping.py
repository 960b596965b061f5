"""Records → public-API models for traces, v1 observations and v1/v2 scores (pure).

Stored JSON text (input, output, model parameters, each metadata value) is decoded back to the
original value; text that is not JSON (older rows, plain strings) is returned unchanged.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from skyglass.contracts.public_api import ObservationsView, ScoreTraceData, ScoreView, Trace, Usage
from skyglass.domain.queries import TraceContext
from skyglass.domain.records import ObservationRecord, ScoreRecord, TraceRecord

NUMERIC_TYPES = frozenset({"NUMERIC"})
# The v1 score schema (``ScoreV1``, the scores of ``GET /traces/{id}``) has no CORRECTION variant;
# Langfuse leaves out what does not fit it, so corrections are read through v2/v3 only.
V1_SCORE_DATA_TYPES = frozenset({"NUMERIC", "CATEGORICAL", "BOOLEAN", "TEXT"})


def decode_json(text: str | None) -> Any:
    """JSON text → value; None stays None; non-JSON text is returned as is."""
    if text is None:
        return None
    try:
        return json.loads(text)
    except ValueError:
        return text


def decode_metadata(metadata: dict[str, str]) -> dict[str, Any]:
    """Stored metadata (each value JSON-encoded) → the original object."""
    return {key: decode_json(value) for key, value in metadata.items()}


def html_path(project_id: str, trace_id: str) -> str:
    return f"/project/{project_id}/traces/{trace_id}"


def trace_fields(record: TraceRecord, *, with_io: bool = True) -> dict[str, Any]:
    """The ``Trace`` fields of a record, as keyword arguments for any Trace model."""
    return {
        "id": record.id,
        "timestamp": record.timestamp,
        "name": record.name,
        "input": decode_json(record.input) if with_io else None,
        "output": decode_json(record.output) if with_io else None,
        "session_id": record.session_id,
        "release": record.release,
        "version": record.version,
        "user_id": record.user_id,
        "metadata": decode_metadata(record.metadata) if with_io else None,
        "tags": list(record.tags),
        "public": record.public,
        "environment": record.environment,
        "project_id": record.project_id,
        "bookmarked": record.bookmarked,
        "external_id": None,
        "created_at": record.created_at,
        "updated_at": record.updated_at,
    }


def to_trace(record: TraceRecord) -> Trace:
    return Trace(**trace_fields(record))


def _sum_keys(details: dict[str, Any], part: str) -> float | None:
    matching = [float(v) for k, v in details.items() if part in k]
    return sum(matching) if matching else None


def _seconds(later: Any, earlier: Any) -> float | None:
    if later is None or earlier is None:
        return None
    return float((later - earlier).total_seconds())


def to_observation_view(record: ObservationRecord) -> ObservationsView:
    """A v1 ``ObservationsView``: usage and costs summed from the detail maps by key part."""
    usage_in = int(_sum_keys(record.usage_details, "input") or 0)
    usage_out = int(_sum_keys(record.usage_details, "output") or 0)
    usage_total = int(record.usage_details.get("total", 0))
    costs = record.cost_details
    total_cost = costs.get("total", record.total_cost or 0.0)
    return ObservationsView(
        id=record.id,
        trace_id=record.trace_id or None,
        project_id=record.project_id,
        type=record.type,
        name=record.name,
        start_time=record.start_time,
        end_time=record.end_time,
        completion_start_time=record.completion_start_time,
        model=record.provided_model_name,
        model_parameters=decode_json(record.model_parameters),
        input=decode_json(record.input),
        output=decode_json(record.output),
        version=record.version,
        metadata=decode_metadata(record.metadata),
        usage=Usage(input=usage_in, output=usage_out, total=usage_total, unit="TOKENS"),
        level=record.level,
        status_message=record.status_message,
        parent_observation_id=record.parent_observation_id,
        prompt_id=record.prompt_id,
        prompt_name=record.prompt_name,
        prompt_version=record.prompt_version,
        usage_details=dict(record.usage_details),
        cost_details=dict(costs),
        environment=record.environment,
        model_id=record.internal_model_id,
        input_price=None,
        output_price=None,
        total_price=None,
        calculated_input_cost=_sum_keys(costs, "input"),
        calculated_output_cost=_sum_keys(costs, "output"),
        calculated_total_cost=float(total_cost),
        latency=_seconds(record.end_time, record.start_time),
        time_to_first_token=_seconds(record.completion_start_time, record.start_time),
        created_at=record.created_at,
        updated_at=record.updated_at,
        unit="TOKENS",
        prompt_tokens=usage_in,
        completion_tokens=usage_out,
        total_tokens=usage_total,
    )


def trace_latency(observations: Iterable[ObservationRecord]) -> float:
    """Seconds from the earliest to the latest observation time (0 without observations)."""
    times = []
    for obs in observations:
        times.append(obs.start_time)
        if obs.end_time is not None:
            times.append(obs.end_time)
    return float((max(times) - min(times)).total_seconds()) if times else 0.0


def score_string_value(record: ScoreRecord) -> str | None:
    """``stringValue`` as Langfuse sends it: BOOLEAN "True"/"False", categories and texts as stored."""
    if record.data_type == "BOOLEAN":
        return record.string_value or ("True" if record.value == 1 else "False")
    if record.data_type in NUMERIC_TYPES:
        return None
    return record.string_value or ""


def to_score_view(
    record: ScoreRecord, trace: TraceContext | None = None, *, with_trace: bool = False
) -> ScoreView:
    """A v1/v2 score; ``with_trace`` adds the ``trace`` object (left out for scores without one)."""
    fields: dict[str, Any] = {
        "id": record.id,
        "trace_id": record.trace_id,
        "session_id": record.session_id,
        "observation_id": record.observation_id,
        "dataset_run_id": record.dataset_run_id,
        "name": record.name,
        "source": record.source,
        "timestamp": record.timestamp,
        "created_at": record.created_at or record.timestamp,
        "updated_at": record.updated_at or record.timestamp,
        "author_user_id": record.author_user_id,
        "comment": record.comment,
        "metadata": decode_metadata(record.metadata),
        "config_id": record.config_id,
        "queue_id": record.queue_id,
        "environment": record.environment,
        "data_type": record.data_type,
        "value": record.value,
    }
    string_value = score_string_value(record)
    if string_value is not None:
        fields["string_value"] = string_value
    # The spec's ``trace`` is a $ref (nullable only by an ignored sibling keyword): a score without
    # a trace leaves the key out rather than sending null.
    if with_trace and trace is not None:
        fields["trace"] = ScoreTraceData(
            user_id=trace.user_id,
            tags=list(trace.tags),
            environment=trace.environment,
            session_id=trace.session_id,
        )
    return ScoreView(**fields)
