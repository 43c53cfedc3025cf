"""The service's logs when things go wrong: one line per event, not one per poll."""

from __future__ import annotations

import logging
import multiprocessing as mp
import time
from typing import Any

import api.worker
from api.worker import JobRunner
from tests.api.conftest import auth, wait_for


class _Store:
    """A job store whose database is down until ``up`` is set."""

    up = False

    def sweep(self, **_: Any) -> tuple[list[str], list[str]]:
        if not self.up:
            raise ConnectionError("database down")
        return [], []

    def claim(self, *_: Any, **__: Any) -> list[Any]:
        return self.sweep()[0]


def test_tick_failures_are_logged_once_then_recovery(monkeypatch, caplog) -> None:
    """A database down for ~50 polls: the runner logs the failure once with its traceback (not
    at every poll), and one line when the database is back."""
    monkeypatch.setattr(api.worker, "_context", lambda: mp.get_context("spawn"))  # no warm-up
    store = _Store()
    runner = JobRunner(
        store,  # type: ignore[arg-type]
        solver="tests.api.solvers:fake_plan",
        poll_interval_s=0.01,
        heartbeat_s=0.01,
    )
    with caplog.at_level(logging.INFO, logger="api.worker"):
        runner.start()
        try:
            time.sleep(0.5)
            store.up = True
            wait_for(lambda: any("recovered" in r.getMessage() for r in caplog.records))
        finally:
            runner.stop()
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert len(errors) == 1 and errors[0].exc_info is not None
    assert "recovered after" in caplog.text


def test_failure_summary_every_interval() -> None:
    """A failure that lasts: one line per interval, with the count."""
    now = [0.0]
    log = api.worker.FailureLog("tick", every_s=30, clock=lambda: now[0])
    with _Capture() as lines:
        for _ in range(310):  # 62 s of polls every 0.2 s
            log.failed(RuntimeError("down"))
            now[0] += 0.2
        log.ok()
    assert len(lines) == 1 + 2 + 1  # the first, one per 30 s, the recovery
    assert "more failure(s) in the last 30 s" in lines[1]
    assert lines[3].startswith("tick recovered after 310 failure(s)")


class _Capture(logging.Handler):
    def __enter__(self) -> list[str]:
        self.lines: list[str] = []
        logging.getLogger("api.worker").addHandler(self)
        logging.getLogger("api.worker").setLevel(logging.INFO)
        return self.lines

    def __exit__(self, *_: Any) -> None:
        logging.getLogger("api.worker").removeHandler(self)
        logging.getLogger("api.worker").setLevel(logging.NOTSET)

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(record.getMessage())


def test_shutdown_logs_the_jobs_put_back(client_factory, scenario, caplog) -> None:
    """Stopping the server while a job runs: the log names the job put back in the queue."""
    client = client_factory()
    scenario["x_test"] = {"sleep_s": 30}
    job = client.post("/v1/plans", json={"scenario": scenario}, headers=auth()).json()["id"]
    wait_for(lambda: client.get(f"/v1/plans/{job}", headers=auth()).json()["status"] == "running")
    with caplog.at_level(logging.INFO, logger="api.worker"):
        client.__exit__(None, None, None)
    assert f"job {job} stopped and put back in the queue" in caplog.text


def test_a_finished_job_is_logged_with_its_scenario_time_and_reason(
    client_factory, scenario, caplog
) -> None:
    """The line that ends a job says which scenario, how long it ran and, for a failure, why
    (at WARNING): it used to say only ``job <id> failed``, the reason left in the database."""
    client = client_factory()
    with caplog.at_level(logging.INFO, logger="api"):
        ok = client.post("/v1/plans", json={"scenario": scenario}, headers=auth()).json()["id"]
        scenario["x_test"] = {"fail": "no lane reaches Z-MY-KUL"}
        bad = client.post("/v1/plans", json={"scenario": scenario}, headers=auth()).json()["id"]
        for job in (ok, bad):
            wait_for(
                lambda job=job: (
                    client.get(f"/v1/plans/{job}", headers=auth()).json()["status"]
                    in ("succeeded", "failed")
                )
            )
    ends = {
        r.getMessage().split()[1]: r
        for r in caplog.records
        if r.getMessage().startswith("job ") and " since its start" in r.getMessage()
    }
    name = scenario["name"]
    assert ends[ok].levelno == logging.INFO
    assert f"job {ok} succeeded (scenario {name}, attempt 1, " in ends[ok].getMessage()
    assert ends[bad].levelno == logging.WARNING
    msg = ends[bad].getMessage()
    assert f"job {bad} failed (scenario {name}, attempt 1, " in msg
    assert msg.endswith("ValueError: no lane reaches Z-MY-KUL")
