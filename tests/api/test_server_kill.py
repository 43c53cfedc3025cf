"""A real ``tradelane serve`` on loopback, killed with SIGKILL mid-solve and restarted.

The job must then finish (or fail with a reason) once its lease has expired: never stay
``running``, never vanish. The whole process group is killed, solver processes included; every
wait is bounded. Leases are short here (``LEASE``) so the tests do not wait the 30-s default.
"""

from __future__ import annotations

import os
import signal
from pathlib import Path
from typing import Any

import pytest

from api.store import JobStore, make_engine
from tests.api.conftest import wait_for
from tests.api.server import Server, free_port


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
        return True
    except ProcessLookupError:
        return False


def _finished(server: Server, job_id: str) -> dict[str, Any] | None:
    b = server.request("GET", f"/v1/plans/{job_id}").json()
    return b if b["status"] not in ("queued", "running") else None


def _running(server: Server, job_id: str) -> bool:
    return server.request("GET", f"/v1/plans/{job_id}").json()["status"] == "running"


def test_sigkill_mid_solve_then_restart(tmp_path: Path, tiny_scenario: dict[str, Any]) -> None:
    """Kill -9 of the server process alone during a solve: its solver and fork server exit by
    themselves (no orphans); after restart the job is re-queued when its lease expires and
    succeeds (attempt 2), the queued one too; nothing stays running or vanishes."""
    db_url = f"sqlite:///{tmp_path / 'jobs.db'}"
    server = Server(db_url, free_port(), tmp_path / "server.log", TRADELANE_MAX_ATTEMPTS="2")
    store = JobStore(make_engine(db_url))
    try:
        server.start()
        slow = {**tiny_scenario, "x_test": {"sleep_s": 2}}
        job = server.request("POST", "/v1/plans", json={"scenario": slow}).json()["id"]
        queued = server.request("POST", "/v1/plans", json={"scenario": tiny_scenario}).json()["id"]
        wait_for(lambda: _running(server, job))
        pgid = server.proc.pid  # type: ignore[union-attr]

        server.kill9(group=False)
        try:
            wait_for(lambda: not _group_alive(pgid), timeout=30)  # no orphan survives
        finally:
            if _group_alive(pgid):
                os.killpg(pgid, signal.SIGKILL)
        assert store.get("acme", job).status == "running"  # killed mid-solve, as intended
        assert store.get("acme", queued).status == "queued"

        server.start()
        done = wait_for(lambda: _finished(server, job), timeout=60)
        assert done["status"] == "succeeded" and done["attempts"] == 2
        assert wait_for(lambda: _finished(server, queued), timeout=60)["status"] == "succeeded"
        listed = server.request("GET", "/v1/plans").json()
        assert {j["id"] for j in listed["data"]} == {job, queued}
    finally:
        server.stop()
        store.engine.dispose()


@pytest.mark.slow
def test_retry_limit_over_real_kills(tmp_path: Path, tiny_scenario: dict[str, Any]) -> None:
    """A job whose server is killed on every attempt fails after max_attempts with the reason."""
    db_url = f"sqlite:///{tmp_path / 'jobs.db'}"
    server = Server(db_url, free_port(), tmp_path / "server.log", TRADELANE_MAX_ATTEMPTS="2")
    try:
        server.start()
        slow = {**tiny_scenario, "x_test": {"sleep_s": 30}}
        doomed = server.request("POST", "/v1/plans", json={"scenario": slow}).json()["id"]
        for _ in range(2):
            wait_for(lambda: _running(server, doomed), timeout=60)
            server.kill9()
            server.start()
        end = wait_for(lambda: _finished(server, doomed), timeout=60)
        assert end["status"] == "failed" and "giving up after 2 attempt" in end["error"]
    finally:
        server.stop()


@pytest.mark.parametrize(
    "bad_env",
    [
        {"TRADELANE_API_KEYS": "acme"},  # no key
        {"TRADELANE_WORKERS": "0"},  # below 1
        {"TRADELANE_HEARTBEAT_S": "20"},  # more than half the 30-s default lease
    ],
)
def test_serve_refuses_bad_settings(
    bad_env: dict[str, str], tmp_path: Path, monkeypatch, capsys
) -> None:
    """Bad settings stop `tradelane serve` with exit 2 and a message naming the variable."""
    from api.cli import main as cli_main

    monkeypatch.setenv("TRADELANE_DATABASE_URL", f"sqlite:///{tmp_path / 'x.db'}")
    for k, v in bad_env.items():
        monkeypatch.setenv(k, v)
    assert cli_main(["serve", "--port", str(free_port())]) == 2
    err = capsys.readouterr().err
    assert f"error: {next(iter(bad_env))}" in err and "Traceback" not in err
