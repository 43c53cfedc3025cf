"""Where the decomposition's gap to PyVRP comes from: the sectors or the engine.

The decomposition (``optimizer.routing.decompose``) starts from angular sectors, each solved by
OR-Tools on its own. This script cuts an instance into the same sectors (``sectors``, with the
decomposition's ``sub_clients`` and seed) and solves every sector twice at the same limit, by
OR-Tools (``solve_monolithic`` with the subproblems' settings) and by PyVRP, then the whole
instance by PyVRP. Two ratios split the gap:

- **sector structure**: PyVRP on the sectors (summed) over PyVRP on the whole instance, what
  cutting the day into sectors costs even with the peer as the engine;
- **engine**: OR-Tools on the sectors over PyVRP on the same sectors.

Sectors run one after another in this process (one core each), so a sector's limit is the
core-seconds the decomposition gives it when it runs ``workers`` of them at a time.

Usage (from the repository root)::

    python -m benchmarks.routing_sectors benchmarks/data/day/day-n800-s0.json \
        --sector-time 12 --whole-time 60

``.json`` files are ``day`` specs (``benchmarks/suite/day.py``), other files Solomon or
VRPLIB instances. Every solution is re-checked by the independent evaluator.
"""

from __future__ import annotations

import argparse
import dataclasses
import math
import time
from pathlib import Path
from typing import Any

import numpy as np

from optimizer.routing import RoutingParams
from optimizer.routing.decompose import sectors, sub_instance
from optimizer.routing.monolithic import solve_monolithic
from optimizer.routing.result import RoutingStatus


def read_instance(path: Path) -> Any:
    """A ``day`` spec (``.json``), else any file ``optimizer.routing.io.read_instance`` reads
    (Solomon, VRPLIB)."""
    if path.suffix == ".json":
        from benchmarks.suite.day import read_day

        return read_day(path)
    from optimizer.routing.io import read_instance as read_file

    return read_file(path)


def peer(inst: Any, limit: float, seed: int) -> tuple[float, int, bool]:
    """PyVRP's cost, routes and feasibility (by the bench's evaluator) within ``limit`` s."""
    from benchmarks.suite.families import evaluate_routing
    from benchmarks.suite.peers import solve_pyvrp

    out = solve_pyvrp(inst, time_limit=limit, seed=seed, params={})
    ev = evaluate_routing(inst, out.solution)
    cost = math.inf if ev.cost is None else float(ev.cost)
    return cost, len(out.solution[0]), ev.feasible


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("instance", type=Path)
    ap.add_argument("--sector-time", type=float, default=12.0, help="seconds per sector")
    ap.add_argument("--whole-time", type=float, default=60.0, help="PyVRP on the whole instance")
    ap.add_argument("--sub-clients", type=int, default=RoutingParams().sub_clients)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)

    inst = read_instance(args.instance)
    params = RoutingParams(seed=args.seed, sub_clients=args.sub_clients)
    groups, _ = sectors(inst, params.sub_clients, np.random.default_rng(params.seed))
    sub_params = dataclasses.replace(
        params,
        time_limit_s=args.sector_time,
        decompose="never",
        first_solution=params.sub_first_solution,
    )
    print(f"{inst.name}: {inst.num_clients} clients, {len(groups)} sectors")
    print("sector  clients  OR-Tools (routes)  PyVRP (routes)  ratio")
    ours = theirs = 0.0
    for k, g in enumerate(groups):
        # the whole fleet of each type: the sector's own solve decides how many it uses
        s = sub_instance(inst, g, [vt.count for vt in inst.vehicle_types], f"{inst.name}/s{k}")
        res = solve_monolithic(s.instance, sub_params)
        cost, n_routes, ok = peer(s.instance, args.sector_time, args.seed)
        if res.status is not RoutingStatus.FEASIBLE or not ok:
            print(f"{k:>6}  {len(g):>7}  {res.status.value}  PyVRP feasible={ok}")
            return 1
        ours += res.cost
        theirs += cost
        print(
            f"{k:>6}  {len(g):>7}  {res.cost:>10.1f} ({len(res.routes):>2})"
            f"  {cost:>10.1f} ({n_routes:>2})  {res.cost / cost:.3f}",
            flush=True,
        )
    t0 = time.perf_counter()
    whole, n_whole, ok = peer(inst, args.whole_time, args.seed)
    print(f"sum over sectors: OR-Tools {ours:.1f}, PyVRP {theirs:.1f}")
    print(
        f"PyVRP on the whole instance ({args.whole_time:g} s, returned after "
        f"{time.perf_counter() - t0:.1f} s): {whole:.1f} ({n_whole} routes, feasible={ok})"
    )
    print(f"sector structure (PyVRP sectors / PyVRP whole): {theirs / whole:.3f}")
    print(f"engine (OR-Tools sectors / PyVRP sectors):      {ours / theirs:.3f}")
    print(f"both (OR-Tools sectors / PyVRP whole):          {ours / whole:.3f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
