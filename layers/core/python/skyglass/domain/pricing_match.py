"""Which priced model a generation's ``model`` string refers to (compat §7.2 step 1).

Langfuse evaluates ``model ~ match_pattern`` in PostgreSQL, whose patterns carry embedded
options such as a leading ``(?i)``. Python's ``re`` accepts a global flag only at the very start of
a pattern, so every ``(?i)`` is lifted out and turned into ``re.IGNORECASE``; matching is a search
(unanchored unless the pattern anchors itself), as PostgreSQL's ``~`` is.

Patterns are compiled once per distinct pattern string (cached), whether they come from the
shipped table or from project models.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime

from skyglass.domain.pricing_models import ModelPrice

# An embedded case-insensitive flag group anywhere in the pattern, not escaped as ``\(``.
_INLINE_IGNORECASE = re.compile(r"(?<!\\)\(\?i\)")


@functools.lru_cache(maxsize=4096)
def compile_pattern(pattern: str) -> re.Pattern[str] | None:
    """``pattern`` as a Python regex, or ``None`` when it does not compile (never matches)."""
    flags = 0
    if _INLINE_IGNORECASE.search(pattern):
        flags = re.IGNORECASE
        pattern = _INLINE_IGNORECASE.sub("", pattern)
    try:
        return re.compile(pattern, flags)
    except re.error:
        return None


def pattern_matches(pattern: str, model_name: str) -> bool:
    """Whether ``model_name`` matches a (PostgreSQL-flavoured) match pattern."""
    compiled = compile_pattern(pattern)
    return compiled is not None and compiled.search(model_name) is not None


def _as_utc(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value


def _best(model_name: str, models: Iterable[ModelPrice], at: datetime) -> ModelPrice | None:
    """The matching model with the latest ``start_date`` not after ``at`` (undated ones last).

    Ties keep the first in iteration order, so the result is deterministic.
    """
    best: ModelPrice | None = None
    best_key: datetime | None = None
    for model in models:
        start = _as_utc(model.start_date) if model.start_date is not None else None
        if start is not None and start > at:
            continue
        if not pattern_matches(model.match_pattern, model_name):
            continue
        if best is None or (start is not None and (best_key is None or start > best_key)):
            best, best_key = model, start
    return best


def match_model(
    model_name: str | None,
    models: Sequence[ModelPrice],
    *,
    project_models: Sequence[ModelPrice] = (),
    at: datetime | None = None,
) -> ModelPrice | None:
    """The priced model for ``model_name``, or ``None``.

    Project-specific models win over the defaults (a project overrides a managed price by
    defining a model with a matching pattern); within each group the latest ``start_date`` that
    is not after ``at`` wins, undated models coming last. ``at`` defaults to now; pass the
    observation's start time to price historic generations with the prices of their day.
    """
    if not model_name:
        return None
    moment = _as_utc(at) if at is not None else datetime.now(UTC)
    return _best(model_name, project_models, moment) or _best(model_name, models, moment)
