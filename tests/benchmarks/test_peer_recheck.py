"""The PyVRP peer re-checked independently: its routes are costed and checked with plain numpy
from the instance text under the family's convention, and it runs on the same instance, seed
and time limit as ours."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from benchmarks.suite.families import cvrplib, homberger, resolve_family, solomon
from benchmarks.suite.runner import build_tasks


@pytest.fixture(scope="module")
def bench_data(data_dir: Path) -> Path:
    return data_dir / "bench"


def _solomon(path: Path) -> dict[str, np.ndarray | float]:
    """Columns of a Solomon file (own parser: the rows after the column header)."""
    lines = path.read_text().splitlines()
    head = max(i for i, ln in enumerate(lines) if ln.strip().upper().startswith("CUST"))
    a = np.array([[float(v) for v in ln.split()] for ln in lines[head + 1 :] if ln.split()])
    fleet = next(i for i, ln in enumerate(lines) if ln.strip().upper().startswith("NUMBER"))
    cap = float(next(ln for ln in lines[fleet + 1 :] if ln.split()).split()[1])
    return {
        "xy": a[:, 1:3],
        "q": a[:, 3],
        "ready": a[:, 4],
        "due": a[:, 5],
        "svc": a[:, 6],
        "cap": cap,
    }


def _vrplib(path: Path) -> dict[str, np.ndarray | float]:
    text = path.read_text()
    coords = text.split("NODE_COORD_SECTION")[1].split("DEMAND_SECTION")[0]
    dem = text.split("DEMAND_SECTION")[1].split("DEPOT_SECTION")[0]
    cap = float(text.split("CAPACITY")[1].split(":")[1].split()[0])
    xy = np.array([[float(v) for v in ln.split()[1:3]] for ln in coords.strip().splitlines()])
    q = np.array([float(ln.split()[1]) for ln in dem.strip().splitlines()])
    n = len(xy)
    return {
        "xy": xy,
        "q": q,
        "ready": np.zeros(n),
        "due": np.full(n, np.inf),
        "svc": np.zeros(n),
        "cap": cap,
    }


def _own_cost(data: dict, routes: list[list[int]], convention: str) -> float:
    """Total distance of ``routes`` (node numbers, depot 0 omitted) after checking every
    customer once, capacity, windows (start of service by the due date) and the return."""
    xy = data["xy"]
    d = np.sqrt(((xy[:, None, :] - xy[None, :, :]) ** 2).sum(axis=2))
    if convention == "trunc1":
        d = np.floor(10 * d + 1e-9) / 10
    elif convention == "nint":
        d = np.floor(d + 0.5)
    served = sorted(c for r in routes for c in r)
    assert served == list(range(1, len(xy))), "every customer exactly once"
    total = 0.0
    for r in routes:
        assert data["q"][r].sum() <= data["cap"]
        t, prev = data["ready"][0], 0
        for c in r:
            t = max(t + d[prev, c], data["ready"][c])
            assert t <= data["due"][c] + 1e-9, f"customer {c} starts at {t} after {data['due'][c]}"
            t += data["svc"][c]
            total += d[prev, c]
            prev = c
        assert t + d[prev, 0] <= data["due"][0] + 1e-9
        total += d[prev, 0]
    return float(total)


@pytest.mark.parametrize(
    "family, folder, name, read, convention",
    [
        (solomon, "solomon", "C101-12.txt", _solomon, "trunc1"),
        (cvrplib, "cvrplib", "E-n22-k4.vrp", _vrplib, "nint"),
        # the G&H reader (double precision), on the same Solomon-format file
        (homberger, "solomon", "C101-12.txt", _solomon, "exact"),
    ],
)
def test_pyvrp_cost_equals_an_independent_recomputation(
    bench_data: Path, family, folder: str, name: str, read, convention: str
) -> None:
    """PyVRP's routes: our own numpy evaluation (the folder README's convention) finds them
    feasible at the cost the harness's evaluator records, which is also PyVRP's own cost
    (within its integer rounding for double-precision distances)."""
    fam = family()
    path = bench_data / folder / name
    inst = fam.read(path)
    out = fam.solvers["pyvrp"](inst, time_limit=1, seed=3, params={})
    routes, dropped = out.solution
    assert dropped == []
    # client index c is node c + 1 in both formats (depot first)
    own = _own_cost(read(path), [[c + 1 for c in r] for _, r in routes if r], convention)
    ev = fam.evaluate(inst, out.solution)
    assert ev.feasible, ev.detail
    assert ev.cost == pytest.approx(own, abs=1e-9)
    # PyVRP works on integers: exact distances are scaled by 1000 and rounded (0.0005 an edge)
    edges = sum(len(r) + 1 for _, r in routes if r)
    tol = 1e-9 if convention != "exact" else 0.0005 * edges
    assert out.samples[-1][1] == pytest.approx(own, abs=tol)
    bks = fam.best_known(path)
    assert bks is None if convention == "exact" else own >= bks - 1e-9


def test_peer_tasks_share_our_instance_seed_and_time_limit(bench_data: Path) -> None:
    """For every one of our solves there is exactly one PyVRP solve of the same instance file,
    seed and time limit, with the same best-known value (the ratio pairs on these)."""
    fam = resolve_family("cvrplib")
    tasks = build_tasks(
        fam,
        "cvrplib",
        fam.instances(bench_data / "cvrplib"),
        configs=[],
        seeds=range(2),
        time_limits=[1.0, 3.0],
    )
    ours = {(t.path, t.seed, t.time_limit, t.best_known) for t in tasks if t.solver == "ortools"}
    peer = [(t.path, t.seed, t.time_limit, t.best_known) for t in tasks if t.solver == "pyvrp"]
    assert len(ours) == 4 and sorted(ours) == sorted(peer)


def test_pyvrp_peer_refuses_a_cost_per_distance_it_would_round_away(bench_data: Path) -> None:
    """PyVRP's unit distance cost is an integer: 0.15 per km used to become 0 (PyVRP then
    minimised dropped-order prizes only, and the ratio compared two objectives). Now the peer
    refuses, and the row is an error, not a ratio."""
    import dataclasses

    from benchmarks.suite.peers import to_pyvrp

    inst = solomon().read(bench_data / "solomon" / "C101-12.txt")
    vt = dataclasses.replace(inst.vehicle_types[0], cost_per_distance=0.15)
    with pytest.raises(ValueError, match="cost_per_distance"):
        to_pyvrp(dataclasses.replace(inst, vehicle_types=(vt,)))
