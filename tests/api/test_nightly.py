"""The nightly run: plans stored per date, diffs against the previous night, bad configs."""

from __future__ import annotations

import copy
import datetime as dt
import json
import math
import time
from pathlib import Path
from typing import Any

import pytest

from api import nightly
from api.cli import main as cli_main
from api.config import Settings
from api.nightly import diff_plans
from api.store import JobStore, make_engine, migrate
from tests.api.conftest import FAKE


def test_diff_plans_by_hand() -> None:
    """Stock changes per SKU × warehouse (missing = 0), opened/closed warehouses, deltas."""
    before = {
        "status": "optimal",
        "objective": 100.0,
        "cost": {"fixed": 60.0, "inbound": 40.0},
        "service": {"on_time_share": 0.95},
        "warehouses": [
            {"id": "A", "open": True},
            {"id": "B", "open": True},
            {"id": "C", "open": False},
        ],
        "stock": [
            {"sku": "k1", "warehouse": "A", "units": 10},
            {"sku": "k2", "warehouse": "B", "units": 5},
            {"sku": "k3", "warehouse": "A", "units": 7},
        ],
    }
    after = {
        "status": "optimal",
        "objective": 90.0,
        "cost": {"fixed": 45.0, "inbound": 45.0},
        "service": {"on_time_share": 0.97},
        "warehouses": [
            {"id": "A", "open": True},
            {"id": "B", "open": False},
            {"id": "C", "open": True},
        ],
        "stock": [
            {"sku": "k1", "warehouse": "A", "units": 12},
            {"sku": "k2", "warehouse": "C", "units": 5},
            {"sku": "k3", "warehouse": "A", "units": 7},
        ],
    }
    d = diff_plans(before, after)
    assert d["first_run"] is False
    assert d["warehouses_opened"] == ["C"] and d["warehouses_closed"] == ["B"]
    assert d["objective"] == {"before": 100.0, "after": 90.0, "delta": -10.0}
    assert d["cost"]["fixed"]["delta"] == -15.0 and d["cost"]["inbound"]["delta"] == 5.0
    assert d["on_time_share"]["delta"] == pytest.approx(0.02)
    got = {(c["sku"], c["warehouse"]): c["delta"] for c in d["stock"]}
    assert got == {("k1", "A"): 2.0, ("k2", "B"): -5.0, ("k2", "C"): 5.0}
    first = diff_plans(None, after)
    assert first["first_run"] and first["objective"]["delta"] is None
    assert len(first["stock"]) == 3
    # a stored document's number past a float (JSON writes integers of any size) reads as
    # unknown, as a non-number does; it stopped the diff on an OverflowError
    huge = {**after, "objective": 10**400}
    assert diff_plans(before, huge)["objective"] == {"before": 100.0, "after": None, "delta": None}


def _write(tmp: Path, name: str, doc: dict[str, Any]) -> Path:
    p = tmp / name
    p.write_text(json.dumps(doc))
    return p


def _config(tmp: Path, db: str, body: str) -> Path:
    cfg = tmp / "nightly.toml"
    cfg.write_text(f'database_url = "{db}"\nout_dir = "reports"\ntime_limit_s = 5\n' + body)
    return cfg


