"""Time one SKU block's fixed-warehouse LP with tonight's state: columns, model, solve.

For the SKU blocks ``--block`` of a scenario with a previous plan (as the nightly re-plans,
``optimizer.allocation.state_blocks``; the blocks' capacities are their demand shares, without
the floor), one JSON line each (with ``--whole`` first one for the whole network's columns,
which the floor is built on): its column counts (``f_all`` every inbound option × SKU,
``f`` after pruning), the seconds of building its columns, of the model and of the LP (HiGHS),
and the LP's objective. Run it on two checkouts to compare a change to the columns (the
objective must not move)::

    python -m benchmarks.block_lp --scenario sea-L --previous pL/plan.json --block 0 --block 1
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scenario", required=True, help="a scenario file or folder")
    ap.add_argument("--previous", required=True, help="last night's plan.json")
    ap.add_argument("--block", type=int, action="append", help="block index (repeatable; 0)")
    ap.add_argument("--time-limit", type=float, default=600.0, help="each LP's limit (600 s)")
    ap.add_argument(
        "--whole",
        action="store_true",
        help="first a row for the whole network's columns (the floor's; no LP)",
    )
    args = ap.parse_args(argv)

    from network.compile import compile_network
    from network.scenario import load_scenario
    from optimizer.allocation import state_blocks
    from optimizer.allocation.blocks import BLOCK_MAX_OUTBOUND
    from optimizer.allocation.columns import build_columns, drop_closed
    from optimizer.allocation.decompose import restrict_outbound, restrict_to_warehouses
    from optimizer.allocation.model import build_allocation_model, default_targets
    from optimizer.allocation.params import AllocationParams
    from optimizer.plan.document import Plan
    from optimizer.plan.state import attach_previous
    from optimizer.solver.mip import solve_model

    previous = Plan.from_json(json.loads(Path(args.previous).read_text(encoding="utf-8")))
    data = attach_previous(compile_network(load_scenario(Path(args.scenario))), previous)
    if data.prev_open is None:
        print("the previous plan opens no warehouse", file=sys.stderr)
        return 2
    y = np.asarray(data.prev_open, float)
    blocks = state_blocks.state_blocks(data)
    params = AllocationParams(time_limit=args.time_limit)
    if args.whole:
        t0 = time.perf_counter()
        cols = build_columns(data)
        row: dict[str, Any] = {"block": "whole", "f_all": cols.stats.get("f_all"), **cols.sizes}
        row["columns_s"] = round(time.perf_counter() - t0, 2)
        print(json.dumps(row), flush=True)
        del cols
    for b in args.block or [0]:
        db = state_blocks.state_block_data(data, blocks[b])
        t0 = time.perf_counter()
        cols = build_columns(db)
        t1 = time.perf_counter()
        used = restrict_to_warehouses(
            restrict_outbound(drop_closed(cols, y), BLOCK_MAX_OUTBOUND), y
        )
        m = build_allocation_model(
            db,
            params,
            columns=used,
            y_fixed=y,
            targets=default_targets(db, used),
            integer_stock=False,
            storage_margin=True,
        )
        t2 = time.perf_counter()
        raw = solve_model(m, params, time_limit=args.time_limit, relax=True)
        t3 = time.perf_counter()
        row = {
            "block": b,
            "f_all": cols.stats.get("f_all"),
            **{k: v for k, v in used.sizes.items() if k in ("pairs", "x", "q", "f", "kw")},
            "columns_s": round(t1 - t0, 2),
            "model_s": round(t2 - t1, 2),
            "lp_s": round(t3 - t2, 2),
            "status": raw.status.value,
            "objective": round(raw.objective, 2),
        }
        print(json.dumps(row), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
