"""Allocation families of the benchmark: ``cflp`` (OR-Library capNN) and ``synthetic``.

Solvers (same names in both families)
-------------------------------------
``tradelane`` (ours)
    ``optimizer.plan.planning.plan_scenario(scenario, AllocationParams(**params))`` with the time
    limit and seed of the run: Pareto-pruned columns, the strategy chosen by size
    (monolithic or decomposed), the naive plan as warm start.
``monolithic`` (peer)
    The same scenario as one MIP with every column (``build_columns(data, prune=False)``),
    the default solver (HiGHS) and default parameters, no warm start, no decomposition.
``naive`` (peer)
    The naive planner's flows (``optimizer.allocation.baseline.naive_solution``: nearest on-time
    warehouse) with the stocking levels the model's stock rule requires for them (its ``hint``
    plan). The naive planner's own cover-days stock is below the safety-stock rule, so the
    evaluator would reject every such plan and no cost comparison would be possible.

OR-Library capacitated warehouse location as a scenario
-------------------------------------------------------
``read_cap`` turns a ``capNN`` file into a format-v1 scenario whose optimum equals the
capacitated (splittable-demand) optimum of Beasley's model: one SKU without weight, volume,
value or variability; one origin with free, instant inbound lanes to every warehouse; warehouse
``i`` = a candidate warehouse with ``fixed_cost = f_i`` and ``throughput_units_per_day = s_i``
(horizon one day, so throughput is capacity); customer ``j`` = a zone with demand ``d_j``; a
lane ``i -> j`` costing ``c_ij / d_j`` per unit (``c_ij`` is the cost of serving all of ``j``
from ``i``). No holding, handling, duty or lead time; the promise is never binding; a lost unit
costs more than serving it from anywhere. (The allocation engineer's
``benchmarks/orlib_cap.py`` does the same for its script; it is not importable, hence this
reader.)

The cflp evaluator does not use the model: from the plan's ``fulfilment`` rows it recomputes
``sum_i f_i [i used] + sum_ij c_ij * units_ij / d_j`` on the original data and checks that every
customer's demand is met exactly and no capacity is exceeded. Synthetic scenarios are checked
by ``optimizer.plan.evaluate.evaluate`` (which recomputes every cost term from the plan's
flows).
"""

from __future__ import annotations

import math
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks.suite.spec import Evaluation, Family, SolveOutput, bks_lookup

__all__ = [
    "AllocInstance",
    "CapData",
    "cap_scenario",
    "cflp_family",
    "evaluate_cap",
    "read_cap",
    "read_cap_data",
    "synthetic_family",
]


@dataclass(frozen=True)
class CapData:
    """An OR-Library capacitated warehouse location problem.

    Attributes
    ----------
    capacity, fixed_cost : array (m,)
    demand : array (n,)
    cost : array (m, n)
        ``cost[i, j]``: cost of serving all of customer ``j``'s demand from warehouse ``i``.
    """

    name: str
    capacity: np.ndarray
    fixed_cost: np.ndarray
    demand: np.ndarray
    cost: np.ndarray


@dataclass(frozen=True)
class AllocInstance:
    """A scenario to plan, with the original CAP data when it came from a ``capNN`` file."""

    name: str
    scenario: Any
    cap: CapData | None = None


