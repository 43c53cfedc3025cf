"""Time the floor of the SKU-block path, block by block: columns, naive plan, overflow.

For the first ``--blocks`` SKU blocks of a scenario (as ``blocks.sku_blocks`` cuts them) one
JSON line each: its demand rows and outbound columns, and the median seconds of building its
outbound-pruned columns, of the naive plan, of the overflow off full warehouses
(``baseline.within_capacity``), and of the cheapest freight per (SKU, warehouse) by the
``np.minimum.at`` the naive plan uses against the stable sort it replaced::

    python -m benchmarks.floor --scenario sea-L --blocks 3 --repeats 3
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from collections.abc import Callable
from functools import partial
from typing import Any

import numpy as np


def _median_s(fn: Callable[[], Any], repeats: int) -> tuple[float, Any]:
    times, out = [], None
    for _ in range(repeats):
        t0 = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times), out


def _freight_by_sort(cols: Any) -> np.ndarray:
    """The cheapest freight per (SKU, warehouse) by a stable sort (the code before)."""
    chosen = np.full(len(cols.kw_sku), -1, dtype=np.int64)
    if len(cols.f_sku):
        order = np.lexsort((cols.f_lane + cols.f_duty, cols.f_kw))
        first = np.r_[True, cols.f_kw[order][1:] != cols.f_kw[order][:-1]]
        chosen[cols.f_kw[order[first]]] = order[first]
    return chosen


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scenario", required=True, help="a scenario file or folder")
    ap.add_argument("--blocks", type=int, default=3, help="how many blocks (default 3)")
    ap.add_argument(
        "--block-skus", type=int, default=None, help="SKUs a block (default: the path's)"
    )
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args(argv)

    from network.compile import compile_network
    from network.scenario import load_scenario
    from optimizer.allocation import baseline, blocks
    from optimizer.allocation.columns import build_columns

    data = compile_network(load_scenario(args.scenario))
    size = args.block_skus or blocks.BLOCK_SKUS
    for b, rows in list(enumerate(blocks.sku_blocks(data, size)))[: args.blocks]:
        db = blocks.block_data(data, rows)
        cols_s, cols = _median_s(partial(build_columns, db, prune="outbound"), args.repeats)
        naive_s, (naive, _hint) = _median_s(
            partial(baseline.naive_solution, db, cols), args.repeats
        )
        over_s, _ = _median_s(partial(baseline.within_capacity, db, cols, naive), args.repeats)
        at_s, at = _median_s(partial(baseline._cheapest_freight, cols), args.repeats)
        sort_s, by_sort = _median_s(partial(_freight_by_sort, cols), args.repeats)
        row = {
            "block": b,
            "rows": len(rows),
            "outbound_columns": len(cols.x_pair),
            "columns_s": round(cols_s, 4),
            "naive_s": round(naive_s, 4),
            "overflow_s": round(over_s, 4),
            "freight_minimum_at_s": round(at_s, 4),
            "freight_sort_s": round(sort_s, 4),
            "freight_same": bool(np.array_equal(at, by_sort)),
        }
        print(json.dumps(row), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
