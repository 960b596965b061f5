"""A DB-API 2.0 driver over the RDS Data API (boto3 ``rds-data``), for SQLAlchemy's PostgreSQL dialect.

The Lambdas run outside any VPC, so Aurora is reached over HTTPS: each statement is one
``ExecuteStatement`` call, a transaction is ``BeginTransaction`` … ``CommitTransaction``.

Why our own driver rather than ``sqlalchemy-aurora-data-api`` 0.5: that one opens a Data API
transaction for every cursor (three calls for one read), sends timestamps without their zone and
reports a paused cluster as a generic error. Here:

* a transaction is begun lazily, at the first statement that is not a plain read; plain reads
  before it run on their own (one call: ``find_api_key`` is one round trip). Under READ COMMITTED
  every statement sees a fresh snapshot anyway, so only reads that lock or have side effects
  (``FOR UPDATE``, advisory locks, ``nextval``…) must wait for the transaction, and they do;
* ``DatabaseResumingException`` (Aurora waking from auto-pause) raises ``DatabaseResuming``, a
  ``StoreUnavailable`` (503 with Retry-After), instead of waiting: the request path never blocks
  on a resume. Other provider failures become DB-API errors (``IntegrityError`` for SQLSTATE 23…),
  which the store's ``guard`` turns into ``StoreUnavailable`` as for any database.

Clients come from a cached factory (``client_for``); tests install a double with
``set_client_factory``.
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Callable, Iterator, Sequence
from functools import lru_cache
from typing import Any

from skyglass.adapters.meta.data_api_errors import (
    RESUME_RETRY_AFTER,
    DatabaseError,
    DatabaseResuming,
    DataError,
    Error,
    IntegrityError,
    InterfaceError,
    InternalError,
    NotSupportedError,
    OperationalError,
    ProgrammingError,
    Warning,
    translate_error,
)
from skyglass.adapters.meta.data_api_values import decode_records, encode_parameters
from skyglass.errors import StoreUnavailable

# The DB-API module interface: SQLAlchemy reads the exception classes from this module.
__all__ = [
    "RESUME_RETRY_AFTER",
    "DataError",
    "DatabaseError",
    "DatabaseResuming",
    "Error",
    "IntegrityError",
    "InterfaceError",
    "InternalError",
    "NotSupportedError",
    "OperationalError",
    "ProgrammingError",
    "Warning",
    "apilevel",
    "connect",
    "paramstyle",
    "threadsafety",
]

log = logging.getLogger(__name__)

apilevel = "2.0"
threadsafety = 1  # threads may share the module, not connections
paramstyle = "named"

# Parameter sets per BatchExecuteStatement call (the request must stay under the API's size limit).
BATCH_SIZE = 500


# -- clients --------------------------------------------------------------------------------------

ClientFactory = Callable[[str | None], Any]
_override: ClientFactory | None = None
_override_lock = threading.Lock()


@lru_cache(maxsize=8)
def _default_client(region: str | None) -> Any:
    """One boto3 ``rds-data`` client per region and process (clients are thread-safe)."""
    import boto3
    from botocore.config import Config

    # Statements run up to 45 s on the Data API; retries cover throttling and transient faults.
    config = Config(connect_timeout=5, read_timeout=50, retries={"max_attempts": 3, "mode": "standard"})
    return boto3.client("rds-data", region_name=region, config=config)


def client_for(region: str | None) -> Any:
    """The ``rds-data`` client for ``region`` (the test double when one is installed)."""
    with _override_lock:
        factory = _override
    return (factory or _default_client)(region)


def set_client_factory(factory: ClientFactory | None) -> None:
    """Use ``factory(region)`` for new connections (tests); ``None`` restores boto3."""
    global _override
    with _override_lock:
        _override = factory


def _provider_errors() -> tuple[type[Exception], ...]:
    from botocore.exceptions import BotoCoreError, ClientError

    return (ClientError, BotoCoreError)


# -- statements -----------------------------------------------------------------------------------

_PLAIN_READ = re.compile(r"^\s*(?:SELECT|SHOW|VALUES)\b", re.IGNORECASE)
_READ_WITH_EFFECTS = re.compile(
    r"\bFOR\s+(?:UPDATE|SHARE|NO\s+KEY\s+UPDATE|KEY\s+SHARE)\b|\bINTO\b"
    r"|pg_(?:try_)?advisory|\bnextval\b|\bsetval\b|\bset_config\b",
    re.IGNORECASE,
)


def opens_transaction(sql: str) -> bool:
    """Whether ``sql`` must run inside the transaction (anything but a plain, lock-free read)."""
    return not _PLAIN_READ.match(sql) or bool(_READ_WITH_EFFECTS.search(sql))


class Connection:
    """One logical connection: the cluster, secret and database, and the open transaction if any."""

    def __init__(self, client: Any, resource_arn: str, secret_arn: str, database: str, schema: str | None):
        self._client = client
        self._target = {"resourceArn": resource_arn, "secretArn": secret_arn}
        self._database = database
        self._schema = schema
        self._tx: str | None = None
        self._closed = False
        self.autocommit = False
        self.isolation_level = "READ COMMITTED"

    @property
    def in_transaction(self) -> bool:
        return self._tx is not None

    def cursor(self) -> Cursor:
        if self._closed:
            raise InterfaceError("connection is closed")
        return Cursor(self)

    def commit(self) -> None:
        if self._tx is None:
            return
        tx, self._tx = self._tx, None
        self._call("commit_transaction", transactionId=tx)

    def rollback(self) -> None:
        """Best effort: an abandoned Data API transaction is rolled back by AWS after 3 minutes."""
        if self._tx is None:
            return
        tx, self._tx = self._tx, None
        try:
            self._call("rollback_transaction", transactionId=tx)
        except (Error, StoreUnavailable) as exc:
            log.warning("Data API rollback of %s failed (AWS expires it): %s", tx, exc)

    def close(self) -> None:
        self.rollback()
        self._closed = True

    def _scope(self) -> dict[str, Any]:
        scope: dict[str, Any] = {"database": self._database}
        if self._schema:
            scope["schema"] = self._schema
        return scope

    def _begin(self) -> None:
        result = self._call("begin_transaction", **self._scope())
        self._tx = str(result["transactionId"])
        if self.isolation_level != "READ COMMITTED":
            self.execute(f"SET TRANSACTION ISOLATION LEVEL {self.isolation_level}", None)

    def execute(self, sql: str, parameters: dict[str, Any] | None) -> dict[str, Any]:
        """One ``ExecuteStatement``, in the transaction when one is (or must be) open."""
        if self._closed:
            raise InterfaceError("connection is closed")
        if self._tx is None and not self.autocommit and opens_transaction(sql):
            self._begin()
        try:
            params = encode_parameters(parameters)
        except TypeError as exc:
            raise NotSupportedError(str(exc)) from exc
        request: dict[str, Any] = {**self._scope(), "sql": sql, "includeResultMetadata": True}
        if params:
            request["parameters"] = params
        if self._tx is not None:
            request["transactionId"] = self._tx
        return self._call("execute_statement", **request)

    def execute_many(self, sql: str, parameter_sets: Sequence[dict[str, Any]]) -> None:
        """``BatchExecuteStatement`` in chunks, inside the transaction (opened if needed)."""
        if self._tx is None and not self.autocommit:
            self._begin()
        try:
            sets = [encode_parameters(p) for p in parameter_sets]
        except TypeError as exc:
            raise NotSupportedError(str(exc)) from exc
        for start in range(0, len(sets), BATCH_SIZE):
            request: dict[str, Any] = {
                **self._scope(),
                "sql": sql,
                "parameterSets": sets[start : start + BATCH_SIZE],
            }
            if self._tx is not None:
                request["transactionId"] = self._tx
            self._call("batch_execute_statement", **request)

    def _call(self, operation: str, **kwargs: Any) -> dict[str, Any]:
        try:
            result: dict[str, Any] = getattr(self._client, operation)(**self._target, **kwargs)
        except _provider_errors() as exc:
            raise translate_error(exc) from exc
        return result


class Cursor:
    """Rows of the last statement, decoded from the Data API's typed fields."""

    arraysize = 100

    def __init__(self, connection: Connection):
        self.connection = connection
        self.description: list[tuple[Any, ...]] | None = None
        self.rowcount = -1
        self.lastrowid = None
        self._rows: list[tuple[Any, ...]] = []
        self._pos = 0

    def execute(self, operation: str, parameters: dict[str, Any] | None = None) -> Cursor:
        response = self.connection.execute(operation, parameters)
        metadata = response.get("columnMetadata") or []
        records = response.get("records")
        if metadata:
            self.description = [
                (
                    column.get("label") or column.get("name"),
                    column.get("typeName"),
                    None,
                    None,
                    None,
                    None,
                    None,
                )
                for column in metadata
            ]
            self._rows = decode_records(records or [], metadata)
            self.rowcount = len(self._rows)
        else:
            self.description = None
            self._rows = []
            self.rowcount = int(response.get("numberOfRecordsUpdated", -1))
        self._pos = 0
        return self

    def executemany(self, operation: str, seq_of_parameters: Sequence[dict[str, Any]]) -> Cursor:
        self.connection.execute_many(operation, list(seq_of_parameters))
        self.description, self._rows, self._pos, self.rowcount = None, [], 0, -1
        return self

    def fetchone(self) -> tuple[Any, ...] | None:
        if self._pos >= len(self._rows):
            return None
        row = self._rows[self._pos]
        self._pos += 1
        return row

    def fetchmany(self, size: int | None = None) -> list[tuple[Any, ...]]:
        size = size or self.arraysize
        rows = self._rows[self._pos : self._pos + size]
        self._pos += len(rows)
        return rows

    def fetchall(self) -> list[tuple[Any, ...]]:
        rows = self._rows[self._pos :]
        self._pos = len(self._rows)
        return rows

    def __iter__(self) -> Iterator[tuple[Any, ...]]:
        while (row := self.fetchone()) is not None:
            yield row

    def close(self) -> None:
        self._rows = []

    def setinputsizes(self, sizes: Any) -> None:
        return None

    def setoutputsize(self, size: Any, column: Any = None) -> None:
        return None


def connect(
    *,
    resource_arn: str,
    secret_arn: str,
    database: str,
    region: str | None = None,
    schema: str | None = None,
    client: Any = None,
    **_ignored: Any,
) -> Connection:
    """A connection to ``database`` on the cluster ``resource_arn`` with the credentials in ``secret_arn``.

    No call is made here: the first statement is the first request. Extra keyword arguments
    (e.g. the ``connect_timeout`` the engine passes to every PostgreSQL driver) are ignored; the
    client's own timeouts apply.
    """
    if not resource_arn or not secret_arn or not database:
        raise InterfaceError("the Data API needs a cluster ARN, a secret ARN and a database name")
    return Connection(client or client_for(region), resource_arn, secret_arn, database, schema)
