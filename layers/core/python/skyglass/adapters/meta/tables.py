"""Metadata schema as SQLAlchemy Core tables: the store queries these, Alembic autogenerates from them.

The migrations in ``skyglass/migrations/meta/versions`` are the source of truth for the database;
these definitions must stay in step with them (the contract tests compare the two).
Timestamps are stored in UTC; SQLite drops the offset, so the store re-attaches it on read.
"""

from __future__ import annotations

import sqlalchemy as sa

# Stable constraint names so Alembic can alter them later on both engines.
NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

metadata = sa.MetaData(naming_convention=NAMING)

organizations = sa.Table(
    "organizations",
    metadata,
    sa.Column("id", sa.String(64), primary_key=True),
    sa.Column("name", sa.String(255), nullable=False, unique=True),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
)

projects = sa.Table(
    "projects",
    metadata,
    sa.Column("id", sa.String(64), primary_key=True),
    sa.Column("org_id", sa.String(64), sa.ForeignKey("organizations.id", ondelete="CASCADE"), nullable=False),
    sa.Column("name", sa.String(255), nullable=False),
    sa.Column("metadata", sa.JSON(), nullable=False, server_default=sa.text("'{}'")),
    sa.Column("retention_days", sa.Integer(), nullable=True),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.UniqueConstraint("org_id", "name"),
    sa.Index("ix_projects_name", "name"),
)

api_keys = sa.Table(
    "api_keys",
    metadata,
    sa.Column("id", sa.String(64), primary_key=True),
    sa.Column("project_id", sa.String(64), sa.ForeignKey("projects.id", ondelete="CASCADE"), nullable=False),
    # The unique constraint is also the index of the hot auth lookup (find_api_key).
    sa.Column("public_key", sa.String(255), nullable=False, unique=True),
    sa.Column("secret_hash", sa.String(255), nullable=False),
    sa.Column("display_secret_key", sa.String(64), nullable=False),
    sa.Column("note", sa.Text(), nullable=True),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
    sa.Column("last_used_at", sa.DateTime(timezone=True), nullable=True),
    sa.Index("ix_api_keys_project_id", "project_id"),
)

# A project's own model prices (the Langfuse-managed ones ship as package data, never stored).
# One row per model with its tiers as JSON: every read wants whole models (the API, the worker's
# per-project cache), so one row beats joining tiers and prices (one Data API call, not three),
# and PUT replaces a model atomically. Tier rules (one default, unique names and priorities) are
# checked by the use case before writing.
models = sa.Table(
    "models",
    metadata,
    sa.Column("id", sa.String(255), primary_key=True),
    sa.Column("project_id", sa.String(64), sa.ForeignKey("projects.id", ondelete="CASCADE"), nullable=False),
    sa.Column("model_name", sa.String(255), nullable=False),
    sa.Column("match_pattern", sa.Text(), nullable=False),
    sa.Column("start_date", sa.DateTime(timezone=True), nullable=True),
    # start_date as UTC ISO text, '' when absent: in the unique key NULLs would never collide.
    sa.Column("start_key", sa.String(40), nullable=False),
    sa.Column("unit", sa.String(32), nullable=False),
    sa.Column("tokenizer_id", sa.String(32), nullable=True),
    sa.Column("tokenizer_config", sa.JSON(none_as_null=True), nullable=True),
    sa.Column("pricing_tiers", sa.JSON(), nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    # Also the index of every read, which filters on project_id.
    sa.UniqueConstraint("project_id", "model_name", "start_key", "unit"),
)
