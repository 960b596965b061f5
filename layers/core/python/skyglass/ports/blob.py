"""BlobStore port: the raw event log (a local folder, or S3)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Protocol


class BlobStore(Protocol):
    def put(self, key: str, data: bytes) -> None:
        """Store ``data`` durably under ``key`` (overwrites). Returns only once durable."""

    def get(self, key: str) -> bytes:
        """Read one blob; raises ``skyglass.errors.NotFound`` when absent."""

    def list_keys(self, prefix: str = "", start_after: str | None = None) -> Iterator[str]:
        """Keys under ``prefix`` in lexicographic order, strictly after ``start_after``."""

    def delete(self, key: str) -> None:
        """Remove a blob; absent keys are ignored."""
