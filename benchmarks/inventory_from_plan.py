"""Tonight's stock for a benchmark: an inventory CSV made from a plan's stocking levels.

A generated scenario (``tradelane generate``) carries no inventory; the nightly's case with
tonight's stock is benchmarked by giving ``tradelane plan --inventory`` a CSV derived from a
plan of the same scenario: each stock row with units becomes a row of the CSV with
``--on-hand`` of its units on hand (rounded down) and, on every ``--every``-th row,
``--in-transit`` of them in transit arriving in ``--arrives`` hours (invented shares: a
warehouse that holds part of last night's level, part still on its way)::

    tradelane generate --region sea --tier L --seed 1 --out seaL
    tradelane plan seaL --out pL --time-limit 120 --quiet --no-map
    python -m benchmarks.inventory_from_plan --plan pL/plan.json --out invL.csv
    tradelane plan seaL --inventory invL.csv --out iL --time-limit 600 --no-map

Prints one JSON line: rows written, units on hand and in transit.
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import sys
from pathlib import Path


def inventory_rows(
    stock: list[dict[str, object]],
    on_hand: float,
    in_transit: float,
    every: int,
    arrives_h: float,
) -> list[tuple[str, str, int, int, float]]:
    """``(sku, warehouse, on_hand, in_transit, arrives_in_hours)`` per stock row with units."""
    out = []
    for i, r in enumerate(r for r in stock if float(r["units"]) > 0):  # type: ignore[arg-type]
        units = float(r["units"])  # type: ignore[arg-type]
        tr = math.floor(units * in_transit) if every > 0 and i % every == 0 else 0
        out.append(
            (
                str(r["sku"]),
                str(r["warehouse"]),
                math.floor(units * on_hand),
                tr,
                arrives_h if tr else 0.0,
            )
        )
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--plan", required=True, type=Path, help="a plan.json with stock rows")
    ap.add_argument("--out", required=True, type=Path, help="the inventory CSV to write")
    ap.add_argument("--on-hand", type=float, default=0.6, help="share on hand (default 0.6)")
    ap.add_argument("--in-transit", type=float, default=0.3, help="share in transit (default 0.3)")
    ap.add_argument("--every", type=int, default=3, help="in transit on every n-th row (3)")
    ap.add_argument("--arrives", type=float, default=36.0, help="hours to arrival (36)")
    args = ap.parse_args(argv)
    stock = json.loads(args.plan.read_text()).get("stock") or []
    rows = inventory_rows(stock, args.on_hand, args.in_transit, args.every, args.arrives)
    with args.out.open("w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["sku", "warehouse", "on_hand", "in_transit", "arrives_in_hours"])
        w.writerows(rows)
    print(
        json.dumps(
            {
                "rows": len(rows),
                "on_hand": sum(r[2] for r in rows),
                "in_transit": sum(r[3] for r in rows),
            }
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
