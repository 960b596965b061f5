"""Wire formats between the ingest path and the worker: the raw blob and the queue message.

One accepted request becomes exactly one blob (``BlobEnvelope``) and one queue message
(``QueueMessage``) naming it. Blob keys sort by time so ``skyglass replay`` can select a range.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any, Literal

from pydantic import BaseModel, Field

BlobKind = Literal["ingestion", "otel"]

BLOB_PREFIX = "raw/"


class SdkInfo(BaseModel):
    """Attribution read from the request headers (``x-langfuse-sdk-name`` etc.)."""

    name: str = "unknown"
    version: str = "unknown"
    public_key: str = ""
    ingestion_version: str | None = None


class BlobEnvelope(BaseModel):
    """The accepted part of one request, exactly as the worker will process it.

    ``events`` are Langfuse ingestion events (``{id, type, timestamp, body, metadata?}``) that
    passed validation; scores posted to ``/api/public/scores`` arrive here as ``score-create``
    events. ``payload`` carries kind-specific content (the decoded OTLP request for ``otel``).
    """

    v: int = 1
    kind: BlobKind
    project_id: str
    received_at: datetime
    sdk: SdkInfo = Field(default_factory=SdkInfo)
    events: list[dict[str, Any]] = Field(default_factory=list)
    payload: dict[str, Any] | None = None


class QueueMessage(BaseModel):
    v: int = 1
    blob_key: str
    project_id: str
    kind: BlobKind
    received_at: datetime
    event_count: int = 0


def blob_key_for(project_id: str, received_at: datetime, kind: BlobKind) -> str:
    """``raw/YYYY/MM/DD/HH/<epoch-ms>-<kind>-<project>-<uuid>.json`` — lexicographic = chronological."""
    ts = received_at.astimezone(UTC)
    ms = int(ts.timestamp() * 1000)
    return f"{BLOB_PREFIX}{ts:%Y/%m/%d/%H}/{ms:013d}-{kind}-{project_id}-{uuid.uuid4().hex}.json"


def blob_key_time(key: str) -> datetime:
    """The receive time encoded in a key made by ``blob_key_for``."""
    name = key.rsplit("/", 1)[-1]
    return datetime.fromtimestamp(int(name.split("-", 1)[0]) / 1000, tz=UTC)
