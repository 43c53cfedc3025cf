"""Benchmark families: readers, best-known lookup, peers and the independent evaluators."""

from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np
import pytest
from scipy.optimize import linprog

from benchmarks.suite.alloc import evaluate_cap, read_cap, read_cap_data, solve_naive
from benchmarks.suite.families import cvrplib, resolve_family, solomon
from benchmarks.suite.peers import pyvrp_scale


@pytest.fixture(scope="module")
def bench_data(data_dir: Path) -> Path:
    return data_dir / "bench"


def _brute_force_cap(path: Path) -> float:
    """CAP optimum by enumerating open sets and solving each transport LP (scipy)."""
    c = read_cap_data(path)
    m, n = c.cost.shape
    best = np.inf
    for mask in itertools.product([0, 1], repeat=m):
        op = [i for i in range(m) if mask[i]]
        if not op or c.capacity[op].sum() < c.demand.sum():
            continue
        k = len(op)
        a_eq = np.zeros((n, k * n))
        a_ub = np.zeros((k, k * n))
        for a in range(k):
            a_eq[np.arange(n), a * n + np.arange(n)] = 1
            a_ub[a, a * n : (a + 1) * n] = c.demand
        r = linprog(
            c.cost[op].ravel(),
            A_ub=a_ub,
            b_ub=c.capacity[op],
            A_eq=a_eq,
            b_eq=np.ones(n),
            bounds=(0, 1),
        )
        best = min(best, r.fun + c.fixed_cost[op].sum())
    return float(best)


def test_cap_scenario_optimum_equals_brute_force(bench_data: Path) -> None:
    """The capNN -> scenario mapping keeps the optimum: our planner on cap01 reaches the
    brute-force CAP optimum (329) and the CAP evaluator, which ignores the model, agrees."""
    path = bench_data / "cflp" / "cap01.txt"
    fam = resolve_family("cflp")
    inst = fam.read(path)
    opt = _brute_force_cap(path)
    assert opt == pytest.approx(329.0) == fam.best_known(path)
    out = fam.solvers["tradelane"](inst, time_limit=20, seed=0, params={})
    ev = fam.evaluate(inst, out.solution)
    assert ev.feasible, ev.detail
    assert ev.cost == pytest.approx(opt, rel=1e-6)
    assert out.solution["objective"] == pytest.approx(opt, rel=1e-6)


def test_cap_evaluator_flags_unmet_demand_and_overload(bench_data: Path) -> None:
    """The CAP evaluator names a customer served short and a warehouse over capacity, and
    charges the fixed cost of every used warehouse."""
    inst = read_cap(bench_data / "cflp" / "cap01.txt")
    plan = {
        "fulfilment": [
            {"source": "W1", "zone": f"C{j}", "units": d}
            for j, d in zip(range(1, 5), (10, 15, 20, 12), strict=True)
        ]
    }
    ev = evaluate_cap(inst, plan)
    assert not ev.feasible and "W1: load 57 over capacity 30" in ev.detail
    assert ev.cost == pytest.approx(100 + 20 + 45 + 80 + 36)  # fixed + c_1j for all j
    plan["fulfilment"] = plan["fulfilment"][:3]
    ev = evaluate_cap(inst, plan)
    assert not ev.feasible and "C4: served 0 of demand 12" in ev.detail


def test_naive_peer_is_checked_by_the_same_evaluator(bench_data: Path) -> None:
    """The naive planner's plan goes through the CAP evaluator: it ignores throughput, so on
    cap01 (nearest warehouse cannot hold everything) it is infeasible, not silently scored."""
    inst = read_cap(bench_data / "cflp" / "cap01.txt")
    ev = evaluate_cap(inst, solve_naive(inst, time_limit=5, seed=0, params={}).solution)
    assert ev.cost is not None and ev.cost > 0
    assert not ev.feasible and "over capacity" in ev.detail


