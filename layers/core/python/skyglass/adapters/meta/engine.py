"""Engines for the metadata store: SQLite tuned for a CLI writing next to a running server, PostgreSQL.

Also the two pieces every store method shares: provider-error wrapping (``guard``) and the
locked, programmatic Alembic ``upgrade head`` (``upgrade_to_head``).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from contextlib import contextmanager
from importlib import resources
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event, exc
from sqlalchemy.pool import StaticPool

from skyglass.errors import StoreUnavailable

# How long a SQLite writer waits for another process's write lock before giving up (seconds).
SQLITE_BUSY_TIMEOUT = 30.0
# Arbitrary constant shared by every skyglass process: the PostgreSQL advisory lock of migrations.
_PG_MIGRATION_LOCK = 0x5C791A55


def normalise_url(url: str) -> str:
    """``postgres://`` and ``postgresql://`` mean psycopg 3, the only PostgreSQL driver we ship."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def _sqlite_in_memory(url: sa.URL) -> bool:
    database = url.database or ""
    return database in ("", ":memory:") or "mode=memory" in database


def make_engine(url: str) -> sa.Engine:
    """An engine for ``url``; SQLite gets WAL, a busy timeout and foreign keys on every connection."""
    parsed = sa.make_url(normalise_url(url))
    if parsed.get_backend_name() != "sqlite":
        connect_args: dict[str, Any] = {}
        if parsed.get_backend_name() == "postgresql":
            connect_args["connect_timeout"] = 10
        # No pre-ping: find_api_key must stay one round trip. A dropped connection fails one
        # request (503, retried by clients) and SQLAlchemy then discards the stale pool.
        return sa.create_engine(parsed, pool_recycle=1800, connect_args=connect_args)

    connect_args = {"timeout": SQLITE_BUSY_TIMEOUT, "check_same_thread": False}
    in_memory = _sqlite_in_memory(parsed)
    if in_memory:
        # One shared connection, or every checkout would see its own empty database.
        engine = sa.create_engine(parsed, connect_args=connect_args, poolclass=StaticPool)
    else:
        Path(parsed.database or "").expanduser().parent.mkdir(parents=True, exist_ok=True)
        engine = sa.create_engine(parsed, connect_args=connect_args)

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        # WAL lets readers (the server) and one writer (the CLI) work at once; the busy timeout
        # makes a second writer wait instead of failing with "database is locked".
        cursor = dbapi_conn.cursor()
        try:
            cursor.execute(f"PRAGMA busy_timeout = {int(SQLITE_BUSY_TIMEOUT * 1000)}")
            if not in_memory:
                _enable_wal(cursor)
            cursor.execute("PRAGMA synchronous = NORMAL")
            cursor.execute("PRAGMA foreign_keys = ON")
        finally:
            cursor.close()

    return engine


def _enable_wal(cursor: Any) -> None:
    """Switch a file to WAL (persistent, so usually already done).

    The switch needs an exclusive lock and SQLite does not apply the busy timeout to it, so a
    brand-new file opened by two processes at once would fail with "database is locked":
    retry until the other one has switched it or the busy timeout has passed.
    """
    import sqlite3

    deadline = time.monotonic() + SQLITE_BUSY_TIMEOUT
    while True:
        try:
            if str(cursor.execute("PRAGMA journal_mode").fetchone()[0]).lower() == "wal":
                return
            cursor.execute("PRAGMA journal_mode = WAL")
            return
        except sqlite3.OperationalError as error:
            if "locked" not in str(error) or time.monotonic() > deadline:
                raise
            time.sleep(0.02)


@contextmanager
def guard(action: str) -> Iterator[None]:
    """Turn driver and pool failures into ``StoreUnavailable`` (503, retryable).

    ``IntegrityError`` passes through: callers decide whether it is a conflict or a race.
    """
    try:
        yield
    except exc.IntegrityError:
        raise
    except (exc.DBAPIError, exc.TimeoutError, exc.ResourceClosedError) as error:
        raise StoreUnavailable(f"metadata store unavailable while trying to {action}") from error


def _script_location() -> str:
    root = resources.files("skyglass.migrations").joinpath("meta")
    path = Path(str(root))
    if not (path / "env.py").is_file():  # pragma: no cover - broken packaging
        raise RuntimeError(f"metadata migrations not found at {path}")
    return str(path)


def upgrade_to_head(engine: sa.Engine) -> None:
    """Alembic ``upgrade head`` inside one transaction that holds a migration lock.

    Two processes starting at once serialise on the lock (PostgreSQL: an advisory transaction
    lock; SQLite: ``BEGIN IMMEDIATE``); the second then finds the schema at head and does nothing.
    """
    from alembic import command
    from alembic.config import Config

    # Alembic announces each of its plugins at INFO on every start; keep only its real news.
    plugins_log = logging.getLogger("alembic.runtime.plugins")
    if plugins_log.level == logging.NOTSET:
        plugins_log.setLevel(logging.WARNING)
    config = Config()
    config.set_main_option("script_location", _script_location())
    with engine.connect() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(sa.select(sa.func.pg_advisory_xact_lock(_PG_MIGRATION_LOCK)))
        elif conn.dialect.name == "sqlite":
            # pysqlite would run DDL outside any transaction; take the write lock explicitly.
            conn.exec_driver_sql("BEGIN IMMEDIATE")
        config.attributes["connection"] = conn
        command.upgrade(config, "head")
        conn.commit()
