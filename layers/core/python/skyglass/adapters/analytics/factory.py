"""Pick the analytics engine by URL scheme; called by the composition root only."""

from __future__ import annotations

from skyglass.adapters.analytics.executor import SqlExecutor
from skyglass.errors import InvalidRequest


def make_executor(url: str) -> SqlExecutor:
    """``chdb://<path>`` → embedded chDB; ``clickhouse://`` / ``clickhouses://`` → a server.

    Everything after ``chdb://`` is the data folder, so ``chdb:///var/lib/skyglass/chdb`` is an
    absolute path and ``chdb://data/chdb`` a relative one. Engine modules are imported here, not
    at the top, so a process using one engine never loads the other's driver.
    """
    scheme, sep, rest = url.partition("://")
    if not sep:
        raise InvalidRequest(
            f"analytics URL needs a scheme (chdb://, clickhouse://, clickhouses://): {url!r}"
        )
    scheme = scheme.lower()
    if scheme == "chdb":
        if not rest:
            raise InvalidRequest(f"chdb URL has no path: {url!r}")
        from skyglass.adapters.analytics.chdb_executor import ChdbExecutor

        return ChdbExecutor(rest)
    if scheme in ("clickhouse", "clickhouses"):
        from skyglass.adapters.analytics.clickhouse_executor import ClickHouseExecutor

        return ClickHouseExecutor(url)
    raise InvalidRequest(f"unsupported analytics URL scheme {scheme!r}: use chdb, clickhouse or clickhouses")
