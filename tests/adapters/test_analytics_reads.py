"""Contract tests of the AnalyticsReader port, on every analytics backend (``analytics_store``)."""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any

from skyglass.adapters.analytics.store import ClickHouseAnalyticsStore
from skyglass.domain.filters import FilterCondition, parse_filter_param
from skyglass.domain.queries import (
    ObservationCursor,
    ObservationQuery,
    ObservationV2Query,
    OrderBy,
    PageRequest,
    ScoreCursor,
    ScoreQuery,
    ScoreV3Query,
    SessionQuery,
    TraceQuery,
)
from tests.support.records import at, make_generation, make_observation, make_score, make_trace

P, OTHER = "project-a", "project-b"


def _filter(**item: object) -> tuple[FilterCondition, ...]:
    return tuple(parse_filter_param(json.dumps([item])))


def _trace_ids(store: ClickHouseAnalyticsStore, *filters: FilterCondition, **kw: object) -> list[str]:
    return [t.id for t in store.list_traces(TraceQuery(project_id=P, filters=filters, **kw))]  # type: ignore[arg-type]


def _seed_traces(store: ClickHouseAnalyticsStore) -> None:
    store.upsert_traces(
        [
            make_trace(
                id="t1",
                timestamp=at(0),
                name="alpha",
                user_id="u1",
                session_id="s1",
                tags=["a", "b"],
                release="r1",
                version="v1",
                environment="prod",
                metadata={"customer": "acme", "tier": 3, "beta": True},
                bookmarked=True,
            ),
            make_trace(id="t2", timestamp=at(10), name="beta", user_id="u2", session_id="s1", tags=["a"]),
            make_trace(id="t3", timestamp=at(20), name="Gamma", user_id="u'1\n\\x", public=True),
            make_trace(id="t1", project_id=OTHER, timestamp=at(30), name="foreign", user_id="u1"),
        ]
    )
    store.upsert_observations(
        [
            make_generation(id="o1", trace_id="t1", start_time=at(0), end_time=at(2)),
            make_observation(id="o2", trace_id="t1", start_time=at(1), end_time=at(5), level="ERROR"),
            make_observation(id="o3", trace_id="t2", start_time=at(10), end_time=at(10.5), level="WARNING"),
        ]
    )
    store.upsert_scores(
        [
            make_score(id="sc1", trace_id="t1", name="quality", value=0.9),
            make_score(id="sc2", trace_id="t2", name="quality", value=0.2),
            make_score(id="sc3", trace_id="t1", name="ok", data_type="BOOLEAN", value=1, string_value="True"),
            make_score(
                id="sc4", trace_id="t2", name="mood", data_type="CATEGORICAL", value=0, string_value="sad"
            ),
        ]
    )


def test_traces_page_newest_first_with_totals(analytics_store):
    # Given three traces of this project and one of another
    _seed_traces(analytics_store)
    # When the first two pages of two are read
    first = TraceQuery(project_id=P, page=PageRequest(page=1, limit=2))
    second = TraceQuery(project_id=P, page=PageRequest(page=2, limit=2))
    # Then they are newest first, disjoint, and the count ignores the page
    assert [t.id for t in analytics_store.list_traces(first)] == ["t3", "t2"]
    assert [t.id for t in analytics_store.list_traces(second)] == ["t1"]
    assert analytics_store.count_traces(first) == 3
    # And orderBy sorts on the named column
    assert _trace_ids(analytics_store, order_by=OrderBy("name", descending=False)) == ["t3", "t1", "t2"]
    assert _trace_ids(analytics_store, order_by=OrderBy("userId", descending=True)) == ["t2", "t1", "t3"]


