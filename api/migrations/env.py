"""Alembic environment: migrate the connection handed over by ``api.store.migrate``.

Run from Python (``migrate(engine)``) the connection comes in ``config.attributes``; run by the
``alembic`` command the URL comes from ``sqlalchemy.url`` or ``TRADELANE_DATABASE_URL``.
"""

from __future__ import annotations

import os

import sqlalchemy as sa
from alembic import context

import api.network_store  # noqa: F401  (its tables join Base.metadata)
from api.config import normalise_database_url
from api.store import Base

target_metadata = Base.metadata


def _run(connection: sa.Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",  # SQLite cannot ALTER much
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    """Migrate the given connection, or one opened from the configured URL."""
    conn = context.config.attributes.get("connection")
    if conn is not None:
        _run(conn)
        return
    url = context.config.get_main_option("sqlalchemy.url") or os.environ.get(
        "TRADELANE_DATABASE_URL", "sqlite:///./tradelane.db"
    )
    engine = sa.create_engine(normalise_database_url(url))
    with engine.begin() as c:
        _run(c)


if context.is_offline_mode():  # pragma: no cover - SQL scripts are not part of the workflow
    raise SystemExit("offline migrations are not supported; run against a database")
run_migrations_online()
