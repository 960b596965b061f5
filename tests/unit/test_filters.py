"""Pure parts of the read API: the ``filter`` JSON model, order-by, field groups, cursors, query
parameters, and the SQL translation (checked as text, without an engine)."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime
from typing import Any

import pytest

from skyglass.adapters.analytics.reads.columns import OBSERVATION_COLUMNS, SCORE_COLUMNS, TRACE_COLUMNS
from skyglass.adapters.analytics.reads.filters_sql import where_sql
from skyglass.adapters.analytics.reads.params import SqlParams
from skyglass.domain.filters import FilterCondition, merge_filters, parse_filter_param
from skyglass.domain.queries import (
    TRACE_ORDER_COLUMNS,
    ObservationCursor,
    ScoreCursor,
    parse_field_groups,
    parse_order_by,
)
from skyglass.errors import InvalidRequest
from skyglass.query.params import QueryParams


def _one(item: dict) -> FilterCondition:
    [condition] = parse_filter_param(json.dumps([item]))
    return condition


def test_every_filter_type_converts_its_value():
    # Given one condition of each wire type
    cases: list[tuple[dict[str, Any], Any]] = [
        ({"type": "datetime", "column": "timestamp", "operator": ">=", "value": "2026-01-01T00:00:00Z"},
         datetime(2026, 1, 1, tzinfo=UTC)),
        ({"type": "string", "column": "name", "operator": "contains", "value": "abc"}, "abc"),
        ({"type": "number", "column": "latency", "operator": ">", "value": "2.5"}, 2.5),
        ({"type": "stringOptions", "column": "environment", "operator": "any of", "value": ["a", "b"]},
         ("a", "b")),
        ({"type": "categoryOptions", "column": "x", "operator": "none of", "value": "a"}, ("a",)),
        ({"type": "arrayOptions", "column": "tags", "operator": "all of", "value": ["t"]}, ("t",)),
        ({"type": "stringObject", "column": "metadata", "key": "k", "operator": "=", "value": "v"}, "v"),
        ({"type": "numberObject", "column": "metadata", "key": "k", "operator": "<=", "value": 3}, 3.0),
        ({"type": "booleanObject", "column": "score_booleans", "key": "ok", "operator": "<>", "value": True},
         True),
        ({"type": "boolean", "column": "bookmarked", "operator": "=", "value": "false"}, False),
        ({"type": "null", "column": "userId", "operator": "is null"}, None),
    ]  # fmt: skip
    for item, expected in cases:
        # When it is parsed
        condition = _one(item)
        # Then the value has the type's Python value and the rest is kept
        assert condition.value == expected, item
        assert (condition.type, condition.column, condition.operator) == (
            item["type"],
            item["column"],
            item["operator"],
        )
        assert condition.key == item.get("key")


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ("[{", "not valid JSON"),
        ('{"type": "string"}', "expected a JSON array"),
        ('["x"]', "must be an object"),
        ('[{"type": "text", "column": "a", "operator": "=", "value": "b"}]', "unknown type 'text'"),
        ('[{"type": "string", "column": "", "operator": "=", "value": "b"}]', "non-empty string 'column'"),
        ('[{"type": "string", "column": "a", "operator": ">", "value": "b"}]', "not valid for type string"),
        ('[{"type": "datetime", "column": "a", "operator": ">", "value": "soon"}]', "not an ISO 8601"),
        ('[{"type": "number", "column": "a", "operator": ">", "value": "x"}]', "not a number"),
        ('[{"type": "number", "column": "a", "operator": ">", "value": true}]', "must be a number"),
        ('[{"type": "boolean", "column": "a", "operator": "=", "value": 1}]', "true or false"),
        (
            '[{"type": "stringOptions", "column": "a", "operator": "any of", "value": [1]}]',
            "array of strings",
        ),
        ('[{"type": "stringObject", "column": "metadata", "operator": "=", "value": "v"}]', "needs a 'key'"),
        ('[{"type": "string", "column": "a", "operator": "="}]', "needs a 'value'"),
    ],
)
def test_malformed_filters_are_rejected_with_the_parameter_named(raw, message):
    # When a malformed filter is parsed, Then it is a 400 naming the filter parameter and the problem
    with pytest.raises(InvalidRequest) as err:
        parse_filter_param(raw)
    assert "filter" in err.value.message
    assert message in err.value.message
    assert err.value.status == 400


def test_empty_filter_means_no_conditions():
    assert parse_filter_param(None) == []
    assert parse_filter_param("  ") == []
    assert parse_filter_param("[]") == []


def test_json_filter_takes_precedence_over_simple_parameters_on_the_same_column():
    # Given a simple userId and name, and a JSON filter on userId
    simple = [FilterCondition("string", "userId", "=", "u1"), FilterCondition("string", "name", "=", "n")]
    advanced = [FilterCondition("string", "userId", "contains", "u")]
    # When merged, Then the simple userId is dropped and name is kept
    assert merge_filters(simple, advanced) == [simple[1], advanced[0]]


def test_order_by_parses_field_and_direction_and_rejects_anything_else():
    order = parse_order_by("userId.asc", TRACE_ORDER_COLUMNS)
    assert order is not None and (order.column, order.descending) == ("userId", False)
    assert parse_order_by(None, TRACE_ORDER_COLUMNS) is None
    for bad in ("timestamp", "timestamp.up", "latency.desc", ".asc"):
        with pytest.raises(InvalidRequest, match="orderBy"):
            parse_order_by(bad, TRACE_ORDER_COLUMNS)


def test_field_groups_reject_unknown_names():
    assert parse_field_groups("core, io", ("core", "io", "scores")) == {"core", "io"}
    assert parse_field_groups(None, ("core",)) == frozenset()
    with pytest.raises(InvalidRequest, match="unknown field group"):
        parse_field_groups("core,everything", ("core", "io"))


def test_cursors_round_trip_and_garbage_is_a_400():
    # Given cursors at a millisecond instant
    moment = datetime(2026, 1, 1, 10, 0, 0, 123000, tzinfo=UTC)
    observation = ObservationCursor(moment, "trace/1", "obs+1")
    score = ScoreCursor(moment, "score=1")
    # Then they decode to the same position
    assert ObservationCursor.decode(observation.encode()) == observation
    assert ScoreCursor.decode(score.encode()) == score
    # And the v2 observation cursor is Langfuse's shape: base64 JSON with lastStartTimeTo
    assert json.loads(base64.b64decode(observation.encode()))["lastStartTimeTo"] == (
        "2026-01-01T10:00:00.123Z"
    )
    for garbage in ("not-base64!", "eyJ4IjogMX0=", "bnVsbA=="):
        with pytest.raises(InvalidRequest, match="cursor"):
            ObservationCursor.decode(garbage)
        with pytest.raises(InvalidRequest, match="cursor"):
            ScoreCursor.decode(garbage)


def test_query_params_keep_repeated_values_and_validate_by_name():
    # Given a query string with repeated and comma-separated values
    params = QueryParams.from_query_string("tags=a&tags=b%2Cc&environment=x,y&limit=5&page=2&empty=")
    # Then repeated values stay separate and a single value splits on commas
    assert params.many("tags") == ["a", "b,c"]
    assert params.many("environment") == ["x", "y"]
    assert params.page() == params.page().__class__(page=2, limit=5)
    assert params.text("empty") is None
    # And bad values are 400s naming the parameter
    for query, name in (("limit=101", "limit"), ("limit=x", "limit"), ("page=0", "page")):
        with pytest.raises(InvalidRequest, match=f"Invalid {name} parameter"):
            QueryParams.from_query_string(query).page()
    with pytest.raises(InvalidRequest, match="Invalid fromTimestamp parameter"):
        QueryParams.from_query_string("fromTimestamp=2026-13-01").datetime("fromTimestamp")
    with pytest.raises(InvalidRequest, match="Invalid flag parameter"):
        QueryParams.from_query_string("flag=yes").boolean("flag")


def test_query_params_from_an_event_prefers_the_raw_query_string():
    event = {"rawQueryString": "tags=a&tags=b", "queryStringParameters": {"tags": "a,b"}}
    assert QueryParams.from_event(event).many("tags") == ["a", "b"]
    assert QueryParams.from_event({"queryStringParameters": {"name": "n"}}).get("name") == "n"


def test_user_values_never_reach_the_sql_text():
    # Given conditions whose values and keys try to break out of a string literal
    evil = "x' OR 1=1 --\\\n"
    conditions = [
        FilterCondition("string", "userId", "=", evil),
        FilterCondition("stringObject", "metadata", "contains", evil, key=evil),
        FilterCondition("arrayOptions", "tags", "any of", (evil,)),
        FilterCondition("categoryOptions", "score_categories", "none of", (evil,), key=evil),
    ]
    params = SqlParams("project'1")
    # When translated
    sql = " AND ".join(where_sql(conditions, TRACE_COLUMNS, params, "traces"))
    # Then the text holds only placeholders and the values sit in the parameters
    assert evil not in sql and "project'1" not in sql
    assert "{p" in sql
    assert evil in params.values.values() and [evil] in params.values.values()


def test_unknown_columns_and_unsupported_types_are_400s():
    params = SqlParams("p")
    with pytest.raises(InvalidRequest, match="unknown column 'nope' for traces"):
        where_sql([FilterCondition("string", "nope", "=", "x")], TRACE_COLUMNS, params, "traces")
    with pytest.raises(InvalidRequest, match="does not support type 'datetime'"):
        where_sql(
            [FilterCondition("datetime", "name", ">", datetime.now(UTC))], OBSERVATION_COLUMNS, params, "x"
        )
    with pytest.raises(InvalidRequest, match="does not support type 'numberOptions'"):
        where_sql([FilterCondition("numberOptions", "name", "any of", (1.0,))], SCORE_COLUMNS, params, "x")


def test_negative_conditions_on_related_rows_also_match_rows_without_them():
    # Given "<> true" on a boolean score of a trace
    params = SqlParams("p")
    [sql] = where_sql(
        [FilterCondition("booleanObject", "score_booleans", "<>", True, key="ok")], TRACE_COLUMNS, params, "t"
    )
    # Then it is "no score named ok equal to true" (traces without that score match too)
    assert sql.startswith("id NOT IN (SELECT trace_id FROM scores FINAL")
    # And an aggregate whose neutral value satisfies the condition includes rows without children
    [sql] = where_sql([FilterCondition("number", "totalCost", "<", 1.0)], TRACE_COLUMNS, params, "t")
    assert "OR id NOT IN (SELECT trace_id FROM observations FINAL" in sql
    [sql] = where_sql([FilterCondition("number", "totalCost", ">", 1.0)], TRACE_COLUMNS, params, "t")
    assert "NOT IN" not in sql
