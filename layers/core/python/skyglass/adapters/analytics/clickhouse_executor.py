"""ClickHouse server executor over HTTP(S) with clickhouse-connect.

Behaves exactly like ``ChdbExecutor``: the same output/input settings, rows parsed from
JSONEachRow, parameters encoded by ``params.encode_params`` and bound server-side. Settings travel
as HTTP parameters (ClickHouse's own way) instead of a SQL clause, so the SQL text is untouched.
"""

from __future__ import annotations

import gzip
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

from skyglass.adapters.analytics.executor import INPUT_SETTINGS, OUTPUT_SETTINGS, encode_rows, parse_rows
from skyglass.adapters.analytics.params import encode_params
from skyglass.errors import InvalidRequest, StoreUnavailable

# Insert bodies above this are gzipped: a processing batch can be tens of MB of JSON crossing
# the internet to a managed ClickHouse, and level 1 costs far less than the bytes it saves.
_COMPRESS_ABOVE = 64 * 1024
# URL options passed to clickhouse-connect, with their types.
_OPTIONS: dict[str, type] = {
    "connect_timeout": int,
    "send_receive_timeout": int,
    "query_retries": int,
    "verify": str,
    "ca_cert": str,
    "server_host_name": str,
    "client_name": str,
}


@dataclass(frozen=True, slots=True)
class ClickHouseTarget:
    """Where and how to connect, parsed from ``clickhouse(s)://user:pass@host:port/db?opt=v``."""

    host: str
    port: int
    username: str
    password: str = field(repr=False)
    database: str
    secure: bool
    options: dict[str, Any] = field(default_factory=dict)


def parse_clickhouse_url(url: str) -> ClickHouseTarget:
    """Parse a ClickHouse URL; ``clickhouses`` means HTTPS (default port 8443, else 8123).

    User and password may be percent-encoded; the database defaults to ``default``. Query options
    are ``connect_timeout``, ``send_receive_timeout``, ``query_retries``, ``verify``, ``ca_cert``,
    ``server_host_name`` and ``client_name``; anything else is refused so a typo is not ignored.
    """
    # Messages never echo the URL: it carries the password.
    parts = urlsplit(url)
    if parts.scheme not in ("clickhouse", "clickhouses"):
        raise InvalidRequest("analytics URL must start with clickhouse:// or clickhouses://")
    if not parts.hostname:
        raise InvalidRequest("ClickHouse URL has no host")
    secure = parts.scheme == "clickhouses"
    options: dict[str, Any] = {}
    try:
        port = parts.port
        for key, value in parse_qsl(parts.query, keep_blank_values=True):
            if key not in _OPTIONS:
                raise InvalidRequest(f"unknown ClickHouse URL option {key!r}; known: {sorted(_OPTIONS)}")
            options[key] = _OPTIONS[key](value)
    except ValueError as exc:
        raise InvalidRequest(f"invalid ClickHouse URL: {exc}") from exc
    return ClickHouseTarget(
        host=parts.hostname,
        port=port or (8443 if secure else 8123),
        username=unquote(parts.username or "default"),
        password=unquote(parts.password or ""),
        database=unquote(parts.path.strip("/")) or "default",
        secure=secure,
        options=options,
    )


class _Verbatim:
    """A parameter already in ClickHouse text form: clickhouse-connect renders unknown types with
    ``str()``, so wrapping keeps it from escaping our encoding a second time."""

    __slots__ = ("text",)

    def __init__(self, text: str):
        self.text = text

    def __str__(self) -> str:
        return self.text


class ClickHouseExecutor:
    """SqlExecutor for a ClickHouse server; the HTTP client is created on first use.

    Connecting lazily keeps construction free of I/O (the composition root may build the store
    in a Lambda that never queries it) and lets a later call retry after the server was down.
    """

    def __init__(self, url: str):
        self._target = parse_clickhouse_url(url)
        self._client: Any = None
        self._lock = threading.Lock()

    @property
    def target(self) -> ClickHouseTarget:
        return self._target

    def _get_client(self) -> Any:
        with self._lock:
            if self._client is None:
                import clickhouse_connect  # heavy: imported only where a server is used

                t = self._target
                self._client = clickhouse_connect.get_client(
                    host=t.host,
                    port=t.port,
                    username=t.username,
                    password=t.password,
                    database=t.database,
                    interface="https" if t.secure else "http",
                    # Inserts are compressed here, per body size; results are mostly small pages.
                    compress=False,
                    # A session id would make concurrent calls from threads fail: stay sessionless.
                    autogenerate_session_id=False,
                    dedicated_pool=True,
                    **t.options,
                )
            return self._client

    def _call(self, what: str, fn: Callable[[Any], Any]) -> Any:
        """Run ``fn(client)``, turning any driver, network or TLS failure into ``StoreUnavailable``."""
        try:
            return fn(self._get_client())
        except StoreUnavailable:
            raise
        except Exception as exc:  # clickhouse-connect errors, urllib3/socket errors, TLS errors
            raise StoreUnavailable(f"analytics {what} failed: {exc}") from exc

    @staticmethod
    def _params(sql: str, params: dict[str, Any] | None) -> dict[str, Any] | None:
        encoded = encode_params(sql, params)
        return {k: _Verbatim(v) for k, v in encoded.items()} or None

    def query(self, sql: str, params: dict[str, Any] | None = None) -> list[dict[str, Any]]:
        """Run a SELECT with the shared output settings; rows as dicts (JSONEachRow)."""
        bound = self._params(sql, params)
        data = self._call(
            "query",
            lambda c: c.raw_query(sql, parameters=bound, settings=OUTPUT_SETTINGS, fmt="JSONEachRow"),
        )
        return parse_rows(data)

    def command(self, sql: str, params: dict[str, Any] | None = None) -> None:
        """Run DDL/DML whose result is discarded.

        Sent through ``raw_query`` rather than ``command`` because only the query path moves large
        bound parameters (long id lists) into a form body instead of an over-long URL.
        """
        bound = self._params(sql, params)
        self._call("command", lambda c: c.raw_query(sql, parameters=bound))

    def insert_rows(self, table: str, rows: Sequence[Any]) -> None:
        """One INSERT of every row (dicts or dataclasses) as JSONEachRow, gzipped when large."""
        if not rows:
            return
        body = encode_rows(rows)
        compression = None
        if len(body) > _COMPRESS_ABOVE:
            body, compression = gzip.compress(body, compresslevel=1), "gzip"
        self._call(
            "insert",
            lambda c: c.raw_insert(
                table, insert_block=body, settings=INPUT_SETTINGS, fmt="JSONEachRow", compression=compression
            ),
        )

    def close(self) -> None:
        """Release the connection pool (idempotent); a later call would reconnect."""
        with self._lock:
            client, self._client = self._client, None
        if client is not None:
            client.close()
