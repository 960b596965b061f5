"""Analytics rows: the shape of one trace, observation, score and raw entity event.

These mirror the ClickHouse tables in ``migrations/analytics`` column for column (snake_case).
They are plain slotted dataclasses so a batch of thousands serialises quickly (orjson handles
dataclasses and datetimes natively).

Conventions shared by every writer and reader:
- times are timezone-aware UTC ``datetime`` values with millisecond precision;
- ``input``/``output``/``model_parameters`` hold JSON text (``None`` when never set);
- ``metadata`` maps a key to the JSON encoding of its value (strings keep their quotes), so
  values round-trip exactly: ``{"k": "v", "n": 5}`` is stored as ``{"k": '"v"', "n": "5"}``;
- ``event_ts`` is the newest event time merged into the row; traces and observations are
  versioned by ``row_version`` (``merge_rules.row_version``: that time and the number of events),
  so a row rebuilt from more events always wins and replaying old events overwrites nothing.
  Scores are versioned by ``event_ts`` (a score is replaced whole); ties keep the last insert.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum


class ObservationType(StrEnum):
    SPAN = "SPAN"
    GENERATION = "GENERATION"
    EVENT = "EVENT"
    AGENT = "AGENT"
    TOOL = "TOOL"
    CHAIN = "CHAIN"
    RETRIEVER = "RETRIEVER"
    EVALUATOR = "EVALUATOR"
    EMBEDDING = "EMBEDDING"
    GUARDRAIL = "GUARDRAIL"


class ObservationLevel(StrEnum):
    DEBUG = "DEBUG"
    DEFAULT = "DEFAULT"
    WARNING = "WARNING"
    ERROR = "ERROR"


class ScoreDataType(StrEnum):
    NUMERIC = "NUMERIC"
    BOOLEAN = "BOOLEAN"
    CATEGORICAL = "CATEGORICAL"
    TEXT = "TEXT"
    CORRECTION = "CORRECTION"  # a corrected output: the text in ``string_value``, ``value`` 0


class ScoreSource(StrEnum):
    API = "API"
    ANNOTATION = "ANNOTATION"
    EVAL = "EVAL"


class EntityType(StrEnum):
    TRACE = "trace"
    OBSERVATION = "observation"
    SCORE = "score"


@dataclass(slots=True)
class TraceRecord:
    id: str
    project_id: str
    timestamp: datetime
    name: str | None = None
    user_id: str | None = None
    session_id: str | None = None
    release: str | None = None
    version: str | None = None
    environment: str = "default"
    public: bool = False
    bookmarked: bool = False
    tags: list[str] = field(default_factory=list)
    metadata: dict[str, str] = field(default_factory=dict)
    input: str | None = None
    output: str | None = None
    created_at: datetime | None = None
    updated_at: datetime | None = None
    event_ts: datetime | None = None
    is_deleted: int = 0
    row_version: int = 0


@dataclass(slots=True)
class ObservationRecord:
    id: str
    trace_id: str
    project_id: str
    type: str
    start_time: datetime
    end_time: datetime | None = None
    name: str | None = None
    parent_observation_id: str | None = None
    environment: str = "default"
    level: str = "DEFAULT"
    status_message: str | None = None
    version: str | None = None
    metadata: dict[str, str] = field(default_factory=dict)
    input: str | None = None
    output: str | None = None
    completion_start_time: datetime | None = None
    provided_model_name: str | None = None
    internal_model_id: str | None = None
    model_parameters: str | None = None
    provided_usage_details: dict[str, int] = field(default_factory=dict)
    usage_details: dict[str, int] = field(default_factory=dict)
    provided_cost_details: dict[str, float] = field(default_factory=dict)
    cost_details: dict[str, float] = field(default_factory=dict)
    total_cost: float | None = None
    usage_pricing_tier_id: str | None = None
    usage_pricing_tier_name: str | None = None
    prompt_id: str | None = None
    prompt_name: str | None = None
    prompt_version: int | None = None
    created_at: datetime | None = None
    updated_at: datetime | None = None
    event_ts: datetime | None = None
    is_deleted: int = 0
    row_version: int = 0


@dataclass(slots=True)
class ScoreRecord:
    id: str
    project_id: str
    timestamp: datetime
    name: str
    value: float
    data_type: str = ScoreDataType.NUMERIC
    source: str = ScoreSource.API
    environment: str = "default"
    trace_id: str | None = None
    observation_id: str | None = None
    session_id: str | None = None
    dataset_run_id: str | None = None
    string_value: str | None = None
    comment: str | None = None
    metadata: dict[str, str] = field(default_factory=dict)
    author_user_id: str | None = None
    config_id: str | None = None
    queue_id: str | None = None
    execution_trace_id: str | None = None
    created_at: datetime | None = None
    updated_at: datetime | None = None
    event_ts: datetime | None = None
    is_deleted: int = 0


@dataclass(slots=True)
class EntityEvent:
    """One accepted partial create/update event, kept so merges are order-independent.

    The worker stores every event of a trace or observation, then rebuilds the row from all
    events of that entity sorted by (``timestamp``, create-before-update, ``event_id``). Storing
    is idempotent: the table is keyed by ``event_id``.
    """

    project_id: str
    entity_type: str  # EntityType value
    entity_id: str
    event_id: str
    event_type: str  # e.g. "trace-create", "span-update"
    timestamp: datetime  # the envelope timestamp sent by the client
    body: str  # JSON text of the event body as accepted
    received_at: datetime  # when the server accepted the request
    blob_key: str = ""


DeletionKey = tuple[str, str, str]
"""``(project_id, entity_type, entity_id)`` of a deletion: a trace or a score."""


@dataclass(frozen=True, slots=True)
class Deletion:
    """A tombstone: the trace or score ``entity_id`` was deleted at ``deleted_at``.

    The raw event log keeps every accepted request, so replaying it would bring deleted entities
    back. The worker therefore drops every event of a deleted entity that was *received* at or
    before ``deleted_at`` (for a trace: its own events, its observations' and its scores'), while
    events received later — the same id used again — are ingested as usual.
    """

    project_id: str
    entity_type: str  # EntityType.TRACE or EntityType.SCORE
    entity_id: str
    deleted_at: datetime  # UTC, millisecond precision (as stored)

    @property
    def key(self) -> DeletionKey:
        return (self.project_id, self.entity_type, self.entity_id)
