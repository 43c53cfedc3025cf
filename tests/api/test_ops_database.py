"""The service when its database is in trouble: health, 503s instead of 500s or hangs, logs."""

from __future__ import annotations

import logging
import sqlite3
import time
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

import api.store
from api.console import CSRF_COOKIE
from api.store import make_engine
from tests.api.conftest import KEYS, auth


def _post(client: Any, scenario: dict[str, Any]) -> Any:
    return client.post("/v1/plans", json={"scenario": scenario}, headers=auth())


@pytest.fixture
def short_busy(monkeypatch: pytest.MonkeyPatch) -> None:
    """SQLite waits 0.3 s for a lock (not the service's default), to keep the tests fast."""
    monkeypatch.setattr(api.store, "SQLITE_BUSY_TIMEOUT_S", 0.3)


def test_locked_sqlite_is_degraded_and_503(client_factory, sqlite_url, scenario, short_busy):
    """Another process holding the SQLite file's write lock: /healthz is 503 "degraded" naming
    the lock, and POST /v1/plans answers 503 with Retry-After at the end of the busy timeout
    instead of a 500 "internal error" after 30 s."""
    client = client_factory(run_jobs=False)
    other = sqlite3.connect(sqlite_url.removeprefix("sqlite:///"), isolation_level=None)
    other.execute("BEGIN EXCLUSIVE")
    try:
        h = client.get("/healthz")
        assert h.status_code == 503
        assert h.json()["status"] == "degraded" and h.json()["database"] == "unavailable"
        assert "locked" in h.json()["reason"]
        t0 = time.monotonic()
        r = _post(client, scenario)
        assert time.monotonic() - t0 < 3
        assert r.status_code == 503 and r.headers["Retry-After"]
        assert r.json()["detail"] == "database unavailable; retry later"
    finally:
        other.execute("ROLLBACK")
        other.close()
    assert client.get("/healthz").json()["database"] == "ok"


