"""Attribute value helpers shared by every convention module.

Attribute values arrive as plain Python values (see ``span.OtelSpan``); conventions encode
structure inside strings (JSON objects, JSON-encoded metadata values, flattened ``a.0.b`` keys).
``AttributeReader`` remembers which keys a mapping consumed, so everything else can be kept in
metadata: unknown attributes are never dropped.
"""

from __future__ import annotations

import math
from bisect import bisect_left
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson

from skyglass.domain.merge_rules import as_str

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_JSON_STARTS = ("{", "[", '"')
_MISSING: Any = object()
_CONTAINERS = (list, dict)


def meaningful(value: Any) -> bool:
    """Langfuse's "has a value": not ``None``, not ``""`` and not an empty list/dict (0/False count)."""
    if value is None or value == "":
        return False
    if isinstance(value, list | dict):
        return bool(value)
    return True


def loads_json(value: Any, default: Any = None) -> Any:
    """``value`` decoded as JSON text; ``default`` when it is not a string or not JSON."""
    if not isinstance(value, str):
        return default
    try:
        return orjson.loads(value)
    except orjson.JSONDecodeError:
        return default


def decode_json_value(value: Any) -> Any:
    """A value that *should* be JSON text (SDK v5 metadata): decoded when it parses, else as is."""
    if not isinstance(value, str):
        return value
    decoded = loads_json(value, _MISSING)
    return value if decoded is _MISSING else decoded


def loads_if_json(value: Any) -> Any:
    """Input/output text → the JSON object, array or string it encodes; other text stays text.

    Only objects, arrays and JSON strings are decoded: the SDK sends a raw string as is, so a
    bare ``123`` or ``true`` is more likely text than a number (Langfuse stores the text too).
    """
    if not isinstance(value, str):
        return value
    text = value.lstrip()
    if not text.startswith(_JSON_STARTS):
        return value
    decoded = loads_json(text, _MISSING)
    return value if decoded is _MISSING else decoded


def json_object(value: Any) -> dict[str, Any] | None:
    """A dict, or JSON text of an object, as a dict; anything else ``None``."""
    if isinstance(value, dict):
        return value
    decoded = loads_json(value)
    return decoded if isinstance(decoded, dict) else None


# A string field: strings as is, absent stays ``None``, anything else as JSON text.
as_text = as_str


def as_int(value: Any) -> int | None:
    """An integer from an int, an integral float or numeric text; anything else ``None``."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        return int(value) if value.is_integer() else None
    if isinstance(value, str):
        try:
            number = float(value.strip())
        except ValueError:
            return None
        return int(number) if number.is_integer() else None
    return None


def as_number(value: Any) -> int | float | None:
    """A finite number from a number or numeric text (``"12"`` stays an int); else ``None``."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, str):
        text = value.strip()
        try:
            return int(text)
        except ValueError:
            pass
        try:
            number = float(text)
        except ValueError:
            return None
        return number if math.isfinite(number) else None
    return None


def as_bool(value: Any) -> bool | None:
    """``True``/``"true"`` → True, ``False``/``"false"`` → False (any case), else ``None``."""
    if isinstance(value, bool):
        return value
    if isinstance(value, str):
        lowered = value.strip().lower()
        if lowered in ("true", "false"):
            return lowered == "true"
    return None