def test_trace_filters_cover_columns_metadata_aggregates_and_scores(analytics_store):
    # Given traces with attributes, observations and scores
    _seed_traces(analytics_store)
    cases: list[tuple[dict[str, Any], list[str]]] = [
        (dict(type="string", column="userId", operator="=", value="u'1\n\\x"), ["t3"]),
        (dict(type="string", column="name", operator="contains", value="AMM"), ["t3"]),
        (dict(type="string", column="name", operator="starts with", value="al"), ["t1"]),
        (dict(type="string", column="name", operator="does not contain", value="a"), []),
        (dict(type="datetime", column="timestamp", operator=">=", value="2026-01-01T10:00:10Z"), ["t3", "t2"]),
        (dict(type="stringOptions", column="environment", operator="any of", value=["prod"]), ["t1"]),
        (dict(type="stringOptions", column="environment", operator="none of", value=["prod"]), ["t3", "t2"]),
        (dict(type="arrayOptions", column="tags", operator="all of", value=["a", "b"]), ["t1"]),
        (dict(type="arrayOptions", column="tags", operator="any of", value=["a"]), ["t2", "t1"]),
        (dict(type="arrayOptions", column="tags", operator="none of", value=["b"]), ["t3", "t2"]),
        (dict(type="null", column="sessionId", operator="is null"), ["t3"]),
        (dict(type="boolean", column="bookmarked", operator="=", value=True), ["t1"]),
        (dict(type="boolean", column="public", operator="<>", value=False), ["t3"]),
        (dict(type="stringObject", column="metadata", key="customer", operator="=", value="acme"), ["t1"]),
        (dict(type="numberObject", column="metadata", key="tier", operator=">", value=2), ["t1"]),
        (dict(type="booleanObject", column="metadata", key="beta", operator="=", value=True), ["t1"]),
        (dict(type="null", column="metadata", key="customer", operator="is not null"), ["t1"]),
        (dict(type="number", column="latency", operator=">", value=4), ["t1"]),
        (dict(type="number", column="latency", operator="<", value=1), ["t3", "t2"]),
        (dict(type="number", column="totalCost", operator=">", value=0.001), ["t1"]),
        (dict(type="number", column="totalTokens", operator=">=", value=30), ["t1"]),
        (dict(type="string", column="level", operator="=", value="ERROR"), ["t1"]),
        (dict(type="number", column="warningCount", operator="=", value=1), ["t2"]),
        (dict(type="numberObject", column="scores_avg", key="quality", operator="<", value=0.5), ["t2"]),
        (dict(type="categoryOptions", column="score_categories", key="mood", operator="any of", value=["sad"]),
         ["t2"]),
        (dict(type="booleanObject", column="score_booleans", key="ok", operator="=", value=True), ["t1"]),
        (dict(type="booleanObject", column="score_booleans", key="ok", operator="<>", value=True), ["t3", "t2"]),
    ]  # fmt: skip
    for item, expected in cases:
        # When listing with the filter, Then exactly the matching traces come back (newest first)
        assert _trace_ids(analytics_store, *_filter(**item)) == expected, item
        assert analytics_store.count_traces(TraceQuery(project_id=P, filters=_filter(**item))) == len(
            expected
        )


def test_other_projects_are_invisible(analytics_store):
    # Given the same trace id in two projects
    _seed_traces(analytics_store)
    # Then every read of this project sees only its own rows
    assert analytics_store.get_trace(P, "t1").name == "alpha"
    assert analytics_store.get_trace(OTHER, "t1").name == "foreign"
    assert analytics_store.get_trace(OTHER, "t2") is None
    assert analytics_store.count_traces(TraceQuery(project_id=OTHER)) == 1
    assert analytics_store.trace_aggregates(OTHER, ["t1", "t2"]) == {}
    assert analytics_store.observations_of_traces(OTHER, ["t1"]) == []
    assert analytics_store.scores_of_traces(OTHER, ["t1"]) == []
    assert analytics_store.get_observation(OTHER, "o1") is None
    assert analytics_store.get_score(OTHER, "sc1") is None
    assert analytics_store.session_traces(OTHER, "s1") == []


