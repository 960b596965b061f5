"""Environment names, normalised the way Langfuse does before anything is stored.

Lowercase, leading ``langfuse``/``langfuse-``/``langfuse_`` prefixes removed (repeatedly, so
``Langfuse-langfuse_prod`` → ``prod``; the prefix is reserved for internal use), truncated to 40
characters; anything that then is empty or not ``^[a-z0-9-_]+$`` becomes ``"default"``.
"""

from __future__ import annotations

import re

DEFAULT_ENVIRONMENT = "default"
MAX_LENGTH = 40

_VALID = re.compile(r"^[a-z0-9_-]+$")
_PREFIXES = ("langfuse-", "langfuse_", "langfuse")  # longest first: strip the separator too


def normalize_environment(value: object) -> str:
    """A storable environment name for any input (non-strings and ``None`` → ``"default"``)."""
    if not isinstance(value, str):
        return DEFAULT_ENVIRONMENT
    name = value.strip().lower()
    stripped = True
    while stripped:
        stripped = False
        for prefix in _PREFIXES:
            if name.startswith(prefix):
                name = name[len(prefix) :]
                stripped = True
                break
    name = name[:MAX_LENGTH]
    return name if name and _VALID.match(name) else DEFAULT_ENVIRONMENT
