"""Analytics store fixtures over real engines (chDB here; more backends are added alongside)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from skyglass.adapters.analytics.chdb_executor import ChdbExecutor
from skyglass.adapters.analytics.migrate import apply_migrations
from skyglass.adapters.analytics.store import ClickHouseAnalyticsStore


def make_chdb_store(path: Path) -> ClickHouseAnalyticsStore:
    executor = ChdbExecutor(path)
    apply_migrations(executor)
    return ClickHouseAnalyticsStore(executor)


@pytest.fixture
def chdb_store(tmp_path: Path) -> Iterator[ClickHouseAnalyticsStore]:
    store = make_chdb_store(tmp_path / "chdb")
    yield store
    store.close() if hasattr(store, "close") else store.executor.close()