@pytest.mark.parametrize(
    "text, message",
    [
        ("3 4\n1 2\n", "truncated"),  # header promises more numbers
        ("2 1\ncapacity 5\ncapacity 5\n3 1 1\n", "template"),  # capa/b/c needs a capacity
        ("1 1\n5 x\n3 1\n", "not a capNN file"),  # non-numeric token
        ("1 1\n5 1\n0 1\n", "customer 1 has demand 0"),  # zero demand
    ],
)
def test_read_cap_data_rejects_bad_files(tmp_path: Path, text: str, message: str) -> None:
    """Malformed capNN files raise ValueError naming the file and the problem."""
    p = tmp_path / "capx.txt"
    p.write_text(text)
    with pytest.raises(ValueError, match=message):
        read_cap_data(p)


def test_pyvrp_scale_matches_distance_conventions() -> None:
    """Integral distances need no scaling, one-decimal ones 10, others 1000."""
    assert pyvrp_scale(np.array([[0, 3], [3, 0]])) == 1
    assert pyvrp_scale(np.array([[0, 3.7], [3.7, 0]])) == 10
    assert pyvrp_scale(np.array([[0, np.sqrt(2)], [np.sqrt(2), 0]])) == 1000


@pytest.mark.parametrize(
    "family, folder, name, bks",
    [
        (solomon, "solomon", "C101-12.txt", 128.0),
        (cvrplib, "cvrplib", "E-n22-k4.vrp", 375.0),
    ],
)
def test_pyvrp_peer_solution_passes_our_evaluator(
    bench_data: Path, family, folder: str, name: str, bks: float
) -> None:
    """PyVRP's routes, mapped back to client indices, are feasible for the independent
    evaluator and cost no less than the best-known value (TSPLIB rounding / truncation)."""
    fam = family()
    path = bench_data / folder / name
    inst = fam.read(path)
    assert fam.best_known(path) == bks
    out = fam.solvers["pyvrp"](inst, time_limit=1, seed=0, params={})
    ev = fam.evaluate(inst, out.solution)
    assert ev.feasible, ev.detail
    assert bks - 1e-6 <= ev.cost <= bks * 1.05
    assert out.samples and out.samples[-1][1] == pytest.approx(ev.cost)


def test_synthetic_family_names_instances_by_folder(tmp_path: Path) -> None:
    """Generated scenarios are found as ``DIR/*/network.json`` and named by their folder."""
    fam = resolve_family("synthetic")
    for n in ("sea-s-0", "me-s-1"):
        (tmp_path / n).mkdir()
        (tmp_path / n / "network.json").write_text("{}")
    paths = fam.instances(tmp_path)
    assert [fam.instance_name(p) for p in paths] == ["me-s-1", "sea-s-0"]


def test_day_family_builds_a_day_both_solvers_can_take(tmp_path: Path) -> None:
    """A generated day: about the asked size, two capacity dimensions, slots on a share of the
    orders inside the shift, km costs only; PyVRP takes it, and our solver's routes on it pass
    the evaluator."""
    import json

    from benchmarks.suite.day import read_day
    from benchmarks.suite.families import evaluate_routing, solve_ortools_routes
    from benchmarks.suite.peers import to_pyvrp

    spec = tmp_path / "day-n60-s1.json"
    spec.write_text(json.dumps({"orders": 60, "seed": 1, "window_share": 0.5}))
    inst = read_day(spec)
    assert inst.name == "day-n60-s1" and 30 <= inst.num_clients <= 100
    assert inst.dimension_names == ("kg", "m3")
    slot = (inst.tw_late - inst.tw_early) <= 2.0 + 1e-9
    assert 0.2 < slot.mean() < 0.8
    assert np.all(inst.tw_late[slot] <= inst.vehicle_types[0].shift_end)
    vt = inst.vehicle_types[0]
    assert (vt.cost_per_distance, vt.cost_per_hour, vt.fixed_cost) == (1.0, 0.0, 0.0)
    data, _ = to_pyvrp(inst)
    assert data.num_clients == inst.num_clients
    out = solve_ortools_routes(inst, time_limit=2.0, seed=0, params={})
    ev = evaluate_routing(inst, out.solution)
    assert ev.feasible, ev.detail
    assert resolve_family("day").name == "day"
