"""Analytics store fixtures over real engines: embedded chDB, and clickhouse-connect talking to the
ClickHouse HTTP interface served over chDB (``tests.support.clickhouse_http``).

Fixtures (function-scoped; chDB opens one data folder per process at a time, so each closes its
engine on teardown):

- ``chdb_store``: ``ClickHouseAnalyticsStore`` on ``ChdbExecutor``, migrated;
- ``clickhouse_server``: a running ``ChdbHttpServer`` (``.url``, ``.log``);
- ``clickhouse_store``: ``ClickHouseAnalyticsStore`` on ``ClickHouseExecutor`` against that server;
- ``analytics_store``: parametrised over both backends, ids ``chdb`` and ``clickhouse``;
- ``analytics_executor``: a bare ``SqlExecutor`` (not migrated), same two ids.

Record factories with overrides: ``make_trace``, ``make_observation``, ``make_score``,
``make_event`` (all at ``T0``, project ``p1``).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from skyglass.adapters.analytics.chdb_executor import ChdbExecutor
from skyglass.adapters.analytics.clickhouse_executor import ClickHouseExecutor
from skyglass.adapters.analytics.executor import SqlExecutor
from skyglass.adapters.analytics.migrate import apply_migrations
from skyglass.adapters.analytics.store import ClickHouseAnalyticsStore
from skyglass.domain.records import EntityEvent, ObservationRecord, ScoreRecord, TraceRecord
from tests.support.clickhouse_http import ChdbHttpServer

BACKENDS = ["chdb", "clickhouse"]
# A millisecond-precise instant, so records round-trip through DateTime64(3) unchanged.
T0 = datetime(2026, 1, 1, 10, 0, 0, 123000, tzinfo=UTC)


def make_trace(id: str = "t1", project_id: str = "p1", **overrides: Any) -> TraceRecord:
    """A stored-ready trace at ``T0`` (all version times set); override any field."""
    base = TraceRecord(id=id, project_id=project_id, timestamp=T0, created_at=T0, updated_at=T0, event_ts=T0)
    return replace(base, **overrides)


def make_observation(
    id: str = "o1", trace_id: str = "t1", project_id: str = "p1", **overrides: Any
) -> ObservationRecord:
    """A SPAN of ``trace_id`` starting at ``T0``; override any field."""
    base = ObservationRecord(
        id=id,
        trace_id=trace_id,
        project_id=project_id,
        type="SPAN",
        start_time=T0,
        created_at=T0,
        updated_at=T0,
        event_ts=T0,
    )
    return replace(base, **overrides)


def make_score(
    id: str = "s1", trace_id: str | None = "t1", project_id: str = "p1", **overrides: Any
) -> ScoreRecord:
    """A NUMERIC score ``quality = 0.5`` on ``trace_id``; override any field."""
    base = ScoreRecord(
        id=id,
        project_id=project_id,
        timestamp=T0,
        name="quality",
        value=0.5,
        trace_id=trace_id,
        created_at=T0,
        updated_at=T0,
        event_ts=T0,
    )
    return replace(base, **overrides)


def make_event(
    entity_id: str, event_id: str, entity_type: str = "trace", project_id: str = "p1", **overrides: Any
) -> EntityEvent:
    """A stored ``<entity_type>-create`` event whose body is ``{"id": entity_id}``."""
    base = EntityEvent(
        project_id=project_id,
        entity_type=entity_type,
        entity_id=entity_id,
        event_id=event_id,
        event_type=f"{entity_type}-create",
        timestamp=T0,
        body=f'{{"id": "{entity_id}"}}',
        received_at=T0,
        blob_key=f"{project_id}/2026/blob.json",
    )
    return replace(base, **overrides)


def make_chdb_store(path: Path) -> ClickHouseAnalyticsStore:
    """A migrated store on embedded chDB at ``path``."""
    executor = ChdbExecutor(path)
    apply_migrations(executor)
    return ClickHouseAnalyticsStore(executor)


def make_clickhouse_store(server: ChdbHttpServer) -> ClickHouseAnalyticsStore:
    """A migrated store on clickhouse-connect against a running ``ChdbHttpServer``."""
    store = ClickHouseAnalyticsStore(ClickHouseExecutor(server.url))
    store.migrate()
    return store


@pytest.fixture
def chdb_store(tmp_path: Path) -> Iterator[ClickHouseAnalyticsStore]:
    store = make_chdb_store(tmp_path / "chdb")
    yield store
    store.close()


@pytest.fixture
def clickhouse_server(tmp_path: Path) -> Iterator[ChdbHttpServer]:
    with ChdbHttpServer(tmp_path / "chdb-http", password="s3cret/pw") as server:
        yield server


@pytest.fixture
def clickhouse_store(clickhouse_server: ChdbHttpServer) -> Iterator[ClickHouseAnalyticsStore]:
    store = make_clickhouse_store(clickhouse_server)
    yield store
    store.close()  # before the server stops (fixture order), so no connection is left open


@pytest.fixture(params=BACKENDS)
def analytics_store(request: pytest.FixtureRequest) -> ClickHouseAnalyticsStore:
    """The same contract suite runs once per backend."""
    store: ClickHouseAnalyticsStore = request.getfixturevalue(f"{request.param}_store")
    return store


@pytest.fixture(params=BACKENDS)
def analytics_executor(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[SqlExecutor]:
    executor: SqlExecutor
    if request.param == "chdb":
        executor = ChdbExecutor(tmp_path / "chdb")
        yield executor
        executor.close()
    else:
        server = request.getfixturevalue("clickhouse_server")
        executor = ClickHouseExecutor(server.url)
        yield executor
        executor.close()
