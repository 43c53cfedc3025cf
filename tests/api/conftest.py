"""Fixtures of the API tests: settings with a fake solver, a TestClient, databases.

The store tests run against SQLite always and against PostgreSQL when
``TRADELANE_TEST_POSTGRES_URL`` is set (``.ci/run`` sets it); nothing is mocked.
"""

from __future__ import annotations

import copy
import json
import os
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from api.config import Settings, normalise_database_url
from api.main import create_app

KEYS = {"acme": "acme-key-0123456789", "beta": "beta-key-0123456789"}
FAKE = "tests.api.solvers:fake_plan"
PG_ENV = "TRADELANE_TEST_POSTGRES_URL"


def auth(tenant: str = "acme") -> dict[str, str]:
    """The Authorization header of a test tenant."""
    return {"Authorization": f"Bearer {KEYS[tenant]}"}


def make_settings(db_url: str, **overrides: Any) -> Settings:
    """Settings for tests: the fake solver, fast polling, generous rate limits."""
    base: dict[str, Any] = {
        "database_url": db_url,
        "api_keys": ",".join(f"{t}:{k}" for t, k in KEYS.items()),
        "solver": FAKE,
        "poll_interval_s": 0.05,
        "rate_per_s": 1000.0,
        "rate_burst": 1000,
        "kill_grace_s": 5,
        "default_time_limit_s": 10,
        "max_time_limit_s": 600,
    }
    base.update(overrides)
    return Settings(**base)


def wait_for(fn: Callable[[], Any], *, timeout: float = 20.0, every: float = 0.05) -> Any:
    """Poll ``fn`` until it returns something truthy; fail after ``timeout`` seconds."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        got = fn()
        if got:
            return got
        time.sleep(every)
    raise AssertionError(f"condition not met within {timeout} s")


@pytest.fixture(scope="session")
def tiny_scenario(data_dir: Path) -> dict[str, Any]:
    """The tiny Malaysian scenario as a decoded document."""
    return json.loads((data_dir / "tiny-my.json").read_text())


@pytest.fixture
def scenario(tiny_scenario: dict[str, Any]) -> dict[str, Any]:
    """A fresh, mutable copy of the tiny scenario."""
    return copy.deepcopy(tiny_scenario)


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    """A new SQLite database file."""
    return f"sqlite:///{tmp_path / 'jobs.db'}"


def _worker_database(url: str) -> str:
    """The PostgreSQL URL of this test process: under pytest-xdist (``make test`` runs the
    suite on every core) each worker gets a database of its own, made on first use, so that
    one worker's emptying of the tables never meets another's tests."""
    worker = os.environ.get("PYTEST_XDIST_WORKER")
    if not worker:
        return url
    base = sa.engine.make_url(url)
    name = f"{base.database or 'postgres'}_{worker}"
    engine = sa.create_engine(base, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            exists = conn.execute(
                sa.text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name}
            ).scalar()
            if not exists:
                conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    finally:
        engine.dispose()
    return base.set(database=name).render_as_string(hide_password=False)


def _reset_postgres(url: str) -> None:
    """Drop every table (whatever the migrations have made so far)."""
    engine = sa.create_engine(url)
    meta = sa.MetaData()
    meta.reflect(engine)
    meta.drop_all(engine)
    engine.dispose()


@pytest.fixture(params=["sqlite", "postgres"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """Each store test runs on SQLite, and on PostgreSQL when the CI provides one."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'store.db'}"
    url = os.environ.get(PG_ENV)
    if not url:
        pytest.skip(f"{PG_ENV} not set (.ci/run sets it)")
    url = _worker_database(normalise_database_url(url))
    _reset_postgres(url)  # a real server: fails loudly if it is not reachable
    return url


@pytest.fixture
def postgres_url() -> str:
    """An emptied PostgreSQL database from the CI (the test is skipped without one)."""
    url = os.environ.get(PG_ENV)
    if not url:
        pytest.skip(f"{PG_ENV} not set (.ci/run sets it)")
    url = _worker_database(normalise_database_url(url))
    _reset_postgres(url)
    return url


@pytest.fixture
def client_factory(sqlite_url: str) -> Iterator[Callable[..., TestClient]]:
    """Build started TestClients over one SQLite file; all are closed at the end."""
    opened: list[TestClient] = []

    def make(
        *, run_jobs: bool = True, raise_server_exceptions: bool = True, **overrides: Any
    ) -> TestClient:
        app = create_app(make_settings(sqlite_url, **overrides), run_jobs=run_jobs)
        c = TestClient(app, raise_server_exceptions=raise_server_exceptions)
        c.__enter__()
        opened.append(c)
        return c

    yield make
    for c in reversed(opened):
        c.__exit__(None, None, None)


@pytest.fixture
def client(client_factory: Callable[..., TestClient]) -> TestClient:
    """A started TestClient with the fake solver and one worker process."""
    return client_factory()
