"""Environment normalisation (compat §1)."""

from __future__ import annotations

from typing import Any

import pytest

from skyglass.domain.environment import normalize_environment


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("production", "production"),
        ("Staging", "staging"),
        ("langfuse-prod", "prod"),
        ("langfuse_prod", "prod"),
        ("langfuseprod", "prod"),
        ("Langfuse-langfuse_LANGFUSEdev", "dev"),
        ("langfuse", "default"),
        ("", "default"),
        ("has space", "default"),
        ("ümlaut", "default"),
        ("a" * 50, "a" * 40),
        ("ok_name-1", "ok_name-1"),
        (None, "default"),
        (42, "default"),
    ],
)
def test_normalize_environment(raw: Any, expected: str) -> None:
    assert normalize_environment(raw) == expected