def test_two_nights_then_diff(
    tmp_path: Path, tiny_scenario: dict[str, Any], monkeypatch, capsys
) -> None:
    """Night 1 plans and stores; night 2 (demand doubled, one warehouse closed) writes a diff
    with the stock changes, the closed warehouse and the cost delta, in JSON and Markdown."""
    monkeypatch.setenv("TRADELANE_SOLVER", FAKE)
    db = f"sqlite:///{tmp_path / 'n.db'}"
    sc = _write(tmp_path, "tiny.json", tiny_scenario)
    cfg = _config(tmp_path, db, '[[scenario]]\nname = "tiny-my"\npath = "tiny.json"\n')
    assert cli_main(["nightly", "--config", str(cfg), "--date", "2026-03-01"]) == 0
    first = json.loads((tmp_path / "reports/2026-03-01/tiny-my/diff.json").read_text())
    assert first["first_run"] and first["previous_run_date"] is None

    whs = [n["id"] for n in tiny_scenario["nodes"] if n["kind"] == "warehouse"]
    changed = copy.deepcopy(tiny_scenario)
    changed["x_test"] = {"stock_factor": 2.0, "closed": [whs[0]]}
    sc.write_text(json.dumps(changed))
    capsys.readouterr()
    assert cli_main(["nightly", "--config", str(cfg), "--date", "2026-03-02"]) == 0
    out = capsys.readouterr().out
    # the plan's status and seconds, and the closed warehouse by its id (not a Python list)
    assert "tiny-my: planned (optimal in 0.01 s); vs 2026-03-01" in out, out
    assert f"opened -, closed {whs[0]} ->" in out and "1 planned, 0 failed" in out
    day = tmp_path / "reports/2026-03-02/tiny-my"
    diff = json.loads((day / "diff.json").read_text())
    total = sum(d["units"] for d in tiny_scenario["demand"])
    assert diff["previous_run_date"] == "2026-03-01"
    assert diff["warehouses_closed"] == [whs[0]] and diff["warehouses_opened"] == []
    assert diff["objective"]["delta"] == pytest.approx(total)
    assert diff["on_time_share"]["delta"] == pytest.approx(-0.05)
    moved = {(c["warehouse"], c["delta"] > 0) for c in diff["stock"]}
    assert (whs[0], False) in moved and (whs[1], True) in moved
    md = (day / "diff.md").read_text()
    assert f"Warehouses closed: {whs[0]}" in md and "| total cost |" in md
    assert json.loads((day / "plan.json").read_text())["objective"] == 2 * total

    engine = make_engine(db)
    runs = JobStore(engine).nightly("tiny-my")
    engine.dispose()
    assert [(r.run_date, r.status) for r in runs] == [
        (dt.date(2026, 3, 1), "succeeded"),
        (dt.date(2026, 3, 2), "succeeded"),
    ]


def test_stored_forecast_and_failures(
    tmp_path: Path, tiny_scenario: dict[str, Any], monkeypatch, capsys
) -> None:
    """A tenant's stored forecast is planned; a failing and a missing scenario are stored as
    failed with the reason, the run goes on and the exit code is 1."""
    monkeypatch.setenv("TRADELANE_SOLVER", FAKE)
    db = f"sqlite:///{tmp_path / 'n.db'}"
    engine = make_engine(db)
    migrate(engine)
    store = JobStore(engine)
    store.submit(
        tenant="acme", scenario_name="tiny", request={"scenario": tiny_scenario}, time_limit_s=5
    )
    _write(tmp_path, "bad.json", {**tiny_scenario, "x_test": {"fail": "infeasible tonight"}})
    cfg = _config(
        tmp_path,
        db,
        """
[[scenario]]
name = "bad"
path = "bad.json"

[[scenario]]
name = "acme-tiny"
tenant = "acme"
scenario = "tiny"

[[scenario]]
name = "ghost"
tenant = "acme"
scenario = "nope"
""",
    )
    assert cli_main(["nightly", "--config", str(cfg), "--date", "2026-03-01"]) == 1
    out = capsys.readouterr().out
    assert "bad: FAILED: ValueError: infeasible tonight" in out
    assert "acme-tiny: planned" in out
    assert "ghost: FAILED: no stored forecast 'nope' for tenant 'acme'" in out
    assert store.nightly("bad")[0].error == "ValueError: infeasible tonight"
    assert store.nightly("acme-tiny")[0].status == "succeeded"
    engine.dispose()


@pytest.mark.parametrize(
    "body, words",
    [
        ("time_limit_s = 5\n", "scenario: Field required"),  # no scenarios
        ('[[scenario]]\nname = "x"\n', "give either 'path'"),  # no source
        ('[[scenario]]\nname = "a b"\npath = "x.json"\n', "scenario[0].name"),  # bad name
        ('[[scenario]]\nname = "x"\npath = "x.json"\ncolour = 1\n', "scenario[0].colour"),
        ("this is not toml", "not valid TOML"),
    ],
)
def test_bad_config_exits_2(tmp_path: Path, body: str, words: str, capsys) -> None:
    """A bad configuration exits 2 with one line per problem naming the item."""
    cfg = tmp_path / "nightly.toml"
    cfg.write_text(body)
    assert cli_main(["nightly", "--config", str(cfg)]) == 2
    err = capsys.readouterr().err
    assert words in err and "Traceback" not in err


