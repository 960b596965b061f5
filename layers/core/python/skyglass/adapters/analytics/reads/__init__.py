"""Read queries of the analytics store (traces, observations, sessions, scores)."""

from __future__ import annotations


class AnalyticsReadMixin:
    """Filled in by the read API; methods use ``self._ex`` (a SqlExecutor)."""
