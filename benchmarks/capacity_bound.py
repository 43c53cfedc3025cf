"""Lower-bound benchmark: the Lagrangian bound, then the capacitated bound, on one scenario.

Reproduces the bound phases of the decomposition (``optimizer.allocation.decompose``) one at a time
with
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
    python benchmarks/capacity_bound.py --lagrange-s 0 --gap 0 --no-plain --audit-masters
    python benchmarks/capacity_bound.py --lagrange-s 3 --gap 0 --no-plain --master-gap 2e-5
    python benchmarks/capacity_bound.py --scenario datasets/sea-72h --gap 0

One run per call; the machine may be shared, so repeat and quote medians.
"""

from __future__ import annotations

import argparse
import resource
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt

    from optimizer.allocation.lagrange import Multipliers
    from optimizer.allocation.model import AllocationModel

    _F = npt.NDArray[np.float64]

ROOT = Path(__file__).resolve().parents[1]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scenario", default=str(ROOT / "datasets" / "sea-72h"))
    ap.add_argument(
        "--lagrange-s",
        type=float,
        default=15.0,
        help="seconds of subgradient before the capacitated bound (default 15)",
    )
    ap.add_argument(
        "--time-limit",
        type=float,
        default=60.0,
        help="seconds for the capacitated bound (default 60)",
    )
    ap.add_argument(
        "--gap",
        type=float,
        default=1e-3,
        help="stop when the bound is this far below the plan (default 0.001)",
    )
    ap.add_argument(
        "--no-plain",
        action="store_true",
        help="skip the comparison run without per-country functions",
    )
    ap.add_argument(
        "--master-gap",
        type=float,
        default=None,
        help="absolute gap of each master MIP relative to the target (default "
        "optimizer.allocation.capacity_bound.MASTER_GAP_SHARE)",
    )
    ap.add_argument(
        "--audit-masters",
        action="store_true",
        help="solve every master three ways (HiGHS scaled as used, HiGHS on the "
        "unscaled master, SCIP) and count the disagreements",
    )
    args = ap.parse_args(argv)

    import numpy as np

    from network.compile import compile_network
    from network.scenario import load_scenario
    from optimizer.allocation.capacity_bound import capacity_bound
    from optimizer.allocation.columns import build_columns
    from optimizer.allocation.decompose import aggregate_model, fixed_y_lp, restrict_inbound
    from optimizer.allocation.lagrange import (
        capacitated_lane_keys,
        lagrangian_search,
        multipliers_from_duals,
    )
    from optimizer.allocation.model import default_targets
    from optimizer.allocation.params import AllocationParams
    from optimizer.solver import solve_model

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
    y = np.round(raw.values[: len(data.warehouses)])
    duals: list[tuple[AllocationModel, _F]] = []  # (LP, its row duals)
    sol, plan, _, _ = fixed_y_lp(
        data, cols, y, params, targets, time.perf_counter() + 300, None, duals_out=duals
    )
    if sol is None or not duals:
        print("the fixed-warehouse LP gave no plan or no duals", file=sys.stderr)
        return 1
    print(
        f"scenario {Path(args.scenario).name}: {int(y.sum())} warehouses, plan "
        f"{plan:,.2f} (setup {time.perf_counter() - t:.1f} s)"
    )

    t = time.perf_counter()
    best: list[Multipliers] = []
    start = multipliers_from_duals(data, *duals[0])
    lb, info = lagrangian_search(
        data,
        cols0,
        start,
        targets,
        capacitated_lane_keys(data, cols0),
        plan,
        t + args.lagrange_s,
        stop_gap=args.gap,
        best_out=best,
    )
    mult = best[0] if best else start  # --lagrange-s 0: the LP's duals themselves
    print(f"{'phase':<12} {'bound':>16} {'gap %':>8} {'iterations':>10} {'s':>7} proven")
    print(
        f"{'lagrangian':<12} {lb:16,.2f} {100 * (plan - lb) / plan:8.4f} "
        f"{info['lagrange_iterations']:10d} {time.perf_counter() - t:7.1f}"
    )
    target = plan - args.gap * abs(plan)
    abs_gap = None if args.master_gap is None else args.master_gap * abs(target)
    audit: list[tuple[float, float, float, float]] = []

    # arrays: (lb, ub, c, row lower bounds, A as a SciPy sparse matrix: untyped, hence Any)
    def check(arrays: tuple[_F, _F, _F, _F, Any], scale: float, claim: float) -> None:
        """The same master by HiGHS unscaled (presolve off) and by SCIP: their claims."""
        from optimizer.allocation.capacity_bound import MASTER_GAP_SHARE
        from optimizer.solver import solve_small_mip

        W = len(data.warehouses)
        lb_, ub_, c_, lo_, A_ = arrays
        g = abs_gap if abs_gap is not None else MASTER_GAP_SHARE * abs(target)
        integer = np.flatnonzero(lb_[:W] < ub_[:W])
        A_un = A_.tocsc(copy=True)
        A_un[:, :W] = A_un[:, :W] * scale
        c_un = c_.copy()
        c_un[:W] *= scale
        ru = np.full(len(lo_), np.inf)
        h = solve_small_mip(
            lb_,
            ub_,
            c_un,
            lo_ * scale,
            ru,
            A_un.tocsr(),
            integer,
            "highs",
            60.0,
            f"output_flag=false\npresolve=off\nthreads=1\nmip_rel_gap=0\nmip_abs_gap={g!r}",
        )
        sc = solve_small_mip(
            lb_,
            ub_,
            c_,
            lo_,
            ru,
            A_,
            integer,
            "scip",
            60.0,
            f"limits/absgap = {g / scale!r}\nlimits/gap = 0\n",
        )
        h_claim = min(h.objective, h.bound) - g if h.status == "optimal" else -np.inf
        s_claim = scale * min(sc.objective, sc.bound) - g if sc.status == "optimal" else -np.inf
        audit.append((claim, h_claim, s_claim, g))

    for grouped in (True,) if args.no_plain else (True, False):
        audit.clear()
        cb = capacity_bound(
            data,
            cols0,
            mult,
            targets,
            time.perf_counter() + args.time_limit,
            target=target,
            y_start=y,
            grouped=grouped,
            abs_gap=abs_gap,
            on_master=check if args.audit_masters else None,
        )
        name = "cap-grouped" if grouped else "cap-plain"
        print(
            f"{name:<12} {cb.bound:16,.2f} {100 * (plan - cb.bound) / plan:8.4f} "
            f"{cb.iterations:10d} {cb.seconds:7.1f} {cb.proven}  (SCIP re-solve "
            f"{cb.cross_check:,.2f})"
        )
        if args.audit_masters and audit:
            a = np.array(audit)
            ref = a[:, 2]  # SCIP; a claim more than both MIP gaps above it is wrong
            tol = 2 * a[:, 3] + 1e-7 * (1 + np.abs(ref))
            for col, label in ((0, "HiGHS scaled (used)"), (1, "HiGHS unscaled")):
                bad = a[:, col] > ref + tol
                worst = float((a[:, col] - ref)[bad].max()) if bad.any() else 0.0
                print(
                    f"  audit {label:<20}: {int(bad.sum())} of {len(a)} masters above SCIP "
                    f"by more than the gaps (worst {worst:,.2f})"
                )
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak memory {peak:,.0f} MB; gap target {100 * args.gap:g} %")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