def test_bad_date_and_missing_config(tmp_path: Path, capsys) -> None:
    """--date must be ISO; a missing config file is named."""
    assert cli_main(["nightly", "--config", str(tmp_path / "none.toml")]) == 2
    assert "none.toml: cannot read" in capsys.readouterr().err
    cfg = tmp_path / "n.toml"
    cfg.write_text('[[scenario]]\nname = "x"\npath = "x.json"\n')
    assert cli_main(["nightly", "--config", str(cfg), "--date", "yesterday"]) == 2
    assert "--date: expected YYYY-MM-DD" in capsys.readouterr().err


def test_scenarios_fan_out_to_worker_processes(
    tmp_path: Path, tiny_scenario: dict[str, Any], monkeypatch, capsys
) -> None:
    """``workers = 2``: the scenarios are solved on the executor's processes, each with its
    own time limit; plans, failures and reports are the same as one at a time."""
    monkeypatch.setenv("TRADELANE_SOLVER", FAKE)
    db = f"sqlite:///{tmp_path / 'n.db'}"
    _write(tmp_path, "a.json", tiny_scenario)
    _write(tmp_path, "bad.json", {**tiny_scenario, "x_test": {"fail": "infeasible tonight"}})
    cfg = _config(
        tmp_path,
        db,
        'workers = 2\n[[scenario]]\nname = "a"\npath = "a.json"\ntime_limit_s = 3\n'
        '[[scenario]]\nname = "bad"\npath = "bad.json"\n'
        '[[scenario]]\nname = "b"\npath = "a.json"\n',
    )
    assert cli_main(["nightly", "--config", str(cfg), "--date", "2026-03-01"]) == 1
    out = capsys.readouterr().out
    assert "a: planned" in out and "b: planned" in out
    assert "bad: FAILED: ValueError: infeasible tonight" in out
    for name in ("a", "b"):
        assert (tmp_path / f"reports/2026-03-01/{name}/plan.json").exists()


def test_a_night_on_dask_has_a_deadline(
    tmp_path: Path, tiny_scenario: dict[str, Any], monkeypatch, capsys
) -> None:
    """The executor is given a deadline (each scenario's limit, the kill grace and a margin,
    one after the other): a Dask worker or scheduler that stops answering cannot keep the
    night waiting for ever; a scenario without a result fails and says why."""
    import optimizer.executor

    seen: dict[str, float] = {}

    class Silent:
        kind = "dask"

        def map(self, fn, shared, items, *, deadline=math.inf):  # type: ignore[no-untyped-def]
            seen["deadline"], seen["at"], seen["n"] = deadline, time.perf_counter(), len(items)
            return [None] * len(items)

        def close(self) -> None:
            pass

    monkeypatch.setattr(optimizer.executor, "make_executor", lambda *a, **k: Silent())
    monkeypatch.setenv("TRADELANE_SOLVER", FAKE)
    db = f"sqlite:///{tmp_path / 'n.db'}"
    _write(tmp_path, "a.json", tiny_scenario)
    cfg = _config(
        tmp_path,
        db,
        '[[scenario]]\nname = "a"\npath = "a.json"\ntime_limit_s = 3\n'
        '[[scenario]]\nname = "b"\npath = "a.json"\ntime_limit_s = 5\n',
    )
    assert cli_main(["nightly", "--config", str(cfg), "--date", "2026-03-01"]) == 1
    out = capsys.readouterr().out
    assert "a: FAILED: the executor returned no result" in out and "time was up" in out
    grace = Settings().kill_grace_s
    want = 3 + 5 + 2 * (grace + nightly.NIGHT_MARGIN_S)
    assert seen["n"] == 2 and abs(seen["deadline"] - seen["at"] - want) < 5


