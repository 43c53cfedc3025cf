"""Short time limits on routing: ``solve_routes`` wall seconds against its limit, at every size.

A routing limit covers the solve (``tradelane route``'s ``--time-limit`` is the search's
limit; reading the instance is not counted); the promise is the limit + 10 %. A limit shorter
than the decomposition's first solution takes is refused up front (``RoutingError`` giving
the shortest limit, ``optimizer.routing.decompose.shortest_limit``): such rows say
``refused`` and the shortest limit.

Usage (from the repository root)::

    python -m benchmarks.route_limits benchmarks/data/day/day-n800-s0.json \
        ../shared/benchdata/cvrplib/X/X-n1001-k43.vrp --time-limits 1,2,3,5 [--repeat 3] \
        [--out limits.json]

``.json`` files are ``day`` specs (``benchmarks/suite/day.py``), other files Solomon or VRPLIB
instances. Runs go one at a time in this process, each instance read once. Printed per run:
the instance and its orders, the limit, wall seconds, wall / limit, whether the promise held,
the status, cost and routes, the path (one model or decomposition) and the 1-minute load
average before the run; then per instance and limit the median wall and how many runs kept
the promise.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path
from typing import Any

from benchmarks.routing_sectors import read_instance
from benchmarks.rows import append_rows

#: The promise: a solve ends within the limit plus this share of it.
TOLERANCE = 0.10


def run_once(inst: Any, limit: float, seed: int) -> dict[str, Any]:
    """One ``solve_routes`` call at ``limit`` seconds, timed, with its result's figures."""
    from optimizer.routing import RoutingParams, solve_routes
    from optimizer.routing.decompose import shortest_limit
    from optimizer.routing.instance import RoutingError

    params = RoutingParams(time_limit_s=limit, seed=seed)
    row: dict[str, Any] = {
        "instance": inst.name,
        "orders": inst.num_clients,
        "time_limit": limit,
        "load": round(os.getloadavg()[0], 2),
    }
    t0 = time.perf_counter()
    try:
        res = solve_routes(inst, params)
    except RoutingError as e:
        row.update(refused=True, shortest=round(shortest_limit(inst, params)[0], 3))
        row["error"] = str(e)
        return row
    wall = time.perf_counter() - t0
    row.update(
        refused=False,
        wall_s=round(wall, 3),
        wall_over_limit=round(wall / limit, 3),
        kept=wall <= limit * (1 + TOLERANCE),
        status=res.status.value,
        cost=round(res.cost, 2),
        routes=len(res.routes),
        path=res.path,
    )
    return row


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    ap.add_argument("instances", nargs="+", type=Path)
    ap.add_argument("--time-limits", default="1,2,3,5", help="comma-separated seconds")
    ap.add_argument("--repeat", type=int, default=1, help="runs per instance and limit")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", type=Path, help="append the rows to this JSON file")
    a = ap.parse_args(argv)
    limits = [float(s) for s in a.time_limits.split(",") if s]
    rows: list[dict[str, Any]] = []
    for path in a.instances:
        inst = read_instance(path)
        for limit in limits:
            for _ in range(a.repeat):
                row = run_once(inst, limit, a.seed)
                rows.append(row)
                print(json.dumps({k: v for k, v in row.items() if k != "error"}), flush=True)
    print()
    for name in dict.fromkeys(r["instance"] for r in rows):
        for limit in limits:
            mine = [r for r in rows if r["instance"] == name and r["time_limit"] == limit]
            solved = [r for r in mine if not r["refused"]]
            if not solved:
                print(f"{name} at {limit:g} s: refused (shortest {mine[0]['shortest']:g} s)")
                continue
            wall = statistics.median(r["wall_s"] for r in solved)
            print(
                f"{name} at {limit:g} s: median wall {wall:.2f} s, "
                f"{sum(r['kept'] for r in solved)}/{len(solved)} within +{TOLERANCE:.0%}, "
                f"statuses {sorted({r['status'] for r in solved})}"
            )
    if a.out:
        append_rows(a.out, rows)
    return 0


if __name__ == "__main__":
    sys.exit(main())
