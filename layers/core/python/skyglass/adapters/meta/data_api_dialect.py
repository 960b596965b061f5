"""SQLAlchemy's PostgreSQL dialect over the Data API driver, and the ``aurora-data-api://`` URL.

``aurora-data-api://<database>?cluster_arn=<arn>&secret_arn=<arn>[&region=<region>][&schema=<s>]``
(or ``aurora-data-api://<cluster arn>/<database>?secret_arn=<arn>``) becomes the SQLAlchemy URL ``postgresql+auroradataapi:///<database>?…``, so the same
``SqlMetaStore`` (and the same Alembic migrations) run on Aurora without a VPC.

The dialect is the stock PostgreSQL one with four changes:

* typed parameters: the Data API can only say "long" (``bigint``), "double", "string"
  (``varchar``)… so, as SQLAlchemy's psycopg 3 dialect does, binds of integer, date/time and JSON
  types carry an explicit cast (``:p::INTEGER``): ``generate_subscripts(…, :p)`` would find no
  ``bigint`` overload otherwise. JSON values are also marked for ``typeHint: JSON``;
* first-connect introspection is one query (version, schema and ``standard_conforming_strings``
  together) instead of four round trips;
* isolation levels are kept on the connection, since every Data API call may land on another
  session (``AUTOCOMMIT`` included);
* there is nothing to reconnect: every call is a fresh HTTPS request.

Reflection (Alembic's autogenerate compare, ``sa.inspect``) works too: ``int2vector`` columns
come back as text and are split like SQLAlchemy's psycopg dialect does.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import unquote

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSON, JSONB
from sqlalchemy.dialects.postgresql.base import PGDialect
from sqlalchemy.dialects.postgresql.pg_catalog import INT2VECTOR, OIDVECTOR
from sqlalchemy.engine.interfaces import BindTyping
from sqlalchemy.sql import sqltypes

from skyglass.adapters.meta.data_api_values import JsonText
from skyglass.errors import InvalidRequest

SCHEME = "aurora-data-api"
DRIVER = "auroradataapi"
_VERSION = re.compile(r".*(?:PostgreSQL|EnterpriseDB) (\d+)\.?(\d+)?(?:\.(\d+))?")
_ARN_REGION = re.compile(r"^arn:[^:]+:rds:([a-z0-9-]+):")


def _json_processor(inner: Any) -> Any:
    def process(value: Any) -> Any:
        out = inner(value) if inner is not None else value
        return JsonText(out) if isinstance(out, str) else out

    return process


class _DataApiJSON(JSON):
    render_bind_cast = True

    def bind_processor(self, dialect: Any) -> Any:
        return _json_processor(super().bind_processor(dialect))


class _DataApiJSONB(JSONB):
    render_bind_cast = True

    def bind_processor(self, dialect: Any) -> Any:
        return _json_processor(super().bind_processor(dialect))


class _SpaceVector:
    """``int2vector``/``oidvector`` arrive as text (``"1 2"``), as with psycopg: read them as lists."""

    def result_processor(self, dialect: Any, coltype: Any) -> Any:
        def process(value: Any) -> Any:
            if isinstance(value, str):
                return [int(part) for part in value.split()]
            return value

        return process


class _Int2Vector(_SpaceVector, INT2VECTOR):
    cache_ok = True


class _OidVector(_SpaceVector, OIDVECTOR):
    cache_ok = True


class _Integer(sqltypes.Integer):
    render_bind_cast = True


class _SmallInteger(sqltypes.SmallInteger):
    render_bind_cast = True


class _BigInteger(sqltypes.BigInteger):
    render_bind_cast = True


class _DateTime(sqltypes.DateTime):
    render_bind_cast = True


class _Date(sqltypes.Date):
    render_bind_cast = True


class _Time(sqltypes.Time):
    render_bind_cast = True


class DataApiDialect(PGDialect):
    """``postgresql+auroradataapi``: PostgreSQL SQL, Data API transport."""

    driver = DRIVER
    supports_statement_cache = True
    supports_server_side_cursors = False
    supports_sane_multi_rowcount = False
    # executemany is one BatchExecuteStatement call: no need to rewrite it as INSERT … VALUES lists.
    use_insertmanyvalues_wo_returning = False
    bind_typing = BindTyping.RENDER_CASTS
    colspecs = {
        **PGDialect.colspecs,
        sqltypes.JSON: _DataApiJSON,
        JSON: _DataApiJSON,
        JSONB: _DataApiJSONB,
        sqltypes.Integer: _Integer,
        sqltypes.SmallInteger: _SmallInteger,
        sqltypes.BigInteger: _BigInteger,
        sqltypes.DateTime: _DateTime,
        sqltypes.Date: _Date,
        sqltypes.Time: _Time,
        INT2VECTOR: _Int2Vector,
        OIDVECTOR: _OidVector,
    }

    _startup: tuple[str, str, str] | None = None

    @classmethod
    def import_dbapi(cls) -> Any:
        from skyglass.adapters.meta import data_api

        return data_api

    def create_connect_args(self, url: sa.URL) -> Any:
        query = {key: value if isinstance(value, str) else value[-1] for key, value in url.query.items()}
        kwargs: dict[str, Any] = {
            "resource_arn": query.get("cluster_arn", ""),
            "secret_arn": query.get("secret_arn", ""),
            "database": url.database or "",
            "region": query.get("region") or region_of(query.get("cluster_arn", "")),
        }
        if query.get("schema"):
            kwargs["schema"] = query["schema"]
        return [], kwargs

    # -- first connect: one round trip ----------------------------------------------------------

    def _get_server_version_info(self, connection: Any) -> Any:
        row = connection.exec_driver_sql(
            "SELECT pg_catalog.version(), current_schema(), current_setting('standard_conforming_strings')"
        ).one()
        self._startup = (str(row[0]), str(row[1]), str(row[2]))
        match = _VERSION.match(self._startup[0])
        if not match:
            raise AssertionError(f"Could not determine version from string {self._startup[0]!r}")
        return tuple(int(part) for part in match.groups() if part is not None)

    def _get_default_schema_name(self, connection: Any) -> Any:
        if self._startup is not None:
            return self._startup[1]
        return super()._get_default_schema_name(connection)

    def _set_backslash_escapes(self, connection: Any) -> None:
        if self._startup is None:
            super()._set_backslash_escapes(connection)
            return
        self._backslash_escapes = self._startup[2] == "off"

    # -- isolation: kept on the connection, applied at the start of each transaction -------------

    def get_default_isolation_level(self, dbapi_conn: Any) -> Any:
        return "READ COMMITTED"

    def get_isolation_level_values(self, dbapi_conn: Any) -> Any:
        return (*super().get_isolation_level_values(dbapi_conn), "AUTOCOMMIT")

    def get_isolation_level(self, dbapi_connection: Any) -> Any:
        return "AUTOCOMMIT" if dbapi_connection.autocommit else dbapi_connection.isolation_level

    def set_isolation_level(self, dbapi_connection: Any, level: Any) -> None:
        dbapi_connection.autocommit = level == "AUTOCOMMIT"
        if level != "AUTOCOMMIT":
            dbapi_connection.isolation_level = level

    def do_ping(self, dbapi_connection: Any) -> bool:
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute("SELECT 1")
        finally:
            cursor.close()
        return True

    def is_disconnect(self, e: Any, connection: Any, cursor: Any) -> bool:
        # Nothing to reconnect: every call is a fresh HTTPS request.
        return False


def register_dialect() -> None:
    """Make ``postgresql+auroradataapi`` known to SQLAlchemy (idempotent, no I/O)."""
    from sqlalchemy.dialects import registry

    registry.register(f"postgresql.{DRIVER}", __name__, "DataApiDialect")


def region_of(cluster_arn: str) -> str | None:
    """``arn:aws:rds:<region>:…`` → ``<region>``."""
    match = _ARN_REGION.match(cluster_arn)
    return match.group(1) if match else None


def _query(text: str) -> dict[str, str]:
    # Not parse_qsl: it reads "+" as a space, and secret names may contain "+".
    pairs = (part.partition("=") for part in text.split("&") if part)
    return {unquote(key): unquote(value) for key, _, value in pairs}


def sqlalchemy_url(url: str) -> str:
    """The SQLAlchemy URL for an ``aurora-data-api://`` URL; ``InvalidRequest`` when incomplete.

    Two spellings: ``aurora-data-api://<database>?cluster_arn=<arn>&secret_arn=<arn>`` and
    ``aurora-data-api://<cluster arn>/<database>?secret_arn=<arn>`` (what the stacks render);
    ``region`` (default: the cluster ARN's) and ``schema`` are optional.
    """
    scheme, sep, rest = url.partition("://")
    if scheme != SCHEME or not sep:
        raise InvalidRequest(f"not an {SCHEME}:// URL")
    location, _, query_text = rest.partition("?")
    query = _query(query_text)
    if location.startswith("arn:"):
        cluster_arn, _, database = location.partition("/")
        query.setdefault("cluster_arn", unquote(cluster_arn))
    else:
        database = location
    database = unquote(database.strip("/"))
    unknown = sorted(set(query) - {"cluster_arn", "secret_arn", "region", "schema"})
    if unknown:
        raise InvalidRequest(
            f"unknown {SCHEME} URL option(s) {unknown}: use cluster_arn, secret_arn, region, schema"
        )
    missing = [name for name in ("cluster_arn", "secret_arn") if not query.get(name)]
    if not database or missing:
        raise InvalidRequest(
            f"{SCHEME} URL needs a database, a cluster ARN and a secret ARN: "
            f"{SCHEME}://<database>?cluster_arn=<arn>&secret_arn=<arn>[&region=<region>]"
        )
    if not query.get("region"):
        query.pop("region", None)
    created = sa.URL.create(f"postgresql+{DRIVER}", database=database, query=query)
    return created.render_as_string(hide_password=False)