def test_nightly_uses_stored_inventory_and_last_nights_plan(
    tmp_path: Path, monkeypatch, capsys
) -> None:
    """Format v1.1: a scenario directory's inventory.csv is tonight's stock and last night's
    plan is the previous plan; diff.md lists tonight's orders and transfers.

    Night 1: 20 units at WH-B, inbound at 10 -> order 454 (level 474). Night 2: 1000 units
    at WH-A, a transfer at 9.5 beats inbound: 740 move, nothing is ordered, and the high
    stability penalty keeps last night's level of 474 (without the previous plan it would
    drop to 0, as no inbound flow needs it)."""
    from tests.helpers import stranded_doc

    monkeypatch.setenv("TRADELANE_SOLVER", "api.worker:plan_job")
    db = f"sqlite:///{tmp_path / 'n.db'}"
    d = tmp_path / "sc"
    d.mkdir()
    doc = stranded_doc(9.5)
    doc["inventory"] = []
    doc["service"]["stability_penalty_per_unit"] = 50.0
    (d / "network.json").write_text(json.dumps(doc))
    (d / "inventory.csv").write_text("sku,warehouse,on_hand\nK,WH-B,20\n")
    cfg = _config(tmp_path, db, '[[scenario]]\nname = "st"\npath = "sc"\n')
    assert cli_main(["nightly", "--config", str(cfg), "--date", "2026-03-01"]) == 0
    day1 = tmp_path / "reports/2026-03-01/st"
    p1 = json.loads((day1 / "plan.json").read_text())
    assert p1["orders"] == [{"sku": "K", "warehouse": "WH-B", "lanes": ["O-B"], "units": 454.0}]
    md = (day1 / "diff.md").read_text()
    assert "## Orders to book tonight (1)" in md and "| K | WH-B | 454 | O-B |" in md
    assert "## Transfers (0)" in md

    (d / "inventory.csv").write_text("sku,warehouse,on_hand\nK,WH-A,1000\nK,WH-B,20\n")
    doc["demand"][0]["units"] = 760
    (d / "network.json").write_text(json.dumps(doc))
    capsys.readouterr()
    assert cli_main(["nightly", "--config", str(cfg), "--date", "2026-03-02"]) == 0
    day2 = tmp_path / "reports/2026-03-02/st"
    p2 = json.loads((day2 / "plan.json").read_text())
    assert p2["transfers"][0]["units"] == pytest.approx(740.0)
    assert p2["orders"] == []
    assert [(r["warehouse"], r["units"]) for r in p2["stock"] if r["units"]] == [("WH-B", 474)]
    assert p2["cost"]["stability"] == 0.0
    md2 = (day2 / "diff.md").read_text()
    assert "## Transfers (1)" in md2 and "| K | WH-A | WH-B | A-B | 740 | 10.0 |" in md2
    assert "## Orders to book tonight (0)" in md2


def test_bad_scenario_input_exits_2_and_is_said_once(
    tmp_path: Path, tiny_scenario: dict[str, Any], monkeypatch, capsys
) -> None:
    """A scenario whose inventory CSV is bad fails with the CSV line named, printed once (it
    was also logged), and the run exits 2 when bad input is its only failure (it exited 1)."""
    monkeypatch.setenv("TRADELANE_SOLVER", FAKE)
    db = f"sqlite:///{tmp_path / 'n.db'}"
    _write(tmp_path, "a.json", tiny_scenario)
    (tmp_path / "inv.csv").write_text("sku,warehouse,on_hand\nSKU-A,WH-PEN,100,999\n")
    cfg = _config(
        tmp_path, db, '[[scenario]]\nname = "a"\npath = "a.json"\ninventory = "inv.csv"\n'
    )
    assert cli_main(["nightly", "--config", str(cfg), "--date", "2026-03-01"]) == 2
    captured = capsys.readouterr()
    text = captured.out + captured.err
    assert text.count("inv.csv line 2: 4 fields, the header has 3") == 1


@pytest.mark.parametrize(
    "database_url, out, message",
    [
        ("bogus://x", None, "database_url: 'bogus://x' is not a database URL"),
        ("sqlite:///{tmp}/afile/n.db", None, "database_url: cannot open"),
        (None, "{tmp}/afile", "--out: cannot write"),
    ],
)
def test_unusable_database_or_out_exits_2_before_planning(
    tmp_path: Path,
    tiny_scenario: dict[str, Any],
    monkeypatch,
    capsys,
    database_url: str | None,
    out: str | None,
    message: str,
) -> None:
    """A database URL that cannot be opened, or a report folder under a file, exits 2 with one
    line naming the key or option before any scenario is planned or stored."""
    monkeypatch.setenv("TRADELANE_SOLVER", FAKE)
    (tmp_path / "afile").write_text("")
    db = (database_url or f"sqlite:///{tmp_path / 'n.db'}").format(tmp=tmp_path)
    _write(tmp_path, "a.json", tiny_scenario)
    cfg = _config(tmp_path, db, '[[scenario]]\nname = "a"\npath = "a.json"\n')
    args = ["nightly", "--config", str(cfg), "--date", "2026-03-01"]
    if out:
        args += ["--out", out.format(tmp=tmp_path)]
    assert cli_main(args) == 2
    err = capsys.readouterr().err.strip()
    assert message in err and len(err.splitlines()) == 1


