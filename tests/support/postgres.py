"""A throwaway PostgreSQL 15 cluster per test session (per xdist worker), and a database per test.

``initdb`` refuses to run as root, so under root the cluster is created and run as the
``postgres`` OS user in a temporary folder that user owns. The server listens on 127.0.0.1 on a
free port with trust auth and ``fsync=off``: it is fast and disposable, never a real database.
"""

from __future__ import annotations

import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

PG_BIN = Path(os.environ.get("SKYGLASS_TEST_PG_BIN", "/usr/lib/postgresql/15/bin"))
PG_USER = "postgres"


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _as_db_user(args: list[str]) -> list[str]:
    """Run a PostgreSQL binary as the ``postgres`` user when we are root (initdb insists)."""
    if os.geteuid() != 0:
        return args
    return ["runuser", "-u", PG_USER, "--", *args]


def _run(args: list[str], cwd: Path) -> None:
    result = subprocess.run(_as_db_user(args), cwd=cwd, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise RuntimeError(
            f"{' '.join(args)} failed ({result.returncode}):\n{result.stdout}\n{result.stderr}"
        )


class PostgresCluster:
    """One running ``postgres`` server: ``create_database`` / ``drop_database`` / ``stop``."""

    def __init__(self, root: Path):
        self.root = root
        self.data = root / "data"
        self.port = 0

    def start(self) -> None:
        _run([str(PG_BIN / "initdb"), "-D", str(self.data), "-U", PG_USER, "-A", "trust",
              "-E", "UTF8", "--locale=C", "--no-sync"], cwd=self.root)  # fmt: skip
        last_error: Exception | None = None
        for _ in range(5):  # another worker may grab the same free port between probe and bind
            self.port = _free_port()
            options = (
                f"-c listen_addresses=127.0.0.1 -p {self.port} -k {self.root} "
                "-c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=100"
            )
            try:
                _run([str(PG_BIN / "pg_ctl"), "-D", str(self.data), "-o", options,
                      "-l", str(self.root / "server.log"), "-w", "-t", "60", "start"], cwd=self.root)  # fmt: skip
                return
            except RuntimeError as error:
                last_error = error
        log = (
            (self.root / "server.log").read_text(errors="replace")
            if (self.root / "server.log").exists()
            else ""
        )
        raise RuntimeError(f"PostgreSQL did not start: {last_error}\n{log}")

    def url(self, database: str) -> str:
        return f"postgresql+psycopg://{PG_USER}@127.0.0.1:{self.port}/{database}"

    def _admin(self, statement: str, database: str) -> None:
        """Run ``statement`` (with ``{}`` for the quoted database name) on the ``postgres`` db."""
        import psycopg
        from psycopg import sql

        query = sql.SQL(statement).format(sql.Identifier(database))
        with psycopg.connect(
            host="127.0.0.1", port=self.port, user=PG_USER, dbname="postgres", autocommit=True
        ) as conn:
            conn.execute(query)

    def create_database(self, name: str) -> str:
        """A new empty database; returns its SQLAlchemy URL."""
        self._admin("CREATE DATABASE {}", name)
        return self.url(name)

    def drop_database(self, name: str) -> None:
        self._admin("DROP DATABASE IF EXISTS {} WITH (FORCE)", name)

    def stop(self) -> None:
        if self.port:
            subprocess.run(
                _as_db_user([str(PG_BIN / "pg_ctl"), "-D", str(self.data), "-m", "immediate", "-w", "stop"]),
                cwd=self.root,
                capture_output=True,
                check=False,
            )


@pytest.fixture(scope="session")
def postgres_cluster() -> Iterator[PostgresCluster]:
    """A running throwaway cluster, shared by the tests of one session (one per xdist worker)."""
    if not (PG_BIN / "initdb").exists() or not (PG_BIN / "pg_ctl").exists():
        pytest.fail(
            f"PostgreSQL 15 binaries not found in {PG_BIN} (need initdb and pg_ctl): install "
            "postgresql-15 or set SKYGLASS_TEST_PG_BIN to the folder holding them.",
            pytrace=False,
        )
    root = Path(tempfile.mkdtemp(prefix="skyglass-pg-"))
    if os.geteuid() == 0:
        user = pwd.getpwnam(PG_USER)
        os.chown(root, user.pw_uid, user.pw_gid)
    cluster = PostgresCluster(root)
    try:
        cluster.start()
        yield cluster
    finally:
        cluster.stop()
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="session")
def postgres_url(postgres_cluster: PostgresCluster) -> str:
    """``postgresql+psycopg://postgres@127.0.0.1:PORT/skyglass`` on the session's cluster."""
    return postgres_cluster.create_database("skyglass")


@pytest.fixture
def fresh_postgres_url(postgres_cluster: PostgresCluster) -> Iterator[str]:
    """A new empty database for one test, dropped afterwards."""
    name = f"t_{uuid.uuid4().hex[:16]}"
    yield postgres_cluster.create_database(name)
    postgres_cluster.drop_database(name)
