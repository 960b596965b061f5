"""Project models: custom model prices with their pricing tiers (``GET|POST|PUT|DELETE /models``).

One row per model, tiers (with their conditions and prices) in a JSON column: every read wants
whole models, so this is one query on any engine (one Data API call on Aurora) and a replace is
one row update. ``start_key`` is ``start_date`` as text ('' when absent) so that the unique key
(project, model name, start date, unit) also holds for undated models on SQLite and PostgreSQL.

Revision ID: 0002
Revises: 0001
Create Date: 2025-02-01 00:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Create ``models`` with the constraint names of ``adapters/meta/tables.py``."""
    op.create_table(
        "models",
        sa.Column("id", sa.String(255), nullable=False),
        sa.Column("project_id", sa.String(64), nullable=False),
        sa.Column("model_name", sa.String(255), nullable=False),
        sa.Column("match_pattern", sa.Text(), nullable=False),
        sa.Column("start_date", sa.DateTime(timezone=True), nullable=True),
        sa.Column("start_key", sa.String(40), nullable=False),
        sa.Column("unit", sa.String(32), nullable=False),
        sa.Column("tokenizer_id", sa.String(32), nullable=True),
        sa.Column("tokenizer_config", sa.JSON(none_as_null=True), nullable=True),
        sa.Column("pricing_tiers", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_models"),
        sa.ForeignKeyConstraint(
            ["project_id"],
            ["projects.id"],
            name="fk_models_project_id_projects",
            ondelete="CASCADE",
        ),
        sa.UniqueConstraint(
            "project_id",
            "model_name",
            "start_key",
            "unit",
            name="uq_models_project_id_model_name_start_key_unit",
        ),
    )


def downgrade() -> None:
    op.drop_table("models")
