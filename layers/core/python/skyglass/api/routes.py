"""Every router of the public API, in one list (the manifest and both runtimes use it)."""

from __future__ import annotations

from typing import Any


def all_routers() -> list[Any]:
    from skyglass.api import (
        health,
        ingestion,
        models,
        observations,
        otel,
        projects,
        score_reads,
        scores,
        sessions,
        traces,
    )

    return [
        health.router,
        ingestion.router,
        otel.router,
        scores.router,
        score_reads.router,
        traces.router,
        observations.router,
        sessions.router,
        projects.router,
        models.router,
    ]
