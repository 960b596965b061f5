"""Values across the RDS Data API: Python parameters → ``SqlParameter``, result ``Field`` → Python.

The Data API speaks JSON, so every value is one member of a union (``stringValue``,
``longValue``, ``doubleValue``, ``booleanValue``, ``blobValue``, ``isNull``, ``arrayValue``) and
types it cannot carry natively travel as strings with a ``typeHint`` (``TIMESTAMP``, ``DATE``,
``TIME``, ``DECIMAL``, ``JSON``, ``UUID``). Results come back the same way; the column's
``typeName`` (from ``columnMetadata``) says how to read a string back.

Timestamps: the Data API accepts ``YYYY-MM-DD HH:MM:SS[.FFF]`` (milliseconds, no zone) and
answers ``timestamptz`` columns in UTC without an offset, so aware datetimes are sent as UTC
truncated to the millisecond and ``timestamptz`` values are read back as aware UTC datetimes.
"""

from __future__ import annotations

import json
import re
import uuid
from datetime import UTC, date, datetime, time
from decimal import Decimal
from typing import Any


class JsonText(str):
    """A string that is JSON text: sent with ``typeHint: JSON`` (the JSON column types mark it)."""

    __slots__ = ()


_FRACTION = re.compile(r"\.(\d+)")


def _millis(moment: datetime | time) -> str:
    return f"{moment.microsecond // 1000:03d}"


def _timestamp_text(value: datetime) -> str:
    if value.tzinfo is not None:
        value = value.astimezone(UTC).replace(tzinfo=None)
    return f"{value:%Y-%m-%d %H:%M:%S}.{_millis(value)}"


def encode_value(value: Any) -> tuple[dict[str, Any], str | None]:
    """``(Field, typeHint)`` for one Python value; raises ``TypeError`` for unsupported types."""
    if value is None:
        return {"isNull": True}, None
    if isinstance(value, JsonText):
        return {"stringValue": str(value)}, "JSON"
    if isinstance(value, bool):  # before int: bool is an int
        return {"booleanValue": value}, None
    if isinstance(value, int):
        return {"longValue": value}, None
    if isinstance(value, float):
        return {"doubleValue": value}, None
    if isinstance(value, str):
        return {"stringValue": value}, None
    if isinstance(value, bytes | bytearray | memoryview):
        return {"blobValue": bytes(value)}, None
    if isinstance(value, datetime):  # before date: datetime is a date
        return {"stringValue": _timestamp_text(value)}, "TIMESTAMP"
    if isinstance(value, date):
        return {"stringValue": value.isoformat()}, "DATE"
    if isinstance(value, time):
        return {"stringValue": f"{value:%H:%M:%S}.{_millis(value)}"}, "TIME"
    if isinstance(value, Decimal):
        return {"stringValue": str(value)}, "DECIMAL"
    if isinstance(value, uuid.UUID):
        return {"stringValue": str(value)}, "UUID"
    if isinstance(value, dict | list):
        return {"stringValue": json.dumps(value)}, "JSON"
    raise TypeError(f"the Data API cannot carry a parameter of type {type(value).__name__}")


def encode_parameters(parameters: dict[str, Any] | None) -> list[dict[str, Any]]:
    """``SqlParameter`` list for named parameters (``:name`` in the SQL)."""
    out: list[dict[str, Any]] = []
    for name, value in (parameters or {}).items():
        field, hint = encode_value(value)
        param: dict[str, Any] = {"name": name, "value": field}
        if hint is not None:
            param["typeHint"] = hint
        out.append(param)
    return out


def _parse_timestamp(text: str, aware: bool) -> datetime:
    # The Data API drops trailing zeros of the fraction ("…:17.31869"); Python wants 3 or 6 digits.
    text = _FRACTION.sub(lambda m: "." + m.group(1)[:6].ljust(6, "0"), text.strip(), count=1)
    value = datetime.fromisoformat(text.replace(" ", "T", 1))
    if value.tzinfo is not None:
        return value.astimezone(UTC) if aware else value.replace(tzinfo=None)
    return value.replace(tzinfo=UTC) if aware else value


def _parse_time(text: str) -> time:
    return time.fromisoformat(_FRACTION.sub(lambda m: "." + m.group(1)[:6].ljust(6, "0"), text, count=1))


def _array(value: dict[str, Any]) -> list[Any]:
    for key in ("stringValues", "longValues", "doubleValues", "booleanValues"):
        if key in value:
            return list(value[key])
    if "arrayValues" in value:
        return [_array(item) for item in value["arrayValues"]]
    return []


def decode_field(field: dict[str, Any], type_name: str = "") -> Any:
    """The Python value of one result ``Field``, read by its column's ``typeName``."""
    if field.get("isNull"):
        return None
    if "stringValue" in field:
        text: str = field["stringValue"]
        kind = type_name.lower()
        if kind in ("timestamptz", "timestamp with time zone"):
            return _parse_timestamp(text, aware=True)
        if kind in ("timestamp", "timestamp without time zone"):
            return _parse_timestamp(text, aware=False)
        if kind == "date":
            return date.fromisoformat(text)
        if kind in ("time", "time without time zone"):
            return _parse_time(text)
        if kind in ("numeric", "decimal"):
            return Decimal(text)
        return text  # json/jsonb stay text: SQLAlchemy's JSON type parses them
    for key in ("longValue", "doubleValue", "booleanValue"):
        if key in field:
            return field[key]
    if "blobValue" in field:
        return bytes(field["blobValue"])
    if "arrayValue" in field:
        return _array(field["arrayValue"])
    raise ValueError(f"unknown Data API field: {sorted(field)}")


def decode_records(
    records: list[list[dict[str, Any]]], metadata: list[dict[str, Any]]
) -> list[tuple[Any, ...]]:
    """Rows as tuples, each value read by its column's type name."""
    names = [str(column.get("typeName", "")) for column in metadata]
    rows = []
    for record in records:
        kinds = names if len(names) == len(record) else [""] * len(record)
        rows.append(tuple(decode_field(field, kind) for field, kind in zip(record, kinds, strict=True)))
    return rows
