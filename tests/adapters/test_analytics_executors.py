"""SqlExecutor contract: chDB and clickhouse-connect (over the chDB HTTP test server) agree."""

from __future__ import annotations

import base64
import gzip
import socket
import threading
import urllib.error
import urllib.request
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import orjson
import pytest

from skyglass.adapters.analytics.chdb_executor import ChdbExecutor
from skyglass.adapters.analytics.clickhouse_executor import ClickHouseExecutor, parse_clickhouse_url
from skyglass.adapters.analytics.executor import SqlExecutor
from skyglass.adapters.analytics.factory import make_executor
from skyglass.adapters.analytics.params import encode_params
from skyglass.errors import InvalidRequest, StoreUnavailable
from tests.support.clickhouse_http import ChdbHttpServer

TRICKY = [
    "plain",
    "it's",
    'double "quotes"',
    "back\\slash",
    "literal \\n and \\t and \\' and \\\\",
    "real\nnewline\tand tab\rand CR",
    "nul\0byte",
    "unicode é 日本語 😀",
    "'); DROP TABLE t; --",
    "{name:String} braces and `backticks`",
    "trailing backslash\\",
    "",
]


def test_string_params_round_trip_exactly(analytics_executor: SqlExecutor) -> None:
    # Given strings carrying every character the escaped text format treats specially
    for value in TRICKY:
        # When each is bound as a String and as an element of an Array(String)
        rows = analytics_executor.query(
            "SELECT {s:String} AS s, {a:Array(String)} AS a, length({s:String}) AS n",
            {"s": value, "a": [value, "x"]},
        )
        # Then the engine saw exactly the Python value, never SQL
        assert rows == [{"s": value, "a": [value, "x"], "n": len(value.encode())}], value


def test_typed_params_bind_on_both_engines(analytics_executor: SqlExecutor) -> None:
    # Given values of the types the stores bind (and an unused extra, which must be ignored)
    params = {
        "n": 2**63 - 1,
        "f": 1e-05,
        "d": Decimal("0.000000000123"),
        "b": True,
        "none": None,
        "t": datetime(2026, 1, 1, 12, 0, 0, 123000, tzinfo=timezone(timedelta(hours=2))),
        "naive": datetime(2026, 1, 1, 10, 0, 0),
        "m": {"k'1": "v\\1", "k2": "v\n2"},
        "unused": "ignored",
    }
    # When they are bound to typed placeholders
    rows = analytics_executor.query(
        "SELECT {n:Int64} AS n, {f:Float64} AS f, {d:Decimal64(12)} AS d, {b:Bool} AS b, "
        "{none:Nullable(String)} AS none, {t:DateTime64(3, 'UTC')} AS t, {naive:DateTime('UTC')} AS naive, "
        "{m:Map(String, String)} AS m",
        params,
    )
    # Then values arrive typed: 64-bit ints and decimals as numbers, times as ISO UTC
    assert rows == [
        {
            "n": 2**63 - 1,
            "f": 1e-05,
            "d": 1.23e-10,
            "b": True,
            "none": None,
            "t": "2026-01-01T10:00:00.123Z",
            "naive": "2026-01-01T10:00:00Z",
            "m": {"k'1": "v\\1", "k2": "v\n2"},
        }
    ]


def test_large_insert_is_one_request(analytics_executor: SqlExecutor, request: pytest.FixtureRequest) -> None:
    # Given a table and 20k rows with sizeable text
    analytics_executor.command(
        "CREATE TABLE big (id String, n UInt32, body String, ts DateTime64(3, 'UTC')) "
        "ENGINE = MergeTree ORDER BY id"
    )
    rows = [
        {"id": f"r{i:05d}", "n": i, "body": "x" * 200 + str(i), "ts": datetime(2026, 1, 1, tzinfo=UTC)}
        for i in range(20_000)
    ]
    # When they are inserted in one call
    analytics_executor.insert_rows("big", rows)
    # Then all arrived intact
    assert analytics_executor.query("SELECT count() AS c, sum(n) AS s FROM big") == [
        {"c": 20_000, "s": sum(range(20_000))}
    ]
    assert analytics_executor.query("SELECT body FROM big WHERE id = {id:String}", {"id": "r19999"}) == [
        {"body": "x" * 200 + "19999"}
    ]
    if isinstance(analytics_executor, ClickHouseExecutor):
        # And over HTTP it was a single gzipped INSERT
        log = request.getfixturevalue("clickhouse_server").log
        inserts = [r for r in log if r.statement.upper().startswith("INSERT INTO BIG")]
        assert len(inserts) == 1 and inserts[0].content_encoding == "gzip"


