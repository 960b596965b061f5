"""ClickHouse's HTTP interface over an in-process chDB session, so clickhouse-connect can be tested
against a real engine without a ClickHouse server.

It implements what clickhouse-connect 1.x sends (``driver/_backend/httpcommon.py``): the query in
the ``query`` parameter and/or the POST body (a multipart form when bound parameters are large),
``param_<name>`` binding, ``database``, ``default_format``/``FORMAT``, settings as URL parameters
(``SET`` for one request, then reset to ``DEFAULT``; unknown ones ignored), text ``INSERT ...
FORMAT`` bodies (chunked, gzip/zstd/lz4), Basic auth, ``/ping`` and the response headers the
driver reads. Errors answer 500 (401 for a bad password) with ``X-ClickHouse-Exception-Code`` and
``Code: N. DB::Exception: ...``. chDB allows one data folder per process, so the server runs in a
thread of the test process and every request shares one chDB connection behind a lock.
"""

from __future__ import annotations

import base64
import gzip
import re
import threading
import uuid
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from email.parser import BytesParser
from email.policy import HTTP
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, quote, urlsplit

import orjson

# Request parameters that are part of the HTTP protocol, never settings.
_TRANSPORT = {
    "query", "database", "default_format", "user", "password", "query_id", "session_id",
    "session_timeout", "session_check", "close_session", "compress", "decompress", "buffer_size",
    "wait_end_of_query", "client_protocol_version", "quota_key", "role", "stacktrace",
}  # fmt: skip
# Settings that only shape the HTTP exchange; this server handles (or ignores) them itself.
_HTTP_ONLY = {
    "enable_http_compression", "send_progress_in_http_headers", "http_headers_progress_interval_ms",
    "cancel_http_readonly_queries_on_client_close", "http_response_buffer_size",
}  # fmt: skip
_RESULT_STATEMENT = re.compile(r"^\s*(SELECT|WITH|SHOW|DESCRIBE|DESC|EXPLAIN|EXISTS|CHECK)\b", re.I)
_INSERT = re.compile(r"^\s*INSERT\b", re.I)
_FORMAT_CLAUSE = re.compile(r"\bFORMAT\s+([A-Za-z0-9_]+)\s*;?\s*$", re.I)
_ERROR_CODE = re.compile(r"Code:\s*(\d+)")
_CONTENT_TYPES = {"JSON": "application/json", "JSONEachRow": "application/x-ndjson"}


@dataclass
class LoggedRequest:
    """What one request carried, for tests that assert on the wire (one INSERT per call, gzip)."""

    method: str
    statement: str  # the first line of the SQL (an INSERT's data is not kept)
    params: dict[str, str]
    content_encoding: str
    multipart: bool
    body_bytes: int


@dataclass
class _Reply:
    status: int
    body: bytes
    headers: dict[str, str]


class ChdbEngine:
    """One chDB session shared by all request threads; per-request settings are SET then reset."""

    def __init__(self, path: Path):
        import chdb

        path.mkdir(parents=True, exist_ok=True)
        self._conn = chdb.connect(str(path))
        self._lock = threading.Lock()
        info = self._conn.query("SELECT version(), timezone()", "TabSeparated").bytes().decode().split()
        self.version, self.timezone = info
        names = self._conn.query("SELECT name FROM system.settings", "TabSeparated").bytes()
        self._known = set(names.decode().split())

    def execute(
        self, sql: str, fmt: str, params: dict[str, str], settings: dict[str, str], database: str
    ) -> Any:
        """Run one statement with the request's settings, database and bound parameters."""
        applied = {k: v for k, v in settings.items() if k in self._known and k not in _HTTP_ONLY}
        with self._lock:
            try:
                if applied:
                    self._conn.query("SET " + ", ".join(f"{k} = {_quote(v)}" for k, v in applied.items()))
                if database != "default":
                    self._conn.query(f"USE {_quote(database, '`')}")
                return self._conn.query(sql, fmt, params=params)
            finally:
                if database != "default":
                    self._conn.query("USE default")
                if applied:
                    self._conn.query("SET " + ", ".join(f"{k} = DEFAULT" for k in applied))

    def close(self) -> None:
        with self._lock:
            self._conn.close()


def _quote(text: str, mark: str = "'") -> str:
    """A string literal (``'``) or identifier (`````) with backslash escapes."""
    return mark + text.replace("\\", "\\\\").replace(mark, "\\" + mark) + mark


