"""Write half of the ClickHouse analytics store."""

from __future__ import annotations


class AnalyticsWriteMixin:
    """Implements ``ports.analytics.AnalyticsWriter`` with ``self._ex`` (a SqlExecutor)."""