def read_cap_data(path: Path, capacity: float | None = None) -> CapData:
    """Parse a ``capNN`` file (OR-Library ``capinfo`` format, read as a token stream).

    Parameters
    ----------
    path : Path
    capacity : float, optional
        Value substituted for the word ``capacity`` (the ``capa/capb/capc`` templates).

    Raises
    ------
    ValueError
        Truncated file, non-numeric tokens, or non-positive demand, naming the file.
    """
    path = Path(path)
    toks = path.read_text().split()
    if any(t.lower() == "capacity" for t in toks):
        if capacity is None:
            raise ValueError(f"{path}: a capacity template; give the capacity to substitute")
        toks = [str(capacity) if t.lower() == "capacity" else t for t in toks]
    try:
        vals = [float(t) for t in toks]
    except ValueError as e:
        raise ValueError(f"{path}: not a capNN file ({e})") from None
    if len(vals) < 2:
        raise ValueError(f"{path}: not a capNN file (no 'm n' header)")
    m, n = int(vals[0]), int(vals[1])
    need = 2 + 2 * m + n * (1 + m)
    if m < 1 or n < 1 or len(vals) < need:
        raise ValueError(f"{path}: truncated: {len(vals)} numbers, {need} needed for m={m}, n={n}")
    head = np.asarray(vals[2 : 2 + 2 * m]).reshape(m, 2)
    body = np.asarray(vals[2 + 2 * m : need]).reshape(n, 1 + m)
    demand = body[:, 0]
    if np.any(demand <= 0):
        j = int(np.argmax(demand <= 0))
        raise ValueError(f"{path}: customer {j + 1} has demand {demand[j]:g} (must be > 0)")
    return CapData(
        name=path.stem,
        capacity=head[:, 0],
        fixed_cost=head[:, 1],
        demand=demand,
        cost=body[:, 1:].T.copy(),
    )


def cap_scenario(cap: CapData) -> Any:
    """The format-v1 scenario whose optimum is the CAP optimum (see the module docstring)."""
    from network.scenario import parse_scenario

    m, n = cap.cost.shape
    unit = cap.cost / cap.demand[None, :]
    lost = 10.0 * (float(unit.max()) + float(cap.fixed_cost.max()) / float(cap.demand.min()) + 1)
    nodes: list[dict[str, Any]] = [
        {"id": "O", "kind": "origin", "lat": 0.0, "lon": 0.0, "country": "CN"}
    ]
    lanes: list[dict[str, Any]] = []
    for i in range(m):
        nodes.append(
            {
                "id": f"W{i + 1}",
                "kind": "warehouse",
                "lat": 0.0,
                "lon": 0.0,
                "country": "CN",
                "fixed_cost": float(cap.fixed_cost[i]),
                "status": "candidate",
                "throughput_units_per_day": float(cap.capacity[i]),
            }
        )
        lanes.append({"id": f"O-W{i + 1}", "from": "O", "to": f"W{i + 1}", "mode": "truck"})
    for j in range(n):
        nodes.append({"id": f"C{j + 1}", "kind": "zone", "lat": 0.0, "lon": 0.0, "country": "CN"})
        for i in range(m):
            lanes.append(
                {
                    "id": f"W{i + 1}-C{j + 1}",
                    "from": f"W{i + 1}",
                    "to": f"C{j + 1}",
                    "mode": "truck",
                    "cost_per_unit": float(unit[i, j]),
                }
            )
    doc = {
        "name": cap.name,
        "currency": "USD",
        "horizon_days": 1.0,
        "service": {
            "promise_hours": 1e6,
            "min_on_time_share": 0.0,
            "late_penalty_per_unit": 0.0,
            "lost_sale_penalty_per_unit": lost,
            "review_period_days": 0.0,
            "safety_z": 0.0,
            "capital_cost_rate_per_year": 0.0,
        },
        "nodes": nodes,
        "lanes": lanes,
        "skus": [
            {"id": "ITEM", "weight_kg": 0.0, "volume_m3": 0.0, "value": 0.0, "demand_cv": 0.0}
        ],
        "demand": [
            {"sku": "ITEM", "zone": f"C{j + 1}", "units": float(cap.demand[j])} for j in range(n)
        ],
    }
    return parse_scenario(doc, source=f"{cap.name}: ")


def check_cap(path: Path) -> None:
    """Parse a ``capNN`` file for its errors only (``Family.check_instance``)."""
    read_cap_data(path)


def read_cap(path: Path) -> AllocInstance:
    """Read a ``capNN`` file as an ``AllocInstance`` (scenario + original data)."""
    cap = read_cap_data(path)
    return AllocInstance(name=cap.name, scenario=cap_scenario(cap), cap=cap)


