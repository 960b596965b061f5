"""AnalyticsWriter contract, run on every backend (``analytics_store``: chdb, clickhouse)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
import pytest

from skyglass.adapters.analytics.executor import SqlExecutor
from skyglass.adapters.analytics.migrate import apply_migrations, migration_files, split_statements
from skyglass.adapters.analytics.rows import row_to_event, row_to_observation, row_to_score, row_to_trace
from skyglass.adapters.analytics.store import ClickHouseAnalyticsStore
from skyglass.adapters.analytics.writer import id_chunks
from skyglass.domain.merge import observation_tombstone
from skyglass.domain.merge_rules import row_version
from skyglass.errors import StoreUnavailable
from tests.support.analytics import T0
from tests.support.analytics import make_event as event
from tests.support.analytics import make_observation as observation
from tests.support.analytics import make_score as score
from tests.support.analytics import make_trace as trace


def final_rows(store: ClickHouseAnalyticsStore, table: str, project_id: str = "p1") -> list[dict[str, Any]]:
    order = "event_id" if table == "entity_events" else "id"
    return store.executor.query(
        f"SELECT * FROM {table} FINAL WHERE project_id = {{p:String}} ORDER BY {order}", {"p": project_id}
    )


def count(store: ClickHouseAnalyticsStore, table: str, project_id: str = "p1") -> int:
    rows = store.executor.query(
        f"SELECT count() AS c FROM {table} FINAL WHERE project_id = {{p:String}}", {"p": project_id}
    )
    return int(rows[0]["c"])


def test_migrate_is_idempotent(analytics_store: ClickHouseAnalyticsStore) -> None:
    # Given a store the fixture already migrated
    # When migrate runs again, twice
    analytics_store.migrate()
    analytics_store.migrate()
    # Then each migration is recorded once and the tables exist
    recorded = analytics_store.executor.query("SELECT version FROM schema_migrations ORDER BY version")
    assert [r["version"] for r in recorded] == [v for v, _, _ in migration_files()]
    tables = {
        r["name"]
        for r in analytics_store.executor.query(
            "SELECT name FROM system.tables WHERE database = currentDatabase()"
        )
    }
    assert {"traces", "observations", "scores", "entity_events", "deletions"} <= tables


def test_migration_0002_keeps_the_rows_of_a_0001_store(analytics_executor: SqlExecutor) -> None:
    # Given a store at migration 0001 holding two versions of a trace and of an observation
    [(first_version, first_name, first_sql)] = migration_files()[:1]
    for statement in split_statements(first_sql):
        analytics_executor.command(statement)
    analytics_executor.command(
        "CREATE TABLE schema_migrations (version UInt32, name String, "
        "applied_at DateTime64(3, 'UTC') DEFAULT now64(3)) ENGINE = ReplacingMergeTree ORDER BY version"
    )
    analytics_executor.insert_rows("schema_migrations", [{"version": first_version, "name": first_name}])
    old, new = T0, T0 + timedelta(seconds=1)
    traces = [trace(name="old", event_ts=old), trace(name="new", event_ts=new)]
    observations = [observation(name="old", event_ts=old), observation(name="new", event_ts=new)]
    for rows, table in ((traces, "traces"), (observations, "observations")):
        analytics_executor.insert_rows(table, [_without_row_version(row) for row in rows])
    # When the remaining migrations run
    apply_migrations(analytics_executor)
    # Then the newest version of each row survived, versioned by its event time
    for table in ("traces", "observations"):
        rows = analytics_executor.query(f"SELECT name, row_version FROM {table} FINAL")
        assert rows == [{"name": "new", "row_version": row_version(new, 0)}]
    # And observations are keyed by trace
    keys = analytics_executor.query(
        "SELECT name, sorting_key FROM system.tables WHERE database = currentDatabase() "
        "AND name IN ('traces', 'observations') ORDER BY name"
    )
    assert keys == [
        {"name": "observations", "sorting_key": "project_id, trace_id, id"},
        {"name": "traces", "sorting_key": "project_id, id"},
    ]


def _without_row_version(row: Any) -> dict[str, Any]:
    fields = dict(orjson.loads(orjson.dumps(row)))
    fields.pop("row_version")
    return fields


def test_stored_event_times_name_the_newest_copy_of_each_event(
    analytics_store: ClickHouseAnalyticsStore,
) -> None:
    # Given an event stored twice (a retried request) and events of other entities and projects
    later = T0 + timedelta(minutes=1)
    analytics_store.insert_events(
        [
            event("t1", "e1"),
            event("t1", "e1", received_at=later),
            event("t1", "e2"),
            event("t2", "e3"),
            event("t1", "e4", entity_type="observation"),
            event("t1", "e5", project_id="p2"),
        ]
    )
    # When the event times of t1 are asked for
    times = analytics_store.stored_event_times("p1", "trace", ["t1"])
    # Then each event of t1 appears once, with its newest receive time
    assert times == {("t1", "e1"): later, ("t1", "e2"): T0}


def test_events_round_trip_and_duplicates_load_once(analytics_store: ClickHouseAnalyticsStore) -> None:
    # Given events stored twice (a replayed blob) plus events of other entities and projects
    first = event("t1", "e1", body='{"name": "é \\"quoted\\"\\n"}')
    second = event("t1", "e2", event_type="trace-update", timestamp=T0 + timedelta(seconds=1))
    analytics_store.insert_events([first, second, first])
    analytics_store.insert_events([first])
    analytics_store.insert_events(
        [event("t2", "e3"), event("t1", "e4", project_id="p2"), event("t1", "e5", "observation")]
    )
    # When the trace's events are loaded
    loaded = analytics_store.load_events("p1", "trace", ["t1"])
    # Then each event id comes back once, every field intact
    assert sorted(loaded, key=lambda e: e.event_id) == [first, second]
    assert analytics_store.load_events("p1", "trace", []) == []
    assert {e.event_id for e in analytics_store.load_events("p1", "trace", ["t1", "t2", "missing"])} == {
        "e1",
        "e2",
        "e3",
    }


def test_load_events_handles_id_lists_longer_than_one_chunk(
    analytics_store: ClickHouseAnalyticsStore,
) -> None:
    # Given events of 6000 entities (more than one bound id list holds)
    ids = [f"obs-{i:05d}-{'x' * 24}" for i in range(6000)]
    assert len(list(id_chunks(ids))) > 1
    analytics_store.insert_events([event(i, f"ev-{i}", "observation") for i in ids])
    # When all of them are loaded in one call
    loaded = analytics_store.load_events("p1", "observation", ids)
    # Then every event comes back exactly once
    assert sorted(e.entity_id for e in loaded) == ids


def test_newest_event_ts_wins_whatever_the_insert_order(analytics_store: ClickHouseAnalyticsStore) -> None:
    # Given the newer version inserted before the older one (a late replay)
    analytics_store.upsert_traces([trace(name="new", event_ts=T0 + timedelta(minutes=1))])
    analytics_store.upsert_traces([trace(name="old", event_ts=T0)])
    # When read with FINAL
    rows = final_rows(analytics_store, "traces")
    # Then the newest event_ts wins
    assert [(r["name"], r["event_ts"]) for r in rows] == [("new", "2026-01-01T10:01:00.123Z")]


def test_equal_event_ts_keeps_the_last_insert(analytics_store: ClickHouseAnalyticsStore) -> None:
    # Given two versions with the same event_ts, inserted one after the other
    analytics_store.upsert_observations([observation(name="first")])
    analytics_store.upsert_observations([observation(name="second")])
    analytics_store.upsert_scores([score(value=1.0)])
    analytics_store.upsert_scores([score(value=2.0)])
    # When read with FINAL / Then the last insert wins
    assert [r["name"] for r in final_rows(analytics_store, "observations")] == ["second"]
    assert [r["value"] for r in final_rows(analytics_store, "scores")] == [2.0]


def test_a_row_merged_from_more_events_wins_a_time_tie(analytics_store: ClickHouseAnalyticsStore) -> None:
    # Given the full row (3 events) written first, then a partial row (2 events) with the same
    # newest event time, as two workers racing on one entity may leave them
    analytics_store.upsert_traces([trace(name="full", row_version=row_version(T0, 3))])
    analytics_store.upsert_traces([trace(name="partial", row_version=row_version(T0, 2))])
    # When read with FINAL / Then the row with more events wins although it was inserted first
    assert [r["name"] for r in final_rows(analytics_store, "traces")] == ["full"]


def test_rows_without_a_version_are_versioned_by_event_time(
    analytics_store: ClickHouseAnalyticsStore,
) -> None:
    # Given an unversioned row and a merged row of one event with an older event time
    analytics_store.upsert_observations([observation(name="direct", event_ts=T0 + timedelta(seconds=1))])
    analytics_store.upsert_observations([observation(name="merged", row_version=row_version(T0, 1))])
    # When read / Then the newer event time wins
    rows = final_rows(analytics_store, "observations")
    assert [(r["name"], r["row_version"]) for r in rows] == [
        ("direct", row_version(T0 + timedelta(seconds=1), 0))
    ]


def test_an_observation_tombstone_removes_the_row_under_its_trace_only(
    analytics_store: ClickHouseAnalyticsStore,
) -> None:
    # Given an observation first stored under trace t-old, then rebuilt under t-new
    analytics_store.upsert_observations([observation(trace_id="t-old", row_version=row_version(T0, 1))])
    moved = observation(trace_id="t-new", row_version=row_version(T0, 2))
    # When the worker writes the new row with a tombstone for the old key
    analytics_store.upsert_observations([moved, observation_tombstone(moved, "t-old")])
    # Then only the row under the new trace is live
    assert [(r["id"], r["trace_id"]) for r in final_rows(analytics_store, "observations")] == [
        ("o1", "t-new")
    ]


def test_records_round_trip_exactly(analytics_store: ClickHouseAnalyticsStore) -> None:
    # Given records using every column kind: maps, arrays, decimals, nullable and unicode values
    t = trace(
        name="chat ✨",
        user_id="u-1",
        session_id="sess'1",
        release="v1",
        version="2",
        environment="production",
        public=True,
        bookmarked=True,
        tags=["b", "a", "ünï"],
        metadata={"k": '"v"', "n": "5", "nested": '{"a": [1, "x\\\\y"]}'},
        input='{"messages": [{"role": "user", "content": "hi\\n"}]}',
        output='"hello"',
        row_version=7,
    )
    bare = trace(id="t2", row_version=8)
    o = observation(
        type="GENERATION",
        end_time=T0 + timedelta(seconds=2),
        name="llm",
        parent_observation_id="o0",
        level="WARNING",
        status_message="slow",
        version="v3",
        metadata={"tool": '"search"'},
        input='"q"',
        output='"a"',
        completion_start_time=T0 + timedelta(milliseconds=500),
        provided_model_name="gpt-4o",
        internal_model_id="m-1",
        model_parameters='{"temperature": 0.2}',
        provided_usage_details={"input": 10, "output": 20},
        usage_details={"input": 10, "output": 20, "total": 30, "big": 2**63},
        provided_cost_details={"input": 0.000123},
        cost_details={"input": 1e-05, "output": 12.5, "total": 12.50001},
        total_cost=12.50001,
        usage_pricing_tier_id="tier-1",
        usage_pricing_tier_name="Standard",
        prompt_id="pr-1",
        prompt_name="greeting",
        prompt_version=7,
        row_version=2**62,
    )
    bare_o = observation(id="o2", type="EVENT", row_version=9)
    s = score(
        value=1.0,
        data_type="CATEGORICAL",
        source="ANNOTATION",
        observation_id="o1",
        session_id="sess'1",
        dataset_run_id="run-1",
        string_value="good",
        comment="multi\nline",
        metadata={"by": '"reviewer"'},
        author_user_id="user-9",
        config_id="cfg-1",
        queue_id="q-1",
        execution_trace_id="exec-1",
    )
    bare_s = score(id="s2", trace_id=None)
    # When they are stored and read back through the row helpers
    analytics_store.upsert_traces([t, bare])
    analytics_store.upsert_observations([o, bare_o])
    analytics_store.upsert_scores([s, bare_s])
    # Then they compare equal, field for field
    assert [row_to_trace(r) for r in final_rows(analytics_store, "traces")] == [t, bare]
    assert [row_to_observation(r) for r in final_rows(analytics_store, "observations")] == [o, bare_o]
    assert [row_to_score(r) for r in final_rows(analytics_store, "scores")] == [s, bare_s]


def test_missing_version_times_are_stamped_now(analytics_store: ClickHouseAnalyticsStore) -> None:
    # Given a trace without created_at/updated_at/event_ts
    before = datetime.now(UTC) - timedelta(seconds=1)
    analytics_store.upsert_traces([trace(created_at=None, updated_at=None, event_ts=None)])
    # When read back / Then all three are the write time, not 1970
    stored = row_to_trace(final_rows(analytics_store, "traces")[0])
    for moment in (stored.created_at, stored.updated_at, stored.event_ts):
        assert moment is not None and moment >= before


def test_twenty_thousand_observations_in_one_call(
    analytics_store: ClickHouseAnalyticsStore, request: pytest.FixtureRequest
) -> None:
    # Given a processing batch of 20k observations with realistic payloads
    rows = [
        observation(
            id=f"o{i:05d}",
            trace_id=f"t{i % 50}",
            input='{"prompt": "' + "p" * 300 + '"}',
            usage_details={"input": i, "output": 2 * i},
            cost_details={"total": i / 1000},
        )
        for i in range(20_000)
    ]
    # When they are upserted in one call
    analytics_store.upsert_observations(rows)
    # Then every row is stored
    totals = analytics_store.executor.query(
        "SELECT count() AS c, sum(usage_details['output']) AS out FROM observations FINAL WHERE project_id = 'p1'"
    )
    assert totals == [{"c": 20_000, "out": 2 * sum(range(20_000))}]
    if request.node.callspec.params["analytics_store"] == "clickhouse":
        # And over HTTP it was a single INSERT into the table
        log = request.getfixturevalue("clickhouse_server").log
        assert len([r for r in log if r.statement.split()[:3] == ["INSERT", "INTO", "observations"]]) == 1


def seed_two_traces(store: ClickHouseAnalyticsStore, project_id: str) -> None:
    """t1 and t2, each with observations, scores and events (one event's row not written yet)."""
    store.upsert_traces([trace("t1", project_id), trace("t2", project_id)])
    store.upsert_observations(
        [
            observation("o1", "t1", project_id),
            observation("o2", "t1", project_id),
            observation("o3", "t2", project_id),
        ]
    )
    store.upsert_scores(
        [
            score("s1", "t1", project_id),
            score("s2", "t2", project_id),
            score("s3", None, project_id, session_id="x"),
        ]
    )
    store.insert_events(
        [
            event("t1", "e-t1", "trace", project_id),
            event("o1", "e-o1", "observation", project_id),
            event("o9", "e-o9", "observation", project_id, body='{"id": "o9", "traceId": "t1"}'),
            event("s1", "e-s1", "score", project_id),
            event("t2", "e-t2", "trace", project_id),
            event("o3", "e-o3", "observation", project_id, body='{"id": "o3", "traceId": "t2"}'),
        ]
    )


def ids(store: ClickHouseAnalyticsStore, table: str, project_id: str, column: str = "id") -> list[str]:
    return sorted(str(r[column]) for r in final_rows(store, table, project_id))


def test_delete_traces_removes_everything_of_those_traces_only(
    analytics_store: ClickHouseAnalyticsStore,
) -> None:
    # Given two traces in p1 and the same ids in p2
    seed_two_traces(analytics_store, "p1")
    seed_two_traces(analytics_store, "p2")
    # When t1 of p1 is deleted
    analytics_store.delete_traces("p1", ["t1"])
    # Then t1's trace, observations, scores and events are gone, read right after
    assert ids(analytics_store, "traces", "p1") == ["t2"]
    assert ids(analytics_store, "observations", "p1") == ["o3"]
    assert ids(analytics_store, "scores", "p1") == ["s2", "s3"]
    assert ids(analytics_store, "entity_events", "p1", "event_id") == ["e-o3", "e-t2"]
    # And project p2 is untouched
    assert ids(analytics_store, "traces", "p2") == ["t1", "t2"]
    assert ids(analytics_store, "observations", "p2") == ["o1", "o2", "o3"]
    assert ids(analytics_store, "scores", "p2") == ["s1", "s2", "s3"]
    assert len(final_rows(analytics_store, "entity_events", "p2")) == 6
    # And deleting nothing, or unknown ids, is harmless
    analytics_store.delete_traces("p1", [])
    analytics_store.delete_traces("p1", ["t1", "nope"])
    assert ids(analytics_store, "traces", "p1") == ["t2"]


def test_delete_scores_by_id(analytics_store: ClickHouseAnalyticsStore) -> None:
    # Given scores in two projects, with a stored score event
    analytics_store.upsert_scores([score("s1"), score("s2"), score("s1", project_id="p2")])
    analytics_store.insert_events([event("s1", "e-s1", "score"), event("s2", "e-s2", "score")])
    # When s1 of p1 is deleted
    analytics_store.delete_scores("p1", ["s1"])
    # Then only that score and its events are gone
    assert ids(analytics_store, "scores", "p1") == ["s2"]
    assert ids(analytics_store, "scores", "p2") == ["s1"]
    assert [e.event_id for e in analytics_store.load_events("p1", "score", ["s1", "s2"])] == ["e-s2"]


def test_engine_errors_surface_as_store_unavailable(analytics_store: ClickHouseAnalyticsStore) -> None:
    with pytest.raises(StoreUnavailable):
        analytics_store.executor.query("SELECT * FROM traces WHERE no_such_column = 1")


def test_row_helpers_accept_alternative_encodings() -> None:
    # Quoted decimals/64-bit ints, offset or naive times and extra columns all convert
    row = {
        "id": "o1",
        "trace_id": "t1",
        "project_id": "p1",
        "type": "SPAN",
        "start_time": "2026-01-01 12:00:00.123+02:00",
        "end_time": None,
        "total_cost": "0.000000000001",
        "usage_details": {"input": "18446744073709551615"},
        "cost_details": {"total": "1.5"},
        "created_at": datetime(2026, 1, 1, 10, 0, 0, 123000),
        "computed": 1,
    }
    record = row_to_observation(row)
    assert record.start_time == T0 and record.created_at == T0 and record.end_time is None
    assert record.total_cost == 1e-12 and record.cost_details == {"total": 1.5}
    assert record.usage_details == {"input": 2**64 - 1}
    assert (
        row_to_event(
            {
                "project_id": "p",
                "entity_type": "trace",
                "entity_id": "t",
                "event_id": "e",
                "event_type": "trace-create",
                "timestamp": "2026-01-01T10:00:00.123Z",
                "body": "{}",
                "received_at": "2026-01-01T10:00:00.123Z",
            }
        ).timestamp
        == T0
    )
