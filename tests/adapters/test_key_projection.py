"""The API-key projection: entries in S3 (moto) or a folder, kept in sync with the metadata store.

The ingest path authenticates against the projection only, so a paused (or absent) Aurora never
stands between an SDK and a 207; ``skyglass keys create/revoke/sync`` keep it in step.
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Iterator
from pathlib import Path
from typing import cast

import boto3
import pytest
from moto import mock_aws

from skyglass.adapters.blob.local import LocalBlobStore
from skyglass.adapters.blob.s3 import S3BlobStore
from skyglass.adapters.keys.blob_projection import BlobKeyProjection
from skyglass.adapters.meta.factory import make_meta_store
from skyglass.auth.keys import create_key_pair
from skyglass.auth.projection import (
    ProjectionOutOfDate,
    create_published_key_pair,
    revoke_published_key,
    sync_projection,
)
from skyglass.auth.service import Authenticator
from skyglass.errors import StoreUnavailable, Unauthorized
from skyglass.local.cli import main
from skyglass.ports.keys import entry_id
from skyglass.ports.meta import MetaStore
from tests.support.data_api import data_api_double
from tests.support.fakes import FakeBlobStore, FakeMetaStore

BUCKET = "skyglass-auth"


def basic(public_key: str, secret_key: str) -> str:
    return "Basic " + base64.b64encode(f"{public_key}:{secret_key}".encode()).decode()


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"):
        monkeypatch.setenv(name, "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    with mock_aws():
        yield


@pytest.fixture(params=["s3", "local"])
def projection(request: pytest.FixtureRequest, tmp_path: Path) -> BlobKeyProjection:
    if request.param == "local":
        return BlobKeyProjection(LocalBlobStore(tmp_path / "auth"))
    request.getfixturevalue("aws")
    client = boto3.client("s3")
    client.create_bucket(Bucket=BUCKET)
    return BlobKeyProjection(S3BlobStore(BUCKET, "keys", client=client))


def test_a_published_key_authenticates_without_the_metadata_store(projection: BlobKeyProjection):
    # Given a key created in the metadata store and published to the projection
    meta = FakeMetaStore()
    pair = create_published_key_pair(meta, projection, "web", pepper="pep")
    # When the ingest path authenticates against the projection alone (never the metadata store)
    auth = Authenticator(cast(MetaStore, projection), pepper="pep")
    scope = auth.authenticate(basic(pair.public_key, pair.secret_key))
    # Then the key maps to its project, and a wrong secret or unknown key is 401
    assert scope.project_id == pair.project.id and scope.access_level == "project"
    with pytest.raises(Unauthorized):
        auth.authenticate(basic(pair.public_key, "sk-sg-wrong"))
    with pytest.raises(Unauthorized):
        auth.authenticate(basic("pk-sg-unknown", pair.secret_key))


def test_an_entry_is_named_by_the_key_hash_and_never_holds_the_secret():
    # Given a key published to a blob store
    blobs = FakeBlobStore()
    meta = FakeMetaStore()
    pair = create_published_key_pair(meta, BlobKeyProjection(blobs), "web")
    # Then there is one object, <sha256(public key)>.json (under the keys URL's prefix)
    digest = hashlib.sha256(pair.public_key.encode()).hexdigest()
    assert list(blobs.blobs) == [f"{digest}.json"] and entry_id(pair.public_key) == digest
    entry = json.loads(blobs.blobs[f"{digest}.json"])
    # And it holds what authentication needs, the secret only as its salted hash
    assert entry["project_id"] == pair.project.id and entry["public_key"] == pair.public_key
    assert entry["secret_hash"].startswith("pbkdf2_sha256$") and entry["revoked"] is False
    raw = blobs.blobs[f"{digest}.json"].decode()
    assert pair.secret_key not in raw and pair.secret_key[-4:] not in raw


def test_a_revoked_key_is_refused_from_the_projection(projection: BlobKeyProjection):
    # Given a published key that is then revoked
    meta = FakeMetaStore()
    pair = create_published_key_pair(meta, projection, "web")
    assert revoke_published_key(meta, projection, pair.public_key) is True
    # Then the projection says so, and authentication refuses it
    found = projection.find_api_key(pair.public_key)
    assert found is not None and found.revoked_at is not None
    with pytest.raises(Unauthorized):
        Authenticator(cast(MetaStore, projection)).authenticate(basic(pair.public_key, pair.secret_key))
    # And revoking an unknown key changes nothing
    assert revoke_published_key(meta, projection, "pk-sg-unknown") is False


def test_sync_rebuilds_the_projection_and_drops_stale_entries(projection: BlobKeyProjection):
    # Given keys created without the projection (e.g. before it existed), and a stale entry
    meta = FakeMetaStore()
    first = create_key_pair(meta, "web")
    second = create_key_pair(meta, "batch")
    meta.revoke_api_key(second.public_key)
    ghost = create_published_key_pair(FakeMetaStore(), projection, "gone")
    assert projection.find_api_key(first.public_key) is None
    # When the projection is synced from the metadata store
    report = sync_projection(meta, projection)
    # Then every key is projected as it is, and the ghost's entry is gone
    assert (report.written, report.removed) == (2, 1)
    assert projection.find_api_key(first.public_key) is not None
    revoked = projection.find_api_key(second.public_key)
    assert revoked is not None and revoked.revoked_at is not None
    assert projection.find_api_key(ghost.public_key) is None
    assert sorted(projection.entry_ids()) == sorted(entry_id(p.public_key) for p in (first, second))
    # And a second sync is a no-op
    assert sync_projection(meta, projection) == report.__class__(written=2, removed=0)


def test_a_damaged_entry_lets_nobody_in():
    # Given a projected key whose object was overwritten with garbage
    blobs = FakeBlobStore()
    projection = BlobKeyProjection(blobs)
    pair = create_published_key_pair(FakeMetaStore(), projection, "web")
    blobs.blobs[f"{entry_id(pair.public_key)}.json"] = b"{not json"
    # Then the key reads as unknown (401), not as an error
    assert projection.find_api_key(pair.public_key) is None


def test_a_failed_projection_write_keeps_the_key_and_says_to_sync():
    # Given a projection whose store is down
    class DownBlobs(FakeBlobStore):
        def put(self, key: str, data: bytes) -> None:
            raise StoreUnavailable("S3 put failed")

    meta = FakeMetaStore()
    # When a key is created
    with pytest.raises(ProjectionOutOfDate, match="keys sync") as info:
        create_published_key_pair(meta, BlobKeyProjection(DownBlobs()), "web", public_key="pk-sg-1")
    # Then the key is in the metadata store (the source of truth) and the error is retryable
    assert meta.find_api_key("pk-sg-1") is not None
    assert info.value.status == 503


def test_without_a_projection_key_management_is_unchanged():
    meta = FakeMetaStore()
    pair = create_published_key_pair(meta, None, "web")
    assert revoke_published_key(meta, None, pair.public_key) is True
    stored = meta.find_api_key(pair.public_key)
    assert stored is not None and stored.revoked_at is not None


@pytest.mark.postgres
def test_cli_manages_keys_of_a_deployed_stack(
    aws: None, fresh_postgres_url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
):
    # Given a "deployed stack": Aurora (the Data API double) migrated at deploy, and an S3 bucket
    boto3.client("s3").create_bucket(Bucket=BUCKET)
    with data_api_double(fresh_postgres_url) as fake:
        deployed = make_meta_store(fake.url)
        deployed.migrate()
        monkeypatch.setenv("SKYGLASS_META_URL", fake.url)
        monkeypatch.setenv("SKYGLASS_KEYS_URL", f"s3://{BUCKET}/keys")
        # When an operator creates a key with the CLI, configured by the same environment
        assert main(["keys", "create", "--project", "shop", "--public-key", "pk-sg-ops"]) == 0
        secret = next(
            line.split("=", 1)[1] for line in capsys.readouterr().out.splitlines() if "SECRET" in line
        )
        # Then Aurora has the key and the projection authenticates it
        assert deployed.find_api_key("pk-sg-ops") is not None
        projection = BlobKeyProjection(S3BlobStore(BUCKET, "keys", client=boto3.client("s3")))
        assert [o["Key"] for o in boto3.client("s3").list_objects_v2(Bucket=BUCKET)["Contents"]] == [
            f"keys/{entry_id('pk-sg-ops')}.json"
        ]
        scope = Authenticator(cast(MetaStore, projection)).authenticate(basic("pk-sg-ops", secret))
        assert scope.project_id == deployed.find_project_by_name("shop").id  # type: ignore[union-attr]
        # When the projection is lost and re-synced, then revoked through the CLI
        projection.remove("pk-sg-ops")
        assert main(["keys", "sync"]) == 0
        assert projection.find_api_key("pk-sg-ops") is not None
        assert main(["keys", "revoke", "pk-sg-ops"]) == 0
        # Then both sides say revoked
        assert deployed.find_api_key("pk-sg-ops").revoked_at is not None  # type: ignore[union-attr]
        assert projection.find_api_key("pk-sg-ops").revoked_at is not None  # type: ignore[union-attr]
        deployed.close()
