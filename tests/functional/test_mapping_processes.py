"""The worker mapping blobs in a helper process: same rows as in process, failures contained."""

from __future__ import annotations

import multiprocessing
import os
import signal
from collections.abc import Iterator

import pytest

from skyglass.adapters.analytics.store import ClickHouseAnalyticsStore
from skyglass.contracts.messages import QueueMessage
from skyglass.processing.mapping import ProcessMapper
from skyglass.processing.worker import Processor
from tests.functional.test_processing_chdb import make_messages, reference_tables, tables
from tests.support.fakes import FakeBlobStore


@pytest.fixture
def mapper() -> Iterator[ProcessMapper]:
    mapper = ProcessMapper(processes=1)
    yield mapper
    mapper.close()


def test_rows_equal_those_mapped_in_process(
    chdb_store: ClickHouseAnalyticsStore, mapper: ProcessMapper
) -> None:
    # Given the blobs of a trace spread over four messages
    blobs = FakeBlobStore()
    messages = make_messages(blobs)
    # When processed in two batches, mapping in a helper process, the second prepared before the
    # first is written (as the local worker pipelines them)
    processor = Processor(blobs, chdb_store, mapper=mapper)
    first, second = processor.prepare(messages[:2]), processor.prepare(messages[2:])
    assert processor.finish(first).ok and processor.finish(second).ok
    # Then the rows equal those of mapping everything in process
    assert tables(chdb_store) == reference_tables(messages, blobs)


def test_a_bad_blob_fails_alone_and_a_missing_one_too(
    chdb_store: ClickHouseAnalyticsStore, mapper: ProcessMapper
) -> None:
    # Given a good message, one whose blob is corrupt and one whose blob is gone
    blobs = FakeBlobStore()
    good = make_messages(blobs)[0]
    corrupt = good.model_copy(update={"blob_key": "raw/2026/03/01/12/corrupt.json"})
    blobs.put(corrupt.blob_key, b"{ not json")
    missing = good.model_copy(update={"blob_key": "raw/2026/03/01/12/missing.json"})
    # When processed together
    result = Processor(blobs, chdb_store, mapper=mapper).process([corrupt, good, missing])
    # Then only the two bad ones failed, for good (not retryable), and the good one landed
    assert sorted(result.failed_keys()) == sorted([corrupt.blob_key, missing.blob_key])
    assert not any(f.retryable for f in result.failures)
    assert {t.id for t in tables(chdb_store)["traces"]} == {"t1"}


def test_a_dead_mapping_process_fails_the_batch_retryably_and_is_replaced(
    chdb_store: ClickHouseAnalyticsStore, mapper: ProcessMapper
) -> None:
    blobs = FakeBlobStore()
    messages: list[QueueMessage] = make_messages(blobs)
    processor = Processor(blobs, chdb_store, mapper=mapper)
    # Given a batch being mapped when its helper process is killed
    before = {child.pid for child in multiprocessing.active_children()}
    prepared = processor.prepare(messages)
    helpers = [child for child in multiprocessing.active_children() if child.pid not in before]
    assert helpers, "the mapper started a helper process"
    for child in helpers:
        os.kill(child.pid, signal.SIGKILL)  # type: ignore[arg-type]
    # When the batch is finished
    result = processor.finish(prepared)
    # Then every message failed retryably (it will be delivered again), and nothing was written
    # (a spawned helper takes far longer to start than the kill takes to arrive)
    assert {f.blob_key for f in result.failures} == {m.blob_key for m in messages}
    assert all(f.retryable for f in result.failures)
    assert tables(chdb_store)["traces"] == []
    # And the next attempt runs in a new helper and lands everything
    assert processor.process(messages).ok
    assert tables(chdb_store) == reference_tables(messages, blobs)
