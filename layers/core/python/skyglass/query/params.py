"""Query-string parameters of the read endpoints, with typed getters that answer 400 by name.

Values come as (name, value) pairs in request order, so repeated parameters (``tags=a&tags=b``,
what the SDKs send for arrays) keep every value. A single value of a list parameter is split on
commas, as Langfuse does (``environment=a,b``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any
from urllib.parse import parse_qsl

from skyglass.domain.filters import parse_iso_datetime
from skyglass.domain.queries import PageRequest
from skyglass.errors import InvalidRequest


class QueryParams:
    def __init__(self, pairs: Iterable[tuple[str, str]] = ()):
        self._values: dict[str, list[str]] = {}
        for name, value in pairs:
            self._values.setdefault(name.removesuffix("[]"), []).append(value)

    @classmethod
    def from_query_string(cls, raw: str | None) -> QueryParams:
        return cls(parse_qsl(raw or "", keep_blank_values=True))

    @classmethod
    def from_event(cls, event: Mapping[str, Any]) -> QueryParams:
        """From an API Gateway v2 event: ``rawQueryString`` keeps repeated parameters."""
        raw = event.get("rawQueryString")
        if raw:
            return cls.from_query_string(raw)
        return cls((event.get("queryStringParameters") or {}).items())

    def get(self, name: str) -> str | None:
        """The first value, or None when the parameter is absent."""
        values = self._values.get(name)
        return values[0] if values else None

    def text(self, name: str) -> str | None:
        """Like ``get``, but an empty value counts as absent."""
        value = self.get(name)
        return value if value else None

    def many(self, name: str) -> list[str]:
        """Every value of a repeatable parameter; one value is split on commas; blanks dropped."""
        values = self._values.get(name) or []
        if len(values) == 1:
            values = values[0].split(",")
        return [v for v in (item.strip() for item in values) if v]

    def csv(self, name: str) -> list[str]:
        """A comma-separated list parameter (blanks dropped)."""
        return [v for v in (p.strip() for p in ",".join(self._values.get(name) or []).split(",")) if v]

    def integer(self, name: str, *, default: int, minimum: int, maximum: int | None = None) -> int:
        raw = self.text(name)
        if raw is None:
            return default
        try:
            value = int(raw)
        except ValueError:
            value = None
        if value is None or value < minimum or (maximum is not None and value > maximum):
            bound = f"between {minimum} and {maximum}" if maximum is not None else f">= {minimum}"
            raise InvalidRequest(f"Invalid {name} parameter {raw!r}: must be an integer {bound}.")
        return value

    def number(self, name: str) -> float | None:
        raw = self.text(name)
        if raw is None:
            return None
        try:
            value = float(raw)
        except ValueError:
            value = float("nan")
        if value != value or value in (float("inf"), float("-inf")):
            raise InvalidRequest(f"Invalid {name} parameter {raw!r}: must be a finite number.")
        return value

    def datetime(self, name: str) -> datetime | None:
        raw = self.text(name)
        if raw is None:
            return None
        value = parse_iso_datetime(raw)
        if value is None:
            raise InvalidRequest(
                f"Invalid {name} parameter {raw!r}: must be an ISO 8601 datetime, e.g. 2026-01-01T00:00:00Z."
            )
        return value

    def boolean(self, name: str) -> bool | None:
        raw = self.text(name)
        if raw is None:
            return None
        if raw.lower() not in ("true", "false"):
            raise InvalidRequest(f"Invalid {name} parameter {raw!r}: must be true or false.")
        return raw.lower() == "true"

    def choice(self, name: str, allowed: Iterable[str], *, upper: bool = False) -> str | None:
        raw = self.text(name)
        if raw is None:
            return None
        value = raw.upper() if upper else raw
        options = tuple(allowed)
        if value not in options:
            raise InvalidRequest(f"Invalid {name} parameter {raw!r}: must be one of {', '.join(options)}.")
        return value

    def page(self, *, max_limit: int = 100, default_limit: int = 50) -> PageRequest:
        """``page`` (≥ 1, default 1) and ``limit`` (1..max_limit, default 50)."""
        return PageRequest(
            page=self.integer("page", default=1, minimum=1),
            limit=self.integer("limit", default=default_limit, minimum=1, maximum=max_limit),
        )
