"""The report's figures recomputed independently (plain numpy over the rows), and failed or
infeasible solves kept visible."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from benchmarks.suite.report import markdown_report, summarise
from tests.benchmarks.toy import result_row


def _row(inst: str, config: str, solver: str, seed: int, tl: float, cost, status="ok", bks=None):
    return result_row(
        inst, config, solver, cost, bks=bks, seed=seed, tl=tl, status=status, family="cvrplib"
    )


def test_means_and_ratios_match_an_independent_recomputation() -> None:
    """3 instances x 2 seeds x 2 limits x (2 configs + PyVRP), random costs, a few failures:
    every mean gap, max gap and geometric-mean ratio equals numpy over exactly the rows of its
    (limit, configuration), pairing on (instance, seed) at the same limit."""
    rng = np.random.default_rng(7)
    bks = {"I1": 100.0, "I2": 250.0, "I3": 400.0}
    rows = []
    for inst, seed, tl, (cfg, solver) in itertools.product(
        bks, (0, 1), (1.0, 2.0), (("a", "ortools"), ("b", "ortools"), ("pyvrp", "pyvrp"))
    ):
        cost = float(bks[inst] * (1 + rng.uniform(0, 0.2)))
        row = _row(inst, cfg, solver, seed, tl, cost, bks=bks[inst])
        rows.append({**row, "seconds": float(rng.uniform(0.5, 2.0))})
    # failures: never a number in any mean, but counted
    rows[0] = {**rows[0], "status": "infeasible", "feasible": False, "cost": 1.0}
    rows[5] = {**rows[5], "status": "no_solution", "feasible": False, "cost": None}
    rows[8] = {**rows[8], "status": "timeout", "feasible": False, "cost": None}
    summ = {(s["time_limit"], s["config"]): s for s in summarise(rows)}
    for (tl, label), s in summ.items():
        cfg = label.split(" ")[0]
        mine = [r for r in rows if r["time_limit"] == tl and r["config"] == cfg]
        ok = [r for r in mine if r["status"] == "ok"]
        gaps = np.array([100 * (r["cost"] - bks[r["instance"]]) / bks[r["instance"]] for r in ok])
        assert s["solves"] == len(mine) and s["ok"] == len(ok)
        assert s["mean_gap"] == pytest.approx(gaps.mean())
        assert s["max_gap"] == pytest.approx(gaps.max())
        assert s["median_gap"] == pytest.approx(float(np.median(gaps)))
        secs = [r["seconds"] for r in mine if r.get("seconds") is not None]
        assert s["median_s"] == pytest.approx(float(np.median(secs)))
        if cfg == "pyvrp":
            continue
        peer = {
            (r["instance"], r["seed"]): r["cost"]
            for r in rows
            if r["time_limit"] == tl and r["config"] == "pyvrp" and r["status"] == "ok"
        }
        logs = [
            np.log(r["cost"] / peer[(r["instance"], r["seed"])])
            for r in ok
            if (r["instance"], r["seed"]) in peer
        ]
        assert s["vs_peer"]["pyvrp"] == pytest.approx(float(np.exp(np.mean(logs))))


def test_a_row_whose_status_is_not_ok_never_counts_as_a_cost() -> None:
    """Even when a row says feasible (a file written by hand or by an older version), a status
    other than ok keeps its cost out of every mean, ratio and reference."""
    rows = [
        _row("I1", "a", "ortools", 0, 1.0, 110.0, bks=100.0),
        {
            **_row("I1", "a", "ortools", 1, 1.0, 50.0, bks=100.0),
            "status": "infeasible",
            "feasible": True,
        },
        _row("I1", "pyvrp", "pyvrp", 0, 1.0, 100.0, bks=100.0),
        {
            **_row("I1", "pyvrp", "pyvrp", 1, 1.0, 10.0, bks=100.0),
            "status": "error",
            "feasible": True,
        },
    ]
    s = {x["config"]: x for x in summarise(rows)}
    assert s["a (ortools)"]["ok"] == 1 and s["a (ortools)"]["mean_gap"] == pytest.approx(10.0)
    assert s["a (ortools)"]["vs_peer"]["pyvrp"] == pytest.approx(1.1)
    assert s["pyvrp"]["mean_gap"] == pytest.approx(0.0)


def test_per_instance_cell_shows_the_seeds_that_failed() -> None:
    """Seed 0 feasible (gap 10 %), seed 1 infeasible: the per-instance cell must not read as a
    plain 10.00 over both seeds."""
    rows = [
        _row("I1", "a", "ortools", 0, 1.0, 110.0, bks=100.0),
        _row("I1", "a", "ortools", 1, 1.0, 1.0, status="infeasible", bks=100.0),
    ]
    md = markdown_report(rows)
    line = next(ln for ln in md.splitlines() if ln.startswith("| I1 |"))
    assert "| 10.00 |" not in line
    assert "10.00" in line and "infeasible" in line and "1 of 2" in line


def test_ratio_to_the_peer_says_how_many_pairs_it_covers() -> None:
    """Ours feasible on I1, I2; PyVRP infeasible on I2: the ratio covers 1 of 2 pairs and the
    report says so, naming the pair left out and why."""
    rows = [
        _row("I1", "a", "ortools", 0, 1.0, 110.0, bks=100.0),
        _row("I2", "a", "ortools", 0, 1.0, 220.0, bks=200.0),
        _row("I1", "pyvrp", "pyvrp", 0, 1.0, 100.0, bks=100.0),
        _row("I2", "pyvrp", "pyvrp", 0, 1.0, 150.0, status="infeasible", bks=200.0),
    ]
    s = {x["config"]: x for x in summarise(rows)}
    assert s["a (ortools)"]["vs_peer"]["pyvrp"] == pytest.approx(1.1)
    assert s["a (ortools)"]["vs_peer_pairs"]["pyvrp"] == (1, 2)
    md = markdown_report(rows)
    assert "1 of 2" in md
    assert "I2 seed 0 (pyvrp infeasible)" in md


def test_rows_of_one_name_with_other_parameters_or_repeated_are_flagged() -> None:
    """Results files concatenated by hand (or written before resume checked parameters) can
    hold one configuration name with two parameter sets, or the same solve twice; each copy
    would count in the means without a word. The report says so above the tables."""
    a = _row("I1", "a", "ortools", 0, 1.0, 110.0, bks=100.0)
    rows = [
        a,
        {**_row("I2", "a", "ortools", 0, 1.0, 120.0, bks=100.0), "params": {"neighbors": 20}},
        dict(a),
    ]
    md = markdown_report(rows)
    assert "a (ortools)" in md and "2 different parameter sets" in md
    assert "1 solve(s) recorded more than once" in md and "I1 seed 0" in md
    assert "different parameter sets" not in markdown_report([a])
    assert "more than once" not in markdown_report([a])
