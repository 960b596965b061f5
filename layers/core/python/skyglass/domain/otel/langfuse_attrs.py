"""The ``langfuse.*`` span attribute vocabulary of the Python SDK v5 (``_client/attributes.py``).

Names are data; the few decoders here are the Langfuse-specific ones: level aliases, flattened
metadata (``langfuse.observation.metadata.<k>`` with JSON-encoded values), experiment fields and
the root/trace-update tests of compat §4.1. ``is_vocabulary`` tells the names mapped here from
``langfuse.*`` keys this version does not know, which are kept in metadata rather than dropped.
"""

from __future__ import annotations

from typing import Any

from skyglass.domain.otel.values import AttributeReader, as_bool, decode_json_value, json_object

SDK_SCOPE = "langfuse-sdk"
NAMESPACE = "langfuse"

# Trace attributes (``propagate_attributes``); user/session use the OTel names.
TRACE_NAME = "langfuse.trace.name"
TRACE_USER_ID = "user.id"
TRACE_SESSION_ID = "session.id"
TRACE_TAGS = "langfuse.trace.tags"
TRACE_PUBLIC = "langfuse.trace.public"
TRACE_METADATA = "langfuse.trace.metadata"
TRACE_INPUT = "langfuse.trace.input"  # SDK v3/v4 only; v5 derives trace IO from the root
TRACE_OUTPUT = "langfuse.trace.output"

# Observation attributes.
OBSERVATION_TYPE = "langfuse.observation.type"
OBSERVATION_METADATA = "langfuse.observation.metadata"
OBSERVATION_LEVEL = "langfuse.observation.level"
OBSERVATION_STATUS_MESSAGE = "langfuse.observation.status_message"
OBSERVATION_INPUT = "langfuse.observation.input"
OBSERVATION_OUTPUT = "langfuse.observation.output"
OBSERVATION_COMPLETION_START_TIME = "langfuse.observation.completion_start_time"
OBSERVATION_MODEL = "langfuse.observation.model.name"
OBSERVATION_MODEL_PARAMETERS = "langfuse.observation.model.parameters"
OBSERVATION_USAGE_DETAILS = "langfuse.observation.usage_details"
OBSERVATION_COST_DETAILS = "langfuse.observation.cost_details"
OBSERVATION_PROMPT_NAME = "langfuse.observation.prompt.name"
OBSERVATION_PROMPT_VERSION = "langfuse.observation.prompt.version"

# General, internal, and the older aliases Langfuse still reads.
ENVIRONMENT = "langfuse.environment"
RELEASE = "langfuse.release"
VERSION = "langfuse.version"
INTERNAL_PREFIX = "langfuse.internal."
AS_ROOT = INTERNAL_PREFIX + "as_root"
IS_APP_ROOT = INTERNAL_PREFIX + "is_app_root"
COMPAT_USER_ID = "langfuse.user.id"
COMPAT_SESSION_ID = "langfuse.session.id"
COMPAT_TAGS = "langfuse.tags"
COMPAT_PUBLIC = "langfuse.public"
COMPAT_METADATA = "langfuse.metadata"
COMPAT_PROMPT_NAME = "langfuse.prompt.name"
COMPAT_PROMPT_VERSION = "langfuse.prompt.version"

# ``langfuse.experiment.<suffix>`` → key in the observation's ``metadata.experiment``; the values
# marked True are JSON text the SDK encoded.
EXPERIMENT_PREFIX = "langfuse.experiment."
EXPERIMENT_FIELDS: dict[str, tuple[str, bool]] = {
    "id": ("id", False),
    "name": ("name", False),
    "description": ("description", False),
    "metadata": ("metadata", True),
    "dataset.id": ("datasetId", False),
    "item.id": ("itemId", False),
    "item.version": ("itemVersion", False),
    "item.expected_output": ("itemExpectedOutput", True),
    "item.metadata": ("itemMetadata", True),
    "item.root_observation_id": ("itemRootObservationId", False),
}

