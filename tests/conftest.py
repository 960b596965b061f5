"""Shared fixtures: see tests/support/ for the helpers they build on."""

from __future__ import annotations

pytest_plugins = ["tests.support.analytics", "tests.support.postgres"]