def test_console_page_says_the_database_is_unavailable(
    client_factory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A console page while the database fails (here: the store's read raises SQLAlchemy's
    OperationalError, as a server gone away does): a 503 HTML page saying so, with
    Retry-After; the API's JSON body was shown to the planner before."""
    client = client_factory(run_jobs=False)
    tok = client.get("/login") and client.cookies[CSRF_COOKIE]
    r = client.post("/login", data={"key": KEYS["acme"], "csrf": tok}, follow_redirects=False)
    assert r.status_code == 303
    store = client.app.state.store

    def gone(*_a: Any, **_k: Any) -> Any:
        raise sa.exc.OperationalError("SELECT 1", {}, Exception("server closed the connection"))

    with monkeypatch.context() as m:
        m.setattr(store, "list", gone)
        page = client.get("/plans")
        api = client.get("/v1/plans", headers=auth())
    assert page.status_code == 503 and page.headers["Retry-After"]
    assert page.headers["content-type"].startswith("text/html")
    assert "database is unavailable" in page.text and "retry later" not in page.text
    assert api.status_code == 503 and api.json()["detail"] == "database unavailable; retry later"
    assert client.get("/plans").status_code == 200


def test_moved_sqlite_file_is_degraded_and_refused(client_factory, sqlite_url, scenario):
    """The database file moved away (with its -wal and -shm): /healthz is 503 naming the file,
    and a POST is refused with 503 instead of being accepted into the unlinked file."""
    client = client_factory(run_jobs=False)
    assert _post(client, scenario).status_code == 202
    db = Path(sqlite_url.removeprefix("sqlite:///"))
    for suffix in ("", "-wal", "-shm"):
        f = Path(f"{db}{suffix}")
        if f.exists():
            f.rename(f"{f}.moved")
    h = client.get("/healthz")
    assert h.status_code == 503 and "missing" in h.json()["reason"]
    r = _post(client, scenario)
    assert r.status_code == 503 and r.headers["Retry-After"]
    assert not db.exists()  # nothing created in its place


def test_queue_bound_and_depth(client_factory, scenario):
    """With TRADELANE_MAX_QUEUED=2, a third queued job is refused with 503 and Retry-After;
    /healthz shows the queue depth."""
    client = client_factory(run_jobs=False, max_queued=2)
    assert [_post(client, scenario).status_code for _ in range(2)] == [202, 202]
    r = _post(client, scenario)
    assert r.status_code == 503 and r.headers["Retry-After"]
    assert "queue is full" in r.json()["detail"]
    assert client.get("/healthz").json()["queued"] == 2


def test_sql_parameters_are_not_in_errors(tmp_path: Path) -> None:
    """A failed statement's error (and so its log line) leaves out the bound values: they carry
    tenants' request bodies."""
    engine = make_engine(f"sqlite:///{tmp_path / 'x.db'}")
    with pytest.raises(sa.exc.OperationalError) as err, engine.connect() as c:
        c.execute(sa.text("INSERT INTO nowhere VALUES (:v)"), {"v": "tenant-secret-body"})
    assert "tenant-secret-body" not in str(err.value)
    engine.dispose()


def test_internal_error_logged_once(client_factory, caplog) -> None:
    """An unhandled exception is answered 500 "internal error" and logged once, by the app:
    it does not reach the server, which logged it a second time."""
    client = client_factory(run_jobs=False)

    def boom() -> None:
        raise RuntimeError("boom")

    client.app.add_api_route("/v1/boom", boom)  # type: ignore[attr-defined]
    with caplog.at_level(logging.ERROR):
        r = client.get("/v1/boom")  # the client re-raises what reaches the server
    assert r.status_code == 500 and r.json() == {"detail": "internal error"}
    assert len([rec for rec in caplog.records if "boom" in rec.getMessage() or rec.exc_info]) == 1


def test_internal_error_on_a_console_page_is_a_page(client_factory) -> None:
    """The same on a console path is a plain HTML page (the API's JSON body was shown to the
    planner), without the error's text."""
    client = client_factory(run_jobs=False)

    def boom() -> None:
        raise RuntimeError("secret boom")

    client.app.add_api_route("/boom-page", boom)  # type: ignore[attr-defined]
    r = client.get("/boom-page")
    assert r.status_code == 500 and r.headers["content-type"].startswith("text/html")
    assert "went wrong on the server" in r.text and "secret" not in r.text


def test_unreachable_postgres_is_503(client_factory, scenario) -> None:
    """A PostgreSQL server that stopped answering: POST is 503 with Retry-After (not a 500) and
    /healthz names the connection failure."""
    from api.store import JobStore

    client = client_factory(run_jobs=False)
    dead = make_engine("postgresql+psycopg://u:pw@127.0.0.1:1/db")  # nothing listens on port 1
    client.app.state.store = JobStore(dead)  # type: ignore[attr-defined]
    r = _post(client, scenario)
    assert r.status_code == 503 and r.headers["Retry-After"]
    h = client.get("/healthz").json()
    assert h["database"] == "unavailable" and "connection" in h["reason"]
    assert "pw" not in h["reason"]


def test_healthz_answers_promptly_when_postgres_is_stuck(postgres_url: str) -> None:
    """Another session holding an exclusive lock on the jobs table (a stuck migration, an
    operator's LOCK TABLE): /healthz's count gives up after its statement timeout and answers
    503 naming it within a few seconds, instead of hanging until the lock goes."""
    import threading

    from fastapi.testclient import TestClient

    from api.main import create_app
    from tests.api.conftest import make_settings

    with TestClient(create_app(make_settings(postgres_url), run_jobs=False)) as client:
        assert client.get("/healthz").json()["database"] == "ok"
        locker = sa.create_engine(postgres_url)
        got: list[Any] = []
        with locker.connect() as conn:
            conn.execute(sa.text("LOCK TABLE jobs IN ACCESS EXCLUSIVE MODE"))
            t0 = time.monotonic()
            asker = threading.Thread(target=lambda: got.append(client.get("/healthz")))
            asker.start()
            asker.join(15)
            elapsed = time.monotonic() - t0
            conn.rollback()  # releases the lock (a hanging check then returns)
        asker.join(30)
        locker.dispose()
        assert elapsed < 5, f"/healthz took {elapsed:.1f} s with the jobs table locked"
        h = got[0]
        assert h.status_code == 503
        assert h.json()["database"] == "unavailable"
        assert "statement timeout" in h.json()["reason"]
        assert client.get("/healthz").json()["database"] == "ok"


def test_a_postgres_server_that_never_answers_times_out(
    client_factory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A server that accepts the TCP connection but never speaks (a hung PostgreSQL, a firewall
    that swallows packets): /healthz answers 503 after the connect timeout instead of hanging."""
    import socket

    from api.store import JobStore

    monkeypatch.setattr(api.store, "PG_CONNECT_TIMEOUT_S", 2)
    with socket.socket() as mute:
        mute.bind(("127.0.0.1", 0))
        mute.listen(8)  # the kernel completes the handshake; nothing ever answers
        port = mute.getsockname()[1]
        client = client_factory(run_jobs=False)
        engine = make_engine(f"postgresql+psycopg://u:pw@127.0.0.1:{port}/db")
        client.app.state.store = JobStore(engine)  # type: ignore[attr-defined]
        t = time.perf_counter()
        r = client.get("/healthz")
        took = time.perf_counter() - t
    assert r.status_code == 503 and r.json()["database"] == "unavailable"
    assert took < 10, took
