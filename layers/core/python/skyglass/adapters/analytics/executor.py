"""SqlExecutor: the one seam between our ClickHouse SQL and an engine (chDB or a server).

Everything above this file is engine-agnostic SQL. Parameters use ClickHouse's server-side
binding syntax ``{name:Type}`` on both engines, so values are never spliced into SQL text.
Result rows come back as dicts parsed from JSONEachRow with these output settings, identical on
both engines: 64-bit integers and decimals as JSON numbers, DateTime64 as ISO-8601 UTC strings
(``2026-01-01T10:00:00.123Z``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

import orjson

OUTPUT_SETTINGS: dict[str, Any] = {
    "output_format_json_quote_64bit_integers": 0,
    "output_format_json_quote_decimals": 0,
    "date_time_output_format": "iso",
}
INPUT_SETTINGS: dict[str, Any] = {
    "date_time_input_format": "best_effort",
    "input_format_skip_unknown_fields": 1,
}


class SqlExecutor(Protocol):
    def query(self, sql: str, params: dict[str, Any] | None = None) -> list[dict[str, Any]]:
        """Run a SELECT; rows as dicts."""

    def command(self, sql: str, params: dict[str, Any] | None = None) -> None:
        """Run DDL/DML that returns nothing."""

    def insert_rows(self, table: str, rows: Sequence[Any]) -> None:
        """Insert rows (dicts or dataclasses) as JSONEachRow; datetimes as ISO strings."""

    def close(self) -> None: ...


def encode_rows(rows: Sequence[Any]) -> bytes:
    """JSONEachRow body: the rows as one JSON array of objects, which the format reads like one
    object per line; orjson writes the array (dataclasses and datetimes natively) in one call,
    ~4x faster than a document per row."""
    return orjson.dumps(rows if isinstance(rows, list) else list(rows), option=orjson.OPT_NAIVE_UTC)


def parse_rows(data: bytes) -> list[dict[str, Any]]:
    return [orjson.loads(line) for line in data.splitlines() if line]


def settings_clause(settings: dict[str, Any]) -> str:
    parts = []
    for key, value in settings.items():
        parts.append(f"{key}={value!r}" if isinstance(value, str) else f"{key}={value}")
    return " SETTINGS " + ", ".join(parts)
