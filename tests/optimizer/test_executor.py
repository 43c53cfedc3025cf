"""Tests of ``optimizer.executor``: this process, local processes (fresh or persistent pools)
and a Dask cluster run the same tasks to the same results."""

from __future__ import annotations

import re
from typing import Any

import pytest

from optimizer.executor import InlineRunner, ProcessRunner, make_executor


def _scaled(shared: int, x: int) -> int:
    if x < 0:
        raise ValueError(f"negative {x}")
    return shared * x * x


def test_inline_runner_returns_results_in_order() -> None:
    ex = make_executor(workers=1)
    assert isinstance(ex, InlineRunner)
    assert ex.map(_scaled, 3, [0, 1, 2, 3]) == [0, 3, 12, 27]


def test_persistent_pool_is_kept_while_shared_is_the_same_object() -> None:
    ex = make_executor(workers=2, persistent=True)
    assert isinstance(ex, ProcessRunner)
    try:
        shared: Any = 2
        assert ex.map(_scaled, shared, range(5)) == [2 * k * k for k in range(5)]
        pool = ex._pool
        assert pool is not None
        assert ex.map(_scaled, shared, [5, -1]) == [50, None]  # a failed task comes back None
        assert ex._pool is pool
    finally:
        ex.close()
    assert ex._pool is None


def test_fresh_pool_per_map_by_default() -> None:
    ex = make_executor(workers=2)
    assert ex.map(_scaled, 1, range(4)) == [0, 1, 4, 9]
    assert isinstance(ex, ProcessRunner) and ex._pool is None


def test_dask_cluster_gives_the_inline_results() -> None:
    pytest.importorskip("distributed")
    ex = make_executor("local", workers=1, processes=False)
    try:
        assert ex.map(_scaled, 3, [0, 1, 2, 3]) == [0, 3, 12, 27]
    finally:
        ex.close()


def test_unreachable_scheduler_is_named_within_the_connect_timeout() -> None:
    """A scheduler out of reach is an ``ExecutorError`` naming the address after
    ``connect_timeout``, not Dask's 30-s wait inside a short time limit."""
    import time

    from optimizer.exceptions import ExecutorError

    pytest.importorskip("distributed")
    t0 = time.perf_counter()
    with pytest.raises(ExecutorError, match=r"tcp://127\.0\.0\.1:1"):
        make_executor("tcp://127.0.0.1:1", connect_timeout=1.0)
    assert time.perf_counter() - t0 < 20.0  # Dask's own default alone is 30 s


def test_a_scheduler_address_that_accepts_but_never_answers_is_named_in_time() -> None:
    """An address that accepts the connection and then says nothing (a stuck scheduler, a port
    that is not Dask's) is an ``ExecutorError`` after ``connect_timeout``: Dask's own timeout
    does not cover the handshake, and ``tradelane nightly`` waited for it for ever."""
    import socket
    import threading
    import time

    from optimizer.exceptions import ExecutorError

    pytest.importorskip("distributed")
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(8)
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        silent.settimeout(0.2)
        while not stop.is_set():
            try:
                held.append(silent.accept()[0])  # accepted, never answered
            except OSError:
                continue

    t = threading.Thread(target=accept, daemon=True)
    t.start()
    address = f"tcp://127.0.0.1:{silent.getsockname()[1]}"
    try:
        t0 = time.perf_counter()
        with pytest.raises(ExecutorError, match=re.escape(address)):
            make_executor(address, connect_timeout=1.0)
        assert time.perf_counter() - t0 < 10.0
    finally:
        stop.set()
        t.join(5)
        for c in held:
            c.close()
        silent.close()


def _sleepy(shared: Any, item: Any) -> int:
    import time

    time.sleep(60)
    return 0


_LATE_MAP = """
import time
import numpy as np
from optimizer.executor import ProcessRunner
from tests.optimizer.test_executor import _sleepy

if __name__ == "__main__":
    close = ProcessRunner.close

    def late_close(self):
        # a loaded machine: the pool's manager thread sees the terminated worker before the
        # pool is shut down
        time.sleep(0.5)
        close(self)

    ProcessRunner.close = late_close
    ex = ProcessRunner(1)
    # tasks larger than a pipe's buffer (as a block of sea-L's demand rows is): the queue's
    # feeder thread is writing one to the worker when the deadline comes
    items = [np.zeros(200_000) for _ in range(6)]
    out = ex.map(_sleepy, None, items, deadline=time.perf_counter() + 1.0)
    print("late", out.count(None), flush=True)
"""


def test_a_map_past_its_deadline_lets_the_interpreter_exit() -> None:
    """Tasks still queued or running at the deadline are dropped and the interpreter exits at
    once: ``tradelane plan`` on a tier-L scenario with ``--time-limit 5`` wrote its plan and
    then hung for ever (the pool's manager thread died on a future cancelled while pending,
    and the queue's feeder thread stayed blocked writing to the terminated worker)."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    env = {**os.environ, "PYTHONPATH": str(root)}
    try:
        r = subprocess.run(
            [sys.executable, "-c", _LATE_MAP],
            check=False,
            capture_output=True,
            text=True,
            timeout=30,
            cwd=root,
            env=env,
        )
    except subprocess.TimeoutExpired as e:
        pytest.fail(f"the interpreter did not exit after a late map: {e.stderr!r}")
    assert r.returncode == 0, r.stderr
    assert "late 6" in r.stdout
    assert "InvalidStateError" not in r.stderr


def test_late_sub_solves_are_one_warning_and_failed_ones_name_their_error(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """At tier L every block can be past its time: the log had a line per block reading
    "sub-solve 3 gave no result: TimeoutError: " (an empty message); now one line says how
    many were late and which, and a failed task still names its error."""
    import concurrent.futures as cf

    from optimizer.executor import _wait_all

    done: cf.Future[int] = cf.Future()
    done.set_result(7)
    failed: cf.Future[int] = cf.Future()
    failed.set_exception(ValueError("negative -1"))
    late = [cf.Future() for _ in range(12)]  # never done
    with caplog.at_level("WARNING", logger="optimizer.executor"):
        out = _wait_all([done, failed, *late], deadline=0.0)
    assert out == [7] + [None] * 13
    lines = [r.getMessage() for r in caplog.records]
    assert lines == [
        "sub-solve 1 gave no result: ValueError: negative -1",
        "12 of 14 sub-solve(s) not done by the time limit (2, …, 13): their fallback is used",
    ]
