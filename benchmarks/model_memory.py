"""Memory of the allocation LP over every option, per column (``LP_BYTES_PER_COLUMN``).

The state paths of :func:`optimizer.plan.planning.plan_scenario` (tonight's stock, a previous
plan) solve one LP over every option at the chosen warehouses; this measures the process's
peak resident memory before and after building and solving it, on a scenario and (optional)
a previous plan, the warehouses fixed to the previous plan's (else all usable ones), and
prints one JSON line: the columns, the peak memory before and after (MB), the bytes per
column, the solve's status and seconds::

    tradelane generate --region sea --tier M --seed 1 --out seaM
    tradelane plan seaM --out pM --time-limit 60 --quiet --no-map
    python -m benchmarks.model_memory --scenario seaM --previous pM/plan.json

Run it in a fresh process: the peak before is the process's own (Python, the scenario and the
columns), so the difference is the LP's.
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import time

import numpy as np


def _peak_mb() -> float:
    # ru_maxrss is in kilobytes on Linux
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scenario", required=True, help="a scenario file or folder")
    ap.add_argument("--previous", help="a previous plan.json (its warehouses are used)")
    ap.add_argument("--time-limit", type=float, default=120.0, help="the LP's (default 120)")
    args = ap.parse_args(argv)

    from network.compile import compile_network
    from network.scenario import load_scenario
    from optimizer.allocation.columns import build_columns, drop_closed
    from optimizer.allocation.params import AllocationParams
    from optimizer.allocation.solve import solve_allocation
    from optimizer.plan.document import Plan
    from optimizer.plan.state import attach_previous

    data = compile_network(load_scenario(args.scenario))
    if args.previous:
        with open(args.previous, encoding="utf-8") as f:
            data = attach_previous(data, Plan.from_json(json.load(f)))
    y = np.asarray(data.prev_open if data.prev_open is not None else data.wh_usable, dtype=float)
    cols = drop_closed(build_columns(data), y)
    n = len(cols.x_pair) + len(cols.q_pair) + len(cols.f_sku)
    before = _peak_mb()
    t0 = time.perf_counter()
    res = solve_allocation(
        data,
        AllocationParams(time_limit=args.time_limit),
        columns=cols,
        y_fixed=y,
        deadline=t0 + args.time_limit,
    )
    seconds = time.perf_counter() - t0
    after = _peak_mb()
    row = {
        "scenario": data.name,
        "previous": bool(args.previous),
        "columns": n,
        "peak_mb_before": round(before, 1),
        "peak_mb_after": round(after, 1),
        "bytes_per_column": round((after - before) * 1024 * 1024 / max(n, 1), 1),
        "status": str(res.status.value),
        "seconds": round(seconds, 2),
    }
    print(json.dumps(row))
    return 0


if __name__ == "__main__":
    sys.exit(main())
