"""Translate ``FilterCondition`` values into parameterised ClickHouse predicates.

Column names come only from the allow-lists in ``columns``; operators map through fixed tables;
every value is bound through ``SqlParams``. Nothing the client sends is spliced into SQL text.
"""

from __future__ import annotations

from collections.abc import Iterable

from skyglass.adapters.analytics.reads.columns import Column, Via
from skyglass.adapters.analytics.reads.params import SqlParams
from skyglass.domain.filters import FilterCondition, number_holds
from skyglass.errors import InvalidRequest

_COMPARE = {"=": "=", "!=": "!=", "<>": "!=", ">": ">", "<": "<", ">=": ">=", "<=": "<="}
# Negative operators on a related table mean "no related row matches the positive condition",
# so a row without related rows matches too (Langfuse: "<> also matches traces without a score").
_POSITIVE_OF = {"does not contain": "contains", "none of": "any of", "<>": "=", "!=": "="}
_OPTIONS = frozenset({"stringOptions", "categoryOptions"})
_NUMBERS = frozenset({"number", "numberObject"})


def where_sql(
    conditions: Iterable[FilterCondition], columns: dict[str, Column], params: SqlParams, entity: str
) -> list[str]:
    """One SQL predicate per condition (to be AND-ed); 400 on an unknown column or type."""
    out: list[str] = []
    for condition in conditions:
        column = columns.get(condition.column)
        if column is None:
            raise InvalidRequest(
                f"Invalid filter: unknown column {condition.column!r} for {entity}; "
                f"available: {', '.join(sorted(columns))}."
            )
        if condition.type not in column.types and not _internal_ok(condition, column):
            raise InvalidRequest(
                f"Invalid filter: column {condition.column!r} does not support type {condition.type!r} "
                f"(use {', '.join(sorted(column.types))})."
            )
        out.append(_compile(condition, column, params))
    return out


def _internal_ok(condition: FilterCondition, column: Column) -> bool:
    # numberOptions is built from simple parameters only (v3 scores ``value=1,2``)
    return condition.type == "numberOptions" and "number" in column.types


def _compile(condition: FilterCondition, column: Column, params: SqlParams) -> str:
    via = column.via
    if via is None:
        return _predicate(condition, column, params)
    negate = condition.operator in _POSITIVE_OF and not via.aggregate
    positive = condition
    if negate:
        positive = FilterCondition(
            type=condition.type,
            column=condition.column,
            operator=_POSITIVE_OF[condition.operator],
            value=condition.value,
            key=condition.key,
        )
    base = _related_rows(via, condition, params)
    predicate = _predicate(positive, column, params)
    if not via.aggregate:
        return f"{via.link} {'NOT IN' if negate else 'IN'} ({base} AND {predicate})"
    sql = f"{via.link} IN ({base} GROUP BY {via.select} HAVING {predicate})"
    if (
        via.absent is not None
        and condition.type in _NUMBERS
        and number_holds(condition.operator, via.absent, float(condition.value))
    ):
        # rows with no related rows have the aggregate's neutral value (latency 0, cost 0…)
        sql = f"({sql} OR {via.link} NOT IN ({_related_rows(via, None, params)}))"
    return sql


def _related_rows(via: Via, condition: FilterCondition | None, params: SqlParams) -> str:
    sql = f"SELECT {via.select} FROM {via.table} FINAL WHERE project_id = {params.project} AND is_deleted = 0"
    if via.where:
        sql += f" AND {via.where}"
    if condition is not None and via.key_column and condition.key:
        sql += f" AND {via.key_column} = {params.string(condition.key)}"
    return sql


