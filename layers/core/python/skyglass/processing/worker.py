"""The worker use case: queue messages → blobs → stored events → merged rows, idempotently.

For one batch of messages:

1. read every named blob and map it to raw entity events and score rows (``processing.events``;
   ``otel`` blobs through ``processing.otel_events`` first); a blob that is missing, unreadable or
   of a kind we cannot process fails only its own message;
2. load the tombstones of the batch's traces and scores (one small query) and drop the events and
   scores of deleted entities received before their deletion (``processing.deletions``), so a
   replay never brings deleted data back;
3. store all remaining raw trace/observation events in one insert;
4. load back *all* stored events of every touched entity (one query per project and entity type)
   and rebuild each row from scratch with the pure merge — storing before loading means that of
   two workers racing on one entity, the later loader sees both events;
5. enrich every rebuilt observation with usage and cost (``processing.enrich``: model match,
   tokenisation, tier, price as of the observation's start time);
6. upsert traces, observations and scores, one insert per table.

Every step is safe to repeat: events are keyed by event id and rows are versioned by event time,
so a redelivered message or a replayed blob leaves the tables as they were. A store failure
(``StoreUnavailable``) fails the whole batch, retryably; nothing is acknowledged.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
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
from skyglass.domain.records import (
    DeletionKey,
    EntityEvent,
    EntityType,
    ObservationRecord,
    ScoreRecord,
    TraceRecord,
)
from skyglass.errors import InvalidRequest, StoreUnavailable
from skyglass.ports.analytics import AnalyticsWriter
from skyglass.ports.blob import BlobStore
from skyglass.processing.deletions import (
    EntityKey,
    Tombstones,
    drop_covered,
    named_trace,
    score_keys,
    trace_key,
)
from skyglass.processing.enrich import Enricher, ProjectModels
from skyglass.processing.events import BlobRecords, SortKey, envelope_records
from skyglass.processing.otel_events import otel_records
from skyglass.processing.tokenize import count_tokens

logger = logging.getLogger(__name__)


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
    deleted: int = 0  # events and scores dropped: their trace or score was deleted after receipt
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
    scores: list[tuple[ScoreRecord, datetime]] = field(default_factory=list)  # with receive time
    # (project, observation id) → (sort key, trace id) of the earliest event naming its trace
    named_traces: dict[tuple[str, str], tuple[SortKey, str]] = field(default_factory=dict)

    def add(self, blob_key: str, records: BlobRecords) -> None:
        for event in records.entity_events:
            key = (event.project_id, event.entity_type, event.entity_id)
            self.events.setdefault(key, {})[event.event_id] = event
            self.contributors[key].add(blob_key)
        self.scores.extend((score, records.received_at) for score in records.scores)
        for observation_id, (order, trace_id) in records.observation_traces.items():
            known = self.named_traces.get((records.project_id, observation_id))
            if known is None or order < known[0]:
                self.named_traces[(records.project_id, observation_id)] = (order, trace_id)

    def observation_traces(self) -> dict[tuple[str, str], str]:
        return {key: trace_id for key, (_, trace_id) in self.named_traces.items()}

    def deletion_keys(self) -> set[DeletionKey]:
        """Every tombstone that could cover something in the batch."""
        traces = self.observation_traces()
        keys = {trace_key(key, traces) for key in self.events}
        for score, _ in self.scores:
            keys.update(score_keys(score))
        return keys

    def drop_deleted(self, tombstones: Tombstones) -> int:
        """Remove the events and score versions deleted after receipt; returns how many."""
        dropped = self.drop_deleted_events(tombstones, self.observation_traces())
        kept = [
            (score, received)
            for score, received in self.scores
            if not tombstones.covers_score(score, received)
        ]
        dropped += len(self.scores) - len(kept)
        self.scores = kept
        return dropped

    def drop_deleted_events(self, tombstones: Tombstones, traces: dict[tuple[str, str], str]) -> int:
        """Remove the events deleted after receipt (entities left empty go); returns how many."""
        dropped = 0
        for key in list(self.events):
            dropped += drop_covered(self.events[key], trace_key(key, traces), tombstones)
            if not self.events[key]:  # nothing left to merge for this entity
                del self.events[key]
                self.contributors.pop(key, None)
        return dropped

    def newest_scores(self) -> list[ScoreRecord]:
        """One version per score id: the newest; equal versions are decided by content, so the
        choice does not depend on message order."""
        best: dict[tuple[str, str], ScoreRecord] = {}
        for score, _ in self.scores:
            key = (score.project_id, score.id)
            current = best.get(key)
            if current is None or _score_rank(score) > _score_rank(current):
                best[key] = score
        return [best[key] for key in sorted(best)]


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
        tombstones = Tombstones()
        keys = batch.deletion_keys()
        if keys:
            tombstones.add(keys, self._analytics.load_deletions(keys))
            result.deleted = batch.drop_deleted(tombstones)
        new_events = [event for events in batch.events.values() for event in events.values()]
        if new_events:
            self._analytics.insert_events(new_events)
        result.events = len(new_events)
        fresh = {key: set(events) for key, events in batch.events.items()}
        self._load_stored(batch)
        self._drop_deleted_stored(batch, tombstones)

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
        scores = batch.newest_scores()
        if traces:
            self._analytics.upsert_traces(traces)
        if observations:
            self._analytics.upsert_observations(observations)
        if scores:
            self._analytics.upsert_scores(scores)
        result.traces, result.observations, result.scores = len(traces), len(observations), len(scores)

    def _load_stored(self, batch: _Batch) -> None:
        """Complete each touched entity with its stored events, as the table resolves them.

        First the ids and receive times of the stored copies (cheap), then the bodies of only the
        entities with a stored event the batch lacks or holds an older copy of (the table keeps the
        newest copy of an event id). Usually that is few or none: the spans of a trace mostly
        arrive together, so re-reading every body the batch just wrote would be wasted work.
        """
        wanted: defaultdict[tuple[str, str], list[str]] = defaultdict(list)
        for project_id, entity_type, entity_id in batch.events:
            wanted[(project_id, entity_type)].append(entity_id)
        for (project_id, entity_type), entity_ids in sorted(wanted.items()):
            stored = self._analytics.stored_event_times(project_id, entity_type, entity_ids)
            incomplete = sorted(
                {
                    entity_id
                    for (entity_id, event_id), received_at in stored.items()
                    if _stale_or_missing(
                        batch.events.get((project_id, entity_type, entity_id)), event_id, received_at
                    )
                }
            )
            if not incomplete:
                continue
            for event in self._analytics.load_events(project_id, entity_type, incomplete):
                bucket = batch.events.get((project_id, entity_type, event.entity_id))
                if bucket is not None:
                    bucket[event.event_id] = event

    def _drop_deleted_stored(self, batch: _Batch, tombstones: Tombstones) -> None:
        """Apply the tombstones to the stored events loaded back as well.

        An observation whose batch events name no trace may name it in its stored events; that
        trace's tombstone is looked up now (a second query, only in that rare case).
        """
        traces = batch.observation_traces()
        unresolved = [
            key for key in batch.events if key[1] == EntityType.OBSERVATION and (key[0], key[2]) not in traces
        ]
        for project_id, _, observation_id in unresolved:
            trace_id = named_trace(
                batch.events[(project_id, EntityType.OBSERVATION, observation_id)].values()
            )
            if trace_id:
                traces[(project_id, observation_id)] = trace_id
        missing = {trace_key(key, traces) for key in unresolved} - tombstones.looked_up
        if missing:
            tombstones.add(missing, self._analytics.load_deletions(missing))
        if tombstones.deleted_at:
            batch.drop_deleted_events(tombstones, traces)


def _stale_or_missing(held: dict[str, EntityEvent] | None, event_id: str, stored_at: datetime) -> bool:
    """True when the stored copy of ``event_id`` is not in ``held`` or newer than the held one."""
    if held is None:
        return False  # an entity the batch does not touch (cannot happen: ids were asked for)
    event = held.get(event_id)
    return event is None or stored_at > event.received_at


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
