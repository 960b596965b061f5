"""Build the metadata store for a URL (called by ``skyglass.bootstrap`` and the CLI)."""

from __future__ import annotations

from skyglass.adapters.meta.engine import normalise_url
from skyglass.adapters.meta.store import SqlMetaStore
from skyglass.errors import InvalidRequest

_SCHEMES = ("sqlite", "postgresql", "postgres")


def make_meta_store(url: str) -> SqlMetaStore:
    """A ``SqlMetaStore`` for an SQLite or PostgreSQL URL; no connection is opened yet.

    ``postgresql://`` is read as ``postgresql+psycopg://`` (psycopg 3 is the driver we ship).
    Other schemes are a configuration error, reported before anything tries to connect.
    """
    scheme = url.split(":", 1)[0].split("+", 1)[0].lower()
    if scheme not in _SCHEMES:
        raise InvalidRequest(
            f"unsupported metadata store URL {url.split(':', 1)[0]!r}: use sqlite:///path or postgresql://…"
        )
    return SqlMetaStore(normalise_url(url))
