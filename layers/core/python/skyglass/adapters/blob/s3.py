"""BlobStore on S3: the raw event log in the AWS runtime (one object per accepted request).

A successful ``PutObject`` is durable (S3 is strongly consistent read-after-write), so ``put``
returning means the ingest path may enqueue and answer.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from skyglass.errors import InvalidRequest, NotFound, StoreUnavailable

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

_MISSING_KEY_CODES = frozenset({"NoSuchKey", "404"})


def new_s3_client() -> S3Client:
    """Build a default S3 client; boto3 is imported here so the package stays light to import."""
    import boto3

    return boto3.client("s3")


def _provider_errors() -> tuple[type[Exception], ...]:
    from botocore.exceptions import BotoCoreError, ClientError

    return (ClientError, BotoCoreError)


def _error_code(exc: Exception) -> str:
    response: Any = getattr(exc, "response", None) or {}
    return str(response.get("Error", {}).get("Code", ""))


class S3BlobStore:
    """Blobs as objects in ``bucket`` under an optional ``prefix`` (a folder, ``/`` added)."""

    def __init__(self, bucket: str, prefix: str = "", client: S3Client | None = None):
        if not bucket:
            raise InvalidRequest("an S3 blob store needs a bucket name")
        self.bucket = bucket
        prefix = prefix.strip("/")
        self.prefix = f"{prefix}/" if prefix else ""
        self._client = client

    @property
    def client(self) -> S3Client:
        # Created on first use so constructing the store (e.g. at Lambda init) does no I/O.
        if self._client is None:
            self._client = new_s3_client()
        return self._client

    def _object_key(self, key: str) -> str:
        if not key:
            raise InvalidRequest("blob key must not be empty")
        return self.prefix + key

    def put(self, key: str, data: bytes) -> None:
        """Store ``data`` under ``key``; durable when it returns."""
        try:
            self.client.put_object(Bucket=self.bucket, Key=self._object_key(key), Body=data)
        except _provider_errors() as exc:
            raise StoreUnavailable(f"S3 put failed for {key}: {exc}") from exc

    def get(self, key: str) -> bytes:
        """Read one blob; ``NotFound`` when the object does not exist."""
        try:
            response = self.client.get_object(Bucket=self.bucket, Key=self._object_key(key))
            return response["Body"].read()
        except _provider_errors() as exc:
            if _error_code(exc) in _MISSING_KEY_CODES:
                raise NotFound(f"blob not found: {key}") from exc
            raise StoreUnavailable(f"S3 get failed for {key}: {exc}") from exc

    def delete(self, key: str) -> None:
        """Remove a blob; S3 already treats deleting an absent key as success."""
        try:
            self.client.delete_object(Bucket=self.bucket, Key=self._object_key(key))
        except _provider_errors() as exc:
            raise StoreUnavailable(f"S3 delete failed for {key}: {exc}") from exc

    def list_keys(self, prefix: str = "", start_after: str | None = None) -> Iterator[str]:
        """Keys under ``prefix`` in lexicographic (UTF-8 byte) order, strictly after ``start_after``.

        ``StartAfter`` lets S3 skip straight to the range, so a replay of one hour lists only it.
        """
        kwargs: dict[str, Any] = {"Bucket": self.bucket, "Prefix": self.prefix + prefix}
        if start_after is not None:
            kwargs["StartAfter"] = self.prefix + start_after
        cut = len(self.prefix)
        try:
            for page in self.client.get_paginator("list_objects_v2").paginate(**kwargs):
                for item in page.get("Contents", []):
                    yield item["Key"][cut:]
        except _provider_errors() as exc:
            raise StoreUnavailable(f"S3 listing failed under {prefix!r}: {exc}") from exc
