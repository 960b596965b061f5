"""Tombstones in the analytics store (``record_deletions`` / ``load_deletions``), on every backend:
chDB and ClickHouse over HTTP (``analytics_store``)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from skyglass.adapters.analytics.store import ClickHouseAnalyticsStore
from skyglass.adapters.analytics.writer import id_chunks
from skyglass.domain.records import Deletion
from tests.support.analytics import T0


def test_tombstones_round_trip_scoped_by_project_and_type(analytics_store: ClickHouseAnalyticsStore) -> None:
    # Given a deleted trace and a deleted score in p1, and the same ids deleted elsewhere
    analytics_store.record_deletions(
        [
            Deletion("p1", "trace", "t1", T0),
            Deletion("p1", "score", "s1", T0 + timedelta(seconds=1)),
            Deletion("p2", "trace", "s1", T0 + timedelta(seconds=2)),
            Deletion("p2", "score", "t1", T0 + timedelta(seconds=3)),
        ]
    )
    # When p1's keys are looked up, with a key never deleted
    found = analytics_store.load_deletions(
        [("p1", "trace", "t1"), ("p1", "score", "s1"), ("p1", "trace", "s1"), ("p1", "trace", "nope")]
    )
    # Then exactly p1's tombstones come back, with their times to the millisecond
    assert found == {("p1", "trace", "t1"): T0, ("p1", "score", "s1"): T0 + timedelta(seconds=1)}
    assert analytics_store.load_deletions([]) == {}


def test_deleting_again_keeps_the_newest_time(analytics_store: ClickHouseAnalyticsStore) -> None:
    # Given a trace deleted, used again, and deleted again (in two inserts, older one last)
    later = T0 + timedelta(minutes=5)
    analytics_store.record_deletions([Deletion("p1", "trace", "t1", later)])
    analytics_store.record_deletions([Deletion("p1", "trace", "t1", T0)])
    analytics_store.record_deletions([])
    # When looked up / Then the newest deletion counts
    assert analytics_store.load_deletions([("p1", "trace", "t1")]) == {("p1", "trace", "t1"): later}


def test_lookups_longer_than_one_chunk(analytics_store: ClickHouseAnalyticsStore) -> None:
    # Given 5000 deleted traces (more ids than one bound list holds)
    ids = [f"trace-{i:05d}-{'x' * 24}" for i in range(5000)]
    assert len(list(id_chunks(ids))) > 1
    analytics_store.record_deletions([Deletion("p1", "trace", i, T0) for i in ids])
    # When all of them and as many unknown ids are looked up in one call
    keys = [("p1", "trace", i) for i in ids] + [("p1", "trace", f"other-{i}") for i in range(5000)]
    found = analytics_store.load_deletions(keys)
    # Then every deleted one, and only those, is found
    assert sorted(k[2] for k in found) == ids


@pytest.mark.parametrize("what", ["trace", "score"])
def test_tombstones_survive_the_delete_they_come_with(
    analytics_store: ClickHouseAnalyticsStore, what: str
) -> None:
    # Given a tombstone recorded before the rows were deleted (the use cases' order)
    analytics_store.record_deletions([Deletion("p1", what, "x1", T0)])
    # When the entity's rows are deleted
    if what == "trace":
        analytics_store.delete_traces("p1", ["x1"])
    else:
        analytics_store.delete_scores("p1", ["x1"])
    # Then the tombstone is still there for the worker
    assert analytics_store.load_deletions([("p1", what, "x1")]) == {("p1", what, "x1"): T0}
