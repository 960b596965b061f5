"""Replay and redrive: rebuild the analytics store from the raw event log, retry dead letters.

``replay`` re-enqueues one queue message per blob received in a time range, exactly as the ingest
path did, so the worker reprocesses them (idempotently). Because blob keys are
``raw/YYYY/MM/DD/HH/<epoch-ms>-<kind>-<project>-<uuid>.json`` and sort chronologically, the range
is one ordered listing that starts right at ``since`` and stops at ``until``.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from pydantic import ValidationError

from skyglass.contracts.messages import BLOB_PREFIX, BlobEnvelope, QueueMessage, blob_key_time
from skyglass.errors import InvalidRequest, NotFound
from skyglass.ports.blob import BlobStore
from skyglass.ports.queue import MessageQueue

log = logging.getLogger(__name__)

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MS = timedelta(milliseconds=1)

SEND_CHUNK = 500  # messages per send_many: one local transaction / 50 SQS batch calls


@dataclass(frozen=True, slots=True)
class ReplayReport:
    """What a replay enqueued (or, for a dry run, would enqueue)."""

    count: int
    first_key: str | None
    last_key: str | None
    skipped: int = 0  # blobs in range that vanished or no longer parse (logged, not enqueued)


def _utc(value: datetime) -> datetime:
    # A naive datetime is taken as UTC: key times are UTC and the CLI parses ISO strings.
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _epoch_ms(moment: datetime, *, ceil: bool) -> int:
    # Exact integer arithmetic (no float rounding) so bounds never cut off a boundary key.
    if ceil:
        return -((_EPOCH - moment) // _MS)
    return (moment - _EPOCH) // _MS


def _hour_path(ms: int) -> str:
    return f"{BLOB_PREFIX}{datetime.fromtimestamp(ms / 1000, tz=UTC):%Y/%m/%d/%H}/"


def _bound(ms: int) -> str:
    """A key-order position: keys of blobs received at or after ``ms`` sort after it."""
    return f"{_hour_path(ms)}{ms:013d}"


def _common_prefix(a: str, b: str) -> str:
    """Longest shared whole-folder prefix, e.g. ``raw/2024/05/`` for two hours in May 2024."""
    size = 0
    for index, (x, y) in enumerate(zip(a, b, strict=False)):
        if x != y:
            break
        if x == "/":
            size = index + 1
    return a[:size]


def key_project(key: str) -> str | None:
    """The project id in a ``blob_key_for`` key (ids may contain ``-``; the kind and uuid do not)."""
    name = key.rsplit("/", 1)[-1].removesuffix(".json")
    fields = name.split("-", 2)
    if len(fields) < 3 or "-" not in fields[2]:
        return None
    return fields[2].rsplit("-", 1)[0]


def keys_in_range(
    blobs: BlobStore, since: datetime, until: datetime, project_id: str | None = None
) -> Iterator[str]:
    """Blob keys received in ``[since, until)``, oldest first, optionally of one project.

    The listing is confined to the folders both ends share (e.g. ``raw/2024/05/``), starts just
    before ``since`` (``start_after``: the store skips earlier hour folders unread) and stops at the
    first key at or after ``until``, so cost follows the range, not the size of the log.
    """
    since, until = _utc(since), _utc(until)
    if since >= until:
        return
    # The bounds are whole milliseconds around the range; the exact test is ``blob_key_time`` below.
    low_ms, high_ms = _epoch_ms(since, ceil=False), _epoch_ms(until, ceil=True)
    low, high = _bound(low_ms), _bound(high_ms)
    prefix = _common_prefix(_hour_path(low_ms), _hour_path(high_ms))
    for key in blobs.list_keys(prefix, start_after=low):
        if key >= high:
            return
        try:
            received = blob_key_time(key)
        except (ValueError, IndexError):
            log.warning("replay: ignoring key not made by blob_key_for: %s", key)
            continue
        if not since <= received < until:
            continue
        if project_id is not None and key_project(key) != project_id:
            continue
        yield key


def _message_for(key: str, data: bytes) -> QueueMessage:
    envelope = BlobEnvelope.model_validate_json(data)
    return QueueMessage(
        blob_key=key,
        project_id=envelope.project_id,
        kind=envelope.kind,
        received_at=envelope.received_at,
        event_count=len(envelope.events),
    )


def replay(
    blobs: BlobStore,
    queue: MessageQueue,
    *,
    since: datetime,
    until: datetime,
    project_id: str | None = None,
    dry_run: bool = False,
    chunk_size: int = SEND_CHUNK,
) -> ReplayReport:
    """Re-enqueue every blob received in ``[since, until)`` (optionally one project's).

    Messages are sent in chunks as the listing proceeds, so memory stays flat for any range and a
    failure part-way leaves the already-sent chunks enqueued (re-running is safe: processing is
    idempotent). A dry run only lists keys: it reads no blob and sends nothing.
    """
    if chunk_size < 1:
        raise InvalidRequest("chunk_size must be at least 1")
    count = skipped = 0
    first_key: str | None = None
    last_key: str | None = None
    pending: list[str] = []
    for key in keys_in_range(blobs, since, until, project_id):
        if not dry_run:
            try:
                message = _message_for(key, blobs.get(key))
            except (NotFound, ValidationError) as exc:
                # Deleted meanwhile, or not an envelope: enqueuing it would only feed the DLQ.
                log.warning("replay: skipping %s: %s", key, exc)
                skipped += 1
                continue
            pending.append(message.model_dump_json())
            if len(pending) >= chunk_size:
                queue.send_many(pending)
                pending = []
        count += 1
        first_key = first_key or key
        last_key = key
    if pending:
        queue.send_many(pending)
    return ReplayReport(count=count, first_key=first_key, last_key=last_key, skipped=skipped)


def redrive(queue: MessageQueue, max_messages: int | None = None) -> int:
    """Move dead-lettered messages back to the work queue (after fixing what made them fail)."""
    return queue.redrive(max_messages)
