"""Steps shared by every ingest endpoint: read and check the request, then land it durably.

``land`` is the write path's one durability rule: the accepted part of a request is written once
to the blob store, then one queue message names it; only then may the caller answer 2xx. Any
failure on the way is a 503 with Retry-After (``StoreUnavailable``), which SDKs and OTel
exporters retry — never a 2xx for data that is not stored, never a 500 that they would drop.

Kept free of heavy imports: this module runs on every ingest Lambda cold start.
"""

from __future__ import annotations

import base64
import binascii
import logging
import threading
import time
import weakref
from collections.abc import Callable, Mapping
from contextlib import suppress
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

import orjson

from skyglass.contracts.compression import gunzip
from skyglass.contracts.messages import BlobEnvelope, QueueMessage, SdkInfo, blob_key_for
from skyglass.errors import InvalidRequest, PayloadTooLarge, StoreUnavailable, UnsupportedMediaType
from skyglass.ports.blob import BlobStore
from skyglass.ports.queue import MessageQueue

log = logging.getLogger(__name__)

JSON_MEDIA_TYPE = "application/json"
BACKPRESSURE_RETRY_AFTER_SECONDS = 5


class Caller(Protocol):
    """Who is ingesting (``auth.service.ProjectScope`` fits; use cases may not import auth)."""

    @property
    def project_id(self) -> str: ...

    @property
    def public_key(self) -> str: ...

    @property
    def access_level(self) -> str: ...


@dataclass(frozen=True, slots=True)
class HttpRequest:
    """The parts of an HTTP request an ingest use case reads; header names lower-cased."""

    body: bytes
    headers: Mapping[str, str]

    @classmethod
    def of(cls, body: bytes, headers: Mapping[str, str] | None) -> HttpRequest:
        return cls(body, {name.lower(): value for name, value in (headers or {}).items()})


def utc_now() -> datetime:
    return datetime.now(UTC)


def iso_z(moment: datetime) -> str:
    """``2026-01-01T10:00:00.123Z``: the timestamp form Langfuse SDKs send."""
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _too_large(max_bytes: int) -> PayloadTooLarge:
    return PayloadTooLarge(f"Request body is larger than the limit of {max_bytes} bytes")


def read_body(body: str | None, is_base64: bool, max_bytes: int) -> bytes:
    """The raw request body of an API Gateway event; 413 beyond ``max_bytes``."""
    if not body:
        return b""
    if is_base64:
        # Refuse from the encoded length (4 characters per 3 bytes) before decoding anything.
        if len(body) // 4 * 3 - 2 > max_bytes:
            raise _too_large(max_bytes)
        try:
            data = base64.b64decode(body, validate=True)
        except binascii.Error as exc:
            raise InvalidRequest("Invalid request body: not base64") from exc
    else:
        data = body.encode()
    if len(data) > max_bytes:
        raise _too_large(max_bytes)
    return data


def decoded_content(request: HttpRequest, max_bytes: int) -> bytes:
    """The body after ``Content-Encoding`` (identity or gzip); 413 if it inflates past the limit."""
    encoding = request.headers.get("content-encoding", "").strip().lower()
    if encoding in ("", "identity"):
        return request.body
    if encoding not in ("gzip", "x-gzip"):
        raise UnsupportedMediaType(f"Unsupported content encoding {encoding!r}: use gzip or none")
    return gunzip(request.body, max_bytes, _too_large(max_bytes).message)


def require_json(headers: Mapping[str, str]) -> None:
    """415 unless the content type is JSON (an absent header is tolerated, as curl users omit it)."""
    content_type = headers.get("content-type")
    if not content_type:
        return
    media = content_type.split(";", 1)[0].strip().lower()
    if media != JSON_MEDIA_TYPE and not media.endswith("+json"):
        raise UnsupportedMediaType(f"Unsupported content type {content_type!r}: expected {JSON_MEDIA_TYPE}")


def parse_json(data: bytes) -> Any:
    """orjson-parsed body; 400 ``Invalid JSON: …`` with the position of the problem."""
    if not data.strip():
        raise InvalidRequest("Invalid JSON: the request body is empty")
    try:
        return orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        raise InvalidRequest(
            f"Invalid JSON: {exc.msg} at line {exc.lineno} column {exc.colno} (char {exc.pos})"
        ) from None