def test_newest_version_wins_and_deleted_rows_are_hidden(analytics_store):
    # Given a trace updated once, then an older replay of it, and a trace deleted by a newer row
    original = make_trace(id="t1", name="v1", timestamp=at(0), event_ts=at(0))
    analytics_store.upsert_traces([original, make_trace(id="t2", timestamp=at(1))])
    analytics_store.upsert_traces([replace(original, name="v2", event_ts=at(5))])
    analytics_store.upsert_traces([replace(original, name="stale", event_ts=at(2))])
    analytics_store.upsert_traces([make_trace(id="t2", timestamp=at(1), event_ts=at(9), is_deleted=1)])
    observation = make_observation(id="o1", trace_id="t1", name="first", event_ts=at(0))
    analytics_store.upsert_observations([observation, replace(observation, name="second", event_ts=at(3))])
    score = make_score(id="sc1", trace_id="t1", value=0.1, event_ts=at(0))
    analytics_store.upsert_scores([score, replace(score, value=0.7, event_ts=at(4))])
    analytics_store.upsert_scores([make_score(id="sc2", trace_id="t1", event_ts=at(9), is_deleted=1)])
    # Then reads see the newest version only and nothing deleted
    assert analytics_store.get_trace(P, "t1").name == "v2"
    assert analytics_store.get_trace(P, "t2") is None
    assert _trace_ids(analytics_store) == ["t1"]
    assert analytics_store.count_traces(TraceQuery(project_id=P)) == 1
    assert [o.name for o in analytics_store.observations_of_traces(P, ["t1"])] == ["second"]
    assert [s.value for s in analytics_store.scores_of_traces(P, ["t1"])] == [0.7]
    assert analytics_store.trace_aggregates(P, ["t1"])["t1"].score_ids == ["sc1"]


def test_trace_children_and_aggregates_for_a_page(analytics_store):
    # Given two traces with observations and scores
    _seed_traces(analytics_store)
    # When aggregates of a page are read in one call
    aggregates = analytics_store.trace_aggregates(P, ["t1", "t2", "t3"])
    # Then observation ids are in start order, latency spans all times, costs add up
    assert aggregates["t1"].observation_ids == ["o1", "o2"]
    assert aggregates["t1"].latency == 5.0
    assert abs(aggregates["t1"].total_cost - 0.003) < 1e-9
    assert sorted(aggregates["t1"].score_ids) == ["sc1", "sc3"]
    assert "t3" not in aggregates
    # And the optional halves can be skipped
    assert analytics_store.trace_aggregates(P, ["t1"], observations=False)["t1"].observation_ids == []
    # And children of several traces come back together
    assert [o.id for o in analytics_store.observations_of_traces(P, ["t2", "t1"])] == ["o1", "o2", "o3"]
    generation = analytics_store.observations_of_traces(P, ["t1"])[0]
    assert generation.usage_details == {"input": 10, "output": 20, "total": 30}
    assert generation.cost_details["total"] == 0.003
    assert {s.id for s in analytics_store.scores_of_traces(P, ["t1", "t2"])} == {"sc1", "sc2", "sc3", "sc4"}
    # And trace contexts carry the attributes repeated on observation rows
    context = analytics_store.trace_contexts(P, ["t1", "t1", "t9"])
    assert list(context) == ["t1"] and context["t1"].tags == ("a", "b")
    assert context["t1"].user_id == "u1" and context["t1"].bookmarked is True


def test_trace_io_is_read_only_when_asked(analytics_store):
    # Given a trace with input, output and metadata
    analytics_store.upsert_traces([make_trace(id="t1", input='{"q": 1}', output='"a"', metadata={"k": "v"})])
    # Then the light read leaves them out and the full read returns the stored JSON text
    light = analytics_store.get_trace(P, "t1", with_io=False)
    assert (light.input, light.output, light.metadata) == (None, None, {})
    full = analytics_store.get_trace(P, "t1")
    assert (full.input, full.output, full.metadata) == ('{"q": 1}', '"a"', {"k": '"v"'})
    [listed] = analytics_store.list_traces(TraceQuery(project_id=P, with_io=False))
    assert listed.input is None


