"""The Langfuse ``filter`` query parameter: a JSON array of typed conditions (pure, no SQL).

Every read endpoint that takes ``filter`` accepts the same condition shape
``{"type", "column", "operator", "value", "key"?}``. This module validates the shape, the operator
for the type and the value for the type, and turns each item into a ``FilterCondition`` whose
``value`` already has its Python type (datetime, float, bool, tuple of strings, str or None).
Whether a column exists, and which types it accepts, depends on the entity and is checked where
the condition is translated (``adapters.analytics.reads.filters_sql``).
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from skyglass.errors import InvalidRequest

STRING_OPERATORS = ("=", "contains", "does not contain", "starts with", "ends with", "matches")
NUMBER_OPERATORS = ("=", ">", "<", ">=", "<=")
DATETIME_OPERATORS = (">", "<", ">=", "<=")
OPTIONS_OPERATORS = ("any of", "none of")
ARRAY_OPERATORS = ("any of", "none of", "all of")
BOOLEAN_OPERATORS = ("=", "<>")
NULL_OPERATORS = ("is null", "is not null")

# Which operators each filter type accepts on the wire.
OPERATORS: dict[str, tuple[str, ...]] = {
    "datetime": DATETIME_OPERATORS,
    "string": STRING_OPERATORS,
    "number": NUMBER_OPERATORS,
    "stringOptions": OPTIONS_OPERATORS,
    "categoryOptions": OPTIONS_OPERATORS,
    "arrayOptions": ARRAY_OPERATORS,
    "stringObject": STRING_OPERATORS,
    "numberObject": NUMBER_OPERATORS,
    "booleanObject": BOOLEAN_OPERATORS,
    "boolean": BOOLEAN_OPERATORS,
    "null": NULL_OPERATORS,
}
# Types whose condition addresses one entry of a map column (metadata, scores by name).
KEYED_TYPES = frozenset({"stringObject", "numberObject", "booleanObject"})
# Internal-only: built from simple query parameters (e.g. v3 scores ``value=1,2``), never parsed
# from the ``filter`` JSON, so they are absent from ``OPERATORS``.
INTERNAL_NUMBER_OPERATORS = (*NUMBER_OPERATORS, "!=")
MAX_CONDITIONS = 50


@dataclass(frozen=True, slots=True)
class FilterCondition:
    """One typed condition; ``value`` is already converted to the type's Python value."""

    type: str
    column: str
    operator: str
    value: Any = None
    key: str | None = None


def parse_filter_param(raw: str | None, *, param: str = "filter") -> list[FilterCondition]:
    """Parse the JSON text of a ``filter`` query parameter; an empty value means no filter."""
    if raw is None or not raw.strip():
        return []
    try:
        items = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise InvalidRequest(f"Invalid {param} parameter: not valid JSON ({exc.msg}).") from exc
    if not isinstance(items, list):
        raise InvalidRequest(f"Invalid {param} parameter: expected a JSON array of filter conditions.")
    if len(items) > MAX_CONDITIONS:
        raise InvalidRequest(f"Invalid {param} parameter: at most {MAX_CONDITIONS} conditions.")
    return [parse_condition(item, index, param) for index, item in enumerate(items)]


def parse_condition(item: Any, index: int = 0, param: str = "filter") -> FilterCondition:
    """Validate one wire condition (an object) and convert its value."""
    where = f"Invalid {param} parameter: condition {index}"
    if not isinstance(item, dict):
        raise InvalidRequest(f"{where} must be an object with type, column, operator and value.")
    ftype, column, operator = item.get("type"), item.get("column"), item.get("operator")
    if ftype not in OPERATORS:
        raise InvalidRequest(f"{where} has unknown type {ftype!r}; expected one of {', '.join(OPERATORS)}.")
    if not isinstance(column, str) or not column:
        raise InvalidRequest(f"{where} needs a non-empty string 'column'.")
    if operator not in OPERATORS[ftype]:
        allowed = ", ".join(repr(op) for op in OPERATORS[ftype])
        raise InvalidRequest(f"{where}: operator {operator!r} is not valid for type {ftype} (use {allowed}).")
    key = item.get("key")
    if key is not None and not isinstance(key, str):
        raise InvalidRequest(f"{where}: 'key' must be a string.")
    if ftype in KEYED_TYPES and not key:
        raise InvalidRequest(f"{where}: type {ftype} needs a 'key' (e.g. the metadata key).")
    if ftype != "null" and "value" not in item:
        raise InvalidRequest(f"{where} needs a 'value'.")
    value = _convert_value(ftype, item.get("value"), where)
    return FilterCondition(type=ftype, column=column, operator=operator, value=value, key=key or None)


def _convert_value(ftype: str, value: Any, where: str) -> Any:
    if ftype == "null":
        return None
    if ftype == "datetime":
        if not isinstance(value, str):
            raise InvalidRequest(f"{where}: datetime value must be an ISO 8601 string.")
        parsed = parse_iso_datetime(value)
        if parsed is None:
            raise InvalidRequest(f"{where}: {value!r} is not an ISO 8601 datetime.")
        return parsed
    if ftype in ("number", "numberObject"):
        if isinstance(value, bool) or not isinstance(value, int | float | str):
            raise InvalidRequest(f"{where}: value must be a number.")
        try:
            number = float(value)
        except ValueError as exc:
            raise InvalidRequest(f"{where}: value {value!r} is not a number.") from exc
        if not math.isfinite(number):
            raise InvalidRequest(f"{where}: value must be a finite number.")
        return number
    if ftype in ("boolean", "booleanObject"):
        if isinstance(value, str) and value.lower() in ("true", "false"):
            return value.lower() == "true"
        if not isinstance(value, bool):
            raise InvalidRequest(f"{where}: value must be true or false.")
        return value
    if ftype in ("stringOptions", "categoryOptions", "arrayOptions"):
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise InvalidRequest(f"{where}: value must be an array of strings.")
        return tuple(value)
    if not isinstance(value, str):  # string, stringObject
        if isinstance(value, int | float) and not isinstance(value, bool):
            return str(value)
        raise InvalidRequest(f"{where}: value must be a string.")
    return value


def merge_filters(simple: list[FilterCondition], advanced: list[FilterCondition]) -> list[FilterCondition]:
    """Conditions from simple query parameters plus the ``filter`` JSON.

    Langfuse lets ``filter`` take precedence: a simple parameter is dropped when the JSON filter
    already constrains the same column, and kept otherwise.
    """
    constrained = {c.column for c in advanced}
    return [c for c in simple if c.column not in constrained] + advanced


def number_holds(operator: str, left: float, right: float) -> bool:
    """Evaluate ``left <operator> right`` for the number operators (used for absent aggregates)."""
    if operator == "=":
        return left == right
    if operator == "!=":
        return left != right
    if operator == ">":
        return left > right
    if operator == "<":
        return left < right
    if operator == ">=":
        return left >= right
    return left <= right


def parse_iso_datetime(text: str) -> datetime | None:
    """An aware UTC datetime from ISO 8601 text (``Z`` or an offset; naive means UTC), else None."""
    candidate = text.strip()
    if len(candidate) < 10 or not candidate[:4].isdigit():
        return None
    try:
        parsed = datetime.fromisoformat(candidate)
    except ValueError:
        return None
    if parsed.tzinfo is None:
        return parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)