def sdk_info(headers: Mapping[str, str], caller: Caller, metadata: Any = None) -> SdkInfo:
    """Attribution from ``x-langfuse-sdk-*`` headers (SDK v2 spells them with ``_``), then from
    the batch ``metadata`` SDK v2 also sends, then from the authenticated key."""

    def header(name: str) -> str | None:
        return headers.get(name) or headers.get(name.replace("-", "_")) or None

    meta = metadata if isinstance(metadata, dict) else {}

    def meta_str(key: str) -> str | None:
        value = meta.get(key)
        return value if isinstance(value, str) and value else None

    return SdkInfo(
        name=header("x-langfuse-sdk-name") or meta_str("sdk_name") or "unknown",
        version=header("x-langfuse-sdk-version") or meta_str("sdk_version") or "unknown",
        public_key=header("x-langfuse-public-key") or meta_str("public_key") or caller.public_key,
        ingestion_version=header("x-langfuse-ingestion-version"),
    )


class BackpressureGate:
    """Refuses new work while the queue is deeper than a limit (503 + Retry-After).

    The depth is read at most once per ``ttl_seconds`` per queue, so the hot path does not ask
    SQS (or SQLite) on every request. A failing depth probe lets requests through: the write
    itself will then tell whether the stores are really down.
    """

    def __init__(self, ttl_seconds: float = 1.0, clock: Callable[[], float] = time.monotonic):
        self._ttl = ttl_seconds
        self._clock = clock
        self._readings: weakref.WeakKeyDictionary[Any, tuple[float, int]] = weakref.WeakKeyDictionary()
        self._lock = threading.Lock()

    def check(self, queue: MessageQueue, limit: int) -> None:
        """Raise ``StoreUnavailable`` when ``queue`` holds more than ``limit`` messages."""
        depth = self._depth(queue)
        if depth is not None and depth > limit:
            raise StoreUnavailable(
                f"Ingestion is backed up ({depth} queued batches, limit {limit}); retry later",
                retry_after=BACKPRESSURE_RETRY_AFTER_SECONDS,
            )

    def _depth(self, queue: MessageQueue) -> int | None:
        now = self._clock()
        with self._lock:
            try:
                reading = self._readings.get(queue)
            except TypeError:  # not weak-referenceable: no caching
                reading = None
        if reading is not None and now - reading[0] < self._ttl:
            return reading[1]
        try:
            depth = queue.depth()
        except Exception:
            log.warning("queue depth probe failed; admitting the request", exc_info=True)
            return None
        with self._lock, suppress(TypeError):
            self._readings[queue] = (now, depth)
        return depth


DEFAULT_GATE = BackpressureGate()


def encode_envelope(envelope: BlobEnvelope) -> bytes:
    """``envelope`` as the JSON ``BlobEnvelope.model_validate_json`` reads back.

    Events and payload go through orjson directly: they came from orjson and pydantic would
    only walk them again (seconds for a large batch on a small Lambda).
    """
    head = envelope.model_dump(mode="json", exclude={"events", "payload"})
    head["events"] = envelope.events
    head["payload"] = envelope.payload
    return orjson.dumps(head)


def land(blobs: BlobStore, queue: MessageQueue, envelope: BlobEnvelope) -> QueueMessage:
    """Write ``envelope`` once to the blob store, then enqueue one message naming it.

    Raises ``StoreUnavailable`` (503) if either step fails. After a failed send the blob is
    kept on purpose: the send may have reached the queue before failing, the client retries
    anyway, and processing the same events twice changes nothing.
    """
    key = blob_key_for(envelope.project_id, envelope.received_at, envelope.kind)
    data = encode_envelope(envelope)
    try:
        blobs.put(key, data)
    except Exception as exc:
        log.exception("blob write failed: %s", key)
        raise _unavailable("Could not store the request", exc) from exc
    message = QueueMessage(
        blob_key=key,
        project_id=envelope.project_id,
        kind=envelope.kind,
        received_at=envelope.received_at,
        event_count=len(envelope.events),
    )
    try:
        queue.send(message.model_dump_json())
    except Exception as exc:
        log.exception("enqueue failed for stored blob %s", key)
        raise _unavailable("Could not queue the request for processing", exc) from exc
    return message


def _unavailable(what: str, exc: Exception) -> StoreUnavailable:
    # The provider's message stays in the log: it may name hosts, buckets or paths.
    retry_after = exc.retry_after if isinstance(exc, StoreUnavailable) else 2
    return StoreUnavailable(f"{what}; retry later", retry_after=retry_after)


def read_json_payload(
    request: HttpRequest,
    *,
    queue: MessageQueue,
    max_body_bytes: int,
    backpressure_depth: int,
    gate: BackpressureGate = DEFAULT_GATE,
) -> tuple[Any, int]:
    """``(parsed body, decoded size in bytes)``: content type, back-pressure, decoding and JSON
    parsing, the cheapest refusal first."""
    require_json(request.headers)
    gate.check(queue, backpressure_depth)
    data = decoded_content(request, max_body_bytes)
    return parse_json(data), len(data)
