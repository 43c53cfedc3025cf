"""Servers starting together on a new PostgreSQL database migrate one after the other."""

from __future__ import annotations

import threading

import sqlalchemy as sa

from api.store import make_engine, migrate
from tests.api.conftest import _reset_postgres


def test_concurrent_migrations_on_postgres(postgres_url: str) -> None:
    """Four servers migrating a new database at the same moment, three times over: every one
    succeeds (an advisory lock orders them) and the schema is current once."""
    for _ in range(3):
        _reset_postgres(postgres_url)
        engines = [make_engine(postgres_url) for _ in range(4)]
        for e in engines:  # connect first, so the migrations start together
            with e.connect():
                pass
        barrier = threading.Barrier(len(engines))
        errors: list[BaseException] = []

        def run(engine: sa.Engine, barrier: threading.Barrier, errors: list[BaseException]) -> None:
            barrier.wait()
            try:
                migrate(engine)
            except BaseException as exc:
                errors.append(exc)

        threads = [threading.Thread(target=run, args=(e, barrier, errors)) for e in engines]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        with engines[0].connect() as c:
            versions = c.execute(sa.text("SELECT count(*) FROM alembic_version")).scalar()
        for e in engines:
            e.dispose()
        assert not errors, [f"{type(e).__name__}: {str(e)[:200]}" for e in errors]
        assert versions == 1
