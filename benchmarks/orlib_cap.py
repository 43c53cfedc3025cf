"""OR-Library capacitated warehouse location (Beasley) solved as tradelane scenarios.

Each instance becomes a scenario document built in memory: one SKU (no weight, volume or value),
one origin joined to every warehouse by a free lane, warehouse ``i`` with ``fixed_cost = f_i``
and ``throughput_units_per_day = s_i`` over a one-day horizon, customer ``j`` a zone with demand
``d_j`` units and an explicit last-mile lane ``i → j`` costing ``c_ij / d_j`` per unit. No
holding (capital rate 0, review period 0, safety z 0), a promise nobody misses, and a lost-sale
penalty far above any serving cost, so the plan's objective is exactly the CFLP objective
(multi-source, strong linking: the model to which ``capopt`` refers). The reader and the
scenario builder are the benchmark suite's (``benchmarks.suite.alloc``), shared with
``tradelane bench --family cflp``.

Usage (from the repository root)::

    python benchmarks/orlib_cap.py                       # cap41 ... cap134, 120 s each
    python benchmarks/orlib_cap.py --only capa-8000 capb-5000 --time-limit 300
    python benchmarks/orlib_cap.py --large --time-limit 120 --out results.json

Prints one row per instance: published optimum, our objective, difference, status, gap, build
(scenario + compile + model) and solve seconds, and the process's peak memory.
"""

from __future__ import annotations

import argparse
import csv
import dataclasses
import json
import resource
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

DEFAULT_DIR = ROOT.parent / "shared" / "benchdata" / "orlib_cap"
LARGE_CAPS = {
    "capa": (8000, 10000, 12000, 14000),
    "capb": (5000, 6000, 7000, 8000),
    "capc": (5000, 5750, 6500, 7250),
}


def instances(folder: Path, large: bool) -> list[tuple[str, Path, float | None, float]]:
    """``(name, file, substituted capacity, published optimum)`` from ``bks.csv``."""
    rows = list(csv.DictReader((folder / "bks.csv").open()))
    out: list[tuple[str, Path, float | None, float]] = []
    for r in rows:
        name = r["instance"]
        if "-" in name:
            if not large:
                continue
            base, cap = name.split("-")
            out.append((name, folder / f"{base}.txt", float(cap), float(r["bks_value"])))
        elif not large:
            out.append((name, folder / f"{name}.txt", None, float(r["bks_value"])))
    return out


def main(argv: list[str] | None = None) -> int:
    from benchmarks.suite.alloc import cap_scenario, read_cap_data
    from network.compile import compile_network
    from optimizer.allocation.columns import build_columns
    from optimizer.allocation.params import AllocationParams
    from optimizer.allocation.solve import solve_allocation

    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--instances", type=Path, default=DEFAULT_DIR, help="folder of cap*.txt")
    ap.add_argument("--large", action="store_true", help="capa/capb/capc instead of cap41-134")
    ap.add_argument("--only", nargs="*", help="instance names to run")
    ap.add_argument("--time-limit", type=float, default=120.0, help="seconds per instance")
    ap.add_argument("--threads", type=int, default=None)
    ap.add_argument("--solver", default="highs")
    ap.add_argument("--out", type=Path, help="write results as JSON")
    args = ap.parse_args(argv)
    todo = instances(args.instances, args.large)
    if args.only:
        want = set(args.only)
        todo = [
            t
            for t in instances(args.instances, False) + instances(args.instances, True)
            if t[0] in want
        ]
    params = AllocationParams(
        relative_gap=1e-9, threads=args.threads, solver=args.solver, warm_start=False
    )
    rows = []
    # solve s = the whole solve_allocation call (what the time limit bounds); total s adds
    # reading, compiling and building the columns
    print(
        f"{'instance':<12} {'published':>14} {'ours':>14} {'diff':>10} {'status':>9} "
        f"{'gap':>9} {'build s':>8} {'solve s':>8} {'total s':>8} {'peak MB':>8}",
        flush=True,
    )
    for name, path, cap, bks in todo:
        t0 = time.perf_counter()
        capd = dataclasses.replace(read_cap_data(path, cap), name=name)
        data = compile_network(cap_scenario(capd))
        cols = build_columns(data)
        t_build = time.perf_counter() - t0
        res = solve_allocation(data, params.replace(time_limit=args.time_limit), columns=cols)
        lost = float(res.solution.u.sum()) if res.solution is not None else float("nan")
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        row = {
            "instance": name,
            "published": bks,
            "objective": res.objective,
            "diff": res.objective - bks,
            "status": str(res.status),
            "gap": res.gap,
            "bound": res.bound,
            "build_s": t_build,
            "model_build_s": res.stats.build_s,
            "solve_s": res.runtime_s,
            "mip_s": res.stats.solve_s,
            "total_s": time.perf_counter() - t0,
            "peak_mb": peak,
            "lost_units": lost,
            "time_limit": args.time_limit,
            "solver": args.solver,
            "matches": abs(res.objective - bks) <= 1e-3 + 1e-9 * bks,
            **{
                k: v
                for k, v in res.stats.to_json().items()
                if k.startswith(("incumbent", "lagrange"))
            },
        }
        rows.append(row)
        print(
            f"{name:<12} {bks:>14.3f} {res.objective:>14.3f} {row['diff']:>10.3f} "
            f"{row['status']:>9} {res.gap:>9.2e} {t_build:>8.1f} {row['solve_s']:>8.1f} "
            f"{row['total_s']:>8.1f} {peak:>8.0f}",
            flush=True,
        )
    ok = sum(r["matches"] for r in rows)
    solve = sorted(r["solve_s"] for r in rows)
    print(
        f"\n{ok}/{len(rows)} equal the published optimum (|diff| <= 0.001); median solve "
        f"{solve[len(solve) // 2]:.2f} s, max {solve[-1]:.2f} s; time limit "
        f"{args.time_limit:g} s per instance; shared 2-core machine"
    )
    if args.out:
        args.out.write_text(json.dumps(rows, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