def evaluate_cap(inst: AllocInstance, plan: Mapping[str, Any], *, tol: float = 1e-6) -> Evaluation:
    """Recompute the CAP objective of a plan from the original data (no model involved)."""
    cap = inst.cap
    assert cap is not None
    m, n = cap.cost.shape
    units = np.zeros((m, n))
    problems = []
    for row in plan.get("fulfilment", []):
        src, zone = str(row.get("source")), str(row.get("zone"))
        if not (src.startswith("W") and zone.startswith("C")):
            problems.append(f"fulfilment row {src}->{zone} is not warehouse -> customer")
            continue
        i, j = int(src[1:]) - 1, int(zone[1:]) - 1
        if not (0 <= i < m and 0 <= j < n):
            problems.append(f"fulfilment row {src}->{zone}: unknown warehouse or customer")
            continue
        u = float(row.get("units", 0.0))
        if u < -tol:
            problems.append(f"fulfilment row {src}->{zone}: negative units {u:g}")
        units[i, j] += u
    served = units.sum(axis=0)
    short = np.abs(served - cap.demand) > tol * np.maximum(1.0, cap.demand)
    for j in np.flatnonzero(short)[:5]:
        problems.append(f"customer C{j + 1}: served {served[j]:.6g} of demand {cap.demand[j]:g}")
    load = units.sum(axis=1)
    over = load > cap.capacity * (1 + tol) + tol
    for i in np.flatnonzero(over)[:5]:
        problems.append(f"warehouse W{i + 1}: load {load[i]:.6g} over capacity {cap.capacity[i]:g}")
    used = load > tol
    cost = float(cap.fixed_cost @ used + (cap.cost / cap.demand[None, :] * units).sum())
    return Evaluation(cost=cost, feasible=not problems, detail="; ".join(problems[:3]))


def _plan_info(plan: Mapping[str, Any]) -> dict[str, Any]:
    keys = ("status", "objective", "bound", "gap", "strategy", "solver", "solve_seconds")
    return {k: plan.get(k) for k in keys if k in plan}


def _has_plan(plan: Mapping[str, Any]) -> bool:
    return plan.get("objective") is not None and str(plan.get("status")) in ("optimal", "feasible")


def check_allocation_params(params: Mapping[str, Any]) -> None:
    """Raise ValueError naming an ``[allocation]`` key ``AllocationParams`` does not have, or a
    bad value (``Family.check_params`` of the allocation families)."""
    import dataclasses

    from optimizer.allocation.params import AllocationParams

    known = {f.name for f in dataclasses.fields(AllocationParams)}
    unknown = sorted(set(params) - known)
    if unknown:
        raise ValueError(
            f"unknown allocation parameter(s) {', '.join(unknown)}; "
            f"known: {', '.join(sorted(known))}"
        )
    # the run sets the time limit and the seed itself
    AllocationParams(**{**dict(params), "time_limit": 1.0, "seed": 0})


def solve_tradelane(
    inst: AllocInstance, *, time_limit: float, seed: int, params: Mapping[str, Any]
) -> SolveOutput:
    """Ours: ``plan_scenario`` with ``params`` (AllocationParams fields) from the config."""
    from optimizer.allocation.params import AllocationParams
    from optimizer.plan.planning import plan_scenario

    p = AllocationParams(**{**dict(params), "time_limit": float(time_limit), "seed": int(seed)})
    plan = plan_scenario(inst.scenario, p).plan.to_json()
    info = _plan_info(plan)
    return SolveOutput(
        plan if _has_plan(plan) else None, info={**info, "reason": f"status {plan.get('status')}"}
    )


def solve_monolithic(
    inst: AllocInstance, *, time_limit: float, seed: int, params: Mapping[str, Any]
) -> SolveOutput:
    """Peer: one MIP over every (unpruned) column, default solver, no warm start."""
    from network.compile import compile_network
    from optimizer.allocation.columns import build_columns
    from optimizer.allocation.params import AllocationParams
    from optimizer.allocation.solve import solve_allocation
    from optimizer.plan.planning import plan_dict

    t0 = time.perf_counter()
    data = compile_network(inst.scenario)
    cols = build_columns(data, prune=False)
    p = AllocationParams(
        time_limit=float(time_limit), seed=int(seed), strategy="monolithic", warm_start=False
    )
    res = solve_allocation(data, p, columns=cols, deadline=t0 + float(time_limit))
    info = {
        "status": str(res.status),
        "objective": _finite(res.objective),
        "bound": _finite(res.bound),
        "columns": int(len(cols.x_pair) + len(cols.q_pair) + len(cols.f_sku)),
    }
    if res.solution is None:
        return SolveOutput(None, info={**info, "reason": f"status {res.status}"})
    plan = plan_dict(
        data,
        cols,
        res.solution,
        status=res.status,
        objective=res.objective,
        bound=res.bound,
        solve_seconds=time.perf_counter() - t0,
    ).to_json()
    return SolveOutput(plan, info=info)


