"""The SQS worker's deliveries: which failed and whether retryably, and the sooner retry of those."""

from __future__ import annotations

from skyglass.errors import StoreUnavailable
from skyglass.ports.queue import ReceivedMessage
from skyglass.processing.deliveries import (
    RETRY_MAX_SECONDS,
    DeliveryFailure,
    delivery_from_sqs_record,
    failed_deliveries,
    retry_delay_seconds,
    retry_soon,
)
from skyglass.processing.worker import Processor
from tests.support.fake_analytics import FakeAnalyticsWriter
from tests.support.fakes import FakeBlobStore, FakeQueue
from tests.unit.test_processor import ev, put_blob


def test_an_sqs_record_becomes_a_delivery_with_its_receive_count():
    record = {
        "messageId": "m1",
        "receiptHandle": "r1",
        "body": "{}",
        "attributes": {"ApproximateReceiveCount": "3"},
    }
    assert delivery_from_sqs_record(record) == ReceivedMessage("m1", "{}", "r1", 3)
    assert delivery_from_sqs_record({"messageId": "m2", "body": ""}).receive_count == 1


def test_bad_messages_fail_alone_and_for_good_store_outages_retryably():
    # Given a good blob's message, an unparseable body and a message naming a missing blob
    blobs, analytics = FakeBlobStore(), FakeAnalyticsWriter()
    good = put_blob(blobs, [ev("e1", "trace-create", 0, {"id": "t1"})])
    missing = good.model_copy(update={"blob_key": good.blob_key.replace(".json", "-gone.json")})
    deliveries = [
        ReceivedMessage("good", good.model_dump_json(), "r-good", 1),
        ReceivedMessage("junk", "not json", "r-junk", 1),
        ReceivedMessage("gone", missing.model_dump_json(), "r-gone", 1),
    ]
    processor = Processor(blobs, analytics, tokenizer=None)
    # When processed while the analytics store works
    failures = failed_deliveries(deliveries, processor)
    # Then only the bad two failed, neither retryably
    assert set(failures) == {"junk", "gone"}
    assert not any(f.retryable for f in failures.values())
    # When processed while the analytics store is down
    analytics.fail_on.add("insert_events")
    failures = failed_deliveries(deliveries, processor)
    # Then the good one failed too, and only it is worth retrying soon
    assert {k for k, f in failures.items() if f.retryable} == {"good"}
    assert set(failures) == {"good", "junk", "gone"}


def test_retry_delays_grow_and_stay_below_the_cap():
    delays = [retry_delay_seconds(n) for n in range(1, 7)]
    assert delays == [30, 120, 480, 600, 600, 600]
    assert max(delays) == RETRY_MAX_SECONDS


class FlakyQueue(FakeQueue):
    """Records each release; fails the ones whose receipt is in ``broken``."""

    def __init__(self, broken: frozenset[str] = frozenset()) -> None:
        super().__init__()
        self.broken = broken
        self.releases: list[tuple[str, int]] = []

    def release(self, receipt: str, delay_seconds: int = 0) -> None:
        if receipt in self.broken:
            raise StoreUnavailable("SQS release failed: throttled")
        self.releases.append((receipt, delay_seconds))


def test_only_retryable_failures_are_retried_sooner_best_effort():
    # Given three failed deliveries (two retryable, one of them on its third receive) and one success
    deliveries = [
        ReceivedMessage("a", "{}", "r-a", 1),
        ReceivedMessage("b", "{}", "r-b", 3),
        ReceivedMessage("c", "{}", "r-c", 1),
        ReceivedMessage("ok", "{}", "r-ok", 1),
    ]
    failures = {
        "a": DeliveryFailure("store unavailable", retryable=True),
        "b": DeliveryFailure("store unavailable", retryable=True),
        "c": DeliveryFailure("bad blob", retryable=False),
    }
    # When their retries are shortened
    queue = FlakyQueue()
    assert retry_soon(queue, deliveries, failures) == 2
    # Then the retryable ones come back after their delay; the bad one keeps the full timeout
    assert queue.releases == [("r-a", 30), ("r-b", 480)]
    # And a release SQS refuses is skipped, not raised (that delivery waits out the timeout)
    flaky = FlakyQueue(broken=frozenset({"r-a"}))
    assert retry_soon(flaky, deliveries, failures) == 1
    assert flaky.releases == [("r-b", 480)]
