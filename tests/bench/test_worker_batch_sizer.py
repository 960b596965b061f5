"""The local worker's adaptive batch size (a performance change found by the benchmarks)."""

from __future__ import annotations

from skyglass.local.worker import BatchSizer


def test_large_messages_shrink_the_batch_towards_the_target() -> None:
    # Given 10 messages that took 5 s (OTLP exports of 512 spans each)
    sizer = BatchSizer(max_messages=100, target_seconds=1.0, start=10)
    # When recorded, Then the next batch asks for about 1 s worth
    sizer.record(10, 5.0)
    assert sizer.size == 2


def test_small_messages_grow_the_batch_at_most_twofold_up_to_the_limit() -> None:
    sizer = BatchSizer(max_messages=100, target_seconds=1.0, start=10)
    sizer.record(10, 0.01)
    assert sizer.size == 20  # not 1000: growth is capped per batch
    for _ in range(5):
        sizer.record(sizer.size, 0.01)
    assert sizer.size == 100


def test_a_short_queue_says_nothing_about_full_batches() -> None:
    # Given a batch smaller than asked for because the queue ran empty, and quick
    sizer = BatchSizer(max_messages=100, target_seconds=1.0, start=40)
    sizer.record(3, 0.05)
    # Then the size is kept
    assert sizer.size == 40
    # But a short batch that was slow still shrinks it
    sizer.record(3, 3.0)
    assert sizer.size == 1


def test_size_never_leaves_its_bounds() -> None:
    sizer = BatchSizer(max_messages=5, target_seconds=1.0, start=50)
    assert sizer.size == 5
    sizer.record(5, 100.0)
    assert sizer.size == 1
    sizer.record(0, 1.0)
    assert sizer.size == 1
