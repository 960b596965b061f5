"""``POST /api/public/scores`` (one object, or an SDK v5 array) and ``DELETE /scores/{id}``.

Scores take the same road as batch events: each valid score becomes a ``score-create`` event
``{id: <new event id>, type, timestamp: score.timestamp or now, body: <score with id>}``, and the
accepted ones of one request land as one ``ingestion`` blob plus one queue message.

Answers (compat §2.4): an object → 200 ``{id}`` or 400; an array → 202 ``{"message": "Accepted"}``
when every score is valid, else 207 ``{accepted, rejected, errors: [{message}]}`` with the valid
ones stored — SDK v5 parses exactly these two bodies and never retries a 207.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from pydantic import ValidationError

from skyglass.contracts.ingestion import describe_validation_error
from skyglass.contracts.messages import BlobEnvelope
from skyglass.contracts.scores import CreateScoreRequest, ScoreBody, wire_score_body
from skyglass.domain.records import Deletion, EntityType
from skyglass.domain.timeutil import to_ms
from skyglass.errors import DomainError, InvalidRequest, StoreUnavailable
from skyglass.ingestion.common import (
    DEFAULT_GATE,
    BackpressureGate,
    Caller,
    HttpRequest,
    iso_z,
    land,
    read_json_payload,
    sdk_info,
    utc_now,
)
from skyglass.ports.blob import BlobStore
from skyglass.ports.queue import MessageQueue
from skyglass.settings import Settings

INVALID = "Invalid request data"


class ScoreDeleter(Protocol):
    """The analytics-store methods deleting a score needs (``AnalyticsWriter`` has them)."""

    def record_deletions(self, deletions: Sequence[Deletion]) -> None: ...

    def delete_scores(self, project_id: str, score_ids: Sequence[str]) -> None: ...


@dataclass
class ScoresResult:
    status: int
    body: dict[str, Any]
    blob_key: str | None = None


def validate_score(raw: Any) -> ScoreBody:
    """One ``CreateScoreRequest``; raises ``ValueError`` naming the field and the rule broken."""
    if not isinstance(raw, dict):
        raise ValueError(f"a score must be a JSON object, got {type(raw).__name__}")
    try:
        return CreateScoreRequest.model_validate(raw)
    except ValidationError as exc:
        raise ValueError(describe_validation_error(exc)) from None


def score_event(raw: dict[str, Any], score: ScoreBody, received_at: datetime) -> dict[str, Any]:
    """The ``score-create`` ingestion event carrying one validated score."""
    body = wire_score_body(raw, score)
    body["id"] = score.id or str(uuid.uuid4())
    return {
        "id": str(uuid.uuid4()),
        "type": "score-create",
        "timestamp": score.timestamp or iso_z(received_at),
        "body": body,
    }


def create_scores(
    request: HttpRequest,
    caller: Caller,
    *,
    blobs: BlobStore,
    queue: MessageQueue,
    settings: Settings,
    now: datetime | None = None,
    gate: BackpressureGate = DEFAULT_GATE,
) -> ScoresResult:
    """Validate one score or an array of scores and land the valid ones; see the module docstring."""
    payload, _ = read_json_payload(
        request,
        queue=queue,
        max_body_bytes=settings.max_body_bytes,
        backpressure_depth=settings.queue_backpressure_depth,
        gate=gate,
    )
    received_at = now or utc_now()

    def store(events: list[dict[str, Any]]) -> str:
        envelope = BlobEnvelope(
            kind="ingestion",
            project_id=caller.project_id,
            received_at=received_at,
            sdk=sdk_info(request.headers, caller),
        ).model_copy(update={"events": events})
        return land(blobs, queue, envelope).blob_key

    if isinstance(payload, dict):
        try:
            score = validate_score(payload)
        except ValueError as exc:
            raise InvalidRequest(f"{INVALID}: {exc}") from None
        event = score_event(payload, score, received_at)
        return ScoresResult(200, {"id": event["body"]["id"]}, store([event]))

    if not isinstance(payload, list):
        raise InvalidRequest(f"{INVALID}: body must be a score object or an array of scores")
    if not payload:
        raise InvalidRequest(f"{INVALID}: the array of scores is empty")
    events, errors = [], []
    for index, raw in enumerate(payload):
        try:
            events.append(score_event(raw, validate_score(raw), received_at))
        except ValueError as exc:
            score_id = raw.get("id") if isinstance(raw, dict) else None
            named = f" (id {score_id})" if isinstance(score_id, str) else ""
            errors.append({"message": f"score [{index}]{named}: {exc}"})
    blob_key = store(events) if events else None
    if not errors:
        return ScoresResult(202, {"message": "Accepted"}, blob_key)
    return ScoresResult(207, {"accepted": len(events), "rejected": len(errors), "errors": errors}, blob_key)


def delete_score(
    store: ScoreDeleter | None, project_id: str, score_id: str, *, now: datetime | None = None
) -> None:
    """Delete one score of the project. Unknown ids succeed too: finding out would cost a query.

    The tombstone is recorded first, so replaying the raw log never brings the score back (a
    retry after a failure in between finds the tombstone already there and deletes again).
    """
    if not score_id:
        raise InvalidRequest("scoreId is required")
    if store is None:
        raise StoreUnavailable("The analytics store is not available; retry later")
    deleted_at = to_ms(now or utc_now())
    try:
        store.record_deletions([Deletion(project_id, EntityType.SCORE, score_id, deleted_at)])
        store.delete_scores(project_id, [score_id])
    except DomainError:
        raise
    except Exception as exc:
        raise StoreUnavailable("Could not delete the score; retry later") from exc
