"""Time ``simulate_plan`` by batch size, and the reading and memory around it.

For a plan folder (``plan.json`` and its ``scenario.json``, as ``tradelane plan`` writes them)
one JSON line each: first the reading (plan, scenario, compiling: seconds) and the process's
peak memory after it; then per ``--cells`` cap (``MAX_BATCH_CELLS``: the most values one
batch's arrays hold) the batch it gives, the median seconds of ``--repeats`` simulations of
``--runs`` runs (min and max), the seconds a run beyond the set-up (from one simulation of a
single batch), the figures (fill rate and its interval: the same seed draws other numbers
with another batch) and the peak memory so far::

    python -m benchmarks.simulate_batches --plan-dir DIR --runs 10000 --cells 1048576 \\
        --cells 1099511627776 --repeats 3

A cap of 2^40 gives batches of ``SimParams.batch`` (1,000), the code before the cap. Memory
is the process's peak (it never goes down): run one cap a process to read a cap's own.
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import sys
import time
from pathlib import Path


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0  # kB on Linux


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--plan-dir", required=True, help="plan.json and scenario.json")
    ap.add_argument("--runs", type=int, default=10_000)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--cells", type=int, action="append", help="batch caps (default: the code's)")
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args(argv)

    from network.compile import compile_network
    from network.scenario import load_scenario
    from optimizer.plan.document import Plan
    from optimizer.risk import simulate

    d = Path(args.plan_dir)
    t0 = time.perf_counter()
    plan = Plan.from_json(json.loads((d / "plan.json").read_text(encoding="utf-8")))
    t1 = time.perf_counter()
    scenario = load_scenario(d / "scenario.json")
    t2 = time.perf_counter()
    data = compile_network(scenario)
    t3 = time.perf_counter()
    print(
        json.dumps(
            {
                "plan_read_s": round(t1 - t0, 2),
                "scenario_read_s": round(t2 - t1, 2),
                "compile_s": round(t3 - t2, 2),
                "peak_mb": round(_peak_mb(), 1),
            }
        )
    )
    default = simulate.MAX_BATCH_CELLS
    try:
        for cells in args.cells or [default]:
            simulate.MAX_BATCH_CELLS = cells
            params = simulate.SimParams(runs=args.runs, seed=args.seed)
            times, res = [], None
            for _ in range(args.repeats):
                t = time.perf_counter()
                res = simulate.simulate_plan(data, plan, params)
                times.append(time.perf_counter() - t)
            assert res is not None
            batch = res.batch or params.batch
            # one batch alone: the set-up and one batch; the rest is per run
            t = time.perf_counter()
            simulate.simulate_plan(data, plan, simulate.SimParams(runs=max(batch, 2)))
            one = time.perf_counter() - t
            med = statistics.median(times)
            per_run = (med - one) / max(args.runs - max(batch, 2), 1)
            fr = res.fill_rate
            print(
                json.dumps(
                    {
                        "cells": cells,
                        "batch": batch,
                        "runs": res.runs,
                        "seconds": round(med, 2),
                        "min_s": round(min(times), 2),
                        "max_s": round(max(times), 2),
                        "one_batch_s": round(one, 2),
                        "per_run_s": round(per_run, 5),
                        "fill_rate": round(fr.mean, 6),
                        "fill_ci95": [round(fr.lo, 6), round(fr.hi, 6)],
                        "peak_mb": round(_peak_mb(), 1),
                    }
                )
            )
    finally:
        simulate.MAX_BATCH_CELLS = default
    return 0


if __name__ == "__main__":
    sys.exit(main())
