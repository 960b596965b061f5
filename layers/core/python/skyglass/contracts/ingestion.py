"""Langfuse batch ingestion wire contract: ``POST /api/public/ingestion`` (compat §2.1).

A request is ``{batch: [event…], metadata?}``; each event is ``{id, type, timestamp, body,
metadata?}`` and its body is checked against the schema of its ``type``, mirroring Langfuse's
zod schemas (strict JSON types, unknown keys ignored). ``validate_event`` is the single entry
point: the ingest path uses it to split a batch, and every event in an ``ingestion`` blob has
passed it, so the worker may rely on these shapes.

Models are for validation only: the blob keeps each event as the client sent it (score bodies
are normalised first, see ``contracts.scores.wire_score_body``).
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import AfterValidator, Field, ValidationError, create_model, model_validator

from skyglass.contracts.scores import Environment, IdStr, ScoreBody, Timestamp, WireModel

Level = Literal["DEBUG", "DEFAULT", "WARNING", "ERROR"]
UsageUnit = Literal["CHARACTERS", "TOKENS", "MILLISECONDS", "SECONDS", "IMAGES", "REQUESTS"]
ObservationKind = Literal[
    "SPAN",
    "GENERATION",
    "EVENT",
    "AGENT",
    "TOOL",
    "CHAIN",
    "RETRIEVER",
    "EVALUATOR",
    "EMBEDDING",
    "GUARDRAIL",
]

TYPED_OBSERVATION_KINDS = ("agent", "tool", "chain", "retriever", "evaluator", "embedding", "guardrail")
SCORES_SCOPE_EVENT_TYPES = frozenset({"score-create", "sdk-log"})  # all a Bearer public key may send
INTERNAL_EVENT_TYPES = frozenset({"dataset-run-item-create"})  # Langfuse refuses them publicly too
NOT_STORED_EVENT_TYPES = frozenset({"sdk-log"})  # acknowledged and logged, never processed
UNKNOWN_EVENT_ID = "unknown"


def _integral(value: float) -> float:
    # JSON has one number type: 10.0 is an integer to zod (and to JavaScript SDKs).
    if not value.is_integer():
        raise ValueError("must be an integer")
    return value


def _parameters(params: dict[str, Any]) -> dict[str, Any]:
    for key, value in params.items():
        if value is None or isinstance(value, str | int | float):  # bool is an int
            continue
        if isinstance(value, list) and all(isinstance(item, str) for item in value):
            continue
        if isinstance(value, dict) and all(isinstance(item, str) for item in value.values()):
            continue
        raise ValueError(f"{key}: must be a string, number, boolean, list of strings or map of strings")
    return params


# Strict float takes JSON ints and floats but not booleans or numeric strings; the model value is
# never stored, so reading 10 as 10.0 is harmless.
JsonInt = Annotated[float, AfterValidator(_integral)]
Cost = Annotated[float, Field(ge=0)]
ModelParameters = Annotated[dict[str, Any], AfterValidator(_parameters)]


def _is_count(value: Any) -> bool:
    if isinstance(value, bool):
        return False
    if isinstance(value, int):
        return value >= 0
    if isinstance(value, float):
        return value >= 0 and value.is_integer()
    return False


def _openai_shape(usage: dict[str, Any], prefix_in: str, prefix_out: str) -> bool:
    """OpenAI's usage object (``prompt_``/``completion_`` or ``input_``/``output_``), strictly."""
    required = (f"{prefix_in}_tokens", f"{prefix_out}_tokens", "total_tokens")
    details = (f"{prefix_in}_tokens_details", f"{prefix_out}_tokens_details")
    if any(key not in required and key not in details for key in usage):
        return False
    if not all(_is_count(usage.get(key)) for key in required):
        return False
    for key in details:
        value = usage.get(key)
        if value is None:
            continue
        if not isinstance(value, dict) or not all(v is None or _is_count(v) for v in value.values()):
            return False
    return True


def _usage_details(usage: dict[str, Any]) -> dict[str, Any]:
    """A free ``{key: count}`` map, or OpenAI's completion or response usage object (compat §2.1)."""
    if all(v is None or _is_count(v) or (isinstance(v, str) and v.isdigit()) for v in usage.values()):
        return usage
    if _openai_shape(usage, "prompt", "completion") or _openai_shape(usage, "input", "output"):
        return usage
    raise ValueError(
        "must map names to non-negative integers, or be OpenAI's usage object "
        "(prompt_/completion_tokens or input_/output_tokens with total_tokens)"
    )


UsageDetails = Annotated[dict[str, Any], AfterValidator(_usage_details)]


class Usage(WireModel):
    """Legacy ``usage``: Langfuse's ``{input, output, total, unit, *Cost}`` or OpenAI's camelCase."""

    input: JsonInt | None = None
    output: JsonInt | None = None
    total: JsonInt | None = None
    unit: UsageUnit | None = None
    prompt_tokens: JsonInt | None = None
    completion_tokens: JsonInt | None = None
    total_tokens: JsonInt | None = None
    input_cost: float | None = None
    output_cost: float | None = None
    total_cost: float | None = None


class TraceBody(WireModel):
    id: IdStr | None = None
    timestamp: Timestamp | None = None
    name: Annotated[str, Field(max_length=1000)] | None = None
    external_id: str | None = None
    input: Any = None
    output: Any = None
    session_id: str | None = None
    user_id: str | None = None
    environment: Environment | None = None
    metadata: Any = None
    release: str | None = None
    version: str | None = None
    public: bool | None = None
    tags: list[str] | None = None


