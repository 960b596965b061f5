"""Time parsing for ingested events: ISO-8601 text → aware UTC ``datetime`` at millisecond precision.

Every stored time is ``DateTime64(3, 'UTC')``, so values are truncated to milliseconds here, once,
rather than by the engine: a merge that compares times must compare what will be stored.
"""

from __future__ import annotations

from datetime import UTC, datetime


def to_ms(value: datetime) -> datetime:
    """``value`` as aware UTC truncated to milliseconds (naive values are taken to be UTC)."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    elif value.tzinfo is not UTC:
        value = value.astimezone(UTC)
    micro = value.microsecond
    return value if micro % 1000 == 0 else value.replace(microsecond=micro - micro % 1000)


def parse_iso(value: str) -> datetime:
    """Parse ISO-8601 (``Z`` or ``±hh:mm`` offset, any number of fraction digits) to UTC ms.

    Raises ``ValueError`` for text that is not a date-time. Text without an offset is taken as
    UTC: the API requires an offset, so this only matters for rows written by older code.
    """
    if not isinstance(value, str):
        raise ValueError(f"not an ISO-8601 string: {value!r}")
    return to_ms(datetime.fromisoformat(value.strip()))


def parse_optional(value: object) -> datetime | None:
    """``parse_iso`` for optional body fields: absent, empty or unparseable values give ``None``.

    Bodies were validated by the API; tolerating a bad optional field here keeps one odd event
    from blocking every later rebuild of its entity.
    """
    if not value or not isinstance(value, str):
        return None
    try:
        return parse_iso(value)
    except ValueError:
        return None


def format_iso(value: datetime) -> str:
    """``2026-01-01T10:00:00.123Z`` — the wire form of a stored time."""
    value = to_ms(value)
    return value.strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}Z"
