"""The key projection as small JSON objects in a blob store: ``<sha256(public_key)>.json`` each.

On AWS the blob store is S3 (``SKYGLASS_KEYS_URL=s3://bucket/keys``, so objects are
``keys/<sha256>.json``) and the ingest Lambda authenticates with one ``GetObject`` (then the
Authenticator's in-memory cache), never touching Aurora; locally it can be a folder. Each object holds ``{project_id, public_key, secret_hash, revoked, …}``: the salted
hash of the secret, never the secret itself.

The ingest function needs ``s3:GetObject`` and ``s3:ListBucket`` on the bucket: without
``ListBucket`` S3 answers a missing object with 403, which would read as an outage (503) rather
than as an unknown key (401).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

from skyglass.errors import NotFound
from skyglass.ports.blob import BlobStore
from skyglass.ports.keys import entry_id
from skyglass.ports.meta import StoredApiKey

log = logging.getLogger(__name__)

_SUFFIX = ".json"
_VERSION = 1


def _time(value: Any) -> datetime | None:
    if not value:
        return None
    moment = datetime.fromisoformat(str(value))
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def encode_entry(key: StoredApiKey) -> bytes:
    """The JSON object of one key (no secret; ``display_secret_key`` is not needed to authenticate)."""
    entry = {
        "v": _VERSION,
        "id": key.id,
        "project_id": key.project_id,
        "public_key": key.public_key,
        "secret_hash": key.secret_hash,
        "revoked": key.revoked_at is not None,
        "revoked_at": key.revoked_at.isoformat() if key.revoked_at else None,
        "created_at": key.created_at.isoformat(),
    }
    return json.dumps(entry, separators=(",", ":"), sort_keys=True).encode()


def decode_entry(data: bytes) -> StoredApiKey:
    """A ``StoredApiKey`` from an entry; a revoked entry always has a ``revoked_at``."""
    entry = json.loads(data)
    revoked_at = _time(entry.get("revoked_at"))
    if entry.get("revoked") and revoked_at is None:
        revoked_at = datetime.fromtimestamp(0, tz=UTC)
    return StoredApiKey(
        id=str(entry.get("id") or ""),
        project_id=str(entry["project_id"]),
        public_key=str(entry["public_key"]),
        secret_hash=str(entry["secret_hash"]),
        display_secret_key="",
        created_at=_time(entry.get("created_at")) or datetime.fromtimestamp(0, tz=UTC),
        revoked_at=revoked_at,
    )


class BlobKeyProjection:
    """Implements ``ports.keys.KeyProjection`` over any ``BlobStore`` (S3 on AWS)."""

    def __init__(self, blobs: BlobStore):
        self._blobs = blobs

    @staticmethod
    def _name(entry: str) -> str:
        return f"{entry}{_SUFFIX}"

    def find_api_key(self, public_key: str) -> StoredApiKey | None:
        """The projected key, or None when unknown. Store failures raise ``StoreUnavailable``."""
        try:
            data = self._blobs.get(self._name(entry_id(public_key)))
        except NotFound:
            return None
        try:
            key = decode_entry(data)
        except (ValueError, KeyError, TypeError):
            # A damaged entry must not let anyone in; `skyglass keys sync` rewrites it.
            log.error("unreadable key projection entry for %s…; run `skyglass keys sync`", public_key[:12])
            return None
        return key if key.public_key == public_key else None

    def put(self, key: StoredApiKey) -> None:
        self._blobs.put(self._name(entry_id(key.public_key)), encode_entry(key))

    def remove(self, public_key: str) -> None:
        self.remove_entry(entry_id(public_key))

    def entry_ids(self) -> Iterator[str]:
        for name in self._blobs.list_keys():
            if name.endswith(_SUFFIX) and "/" not in name:
                yield name[: -len(_SUFFIX)]

    def remove_entry(self, entry: str) -> None:
        self._blobs.delete(self._name(entry))
