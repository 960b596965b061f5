"""``SqlMetaStore``: the MetaStore port over SQLAlchemy 2 Core, on SQLite or PostgreSQL.

Every method opens its own short transaction, so one store is safe to share between threads and
a second process (``skyglass keys create``) can write to the same SQLite file meanwhile.
``ensure_*`` are insert-or-read: a unique-constraint violation means another process won the
race, and the row is simply read back.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy import exc

from skyglass.adapters.meta.engine import guard, make_engine, upgrade_to_head
from skyglass.adapters.meta.models_store import ModelStoreMixin
from skyglass.adapters.meta.tables import api_keys, organizations, projects
from skyglass.errors import Conflict, NotFound, StoreUnavailable
from skyglass.ports.meta import Organization, Project, StoredApiKey

_PROJECT_COLUMNS = (
    projects.c.id,
    projects.c.name,
    projects.c.org_id,
    organizations.c.name.label("org_name"),
    projects.c.created_at,
    projects.c.metadata,
    projects.c.retention_days,
)
_KEY_COLUMNS = (
    api_keys.c.id,
    api_keys.c.project_id,
    api_keys.c.public_key,
    api_keys.c.secret_hash,
    api_keys.c.display_secret_key,
    api_keys.c.created_at,
    api_keys.c.note,
    api_keys.c.revoked_at,
)


def new_id() -> str:
    """A readable, unique, URL-safe id (32 hex characters)."""
    return uuid.uuid4().hex


def _utc(value: datetime) -> datetime:
    # SQLite hands back naive datetimes (we only ever store UTC); PostgreSQL the session zone.
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _org(row: Any) -> Organization:
    return Organization(id=row.id, name=row.name, created_at=_utc(row.created_at))


def _project(row: Any) -> Project:
    return Project(
        id=row.id,
        name=row.name,
        org_id=row.org_id,
        org_name=row.org_name,
        created_at=_utc(row.created_at),
        metadata=dict(row.metadata or {}),
        retention_days=row.retention_days,
    )


def _key(row: Any) -> StoredApiKey:
    return StoredApiKey(
        id=row.id,
        project_id=row.project_id,
        public_key=row.public_key,
        secret_hash=row.secret_hash,
        display_secret_key=row.display_secret_key,
        created_at=_utc(row.created_at),
        note=row.note,
        revoked_at=_utc(row.revoked_at) if row.revoked_at is not None else None,
    )


class SqlMetaStore(ModelStoreMixin):
    """Implements ``ports.meta.MetaStore``. ``url``: any SQLAlchemy URL (sqlite, postgresql+psycopg).

    Project models (``list_models`` … ``delete_model``) come from ``ModelStoreMixin``.
    """

    def __init__(self, url: str):
        self.url = url
        self._engine = make_engine(url)

    @property
    def engine(self) -> sa.Engine:
        return self._engine

    def migrate(self) -> None:
        """Alembic ``upgrade head``; idempotent and safe when several processes start at once."""
        with guard("migrate the schema"):
            upgrade_to_head(self._engine)

    # -- organisations and projects -------------------------------------------------------------

    def ensure_organization(self, name: str) -> Organization:
        """The organisation with this name, created if missing (race-safe)."""
        found = self._find_org(name)
        if found is not None:
            return found
        row = {"id": new_id(), "name": name, "created_at": datetime.now(UTC)}
        try:
            with guard("create an organization"), self._engine.begin() as conn:
                conn.execute(organizations.insert().values(**row))
        except exc.IntegrityError:
            pass  # another process created it meanwhile: read theirs
        found = self._find_org(name)
        if found is None:  # pragma: no cover - would need a concurrent delete
            raise StoreUnavailable(f"organization {name!r} vanished while being created")
        return found

    def ensure_project(self, org_id: str, name: str) -> Project:
        """The project with this name in the organisation, created if missing (race-safe).

        Raises ``NotFound`` when the organisation does not exist.
        """
        found = self._one_project(sa.and_(projects.c.org_id == org_id, projects.c.name == name))
        if found is not None:
            return found
        row: dict[str, Any] = {
            "id": new_id(),
            "org_id": org_id,
            "name": name,
            "metadata": {},
            "retention_days": None,
            "created_at": datetime.now(UTC),
        }
        try:
            with guard("create a project"), self._engine.begin() as conn:
                conn.execute(projects.insert().values(**row))
        except exc.IntegrityError:
            pass  # a concurrent insert won, or org_id is unknown: the re-read tells which
        found = self._one_project(sa.and_(projects.c.org_id == org_id, projects.c.name == name))
        if found is None:
            raise NotFound(f"organization not found: {org_id}")
        return found

    def get_project(self, project_id: str) -> Project | None:
        return self._one_project(projects.c.id == project_id)

    def find_project_by_name(self, name: str) -> Project | None:
        """First project with this name (any organisation), oldest first."""
        return self._one_project(projects.c.name == name)

    def list_projects(self) -> list[Project]:
        """Every project, oldest first."""
        query = self._project_query().order_by(projects.c.created_at, projects.c.id)
        with guard("list projects"), self._engine.connect() as conn:
            return [_project(row) for row in conn.execute(query)]

    # -- API keys -------------------------------------------------------------------------------

    def add_api_key(self, key: StoredApiKey) -> None:
        """Insert a key; ``Conflict`` if the public key exists, ``NotFound`` if the project does not."""
        row: dict[str, Any] = {
            "id": key.id or new_id(),
            "project_id": key.project_id,
            "public_key": key.public_key,
            "secret_hash": key.secret_hash,
            "display_secret_key": key.display_secret_key,
            "note": key.note,
            "created_at": key.created_at,
            "revoked_at": key.revoked_at,
        }
        try:
            with guard("add an API key"), self._engine.begin() as conn:
                conn.execute(api_keys.insert().values(**row))
        except exc.IntegrityError as error:
            if self.find_api_key(key.public_key) is not None:
                raise Conflict(f"public key already exists: {key.public_key}") from error
            if self.get_project(key.project_id) is None:
                raise NotFound(f"project not found: {key.project_id}") from error
            raise Conflict(f"API key id already exists: {key.id}") from error

    def find_api_key(self, public_key: str) -> StoredApiKey | None:
        """The key with this public key, revoked or not: one lookup on the unique index."""
        query = sa.select(*_KEY_COLUMNS).where(api_keys.c.public_key == public_key)
        with guard("look up an API key"), self._engine.connect() as conn:
            row = conn.execute(query).first()
        return _key(row) if row is not None else None

    def list_api_keys(self, project_id: str) -> list[StoredApiKey]:
        """The project's keys, oldest first, revoked ones included."""
        query = (
            sa.select(*_KEY_COLUMNS)
            .where(api_keys.c.project_id == project_id)
            .order_by(api_keys.c.created_at, api_keys.c.id)
        )
        with guard("list API keys"), self._engine.connect() as conn:
            return [_key(row) for row in conn.execute(query)]

    def revoke_api_key(self, public_key: str) -> bool:
        """Mark a key revoked (the first revocation time is kept); False when there is no such key."""
        update = (
            api_keys.update()
            .where(api_keys.c.public_key == public_key, api_keys.c.revoked_at.is_(None))
            .values(revoked_at=datetime.now(UTC))
        )
        with guard("revoke an API key"), self._engine.begin() as conn:
            if conn.execute(update).rowcount:
                return True
        return self.find_api_key(public_key) is not None

    def close(self) -> None:
        """Release pooled connections (the engine reconnects if used again)."""
        self._engine.dispose()

    # -- helpers --------------------------------------------------------------------------------

    def _find_org(self, name: str) -> Organization | None:
        query = sa.select(organizations).where(organizations.c.name == name)
        with guard("read an organization"), self._engine.connect() as conn:
            row = conn.execute(query).first()
        return _org(row) if row is not None else None

    @staticmethod
    def _project_query() -> sa.Select[Any]:
        return sa.select(*_PROJECT_COLUMNS).join_from(
            projects, organizations, projects.c.org_id == organizations.c.id
        )

    def _one_project(self, where: sa.ColumnElement[bool]) -> Project | None:
        query = self._project_query().where(where).order_by(projects.c.created_at, projects.c.id).limit(1)
        with guard("read a project"), self._engine.connect() as conn:
            row = conn.execute(query).first()
        return _project(row) if row is not None else None
