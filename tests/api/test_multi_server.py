"""Several ``tradelane serve`` processes on one PostgreSQL database (leases and heartbeats).

The ``postgres`` tests start two real servers (subprocesses on loopback ports) on the CI's
PostgreSQL (``TRADELANE_TEST_POSTGRES_URL``; skipped without it) with short leases (2 s,
heartbeat 0.5 s) and the fake solver, which records every run of a job in a file
(``tests/api/solvers.py``): a job that ran twice would show two ``start`` lines, whatever the
database says. The other tests need no PostgreSQL: the runner's lease logic on SQLite, the
per-process rate limit, the SQLite start-up warning.
"""

from __future__ import annotations

import copy
import datetime as dt
import logging
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import psutil
import pytest
import sqlalchemy as sa

from api.store import Job, JobStore, make_engine
from tests.api.conftest import auth, wait_for
from tests.api.server import Server, free_port
from tests.api.solvers import read_runs

FAST = {
    "TRADELANE_RATE_PER_S": "100000",
    "TRADELANE_RATE_BURST": "100000",
    "TRADELANE_WORKERS": "2",
    "TRADELANE_MAX_ATTEMPTS": "3",
}


def _pid_of(owner: str | None) -> int | None:
    """The server pid in a lease owner id (``host:pid:random``)."""
    return int(owner.rsplit(":", 2)[1]) if owner else None


def _job(scenario: dict[str, Any], runs: Path, token: str, **x_test: Any) -> dict[str, Any]:
    sc = copy.deepcopy(scenario)
    sc["x_test"] = {"record": {"dir": str(runs), "token": token}, **x_test}
    return {"scenario": sc, "time_limit_s": 30}


