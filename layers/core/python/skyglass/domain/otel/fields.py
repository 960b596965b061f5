"""Compat §4.2 "first match wins" sources for the non-generation fields of a span.

Each tuple is the lookup order; the functions only add what a plain lookup cannot say (span
then resource, JSON-encoded metadata values, the shapes tags arrive in).
"""

from __future__ import annotations

from typing import Any

from skyglass.domain.otel import langfuse_attrs as lf
from skyglass.domain.otel import vercel
from skyglass.domain.otel.span import STATUS_ERROR
from skyglass.domain.otel.values import AttributeReader, as_bool, as_text, decode_json_value, loads_json

DEFAULT_ENVIRONMENT = "default"

ENVIRONMENT_KEYS = (lf.ENVIRONMENT, "deployment.environment.name", "deployment.environment")
USER_ID_KEYS = (
    lf.COMPAT_USER_ID,
    lf.TRACE_USER_ID,
    f"{lf.OBSERVATION_METADATA}.langfuse_user_id",
    f"{lf.TRACE_METADATA}.langfuse_user_id",
    "ai.telemetry.metadata.userId",
)
SESSION_ID_KEYS = (
    lf.COMPAT_SESSION_ID,
    lf.TRACE_SESSION_ID,
    "gen_ai.conversation.id",
    f"{lf.OBSERVATION_METADATA}.langfuse_session_id",
    f"{lf.TRACE_METADATA}.langfuse_session_id",
    "ai.telemetry.metadata.sessionId",
)
TAG_KEYS = (
    lf.TRACE_TAGS,
    lf.COMPAT_TAGS,
    f"{lf.OBSERVATION_METADATA}.langfuse_tags",
    f"{lf.TRACE_METADATA}.langfuse_tags",
    "ai.telemetry.metadata.tags",
    "tag.tags",
)
PUBLIC_KEYS = (lf.TRACE_PUBLIC, lf.COMPAT_PUBLIC)
STATUS_MESSAGE_KEYS = (lf.OBSERVATION_STATUS_MESSAGE,)


def _identifier(reader: AttributeReader, keys: tuple[str, ...]) -> str | None:
    found = reader.first_item(keys)
    if found is None:
        return None
    key, value = found
    # Metadata-borne ids are JSON-encoded by SDK v5 (``"\"u1\""``).
    return as_text(decode_json_value(value) if ".metadata." in key else value)


def environment(reader: AttributeReader, resource: dict[str, Any]) -> str:
    """Each key on the span, then on the resource; ``default`` otherwise (normalised later)."""
    for key in ENVIRONMENT_KEYS:
        value = reader.get(key)
        if value is None and resource.get(key):
            value = resource[key]
        if value is not None:
            return as_text(value) or DEFAULT_ENVIRONMENT
    return DEFAULT_ENVIRONMENT


def version(reader: AttributeReader, resource: dict[str, Any]) -> str | None:
    """``langfuse.version`` on the span, else the resource's ``service.version``."""
    value = reader.get(lf.VERSION)
    if value is None:
        value = resource.get("service.version") or None
    return as_text(value)


def release(reader: AttributeReader, resource: dict[str, Any]) -> str | None:
    """``langfuse.release`` on the span, then on the resource."""
    value = reader.get(lf.RELEASE)
    if value is None:
        value = resource.get(lf.RELEASE) or None
    return as_text(value)


def level(reader: AttributeReader, status_code: int) -> str:
    """The SDK's level (aliases accepted); an OTel error status means ERROR; else DEFAULT."""
    explicit = lf.level_of(reader.peek(lf.OBSERVATION_LEVEL))
    if explicit is not None:
        reader.mark(lf.OBSERVATION_LEVEL)
        return explicit
    return "ERROR" if status_code == STATUS_ERROR else "DEFAULT"


def status_message(reader: AttributeReader, otel_message: str) -> str | None:
    """The SDK's status message, else the OTel status description."""
    return as_text(reader.first(STATUS_MESSAGE_KEYS)) or otel_message or None


def user_id(reader: AttributeReader) -> str | None:
    return _identifier(reader, USER_ID_KEYS)


def session_id(reader: AttributeReader) -> str | None:
    return _identifier(reader, SESSION_ID_KEYS)


def tags(reader: AttributeReader) -> list[str] | None:
    """Tags from an array, a JSON array string, a comma list or a single string."""
    found = reader.first_item(TAG_KEYS)
    if found is None:
        return None
    key, value = found
    if isinstance(value, str) and ".metadata." in key:
        value = decode_json_value(value)
    if isinstance(value, str):
        text = value.strip()
        if text.startswith("["):
            decoded = loads_json(text)
            if isinstance(decoded, list):
                value = decoded
        if isinstance(value, str):
            value = [part.strip() for part in text.split(",")] if "," in text else [text]
    if isinstance(value, list):
        return [item if isinstance(item, str) else as_text(item) or "" for item in value]
    return [as_text(value) or ""]


def public(reader: AttributeReader) -> bool | None:
    value = reader.first(PUBLIC_KEYS)
    return None if value is None else as_bool(value) is True


NAME_KEYS = ("gen_ai.tool.name", "genkit:name", "logfire.msg")


def name(reader: AttributeReader, span_name: str) -> str:
    """A tool's name, Genkit's/Logfire's display name, the Vercel operation, else the span name."""
    found = reader.first(NAME_KEYS)
    if found is not None:
        return as_text(found) or span_name
    return vercel.name(reader) or span_name