def test_an_sqlite_file_in_a_missing_folder_is_named_like_serve_does(
    tmp_path: Path, tiny_scenario: dict[str, Any], monkeypatch, capsys
) -> None:
    """The nightly run checks its database URL with the same helper as ``tradelane serve``:
    an SQLite file whose folder does not exist is one line naming that folder, exit 2 (it
    said only "unable to open database file")."""
    monkeypatch.setenv("TRADELANE_SOLVER", FAKE)
    _write(tmp_path, "a.json", tiny_scenario)
    db = f"sqlite:///{tmp_path / 'missing' / 'n.db'}"
    cfg = _config(tmp_path, db, '[[scenario]]\nname = "a"\npath = "a.json"\n')
    assert cli_main(["nightly", "--config", str(cfg), "--date", "2026-03-01"]) == 2
    err = capsys.readouterr().err.strip()
    assert f"database_url: folder {str(tmp_path / 'missing')!r} of " in err, err
    assert "does not exist" in err and len(err.splitlines()) == 1
    assert not (tmp_path / "missing").exists()


def test_an_unreachable_database_server_is_exit_1_and_never_shows_its_password(
    tmp_path: Path, tiny_scenario: dict[str, Any], monkeypatch, capsys
) -> None:
    """A PostgreSQL server that refuses the connection is an outage (exit 1), not bad input,
    and the message masks the URL's password (a nightly's output goes to a log file)."""
    monkeypatch.setenv("TRADELANE_SOLVER", FAKE)
    _write(tmp_path, "a.json", tiny_scenario)
    cfg = _config(
        tmp_path,
        "postgresql://planner:S3cretPW@127.0.0.1:1/tl",
        '[[scenario]]\nname = "a"\npath = "a.json"\n',
    )
    assert cli_main(["nightly", "--config", str(cfg), "--date", "2026-03-01"]) == 1
    captured = capsys.readouterr()
    err = captured.err.strip()
    assert "S3cretPW" not in err + captured.out
    assert "database_url: cannot reach 'postgresql+psycopg://planner:***@127.0.0.1:1/tl'" in err
    assert len(err.splitlines()) == 1


def test_a_database_error_storing_one_scenario_keeps_the_others(
    tmp_path: Path, tiny_scenario: dict[str, Any], monkeypatch, capsys
) -> None:
    """Storing the first scenario's plan fails (a locked database): its report is written and
    it is reported failed, and the second scenario, solved already, is still written and
    stored; exit 1 (an outage, not bad input). One error used to end the whole night."""
    import sqlalchemy.exc

    monkeypatch.setenv("TRADELANE_SOLVER", FAKE)
    db = f"sqlite:///{tmp_path / 'n.db'}"
    _write(tmp_path, "a.json", tiny_scenario)
    _write(tmp_path, "b.json", tiny_scenario)
    cfg = _config(
        tmp_path,
        db,
        '[[scenario]]\nname = "a"\npath = "a.json"\n[[scenario]]\nname = "b"\npath = "b.json"\n',
    )
    real = JobStore.save_nightly

    def flaky(self: JobStore, **kw: Any) -> Any:
        if kw["scenario"] == "a":
            raise sqlalchemy.exc.OperationalError("UPDATE", {}, Exception("database is locked"))
        return real(self, **kw)

    monkeypatch.setattr(JobStore, "save_nightly", flaky)
    assert cli_main(["nightly", "--config", str(cfg), "--date", "2026-03-01"]) == 1
    out = capsys.readouterr().out
    assert "a: FAILED: report written to" in out and "database is locked" in out
    assert "b: planned" in out and "1 planned, 1 failed" in out
    assert (tmp_path / "reports/2026-03-01/a/plan.json").exists()
    assert (tmp_path / "reports/2026-03-01/b/plan.json").exists()
    engine = make_engine(db)
    stored = JobStore(engine)
    assert [r.status for r in stored.nightly("b")] == ["succeeded"]
    assert stored.nightly("a") == []
    engine.dispose()


