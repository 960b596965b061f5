"""Authentication of public API requests: Basic ``public:secret`` or Bearer public key.

Verified credentials are cached in memory for ``ttl_seconds`` (keyed by a hash of the header),
so the hot ingest path does one dictionary lookup instead of a database read and a PBKDF2.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from skyglass.domain.keys import verify_secret
from skyglass.errors import Forbidden, Unauthorized
from skyglass.ports.meta import MetaStore

AccessLevel = Literal["project", "scores"]
_HINT = " Confirm that you've configured the correct host."


@dataclass(frozen=True, slots=True)
class ProjectScope:
    """Who is calling: every read and write is limited to ``project_id``."""

    project_id: str
    public_key: str
    access_level: AccessLevel


class Authenticator:
    def __init__(self, meta: MetaStore, pepper: str = "", ttl_seconds: float = 60.0):
        self._meta = meta
        self._pepper = pepper
        self._ttl = ttl_seconds
        self._cache: dict[str, tuple[float, ProjectScope]] = {}
        self._lock = threading.Lock()

    def authenticate(self, authorization: str | None, *, allow_bearer: bool = False) -> ProjectScope:
        """Scope for an ``Authorization`` header value; raises Unauthorized / Forbidden."""
        if not authorization:
            raise Unauthorized("No authorization header." + _HINT)
        scheme, _, credentials = authorization.strip().partition(" ")
        scheme = scheme.lower()
        if scheme == "basic":
            return self._cached(authorization, lambda: self._basic(credentials.strip()))
        if scheme == "bearer":
            if not allow_bearer:
                raise Forbidden("Access denied: a Bearer public key may only create scores; use Basic auth.")
            return self._cached(authorization, lambda: self._bearer(credentials.strip()))
        raise Unauthorized("Invalid authorization header: use Basic base64(public_key:secret_key)." + _HINT)

    def invalidate(self) -> None:
        """Forget every cached verification (after a key is revoked)."""
        with self._lock:
            self._cache.clear()

    def _cached(self, header: str, compute: Callable[[], ProjectScope]) -> ProjectScope:
        cache_key = hashlib.sha256(header.encode()).hexdigest()
        now = time.monotonic()
        with self._lock:
            hit = self._cache.get(cache_key)
        if hit and hit[0] > now:
            return hit[1]
        scope = compute()
        with self._lock:
            if len(self._cache) > 10_000:
                self._cache.clear()
            self._cache[cache_key] = (now + self._ttl, scope)
        return scope

    def _basic(self, credentials: str) -> ProjectScope:
        try:
            decoded = base64.b64decode(credentials, validate=True).decode()
        except (binascii.Error, UnicodeDecodeError) as exc:
            raise Unauthorized("Invalid Basic credentials: not base64." + _HINT) from exc
        public_key, sep, secret_key = decoded.partition(":")
        if not sep or not public_key or not secret_key:
            raise Unauthorized("Invalid Basic credentials: expected public_key:secret_key." + _HINT)
        key = self._meta.find_api_key(public_key)
        if (
            key is None
            or key.revoked_at is not None
            or not verify_secret(secret_key, key.secret_hash, self._pepper)
        ):
            raise Unauthorized("Invalid credentials." + _HINT)
        return ProjectScope(project_id=key.project_id, public_key=public_key, access_level="project")

    def _bearer(self, public_key: str) -> ProjectScope:
        key = self._meta.find_api_key(public_key)
        if key is None or key.revoked_at is not None:
            raise Unauthorized("Invalid public key." + _HINT)
        return ProjectScope(project_id=key.project_id, public_key=public_key, access_level="scores")