def _predicate(condition: FilterCondition, column: Column, params: SqlParams) -> str:
    ftype, op, value, expr = condition.type, condition.operator, condition.value, column.expr
    if column.kind == "map" and column.via is None:
        return _map_predicate(condition, column, params)
    if ftype == "null":
        return f"({expr}) IS NULL" if op == "is null" else f"({expr}) IS NOT NULL"
    if column.kind == "array" and ftype in (_OPTIONS | {"arrayOptions"}):
        return _array_predicate(op, expr, value, params)
    if ftype in ("string", "stringObject"):
        return _string_predicate(op, expr, value, params, column.case_sensitive_match)
    if ftype in _OPTIONS:
        return _options_predicate(op, expr, value, params)
    if ftype in _NUMBERS:
        return f"({expr}) {_compare(op)} {params.number(value)}"
    if ftype == "numberOptions":
        if not value:
            return "0"
        return f"({expr}) IN {params.numbers(value)}"
    if ftype == "datetime":
        return f"{expr} {_compare(op)} {params.datetime(value)}"
    if ftype in ("boolean", "booleanObject"):
        return f"({expr}) {_compare(op)} {params.boolean(value)}"
    raise InvalidRequest(f"Invalid filter: type {ftype!r} is not supported here.")


def _map_predicate(condition: FilterCondition, column: Column, params: SqlParams) -> str:
    ftype, op, value, key = condition.type, condition.operator, condition.value, condition.key
    if not key:
        raise InvalidRequest(f"Invalid filter: column {condition.column!r} needs a 'key' (the map key).")
    key_sql = params.string(key)
    if ftype == "null":
        present = f"mapContains({column.expr}, {key_sql})"
        return f"NOT {present}" if op == "is null" else present
    raw = f"{column.expr}[{key_sql}]"
    # values are stored JSON-encoded: strings keep their quotes, so decode them before comparing
    text = f"if(startsWith({raw}, '\"'), JSONExtractString({raw}), {raw})"
    if ftype == "stringObject":
        return _string_predicate(op, text, value, params, column.case_sensitive_match)
    if ftype == "numberObject":
        return f"toFloat64OrNull({text}) {_compare(op)} {params.number(value)}"
    if ftype == "booleanObject":
        return f"({text} = 'true') {_compare(op)} {params.boolean(value)}"
    return _options_predicate(op, text, value, params)


def _string_predicate(op: str, expr: str, value: str, params: SqlParams, case_sensitive: bool) -> str:
    bound = params.string(value)
    if op == "=":
        return f"{expr} = {bound}"
    if op == "contains":
        return f"positionCaseInsensitiveUTF8({expr}, {bound}) > 0"
    if op == "does not contain":
        return f"positionCaseInsensitiveUTF8(ifNull({expr}, ''), {bound}) = 0"
    if op == "starts with":
        return f"startsWith(lowerUTF8({expr}), lowerUTF8({bound}))"
    if op == "ends with":
        return f"endsWith(lowerUTF8({expr}), lowerUTF8({bound}))"
    if op == "matches":  # literal search; metadata values match case-sensitively
        function = "position" if case_sensitive else "positionCaseInsensitiveUTF8"
        return f"{function}({expr}, {bound}) > 0"
    raise InvalidRequest(f"Invalid filter: operator {op!r} is not valid for strings.")


def _options_predicate(op: str, expr: str, values: tuple[str, ...], params: SqlParams) -> str:
    if op == "any of":
        return f"{expr} IN {params.strings(values)}" if values else "0"
    if op == "none of":
        return f"ifNull({expr}, '') NOT IN {params.strings(values)}" if values else "1"
    raise InvalidRequest(f"Invalid filter: operator {op!r} is not valid for options.")


def _array_predicate(op: str, expr: str, values: tuple[str, ...], params: SqlParams) -> str:
    if not values:
        return "0" if op == "any of" else "1"
    array = params.strings(values)  # bound as one Array(String)
    if op == "any of":
        return f"hasAny({expr}, {array})"
    if op == "all of":
        return f"hasAll({expr}, {array})"
    if op == "none of":
        return f"NOT hasAny({expr}, {array})"
    raise InvalidRequest(f"Invalid filter: operator {op!r} is not valid for arrays.")


def _compare(op: str) -> str:
    try:
        return _COMPARE[op]
    except KeyError:
        raise InvalidRequest(f"Invalid filter: operator {op!r} is not a comparison.") from None