def nanos_to_datetime(nanos: int) -> datetime | None:
    """Unix nanoseconds → aware UTC datetime truncated to ms; ``None`` for 0 or out of range."""
    if nanos <= 0:
        return None
    try:
        return _EPOCH + timedelta(milliseconds=nanos // 1_000_000)
    except OverflowError:
        return None


def after(start: datetime | None, seconds: float | None) -> datetime | None:
    """``start`` + a non-negative offset; ``None`` when either is missing or out of range."""
    if start is None or seconds is None or seconds < 0:
        return None
    try:
        return start + timedelta(seconds=seconds)
    except OverflowError:
        return None


def format_ms(value: datetime) -> str:
    """``2026-01-01T10:00:00.123Z`` (the value must be aware UTC)."""
    return value.isoformat(timespec="milliseconds")[:-6] + "Z"


def parse_time(value: Any) -> datetime | None:
    """An ISO-8601 time (or the JSON string of one, as SDK v5 sends) → aware UTC datetime."""
    if not isinstance(value, str) or not value:
        return None
    text = value.strip()
    if text.startswith('"'):
        decoded = loads_json(text)
        if not isinstance(decoded, str):
            return None
        text = decoded
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        return None
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


def unflatten(entries: dict[str, Any]) -> Any:
    """Dotted keys → nested values: ``{"0.role": "user"}`` → ``[{"role": "user"}]``.

    Levels whose keys are all digits become lists ordered by index (gaps closed), so the
    flattened message lists of Traceloop/OpenInference read as ordinary chat messages.
    """
    root: dict[str, Any] = {}
    for key, value in entries.items():
        node = root
        parts = key.split(".")
        for part in parts[:-1]:
            child = node.get(part)
            if not isinstance(child, dict):
                child = node[part] = {}
            node = child
        if not isinstance(node.get(parts[-1]), dict):
            node[parts[-1]] = value
    return _listify(root)


def _listify(node: Any) -> Any:
    if not isinstance(node, dict):
        return node
    items = {key: _listify(value) for key, value in node.items()}
    if items and all(key.isdigit() for key in items):
        return [items[key] for key in sorted(items, key=int)]
    return items


class AttributeReader:
    """Reads span attributes and records which keys were consumed.

    ``get``/``first``/``prefixed`` only return (and mark) meaningful values, so "first match
    wins" chains skip empty attributes the way Langfuse does; ``remaining`` is what no mapping
    used, kept in metadata. Prefix scans bisect a sorted key list (keys sharing a prefix are
    adjacent), so the many conventions a span does not use cost almost nothing.
    """

    __slots__ = ("_keys", "used", "values")

    def __init__(self, values: dict[str, Any]):
        self.values = values
        self.used: set[str] = set()
        self._keys: list[str] | None = None

    def _sorted_keys(self) -> list[str]:
        if self._keys is None:
            self._keys = sorted(self.values)
        return self._keys

    def _range(self, prefix: str) -> Iterator[str]:
        keys = self._sorted_keys()
        index = bisect_left(keys, prefix)
        while index < len(keys) and keys[index].startswith(prefix):
            yield keys[index]
            index += 1

    def has_namespace(self, namespace: str) -> bool:
        """Whether any key starts with ``namespace`` + ``.`` (cheap guard before prefix scans)."""
        keys = self._sorted_keys()
        prefix = namespace + "."
        index = bisect_left(keys, prefix)
        return index < len(keys) and keys[index].startswith(prefix)

    def peek(self, key: str) -> Any:
        """The meaningful value of ``key`` without marking it consumed."""
        value = self.values.get(key)
        return value if value is not None and meaningful(value) else None

    def get(self, key: str) -> Any:
        """The meaningful value of ``key`` (marked consumed) or ``None``."""
        value = self.values.get(key)
        if value is None or value == "" or (type(value) in _CONTAINERS and not value):
            return None
        self.used.add(key)
        return value

    def first(self, keys: Iterable[str]) -> Any:
        """The first meaningful value among ``keys`` (only that key is marked consumed)."""
        values = self.values
        for key in keys:
            value = values.get(key)
            if value is None or value == "" or (type(value) in _CONTAINERS and not value):
                continue
            self.used.add(key)
            return value
        return None

    def first_item(self, keys: Iterable[str]) -> tuple[str, Any] | None:
        """Like ``first`` but also says which key matched."""
        values = self.values
        for key in keys:
            value = values.get(key)
            if value is None or value == "" or (type(value) in _CONTAINERS and not value):
                continue
            self.used.add(key)
            return key, value
        return None

    def prefixed(self, prefix: str) -> dict[str, Any]:
        """``{suffix: value}`` of every meaningful ``<prefix><suffix>`` key, marked consumed."""
        found: dict[str, Any] = {}
        size = len(prefix)
        for key in self._range(prefix):
            value = self.values[key]
            if len(key) > size and meaningful(value):
                found[key[size:]] = value
                self.used.add(key)
        return found

    def mark(self, *keys: str) -> None:
        """Record keys as consumed (a mapping read them through ``peek``)."""
        self.used.update(keys)

    def remaining(self) -> dict[str, Any]:
        """Attributes no mapping consumed."""
        used = self.used
        return {key: value for key, value in self.values.items() if key not in used}
