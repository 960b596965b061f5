"""Request bodies under ``Content-Encoding: gzip``: bounded inflation for every ingest route.

zlib-ng inflates the same streams ~2.4x faster than the standard library's zlib (a 510-span SDK
export: 1.3 ms instead of 3.2 ms), and inflating is the largest single cost of accepting an OTLP
request. The output is capped so a small body cannot expand into gigabytes (a gzip bomb), and a
stream of several gzip members (allowed by RFC 1952) is inflated whole.
"""

from __future__ import annotations

from typing import cast

from zlib_ng import zlib_ng

from skyglass.errors import InvalidRequest, PayloadTooLarge

_GZIP_WBITS = 31  # gzip header and trailer, 32 KiB window
_INFLATE_ERROR = cast(type[Exception], zlib_ng.error)  # its stub types it as an instance


def gunzip(body: bytes, limit: int, too_large: str) -> bytes:
    """Every gzip member of ``body``, inflated; 400 for a damaged stream, 413 (``too_large``)
    when the result would exceed ``limit`` bytes."""
    out = bytearray()
    data = body
    while data:
        inflater = zlib_ng.decompressobj(wbits=_GZIP_WBITS)
        try:
            out += inflater.decompress(data, limit - len(out) + 1)
        except _INFLATE_ERROR as exc:
            raise InvalidRequest(f"Invalid gzip body: {exc}") from exc
        if len(out) > limit or inflater.unconsumed_tail:
            raise PayloadTooLarge(too_large)
        if not inflater.eof:
            raise InvalidRequest("Invalid gzip body: truncated stream")
        data = inflater.unused_data
    return bytes(out)
