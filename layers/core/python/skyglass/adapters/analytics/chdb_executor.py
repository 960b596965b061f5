"""chDB (embedded ClickHouse) executor. chDB allows one process per data folder.

Within one process chDB runs a single embedded server: only one data folder can be open at a time
(open, close, then another folder is fine). A connection is not safe for concurrent use, but
several connections to the folder run queries concurrently, so each thread gets its own: the
worker's inserts never hold up the API's reads (they would wait for a whole insert otherwise).
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from skyglass.adapters.analytics.executor import (
    INPUT_SETTINGS,
    OUTPUT_SETTINGS,
    encode_rows,
    parse_rows,
    settings_clause,
)
from skyglass.adapters.analytics.params import encode_params
from skyglass.errors import StoreUnavailable

_OUT = settings_clause(OUTPUT_SETTINGS)
_IN = settings_clause(INPUT_SETTINGS)


def _with_settings(sql: str) -> str:
    # On its own line, after any trailing ';', so a final '-- comment' cannot swallow the clause.
    return sql.rstrip().rstrip(";").rstrip() + "\n" + _OUT.lstrip()


class ChdbExecutor:
    """Runs SQL in-process on a chDB data folder, on one connection per calling thread."""

    def __init__(self, path: str | Path):
        self._path = str(path)
        self._lock = threading.Lock()  # guards the connection list and the closed flag
        self._connections: list[Any] = []
        self._local = threading.local()
        self._closed = False
        try:
            Path(path).mkdir(parents=True, exist_ok=True)
            self._connection()  # fail here, not on the first query, if the folder cannot be opened
        except StoreUnavailable:
            raise
        except Exception as exc:  # another folder open in this process, unwritable folder, ...
            raise StoreUnavailable(f"cannot open chDB at {path}: {exc}") from exc

    def _connection(self) -> Any:
        connection = getattr(self._local, "connection", None)
        if connection is not None and not self._closed:
            return connection
        import chdb  # heavy: imported only where the embedded engine is used

        with self._lock:
            if self._closed:
                raise StoreUnavailable("chDB executor is closed")
            try:
                connection = chdb.connect(self._path)
            except Exception as exc:
                raise StoreUnavailable(f"cannot open chDB at {self._path}: {exc}") from exc
            self._connections.append(connection)
        self._local.connection = connection
        return connection

    def _run(self, sql: str | bytes, fmt: str, params: dict[str, Any] | None) -> Any:
        encoded = encode_params(sql, params) if isinstance(sql, str) else None
        connection = self._connection()
        try:
            return connection.query(sql, fmt, params=encoded) if encoded else connection.query(sql, fmt)
        except Exception as exc:  # chDB raises RuntimeError subclasses with the server message
            raise StoreUnavailable(f"analytics query failed: {exc}") from exc

    def query(self, sql: str, params: dict[str, Any] | None = None) -> list[dict[str, Any]]:
        """Run a SELECT with the shared output settings; rows as dicts (JSONEachRow)."""
        result = self._run(_with_settings(sql), "JSONEachRow", params)
        return parse_rows(result.bytes())

    def command(self, sql: str, params: dict[str, Any] | None = None) -> None:
        """Run DDL/DML (CREATE, DELETE, ...) whose result is discarded."""
        self._run(sql, "CSV", params)

    def insert_rows(self, table: str, rows: Sequence[Any]) -> None:
        """One INSERT of every row (dicts or dataclasses) as JSONEachRow."""
        if not rows:
            return
        # Bytes all the way: chDB takes the statement as bytes, so the (often tens of MB) body is
        # neither decoded nor copied into a str and encoded again.
        head = f"INSERT INTO {table}{_IN} FORMAT JSONEachRow\n".encode()
        self._run(head + encode_rows(rows), "CSV", None)

    def close(self) -> None:
        """Close every connection (idempotent) so another folder can be opened in this process.

        Call it once the threads that query are done: a query still running on a closed
        connection fails with ``StoreUnavailable``.
        """
        with self._lock:
            if self._closed:
                return
            self._closed = True
            connections, self._connections = self._connections, []
        for connection in connections:
            connection.close()