def _summary(result: Any, result_rows: int, result_bytes: int) -> str:
    """The ``X-ClickHouse-Summary`` header: counters as JSON strings, as ClickHouse sends them."""
    read = result.rows_read()
    counters = {"read_rows": read, "read_bytes": result.bytes_read(), "written_rows": result.rows_written(),
                "written_bytes": result.bytes_written(), "total_rows_to_read": read, "result_rows": result_rows,
                "result_bytes": result_bytes, "elapsed_ns": int(result.elapsed() * 1e9)}  # fmt: skip
    return orjson.dumps({k: str(v) for k, v in counters.items()}).decode()


def _decode_body(body: bytes, encoding: str) -> bytes:
    encoding = encoding.strip().lower()
    decoders: dict[str, Callable[[bytes], bytes]] = {"gzip": gzip.decompress, "deflate": zlib.decompress}
    if encoding in ("", "identity") or encoding in decoders:
        return decoders.get(encoding, bytes)(body)
    from clickhouse_connect.driver._backend.httpcommon import decompress_response  # zstd, lz4, br

    return bytes(decompress_response(body, encoding))


def _form_fields(body: bytes, content_type: str) -> dict[str, str]:
    """Text fields of a multipart/form-data body (clickhouse-connect sends query and params so)."""
    message = BytesParser(policy=HTTP).parsebytes(
        b"Content-Type: " + content_type.encode() + b"\r\n\r\n" + body
    )
    fields: dict[str, str] = {}
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        payload = part.get_payload(decode=True)
        if isinstance(name, str) and isinstance(payload, bytes):
            fields[name] = payload.decode()
    return fields


class ClickHouseHttpApp:
    """The protocol logic, free of sockets: request parts in, a reply out."""

    display_name = "skyglass-test"

    def __init__(self, engine: ChdbEngine, user: str, password: str):
        self.engine = engine
        self.user, self.password = user, password
        self.log: list[LoggedRequest] = []
        self._log_lock = threading.Lock()

    def handle(self, method: str, target: str, headers: Any, body: bytes) -> _Reply:
        url = urlsplit(target)
        if url.path.rstrip("/") == "/ping":
            return _Reply(200, b"Ok.\n", {"Content-Type": "text/plain; charset=UTF-8"})
        if url.path not in ("", "/"):
            return self._error(404, 0, f"There is no handle {url.path}")
        params = dict(parse_qsl(url.query, keep_blank_values=True))
        encoding = headers.get("Content-Encoding", "")
        content_type = headers.get("Content-Type", "")
        multipart = content_type.lower().startswith("multipart/form-data")
        try:
            data = _decode_body(body, encoding)
        except Exception as exc:
            return self._error(500, 432, f"Cannot decompress request body ({encoding}): {exc}")
        if multipart:
            params.update(_form_fields(data, content_type))
            data = b""
        if not self._authorised(headers, params):
            return self._error(401, 516, f"{self.user}: Authentication failed: password is incorrect")
        sql = params.get("query", "")
        if data:
            try:  # chDB takes SQL text, so binary insert formats (Native, RowBinary) cannot pass
                text = data.decode()
            except UnicodeDecodeError:
                return self._error(500, 73, "this test server accepts text formats only (e.g. JSONEachRow)")
            sql = f"{sql}\n{text}" if sql and not sql[-1].isspace() else sql + text
        with self._log_lock:
            self.log.append(
                LoggedRequest(method, sql.split("\n", 1)[0], params, encoding, multipart, len(body))
            )
        if not sql.strip():
            return self._error(400, 62, "Empty query")
        return self._execute(sql, params, headers)

    def _authorised(self, headers: Any, params: dict[str, str]) -> bool:
        user, password = params.get("user", "default"), params.get("password", "")
        auth = headers.get("Authorization", "")
        if auth.startswith("Basic "):
            user, _, password = base64.b64decode(auth[6:]).decode().partition(":")
        elif headers.get("X-ClickHouse-User"):
            user, password = headers["X-ClickHouse-User"], headers.get("X-ClickHouse-Key", "")
        return user == self.user and password == self.password

    def _execute(self, sql: str, params: dict[str, str], headers: Any) -> _Reply:
        is_insert = bool(_INSERT.match(sql))
        fmt = params.get("default_format") or "TabSeparated"
        if not is_insert and (clause := _FORMAT_CLAUSE.search(sql)):
            fmt = clause.group(1)
        bound = {k[len("param_") :]: v for k, v in params.items() if k.startswith("param_")}
        settings = {k: v for k, v in params.items() if k not in _TRANSPORT and not k.startswith("param_")}
        try:
            result = self.engine.execute(sql, fmt, bound, settings, params.get("database") or "default")
        except Exception as exc:
            message = str(exc)
            code = _ERROR_CODE.search(message)
            return self._error(500, int(code.group(1)) if code else 1001, message)
        payload = result.bytes()
        reply = _Reply(200, payload, self._common_headers(params))
        reply.headers["X-ClickHouse-Summary"] = _summary(
            result, 0 if is_insert else result.rows_read(), len(payload)
        )
        if not is_insert and _RESULT_STATEMENT.match(sql):
            reply.headers["X-ClickHouse-Format"] = fmt
            reply.headers["Content-Type"] = _CONTENT_TYPES.get(fmt, "text/plain; charset=UTF-8")
        if (
            payload
            and params.get("enable_http_compression") == "1"
            and "gzip" in headers.get("Accept-Encoding", "")
        ):
            reply.body = gzip.compress(payload, compresslevel=1)
            reply.headers["Content-Encoding"] = "gzip"
        return reply

    def _common_headers(self, params: dict[str, str]) -> dict[str, str]:
        return {
            "Content-Type": "text/plain; charset=UTF-8",
            "X-ClickHouse-Server-Display-Name": self.display_name,
            "X-ClickHouse-Query-Id": params.get("query_id") or str(uuid.uuid4()),
            "X-ClickHouse-Timezone": self.engine.timezone,
        }

    def _error(self, status: int, code: int, message: str) -> _Reply:
        if not message.startswith("Code:"):
            message = f"Code: {code}. DB::Exception: {message}"
        headers = {**self._common_headers({}), "X-ClickHouse-Exception-Code": str(code)}
        return _Reply(status, f"{message} (version {self.engine.version})\n".encode(), headers)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as urllib3's pool expects
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:  # quiet test output
        return

    def do_GET(self) -> None:
        self._respond(self.server.app.handle("GET", self.path, self.headers, b""))

    def do_POST(self) -> None:
        self._respond(self.server.app.handle("POST", self.path, self.headers, self._read_body()))

    def _read_body(self) -> bytes:
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            chunks = []
            while size := int(self.rfile.readline().split(b";")[0].strip() or b"0", 16):
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
            while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                pass  # trailers
            return b"".join(chunks)
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def _respond(self, reply: _Reply) -> None:
        self.send_response(reply.status)
        for name, value in reply.headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(reply.body)))
        self.end_headers()
        self.wfile.write(reply.body)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    app: ClickHouseHttpApp


