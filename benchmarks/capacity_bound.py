"""Lower-bound benchmark: the Lagrangian bound, then the capacitated bound, on one scenario.

Reproduces the bound phases of the decomposition (``optimizer.decompose``) one at a time with
their own time limits, so the two can be measured apart:

1. the decomposition's warehouse set (aggregate MIP) and its fixed-warehouse LP (the plan's
   cost and the duals);
2. ``lagrangian_search`` for ``--lagrange-s`` seconds (all coupling rows priced);
3. ``capacity_bound`` from its best multipliers for ``--time-limit`` seconds, stopping at
   ``--gap`` below the plan: with the per-country functions (``grouped``, the default) and
   without them (``plain``, the plain maximum of the priced functions), from the same
   multipliers, one after the other.

Prints each phase's bound, gap to the plan, iterations and seconds (and for the capacitated
bound SCIP's re-solve of the last master), and the peak memory.

Usage (from the repository root)::

    python benchmarks/capacity_bound.py                       # sea-72h, 15 s + 60 s, gap 0.001
    python benchmarks/capacity_bound.py --lagrange-s 3 --gap 0  # run the bound to the end
    python benchmarks/capacity_bound.py --lagrange-s 90 --time-limit 120 --no-plain
    python benchmarks/capacity_bound.py --scenario datasets/sea-72h --gap 0

One run per call; the machine may be shared, so repeat and quote medians.
"""

from __future__ import annotations

import argparse
import resource
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scenario", default=str(ROOT / "datasets" / "sea-72h"))
    ap.add_argument("--lagrange-s", type=float, default=15.0,
                    help="seconds of subgradient before the capacitated bound (default 15)")
    ap.add_argument("--time-limit", type=float, default=60.0,
                    help="seconds for the capacitated bound (default 60)")
    ap.add_argument("--gap", type=float, default=1e-3,
                    help="stop when the bound is this far below the plan (default 0.001)")
    ap.add_argument("--no-plain", action="store_true",
                    help="skip the comparison run without per-country functions")
    args = ap.parse_args(argv)

    import numpy as np

    from network.compile import compile_network
    from network.scenario import load_scenario
    from optimizer.allocation import build_columns, default_targets, solve_model
    from optimizer.capacity_bound import capacity_bound
    from optimizer.decompose import _fixed_y_lp, aggregate_model, restrict_inbound
    from optimizer.lagrange import (capacitated_lane_keys, lagrangian_search,
                                    multipliers_from_duals)
    from optimizer.params import AllocationParams

    params = AllocationParams(time_limit=600, threads=1)
    t = time.perf_counter()
    data = compile_network(load_scenario(args.scenario))
    cols0 = build_columns(data)
    cols = restrict_inbound(cols0, 3)
    targets = default_targets(data, cols)
    agg, _ = aggregate_model(data, cols, targets)
    raw = solve_model(agg, params.replace(relative_gap=1e-4), time_limit=60.0)
    if raw.values is None:
        print("the aggregate MIP found no warehouse set", file=sys.stderr)
        return 1
    y = np.round(raw.values[:len(data.warehouses)])
    duals: list = []
    sol, plan, _, _ = _fixed_y_lp(data, cols, y, params, targets, time.perf_counter() + 300,
                                  None, duals_out=duals)
    if sol is None or not duals:
        print("the fixed-warehouse LP gave no plan or no duals", file=sys.stderr)
        return 1
    print(f"scenario {Path(args.scenario).name}: {int(y.sum())} warehouses, plan "
          f"{plan:,.2f} (setup {time.perf_counter() - t:.1f} s)")

    t = time.perf_counter()
    best: list = []
    lb, info = lagrangian_search(data, cols0, multipliers_from_duals(data, *duals[0]), targets,
                                 capacitated_lane_keys(data, cols0), plan,
                                 t + args.lagrange_s, stop_gap=args.gap, best_out=best)
    print(f"{'phase':<12} {'bound':>16} {'gap %':>8} {'iterations':>10} {'s':>7} proven")
    print(f"{'lagrangian':<12} {lb:16,.2f} {100 * (plan - lb) / plan:8.4f} "
          f"{info['lagrange_iterations']:10d} {time.perf_counter() - t:7.1f}")
    target = plan - args.gap * abs(plan)
    for grouped in (True,) if args.no_plain else (True, False):
        cb = capacity_bound(data, cols0, best[0], targets,
                            time.perf_counter() + args.time_limit, target=target, y_start=y,
                            grouped=grouped)
        name = "cap-grouped" if grouped else "cap-plain"
        print(f"{name:<12} {cb.bound:16,.2f} {100 * (plan - cb.bound) / plan:8.4f} "
              f"{cb.iterations:10d} {cb.seconds:7.1f} {cb.proven}  (SCIP re-solve "
              f"{cb.cross_check:,.2f})")
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak memory {peak:,.0f} MB; gap target {100 * args.gap:g} %")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
