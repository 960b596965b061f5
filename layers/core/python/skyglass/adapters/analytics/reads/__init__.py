"""Read queries of the analytics store (traces, observations, sessions, scores).

Every statement reads with ``FINAL`` (the newest version of each row, deleted rows dropped) and
also filters ``is_deleted = 0``; reads by key put the key conditions in PREWHERE (``lookups``); every statement is scoped to one project; every value is a bound
parameter (see ``params``).
"""

from __future__ import annotations

from skyglass.adapters.analytics.reads.observations import ObservationReads
from skyglass.adapters.analytics.reads.scores import ScoreReads
from skyglass.adapters.analytics.reads.sessions import SessionReads
from skyglass.adapters.analytics.reads.traces import TraceReads


class AnalyticsReadMixin(TraceReads, ObservationReads, SessionReads, ScoreReads):
    """Implements ``ports.analytics_reads.AnalyticsReader``; methods use ``self._ex`` (a SqlExecutor)."""
