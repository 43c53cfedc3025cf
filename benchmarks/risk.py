"""Risk benchmark: a chance-constrained plan vs a mean-hours plan, and the bundled shocks.

Part 1 (``--part chance``): ``datasets/sea-72h`` with random lane hours (the ``time_cv`` per mode
in ``CV_BY_MODE``, invented values, see benchmarks/README.md) is planned twice, on mean hours
(no ``promise_probability``) and with ``promise_probability`` = ``--probability`` (0.9); both
plans are simulated (``--runs`` runs, seed 0) and the script prints planned and simulated
on-time share, fill rate, cost and the seconds each phase took (wall and CPU). The overall
on-time target is raised to ``--target`` (0.95; sea-72h itself asks 0.90 overall and 0.95 in
SG, MY and TH) so that the target binds the plan.

Part 2 (``--part shocks``): for every shock in ``datasets/shocks/`` the base plan of sea-72h is
held (evaluated under the shock) and re-planned; the script prints cost, on-time share of
demand and lost units of base, hold and re-plan.

Part 3 (``--part steps``): the steps of a what-if before and after its re-plan, each timed
alone on a given scenario, plan and shock (``--scenario``, ``--plan``, ``--shock``; a tier-L
plan is the case that matters): reading the plan (JSON decoding, then ``Plan.from_json``),
applying the shock and compiling both networks, evaluating the base plan, the hold
(``hold_plan``), the held plan's evaluation and document, and writing it
(``write_plan_json``). Prints the median over ``--repeats`` of each step, in seconds, and the
peak memory. To compare two versions of the code, run this file with each version first on the
import path (``PYTHONPATH=OTHER_CHECKOUT python benchmarks/risk.py --part steps ...``).

Usage (from the repository root)::

    python -m benchmarks.risk --part chance --time-limit 120 --runs 10000
    python -m benchmarks.risk --part shocks --time-limit 120
    python -m benchmarks.risk --part steps --scenario sea-L --plan planL --shock shock.yaml

Quote medians over repeated runs; the machine may be shared.
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]

#: time_cv per lane mode (invented: the reports give no lane-level spread, DOMAIN.md §10; the
#: clearance figures they quote range from 8 h to 48 h and 7 days, §3 and §9 item 18, so
#: clearance-bearing lanes get the widest spread).
CV_BY_MODE = {"sea": 0.25, "customs": 0.5, "express": 0.35, "last_mile": 0.3}


def risky_sea(
    probability: float | None, target: float | None = None, country_target: float | None = None
) -> Any:
    """sea-72h with ``CV_BY_MODE`` on its lanes and rate cards, the given probability and
    (if given) overall on-time target."""
    from network.scenario import load_scenario, parse_scenario

    s = load_scenario(ROOT / "datasets" / "sea-72h")
    doc = s.to_document()
    for ln in doc["lanes"]:
        ln["time_cv"] = CV_BY_MODE.get(ln["mode"], 0.0)
    for c in doc["rate_cards"]:
        c["time_cv"] = CV_BY_MODE.get(c.get("mode", "last_mile"), 0.0)
    if probability is not None:
        doc["service"]["promise_probability"] = probability
    if target is not None:
        doc["service"]["min_on_time_share"] = target
    if country_target is not None:
        by_c = doc["service"].get("min_on_time_share_by_country") or {}
        doc["service"]["min_on_time_share_by_country"] = dict.fromkeys(by_c, country_target)
    return parse_scenario(doc)


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def part_chance(args: argparse.Namespace) -> list[dict[str, Any]]:
    from network.compile import compile_network
    from optimizer.allocation.params import AllocationParams
    from optimizer.plan.planning import plan_scenario
    from optimizer.risk.simulate import SimParams, simulate_plan

    rows = []
    for label, prob in (("mean hours", None), (f"P >= {args.probability}", args.probability)):
        t0 = time.perf_counter()
        s = risky_sea(prob, args.target, args.country_target)
        data = compile_network(s)
        t_compile = time.perf_counter() - t0
        t1 = time.perf_counter()
        out = plan_scenario(s, AllocationParams(time_limit=args.time_limit), data=data)
        t_plan = time.perf_counter() - t1
        plan = out.plan
        # simulate on the same random network (the mean-hours plan faces the same lanes)
        t2 = time.perf_counter()
        c2 = time.process_time()
        sim = simulate_plan(data, plan, SimParams(runs=args.runs, seed=0)).to_json()
        t_sim = time.perf_counter() - t2
        c_sim = time.process_time() - c2
        svc = plan.service
        assert svc is not None
        row = {
            "plan": label,
            "status": str(plan.status),
            "gap": plan.gap,
            "cost": plan.objective,
            "planned_on_time_share_of_demand": svc.on_time_share,
            "planned_on_time_share_of_shipped": sim["plan_on_time_share"],
            "sim_on_time_share": sim["on_time_share"]["mean"],
            "sim_on_time_ci95": sim["on_time_share"]["ci95"],
            "planned_on_time_by_country": {
                c: v.on_time_share for c, v in (svc.by_country or {}).items()
            },
            "shortfalls": list(plan.evaluation.shortfalls) if plan.evaluation else None,
            "sim_on_time_by_country": {
                c: v["mean"] for c, v in sim["on_time_share"]["by_country"].items()
            },
            "sim_fill_rate": sim["fill_rate"]["mean"],
            "sim_cost_p5_p50_p95": [sim["cost"]["p5"], sim["cost"]["p50"], sim["cost"]["p95"]],
            "compile_s": t_compile,
            "plan_s": t_plan,
            "simulate_s": t_sim,
            "simulate_cpu_s": c_sim,
            "target": args.target,
            "country_target": args.country_target,
            "runs": args.runs,
            "peak_mb": _peak_mb(),
        }
        rows.append(row)
        print(json.dumps(row), flush=True)
    return rows


def part_shocks(args: argparse.Namespace) -> list[dict[str, Any]]:
    from network.scenario import load_scenario
    from optimizer.allocation.params import AllocationParams
    from optimizer.plan.planning import plan_scenario
    from optimizer.risk.shock import load_shock
    from optimizer.risk.whatif import whatif

    base_s = load_scenario(ROOT / "datasets" / "sea-72h")
    params = AllocationParams(time_limit=args.time_limit)
    t0 = time.perf_counter()
    base = plan_scenario(base_s, params).plan
    print(
        json.dumps(
            {
                "base": base.objective,
                "status": str(base.status),
                "seconds": time.perf_counter() - t0,
            }
        ),
        flush=True,
    )
    rows = []
    for f in sorted((ROOT / "datasets" / "shocks").glob("*.yaml")):
        shock = load_shock(f)
        t1 = time.perf_counter()
        res = whatif(base_s, base, shock, params)
        doc = res.to_json()
        row = {
            "shock": shock.name,
            "base_cost": doc["base"]["objective"],
            "hold_cost": doc["hold"]["objective"],
            "replan_cost": doc["replan"]["objective"],
            "replan_status": doc["replan"]["status"],
            "base_on_time": doc["base"]["service"]["on_time_share"],
            "hold_on_time": doc["hold"]["service"]["on_time_share"],
            "replan_on_time": doc["replan"]["service"]["on_time_share"],
            "base_fill_rate": doc["base"]["service"]["fill_rate"],
            "hold_fill_rate": doc["hold"]["service"]["fill_rate"],
            "replan_fill_rate": doc["replan"]["service"]["fill_rate"],
            "hold_lost_units": doc["hold"]["service"]["units_lost"],
            "hold_rerouted_units": doc["hold"]["rerouted_units"],
            "replan_lost_units": doc["replan"]["service"]["units_lost"],
            "hold_violations": len(doc["hold"]["violations"]),
            "hold_violation_example": (doc["hold"]["violations"] or [None])[0],
            "seconds": time.perf_counter() - t1,
        }
        rows.append(row)
        print(json.dumps(row), flush=True)
    return rows


def _plan_rows(plan: Any) -> int:
    try:
        from optimizer.plan.document import plan_rows
    except ImportError:  # a checkout from before it, run for a comparison
        return sum(len(r or ()) for r in (plan.fulfilment, plan.replenishment, plan.stock))
    return plan_rows(plan)


def part_steps(args: argparse.Namespace) -> list[dict[str, Any]]:
    import statistics
    import tempfile

    from network.compile import compile_network
    from network.scenario import load_scenario
    from optimizer.plan.document import Plan
    from optimizer.plan.evaluate import evaluate
    from optimizer.plan.io import write_plan_json
    from optimizer.risk.shock import apply_shock, load_shock
    from optimizer.risk.whatif import held_document, hold_plan

    if not (args.scenario and args.plan and args.shock):
        raise SystemExit("--part steps needs --scenario, --plan and --shock")
    plan_file = Path(args.plan)
    plan_file = plan_file / "plan.json" if plan_file.is_dir() else plan_file
    scenario = load_scenario(args.scenario)
    shock = load_shock(args.shock)
    times: dict[str, list[float]] = {}

    def timed(step: str, fn: Any) -> Any:
        t = time.perf_counter()
        out = fn()
        times.setdefault(step, []).append(time.perf_counter() - t)
        return out

    rows = 0
    for _ in range(args.repeats):
        doc = timed("json_decode", lambda: json.loads(plan_file.read_text(encoding="utf-8")))
        plan = timed("plan_from_json", lambda d=doc: Plan.from_json(d))
        del doc
        rows = _plan_rows(plan)
        base, shocked = timed(
            "shock_and_compile",
            lambda: (
                compile_network(scenario),
                compile_network(apply_shock(scenario, shock).scenario),
            ),
        )
        timed("evaluate_base", lambda p=plan, b=base: evaluate(b, p))
        held = timed("hold", lambda p=plan, s=shocked: hold_plan(p, s))
        doc_held = timed(
            "evaluate_held_and_document",
            lambda h=held, s=shocked: held_document(h.plan, s, evaluate(s, h.plan)),
        )
        with tempfile.TemporaryDirectory() as d:
            timed("write_held", lambda p=doc_held, d=d: write_plan_json(p, Path(d) / "plan.json"))
    row: dict[str, Any] = {"plan_rows": rows, "repeats": args.repeats}
    row |= {f"{k}_s": round(statistics.median(v), 2) for k, v in times.items()}
    row["peak_mb"] = round(_peak_mb())
    print(json.dumps(row), flush=True)
    return [row]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--part", choices=("chance", "shocks", "steps", "all"), default="all")
    ap.add_argument("--time-limit", type=float, default=120.0)
    ap.add_argument("--runs", type=int, default=10_000)
    ap.add_argument("--probability", type=float, default=0.9)
    ap.add_argument("--target", type=float, default=0.95, help="overall on-time target")
    ap.add_argument(
        "--country-target",
        type=float,
        help="replace the scenario's per-country targets (SG, MY, TH: 0.95) by this share",
    )
    ap.add_argument("--scenario", help="steps: the scenario (file or folder)")
    ap.add_argument("--plan", help="steps: the base plan (plan.json or its folder)")
    ap.add_argument("--shock", help="steps: the shock file")
    ap.add_argument("--repeats", type=int, default=3, help="steps: runs of each step")
    ap.add_argument("--out", help="write the rows as JSON here")
    args = ap.parse_args(argv)
    rows: dict[str, Any] = {}
    if args.part in ("chance", "all"):
        rows["chance"] = part_chance(args)
    if args.part in ("shocks", "all"):
        rows["shocks"] = part_shocks(args)
    if args.part == "steps":
        rows["steps"] = part_steps(args)
    if args.out:
        Path(args.out).write_text(json.dumps(rows, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
