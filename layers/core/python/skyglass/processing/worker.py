"""The worker use case: queue messages → blobs → stored events → merged rows, idempotently.

For one batch of messages:

1. read every named blob and map it to raw entity events and score rows (``processing.events``;
   ``otel`` blobs through ``processing.otel_events`` first); a blob that is missing, unreadable or
   of a kind we cannot process fails only its own message;
2. store all raw trace/observation events in one insert;
3. load back *all* stored events of every touched entity (one query per project and entity type)
   and rebuild each row from scratch with the pure merge — storing before loading means that of
   two workers racing on one entity, the later loader sees both events;
4. enrich every rebuilt observation with usage and cost (``processing.enrich``: model match,
   tokenisation, tier, price as of the observation's start time);
5. upsert traces, observations and scores, one insert per table.

Every step is safe to repeat: events are keyed by event id and rows are versioned by event time,
so a redelivered message or a replayed blob leaves the tables as they were. A store failure
(``StoreUnavailable``) fails the whole batch, retryably; nothing is acknowledged.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from skyglass.contracts.messages import BlobEnvelope, QueueMessage
from skyglass.domain.merge import (
    merge_observation,
    merge_trace,
    observation_tombstone,
    observation_trace_id,
)
from skyglass.domain.pricing import TokenCounter
from skyglass.domain.pricing_models import ModelPrice
from skyglass.domain.records import EntityEvent, EntityType, ObservationRecord, ScoreRecord, TraceRecord
from skyglass.errors import InvalidRequest, StoreUnavailable
from skyglass.ports.analytics import AnalyticsWriter
from skyglass.ports.blob import BlobStore
from skyglass.processing.enrich import Enricher, ProjectModels
from skyglass.processing.events import BlobRecords, envelope_records
from skyglass.processing.otel_events import otel_records
from skyglass.processing.tokenize import count_tokens

logger = logging.getLogger(__name__)

EntityKey = tuple[str, str, str]  # (project_id, entity_type, entity_id)


@dataclass(frozen=True, slots=True)
class MessageFailure:
    """Why one message was not processed.

    ``retryable`` is True for store trouble (try again soon) and False when the blob itself is
    bad: the caller releases the message anyway, and after the maximum number of receives the
    queue moves it to the dead-letter queue.
    """

    blob_key: str
    reason: str
    retryable: bool


@dataclass(slots=True)
class ProcessResult:
    failures: list[MessageFailure] = field(default_factory=list)
    events: int = 0  # raw trace/observation events stored (shallow trace events included)
    traces: int = 0
    observations: int = 0
    scores: int = 0

    def failed_keys(self) -> dict[str, str]:
        """Blob key → reason for every message that must not be acknowledged."""
        return {failure.blob_key: failure.reason for failure in self.failures}

    @property
    def ok(self) -> bool:
        """True when every message may be acknowledged."""
        return not self.failures


@dataclass(slots=True)
class _Batch:
    """Everything the readable messages of one batch contribute, grouped by entity."""

    events: dict[EntityKey, dict[str, EntityEvent]] = field(default_factory=dict)
    contributors: defaultdict[EntityKey, set[str]] = field(default_factory=lambda: defaultdict(set))
    scores: dict[tuple[str, str], ScoreRecord] = field(default_factory=dict)

    def add(self, blob_key: str, records: BlobRecords) -> None:
        for event in records.entity_events:
            key = (event.project_id, event.entity_type, event.entity_id)
            self.events.setdefault(key, {})[event.event_id] = event
            self.contributors[key].add(blob_key)
        for score in records.scores:
            score_key = (score.project_id, score.id)
            current = self.scores.get(score_key)
            # Within a batch keep the newest version; equal versions are decided by content
            # order so the choice does not depend on message order.
            if current is None or _score_rank(score) > _score_rank(current):
                self.scores[score_key] = score


def _score_rank(score: ScoreRecord) -> tuple[Any, ...]:
    return (score.event_ts, score.updated_at, score.value, score.string_value or "", score.name)


class Processor:
    """Processes batches of queue messages; receives its ports, builds nothing itself.

    ``project_models`` (project id → the project's own priced models, which take precedence
    over the defaults) is optional: without it only the default price table is used. ``models``
    replaces the shipped default table and ``tokenizer`` the offline token counter (``None``
    disables tokenisation); both exist for tests and benchmarks.
    """

    def __init__(
        self,
        blobs: BlobStore,
        analytics: AnalyticsWriter,
        *,
        project_models: ProjectModels | None = None,
        models: Sequence[ModelPrice] | None = None,
        tokenizer: TokenCounter | None = count_tokens,
    ):
        self._blobs = blobs
        self._analytics = analytics
        self._enricher = Enricher(models=models, tokenizer=tokenizer, project_models=project_models)

    def process(self, messages: list[QueueMessage]) -> ProcessResult:
        """Process a batch; the result names the messages that failed (all of them on store errors)."""
        result = ProcessResult()
        batch = _Batch()
        try:
            for message in messages:
                try:
                    records = self._read(message)
                except StoreUnavailable:
                    raise
                except Exception as exc:  # a bad blob fails its own message, never the batch
                    logger.warning("message failed: %s: %s", message.blob_key, exc)
                    result.failures.append(MessageFailure(message.blob_key, _reason(exc), False))
                    continue
                batch.add(message.blob_key, records)
            self._write(batch, result)
        except StoreUnavailable as exc:
            logger.warning("batch failed, store unavailable: %s", exc.message)
            poisoned = {f.blob_key: f for f in result.failures if not f.retryable}
            reason = f"store unavailable: {exc.message}"
            return ProcessResult(
                failures=[
                    poisoned.get(m.blob_key) or MessageFailure(m.blob_key, reason, True) for m in messages
                ]
            )
        return result

    def _read(self, message: QueueMessage) -> BlobRecords:
        data = self._blobs.get(message.blob_key)
        try:
            envelope = BlobEnvelope.model_validate_json(data)
        except ValueError as exc:  # pydantic's ValidationError is a ValueError
            raise InvalidRequest(f"unreadable blob: {exc.__class__.__name__}") from exc
        if envelope.project_id != message.project_id:
            raise InvalidRequest("blob project does not match the message")
        if envelope.kind == "ingestion":
            return envelope_records(envelope, message.blob_key)
        if envelope.kind == "otel":
            return otel_records(envelope, message.blob_key)
        raise InvalidRequest(f"unsupported blob kind: {envelope.kind}")

    def _write(self, batch: _Batch, result: ProcessResult) -> None:
        new_events = [event for events in batch.events.values() for event in events.values()]
        if new_events:
            self._analytics.insert_events(new_events)
        result.events = len(new_events)
        fresh = {key: set(events) for key, events in batch.events.items()}
        self._load_stored(batch)

        traces: list[TraceRecord] = []
        observations: list[ObservationRecord] = []
        project_models: dict[str, Sequence[ModelPrice]] = {}
        for key in sorted(batch.events):
            project_id, entity_type, entity_id = key
            events = list(batch.events[key].values())
            try:
                if entity_type == EntityType.TRACE:
                    traces.append(merge_trace(project_id, events))
                else:
                    if project_id not in project_models:  # once per project and batch
                        project_models[project_id] = self._enricher.project_models(project_id)
                    record = merge_observation(project_id, events)
                    observations.append(self._enricher.enrich(record, project_models[project_id]))
                    moved_from = _previous_trace_id(batch.events[key], fresh[key])
                    if moved_from is not None and moved_from != record.trace_id:
                        observations.append(observation_tombstone(record, moved_from))
            except StoreUnavailable:
                raise
            except Exception as exc:  # isolate an entity the merge cannot handle
                logger.exception("merge failed for %s %s", entity_type, entity_id)
                reason = f"merge failed for {entity_type} {entity_id}: {_reason(exc)}"
                result.failures.extend(
                    MessageFailure(blob_key, reason, False) for blob_key in sorted(batch.contributors[key])
                )
        scores = [batch.scores[key] for key in sorted(batch.scores)]
        if traces:
            self._analytics.upsert_traces(traces)
        if observations:
            self._analytics.upsert_observations(observations)
        if scores:
            self._analytics.upsert_scores(scores)
        result.traces, result.observations, result.scores = len(traces), len(observations), len(scores)

    def _load_stored(self, batch: _Batch) -> None:
        """Complete each touched entity with its stored events (stored copies win on equal ids)."""
        wanted: defaultdict[tuple[str, str], list[str]] = defaultdict(list)
        for project_id, entity_type, entity_id in batch.events:
            wanted[(project_id, entity_type)].append(entity_id)
        for (project_id, entity_type), entity_ids in sorted(wanted.items()):
            for event in self._analytics.load_events(project_id, entity_type, entity_ids):
                bucket = batch.events.get((project_id, entity_type, event.entity_id))
                if bucket is not None:
                    bucket[event.event_id] = event


def _previous_trace_id(events: dict[str, EntityEvent], fresh: set[str]) -> str | None:
    """The trace the observation's row had before this batch (None if it had no stored events).

    Observations are keyed by (trace_id, id): when new events move one to another trace (an
    update carrying no trace id was seen before its create), the row under the old key must be
    tombstoned, or the observation would stay listed under both traces.
    """
    earlier = [event for event_id, event in events.items() if event_id not in fresh]
    return observation_trace_id(earlier) if earlier else None


def _reason(exc: Exception) -> str:
    message = getattr(exc, "message", None) or str(exc) or exc.__class__.__name__
    return f"{exc.__class__.__name__}: {message}"
