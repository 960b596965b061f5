"""A test double of boto3's ``rds-data`` client that runs every statement on a real PostgreSQL.

``FakeRdsData`` has the client's method names and request/response shapes
(``execute_statement``, ``batch_execute_statement``, ``begin_transaction``,
``commit_transaction``, ``rollback_transaction``) and forwards the SQL to a throwaway database
through psycopg, so the SQL really runs. It behaves like the Data API where our driver could get
it wrong:

* ``:name`` parameters are bound with the type the Data API gives them: ``stringValue`` is
  ``varchar`` (so a string into a JSON or timestamp column fails, as on AWS, unless it carries a
  ``typeHint``), ``longValue`` is ``bigint``, ``doubleValue`` ``float8``; ``TIMESTAMP`` hints
  must match ``YYYY-MM-DD HH:MM:SS[.FFF]``;
* a call with a ``transactionId`` runs on that transaction's session, others on any session in
  autocommit; unknown transaction ids fail;
* results are ``records`` of typed fields plus ``columnMetadata`` (``typeName`` as PostgreSQL
  names it); ``timestamptz`` values come back in UTC without an offset and with the fraction's
  trailing zeros dropped; JSON columns come back as text;
* SQL errors are ``ClientError``s (``DatabaseErrorException``) ending ``SQLState: NNNNN``;
  ``resume_after(n)`` fails the next ``n`` calls as a paused cluster does (``DatabaseResumingException``).

``data_api_double(postgres_url)`` installs one as the driver's client factory for a block.
"""

from __future__ import annotations

import json
import re
import threading
import uuid
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, time
from decimal import Decimal
from typing import Any
from urllib.parse import quote

import psycopg
import sqlalchemy as sa
from botocore.exceptions import ClientError
from psycopg.types.string import TextLoader

from skyglass.adapters.meta import data_api

REGION = "us-east-1"
CLUSTER_ARN = f"arn:aws:rds:{REGION}:123456789012:cluster:skyglass-meta"
SECRET_ARN = f"arn:aws:secretsmanager:{REGION}:123456789012:secret:skyglass-meta-AbCdEf"

_HINT_CASTS = {"TIMESTAMP": "timestamp", "DATE": "date", "TIME": "time", "DECIMAL": "numeric",
               "JSON": "json", "UUID": "uuid"}  # fmt: skip
_VALUE_CASTS = {"longValue": "bigint", "doubleValue": "float8", "booleanValue": "boolean",
                "blobValue": "bytea", "stringValue": "varchar"}  # fmt: skip
_TIMESTAMP = re.compile(r"^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}(\.\d{1,3})?$")
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def _error(code: str, message: str, operation: str) -> ClientError:
    return ClientError(
        {"Error": {"Code": code, "Message": message}, "ResponseMetadata": {"HTTPStatusCode": 400}}, operation
    )


def _bind(param: dict[str, Any]) -> tuple[Any, str | None]:
    """(psycopg value, SQL cast) for one ``SqlParameter``."""
    value = param.get("value") or {}
    hint = param.get("typeHint")
    if value.get("isNull"):
        return None, None
    (kind, raw), *rest = value.items()
    if rest or kind not in _VALUE_CASTS:
        raise _error("BadRequestException", f"invalid parameter value {value!r}", "ExecuteStatement")
    if hint:
        if kind != "stringValue" or hint not in _HINT_CASTS:
            raise _error("BadRequestException", f"typeHint {hint} needs a stringValue", "ExecuteStatement")
        if hint == "TIMESTAMP" and not _TIMESTAMP.match(raw):
            raise _error(
                "BadRequestException",
                f"invalid TIMESTAMP {raw!r}: YYYY-MM-DD HH:MM:SS[.FFF]",
                "ExecuteStatement",
            )
        return raw, _HINT_CASTS[hint]
    return raw, _VALUE_CASTS[kind]


def translate(sql: str, parameters: list[dict[str, Any]]) -> tuple[str, dict[str, Any]]:
    """``:name`` → ``%(name)s::type`` outside quotes and ``::`` casts; ``%`` escaped for psycopg."""
    bound = {p["name"]: _bind(p) for p in parameters}
    out: list[str] = []
    i, n = 0, len(sql)
    while i < n:
        ch = sql[i]
        if ch in "'\"":
            end = sql.find(ch, i + 1)
            while end != -1 and end + 1 < n and sql[end + 1] == ch:  # doubled quote inside
                end = sql.find(ch, end + 2)
            end = n - 1 if end == -1 else end
            out.append(sql[i : end + 1].replace("%", "%%"))
            i = end + 1
        elif sql.startswith("::", i):
            out.append("::")
            i += 2
        elif ch == ":" and (match := _NAME.match(sql, i + 1)):
            name = match.group(0)
            if name not in bound:
                raise _error(
                    "BadRequestException", f"No value specified for parameter: {name}", "ExecuteStatement"
                )
            cast = bound[name][1]
            out.append(f"(%({name})s::{cast})" if cast else f"%({name})s")
            i = match.end()
        else:
            out.append("%%" if ch == "%" else ch)
            i += 1
    return "".join(out), {name: value for name, (value, _) in bound.items()}


