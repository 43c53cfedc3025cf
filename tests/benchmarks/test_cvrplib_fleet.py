"""Classic CVRPLIB optima are for the fleet of the instance's name; X instances have none."""

from __future__ import annotations

import shutil
from pathlib import Path

from benchmarks.suite.families import resolve_family


def test_classic_instances_are_read_with_the_fleet_of_their_name(data_dir: Path) -> None:
    """P-n22-k8: 8 vehicles (its optimum 603 is for 8; a free fleet gives 590 with 9 routes,
    a gap of -2.2 %); E-n22-k4: 4."""
    fam = resolve_family("cvrplib")
    inst = fam.read(data_dir / "bench" / "cvrplib_classic" / "P-n22-k8.vrp")
    assert inst.vehicle_types[0].count == 8
    inst = fam.read(data_dir / "bench" / "cvrplib" / "E-n22-k4.vrp")
    assert inst.vehicle_types[0].count == 4


def test_x_instances_keep_a_free_fleet(data_dir: Path, tmp_path: Path) -> None:
    """An X instance's ``kNN`` is the minimum number of routes, not a limit (X-n101-k25's
    best-known solution has 26 routes)."""
    x = tmp_path / "X-n22-k4.vrp"
    shutil.copy(data_dir / "bench" / "cvrplib" / "E-n22-k4.vrp", x)
    assert resolve_family("cvrplib").read(x).vehicle_types[0].count == 21


def test_no_solve_beats_the_classic_optimum(data_dir: Path) -> None:
    """Both solvers, 1 s: the evaluator's cost is never below the optimum of the table."""
    fam = resolve_family("cvrplib")
    path = data_dir / "bench" / "cvrplib_classic" / "P-n22-k8.vrp"
    inst = fam.read(path)
    bks = fam.best_known(path)
    assert bks == 603.0
    for name in ("ortools", "pyvrp"):
        out = fam.solvers[name](inst, time_limit=1.0, seed=0, params={})
        ev = fam.evaluate(inst, out.solution)
        assert ev.feasible, (name, ev.detail)
        assert ev.cost >= bks - 1e-9, (name, ev.cost)
