"""``langfuse.*`` attributes that shape the trace or are unknown: trace input/output (SDK v3/v4),
``langfuse.internal.is_app_root`` on a span with a parent, and ``langfuse.*`` keys outside the
SDK vocabulary, which are kept in metadata (compat §4.1).

Spans are made with the real OTel SDK and go through protobuf encode/decode (``single_span``).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import orjson
import pytest

from skyglass.domain.merge import merge_trace
from skyglass.domain.otel import langfuse_attrs as lf
from skyglass.domain.otel import span_to_events
from skyglass.domain.records import EntityEvent
from tests.events.otel.record import RECEIVED_AT, single_span

SDK = "langfuse-sdk"


def mapped(attributes: dict[str, Any], *, scope: str = SDK, child: bool = False) -> dict[str, Any]:
    """``{"trace": body or None, "observation": body}`` of one span."""
    span = single_span(attributes, scope=scope, child=child)
    events = span_to_events(span, received_at=RECEIVED_AT)
    traces = [e["body"] for e in events if e["type"] == "trace-create"]
    return {"trace": traces[0] if traces else None, "observation": events[-1]["body"], "span": span}


def leftovers(body: dict[str, Any]) -> dict[str, Any]:
    return body["metadata"].get("attributes", {})


# --- langfuse.trace.input / langfuse.trace.output -------------------------------------------


def test_trace_io_attributes_become_the_trace_io_not_the_observation_io():
    # Given a root span with its own IO and trace IO, as SDK v3/v4 set them (JSON text)
    result = mapped(
        {
            "langfuse.observation.input": '{"q": "span in"}',
            "langfuse.observation.output": "span out",
            "langfuse.trace.input": '{"question": "trace in"}',
            "langfuse.trace.output": '["trace", "out"]',
        }
    )
    trace, observation = result["trace"], result["observation"]
    # Then the trace takes the trace IO (decoded), the observation keeps its own
    assert (trace["input"], trace["output"]) == ({"question": "trace in"}, ["trace", "out"])
    assert (observation["input"], observation["output"]) == ({"q": "span in"}, "span out")
    # And neither attribute is left over in metadata
    assert leftovers(observation) == {} and leftovers(trace) == {}


def test_trace_io_on_a_child_span_updates_the_trace():
    # Given a non-root span that carries only trace IO (plain text, not JSON)
    result = mapped({"langfuse.trace.input": "hello", "langfuse.trace.output": "bye"}, child=True)
    # Then it emits a partial trace-create with that IO and no name (only a root names its trace)
    trace = result["trace"]
    assert trace is not None
    assert (trace["input"], trace["output"]) == ("hello", "bye")
    assert "name" not in trace
    # And its observation stays a child without that IO
    observation = result["observation"]
    assert observation["parentObservationId"] == result["span"].parent_span_id
    assert "input" not in observation and "output" not in observation


def test_trace_io_from_a_child_and_root_io_merge_into_one_trace():
    # Given a root span without trace IO and a child that sets it, exported in either order
    root = single_span({"langfuse.observation.input": "root in"}, scope=SDK)
    child = single_span({"langfuse.trace.output": '{"answer": 42}'}, scope=SDK, child=True)
    child.trace_id = root.trace_id
    events = [e for s in (child, root) for e in span_to_events(s, received_at=RECEIVED_AT)]
    traces = [e for e in events if e["type"] == "trace-create"]
    # When the worker merges the trace events
    row = merge_trace(
        "p",
        [
            EntityEvent(
                project_id="p",
                entity_type="trace",
                entity_id=e["body"]["id"],
                event_id=e["id"],
                event_type=e["type"],
                timestamp=datetime.fromisoformat(e["timestamp"]),
                body=orjson.dumps(e["body"]).decode(),
                received_at=datetime(2026, 1, 2, tzinfo=UTC),
            )
            for e in traces
        ],
    )
    # Then the trace has the root's input and the child's explicit output
    assert (row.input, row.output) == ('"root in"', '{"answer":42}')


@pytest.mark.parametrize("scope", [SDK, "my.framework"])
def test_trace_io_is_read_from_any_scope(scope):
    # Given the trace IO attributes on a span of another instrumentation scope
    result = mapped({"langfuse.trace.input": "in", "langfuse.trace.output": "out"}, scope=scope)
    # Then they are the trace IO there too, and consumed
    assert (result["trace"]["input"], result["trace"]["output"]) == ("in", "out")
    assert leftovers(result["observation"]) == {}


# --- langfuse.internal.is_app_root on a span with a parent ------------------------------------


@pytest.mark.parametrize("flag", [True, "true", "TRUE"])
def test_is_app_root_makes_a_span_with_a_parent_describe_its_trace(flag):
    # Given a span whose parent (e.g. an HTTP server span) was not exported, marked by the SDK
    result = mapped({"langfuse.internal.is_app_root": flag, "langfuse.observation.input": "q"}, child=True)
    span, trace, observation = result["span"], result["trace"], result["observation"]
    # Then it keeps its parent but also describes the whole trace, as a root does
    assert span.parent_span_id and observation["parentObservationId"] == span.parent_span_id
    assert trace is not None
    assert (trace["id"], trace["name"], trace["input"]) == (span.trace_id, span.name, "q")
    # And the bookkeeping attribute is not left over in metadata
    assert leftovers(observation) == {}


@pytest.mark.parametrize(
    "attributes", [{}, {"langfuse.internal.is_app_root": False}, {"langfuse.internal.is_app_root": "no"}]
)
def test_a_span_with_a_parent_and_no_root_marker_does_not_describe_its_trace(attributes):
    # Given a child span without is_app_root (or with a false/unusable one) and no trace fields
    result = mapped({**attributes, "langfuse.observation.input": "q"}, child=True)
    # Then it emits no trace event: only a root names its trace and gives it IO
    assert result["trace"] is None


def test_is_root_reads_is_app_root_without_as_root():
    # Given only is_app_root on a span with a parent
    from skyglass.domain.otel.values import AttributeReader

    reader = AttributeReader({lf.IS_APP_ROOT: True})
    # Then the span is a root, and the reader has not consumed the key (the mapper marks it)
    assert lf.is_root("e" * 16, reader) is True
    assert reader.used == set()
    assert lf.is_root("e" * 16, AttributeReader({})) is False


# --- unknown langfuse.* keys --------------------------------------------------------------------


def test_unknown_langfuse_keys_on_sdk_spans_are_kept_in_metadata():
    # Given an SDK span with foreign attributes and langfuse.* keys this version does not know
    result = mapped(
        {
            "langfuse.observation.type": "span",
            "http.route": "/chat",
            "langfuse.unknown": "x",
            "langfuse.observation.future_field": '{"a": 1}',
            "langfuse.trace.future_flag": True,
        }
    )
    # Then all of them are kept, as sent, where other unknown attributes go
    assert leftovers(result["observation"]) == {
        "http.route": "/chat",
        "langfuse.unknown": "x",
        "langfuse.observation.future_field": '{"a": 1}',
        "langfuse.trace.future_flag": True,
    }
    # And, the span being a root, on its trace too
    assert leftovers(result["trace"]) == leftovers(result["observation"])


def test_sdk_vocabulary_and_internal_keys_are_consumed_even_when_unusable():
    # Given an SDK span carrying vocabulary keys that map to nothing here and internal bookkeeping
    result = mapped(
        {
            "langfuse.observation.type": "span",
            "langfuse.observation.prompt.name": "p",  # prompts link generations only
            "langfuse.observation.prompt.version": "2",
            "langfuse.observation.level": "NOT-A-LEVEL",
            "langfuse.internal.as_root": True,
            "langfuse.internal.some_future_bookkeeping": "1",
        },
        child=True,
    )
    # Then none of them reaches metadata, as in Langfuse
    assert leftovers(result["observation"]) == {}


def test_unknown_langfuse_keys_on_other_scopes_are_kept_as_before():
    # Given a span from another scope with an unknown langfuse.* key and an internal one
    result = mapped({"langfuse.unknown": "x", "langfuse.internal.some_flag": "1"}, scope="my.framework")
    # Then both are kept: the vocabulary filter only applies to the SDK's own spans
    assert leftovers(result["observation"]) == {"langfuse.unknown": "x", "langfuse.internal.some_flag": "1"}


@pytest.mark.parametrize(
    ("key", "known"),
    [
        ("langfuse.trace.name", True),
        ("langfuse.trace.metadata.k", True),
        ("langfuse.observation.metadata", True),
        ("langfuse.metadata.legacy", True),
        ("langfuse.experiment.item.id", True),
        ("langfuse.internal.anything", True),
        ("langfuse.prompt.version", True),
        ("langfuse.trace.future", False),
        ("langfuse.observationx", False),
        ("langfuse.unknown", False),
        ("user.id", False),
    ],
)
def test_vocabulary(key, known):
    assert lf.is_vocabulary(key) is known
