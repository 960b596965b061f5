"""Pick the BlobStore adapter from a URL (called by ``skyglass.bootstrap``)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import unquote, urlsplit

from skyglass.errors import InvalidRequest
from skyglass.ports.blob import BlobStore

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client


def make_blob_store(url: str, *, s3_client: S3Client | None = None) -> BlobStore:
    """Build the blob store a URL names.

    ``file:///abs/path`` → ``LocalBlobStore`` on that folder; ``s3://bucket/prefix`` →
    ``S3BlobStore`` (``s3_client`` lets tests and bootstrap inject a configured client).
    Adapters are imported lazily so the embedded runtime never imports boto3 and vice versa.
    """
    parts = urlsplit(url)
    if parts.scheme == "file":
        if parts.netloc not in ("", "localhost"):
            raise InvalidRequest(f"file blob URL must be absolute (file:///path): {url}")
        path = Path(unquote(parts.path))
        if not path.is_absolute():
            raise InvalidRequest(f"file blob URL must be absolute (file:///path): {url}")
        from skyglass.adapters.blob.local import LocalBlobStore

        return LocalBlobStore(path)
    if parts.scheme == "s3":
        if not parts.netloc:
            raise InvalidRequest(f"S3 blob URL needs a bucket (s3://bucket/prefix): {url}")
        from skyglass.adapters.blob.s3 import S3BlobStore

        return S3BlobStore(parts.netloc, unquote(parts.path).strip("/"), client=s3_client)
    raise InvalidRequest(f"unsupported blob store URL (expected file:// or s3://): {url}")
