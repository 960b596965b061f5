"""chDB (embedded ClickHouse) executor. chDB allows one process per data folder."""

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
from skyglass.errors import StoreUnavailable

_OUT = settings_clause(OUTPUT_SETTINGS)
_IN = settings_clause(INPUT_SETTINGS)


class ChdbExecutor:
    """Runs SQL in-process on a chDB data folder; one lock serialises access to the session."""

    def __init__(self, path: str | Path):
        import chdb  # heavy: imported only where the embedded engine is used

        Path(path).mkdir(parents=True, exist_ok=True)
        self._conn = chdb.connect(str(path))
        self._lock = threading.Lock()

    def _run(self, sql: str, fmt: str, params: dict[str, Any] | None) -> Any:
        try:
            with self._lock:
                if params:
                    return self._conn.query(sql, fmt, params=params)
                return self._conn.query(sql, fmt)
        except Exception as exc:  # chDB raises RuntimeError subclasses with the server message
            raise StoreUnavailable(f"analytics query failed: {exc}") from exc

    def query(self, sql: str, params: dict[str, Any] | None = None) -> list[dict[str, Any]]:
        result = self._run(sql + _OUT, "JSONEachRow", params)
        return parse_rows(result.bytes())

    def command(self, sql: str, params: dict[str, Any] | None = None) -> None:
        self._run(sql, "CSV", params)

    def insert_rows(self, table: str, rows: Sequence[Any]) -> None:
        if not rows:
            return
        body = encode_rows(rows).decode()
        self._run(f"INSERT INTO {table}{_IN} FORMAT JSONEachRow\n{body}", "CSV", None)

    def close(self) -> None:
        with self._lock:
            self._conn.close()