def _alive(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


@pytest.fixture
def pair(
    postgres_url: str, tmp_path: Path, request: pytest.FixtureRequest
) -> Iterator[tuple[Server, Server, JobStore]]:
    """Two started servers on one emptied PostgreSQL database, and a store to inspect it
    (extra environment by indirect parametrisation)."""
    env = {**FAST, **getattr(request, "param", {})}
    servers = [Server(postgres_url, free_port(), tmp_path / f"server-{n}.log", **env) for n in "ab"]
    store = JobStore(make_engine(postgres_url))
    try:
        servers[0].start()  # migrates the database first; the second finds it up to date
        servers[1].start()
        yield servers[0], servers[1], store
    finally:
        for s in servers:
            s.stop()
        store.engine.dispose()


# A 10-s lease here: the 200 submissions load the servers (a runner thread can wait seconds for
# the GIL behind ~100 request threads), and a lease that ran out would rightly re-run a job.
@pytest.mark.postgres
@pytest.mark.parametrize(
    "pair", [{"TRADELANE_LEASE_S": "10", "TRADELANE_HEARTBEAT_S": "1"}], indirect=True
)
def test_200_jobs_over_two_servers_none_lost_none_run_twice(
    pair: tuple[Server, Server, JobStore], tiny_scenario: dict[str, Any], tmp_path: Path
) -> None:
    """200 small jobs submitted alternately to two servers all succeed, each started exactly
    once (one claim: attempts 1; one run in the solver's own record), spread over both."""
    a, b, store = pair
    runs = tmp_path / "runs"
    runs.mkdir()

    def submit(i: int) -> tuple[str, str]:
        server = (a, b)[i % 2]
        r = server.request("POST", "/v1/plans", json=_job(tiny_scenario, runs, f"t{i}"))
        assert r.status_code == 202, r.text
        return r.json()["id"], f"t{i}"

    with ThreadPoolExecutor(8) as pool:
        token = dict(pool.map(submit, range(200)))
    assert len(token) == 200

    def all_done() -> bool:
        with store.engine.connect() as c:
            left = c.execute(
                sa.select(sa.func.count())
                .select_from(Job)
                .where(Job.status.in_(("queued", "running")))
            ).scalar()
        return left == 0

    wait_for(all_done, timeout=90, every=0.2)
    recs = {i: store.get("acme", i) for i in token}
    assert all(r is not None and r.status == "succeeded" for r in recs.values()), {
        i: (r.status, r.error) for i, r in recs.items() if r is None or r.status != "succeeded"
    }
    assert all(r.attempts == 1 and r.result is not None for r in recs.values()), {
        i: (r.attempts, r.lease_owner, r.result is None)
        for i, r in recs.items()
        if r.attempts != 1 or r.result is None
    }
    for job_id, t in token.items():
        lines = read_runs(runs / t)
        assert [w for w, _, _ in lines] == ["start", "end"], (job_id, lines)
    owners = {_pid_of(r.lease_owner) for r in recs.values()}
    assert owners == {a.proc.pid, b.proc.pid}  # both servers took jobs  # type: ignore[union-attr]
    with store.engine.connect() as c:
        total = c.execute(sa.select(sa.func.count()).select_from(Job)).scalar()
    assert total == 200  # nothing lost, nothing duplicated


@pytest.mark.postgres
def test_cancel_on_one_server_stops_the_solve_on_the_other(
    pair: tuple[Server, Server, JobStore], tiny_scenario: dict[str, Any], tmp_path: Path
) -> None:
    """DELETE on server A of a job server B is solving: B stops the solver process, the job
    stays cancelled and B's result never lands."""
    a, b, store = pair
    runs = tmp_path / "runs"
    runs.mkdir()
    job = a.request("POST", "/v1/plans", json=_job(tiny_scenario, runs, "slow", sleep_s=20)).json()[
        "id"
    ]
    wait_for(lambda: read_runs(runs / "slow"), timeout=30)
    rec = store.get("acme", job)
    owner = {a.proc.pid: a, b.proc.pid: b}[_pid_of(rec.lease_owner)]  # type: ignore[union-attr]
    other = b if owner is a else a
    solver_pid = read_runs(runs / "slow")[0][1]
    assert _alive(solver_pid)
    r = other.request("DELETE", f"/v1/plans/{job}")
    assert r.status_code == 200 and r.json()["status"] == "cancelled"
    wait_for(lambda: not _alive(solver_pid), timeout=10)
    assert wait_for(lambda: owner.request("GET", "/healthz").json()["busy"] == 0, timeout=5)
    rec = store.get("acme", job)
    assert rec.status == "cancelled" and rec.result is None
    assert [w for w, _, _ in read_runs(runs / "slow")] == ["start"]


@pytest.mark.postgres
def test_sigkill_one_server_mid_solve_the_other_finishes_its_job(
    pair: tuple[Server, Server, JobStore], tiny_scenario: dict[str, Any], tmp_path: Path
) -> None:
    """SIGKILL the server solving a job (its whole process group): the job stays running until
    its lease expires, then the surviving server re-queues it, solves it (attempt 2) and
    stores the plan. The two runs never overlap: the second starts after the kill, and after
    the lease (as the database recorded it) had expired."""
    a, b, store = pair
    runs = tmp_path / "runs"
    runs.mkdir()
    job = a.request(
        "POST", "/v1/plans", json=_job(tiny_scenario, runs, "victim", sleep_s=3)
    ).json()["id"]
    wait_for(lambda: read_runs(runs / "victim"), timeout=30)
    first = store.get("acme", job)
    victim = {a.proc.pid: a, b.proc.pid: b}[_pid_of(first.lease_owner)]  # type: ignore[union-attr]
    survivor = b if victim is a else a
    victim.kill9()
    killed_at = time.time()
    held = store.get("acme", job)  # nothing renews the lease any more
    assert held.status == "running" and held.lease_owner == first.lease_owner
    expired_at = held.lease_expires_at.timestamp()  # (the database runs on this machine)

    done = wait_for(
        lambda: (r := store.get("acme", job)) and r.status not in ("queued", "running") and r,
        timeout=40,
    )
    assert done.status == "succeeded" and done.attempts == 2 and done.result is not None
    assert _pid_of(done.lease_owner) == survivor.proc.pid  # type: ignore[union-attr]
    lines = read_runs(runs / "victim")
    assert [w for w, _, _ in lines] == ["start", "start", "end"], lines
    (_, pid1, t1), (_, pid2, t2), (_, pid3, _) = lines
    assert pid2 == pid3 != pid1 and t1 < killed_at
    assert t2 > expired_at and t2 > killed_at, (t2 - expired_at, t2 - killed_at)
    body = survivor.request("GET", f"/v1/plans/{job}").json()
    assert body["status"] == "succeeded" and body["attempts"] == 2


# -- no PostgreSQL needed -------------------------------------------------------------------


def test_a_lost_lease_stops_the_solve_and_drops_its_result(
    client_factory, scenario, tmp_path: Path
) -> None:
    """When another runner holds the lease now (it swept and re-claimed the job), this runner
    stops its solve on the next tick and never writes the job."""
    runs = tmp_path / "runs"
    runs.mkdir()
    client = client_factory(lease_s=5.0, heartbeat_s=0.5)
    job = client.post(
        "/v1/plans", json=_job(scenario, runs, "lost", sleep_s=2), headers=auth()
    ).json()["id"]
    wait_for(lambda: read_runs(runs / "lost"), timeout=30)
    store: JobStore = client.app.state.store
    runner = client.app.state.runner
    pid = read_runs(runs / "lost")[0][1]
    with store.engine.begin() as c:  # as if a sweep had re-queued it and "B" had claimed it
        c.execute(
            sa.update(Job).where(Job.id == job).values(lease_owner="B", attempts=Job.attempts + 1)
        )
    wait_for(lambda: not _alive(pid) and runner.busy == 0, timeout=10)
    time.sleep(2.5)  # past the solve's own 2 s
    rec = store.get("acme", job)
    assert rec.status == "running" and rec.lease_owner == "B" and rec.result is None
    assert [w for w, _, _ in read_runs(runs / "lost")] == ["start"]


def test_a_runner_that_cannot_renew_stops_its_solve_before_the_lease_ends(
    client_factory, scenario, tmp_path: Path, caplog
) -> None:
    """With renewals failing, the solve is stopped three quarters into the lease, before the
    lease ends (so before anyone else may take the job), and the job is handed back to the
    queue without using up an attempt; it then runs again."""
    runs = tmp_path / "runs"
    runs.mkdir()
    client = client_factory(lease_s=4.0, heartbeat_s=0.2)
    store: JobStore = client.app.state.store
    runner = client.app.state.runner

    def unreachable(*_: Any, **__: Any) -> set[str]:
        raise sa.exc.OperationalError("renew", {}, Exception("connection refused"))

    job = client.post(
        "/v1/plans", json=_job(scenario, runs, "fenced", sleep_s=30), headers=auth()
    ).json()["id"]
    wait_for(lambda: read_runs(runs / "fenced"), timeout=30)
    pid = read_runs(runs / "fenced")[0][1]
    with caplog.at_level(logging.WARNING, logger="api.worker"):
        runner.store.renew = unreachable  # the heartbeat now fails; the rest still works
        time.sleep(0.3)  # (a renewal in flight at the switch has landed)
        expires = store.get("acme", job).lease_expires_at
        wait_for(lambda: not _alive(pid), timeout=10)
        assert dt.datetime.now(dt.UTC) < expires  # stopped before its lease ended
        wait_for(lambda: len(read_runs(runs / "fenced")) == 2, timeout=10)  # runs again
    rec = store.get("acme", job)
    assert rec.status == "running" and rec.attempts == 1  # the lost run was not counted
    assert any(
        "lease not renewed" in r.getMessage() or "end of its lease" in r.getMessage()
        for r in caplog.records
    )
    del runner.store.renew
    assert client.delete(f"/v1/plans/{job}", headers=auth()).json()["status"] == "cancelled"


def test_a_solve_stops_itself_when_its_lease_runs_out() -> None:
    """The solver process's own watchdog exits it (code LEASE_EXIT) once the shared lease
    deadline is past, even if nothing else stops it; moving the deadline on keeps it alive."""
    from api.worker import LEASE_EXIT, _child_main, _context

    ctx = _context()
    lease = ctx.Value("d", time.monotonic() + 1.0, lock=False)
    parent, child = ctx.Pipe(duplex=False)
    sc = {"name": "x", "nodes": [], "demand": [], "x_test": {"sleep_s": 30}}
    proc = ctx.Process(
        target=_child_main,
        daemon=True,
        args=("tests.api.solvers:fake_plan", {"scenario": sc}, 30.0, 0, child, None, lease),
    )
    proc.start()
    child.close()
    try:
        for _ in range(4):  # renewed every 0.5 s for 2 s: still running
            time.sleep(0.5)
            lease.value = time.monotonic() + 1.0
        assert proc.is_alive()
        t0 = time.monotonic()
        proc.join(10)
        assert proc.exitcode == LEASE_EXIT and time.monotonic() - t0 < 3
    finally:
        if proc.is_alive():
            proc.kill()
        parent.close()


def test_rate_limit_is_per_server_process(client_factory) -> None:
    """Each server process keeps its own token buckets: a key gets a full burst from each of
    two servers on one database (documented in api.auth and the README)."""
    one = client_factory(run_jobs=False, rate_per_s=0.001, rate_burst=3)
    two = client_factory(run_jobs=False, rate_per_s=0.001, rate_burst=3)
    codes = {
        name: [c.get("/v1/plans", headers=auth()).status_code for _ in range(4)]
        for name, c in (("one", one), ("two", two))
    }
    assert codes == {"one": [200, 200, 200, 429], "two": [200, 200, 200, 429]}
    assert one.get("/v1/plans", headers=auth("beta")).status_code == 200  # buckets per key


def test_sqlite_says_one_server_at_start_up(client_factory, caplog) -> None:
    """Start-up on SQLite warns that the file belongs to one server process."""
    with caplog.at_level(logging.WARNING, logger="api.main"):
        client_factory(run_jobs=False)
    assert any(
        "SQLite" in r.getMessage() and "only one tradelane serve" in r.getMessage()
        for r in caplog.records
    )


def test_no_warning_needed_for_postgres(postgres_url: str, caplog) -> None:
    """On PostgreSQL there is no one-server warning (several servers are supported)."""
    from fastapi.testclient import TestClient

    from api.main import create_app
    from tests.api.conftest import make_settings

    with (
        caplog.at_level(logging.WARNING, logger="api.main"),
        TestClient(create_app(make_settings(postgres_url), run_jobs=False)),
    ):
        pass
    assert not any("SQLite" in r.getMessage() for r in caplog.records)
