"""Keep the key projection in step with the metadata store (the source of truth).

Key changes write the metadata store first and then the projection: if the projection write
fails the change stands in the metadata store and the caller is told to run ``skyglass keys sync``
(``ProjectionOutOfDate``), which rewrites every entry from the metadata store and drops entries
of keys that no longer exist. Revoked keys stay projected, marked revoked, so they fail fast.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from skyglass.auth.keys import CreatedKeyPair, create_key_pair, revoke_key
from skyglass.errors import StoreUnavailable
from skyglass.ports.keys import KeyProjection, entry_id
from skyglass.ports.meta import MetaStore

log = logging.getLogger(__name__)


class ProjectionOutOfDate(StoreUnavailable):
    """The metadata store changed but the projection could not be updated: run ``keys sync``."""


@dataclass(frozen=True, slots=True)
class SyncReport:
    """What ``sync_projection`` did: entries written and stale entries removed."""

    written: int
    removed: int


def publish_key(meta: MetaStore, projection: KeyProjection, public_key: str) -> None:
    """Copy one key's current state from the metadata store into the projection."""
    key = meta.find_api_key(public_key)
    try:
        if key is None:
            projection.remove(public_key)
        else:
            projection.put(key)
    except StoreUnavailable as exc:
        raise ProjectionOutOfDate(
            f"key {public_key} is saved but the key projection could not be updated ({exc.message}); "
            "run `skyglass keys sync`"
        ) from exc


def create_published_key_pair(
    meta: MetaStore, projection: KeyProjection | None, project_name: str, **options: Any
) -> CreatedKeyPair:
    """``auth.keys.create_key_pair``, then the projection entry (when there is a projection)."""
    pair = create_key_pair(meta, project_name, **options)
    if projection is not None:
        publish_key(meta, projection, pair.public_key)
    return pair


def revoke_published_key(meta: MetaStore, projection: KeyProjection | None, public_key: str) -> bool:
    """``auth.keys.revoke_key``, then mark the projection entry revoked (when there is a projection)."""
    revoked = revoke_key(meta, public_key)
    if revoked and projection is not None:
        publish_key(meta, projection, public_key)
    return revoked


def sync_projection(meta: MetaStore, projection: KeyProjection) -> SyncReport:
    """Rebuild the projection from the metadata store: write every key, drop unknown entries.

    Idempotent; safe while the platform runs (each entry is replaced whole).
    """
    live: set[str] = set()
    for project in meta.list_projects():
        for key in meta.list_api_keys(project.id):
            projection.put(key)
            live.add(entry_id(key.public_key))
    stale = [entry for entry in projection.entry_ids() if entry not in live]
    for entry in stale:
        projection.remove_entry(entry)
    if stale:
        log.info("key projection: removed %d entries of keys that no longer exist", len(stale))
    return SyncReport(written=len(live), removed=len(stale))
