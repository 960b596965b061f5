"""Bound query parameters for read SQL: every value travels as a ``{name:Type}`` parameter.

The executors encode values (``adapters.analytics.params``), so a quote, backslash or newline in
user input reaches ClickHouse as data on both engines. Lists bind as one ``Array(String)``
parameter (``x IN {p:Array(String)}`` still uses the primary key and skip indexes).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any


class SqlParams:
    """Collects parameters for one statement; each method returns the SQL fragment to splice."""

    def __init__(self, project_id: str):
        self.values: dict[str, Any] = {}
        self._count = 0
        self.project = self.string(project_id)

    def _bind(self, value: Any, type_name: str) -> str:
        self._count += 1
        name = f"p{self._count}"
        self.values[name] = value
        return f"{{{name}:{type_name}}}"

    def string(self, value: str) -> str:
        return self._bind(str(value), "String")

    def strings(self, values: Iterable[str]) -> str:
        """An ``Array(String)``: use as ``x IN <it>`` or in ``hasAny(col, <it>)``."""
        return self._bind([str(v) for v in values], "Array(String)")

    def numbers(self, values: Iterable[float]) -> str:
        return self._bind([float(v) for v in values], "Array(Float64)")

    def number(self, value: float) -> str:
        return self._bind(float(value), "Float64")

    def integer(self, value: int) -> str:
        return self._bind(int(value), "Int64")

    def boolean(self, value: bool) -> str:
        return self._bind(1 if value else 0, "UInt8")

    def datetime(self, value: datetime) -> str:
        utc = value.astimezone(UTC) if value.tzinfo else value.replace(tzinfo=UTC)
        return self._bind(utc, "DateTime64(3, 'UTC')")