def solve_naive(
    inst: AllocInstance, *, time_limit: float, seed: int, params: Mapping[str, Any]
) -> SolveOutput:
    """Peer: the naive planner's flows with rule-compliant stock (see the module notes)."""
    from network.compile import compile_network
    from optimizer.allocation.baseline import naive_solution
    from optimizer.allocation.columns import build_columns, cost_terms
    from optimizer.plan.planning import plan_dict
    from optimizer.solver import Status

    t0 = time.perf_counter()
    data = compile_network(inst.scenario)
    cols = build_columns(data)
    _, naive = naive_solution(data, cols)
    obj = float(sum(cost_terms(data, cols, naive).values()))
    plan = plan_dict(
        data,
        cols,
        naive,
        status=Status.FEASIBLE,
        objective=obj,
        bound=math.nan,
        solve_seconds=time.perf_counter() - t0,
    ).to_json()
    return SolveOutput(plan, info={"objective": obj})


def _finite(v: float | None) -> float | None:
    return float(v) if v is not None and math.isfinite(float(v)) else None


_SOLVERS = {"tradelane": solve_tradelane, "monolithic": solve_monolithic, "naive": solve_naive}


def cflp_family() -> Family:
    """``cflp``: ``cap*.txt`` files (the capa/b/c templates need a capacity and are skipped)."""
    return Family(
        name="cflp",
        kind="allocation",
        patterns=("cap[0-9]*.txt",),
        read=read_cap,
        evaluate=evaluate_cap,
        solvers=_SOLVERS,
        default_solver="tradelane",
        check_params=check_allocation_params,
        peers=("monolithic", "naive"),
        best_known=lambda p: bks_lookup(p, ("bks.csv",)),
        # the file is parsed before any solve (a malformed one is exit 2 naming it); the
        # scenario is built by each solve
        check_instance=check_cap,
    )


# --------------------------------------------------------------------------------------------
# synthetic
# --------------------------------------------------------------------------------------------


def read_synthetic(path: Path) -> AllocInstance:
    """A generated scenario: ``DIR/network.json`` (+ ``demand.csv``) or a scenario file."""
    from network.scenario import load_scenario

    path = Path(path)
    src = path.parent if path.name.startswith("network.") else path
    s = load_scenario(src)
    return AllocInstance(name=s.name, scenario=s)


def evaluate_synthetic(inst: AllocInstance, plan: Mapping[str, Any]) -> Evaluation:
    """``optimizer.plan.evaluate.evaluate`` on the compiled scenario: recomputed total and
    rules."""
    from network.compile import compile_network
    from optimizer.plan.document import Plan
    from optimizer.plan.evaluate import evaluate

    ev = evaluate(compile_network(inst.scenario), Plan.from_json(plan))
    return Evaluation(
        cost=float(ev.total), feasible=bool(ev.feasible), detail="; ".join(list(ev.violations)[:3])
    )


def synthetic_name(path: Path) -> str:
    """Instance name: the folder of a ``network.*`` file, else the file stem."""
    return path.parent.name if path.name.startswith("network.") else path.stem


def synthetic_family() -> Family:
    """``synthetic``: scenario folders made by ``tradelane generate`` (or scenario files)."""
    return Family(
        name="synthetic",
        kind="allocation",
        patterns=("*/network.json", "*/network.yaml", "*.json", "*.yaml"),
        read=read_synthetic,
        evaluate=evaluate_synthetic,
        solvers=_SOLVERS,
        default_solver="tradelane",
        check_params=check_allocation_params,
        peers=("monolithic", "naive"),
        instance_name=synthetic_name,
    )
