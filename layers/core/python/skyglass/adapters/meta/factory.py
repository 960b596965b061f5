"""Build the metadata store for a URL (called by ``skyglass.bootstrap`` and the CLI)."""

from __future__ import annotations

from skyglass.adapters.meta.engine import normalise_url
from skyglass.adapters.meta.store import SqlMetaStore
from skyglass.errors import InvalidRequest

_SCHEMES = ("sqlite", "postgresql", "postgres")
DATA_API_SCHEME = "aurora-data-api"


def make_meta_store(url: str) -> SqlMetaStore:
    """A ``SqlMetaStore`` for an SQLite, PostgreSQL or Aurora Data API URL; no connection is opened yet.

    ``postgresql://`` is read as ``postgresql+psycopg://`` (psycopg 3 is the driver we ship);
    ``aurora-data-api://<database>?cluster_arn=…&secret_arn=…`` runs the same store over the RDS
    Data API (see ``adapters.meta.data_api``). Other schemes are a configuration error, reported
    before anything tries to connect.
    """
    scheme = url.split(":", 1)[0].lower()
    if scheme == DATA_API_SCHEME or scheme.endswith("+auroradataapi"):
        from skyglass.adapters.meta.data_api_dialect import register_dialect, sqlalchemy_url

        register_dialect()
        return SqlMetaStore(sqlalchemy_url(url) if scheme == DATA_API_SCHEME else url)
    if scheme.split("+", 1)[0] not in _SCHEMES:
        raise InvalidRequest(
            f"unsupported metadata store URL {url.split(':', 1)[0]!r}: use sqlite:///path, "
            f"postgresql://… or {DATA_API_SCHEME}://<database>?cluster_arn=…&secret_arn=…"
        )
    return SqlMetaStore(normalise_url(url))