def test_a_failed_rerun_of_a_night_keeps_that_nights_plan(
    tmp_path: Path, tiny_scenario: dict[str, Any], monkeypatch, capsys
) -> None:
    """A night planned, then run again for the same date and failing (a solver setting, a
    solve that broke): the plan stored for that date, whose orders went out, is kept, so the
    next night diffs and keeps stability against it. The failed re-run used to delete it."""
    monkeypatch.setenv("TRADELANE_SOLVER", FAKE)
    db = f"sqlite:///{tmp_path / 'n.db'}"
    sc = _write(tmp_path, "tiny.json", tiny_scenario)
    cfg = _config(tmp_path, db, '[[scenario]]\nname = "tiny-my"\npath = "tiny.json"\n')
    for day in ("2026-03-01", "2026-03-02"):
        assert cli_main(["nightly", "--config", str(cfg), "--date", day]) == 0
    sc.write_text(json.dumps({**tiny_scenario, "x_test": {"fail": "solver broke"}}))
    capsys.readouterr()
    assert cli_main(["nightly", "--config", str(cfg), "--date", "2026-03-02"]) == 1
    out = capsys.readouterr().out
    assert "tiny-my: FAILED: ValueError: solver broke" in out
    assert "the plan stored earlier for 2026-03-02 is kept" in out
    engine = make_engine(db)
    runs = JobStore(engine).nightly("tiny-my")
    engine.dispose()
    assert [(r.run_date.isoformat(), r.status) for r in runs] == [
        ("2026-03-01", "succeeded"),
        ("2026-03-02", "succeeded"),
    ]
    sc.write_text(json.dumps(tiny_scenario))
    assert cli_main(["nightly", "--config", str(cfg), "--date", "2026-03-03"]) == 0
    assert "vs 2026-03-02" in capsys.readouterr().out


def test_sigterm_during_the_solves_stops_them_and_leaves_no_process(
    tmp_path: Path, tiny_scenario: dict[str, Any]
) -> None:
    """``kill <nightly>`` (a scheduler's timeout, a shutdown) while ``workers = 2`` solves run:
    the run ends with 143 saying so, and its worker processes, their fork servers and the
    solves are gone. The pool's processes used to stay behind for ever (waiting on a queue
    whose writer they hold themselves) and the solves ran on to their time limit."""
    import contextlib
    import os
    import signal
    import subprocess
    import sys
    import time

    import psutil

    from tests.api.server import ROOT

    runs = tmp_path / "runs"
    runs.mkdir()
    slow = {**tiny_scenario, "x_test": {"sleep_s": 60, "record": {"dir": str(runs), "token": "r"}}}
    _write(tmp_path, "slow.json", slow)
    cfg = _config(
        tmp_path,
        f"sqlite:///{tmp_path / 'n.db'}",
        'time_limit_s = 60\nworkers = 2\n[[scenario]]\nname = "a"\npath = "slow.json"\n'
        '[[scenario]]\nname = "b"\npath = "slow.json"\n',
    ).read_text()
    (tmp_path / "nightly.toml").write_text(cfg.replace("time_limit_s = 5\n", "", 1))
    import shutil
    import tempfile

    # the run's temporary files, none to be left behind (a short path: a fork server's socket
    # goes in there, and Unix socket paths are short)
    tmp = Path(tempfile.mkdtemp(prefix="tl-test-"))
    env = {**os.environ, "PYTHONPATH": str(ROOT), "TRADELANE_SOLVER": FAKE, "TMPDIR": str(tmp)}
    argv = [sys.executable, "-m", "api.cli", "nightly", "--config", str(tmp_path / "nightly.toml")]
    log = (tmp_path / "nightly.log").open("w")  # a file: processes left behind hold a pipe
    proc = subprocess.Popen(argv, env=env, cwd=ROOT, stdout=log, stderr=log)
    family: list[psutil.Process] = []
    alive: list[psutil.Process] = []
    try:
        end = time.monotonic() + 60
        record = runs / "r"
        while time.monotonic() < end and (
            not record.exists() or record.read_text().count("start") < 2
        ):
            assert proc.poll() is None, (tmp_path / "nightly.log").read_text()
            time.sleep(0.1)
        assert record.read_text().count("start") == 2
        family = psutil.Process(proc.pid).children(recursive=True)
        assert len(family) >= 4  # two pool processes, their solves (and helpers)
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        log.close()
        _gone, alive = psutil.wait_procs(family, timeout=10)
        for p in alive:  # whatever failed, leave nothing running behind this test
            with contextlib.suppress(psutil.Error):
                p.kill()
    assert proc.returncode == 143
    assert "SIGTERM" in (tmp_path / "nightly.log").read_text()
    assert alive == [], [p.pid for p in alive]
    # the stopped workers' multiprocessing folders (pymp-*) were left in the temporary folder
    left = [p.name for p in tmp.iterdir()]
    shutil.rmtree(tmp, ignore_errors=True)
    assert left == []