def test_observation_filters_and_pages(analytics_store):
    # Given observations of traces with attributes
    _seed_traces(analytics_store)
    analytics_store.upsert_observations(
        [
            make_observation(
                id="o4", trace_id="t2", parent_observation_id="o3", start_time=at(11), metadata={"k": 1}
            )
        ]
    )

    def ids(*filters: FilterCondition, page: PageRequest | None = None) -> list[str]:
        query = ObservationQuery(project_id=P, page=page or PageRequest(), filters=filters)
        return [o.id for o in analytics_store.list_observations(query)]

    # Then v1 lists are newest first and paged, with the total counted separately
    assert ids() == ["o4", "o3", "o2", "o1"]
    assert ids(page=PageRequest(page=2, limit=3)) == ["o1"]
    assert analytics_store.count_observations(ObservationQuery(project_id=P)) == 4
    cases: list[tuple[dict[str, Any], list[str]]] = [
        (dict(type="string", column="type", operator="=", value="GENERATION"), ["o1"]),
        (dict(type="string", column="userId", operator="=", value="u2"), ["o4", "o3"]),
        (dict(type="arrayOptions", column="traceTags", operator="all of", value=["a", "b"]), ["o2", "o1"]),
        (dict(type="null", column="parentObservationId", operator="is not null"), ["o4"]),
        (dict(type="boolean", column="isRootObservation", operator="=", value=False), ["o4"]),
        (dict(type="number", column="latency", operator=">=", value=2), ["o2", "o1"]),
        (dict(type="number", column="inputTokens", operator="=", value=10), ["o1"]),
        (dict(type="number", column="totalCost", operator=">", value=0), ["o1"]),
        (dict(type="string", column="model", operator="=", value="gpt-4o"), ["o1"]),
        (dict(type="numberObject", column="metadata", key="k", operator="=", value=1), ["o4"]),
        (dict(type="string", column="input", operator="matches", value="HI"), ["o1"]),
        (dict(type="stringOptions", column="level", operator="any of", value=["ERROR", "WARNING"]), ["o3", "o2"]),
        (dict(type="string", column="traceName", operator="=", value="beta"), ["o4", "o3"]),
    ]  # fmt: skip
    for item, expected in cases:
        assert ids(*_filter(**item)) == expected, item
    # And one observation is found by id in its own project only
    assert analytics_store.get_observation(P, "o1").provided_model_name == "gpt-4o"
    assert analytics_store.get_observation(P, "nope") is None


def test_v2_observation_cursor_walks_every_row_once(analytics_store):
    # Given five observations, three sharing a start time
    analytics_store.upsert_observations(
        [
            make_observation(id=f"o{i}", trace_id=f"t{i % 2}", start_time=at(0 if i < 3 else i), input='"x"')
            for i in range(5)
        ]
    )
    # When walking pages of two with the cursor of each page's last row
    seen: list[str] = []
    cursor = None
    for _ in range(5):
        query = ObservationV2Query(project_id=P, limit=2, cursor=cursor, fields=frozenset({"core"}))
        rows = analytics_store.list_observations_v2(query)
        page = rows[:2]
        seen += [r.id for r in page]
        if len(rows) <= 2:
            break
        cursor = ObservationCursor(page[-1].start_time, page[-1].trace_id, page[-1].id)
    # Then every row came exactly once, newest first
    assert sorted(seen) == [f"o{i}" for i in range(5)] and len(seen) == 5
    assert seen[:2] == ["o4", "o3"]
    # And only the requested groups' columns are read
    [core_only] = analytics_store.list_observations_v2(ObservationV2Query(project_id=P, limit=1))[:1]
    assert core_only.input is None
    [with_io] = analytics_store.list_observations_v2(
        ObservationV2Query(project_id=P, limit=1, fields=frozenset({"io"}))
    )[:1]
    assert with_io.input == '"x"'


