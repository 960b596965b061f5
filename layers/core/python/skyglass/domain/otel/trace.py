"""The ``trace-create`` event of a span (compat §4.1).

A root span describes its whole trace (name falls back to the span's, IO to the span's: SDK v5
sends no trace IO); any other span only contributes the trace fields it carries, so merging the
events of every span of a trace in any order gives the same trace.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from skyglass.domain.otel import fields
from skyglass.domain.otel import langfuse_attrs as lf
from skyglass.domain.otel.values import AttributeReader, as_text, loads_if_json


@dataclass(slots=True)
class TraceFields:
    """What a span says about its trace, read once so consumed attributes are known."""

    name: str | None = None
    user_id: str | None = None
    session_id: str | None = None
    tags: list[str] | None = None
    public: bool | None = None
    metadata: dict[str, Any] = field(default_factory=dict)
    input: Any = None
    output: Any = None

    def any(self) -> bool:
        """Whether the span updates its trace at all (else a non-root span emits no trace event)."""
        return (
            self.name is not None
            or self.user_id is not None
            or self.session_id is not None
            or self.tags is not None
            or self.public is not None
            or bool(self.metadata)
            or self.input is not None
            or self.output is not None
        )


def read_trace_fields(reader: AttributeReader) -> TraceFields:
    """The trace fields on a span's attributes (``langfuse.trace.*``, user/session ids, tags…)."""
    return TraceFields(
        name=as_text(reader.get(lf.TRACE_NAME)),
        user_id=fields.user_id(reader),
        session_id=fields.session_id(reader),
        tags=fields.tags(reader),
        public=fields.public(reader),
        metadata=lf.flattened_metadata(reader, (lf.TRACE_METADATA,)),
        input=loads_if_json(reader.get(lf.TRACE_INPUT)),
        output=loads_if_json(reader.get(lf.TRACE_OUTPUT)),
    )


def trace_body(
    trace_id: str,
    trace: TraceFields,
    *,
    root: bool,
    timestamp: str,
    environment: str,
    version: str | None,
    release: str | None,
    metadata: dict[str, Any],
    observation_name: str,
    observation_input: Any,
    observation_output: Any,
) -> dict[str, Any] | None:
    """The trace event body, or ``None`` for a non-root span without trace fields.

    ``metadata`` is already assembled by the caller (context keys last, as Langfuse does).
    """
    if not root and not trace.any():
        return None
    body: dict[str, Any] = {
        "id": trace_id,
        "timestamp": timestamp,
        "environment": environment,
        "name": trace.name if trace.name is not None or not root else observation_name,
        "userId": trace.user_id,
        "sessionId": trace.session_id,
        "tags": trace.tags,
        "public": trace.public,
        "version": version,
        "release": release,
        "metadata": metadata,
        "input": trace.input if trace.input is not None or not root else observation_input,
        "output": trace.output if trace.output is not None or not root else observation_output,
    }
    return {key: value for key, value in body.items() if value is not None}
