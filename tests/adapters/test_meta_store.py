"""Contract of the MetaStore port, run against every backend: SQLite (a file) and PostgreSQL."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from skyglass.adapters.meta.factory import make_meta_store
from skyglass.adapters.meta.store import SqlMetaStore, new_id
from skyglass.adapters.meta.tables import metadata
from skyglass.domain.keys import display_secret, hash_secret, new_public_key, new_secret_key
from skyglass.errors import Conflict, InvalidRequest, NotFound, StoreUnavailable
from skyglass.ports.meta import StoredApiKey

BACKENDS = ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]


@pytest.fixture(params=BACKENDS)
def meta_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'meta' / 'meta.db'}"
    # Only PostgreSQL cases start (or reuse) the throwaway cluster.
    return str(request.getfixturevalue("fresh_postgres_url"))


@pytest.fixture
def store(meta_url: str) -> Iterator[SqlMetaStore]:
    meta = make_meta_store(meta_url)
    meta.migrate()
    yield meta
    meta.close()


def make_key(project_id: str, *, public_key: str | None = None, note: str | None = None) -> StoredApiKey:
    secret = new_secret_key()
    return StoredApiKey(
        id=new_id(),
        project_id=project_id,
        public_key=public_key or new_public_key(),
        secret_hash=hash_secret(secret),
        display_secret_key=display_secret(secret),
        created_at=datetime.now(UTC),
        note=note,
    )


def test_migrate_is_idempotent_and_matches_the_table_definitions(store: SqlMetaStore):
    # Given a store already migrated by the fixture
    # When it migrates again
    store.migrate()
    # Then the schema is at head with exactly the tables of adapters/meta/tables.py
    inspector = sa.inspect(store.engine)
    assert set(metadata.tables) <= set(inspector.get_table_names())
    with store.engine.connect() as conn:
        assert conn.execute(sa.text("SELECT version_num FROM alembic_version")).scalars().all() == ["0002"]
    # And the migrations and the table definitions agree (what autogenerate would see)
    with store.engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        assert compare_metadata(context, metadata) == []
    # And the hot auth lookup is covered by a unique index on public_key
    uniques = [u["column_names"] for u in inspector.get_unique_constraints("api_keys")]
    assert ["public_key"] in uniques


def test_two_processes_migrating_at_once_both_succeed(meta_url: str):
    # Given two stores (two processes starting) on the same empty database
    stores = [make_meta_store(meta_url) for _ in range(2)]
    barrier = threading.Barrier(2)
    errors: list[BaseException] = []

    def start(meta: SqlMetaStore) -> None:
        barrier.wait()
        try:
            meta.migrate()
        except BaseException as exc:
            errors.append(exc)

    # When both migrate concurrently
    threads = [threading.Thread(target=start, args=(m,)) for m in stores]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    # Then neither failed and the schema works
    assert errors == []
    org = stores[0].ensure_organization("o")
    assert stores[1].ensure_organization("o") == org
    for meta in stores:
        meta.close()


def test_ensure_organization_and_project_are_idempotent(store: SqlMetaStore):
    # Given an organisation and a project ensured once
    org = store.ensure_organization("acme")
    project = store.ensure_project(org.id, "web")
    # When both are ensured again
    # Then the same rows come back, and nothing was duplicated
    assert store.ensure_organization("acme") == org
    assert store.ensure_project(org.id, "web") == project
    assert [p.id for p in store.list_projects()] == [project.id]
    assert project.org_name == "acme"
    assert project.metadata == {}
    assert project.retention_days is None
    assert project.created_at.tzinfo is not None


def test_same_project_name_in_two_organisations_are_two_projects(store: SqlMetaStore):
    # Given two organisations with a project named alike
    first = store.ensure_project(store.ensure_organization("a").id, "shared")
    second = store.ensure_project(store.ensure_organization("b").id, "shared")
    # Then they are distinct, and lookup by name returns the oldest
    assert first.id != second.id
    assert store.find_project_by_name("shared") == first
    assert [p.id for p in store.list_projects()] == [first.id, second.id]


def test_ensure_project_in_unknown_organisation_is_not_found(store: SqlMetaStore):
    # When a project is ensured under an organisation id that does not exist
    # Then NotFound is raised and no project appears
    with pytest.raises(NotFound):
        store.ensure_project("no-such-org", "p")
    assert store.list_projects() == []


def test_concurrent_ensure_returns_one_row(store: SqlMetaStore):
    # Given several threads racing to ensure the same organisation and project
    barrier = threading.Barrier(4)
    results: list[tuple[str, str]] = []
    lock = threading.Lock()

    def ensure() -> None:
        barrier.wait()
        org = store.ensure_organization("race")
        project = store.ensure_project(org.id, "race")
        with lock:
            results.append((org.id, project.id))

    threads = [threading.Thread(target=ensure) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    # Then every caller got the same rows
    assert len(results) == 4
    assert len(set(results)) == 1


def test_project_lookup_by_id_and_name(store: SqlMetaStore):
    # Given one project
    project = store.ensure_project(store.ensure_organization("default").id, "default")
    # Then it is found by id and by name, and unknown ones are None
    assert store.get_project(project.id) == project
    assert store.find_project_by_name("default") == project
    assert store.get_project("missing") is None
    assert store.find_project_by_name("missing") is None


def test_add_find_list_and_revoke_api_keys(store: SqlMetaStore):
    # Given a project with two keys
    project = store.ensure_project(store.ensure_organization("o").id, "p")
    first = make_key(project.id, note="ci")
    second = make_key(project.id)
    store.add_api_key(first)
    store.add_api_key(second)
    # When one is looked up
    found = store.find_api_key(first.public_key)
    # Then it round-trips field by field
    assert found is not None
    assert replace(found, created_at=first.created_at) == first
    assert abs((found.created_at - first.created_at).total_seconds()) < 0.001
    assert [k.public_key for k in store.list_api_keys(project.id)] == [first.public_key, second.public_key]
    assert store.find_api_key("pk-sg-unknown") is None
    # When the first is revoked (twice)
    assert store.revoke_api_key(first.public_key) is True
    revoked = store.find_api_key(first.public_key)
    assert revoked is not None and revoked.revoked_at is not None
    assert store.revoke_api_key(first.public_key) is True
    # Then it stays listed, marked revoked with its first revocation time; the other is untouched
    again = store.find_api_key(first.public_key)
    assert again is not None and again.revoked_at == revoked.revoked_at
    listed = {k.public_key: k for k in store.list_api_keys(project.id)}
    assert listed[first.public_key].revoked_at is not None
    assert listed[second.public_key].revoked_at is None
    # And an unknown key cannot be revoked
    assert store.revoke_api_key("pk-sg-unknown") is False


def test_duplicate_public_key_is_a_conflict(store: SqlMetaStore):
    # Given a stored key
    project = store.ensure_project(store.ensure_organization("o").id, "p")
    key = make_key(project.id)
    store.add_api_key(key)
    # When another key with the same public key is added
    # Then Conflict, and the original is unchanged
    with pytest.raises(Conflict):
        store.add_api_key(make_key(project.id, public_key=key.public_key))
    assert store.find_api_key(key.public_key) == store.list_api_keys(project.id)[0]
    assert len(store.list_api_keys(project.id)) == 1


def test_key_for_unknown_project_is_not_found(store: SqlMetaStore):
    with pytest.raises(NotFound):
        store.add_api_key(make_key("no-such-project"))


def test_sqlite_cli_and_server_share_one_file(tmp_path: Path):
    # Given a "server" store on a SQLite file, holding an open read transaction
    url = f"sqlite:///{tmp_path / 'meta.db'}"
    server = make_meta_store(url)
    server.migrate()
    project = server.ensure_project(server.ensure_organization("default").id, "default")
    cli = make_meta_store(url)
    with server.engine.connect() as reader:
        reader.exec_driver_sql("BEGIN")
        assert reader.exec_driver_sql("SELECT count(*) FROM api_keys").scalar() == 0
        # When the "CLI" writes a key meanwhile
        key = make_key(project.id)
        cli.add_api_key(key)
        # Then the write succeeded without waiting for the reader (WAL mode)
        assert reader.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        reader.exec_driver_sql("COMMIT")
    # And the server sees it, and the CLI sees the server's writes
    assert server.find_api_key(key.public_key) == key
    other = server.ensure_project(server.ensure_organization("default").id, "second")
    assert cli.get_project(other.id) == other
    server.close()
    cli.close()


def test_unreachable_postgres_is_store_unavailable():
    # Given a store pointing at a port where nothing listens
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    meta = make_meta_store(f"postgresql://nobody@127.0.0.1:{port}/none")
    # Then every operation fails with the retryable StoreUnavailable (503)
    with pytest.raises(StoreUnavailable) as info:
        meta.find_api_key("pk-sg-x")
    assert info.value.status == 503
    with pytest.raises(StoreUnavailable):
        meta.migrate()
    meta.close()


def test_unmigrated_sqlite_is_store_unavailable(tmp_path: Path):
    # Given a store whose schema was never migrated
    meta = make_meta_store(f"sqlite:///{tmp_path / 'empty.db'}")
    # Then reads fail as StoreUnavailable rather than a raw driver error
    with pytest.raises(StoreUnavailable):
        meta.list_projects()
    meta.close()


def test_factory_rejects_unknown_schemes():
    with pytest.raises(InvalidRequest, match="unsupported metadata store URL"):
        make_meta_store("mysql://x/y")


@pytest.mark.postgres
def test_postgres_store_recovers_after_its_connections_are_dropped(fresh_postgres_url: str):
    # Given a store with a pooled connection and a stored key
    meta = make_meta_store(fresh_postgres_url)
    meta.migrate()
    project = meta.ensure_project(meta.ensure_organization("o").id, "p")
    key = make_key(project.id)
    meta.add_api_key(key)
    # When the server terminates every session of that database (a restart, a failover)
    database = sa.make_url(fresh_postgres_url).database
    admin = sa.create_engine(fresh_postgres_url.rsplit("/", 1)[0] + "/postgres")
    with admin.connect() as conn:
        conn.execute(
            sa.text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = :db"),
            {"db": database},
        )
    admin.dispose()
    # Then at most one call fails, and retryably; the next one finds the key again
    # (whether the first call sees the dead connection depends on when the backend exits)
    with contextlib.suppress(StoreUnavailable):
        meta.find_api_key(key.public_key)
    assert meta.find_api_key(key.public_key) == key
    meta.close()


def test_in_memory_sqlite_works_for_quick_experiments():
    # Given an in-memory store (one shared connection)
    meta = make_meta_store("sqlite://")
    meta.migrate()
    # Then it behaves like a file store
    project = meta.ensure_project(meta.ensure_organization("o").id, "p")
    assert meta.list_projects() == [project]
    meta.close()
