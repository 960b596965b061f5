"""Authenticator: Basic and Bearer rules, the verification cache and its invalidation."""

from __future__ import annotations

import base64
import uuid
from datetime import UTC, datetime

import pytest

from skyglass.auth.service import Authenticator
from skyglass.domain.keys import display_secret, hash_secret, new_public_key, new_secret_key
from skyglass.errors import Forbidden, Unauthorized
from skyglass.ports.meta import StoredApiKey
from tests.support.api import basic_auth
from tests.support.fakes import FakeMetaStore


class CountingMetaStore(FakeMetaStore):
    """Counts key lookups, to tell a cache hit from a database read."""

    def __init__(self) -> None:
        super().__init__()
        self.lookups = 0

    def find_api_key(self, public_key: str) -> StoredApiKey | None:
        self.lookups += 1
        return super().find_api_key(public_key)


def add_key(
    meta: FakeMetaStore,
    project_id: str = "p1",
    pepper: str = "",
    *,
    public: str | None = None,
    secret: str | None = None,
) -> tuple[str, str]:
    public, secret = public or new_public_key(), secret or new_secret_key()
    meta.add_api_key(
        StoredApiKey(
            id=uuid.uuid4().hex,
            project_id=project_id,
            public_key=public,
            secret_hash=hash_secret(secret, pepper),
            display_secret_key=display_secret(secret),
            created_at=datetime.now(UTC),
        )
    )
    return public, secret


@pytest.fixture
def meta() -> CountingMetaStore:
    return CountingMetaStore()


def test_basic_auth_gives_a_project_scope(meta: CountingMetaStore):
    # Given a stored key pair
    public, secret = add_key(meta, "proj-1")
    # When it authenticates with Basic
    scope = Authenticator(meta).authenticate(basic_auth(public, secret))
    # Then the scope is the key's project with full project access
    assert (scope.project_id, scope.public_key, scope.access_level) == ("proj-1", public, "project")


def test_scheme_is_case_insensitive_and_secret_may_contain_colons(meta: CountingMetaStore):
    # Given a secret containing colons (Basic splits at the first one only)
    public, secret = add_key(meta, secret="sk:with:colons")
    # Then a lower-case scheme with that secret authenticates
    header = "basic " + base64.b64encode(f"{public}:{secret}".encode()).decode()
    assert Authenticator(meta).authenticate(header).public_key == public


def test_a_cache_hit_avoids_a_second_lookup(meta: CountingMetaStore):
    # Given a key verified once
    public, secret = add_key(meta)
    auth = Authenticator(meta, ttl_seconds=60)
    first = auth.authenticate(basic_auth(public, secret))
    assert meta.lookups == 1
    # When the same header comes again
    second = auth.authenticate(basic_auth(public, secret))
    # Then the cached scope answers without touching the store
    assert second == first
    assert meta.lookups == 1


def test_a_zero_ttl_never_serves_from_the_cache(meta: CountingMetaStore):
    public, secret = add_key(meta)
    auth = Authenticator(meta, ttl_seconds=0)
    auth.authenticate(basic_auth(public, secret))
    auth.authenticate(basic_auth(public, secret))
    assert meta.lookups == 2


def test_invalidate_makes_a_revocation_effective_at_once(meta: CountingMetaStore):
    # Given a cached verification of a key that is then revoked
    public, secret = add_key(meta)
    auth = Authenticator(meta)
    auth.authenticate(basic_auth(public, secret))
    meta.revoke_api_key(public)
    # Then the cache still answers until invalidated (by design: no store read per request)
    assert auth.authenticate(basic_auth(public, secret)).public_key == public
    # When the cache is invalidated
    auth.invalidate()
    # Then the revoked key is refused, after a fresh lookup
    with pytest.raises(Unauthorized):
        auth.authenticate(basic_auth(public, secret))
    assert meta.lookups == 2


def test_failures_are_not_cached(meta: CountingMetaStore):
    # Given a header for a key that does not exist yet
    public, secret = new_public_key(), new_secret_key()
    auth = Authenticator(meta)
    with pytest.raises(Unauthorized):
        auth.authenticate(basic_auth(public, secret))
    # When the key is created afterwards with that very secret
    add_key(meta, public=public, secret=secret)
    # Then the same header now authenticates
    assert auth.authenticate(basic_auth(public, secret)).public_key == public


@pytest.mark.parametrize(
    ("header", "message"),
    [
        (None, "No authorization header"),
        ("", "No authorization header"),
        ("Token abc", "Invalid authorization header"),
        ("Basic %%%", "not base64"),
        ("Basic " + base64.b64encode(b"no-colon").decode(), "expected public_key:secret_key"),
        ("Basic " + base64.b64encode(b"pk:").decode(), "expected public_key:secret_key"),
    ],
)
def test_malformed_headers_are_unauthorized_with_the_host_hint(
    meta: CountingMetaStore, header: str | None, message: str
):
    with pytest.raises(Unauthorized) as info:
        Authenticator(meta).authenticate(header)
    assert message in info.value.message
    assert info.value.message.endswith("Confirm that you've configured the correct host.")
    assert info.value.status == 401


def test_wrong_secret_unknown_key_and_wrong_pepper_are_unauthorized(meta: CountingMetaStore):
    public, secret = add_key(meta, pepper="pepper")
    with pytest.raises(Unauthorized):
        Authenticator(meta, pepper="pepper").authenticate(basic_auth(public, "sk-sg-wrong"))
    with pytest.raises(Unauthorized):
        Authenticator(meta, pepper="pepper").authenticate(basic_auth(new_public_key(), secret))
    with pytest.raises(Unauthorized):
        Authenticator(meta, pepper="other").authenticate(basic_auth(public, secret))
    assert Authenticator(meta, pepper="pepper").authenticate(basic_auth(public, secret)).project_id == "p1"


def test_bearer_is_forbidden_unless_the_route_allows_it(meta: CountingMetaStore):
    # Given a stored key
    public, _ = add_key(meta, "proj-2")
    auth = Authenticator(meta)
    # When a Bearer public key is used on a route that does not allow it
    # Then 403, before any lookup
    with pytest.raises(Forbidden):
        auth.authenticate(f"Bearer {public}")
    assert meta.lookups == 0
    # When the route allows it (POST /scores)
    scope = auth.authenticate(f"Bearer {public}", allow_bearer=True)
    # Then the scope is limited to scores
    assert (scope.project_id, scope.access_level) == ("proj-2", "scores")
    # And a cached Bearer scope is still refused on a Basic-only route
    with pytest.raises(Forbidden):
        auth.authenticate(f"Bearer {public}")


def test_unknown_or_revoked_bearer_key_is_unauthorized(meta: CountingMetaStore):
    public, _ = add_key(meta)
    meta.revoke_api_key(public)
    auth = Authenticator(meta)
    with pytest.raises(Unauthorized):
        auth.authenticate(f"Bearer {public}", allow_bearer=True)
    with pytest.raises(Unauthorized):
        auth.authenticate(f"Bearer {new_public_key()}", allow_bearer=True)
    with pytest.raises(Unauthorized):
        auth.authenticate("Bearer ", allow_bearer=True)