def test_long_parameter_lists_travel_in_a_form_body(analytics_executor: SqlExecutor) -> None:
    # Given far more ids than fit in a URL
    ids = [f"id-{i:06d}-{'z' * 20}" for i in range(5000)]
    # When they are bound as one array in a query and in a command
    rows = analytics_executor.query("SELECT length({ids:Array(String)}) AS n", {"ids": ids})
    analytics_executor.command("CREATE TABLE t_ids (id String) ENGINE = MergeTree ORDER BY id")
    analytics_executor.insert_rows("t_ids", [{"id": i} for i in ids[:10]])
    analytics_executor.command(
        "DELETE FROM t_ids WHERE id IN {ids:Array(String)}", {"ids": ids[:5] + ids[100:]}
    )
    # Then the engine received all of them
    assert rows == [{"n": 5000}]
    assert [r["id"] for r in analytics_executor.query("SELECT id FROM t_ids ORDER BY id")] == ids[5:10]


@pytest.mark.parametrize(
    "sql",
    ["SELEC 1", "SELECT * FROM no_such_table", "SELECT {x:UInt8} AS x"],
    ids=["syntax", "unknown-table", "missing-param"],
)
def test_engine_errors_surface_as_store_unavailable(analytics_executor: SqlExecutor, sql: str) -> None:
    # Given a statement the engine rejects
    # When / Then every entry point raises the retryable store error
    with pytest.raises(StoreUnavailable):
        analytics_executor.query(sql)
    with pytest.raises(StoreUnavailable):
        analytics_executor.command(sql)


def test_insert_into_unknown_table_is_store_unavailable(analytics_executor: SqlExecutor) -> None:
    with pytest.raises(StoreUnavailable):
        analytics_executor.insert_rows("no_such_table", [{"a": 1}])


def test_wrong_password_is_store_unavailable(clickhouse_server: ChdbHttpServer) -> None:
    # Given the right server but a wrong password
    target = parse_clickhouse_url(clickhouse_server.url)
    executor = ClickHouseExecutor(f"clickhouse://{target.username}:nope@127.0.0.1:{target.port}/default")
    # When / Then connecting fails as a store outage, without echoing credentials
    with pytest.raises(StoreUnavailable) as caught:
        executor.query("SELECT 1")
    assert "nope" not in caught.value.message
    executor.close()


def test_unreachable_server_fails_on_use_not_on_construction() -> None:
    # Given a port nobody listens on
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    # When the executor is built, nothing connects yet
    executor = ClickHouseExecutor(f"clickhouse://default@127.0.0.1:{port}/default?connect_timeout=2")
    # Then the first call reports the outage as retryable
    with pytest.raises(StoreUnavailable):
        executor.query("SELECT 1")
    executor.close()


def test_parse_clickhouse_url() -> None:
    plain = parse_clickhouse_url("clickhouse://u%40x:p%2Fw@db.example:9000/analytics?send_receive_timeout=30")
    assert (plain.host, plain.port, plain.username, plain.password, plain.database, plain.secure) == (
        "db.example",
        9000,
        "u@x",
        "p/w",
        "analytics",
        False,
    )
    assert plain.options == {"send_receive_timeout": 30}
    assert "p/w" not in repr(plain)
    secure = parse_clickhouse_url("clickhouses://example.cloud")
    assert (secure.port, secure.secure, secure.username, secure.password, secure.database) == (
        8443,
        True,
        "default",
        "",
        "default",
    )
    assert parse_clickhouse_url("clickhouse://h").port == 8123
    for bad in ("clickhouse://h?typo=1", "clickhouse:///db", "http://h", "clickhouse://h:notaport"):
        with pytest.raises(InvalidRequest):
            parse_clickhouse_url(bad)


def test_make_executor_picks_engine_by_scheme(tmp_path: Path) -> None:
    # chdb:// takes the rest as the folder; clickhouse(s):// builds a lazy server executor
    chdb = make_executor(f"chdb://{tmp_path / 'engine'}")
    try:
        assert isinstance(chdb, ChdbExecutor)
        assert (tmp_path / "engine").is_dir()
    finally:
        chdb.close()
    server = make_executor("clickhouses://u:p@example.invalid/db")
    assert isinstance(server, ClickHouseExecutor) and server.target.secure
    for bad in ("postgres://x", "no-scheme", "chdb://"):
        with pytest.raises(InvalidRequest):
            make_executor(bad)


def test_encode_params_uses_placeholder_types() -> None:
    # DateTime64 keeps the fraction, DateTime drops it; unreferenced values are not sent
    moment = datetime(2026, 1, 1, 10, 0, 0, 123456, tzinfo=UTC)
    assert encode_params(
        "SELECT {a:DateTime64(3, 'UTC')}, {b:DateTime('UTC')}, {c:Array(String)}",
        {"a": moment, "b": moment, "c": ["x'y", None], "d": 1},
    ) == {"a": "2026-01-01 10:00:00.123456", "b": "2026-01-01 10:00:00", "c": "['x\\'y', NULL]"}


