"""Alembic environment of the metadata store.

At runtime ``SqlMetaStore.migrate`` passes an open connection (already inside a locked transaction)
in ``config.attributes["connection"]``, so migrations share its lock and never read an ini file.
For development (``alembic revision --autogenerate``) a URL may come from the config's
``sqlalchemy.url`` or from ``SKYGLASS_META_URL``.
"""

from __future__ import annotations

import os

import sqlalchemy as sa
from alembic import context

from skyglass.adapters.meta.tables import metadata

config = context.config


def _configure(connection: sa.Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=metadata,
        # SQLite cannot ALTER most things; batch mode rebuilds the table instead.
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )


def run_offline() -> None:
    """``alembic upgrade --sql``: print the DDL instead of running it."""
    context.configure(
        url=config.get_main_option("sqlalchemy.url") or os.environ.get("SKYGLASS_META_URL"),
        target_metadata=metadata,
        literal_binds=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_online() -> None:
    """Migrate over the caller's connection, or one opened from the configured URL."""
    connection = config.attributes.get("connection")
    if connection is not None:
        _configure(connection)
        with context.begin_transaction():
            context.run_migrations()
        return
    url = config.get_main_option("sqlalchemy.url") or os.environ.get("SKYGLASS_META_URL")
    if not url:
        raise RuntimeError("no database: set sqlalchemy.url or SKYGLASS_META_URL")
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            _configure(conn)
            with context.begin_transaction():
                context.run_migrations()
    finally:
        engine.dispose()


if context.is_offline_mode():
    run_offline()
else:
    run_online()
