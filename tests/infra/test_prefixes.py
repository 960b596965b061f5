"""The stacks and the runtime agree on where raw blobs live (stacks/ cannot import runtime code)."""

from __future__ import annotations

from datetime import UTC, datetime

from skyglass.contracts.messages import BLOB_PREFIX, blob_key_for
from stacks.constructs.event_storage import RAW_PREFIX


def test_blob_keys_fall_under_the_prefix_the_grants_and_lifecycle_cover():
    key = blob_key_for("p1", datetime(2026, 1, 1, tzinfo=UTC), "otel")
    assert f"{RAW_PREFIX}/" == BLOB_PREFIX
    assert key.startswith(f"{RAW_PREFIX}/2026/01/01/00/")