class ObservationFields(WireModel):
    """Langfuse's ``OptionalObservationBody``: what every observation event may carry."""

    trace_id: IdStr | None = None
    environment: Environment | None = None
    name: str | None = None
    start_time: Timestamp | None = None
    metadata: Any = None
    input: Any = None
    output: Any = None
    level: Level | None = None
    status_message: str | None = None
    parent_observation_id: str | None = None
    version: str | None = None


class EventBody(ObservationFields):
    """``event-create``: an observation without an end."""

    id: IdStr


class SpanBody(EventBody):
    """``span-create`` / ``span-update``."""

    end_time: Timestamp | None = None


class GenerationBody(SpanBody):
    """``generation-create|update`` and the typed creates (``agent-create``, ``tool-create``…)."""

    completion_start_time: Timestamp | None = None
    model: str | None = None
    model_parameters: ModelParameters | None = None
    usage: Usage | None = None
    usage_details: UsageDetails | None = None
    cost_details: dict[str, Cost | None] | None = None
    prompt_name: str | None = None
    prompt_version: JsonInt | None = None

    @model_validator(mode="after")
    def _prompt_pair(self) -> GenerationBody:
        # Langfuse compares truthiness, so version 0 counts as absent.
        if bool(self.prompt_name) != bool(self.prompt_version):
            raise ValueError("promptName and promptVersion must be given together")
        return self


class LegacyObservationBody(WireModel):
    """``observation-create|update`` (SDKs before typed events): ``type`` names the kind."""

    id: IdStr | None = None
    trace_id: IdStr | None = None
    type: ObservationKind
    name: str | None = None
    start_time: Timestamp | None = None
    end_time: Timestamp | None = None
    completion_start_time: Timestamp | None = None
    model: str | None = None
    model_parameters: ModelParameters | None = None
    input: Any = None
    output: Any = None
    usage: Usage | None = None
    usage_details: UsageDetails | None = None
    cost_details: dict[str, Cost | None] | None = None
    metadata: Any = None
    parent_observation_id: str | None = None
    level: Level | None = None
    status_message: str | None = None
    version: str | None = None
    environment: Environment | None = None


class SdkLogBody(WireModel):
    log: Any = Field(...)


class IngestionEventBase(WireModel):
    """The event envelope; ``id`` de-duplicates events, ``body.id`` names the entity."""

    id: IdStr
    type: str
    timestamp: Timestamp
    metadata: Any = None
    body: WireModel


BODY_MODELS: dict[str, type[WireModel]] = {
    "trace-create": TraceBody,
    "score-create": ScoreBody,
    "span-create": SpanBody,
    "span-update": SpanBody,
    "generation-create": GenerationBody,
    "generation-update": GenerationBody,
    "event-create": EventBody,
    **{f"{kind}-create": GenerationBody for kind in TYPED_OBSERVATION_KINDS},
    "observation-create": LegacyObservationBody,
    "observation-update": LegacyObservationBody,
    "sdk-log": SdkLogBody,
}
EVENT_TYPES = frozenset(BODY_MODELS)

# One envelope model per type, so an event is checked in a single pydantic call.
EVENT_MODELS: dict[str, type[IngestionEventBase]] = {
    event_type: create_model(
        "Event_" + event_type.replace("-", "_"), __base__=IngestionEventBase, body=(body_model, ...)
    )
    for event_type, body_model in BODY_MODELS.items()
}


class EventRejected(ValueError):
    """One event of a batch is invalid; ``error`` says which field and why."""

    def __init__(self, error: str):
        super().__init__(error)
        self.error = error


def describe_validation_error(exc: ValidationError, limit: int = 3) -> str:
    """``"body.startTime: must be …; body.level: Input should be …"`` — wire field paths."""
    issues = exc.errors(include_url=False, include_context=False, include_input=False)
    parts = []
    for issue in issues[:limit]:
        message = issue["msg"].removeprefix("Value error, ")
        where = ".".join(str(part) for part in issue["loc"])
        parts.append(f"{where}: {message}" if where else message)
    if len(issues) > limit:
        parts.append(f"(+{len(issues) - limit} more)")
    return "; ".join(parts)


def event_id_of(raw: Any) -> str:
    """The event id to report an outcome under.

    ``IngestionError.id`` is a required string in the OpenAPI spec (generated clients parse it),
    so an event without a usable id is reported as ``"unknown"``, as Langfuse does.
    """
    event_id = raw.get("id") if isinstance(raw, dict) else None
    return event_id if isinstance(event_id, str) else UNKNOWN_EVENT_ID


def validate_event(raw: Any) -> IngestionEventBase:
    """Check one batch item against the schema of its ``type``; raises ``EventRejected``."""
    if not isinstance(raw, dict):
        raise EventRejected(f"event must be a JSON object, got {type(raw).__name__}")
    event_type = raw.get("type")
    model = EVENT_MODELS.get(event_type) if isinstance(event_type, str) else None
    if model is None:
        if event_type is None:
            raise EventRejected("type: Field required")
        if event_type in INTERNAL_EVENT_TYPES:
            raise EventRejected(f"type: {event_type} events are internal-only and not accepted here")
        raise EventRejected(f"type: unknown event type {event_type!r}")
    try:
        return model.model_validate(raw)
    except ValidationError as exc:
        raise EventRejected(describe_validation_error(exc)) from None


def split_envelope(payload: Any) -> tuple[list[Any], Any]:
    """``(batch, metadata)`` of a request body; raises ``ValueError`` naming what is wrong."""
    if not isinstance(payload, dict):
        kind = "array" if isinstance(payload, list) else type(payload).__name__
        raise ValueError(f"body must be a JSON object {{batch: [...], metadata?}}, got {kind}")
    if "batch" not in payload:
        raise ValueError("batch: Field required")
    batch = payload["batch"]
    if not isinstance(batch, list):
        raise ValueError(f"batch: must be an array, got {type(batch).__name__}")
    return batch, payload.get("metadata")
