"""Tests of the ``tradelane route`` command (run in-process through ``api.cli.main``)."""

from __future__ import annotations

import json

import pytest

from api.cli import main


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