def _timestamp_text(value: datetime) -> str:
    if value.tzinfo is not None:
        value = value.astimezone(UTC).replace(tzinfo=None)
    text = value.isoformat(sep=" ")
    return text.rstrip("0") if "." in text else text


def _field(value: Any) -> dict[str, Any]:
    """A result ``Field`` as the Data API encodes it."""
    if value is None:
        return {"isNull": True}
    if isinstance(value, bool):
        return {"booleanValue": value}
    if isinstance(value, int):
        return {"longValue": value}
    if isinstance(value, float):
        return {"doubleValue": value}
    if isinstance(value, bytes | bytearray | memoryview):
        return {"blobValue": bytes(value)}
    if isinstance(value, datetime):
        return {"stringValue": _timestamp_text(value)}
    if isinstance(value, date | time | Decimal | uuid.UUID):
        return {"stringValue": str(value)}
    if isinstance(value, list):
        items = [v for v in value if v is not None]
        if all(isinstance(v, bool) for v in items) and items:
            return {"arrayValue": {"booleanValues": value}}
        if all(isinstance(v, int) for v in items):
            return {"arrayValue": {"longValues": value}}
        if all(isinstance(v, float) for v in items):
            return {"arrayValue": {"doubleValues": value}}
        return {"arrayValue": {"stringValues": [str(v) for v in value]}}
    if isinstance(value, dict):
        return {"stringValue": json.dumps(value)}
    return {"stringValue": str(value)}


