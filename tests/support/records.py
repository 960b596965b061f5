"""Factories for analytics records with sensible defaults: ``make_trace(name="x")`` etc.

Also ``make_api_key`` for the project a test reads as. Ids default to fresh uuids; times default to a fixed instant so tests are deterministic; every
``event_ts``/``created_at``/``updated_at`` defaults to the entity's own time. Metadata given as a
plain dict is JSON-encoded per value, as the writer stores it (see ``domain.records``).
"""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from skyglass.domain import keys
from skyglass.domain.records import ObservationRecord, ScoreRecord, TraceRecord
from skyglass.ports.meta import StoredApiKey

BASE_TIME = datetime(2026, 1, 1, 10, 0, 0, tzinfo=UTC)
DEFAULT_PROJECT = "project-a"


def at(seconds: float = 0.0) -> datetime:
    """``BASE_TIME`` plus ``seconds`` (millisecond precision, like the store)."""
    return BASE_TIME + timedelta(milliseconds=round(seconds * 1000))


def encode_metadata(metadata: dict[str, Any] | None) -> dict[str, str]:
    """The stored form of metadata: every value JSON-encoded."""
    return {key: json.dumps(value) for key, value in (metadata or {}).items()}


def _id(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:12]}"


def make_trace(**overrides: Any) -> TraceRecord:
    timestamp = overrides.pop("timestamp", BASE_TIME)
    metadata = encode_metadata(overrides.pop("metadata", None))
    values: dict[str, Any] = {
        "id": _id("trace"),
        "project_id": DEFAULT_PROJECT,
        "timestamp": timestamp,
        "name": "trace-name",
        "metadata": metadata,
        "created_at": timestamp,
        "updated_at": timestamp,
        "event_ts": timestamp,
    }
    values.update(overrides)
    return TraceRecord(**values)


def make_observation(**overrides: Any) -> ObservationRecord:
    start = overrides.pop("start_time", BASE_TIME)
    metadata = encode_metadata(overrides.pop("metadata", None))
    values: dict[str, Any] = {
        "id": _id("obs"),
        "trace_id": overrides.pop("trace_id", None) or _id("trace"),
        "project_id": DEFAULT_PROJECT,
        "type": "SPAN",
        "start_time": start,
        "end_time": start + timedelta(seconds=1),
        "name": "observation-name",
        "metadata": metadata,
        "created_at": start,
        "updated_at": start,
        "event_ts": start,
    }
    values.update(overrides)
    return ObservationRecord(**values)


def make_generation(**overrides: Any) -> ObservationRecord:
    """A GENERATION with model, usage and cost filled in."""
    values: dict[str, Any] = {
        "type": "GENERATION",
        "provided_model_name": "gpt-4o",
        "internal_model_id": "model-gpt-4o",
        "model_parameters": json.dumps({"temperature": 0.2}),
        "usage_details": {"input": 10, "output": 20, "total": 30},
        "provided_usage_details": {"input": 10, "output": 20, "total": 30},
        "cost_details": {"input": 0.001, "output": 0.002, "total": 0.003},
        "total_cost": 0.003,
        "input": json.dumps([{"role": "user", "content": "hi"}]),
        "output": json.dumps({"role": "assistant", "content": "hello"}),
    }
    values.update(overrides)
    return make_observation(**values)


def make_score(**overrides: Any) -> ScoreRecord:
    timestamp = overrides.pop("timestamp", BASE_TIME)
    metadata = encode_metadata(overrides.pop("metadata", None))
    values: dict[str, Any] = {
        "id": _id("score"),
        "project_id": DEFAULT_PROJECT,
        "timestamp": timestamp,
        "name": "quality",
        "value": 0.5,
        "metadata": metadata,
        "created_at": timestamp,
        "updated_at": timestamp,
        "event_ts": timestamp,
    }
    values.update(overrides)
    return ScoreRecord(**values)


def make_api_key(project_id: str = DEFAULT_PROJECT) -> tuple[StoredApiKey, str]:
    """A stored key of ``project_id`` and its secret (for Basic auth with ``key.public_key``)."""
    public, secret = keys.new_public_key(), keys.new_secret_key()
    key = StoredApiKey(
        id=public,
        project_id=project_id,
        public_key=public,
        secret_hash=keys.hash_secret(secret),
        display_secret_key=keys.display_secret(secret),
        created_at=datetime.now(UTC),
    )
    return key, secret