def test_test_server_speaks_the_clickhouse_http_protocol(clickhouse_server: ChdbHttpServer) -> None:
    # Given the chDB-backed HTTP server and raw HTTP requests, as any ClickHouse client sends them
    base = f"http://127.0.0.1:{clickhouse_server.port}"
    auth = {"Authorization": "Basic " + base64.b64encode(b"default:s3cret/pw").decode()}

    def call(query: dict[str, str], body: bytes | None = None, headers: dict[str, str] | None = None) -> Any:
        req = urllib.request.Request(
            f"{base}/?{urlencode(query)}", data=body, headers={**auth, **(headers or {})}
        )
        try:
            return urllib.request.urlopen(req, timeout=10)
        except urllib.error.HTTPError as error:
            return error

    # When / Then: ping, GET with a bound parameter and default_format, settings as URL parameters
    assert urllib.request.urlopen(f"{base}/ping", timeout=10).read() == b"Ok.\n"
    ok = call({"query": "SELECT {s:String} AS s", "param_s": "a\\tb", "default_format": "JSONEachRow"})
    assert ok.status == 200 and ok.read() == b'{"s":"a\\tb"}\n'
    assert ok.headers["X-ClickHouse-Format"] == "JSONEachRow" and ok.headers["X-ClickHouse-Timezone"]
    assert int(orjson.loads(ok.headers["X-ClickHouse-Summary"])["read_rows"]) >= 1
    query = "SELECT getSetting('max_block_size') AS m FORMAT JSONEachRow"
    default = call({"query": query}).read()
    assert call({"query": query, "max_block_size": "1234", "session_id": "ignored"}).read() == b'{"m":1234}\n'
    # And a setting lasts for its request only
    assert call({}, query.encode()).read() == default != b'{"m":1234}\n'
    # And a gzipped INSERT body with the statement in the URL
    call({}, b"CREATE TABLE kv (k String) ENGINE = MergeTree ORDER BY k")
    inserted = call(
        {"query": "INSERT INTO kv FORMAT JSONEachRow"},
        gzip.compress(b'{"k":"x"}\n{"k":"y"}'),
        {"Content-Encoding": "gzip"},
    )
    assert inserted.status == 200 and "X-ClickHouse-Format" not in inserted.headers
    assert call({"query": "SELECT count() FROM kv"}).read() == b"2\n"
    # And errors carry ClickHouse's status, code header and text; a wrong password is refused
    failed = call({"query": "SELECT * FROM missing_table"})
    assert failed.status == 500 and failed.headers["X-ClickHouse-Exception-Code"] == "60"
    assert failed.read().decode().startswith("Code: 60. DB::Exception:")
    refused = call(
        {"query": "SELECT 1"}, headers={"Authorization": "Basic " + base64.b64encode(b"default:x").decode()}
    )
    assert refused.status == 401 and refused.headers["X-ClickHouse-Exception-Code"] == "516"


def test_plain_clickhouse_connect_client_works_against_the_test_server(
    clickhouse_server: ChdbHttpServer,
) -> None:
    # Given clickhouse-connect used directly (Native result format, command, settings discovery)
    import clickhouse_connect

    target = parse_clickhouse_url(clickhouse_server.url)
    client = clickhouse_connect.get_client(
        host=target.host, port=target.port, username=target.username, password=target.password
    )
    try:
        # When it runs a command and a typed query / Then results decode as from a real server
        assert client.server_version and client.command("SELECT 1 + 1") == 2
        result = client.query(
            "SELECT number AS n, toString(number) AS s FROM numbers({k:UInt8})", parameters={"k": 3}
        )
        assert result.result_rows == [(0, "0"), (1, "1"), (2, "2")]
    finally:
        client.close()


def test_a_query_does_not_wait_for_another_threads_query(analytics_executor: SqlExecutor) -> None:
    # Given a slow query running in another thread (sleep(3) holds it for three seconds)
    started, done = threading.Event(), threading.Event()

    def slow() -> None:
        started.set()
        analytics_executor.query("SELECT sleep(3) AS s")
        done.set()

    thread = threading.Thread(target=slow)
    thread.start()
    started.wait()
    # When this thread queries meanwhile
    rows = analytics_executor.query("SELECT 42 AS n")
    # Then it is answered while the slow query is still running
    assert rows == [{"n": 42}]
    assert not done.is_set()
    thread.join()
    assert done.is_set()


def test_a_closed_chdb_executor_refuses_queries_from_every_thread(tmp_path: Path) -> None:
    executor = ChdbExecutor(tmp_path / "chdb")
    other: list[BaseException] = []
    thread = threading.Thread(target=lambda: executor.query("SELECT 1 AS n"))
    thread.start()
    thread.join()  # that thread now has its own connection
    executor.close()
    executor.close()  # idempotent
    with pytest.raises(StoreUnavailable):
        executor.query("SELECT 1 AS n")

    def later() -> None:
        try:
            executor.query("SELECT 1 AS n")
        except BaseException as exc:
            other.append(exc)

    thread = threading.Thread(target=later)
    thread.start()
    thread.join()
    assert [type(e) for e in other] == [StoreUnavailable]