class ChdbHttpServer:
    """A ClickHouse HTTP endpoint on 127.0.0.1 and a free port, backed by chDB at ``path``; a context
    manager (or ``start()``/``stop()``). ``url`` suits ``make_executor``; ``log`` records requests."""

    def __init__(self, path: Path, *, user: str = "default", password: str = "", database: str = "default"):
        self.path = path
        self.user = user
        self.password = password
        self.database = database
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self._app: ClickHouseHttpApp | None = None

    def start(self) -> ChdbHttpServer:
        engine = ChdbEngine(self.path)
        try:
            if self.database != "default":
                engine.execute(
                    f"CREATE DATABASE IF NOT EXISTS {_quote(self.database, '`')}", "CSV", {}, {}, "default"
                )
            self._server = _Server(("127.0.0.1", 0), _Handler)
        except BaseException:
            engine.close()  # or this process could never open another chDB folder
            raise
        self._app = ClickHouseHttpApp(engine, self.user, self.password)
        self._server.app = self._app
        # A short poll interval keeps shutdown (every test teardown) quick.
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, name="chdb-http", daemon=True
        )
        self._thread.start()
        return self

    @property
    def port(self) -> int:
        assert self._server is not None, "server not started"
        return int(self._server.server_address[1])

    @property
    def url(self) -> str:
        auth = quote(self.user, safe="") + (":" + quote(self.password, safe="") if self.password else "")
        return f"clickhouse://{auth}@127.0.0.1:{self.port}/{self.database}"

    @property
    def log(self) -> list[LoggedRequest]:
        assert self._app is not None, "server not started"
        return self._app.log

    def stop(self) -> None:
        """Stop serving and close chDB so this process can open another data folder."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._thread is not None:
            self._thread.join(timeout=10)
            self._thread = None
        if self._app is not None:
            self._app.engine.close()
            self._app = None

    def __enter__(self) -> ChdbHttpServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
