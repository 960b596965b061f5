"""KeyProjection port: a read-optimised copy of the API keys that the ingest path checks.

Aurora (the metadata store) is the source of truth but may be paused; the ingest path must never
wait for it to resume. So every key create/revoke also writes a small projection entry (on AWS one
S3 object per key) holding what authentication needs: the project, the public key, the secret's
salted hash (never the secret) and whether the key is revoked. ``skyglass keys sync`` rebuilds
the projection from the metadata store.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from typing import Protocol

from skyglass.ports.meta import StoredApiKey


def entry_id(public_key: str) -> str:
    """The projection entry of a public key: its SHA-256, so entry names reveal no key."""
    return hashlib.sha256(public_key.encode()).hexdigest()


class ApiKeyLookup(Protocol):
    """What authentication reads: the metadata store and the projection both provide it."""

    def find_api_key(self, public_key: str) -> StoredApiKey | None:
        """The key with this public key (revoked ones included: callers check ``revoked_at``)."""


class KeyProjection(ApiKeyLookup, Protocol):
    def put(self, key: StoredApiKey) -> None:
        """Write (or overwrite) the entry of ``key``; durable when it returns."""

    def remove(self, public_key: str) -> None:
        """Drop the entry of a public key; absent entries are ignored."""

    def entry_ids(self) -> Iterator[str]:
        """Every entry, as ``entry_id(public_key)``."""

    def remove_entry(self, entry: str) -> None:
        """Drop an entry by its id (for entries whose key no longer exists)."""
