"""``POST /api/public/ingestion``: split a Langfuse batch into accepted and rejected events and land
the accepted ones as one blob plus one queue message (compat §2.1).

The answer is always 207 ``{successes, errors}`` once the request itself is sound: every event gets
its own verdict (201, 400 invalid, 401 outside a Bearer key's scope) and one bad event never costs
the others. Request-level problems (size, content type, JSON, envelope, back-pressure) raise.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import orjson

from skyglass.contracts.ingestion import (
    NOT_STORED_EVENT_TYPES,
    SCORES_SCOPE_EVENT_TYPES,
    EventRejected,
    event_id_of,
    split_envelope,
    validate_event,
)
from skyglass.contracts.messages import BlobEnvelope
from skyglass.contracts.scores import ScoreBody, wire_score_body
from skyglass.errors import InvalidRequest
from skyglass.ingestion.common import (
    DEFAULT_GATE,
    BackpressureGate,
    Caller,
    HttpRequest,
    land,
    read_json_payload,
    sdk_info,
    utc_now,
)
from skyglass.ports.blob import BlobStore
from skyglass.ports.queue import MessageQueue
from skyglass.settings import Settings

log = logging.getLogger(__name__)

INVALID = "Invalid request data"
_SDK_LOG_PREVIEW_CHARS = 2000


@dataclass
class BatchResult:
    """Per-event verdicts and, when anything was accepted, the blob that holds it."""

    successes: list[dict[str, Any]] = field(default_factory=list)
    errors: list[dict[str, Any]] = field(default_factory=list)
    accepted: list[dict[str, Any]] = field(default_factory=list)  # events written to the blob
    blob_key: str | None = None

    def body(self) -> dict[str, Any]:
        """The 207 response body (``IngestionResponse``)."""
        return {"successes": self.successes, "errors": self.errors}


def screen_events(
    batch: list[Any], *, scores_only: bool, max_event_bytes: int | None, project_id: str = ""
) -> BatchResult:
    """Give every event its verdict; ``accepted`` holds the events to store, as sent.

    ``max_event_bytes`` is ``None`` when the whole body is below the limit (then no single event
    can exceed it and the per-event size is not computed). ``scores_only`` is a Bearer key's
    scope: only ``score-create`` and ``sdk-log``.
    """
    result = BatchResult()
    for raw in batch:
        try:
            if max_event_bytes is not None:
                size = len(orjson.dumps(raw))
                if size > max_event_bytes:
                    raise EventRejected(f"event is {size} bytes; the limit is {max_event_bytes} bytes")
            event = validate_event(raw)
        except EventRejected as exc:
            result.errors.append(
                {"id": event_id_of(raw), "status": 400, "message": INVALID, "error": exc.error}
            )
            continue
        if scores_only and event.type not in SCORES_SCOPE_EVENT_TYPES:
            result.errors.append(
                {
                    "id": event.id,
                    "status": 401,
                    "message": "Authentication error",
                    "error": "Access Scope Denied",
                }
            )
            continue
        result.successes.append({"id": event.id, "status": 201})
        if event.type in NOT_STORED_EVENT_TYPES:
            _log_sdk_message(project_id, raw)
            continue
        if isinstance(event.body, ScoreBody):
            raw = {**raw, "body": wire_score_body(raw["body"], event.body)}
        result.accepted.append(raw)
    return result


def ingest_batch(
    request: HttpRequest,
    caller: Caller,
    *,
    blobs: BlobStore,
    queue: MessageQueue,
    settings: Settings,
    now: datetime | None = None,
    gate: BackpressureGate = DEFAULT_GATE,
) -> BatchResult:
    """Validate a batch request and land its accepted events; see the module docstring."""
    payload, size = read_json_payload(
        request,
        queue=queue,
        max_body_bytes=settings.max_body_bytes,
        backpressure_depth=settings.queue_backpressure_depth,
        gate=gate,
    )
    try:
        batch, metadata = split_envelope(payload)
    except ValueError as exc:
        raise InvalidRequest(f"{INVALID}: {exc}") from None
    # Only a body bigger than one event's limit can hold an event over it.
    result = screen_events(
        batch,
        scores_only=caller.access_level == "scores",
        max_event_bytes=settings.max_event_bytes if size > settings.max_event_bytes else None,
        project_id=caller.project_id,
    )
    if result.accepted:
        envelope = BlobEnvelope(
            kind="ingestion",
            project_id=caller.project_id,
            received_at=now or utc_now(),
            sdk=sdk_info(request.headers, caller, metadata),
        ).model_copy(update={"events": result.accepted})  # no second walk over the events
        result.blob_key = land(blobs, queue, envelope).blob_key
    return result


def _log_sdk_message(project_id: str, raw: dict[str, Any]) -> None:
    # SDKs report their own failures this way; worth seeing, not worth storing.
    if log.isEnabledFor(logging.INFO):
        preview = orjson.dumps(raw.get("body")).decode()[:_SDK_LOG_PREVIEW_CHARS]
        log.info("sdk-log event %s (project %s): %s", raw.get("id"), project_id, preview)