def test_sessions_come_from_traces(analytics_store):
    # Given traces in two sessions (one in another environment) and a trace without a session
    analytics_store.upsert_traces(
        [
            make_trace(id="t1", session_id="s1", timestamp=at(5), environment="prod"),
            make_trace(id="t2", session_id="s1", timestamp=at(1), environment="dev"),
            make_trace(id="t3", session_id="s2", timestamp=at(10)),
            make_trace(id="t4", timestamp=at(20)),
            make_trace(id="t5", session_id="s3", timestamp=at(30), project_id=OTHER),
        ]
    )
    # Then sessions are newest first, created at their first trace, with its environment
    sessions = analytics_store.list_sessions(SessionQuery(project_id=P))
    assert [(s.id, s.created_at, s.environment) for s in sessions] == [
        ("s2", at(10), "default"),
        ("s1", at(1), "dev"),
    ]
    assert analytics_store.count_sessions(SessionQuery(project_id=P)) == 2
    # And paging, time range (on creation) and environment filters apply
    page2 = analytics_store.list_sessions(SessionQuery(project_id=P, page=PageRequest(page=2, limit=1)))
    assert [s.id for s in page2] == ["s1"]
    ranged = SessionQuery(project_id=P, from_timestamp=at(2), to_timestamp=at(11))
    assert [s.id for s in analytics_store.list_sessions(ranged)] == ["s2"]
    assert analytics_store.count_sessions(ranged) == 1
    in_prod = SessionQuery(project_id=P, environments=("prod",))
    assert [(s.id, s.created_at) for s in analytics_store.list_sessions(in_prod)] == [("s1", at(5))]
    # And a session's traces are oldest first
    assert [t.id for t in analytics_store.session_traces(P, "s1")] == ["t2", "t1"]


def test_score_filters_pages_and_cursor(analytics_store):
    # Given scores on traces, an observation and a session
    _seed_traces(analytics_store)
    analytics_store.upsert_scores(
        [
            make_score(id="sc5", session_id="s1", trace_id=None, timestamp=at(7), metadata={"by": "me"}),
            make_score(id="sc6", trace_id="t1", observation_id="o1", timestamp=at(8), source="EVAL"),
            make_score(id="sc7", trace_id="t1", project_id=OTHER),
        ]
    )

    def ids(*filters: FilterCondition) -> list[str]:
        return [s.id for s in analytics_store.list_scores(ScoreQuery(project_id=P, filters=filters))]

    # Then lists are newest first (id breaks ties) and filters apply
    assert ids()[:2] == ["sc6", "sc5"]
    assert analytics_store.count_scores(ScoreQuery(project_id=P)) == 6
    cases = [
        (FilterCondition("number", "value", ">=", 0.5), ["sc6", "sc5", "sc3", "sc1"]),
        (FilterCondition("number", "value", "!=", 0.5), ["sc4", "sc3", "sc2", "sc1"]),
        (FilterCondition("string", "source", "=", "EVAL"), ["sc6"]),
        (FilterCondition("stringOptions", "observationId", "any of", ("o1",)), ["sc6"]),
        (FilterCondition("string", "userId", "=", "u2"), ["sc4", "sc2"]),
        (FilterCondition("arrayOptions", "traceTags", "all of", ("a", "b")), ["sc6", "sc3", "sc1"]),
        (FilterCondition("stringObject", "metadata", "=", "me", key="by"), ["sc5"]),
        (FilterCondition("datetime", "timestamp", ">=", at(8)), ["sc6"]),
        (FilterCondition("numberOptions", "value", "any of", (0.2, 0.9)), ["sc2", "sc1"]),
    ]
    for condition, expected in cases:
        assert ids(condition) == expected, condition
    assert analytics_store.get_score(P, "sc6").observation_id == "o1"
    # And the v3 cursor walks every score once
    seen: list[str] = []
    cursor = None
    while True:
        rows = analytics_store.list_scores_v3(ScoreV3Query(project_id=P, limit=4, cursor=cursor))
        seen += [r.id for r in rows[:4]]
        if len(rows) <= 4:
            break
        cursor = ScoreCursor(rows[3].timestamp, rows[3].id)
    assert seen == ids()
