"""MetaStore port: organisations, projects, API keys and project models (later prompts, datasets…).

SQLAlchemy 2 over SQLite or PostgreSQL (Aurora through the Data API in the cloud), one set of
Alembic migrations for all.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from skyglass.domain.pricing_models import ModelPrice


@dataclass(frozen=True, slots=True)
class Organization:
    id: str
    name: str
    created_at: datetime


@dataclass(frozen=True, slots=True)
class Project:
    id: str
    name: str
    org_id: str
    org_name: str
    created_at: datetime
    metadata: dict[str, Any] = field(default_factory=dict)
    retention_days: int | None = None


@dataclass(frozen=True, slots=True)
class StoredApiKey:
    """A key pair as stored: the secret only as ``secret_hash`` (see ``domain.keys``)."""

    id: str
    project_id: str
    public_key: str
    secret_hash: str  # "<scheme>$<salt>$<hash>", see domain.keys.hash_secret
    display_secret_key: str
    created_at: datetime
    note: str | None = None
    revoked_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class StoredModel:
    """A project's own model price definition as stored (``model.project_id`` is set).

    The Langfuse-managed models are not stored: they come from the shipped price table.
    """

    model: ModelPrice
    created_at: datetime
    updated_at: datetime


class MetaStore(Protocol):
    def migrate(self) -> None:
        """Bring the schema to head (Alembic ``upgrade head``); safe at every start."""

    def ensure_organization(self, name: str) -> Organization:
        """The organisation with this name, created if missing."""

    def ensure_project(self, org_id: str, name: str) -> Project:
        """The project with this name in the organisation, created if missing."""

    def get_project(self, project_id: str) -> Project | None: ...

    def find_project_by_name(self, name: str) -> Project | None:
        """First project with this name (any organisation), oldest first."""

    def list_projects(self) -> list[Project]: ...

    def add_api_key(self, key: StoredApiKey) -> None:
        """Insert a key; raises ``errors.Conflict`` if the public key exists."""

    def find_api_key(self, public_key: str) -> StoredApiKey | None:
        """The key with this public key (revoked ones included: callers check ``revoked_at``)."""

    def list_api_keys(self, project_id: str) -> list[StoredApiKey]: ...

    def revoke_api_key(self, public_key: str) -> bool:
        """Mark a key revoked; returns False when there is no such key."""

    def list_models(self, project_id: str) -> list[StoredModel]:
        """The project's own models, by model name then id."""

    def get_model(self, project_id: str, model_id: str) -> StoredModel | None:
        """One of the project's own models; None when missing or owned by another project."""

    def put_model(self, project_id: str, model: ModelPrice) -> StoredModel:
        """Insert ``model`` under ``model.id``, or replace the project's model with that id.

        ``created_at`` survives a replace. Raises ``errors.Conflict`` when another model of the
        project has the same (model name, start date, unit), ``errors.NotFound`` when the id
        belongs to another project or the project does not exist.
        """

    def delete_model(self, project_id: str, model_id: str) -> bool:
        """Delete one of the project's own models; False when it has no model with this id."""

    def close(self) -> None: ...
