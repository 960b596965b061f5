"""Bounded gzip inflation shared by every ingest route."""

from __future__ import annotations

import gzip

import pytest

from skyglass.contracts.compression import gunzip
from skyglass.errors import InvalidRequest, PayloadTooLarge


def test_every_member_of_a_multi_member_stream_is_inflated():
    body = gzip.compress(b'{"batch": [') + gzip.compress(b"]}")
    assert gunzip(body, 100, "too large") == b'{"batch": []}'


def test_inflating_past_the_limit_is_413_with_the_callers_message():
    bomb = gzip.compress(b"\0" * 1_000_000)
    with pytest.raises(PayloadTooLarge, match="over 1000"):
        gunzip(bomb, 1000, "over 1000")
    # the limit itself is fine
    assert len(gunzip(gzip.compress(b"x" * 1000), 1000, "over 1000")) == 1000


@pytest.mark.parametrize(
    "body",
    [b"not gzip", gzip.compress(b"x" * 100, mtime=0)[:-12], gzip.compress(b"a", mtime=0) + b"\x1f\x8b junk"],
    ids=["not-gzip", "truncated", "damaged-second-member"],
)
def test_damaged_streams_are_400(body: bytes):
    with pytest.raises(InvalidRequest, match="Invalid gzip body"):
        gunzip(body, 10_000, "too large")