# The SDK vocabulary: every name above, and the prefixes whose keys are all mapped (flattened
# metadata, experiment fields) or are SDK bookkeeping (``langfuse.internal.*``).
VOCABULARY = frozenset(
    {
        TRACE_NAME,
        TRACE_TAGS,
        TRACE_PUBLIC,
        TRACE_METADATA,
        TRACE_INPUT,
        TRACE_OUTPUT,
        OBSERVATION_TYPE,
        OBSERVATION_METADATA,
        OBSERVATION_LEVEL,
        OBSERVATION_STATUS_MESSAGE,
        OBSERVATION_INPUT,
        OBSERVATION_OUTPUT,
        OBSERVATION_COMPLETION_START_TIME,
        OBSERVATION_MODEL,
        OBSERVATION_MODEL_PARAMETERS,
        OBSERVATION_USAGE_DETAILS,
        OBSERVATION_COST_DETAILS,
        OBSERVATION_PROMPT_NAME,
        OBSERVATION_PROMPT_VERSION,
        ENVIRONMENT,
        RELEASE,
        VERSION,
        COMPAT_USER_ID,
        COMPAT_SESSION_ID,
        COMPAT_TAGS,
        COMPAT_PUBLIC,
        COMPAT_METADATA,
        COMPAT_PROMPT_NAME,
        COMPAT_PROMPT_VERSION,
    }
)
VOCABULARY_PREFIXES = (
    TRACE_METADATA + ".",
    OBSERVATION_METADATA + ".",
    COMPAT_METADATA + ".",
    EXPERIMENT_PREFIX,
    INTERNAL_PREFIX,
)

LEVEL_ALIASES: dict[str, str] = {
    "DEBUG": "DEBUG",
    "TRACE": "DEBUG",
    "VERBOSE": "DEBUG",
    "DEFAULT": "DEFAULT",
    "INFO": "DEFAULT",
    "LOG": "DEFAULT",
    "NOTICE": "DEFAULT",
    "OK": "DEFAULT",
    "SUCCESS": "DEFAULT",
    "WARNING": "WARNING",
    "WARN": "WARNING",
    "ERROR": "ERROR",
    "FATAL": "ERROR",
    "CRITICAL": "ERROR",
}


def is_vocabulary(key: str) -> bool:
    """Whether ``key`` is a ``langfuse.*`` name this module maps (or SDK bookkeeping).

    Such keys never reach metadata from the SDK's own spans, even when their value was unusable
    (as in Langfuse); any other ``langfuse.*`` key, e.g. from a newer SDK, is kept there.
    """
    return key in VOCABULARY or key.startswith(VOCABULARY_PREFIXES)


def level_of(value: Any) -> str | None:
    """A Langfuse level for ``langfuse.observation.level`` (aliases accepted), else ``None``."""
    return LEVEL_ALIASES.get(value.strip().upper()) if isinstance(value, str) else None


def flattened_metadata(
    reader: AttributeReader, prefixes: tuple[str, ...], skip: frozenset[str] = frozenset()
) -> dict[str, Any]:
    """Metadata spread over attributes: the bare ``<prefix>`` (a JSON object is merged, another
    value kept under ``metadata``) then every ``<prefix>.<key>`` with its value JSON-decoded.

    SDK v5 JSON-encodes each value (strings included) so ``"123"`` and ``123`` stay distinct;
    values that are not JSON (older SDKs, other tools) are kept as sent.
    """
    merged: dict[str, Any] = {}
    for prefix in prefixes:
        bare = reader.get(prefix)
        if bare is not None:
            decoded = json_object(bare)
            if decoded is not None:
                merged.update(decoded)
            else:
                merged["metadata"] = decode_json_value(bare)
    for prefix in prefixes:
        for key, value in reader.prefixed(prefix + ".").items():
            if prefix + "." + key not in skip:
                merged[key] = decode_json_value(value)
    return merged


def experiment(reader: AttributeReader) -> dict[str, Any] | None:
    """``langfuse.experiment.*`` as one object (kept in metadata: no experiment columns yet)."""
    found = reader.prefixed(EXPERIMENT_PREFIX)
    if not found:
        return None
    out: dict[str, Any] = {}
    for suffix, value in found.items():
        name, is_json = EXPERIMENT_FIELDS.get(suffix, (suffix, False))
        out[name] = decode_json_value(value) if is_json else value
    return out


def is_root(parent_span_id: str, reader: AttributeReader) -> bool:
    """Root of its trace: no parent, ``as_root`` (SDK with an external trace context), or the
    SDK's ``is_app_root`` (first exported span whose parent, e.g. an HTTP server span, was not
    exported: without it such traces would never get a name or IO)."""
    if not parent_span_id:
        return True
    return as_bool(reader.peek(AS_ROOT)) is True or as_bool(reader.peek(IS_APP_ROOT)) is True
