"""Allocation benchmark: tiers S and M of the generator and the bundled scenarios.

For each scenario: compile time, model build time, solve time, status, objective, bound, gap,
peak memory (process maximum RSS), the naive planner's cost and on-time share, and whether the
independent evaluator agrees with the plan's objective. Phases are timed separately.

Usage (from the repository root)::

    python benchmarks/allocation.py --time-limit 60
    python benchmarks/allocation.py --only sea-72h --strategy monolithic --time-limit 120
    python benchmarks/allocation.py --tiers S --no-datasets
    python benchmarks/allocation.py --tiers --only sea-72h --gap 1e-4 --lagrange-share 0.08

Scenarios: generated tiers (``network.generate``, region ``sea``, seed 0) and every folder of
``datasets/`` holding a network file. Quote medians over repeated runs; the machine may be
shared.
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import tempfile
import time
from pathlib import Path

from network.generate import generate_scenario, write_scenario

ROOT = Path(__file__).resolve().parents[1]


def _scenarios(tiers: list[str], datasets: bool, only: list[str] | None) -> list[tuple[str, Path]]:
    out = []
    tmp = Path(tempfile.mkdtemp(prefix="tl-bench-"))
    for t in tiers:
        name = f"sea-{t}"
        if only and name not in only:
            continue
        d = tmp / name
        write_scenario(generate_scenario("sea", t, 0), d)
        out.append((name, d))
    if datasets:
        for d in sorted((ROOT / "datasets").glob("*")):
            if d.is_dir() and any(
                (d / f"{s}.{x}").exists()
                for s in ("network", "scenario")
                for x in ("json", "yaml", "yml")
            ):
                if only and d.name not in only:
                    continue
                out.append((d.name, d))
    return out


def main(argv: list[str] | None = None) -> int:
    from network.compile import compile_network
    from network.scenario import load_scenario
    from optimizer.allocation.params import AllocationParams
    from optimizer.plan.planning import plan_scenario

    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--tiers", nargs="*", default=["S", "M"])
    ap.add_argument("--no-datasets", action="store_true")
    ap.add_argument("--only", nargs="*")
    ap.add_argument("--time-limit", type=float, default=60.0)
    ap.add_argument("--threads", type=int, default=None)
    ap.add_argument("--strategy", default="auto", choices=("auto", "monolithic", "decompose"))
    ap.add_argument("--gap", type=float, default=1e-3)
    ap.add_argument("--out", type=Path)
    ap.add_argument(
        "--lagrange-share",
        type=float,
        default=None,
        help="override optimizer.allocation.decompose.LAGRANGE_SHARE (the subgradient's share "
        "of the time left per bound round), to measure the trade-off",
    )
    args = ap.parse_args(argv)
    if args.lagrange_share is not None:
        import optimizer.allocation.decompose as dec

        dec.LAGRANGE_SHARE = args.lagrange_share
    rows = []
    hdr = (
        f"{'scenario':<12} {'strategy':<10} {'compile':>7} {'build':>6} {'solve':>6} "
        f"{'status':>9} {'objective':>14} {'gap':>8} {'on time':>7} {'naive cost':>14} "
        f"{'naive OT':>8} {'saving':>7} {'eval ok':>7} {'peak MB':>8}"
    )
    print(hdr, flush=True)
    for name, path in _scenarios(args.tiers, not args.no_datasets, args.only):
        s = load_scenario(path)
        t0 = time.perf_counter()
        data = compile_network(s)
        t_compile = time.perf_counter() - t0
        params = AllocationParams(
            time_limit=args.time_limit,
            threads=args.threads,
            strategy=args.strategy,
            baseline="naive",
            relative_gap=args.gap,
        )
        t1 = time.perf_counter()
        out = plan_scenario(s, params, data=data)
        t_plan = time.perf_counter() - t1
        p = out.plan.to_json()
        st = p.get("stats", {})
        b = p.get("baseline", {})
        ev = out.evaluation
        agree = ev is not None and abs(ev.total - p["objective"]) <= 1e-6 * max(1, p["objective"])
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        row = {
            "scenario": name,
            "strategy": p.get("strategy"),
            "compile_s": t_compile,
            "build_s": st.get("build_s", st.get("agg_s")),
            "solve_s": st.get("solve_s"),
            "plan_s": t_plan,
            "status": p["status"],
            "objective": p["objective"],
            "bound": p["bound"],
            "gap": p["gap"],
            "on_time_share": p["service"].get("on_time_share"),
            "naive_objective": b.get("objective"),
            "naive_on_time_share": b.get("on_time_share"),
            "naive_violations": b.get("violations"),
            "saving_share": b.get("saving_share"),
            "evaluator_agrees": agree,
            "peak_mb": peak,
            "time_limit": args.time_limit,
            "stats": st,
            "notes": p.get("notes"),
        }
        rows.append(row)

        def f(v: object, spec: str) -> str:
            return "n/a" if v is None else format(v, spec)

        print(
            f"{name:<12} {row['strategy']!s:<10} {t_compile:>7.1f} "
            f"{f(row['build_s'], '.1f'):>6} {f(row['solve_s'], '.1f'):>6} {p['status']:>9} "
            f"{f(p['objective'], ',.0f'):>14} {f(p['gap'], '.2%'):>8} "
            f"{f(row['on_time_share'], '.1%'):>7} {f(b.get('objective'), ',.0f'):>14} "
            f"{f(b.get('on_time_share'), '.1%'):>8} {f(b.get('saving_share'), '.1%'):>7} "
            f"{agree!s:>7} {peak:>8.0f}",
            flush=True,
        )
    from optimizer.allocation.decompose import LAGRANGE_SHARE

    print(
        f"\ntime limit {args.time_limit:g} s per plan, relative gap target {args.gap:g}; "
        f"subgradient share {LAGRANGE_SHARE:g}; naive = nearest on-time warehouse, "
        "cover-days stock; shared 2-core machine"
    )
    if args.out:
        args.out.write_text(json.dumps(rows, indent=1, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
