"""The analytics store: ClickHouse SQL over an executor (chDB embedded or a ClickHouse server)."""

from __future__ import annotations

from skyglass.adapters.analytics.executor import SqlExecutor
from skyglass.adapters.analytics.reads import AnalyticsReadMixin
from skyglass.adapters.analytics.writer import AnalyticsWriteMixin


class ClickHouseAnalyticsStore(AnalyticsWriteMixin, AnalyticsReadMixin):
    """Implements ``ports.analytics.AnalyticsStore``; the engine is the executor's business."""

    def __init__(self, executor: SqlExecutor):
        self._ex = executor

    @property
    def executor(self) -> SqlExecutor:
        return self._ex
