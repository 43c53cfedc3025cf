"""``tradelane serve``'s start-up checks: one line per problem, exit 2 (settings) or 1
(database unreachable, port taken), before the server migrates or serves anything."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from tests.api.conftest import FAKE, wait_for
from tests.api.server import ROOT, Server, free_port

PASSWORD = "s3cret-pw"


def _serve(tmp_path: Path, port: int | None = None, **env: str) -> subprocess.CompletedProcess[str]:
    full = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "TRADELANE_DATABASE_URL": f"sqlite:///{tmp_path / 'jobs.db'}",
        "TRADELANE_SOLVER": FAKE,
        **env,
    }
    argv = [sys.executable, "-m", "api.cli", "serve", "--port", str(port or free_port())]
    return subprocess.run(
        argv, check=False, env=full, capture_output=True, text=True, timeout=60, cwd=ROOT
    )


@pytest.mark.parametrize(
    ("env", "code", "words"),
    [
        # no such database dialect
        ({"TRADELANE_DATABASE_URL": "foo://bar"}, 2, "not a supported database URL"),
        # nothing listens there; the password must not be shown
        (
            {"TRADELANE_DATABASE_URL": f"postgresql://u:{PASSWORD}@127.0.0.1:1/db"},
            1,
            "cannot connect",
        ),
        # the folder does not exist
        ({"TRADELANE_DATABASE_URL": "sqlite:////nonexistent/dir/x.db"}, 2, "does not exist"),
        # a solver that cannot be imported fails every job
        ({"TRADELANE_SOLVER": "nomodule:fn"}, 2, "TRADELANE_SOLVER: cannot load solver"),
        # a default time limit the server itself refuses
        ({"TRADELANE_DEFAULT_TIME_LIMIT_S": "5000"}, 2, "TRADELANE_DEFAULT_TIME_LIMIT_S"),
    ],
)
def test_startup_problem_is_one_line(tmp_path: Path, env: dict[str, str], code: int, words: str):
    """Each start-up problem is one ``error:`` line and exit 2 (configuration) or 1
    (unreachable), never a traceback or a password."""
    r = _serve(tmp_path, **env)
    assert r.returncode == code, r.stderr
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and words in lines[0], r.stderr
    assert PASSWORD not in r.stderr


def test_missing_database_driver_is_one_line(tmp_path: Path) -> None:
    """A URL naming a driver that is not installed is bad configuration like an unknown
    scheme: one line naming it, exit 2 (it was "internal error: ModuleNotFoundError", exit 1:
    serve checked its URL apart from the other commands and missed this case)."""
    import importlib.util

    if any(importlib.util.find_spec(m) for m in ("sqlcipher3", "pysqlcipher3")):
        pytest.skip("an SQLCipher driver is installed here")
    r = _serve(tmp_path, TRADELANE_DATABASE_URL=f"sqlite+pysqlcipher://:{PASSWORD}@/x.db")
    assert r.returncode == 2, r.stderr
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: TRADELANE_DATABASE_URL: "), r.stderr
    assert "not a supported database URL or driver" in lines[0]
    assert PASSWORD not in r.stderr


def test_file_that_is_not_a_database(tmp_path: Path) -> None:
    """A file that is not SQLite: one line, exit 2."""
    (tmp_path / "jobs.db").write_text("not a database\n" * 100)
    r = _serve(tmp_path)
    assert r.returncode == 2 and r.stderr.count("\n") == 1
    assert "not a database" in r.stderr


def test_port_in_use_before_migrating(tmp_path: Path) -> None:
    """A port another process listens on: one line, exit 1, and the database untouched."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        r = _serve(tmp_path, port=s.getsockname()[1])
    assert r.returncode == 1 and r.stderr.count("\n") == 1
    assert "--port" in r.stderr
    assert not (tmp_path / "jobs.db").exists()


def _first_lines(tmp_path: Path, *flags: str, until: str) -> list[str]:
    """Start ``serve`` with ``flags`` and return its log lines up to the one with ``until``."""
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "TRADELANE_DATABASE_URL": f"sqlite:///{tmp_path / 'jobs.db'}",
        "TRADELANE_SOLVER": FAKE,
    }
    argv = [sys.executable, "-m", "api.cli", "serve", "--port", str(free_port()), *flags]
    proc = subprocess.Popen(argv, env=env, stderr=subprocess.PIPE, text=True, cwd=ROOT)
    lines: list[str] = []
    deadline = threading.Timer(20, proc.terminate)  # the line never comes: stop waiting
    deadline.start()
    try:
        assert proc.stderr is not None
        for line in proc.stderr:
            lines.append(line.rstrip("\n"))
            if until in line or len(lines) > 50:
                break
    finally:
        deadline.cancel()
        proc.terminate()
        proc.wait(30)
    return lines


def test_log_level_reaches_the_service_lines(tmp_path: Path) -> None:
    """``--log-level info`` (the default) shows the service's own info lines without ``-v``;
    ``--log-format json`` makes each line one JSON object."""
    import json

    lines = _first_lines(tmp_path, "--log-format", "json", until="service ready")
    records = [json.loads(line) for line in lines]
    assert any("tradelane service ready" in r["message"] for r in records)
    assert all({"time", "level", "logger", "message"} <= set(r) for r in records)


def test_log_level_debug_without_verbose(tmp_path: Path) -> None:
    """``--log-level debug`` alone shows the service's job-runner lines (before, only ``-v``
    did)."""
    lines = _first_lines(tmp_path, "--log-level", "debug", until="service ready")
    assert any("api.main: tradelane service ready" in line for line in lines), lines


def test_sigterm_stops_the_service_with_its_exit_handlers_run(tmp_path: Path) -> None:
    """After uvicorn's graceful shutdown on SIGTERM, the service dies of the signal (a
    supervisor sees a stop by SIGTERM, as before) but first runs its exit handlers: each stop
    used to leave the fork server's socket directory (``pymp-*``) in the temporary folder."""
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    server = Server(
        f"sqlite:///{tmp_path / 'jobs.db'}", free_port(), tmp_path / "serve.log", TMPDIR=str(tmp)
    )
    server.start()
    wait_for(lambda: any(tmp.iterdir()), timeout=30)  # the fork server is up: its socket dir
    assert server.proc is not None
    server.proc.send_signal(signal.SIGTERM)
    assert server.proc.wait(timeout=30) == -signal.SIGTERM
    assert list(tmp.iterdir()) == [], (tmp_path / "serve.log").read_text()