def test_a_solver_setting_that_cannot_load_exits_2_before_planning(
    tmp_path: Path, tiny_scenario: dict[str, Any], monkeypatch, capsys
) -> None:
    """``TRADELANE_SOLVER`` naming nothing importable is bad configuration, said once (as
    ``tradelane serve`` does), exit 2, before anything is planned or stored; it used to fail
    every scenario in turn (exit 1) and store each failure."""
    monkeypatch.setenv("TRADELANE_SOLVER", "nomod:fn")
    db = f"sqlite:///{tmp_path / 'n.db'}"
    _write(tmp_path, "tiny.json", tiny_scenario)
    cfg = _config(tmp_path, db, '[[scenario]]\nname = "tiny-my"\npath = "tiny.json"\n')
    assert cli_main(["nightly", "--config", str(cfg), "--date", "2026-03-01"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: TRADELANE_SOLVER: cannot load solver 'nomod:fn'")
    assert len(err.splitlines()) == 1
    assert not (tmp_path / "n.db").exists() and not (tmp_path / "reports").exists()


def test_verbose_logs_the_solves_start_and_each_scenarios_end(
    tmp_path: Path, tiny_scenario: dict[str, Any]
) -> None:
    """The README: "``-v`` logs when the solves start and each scenario's end", in a process
    of its own as cron runs it (its log set up by the command, not by the tests)."""
    import os
    import subprocess
    import sys

    from tests.api.server import ROOT

    _write(tmp_path, "tiny.json", tiny_scenario)
    cfg = _config(tmp_path, f"sqlite:///{tmp_path / 'n.db'}", '[[scenario]]\nname = "tiny-my"\n'
                  'path = "tiny.json"\n')  # fmt: skip
    env = {**os.environ, "PYTHONPATH": str(ROOT), "TRADELANE_SOLVER": FAKE}
    argv = [sys.executable, "-m", "api.cli", "-v", "nightly", "--config", str(cfg)]
    argv += ["--date", "2026-03-01"]
    run = {"env": env, "cwd": tmp_path, "capture_output": True, "text": True, "timeout": 120}
    done = subprocess.run(argv, check=False, **run)  # type: ignore[call-overload]
    assert done.returncode == 0, done.stderr
    assert "INFO api.nightly: nightly 2026-03-01: solving 1 of 1 scenario(s)" in done.stderr
    assert "INFO api.nightly: nightly tiny-my: planned (optimal" in done.stderr
    quiet = subprocess.run(argv[:3] + argv[4:], check=False, **run)  # type: ignore[call-overload]
    assert quiet.returncode == 0 and "INFO" not in quiet.stderr, quiet.stderr


def test_the_private_temporary_folder_is_skipped_where_a_socket_path_would_not_fit(
    monkeypatch,
) -> None:
    """The workers' temporary folder of a run is set while it runs and removed after; where
    its path would leave no room for a fork server's socket path, TMPDIR is left alone (and
    nothing is made)."""
    import os
    from pathlib import Path

    from api.commands import nightly as cmd

    monkeypatch.setenv("TMPDIR", "/nowhere-else")
    with cmd._private_tmp():
        inside = Path(os.environ["TMPDIR"])
        assert inside.is_dir() and inside.name.startswith("tl-")
    assert os.environ["TMPDIR"] == "/nowhere-else" and not inside.exists()
    monkeypatch.setattr(cmd, "UNIX_PATH_MAX", 10)
    with cmd._private_tmp():
        assert os.environ["TMPDIR"] == "/nowhere-else"
