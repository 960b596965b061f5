"""Server-side query parameters: Python values to ClickHouse's escaped text form.

ClickHouse binds ``{name:Type}`` placeholders from text values it parses with the *escaped*
format (the TSV rules: ``\\``, tab and newline must be backslash-escaped; nested strings are
quoted literals). Both executors encode parameters here, so chDB and a ClickHouse server receive
byte-identical values and a quote, backslash or newline in user data can never change a query.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

# The placeholder syntax ClickHouse substitutes: {name:Type}; the type decides datetime precision.
_PLACEHOLDER = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\s*:\s*([^{}]+)\}")
_ESCAPES = {"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r", "\0": "\\0", "'": "\\'", "`": "\\`"}
_NEEDS_ESCAPE = re.compile(r"[\\\t\n\r\0'`]")


def placeholder_types(sql: str) -> dict[str, str]:
    """``{name: Type}`` for every ``{name:Type}`` placeholder in ``sql`` (first type wins)."""
    found: dict[str, str] = {}
    for name, type_name in _PLACEHOLDER.findall(sql):
        found.setdefault(name, type_name.strip())
    return found


def encode_params(sql: str, params: Mapping[str, Any] | None) -> dict[str, str]:
    """Encode the parameters ``sql`` references; values the SQL does not use are dropped.

    Dropping unused values keeps both engines identical (ClickHouse ignores them, chDB too) and
    lets callers share one params dict across related statements.
    """
    if not params:
        return {}
    types = placeholder_types(sql)
    return {
        name: encode_value(value, subsecond="DateTime64" in types[name])
        for name, value in params.items()
        if name in types
    }


def escape_text(value: str) -> str:
    """Backslash-escape what the escaped text format (and a quoted literal) treats specially."""
    if not _NEEDS_ESCAPE.search(value):
        return value
    return _NEEDS_ESCAPE.sub(lambda m: _ESCAPES[m.group(0)], value)


def encode_value(value: Any, *, subsecond: bool = True, top_level: bool = True) -> str:
    """One parameter value as ClickHouse text; nested values use SQL literal syntax.

    Datetimes are converted to UTC (naive ones are taken as UTC already) and carry microseconds
    only when the placeholder type is DateTime64, since a plain DateTime rejects a fraction.
    """
    if value is None:
        return "\\N" if top_level else "NULL"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        text = escape_text(value)
        return text if top_level else f"'{text}'"
    if isinstance(value, int):
        return str(int(value))  # int() so an IntEnum renders as its number
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, datetime):
        if value.tzinfo is not None:
            value = value.astimezone(UTC)
        text = value.strftime("%Y-%m-%d %H:%M:%S.%f" if subsecond else "%Y-%m-%d %H:%M:%S")
        return text if top_level else f"'{text}'"
    if isinstance(value, date):
        return value.isoformat() if top_level else f"'{value.isoformat()}'"
    if isinstance(value, bytes | bytearray):
        text = "".join(f"\\x{b:02x}" for b in value)
        return text if top_level else f"'{text}'"
    if isinstance(value, list | set | frozenset):
        items = sorted(value) if isinstance(value, set | frozenset) else value
        return "[" + ", ".join(encode_value(v, subsecond=subsecond, top_level=False) for v in items) + "]"
    if isinstance(value, tuple):
        return "(" + ", ".join(encode_value(v, subsecond=subsecond, top_level=False) for v in value) + ")"
    if isinstance(value, Mapping):
        pairs = (
            f"{encode_value(k, subsecond=subsecond, top_level=False)}:"
            f"{encode_value(v, subsecond=subsecond, top_level=False)}"
            for k, v in value.items()
        )
        return "{" + ", ".join(pairs) + "}"
    return str(value)
