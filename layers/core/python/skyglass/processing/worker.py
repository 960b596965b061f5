"""The worker use case: queue messages → blobs → stored events → merged rows, idempotently.

For one batch of messages:

1. read every named blob and map it to raw entity events and score rows (``processing.mapping``:
   in this thread or in helper processes); a blob that is missing, unreadable or of a kind we
   cannot process fails only its own message;
2. load the tombstones of the batch's traces and scores (one small query) and drop the events and
   scores of deleted entities received before their deletion (``processing.deletions``), so a
   replay never brings deleted data back;
3. store all remaining raw trace/observation events in one insert;
4. complete every touched entity with *all* its stored events (ids first, bodies only of events
   the batch lacks) and rebuild each row from scratch with the pure merge — storing before
   loading means that of two workers racing on one entity, the later loader sees both events;
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
from concurrent.futures import Future
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from datetime import datetime

from skyglass.contracts.messages import QueueMessage
from skyglass.domain.merge import (
    merge_observation,
    merge_trace,
    observation_tombstone,
    observation_trace_id,
)
from skyglass.domain.pricing import TokenCounter
from skyglass.domain.pricing_models import ModelPrice
from skyglass.domain.records import EntityEvent, EntityType, ObservationRecord, TraceRecord
from skyglass.errors import StoreUnavailable
from skyglass.ports.analytics import AnalyticsWriter
from skyglass.ports.blob import BlobStore
from skyglass.processing.batch import Batch
from skyglass.processing.deletions import Tombstones, named_trace, trace_key
from skyglass.processing.enrich import Enricher, ProjectModels
from skyglass.processing.mapping import (
    BlobItem,
    BlobMapper,
    InlineMapper,
    MappedBlob,
    MappingFailure,
    failure_reason,
)
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
class PreparedBatch:
    """A batch whose blobs are read and being mapped (``Processor.prepare``)."""

    messages: list[QueueMessage]
    failures: list[MessageFailure] = field(default_factory=list)  # blobs that could not be read
    items: list[QueueMessage] = field(default_factory=list)  # the messages being mapped, in order
    mapped: Future[list[MappedBlob]] | None = None
    store_error: StoreUnavailable | None = None


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
        mapper: BlobMapper | None = None,
    ):
        self._blobs = blobs
        self._analytics = analytics
        self._mapper: BlobMapper = mapper or InlineMapper()
        self._enricher = Enricher(models=models, tokenizer=tokenizer, project_models=project_models)

    def process(self, messages: list[QueueMessage]) -> ProcessResult:
        """Process a batch; the result names the messages that failed (all of them on store errors)."""
        return self.finish(self.prepare(messages))

    def prepare(self, messages: list[QueueMessage]) -> PreparedBatch:
        """Read the batch's blobs and start mapping them (see ``processing.mapping``).

        Returns at once when the mapper works in other processes, so a caller can write one batch
        (``finish``) while the next one is mapped.
        """
        prepared = PreparedBatch(messages)
        items: list[BlobItem] = []
        for message in messages:
            try:
                items.append((message, self._blobs.get(message.blob_key)))
            except StoreUnavailable as exc:
                prepared.store_error = exc
                return prepared
            except Exception as exc:  # a missing blob fails its own message, never the batch
                logger.warning("message failed: %s: %s", message.blob_key, exc)
                prepared.failures.append(MessageFailure(message.blob_key, failure_reason(exc), False))
        prepared.items = [message for message, _ in items]
        prepared.mapped = self._mapper.submit(items) if items else None
        return prepared

    def finish(self, prepared: PreparedBatch) -> ProcessResult:
        """Wait for the batch's records, then merge and write them; see ``process``."""
        result = ProcessResult(failures=list(prepared.failures))
        batch = Batch()
        try:
            if prepared.store_error is not None:
                raise prepared.store_error
            mapped = prepared.mapped.result() if prepared.mapped is not None else []
            for message, records in zip(prepared.items, mapped, strict=True):
                if isinstance(records, MappingFailure):
                    result.failures.append(MessageFailure(message.blob_key, records.reason, False))
                else:
                    batch.add(message.blob_key, records)
            self._write(batch, result)
        except (StoreUnavailable, BrokenProcessPool) as exc:
            if isinstance(exc, StoreUnavailable):
                reason = f"store unavailable: {exc.message}"
            else:  # a mapping child died (out of memory, killed): the pool restarts on next use
                reason = "the mapping process stopped"
            logger.warning("batch failed, will be retried: %s", reason)
            poisoned = {f.blob_key: f for f in result.failures if not f.retryable}
            return ProcessResult(
                failures=[
                    poisoned.get(m.blob_key) or MessageFailure(m.blob_key, reason, True)
                    for m in prepared.messages
                ]
            )
        return result

    def close(self) -> None:
        """Stop the mapper's helper processes, if any."""
        self._mapper.close()

    def _write(self, batch: Batch, result: ProcessResult) -> None:
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
                reason = f"merge failed for {entity_type} {entity_id}: {failure_reason(exc)}"
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

    def _load_stored(self, batch: Batch) -> None:
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

    def _drop_deleted_stored(self, batch: Batch, tombstones: Tombstones) -> None:
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
