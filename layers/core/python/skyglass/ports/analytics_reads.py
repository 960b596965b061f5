"""Read half of the AnalyticsStore port (traces, observations, sessions, scores).

Owned by the query layer; query parameter objects live in ``skyglass.domain.queries``.
"""

from __future__ import annotations

from typing import Protocol


class AnalyticsReader(Protocol):
    """Filled in with the read API (see ``skyglass.query``)."""