class FakeRdsData:
    """``rds-data`` over one PostgreSQL database; thread-safe like a boto3 client."""

    def __init__(self, postgres_url: str, *, cluster_arn: str = CLUSTER_ARN, secret_arn: str = SECRET_ARN):
        parsed = sa.make_url(postgres_url)
        self.database = parsed.database or ""
        self.cluster_arn, self.secret_arn = cluster_arn, secret_arn
        self._conninfo: dict[str, Any] = {
            "host": parsed.host, "port": parsed.port, "user": parsed.username, "dbname": self.database,
        }  # fmt: skip
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self._idle: list[psycopg.Connection[Any]] = []
        self._all: list[psycopg.Connection[Any]] = []
        self._transactions: dict[str, psycopg.Connection[Any]] = {}
        self._resuming = 0
        self._lock = threading.Lock()

    @property
    def url(self) -> str:
        """The ``aurora-data-api://`` URL that reaches this double."""
        return (
            f"aurora-data-api://{self.database}?cluster_arn={quote(self.cluster_arn, safe=':')}"
            f"&secret_arn={quote(self.secret_arn, safe=':')}&region={REGION}"
        )

    def resume_after(self, calls: int) -> None:
        """The next ``calls`` calls fail with ``DatabaseResumingException`` (a paused cluster)."""
        with self._lock:
            self._resuming = calls

    def count(self, operation: str | None = None) -> int:
        """Calls made so far (of one operation, e.g. ``"execute_statement"``)."""
        with self._lock:
            counts = Counter(op for op, _ in self.calls)
        return sum(counts.values()) if operation is None else counts[operation]

    def reset_calls(self) -> None:
        with self._lock:
            self.calls.clear()

    # -- the client's methods ---------------------------------------------------------------------

    def begin_transaction(self, **request: Any) -> dict[str, Any]:
        self._enter("begin_transaction", request, database=True)
        conn = self._acquire()
        conn.execute("BEGIN")
        tx = uuid.uuid4().hex
        with self._lock:
            self._transactions[tx] = conn
        return {"transactionId": tx}

    def commit_transaction(self, **request: Any) -> dict[str, Any]:
        self._enter("commit_transaction", request)
        conn = self._take(request, "CommitTransaction")
        try:
            conn.execute("COMMIT")
        except psycopg.Error as exc:
            self._release(conn, rollback=True)
            raise self._sql_error(exc, "CommitTransaction") from exc
        self._release(conn)
        return {"transactionStatus": "Transaction Committed"}

    def rollback_transaction(self, **request: Any) -> dict[str, Any]:
        self._enter("rollback_transaction", request)
        self._release(self._take(request, "RollbackTransaction"), rollback=True)
        return {"transactionStatus": "Rollback Complete"}

    def execute_statement(self, **request: Any) -> dict[str, Any]:
        self._enter("execute_statement", request, database=True)
        if request.get("formatRecordsAs", "NONE") != "NONE":
            raise _error(
                "BadRequestException", "this double only answers formatRecordsAs NONE", "ExecuteStatement"
            )
        query, values = translate(request["sql"], request.get("parameters", []))
        with self._session(request.get("transactionId"), "ExecuteStatement") as conn:
            try:
                cursor = conn.execute(query, values)  # type: ignore[call-overload]
            except psycopg.Error as exc:
                raise self._sql_error(exc, "ExecuteStatement") from exc
            if cursor.description is None:
                return {"numberOfRecordsUpdated": max(cursor.rowcount, 0), "generatedFields": []}
            response: dict[str, Any] = {
                "numberOfRecordsUpdated": 0,
                "records": [[_field(v) for v in row] for row in cursor.fetchall()],
            }
            if request.get("includeResultMetadata"):
                response["columnMetadata"] = [self._column(conn, col) for col in cursor.description]
            return response

    def batch_execute_statement(self, **request: Any) -> dict[str, Any]:
        self._enter("batch_execute_statement", request, database=True)
        results = []
        with self._session(request.get("transactionId"), "BatchExecuteStatement") as conn:
            for parameters in request.get("parameterSets", []):
                query, values = translate(request["sql"], parameters)
                try:
                    conn.execute(query, values)  # type: ignore[call-overload]
                except psycopg.Error as exc:
                    raise self._sql_error(exc, "BatchExecuteStatement") from exc
                results.append({"generatedFields": []})
        return {"updateResults": results}

    def close(self) -> None:
        """Close every session (open transactions are rolled back)."""
        with self._lock:
            conns, self._all, self._idle = self._all, [], []
            self._transactions.clear()
        for conn in conns:
            conn.close()

    # -- helpers ----------------------------------------------------------------------------------

    def _enter(self, operation: str, request: dict[str, Any], *, database: bool = False) -> None:
        with self._lock:
            self.calls.append((operation, request))
            resuming = self._resuming > 0
            if resuming:
                self._resuming -= 1
        name = "".join(part.title() for part in operation.split("_"))
        if resuming:
            raise _error(
                "DatabaseResumingException",
                "The Aurora DB instance db-x is resuming after being auto-paused.",
                name,
            )
        if request.get("resourceArn") != self.cluster_arn or request.get("secretArn") != self.secret_arn:
            raise _error("ForbiddenException", "unknown cluster or secret", name)
        if database and request.get("database") not in (None, self.database):
            raise _error("DatabaseNotFoundException", f"database {request.get('database')!r} not found", name)

    def _acquire(self) -> psycopg.Connection[Any]:
        with self._lock:
            if self._idle:
                return self._idle.pop()
        conn = psycopg.connect(**self._conninfo, autocommit=True)
        conn.execute("SET TIME ZONE 'UTC'")
        for name in ("json", "jsonb"):
            conn.adapters.register_loader(name, TextLoader)
        with self._lock:
            self._all.append(conn)
        return conn

    def _release(self, conn: psycopg.Connection[Any], *, rollback: bool = False) -> None:
        if rollback:
            conn.execute("ROLLBACK")
        with self._lock:
            self._idle.append(conn)

    def _take(self, request: dict[str, Any], operation: str) -> psycopg.Connection[Any]:
        with self._lock:
            conn = self._transactions.pop(str(request.get("transactionId")), None)
        if conn is None:
            raise _error(
                "BadRequestException", f"Transaction {request.get('transactionId')} is not found", operation
            )
        return conn

    @contextmanager
    def _session(self, tx: str | None, operation: str) -> Iterator[psycopg.Connection[Any]]:
        if tx is not None:
            with self._lock:
                conn = self._transactions.get(tx)
            if conn is None:
                raise _error("BadRequestException", f"Transaction {tx} is not found", operation)
            yield conn
            return
        conn = self._acquire()
        try:
            yield conn
        finally:
            self._release(conn)

    @staticmethod
    def _column(conn: psycopg.Connection[Any], column: Any) -> dict[str, Any]:
        info = conn.adapters.types.get(column.type_code)
        type_name = "unknown" if info is None else info.name
        if info is not None and column.type_code == info.array_oid:
            type_name = f"_{info.name}"
        return {"name": column.name, "label": column.name, "typeName": type_name, "nullable": 2}

    @staticmethod
    def _sql_error(exc: psycopg.Error, operation: str) -> ClientError:
        primary = exc.diag.message_primary or str(exc)
        return _error("DatabaseErrorException", f"ERROR: {primary}; SQLState: {exc.sqlstate}", operation)


@contextmanager
def data_api_double(postgres_url: str) -> Iterator[FakeRdsData]:
    """Install a ``FakeRdsData`` on ``postgres_url`` as the driver's client factory for a block."""
    fake = FakeRdsData(postgres_url)
    data_api.set_client_factory(lambda region: fake)
    try:
        yield fake
    finally:
        data_api.set_client_factory(None)
        fake.close()
