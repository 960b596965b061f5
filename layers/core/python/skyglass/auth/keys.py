"""Key management use cases: create a key pair for a project (idempotently), revoke a key.

Called by the CLI (``skyglass keys create``), headless init at start and, later, the
organisation-key API. Secrets are only ever stored hashed (``domain.keys``); the plain secret
exists in the ``CreatedKeyPair`` returned here and nowhere else.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime

from skyglass.domain.keys import (
    display_secret,
    hash_secret,
    new_public_key,
    new_secret_key,
    verify_secret,
)
from skyglass.errors import Conflict, InvalidRequest
from skyglass.ports.meta import MetaStore, Project, StoredApiKey

_MAX_KEY_LENGTH = 255


@dataclass(frozen=True, slots=True)
class CreatedKeyPair:
    """A usable key pair. ``created`` is False when an identical pair already existed."""

    public_key: str
    secret_key: str
    project: Project
    created: bool = True


def _check_key(value: str, what: str, *, allow_colon: bool) -> str:
    # Basic auth splits "public:secret" at the first colon, so a public key must not contain one.
    if not value or len(value) > _MAX_KEY_LENGTH or any(ch.isspace() for ch in value):
        raise InvalidRequest(f"invalid {what}: 1 to {_MAX_KEY_LENGTH} characters without spaces")
    if not allow_colon and ":" in value:
        raise InvalidRequest(f"invalid {what}: it must not contain ':'")
    return value


def _same_pair(existing: StoredApiKey, secret_key: str, project: Project, pepper: str) -> bool:
    """Whether ``existing`` is this very pair; Conflict when the public key is used otherwise."""
    if not verify_secret(secret_key, existing.secret_hash, pepper):
        raise Conflict(f"public key {existing.public_key} already exists with a different secret key")
    if existing.project_id != project.id:
        raise Conflict(f"public key {existing.public_key} already belongs to another project")
    if existing.revoked_at is not None:
        raise Conflict(f"public key {existing.public_key} was revoked; choose a new key pair")
    return True


def create_key_pair(
    meta: MetaStore,
    project_name: str,
    *,
    org_name: str = "default",
    public_key: str | None = None,
    secret_key: str | None = None,
    note: str | None = None,
    pepper: str = "",
) -> CreatedKeyPair:
    """Create a key pair for ``org_name``/``project_name``, creating both if missing.

    Keys not given are generated. Re-creating an existing pair (same public key, same secret,
    same project) returns it with ``created=False``, so headless init can run at every start;
    the same public key with another secret (or project, or revoked) is a ``Conflict``.
    """
    if not project_name.strip() or not org_name.strip():
        raise InvalidRequest("organization and project names must not be empty")
    public_key = _check_key(public_key or new_public_key(), "public key", allow_colon=False)
    secret_key = _check_key(secret_key or new_secret_key(), "secret key", allow_colon=True)
    org = meta.ensure_organization(org_name.strip())
    project = meta.ensure_project(org.id, project_name.strip())

    existing = meta.find_api_key(public_key)
    if existing is not None and _same_pair(existing, secret_key, project, pepper):
        return CreatedKeyPair(public_key, secret_key, project, created=False)
    stored = StoredApiKey(
        id=uuid.uuid4().hex,
        project_id=project.id,
        public_key=public_key,
        secret_hash=hash_secret(secret_key, pepper),
        display_secret_key=display_secret(secret_key),
        created_at=datetime.now(UTC),
        note=note,
    )
    try:
        meta.add_api_key(stored)
    except Conflict:
        # Another process inserted this public key since we looked: same pair is fine.
        raced = meta.find_api_key(public_key)
        if raced is None:
            raise
        _same_pair(raced, secret_key, project, pepper)
        return CreatedKeyPair(public_key, secret_key, project, created=False)
    return CreatedKeyPair(public_key, secret_key, project, created=True)


def revoke_key(meta: MetaStore, public_key: str) -> bool:
    """Revoke a key so it no longer authenticates; False when there is no such key.

    Revoking an already revoked key is True and keeps the first revocation time. Servers cache
    verified keys for ``api_key_cache_seconds``: a revocation made in another process takes
    effect there when that cache expires (in-process callers should also call
    ``Authenticator.invalidate``).
    """
    return meta.revoke_api_key(public_key)


def active_keys(meta: MetaStore, project_id: str) -> list[StoredApiKey]:
    """The project's keys that still authenticate, oldest first."""
    return [key for key in meta.list_api_keys(project_id) if key.revoked_at is None]
