"""A real ``tradelane serve`` process for the tests that kill or share servers (a helper
module: import from here, never from another test module)."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
from pathlib import Path
from typing import Any

import httpx

from benchmarks.load import serve_argv
from tests.api.conftest import FAKE, KEYS, auth, wait_for

ROOT = Path(__file__).resolve().parents[2]
#: Short leases, so a killed server's job is re-queued within seconds.
LEASE = {"TRADELANE_LEASE_S": "2", "TRADELANE_HEARTBEAT_S": "0.5"}


def free_port() -> int:
    """A free TCP port on 127.0.0.1."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Server:
    """``python -m api.cli serve`` in its own process group."""

    def __init__(self, db_url: str, port: int, log: Path, **env: str):
        self.port = port
        self.url = f"http://127.0.0.1:{port}"
        self.log = log
        self.env = {
            **os.environ,
            "PYTHONPATH": str(ROOT),
            "TRADELANE_DATABASE_URL": db_url,
            "TRADELANE_API_KEYS": ",".join(f"{t}:{k}" for t, k in KEYS.items()),
            "TRADELANE_SOLVER": FAKE,
            "TRADELANE_POLL_INTERVAL_S": "0.05",
            **LEASE,
            **env,
        }
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        with open(self.log, "ab") as fh:
            self.proc = subprocess.Popen(
                serve_argv(self.port),
                cwd=ROOT,
                env=self.env,
                stdout=fh,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

        def up() -> bool:
            assert self.proc is not None and self.proc.poll() is None, self.log.read_text()
            try:
                return httpx.get(f"{self.url}/healthz", timeout=1).status_code == 200
            except httpx.HTTPError:
                return False

        wait_for(up, timeout=60, every=0.1)

    def kill9(self, *, group: bool = True) -> None:
        """SIGKILL the server's whole process group (or only the server process) and reap it."""
        assert self.proc is not None
        try:
            if group:
                os.killpg(self.proc.pid, signal.SIGKILL)
            else:
                os.kill(self.proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.proc.wait(timeout=10)

    def stop(self) -> None:
        """SIGTERM (graceful), then SIGKILL the group if it lingers."""
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.terminate()
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.proc.wait(timeout=15)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait(timeout=10)

    def request(self, method: str, path: str, **kw: Any) -> httpx.Response:
        return httpx.request(method, f"{self.url}{path}", headers=auth(), timeout=10, **kw)
