"""Tests of the ``tradelane route`` command (run in-process through ``api.cli.main``)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from api.cli import main

ROOT = Path(__file__).resolve().parents[2]


def test_route_instance_file_writes_contract_json(tmp_path, data_dir, capsys) -> None:
    """``route INSTANCE --time-limit --out`` writes the DESIGN §7 keys; exit code 0."""
    out = tmp_path / "sol.json"
    code = main(
        [
            "route",
            str(data_dir / "vrp" / "C101.txt"),
            "--solution-limit",
            "30",
            "--out",
            str(out),
            "--seed",
            "2",
            "--best-known",
            "827.3",
        ]
    )
    assert code == 0
    d = json.loads(out.read_text())
    assert {"instance", "cost", "vehicles", "routes", "feasible", "solve_seconds"} <= set(d)
    assert d["instance"] == "C101" and d["feasible"] is True and d["seed"] == 2
    assert sorted(c for r in d["routes"] for c in r) == list(range(1, 101))
    assert "feasible" in capsys.readouterr().out
    # per-stop arrival times and slack to the window's close (Solomon: the due date)
    assert d["path"] == "ils"
    for ids, det in zip(d["routes"], d["route_details"], strict=True):
        assert [st["client"] for st in det["stops"]] == ids
        for st in det["stops"]:
            assert st["start"] >= st["eta"] - 1e-6 and st["slack"] >= -1e-6


def test_route_plan_day(tmp_path, data_dir) -> None:
    """``route --plan DIR --warehouse --day`` routes the day and lists carrier hand-overs."""
    out = tmp_path / "day.json"
    code = main(
        [
            "route",
            "--plan",
            str(data_dir / "vrp" / "plan-tiny"),
            "--warehouse",
            "WH-KUL",
            "--day",
            "5",
            "--time-limit",
            "1",
            "--out",
            str(out),
        ]
    )
    assert code == 0
    d = json.loads(out.read_text())
    assert d["feasible"] and d["warehouse"] == "WH-KUL" and d["day"] == 5
    assert all(x["carrier_cost"] > 0 for x in d["dropped"])
    assert d["cost"] > 0 and d["currency"] == "USD"


def test_bad_input_exits_2_with_a_message(tmp_path, data_dir, capsys) -> None:
    """Missing file, both/neither sources, unknown warehouse, bad config: exit 2, no traceback."""
    plan = str(data_dir / "vrp" / "plan-tiny")
    cfg = tmp_path / "bad.toml"
    cfg.write_text("turbo = true\n")
    cases = [
        (["route", str(tmp_path / "none.vrp")], "no such file"),
        (["route"], "either INSTANCE or --plan"),
        (["route", "--plan", plan, "--warehouse", "WH-NOPE", "--day", "0"], "WH-NOPE"),
        (["route", "--plan", plan, "--day", "0"], "--warehouse"),
        (["route", str(data_dir / "vrp" / "C101.txt"), "--config", str(cfg)], "turbo"),
        (["route", str(data_dir / "vrp" / "C101.txt"), "--time-limit", "-3"], "--time-limit"),
    ]
    for argv, message in cases:
        assert main(argv) == 2, argv
        err = capsys.readouterr().err
        assert message in err and "Traceback" not in err, (argv, err)


@pytest.mark.parametrize(
    "flags, message",
    [
        (["--best-known", "0"], "--best-known: 0.0 not understood"),  # was a ZeroDivisionError
        (["--best-known", "-5"], "--best-known: -5.0 not understood"),  # was a -7600 % gap
        (["--time-limit", "-1"], "--time-limit: -1.0 not understood"),  # not time_limit_s
        (["--time-limit", "nan"], "--time-limit: nan not understood"),
        (["--seed", "-1"], "--seed: -1 not understood"),
        (["--solution-limit", "0"], "--solution-limit: 0 not understood"),
        (["--circuity", "0"], "--circuity: 0.0 not understood"),
    ],
)
def test_route_flags_are_checked_before_solving_naming_the_flag(
    tmp_path, data_dir, capsys, flags, message
) -> None:
    """Bad numeric flags exit 2 with a line naming the flag (not the parameter field), before
    the solve, and no --out file is written."""
    inst = data_dir / "bench" / "solomon" / "C101-12.txt"
    out = tmp_path / "r.json"
    assert main(["route", str(inst), *flags, "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert f"error: {message}" in err and "Traceback" not in err
    assert not out.exists()


@pytest.mark.parametrize(
    "flags",
    [
        ["--warehouse", "WH-KUL"],
        ["--day", "3"],
        ["--scenario", "scenario.json"],
        ["--matrix", "km.npy"],
        ["--circuity", "2"],
    ],
)
def test_plan_only_flags_with_an_instance_file_exit_2(tmp_path, data_dir, capsys, flags) -> None:
    """A flag that shapes a plan's day, given with an instance file instead of ``--plan``, is
    exit 2 naming it (it was ignored: ``route C101.txt --day 3`` solved C101 without a word)."""
    inst = data_dir / "bench" / "solomon" / "C101-12.txt"
    out = tmp_path / "r.json"
    assert main(["route", str(inst), *flags, "--time-limit", "0.5", "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert f"error: {flags[0]}: only with --plan" in err and "Traceback" not in err
    assert not out.exists()


def test_the_cli_module_does_not_load_the_scenario_reader() -> None:
    """Importing ``api.cli`` loads neither ``network.scenario`` nor pandas: the worker
    processes a routing decomposition spawns re-import the command's main module (this one),
    and with pandas' 1-2 s of imports in each a 3-s ``tradelane route`` limit ran out before
    they started (solves of 7-8 s, every sector by the sweep)."""
    code = "import sys, api.cli; print(sorted({'network.scenario', 'pandas'} & set(sys.modules)))"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True
    )
    assert out.stdout.strip() == "[]"


@pytest.mark.slow
def test_a_large_plan_day_keeps_its_time_limit(tmp_path, data_dir) -> None:
    """``tradelane route --plan`` on a day of about 2,800 orders (the tiny plan's rows times 30:
    the decomposition on worker processes) solves within its 3-s limit + 10 %, run as the
    command is (``python -m api.cli``, whose module the workers re-import)."""
    src = data_dir / "vrp" / "plan-tiny"
    plan = json.loads((src / "plan.json").read_text())
    plan["fulfilment"] = [{**r, "units": 30 * r["units"]} for r in plan["fulfilment"]]
    (tmp_path / "plan.json").write_text(json.dumps(plan))
    (tmp_path / "scenario.json").write_text((src / "scenario.json").read_text())
    out = tmp_path / "day.json"
    argv = ["route", "--plan", str(tmp_path), "--warehouse", "WH-KUL", "--day", "0"]
    argv += ["--time-limit", "3", "--out", str(out)]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    subprocess.run([sys.executable, "-m", "api.cli", *argv], env=env, check=True, timeout=120)
    d = json.loads(out.read_text())
    assert d["feasible"] and d["path"] == "decomposition"
    assert len(d["dropped"]) + sum(len(r) for r in d["routes"]) > 2000
    assert d["solve_seconds"] <= 3.3


def test_without_out_standard_output_is_the_json_alone(data_dir, capsys) -> None:
    """Without ``--out`` the route JSON is all of standard output (``tradelane route X | jq``
    parses it) and the summary goes to standard error; it was printed before the JSON, so
    standard output was no JSON document."""
    inst = data_dir / "bench" / "solomon" / "C101-12.txt"
    assert main(["route", str(inst), "--solution-limit", "5", "--seed", "1"]) == 0
    cap = capsys.readouterr()
    d = json.loads(cap.out)
    assert d["instance"] == "C101-12" and d["feasible"] and d["seed"] == 1
    assert cap.err.startswith("C101-12: feasible, cost")


@pytest.mark.parametrize(
    "line, message",
    [
        ("seed = 1.5", "seed = 1.5 is not a whole number"),  # was an internal error (numpy)
        ("time_limit_s = true", "time_limit_s = true is not a number"),  # was taken as 1 s
        ("time_limit_s = 'fast'", "time_limit_s = 'fast' is not a number"),  # was a TypeError
        ("workers = 1.5", "workers = 1.5 is not a whole number"),  # was taken silently
        ("ils_temperature = [1]", "ils_temperature = [1] is not a list of 2 numbers"),
    ],
)
def test_config_values_of_another_type_exit_2_naming_the_key(
    tmp_path, data_dir, capsys, line, message
) -> None:
    """A ``--config`` value of the wrong TOML type is exit 2 naming the file and the key."""
    cfg = tmp_path / "routing.toml"
    cfg.write_text(f"[routing]\n{line}\n")
    inst = data_dir / "bench" / "solomon" / "C101-12.txt"
    argv = ["route", str(inst), "--time-limit", "0.2", "--config", str(cfg)]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert f"error: {cfg}: {message}." in err and "Traceback" not in err


def _write_binary_plan(d):
    (d / "plan.json").write_bytes(b"\xef\x00\xff" * 50)
    return ["--plan", str(d)]


def _words_npy(d):
    np.save(d / "m.npy", np.array(["a", "b"]))
    return ["--matrix", str(d / "m.npy")]


def _npz_as_npy(d):
    np.savez(d / "m.npz", a=np.zeros(3))
    (d / "m.npy").write_bytes((d / "m.npz").read_bytes())
    return ["--matrix", str(d / "m.npy")]


def _nan_matrix(d):
    m = np.ones((5, 5))
    m[1, 2] = np.nan
    np.save(d / "m.npy", m)
    return ["--matrix", str(d / "m.npy")]


@pytest.mark.parametrize(
    "make, message",
    [
        (_write_binary_plan, "--plan: cannot read"),  # was an internal error (exit 1)
        (_words_npy, "not a numeric matrix"),  # was an internal error
        (_npz_as_npy, "not a numeric matrix"),  # was an internal error
        (_nan_matrix, "entry [1, 2] is nan; expected km >= 0"),  # named the instance's cell
    ],
)
def test_unreadable_plan_or_matrix_exits_2(tmp_path, data_dir, capsys, make, message) -> None:
    """A plan.json that is not UTF-8 text, and a --matrix that holds words, is an archive or
    has a NaN, are exit 2 naming the flag, not internal errors."""
    argv = ["route", "--plan", str(data_dir / "vrp" / "plan-tiny")]
    argv += ["--warehouse", "WH-KUL", "--day", "0", "--time-limit", "0.2"]
    argv += make(tmp_path)  # a later --plan or --matrix wins
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert message in err and "internal error" not in err, err


def test_the_route_json_records_the_run_s_stops(tmp_path, data_dir) -> None:
    """The route JSON records the time and solution limits beside the seed, so that a run can
    be repeated and two runs compared (only the seed was recorded)."""
    inst = data_dir / "bench" / "solomon" / "C101-12.txt"
    out = tmp_path / "r.json"
    assert main(["route", str(inst), "--time-limit", "0.3", "--out", str(out)]) == 0
    d = json.loads(out.read_text())
    assert (d["seed"], d["time_limit_s"], d["solution_limit"]) == (0, 0.3, None)
    assert main(["route", str(inst), "--solution-limit", "5", "--out", str(out)]) == 0
    d = json.loads(out.read_text())
    assert (d["time_limit_s"], d["solution_limit"]) == (None, 5)


def test_carrier_orders_of_a_plan_day_carry_their_promise_deadline(tmp_path, data_dir) -> None:
    """Each order of a plan's day handed to the parcel carrier carries ``due``: its promise
    deadline in hours since dispatch (what the carrier has left), as the day's instance has
    it; only the routed orders' slack was given."""
    from network.scenario import load_scenario
    from optimizer.plan.day import build_day_instance
    from optimizer.plan.document import Plan

    plan_dir = data_dir / "vrp" / "plan-tiny"
    out = tmp_path / "day.json"
    argv = ["route", "--plan", str(plan_dir), "--warehouse", "WH-KUL", "--day", "0"]
    assert main([*argv, "--time-limit", "1", "--out", str(out)]) == 0
    d = json.loads(out.read_text())
    assert d["dropped"]  # Johor Bahru is 300 km away: its orders go to the carrier
    plan = Plan.from_json(json.loads((plan_dir / "plan.json").read_text()))
    inst = build_day_instance(
        plan, load_scenario(plan_dir / "scenario.json"), warehouse="WH-KUL", day=0
    )
    due = dict(zip(inst.client_ids, inst.due.tolist(), strict=True))
    for row in d["dropped"]:
        assert row["due"] == pytest.approx(due[row["client"]], abs=1e-6)
        assert 0 < row["due"] < 72


def test_the_plan_s_scenario_copy_is_scenario_json_not_any_scenario_file(
    tmp_path, data_dir
) -> None:
    """Without ``--scenario`` the plan directory's ``scenario.json`` is read (the help's
    ``DIR/scenario.*``), not the first file whose name starts with "scenario": a note
    ``scenario-notes.txt`` beside it sorted first and was read as the scenario (exit 2)."""
    src = data_dir / "vrp" / "plan-tiny"
    for name in ("plan.json", "scenario.json"):
        (tmp_path / name).write_text((src / name).read_text())
    (tmp_path / "scenario-notes.txt").write_text("the Kuala Lumpur test day\n")
    argv = ["route", "--plan", str(tmp_path), "--warehouse", "WH-KUL", "--day", "0"]
    assert main([*argv, "--time-limit", "0.5", "--out", str(tmp_path / "day.json")]) == 0
