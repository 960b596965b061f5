"""Score wire contract: ``CreateScoreRequest`` (``POST /api/public/scores``) and the ``score-create``
ingestion body, which Langfuse defines as the same object (compat §2.4).

Also home of the wire primitives both score and ingestion contracts need (ids, timestamps,
environment names): ``contracts.ingestion`` imports them from here, never the other way round.

Validation mirrors Langfuse's zod schemas: strict JSON types (no ``"1"`` → 1 coercion), ISO-8601
times with an offset, and the score rules below. ``wire_score_body`` turns a valid body into the
normalised form that lands in the raw event log (explicit ``dataType``, booleans as numbers).
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints, model_validator
from pydantic.alias_generators import to_camel

MAX_ID_LENGTH = 800  # Langfuse: ids end up in S3 keys, which allow 1024 bytes
MAX_ENVIRONMENT_LENGTH = 40
SCORE_DATA_TYPES = ("NUMERIC", "BOOLEAN", "CATEGORICAL", "CORRECTION", "TEXT")
MAX_TEXT_LENGTH = 500
SCORE_SOURCES = frozenset({"API", "ANNOTATION"})  # EVAL is reserved for internal evaluators

_ENVIRONMENT = re.compile(r"^(?!langfuse)[a-z0-9_-]+$")


def parse_timestamp(value: str) -> datetime:
    """An ISO-8601 date-time that carries a UTC offset (``Z`` or ``±hh:mm``) → aware ``datetime``.

    Raises ``ValueError`` otherwise. Python's parser also takes nanosecond fractions (truncated),
    which some OTel-style clients send.
    """
    parsed = datetime.fromisoformat(value)
    if parsed.tzinfo is None:
        raise ValueError("missing UTC offset")
    return parsed


def _timestamp(value: str) -> str:
    try:
        parse_timestamp(value)
    except ValueError:
        raise ValueError(
            "must be an ISO-8601 date-time with a UTC offset, e.g. 2026-01-01T10:00:00.000Z"
        ) from None
    return value


def _id(value: str) -> str:
    if "\r" in value:
        raise ValueError("must not contain carriage return characters")
    return value


def _environment(value: str) -> str:
    if len(value) > MAX_ENVIRONMENT_LENGTH or not _ENVIRONMENT.match(value):
        raise ValueError(
            f"at most {MAX_ENVIRONMENT_LENGTH} of a-z 0-9 - _ and must not start with 'langfuse'"
        )
    return value


IdStr = Annotated[str, StringConstraints(min_length=1, max_length=MAX_ID_LENGTH), AfterValidator(_id)]
"""An entity or event id: 1 to 800 characters, no carriage return."""
Timestamp = Annotated[str, AfterValidator(_timestamp)]
"""ISO-8601 text with an offset; kept as text so stored events stay byte-for-byte as sent."""
Environment = Annotated[str, AfterValidator(_environment)]
"""Public environment name: ``^[a-z0-9-_]+$``, ≤ 40 characters, not starting with ``langfuse``."""


class WireModel(BaseModel):
    """Base of the Langfuse wire models: camelCase on the wire, strict JSON types, extras ignored."""

    model_config = ConfigDict(
        strict=True,
        extra="ignore",
        alias_generator=to_camel,
        # Only the camelCase names: a body that validated as ``trace_id`` would reach the
        # worker without the ``traceId`` it reads.
        validate_by_name=False,
        validate_by_alias=True,
        frozen=True,
    )


class ScoreBody(WireModel):
    """One score, as posted to ``/api/public/scores`` or inside a ``score-create`` event."""

    id: IdStr | None = None
    trace_id: str | None = None
    session_id: str | None = None
    observation_id: str | None = None
    dataset_run_id: str | None = None
    name: Annotated[str, StringConstraints(min_length=1)]
    value: Any = Field(...)
    comment: str | None = None
    metadata: Any = None
    environment: Environment | None = None
    queue_id: str | None = None
    data_type: Literal["NUMERIC", "BOOLEAN", "CATEGORICAL", "CORRECTION", "TEXT"] | None = None
    config_id: str | None = None
    source: str | None = None
    timestamp: Timestamp | None = None

    @model_validator(mode="after")
    def _score_rules(self) -> ScoreBody:
        effective_data_type(self.value, self.data_type)
        _check_subject(self)
        _check_source(self)
        if self.data_type == "CORRECTION":
            _check_correction(self)
        return self


CreateScoreRequest = ScoreBody
"""``POST /api/public/scores`` takes exactly the ``score-create`` body (plus ``timestamp``/``source``)."""


def effective_data_type(value: Any, declared: str | None) -> str:
    """The data type a score is stored with; raises ``ValueError`` when value and type disagree.

    Omitted types are inferred (number → NUMERIC, string → CATEGORICAL, boolean → BOOLEAN).
    NUMERIC and BOOLEAN take JSON booleans as 1/0 (SDK v5 sends ``true`` as ``1.0`` anyway).
    CATEGORICAL needs a string: mapping a number to a category needs a score config, and the
    worker drops what it cannot store, so accepting it would lose the score silently.
    CORRECTION (a corrected output) needs a string, of any length.
    """
    is_bool = isinstance(value, bool)
    is_number = not is_bool and isinstance(value, int | float)
    is_text = isinstance(value, str)
    if not (is_bool or is_number or is_text):
        raise ValueError("value must be a number or a string")
    if declared is None:
        return "BOOLEAN" if is_bool else "NUMERIC" if is_number else "CATEGORICAL"
    if declared == "NUMERIC" and not (is_number or is_bool):
        raise ValueError("value must be a number for dataType NUMERIC")
    if declared == "BOOLEAN" and not (is_bool or (is_number and value in (0, 1))):
        raise ValueError("value must be 0 or 1 (or true/false) for dataType BOOLEAN")
    if declared == "CATEGORICAL" and not is_text:
        raise ValueError("value must be a string for dataType CATEGORICAL")
    if declared == "TEXT" and not (is_text and 0 < len(value) <= MAX_TEXT_LENGTH):
        raise ValueError(f"value must be a string of 1 to {MAX_TEXT_LENGTH} characters for dataType TEXT")
    if declared == "CORRECTION" and not is_text:
        raise ValueError("value must be a string (the corrected output) for dataType CORRECTION")
    return declared


def _check_subject(score: ScoreBody) -> None:
    # Langfuse tests truthiness, so an empty string counts as absent.
    subjects = [name for name in ("trace_id", "session_id", "dataset_run_id") if getattr(score, name)]
    if score.observation_id and not score.trace_id:
        raise ValueError("observationId requires traceId")
    if len(subjects) != 1:
        raise ValueError(
            "provide exactly one of traceId (with optional observationId), sessionId or datasetRunId"
        )


def _check_source(score: ScoreBody) -> None:
    if score.source is None:
        return
    if score.source not in SCORE_SOURCES:
        reserved = " (EVAL is reserved for internal evaluators)" if score.source == "EVAL" else ""
        raise ValueError(f"source must be API or ANNOTATION{reserved}")
    # configId itself cannot be checked yet: there is no score-config store.
    if score.source == "ANNOTATION" and not score.config_id and score.data_type != "CORRECTION":
        raise ValueError("source ANNOTATION requires configId (unless dataType is CORRECTION)")


def _check_correction(score: ScoreBody) -> None:
    """A correction belongs to a trace or an observation and never to a score config (Langfuse)."""
    if score.session_id or score.dataset_run_id:
        raise ValueError(
            "dataType CORRECTION scores belong to a trace or an observation, not to a session or dataset run"
        )
    if score.config_id:
        raise ValueError("dataType CORRECTION scores cannot reference a score config (configId)")


def wire_score_body(raw: dict[str, Any], score: ScoreBody) -> dict[str, Any]:
    """The body stored for a validated score: as sent, with ``dataType`` made explicit, a boolean
    value as 1.0/0.0, and empty subject ids removed (so the worker never sees ``traceId: ""``)."""
    body = dict(raw)
    body["dataType"] = effective_data_type(score.value, score.data_type)
    if isinstance(score.value, bool):
        body["value"] = 1.0 if score.value else 0.0
    for key in ("traceId", "sessionId", "datasetRunId", "observationId"):
        if key in body and not body[key]:
            del body[key]
    return body
