"""BlobStore contract, run against every backend: local folder, S3 (moto) and the test fake."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto import mock_aws

from skyglass.adapters.blob.factory import make_blob_store
from skyglass.adapters.blob.local import LocalBlobStore
from skyglass.adapters.blob.s3 import S3BlobStore
from skyglass.errors import Conflict, InvalidRequest, NotFound, StoreUnavailable
from skyglass.ports.blob import BlobStore
from tests.support.fakes import FakeBlobStore

BUCKET = "skyglass-raw"


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
    }.items():
        monkeypatch.setenv(name, value)
    with mock_aws():
        yield


@pytest.fixture
def s3_client(aws: None) -> Any:
    client = boto3.client("s3", region_name="us-east-1")
    client.create_bucket(Bucket=BUCKET)
    return client


@pytest.fixture(params=["local", "s3", "fake"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> BlobStore:
    if request.param == "local":
        return LocalBlobStore(tmp_path / "blobs")
    if request.param == "s3":
        return S3BlobStore(BUCKET, prefix="tenant/raw-log", client=request.getfixturevalue("s3_client"))
    return FakeBlobStore()


def test_put_then_get_returns_the_same_bytes(store: BlobStore) -> None:
    # Given a binary payload of 1 MiB
    data = os.urandom(1024 * 1024)
    # When it is stored
    store.put("raw/2024/05/01/10/0001714557600000-otel-p1-abc.json", data)
    # Then reading the key returns exactly those bytes
    assert store.get("raw/2024/05/01/10/0001714557600000-otel-p1-abc.json") == data


def test_put_overwrites(store: BlobStore) -> None:
    # Given a stored blob
    store.put("a/b.json", b"old")
    # When the same key is written again
    store.put("a/b.json", b"new")
    # Then the new content wins
    assert store.get("a/b.json") == b"new"


def test_get_missing_raises_not_found(store: BlobStore) -> None:
    # Given an empty store / When a missing key is read / Then NotFound (a 404, not a 503)
    with pytest.raises(NotFound):
        store.get("raw/nothing/here.json")


def test_delete_removes_and_ignores_absent_keys(store: BlobStore) -> None:
    # Given one stored blob
    store.put("x/y.json", b"1")
    # When it is deleted, twice, and an unknown key is deleted
    store.delete("x/y.json")
    store.delete("x/y.json")
    store.delete("never/was.json")
    # Then it is gone and nothing failed
    with pytest.raises(NotFound):
        store.get("x/y.json")
    assert list(store.list_keys()) == []


TRICKY_KEYS = [
    "a/b",
    "a-c",
    "a.d",
    "a/c/d",
    "a/c-e",
    "a0",
    "raw/2024/05/01/09/0001714554000000-ingestion-p-1.json",
    "raw/2024/05/01/10/0001714557600000-otel-p-2.json",
    "raw/2024/05/01/10/0001714557600001-otel-p-3.json",
    "raw/2024/05/02/00/0001714608000000-otel-q-4.json",
    "raw/2024/06/01/00/0001717200000000-otel-q-5.json",
    "zeta",
]


def test_list_keys_is_lexicographic_across_folders(store: BlobStore) -> None:
    # Given keys whose folder/file names interleave ('-' and '.' sort before '/')
    for key in reversed(TRICKY_KEYS):
        store.put(key, key.encode())
    # When all keys are listed
    listed = list(store.list_keys())
    # Then they come back in plain string order
    assert listed == sorted(TRICKY_KEYS)


@pytest.mark.parametrize(
    ("prefix", "start_after"),
    [
        ("raw/", None),
        ("raw/2024/05/", None),
        ("raw/2024/05/01/10/", None),
        ("raw/2024/0", None),  # a prefix that ends inside a folder name
        ("a", None),
        ("a/", None),
        ("", "a/b"),
        ("", "a/c"),
        ("a/c", None),
        ("raw/", "raw/2024/05/01/10/0001714557600000"),  # a position between keys
        ("raw/", "raw/2024/05/01/10/"),
        ("raw/2024/05/", "raw/2024/05/01/10/0001714557600001-otel-p-3.json"),  # an existing key
        ("raw/", "raw/2024/05/9"),  # after every May key
        ("raw/", "a"),  # before the prefix
        ("nothing/", None),
        ("../", None),
    ],
)
def test_list_keys_filters_by_prefix_and_start_after(
    store: BlobStore, prefix: str, start_after: str | None
) -> None:
    # Given the tricky keys
    for key in TRICKY_KEYS:
        store.put(key, b"x")
    # When listing with a prefix and a start position
    listed = list(store.list_keys(prefix, start_after=start_after))
    # Then exactly the keys under the prefix strictly after the position come back, in order
    expected = sorted(
        k for k in TRICKY_KEYS if k.startswith(prefix) and (start_after is None or k > start_after)
    )
    assert listed == expected


# --- local folder specifics ---------------------------------------------------------------


@pytest.mark.parametrize(
    "key", ["", "/abs/key", "../escape", "a/../../b", "a//b", "a/./b", "a/.hidden", "a\\b"]
)
def test_local_rejects_keys_that_could_escape_the_root(tmp_path: Path, key: str) -> None:
    # Given a local store
    store = LocalBlobStore(tmp_path / "blobs")
    # When a malformed key is used / Then it is refused as a bad request, for writes and reads
    with pytest.raises(InvalidRequest):
        store.put(key, b"x")
    with pytest.raises(InvalidRequest):
        store.get(key)
    assert not (tmp_path / "escape").exists()


def test_local_refuses_a_key_that_would_be_both_file_and_folder(tmp_path: Path) -> None:
    # Given a local store holding "a/b"
    store = LocalBlobStore(tmp_path / "blobs")
    store.put("a/b", b"file")
    # When "a/b/c" (needs "a/b" as a folder) or "a" (is a folder) is written
    # Then it is a conflict, not a retryable outage, and "a/b" is untouched
    with pytest.raises(Conflict):
        store.put("a/b/c", b"x")
    with pytest.raises(Conflict):
        store.put("a", b"x")
    assert store.get("a/b") == b"file"
    assert list(store.list_keys()) == ["a/b"]


def test_local_put_fsyncs_file_and_folders_and_leaves_no_temp_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a local store that records fsync calls
    store = LocalBlobStore(tmp_path / "blobs")
    synced: list[str] = []
    real_fsync = os.fsync

    def recording_fsync(fd: int) -> None:
        synced.append(os.readlink(f"/proc/self/fd/{fd}"))
        real_fsync(fd)

    monkeypatch.setattr(os, "fsync", recording_fsync)
    # When a blob is written into folders that do not exist yet
    store.put("raw/2024/05/01/10/k.json", b"payload")
    # Then the data was fsynced (as a temp file), every new folder entry and the final rename too
    root = tmp_path / "blobs"
    hour = root / "raw/2024/05/01/10"
    assert any(Path(p).name.startswith(".k.json.") for p in synced)
    assert str(hour) in synced  # the rename into place
    assert str(root) in synced  # the new "raw" folder entry
    # And only the final file remains
    assert [p.name for p in hour.iterdir()] == ["k.json"]
    assert store.get("raw/2024/05/01/10/k.json") == b"payload"


def test_local_listing_ignores_leftover_temp_files(tmp_path: Path) -> None:
    # Given a blob and a temp file left behind by a crash in the middle of another put
    store = LocalBlobStore(tmp_path / "blobs")
    store.put("raw/2024/05/01/10/a.json", b"ok")
    (tmp_path / "blobs/raw/2024/05/01/10/.b.json.0123.tmp").write_bytes(b"partial")
    # When keys are listed / Then the partial write is invisible and the other key unaffected
    assert list(store.list_keys("raw/")) == ["raw/2024/05/01/10/a.json"]
    with pytest.raises(NotFound):
        store.get("raw/2024/05/01/10/b.json")


def test_local_store_reopens_with_the_same_content(tmp_path: Path) -> None:
    # Given blobs written by one instance
    LocalBlobStore(tmp_path / "blobs").put("k/1.json", b"one")
    # When the folder is opened again (a restart) / Then they are all there
    reopened = LocalBlobStore(tmp_path / "blobs")
    assert list(reopened.list_keys()) == ["k/1.json"]
    assert reopened.get("k/1.json") == b"one"


# --- S3 specifics ---------------------------------------------------------------------------


def test_s3_prefix_is_a_folder_of_the_bucket(s3_client: Any) -> None:
    # Given a store rooted at "tenant/raw-log" (leading/trailing slashes are normalised)
    store = S3BlobStore(BUCKET, prefix="/tenant/raw-log/", client=s3_client)
    # When a blob is written
    store.put("raw/k.json", b"1")
    # Then the object lives under the prefix and listing hides the prefix again
    objects = s3_client.list_objects_v2(Bucket=BUCKET)["Contents"]
    assert [o["Key"] for o in objects] == ["tenant/raw-log/raw/k.json"]
    assert list(store.list_keys("raw/")) == ["raw/k.json"]


def test_s3_lists_past_one_page(s3_client: Any) -> None:
    # Given more objects than one ListObjectsV2 page (1000)
    store = S3BlobStore(BUCKET, client=s3_client)
    keys = [f"raw/{i:05d}.json" for i in range(1005)]
    for key in keys:
        s3_client.put_object(Bucket=BUCKET, Key=key, Body=b"")
    # When listing from the middle / Then every later key comes back through the paginator
    assert list(store.list_keys("raw/", start_after=keys[2])) == keys[3:]


def test_s3_provider_errors_become_store_unavailable(aws: None) -> None:
    # Given a store on a bucket that does not exist
    store = S3BlobStore("no-such-bucket", client=boto3.client("s3", region_name="us-east-1"))
    # When it is used / Then failures are retryable 503s, never a misleading NotFound
    with pytest.raises(StoreUnavailable):
        store.put("k", b"x")
    with pytest.raises(StoreUnavailable):
        store.get("k")
    with pytest.raises(StoreUnavailable):
        list(store.list_keys())


# --- factory ---------------------------------------------------------------------------------


def test_factory_builds_a_local_store_from_a_file_url(tmp_path: Path) -> None:
    # Given a file:// URL / When it is resolved / Then a working local store on that folder
    store = make_blob_store(f"file://{tmp_path}/blobs")
    assert isinstance(store, LocalBlobStore)
    store.put("k.json", b"1")
    assert (tmp_path / "blobs/k.json").read_bytes() == b"1"


def test_factory_builds_an_s3_store_from_an_s3_url(s3_client: Any) -> None:
    # Given an s3:// URL with a prefix / When resolved / Then the store writes under that prefix
    store = make_blob_store(f"s3://{BUCKET}/env/prod/", s3_client=s3_client)
    assert isinstance(store, S3BlobStore)
    store.put("k.json", b"1")
    assert s3_client.get_object(Bucket=BUCKET, Key="env/prod/k.json")["Body"].read() == b"1"


@pytest.mark.parametrize("url", ["file://relative/path", "s3://", "ftp://host/x", "/plain/path"])
def test_factory_rejects_unusable_urls(url: str) -> None:
    # Given a URL that names no usable store / When resolved / Then a clear configuration error
    with pytest.raises(InvalidRequest):
        make_blob_store(url)
