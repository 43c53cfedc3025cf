"""Tonight's state on sea-72h: plan stability against a previous plan, and scale with inventory.

Stability (default): plan sea-72h (night 0); move every demand row by seeded noise uniform in
±``--noise`` (default 5 %); plan the moved forecast without and with night 0 as the previous
plan (``service.stability_penalty_per_unit`` = ``--penalty``). Reported for both:

- stock churn ``Σ|S1 − S0| / ΣS0`` over every (SKU, warehouse) stocking level,
- warehouses whose use changed,
- the cost with the stability penalty excluded, and its difference to the plan without,
- status, gap and seconds.

Target (issue "tonight's state"): churn with the previous plan at most a third of churn
without, at a cost (penalty excluded) at most 0.5 % higher.

Scale (``--scale``): sea-72h with a full inventory (:func:`full_inventory`, seeded by
``--seed``): every stocked (SKU, warehouse) of night 0 holds on hand a share of its level
uniform in ``--on-hand-share`` ± 0.25 (default 0.5) and has a shipment in transit of a share
uniform in [0, 0.5] arriving after 24-240 h; planned with the time limit; prints status, gap
and seconds (target: gap ≤ 0.1 % in ≤ 60 s on 2 cores). ``--inventory-out CSV`` writes that
inventory for ``tradelane plan SCENARIO --inventory CSV``.

Usage (from the repository root)::

    python -m benchmarks.stability --time-limit 60 --seed 0
    python -m benchmarks.stability --scale --time-limit 60 --seed 0 --inventory-out inv.csv

Quote medians over repeated runs; the machine may be shared.
"""

from __future__ import annotations

import argparse
import copy
import json
import resource
import time
from pathlib import Path
from typing import Any

import numpy as np

from network.scenario import Scenario, load_scenario, parse_scenario
from optimizer.allocation.params import AllocationParams
from optimizer.plan.document import Plan
from optimizer.plan.planning import plan_scenario

ROOT = Path(__file__).resolve().parents[1]


def _typed(doc: dict[str, Any]) -> Plan:
    """The typed plan of a document :func:`run` returned (its timing key dropped)."""
    return Plan.from_json({k: v for k, v in doc.items() if k != "_wall_s"})


def _levels(plan: dict[str, Any]) -> dict[tuple[str, str], float]:
    out: dict[tuple[str, str], float] = {}
    for r in plan.get("stock") or []:
        key = (r["sku"], r["warehouse"])
        out[key] = out.get(key, 0.0) + float(r["units"])
    return out


def _open(plan: dict[str, Any]) -> set[str]:
    return {w["id"] for w in plan.get("warehouses") or [] if w["open"]}


def churn(before: dict[str, Any], after: dict[str, Any]) -> tuple[float, int]:
    """``Σ|ΔS| / ΣS_before`` and the number of warehouses whose use changed."""
    a, b = _levels(before), _levels(after)
    moved = sum(abs(b.get(k, 0.0) - a.get(k, 0.0)) for k in set(a) | set(b))
    base = sum(a.values())
    return (moved / base if base > 0 else 0.0), len(_open(before) ^ _open(after))


def noisy(s: Scenario, noise: float, seed: int, penalty: float) -> Scenario:
    """The scenario with every demand row moved by uniform noise in ±noise, and a penalty."""
    doc = s.to_document()
    rng = np.random.default_rng(seed)
    units = np.array([d["units"] for d in doc["demand"]], float)
    moved = np.maximum(0.0, np.round(units * (1.0 + rng.uniform(-noise, noise, len(units)))))
    for d, u in zip(doc["demand"], moved.tolist(), strict=True):
        d["units"] = u
    doc["service"] = {**doc.get("service", {}), "stability_penalty_per_unit": penalty}
    return parse_scenario(doc)


def run(
    s: Scenario, params: AllocationParams, previous: dict[str, Any] | None = None
) -> dict[str, Any]:
    t0 = time.perf_counter()
    out = plan_scenario(s, params, previous=None if previous is None else _typed(previous))
    doc = out.plan.to_json()
    doc["_wall_s"] = time.perf_counter() - t0
    return doc


def line(name: str, p: dict[str, Any]) -> str:
    gap = p.get("gap")
    if p.get("objective") is None:
        return f"{name:<28} {p['status']:<10} no plan  {p['_wall_s']:6.1f} s  {p.get('notes')}"
    return (
        f"{name:<28} {p['status']:<10} objective {p['objective']:>14,.2f}  stability "
        f"{p['cost'].get('stability', 0.0):>12,.2f}  gap {'-' if gap is None else f'{gap:.4%}'}"
        f"  {p['_wall_s']:6.1f} s"
    )


def stability(args: argparse.Namespace, base: Scenario, params: AllocationParams) -> None:
    night0 = run(base, params)
    print(line(f"night 0 ({base.name})", night0), flush=True)
    rows = []
    free: dict[str, Any] | None = None
    for pen in args.penalty:
        moved = noisy(base, args.noise, args.seed, pen)
        if free is None:  # the penalty plays no part without a previous plan
            free = run(moved, params)
            print(line("moved, no previous", free), flush=True)
        kept = run(moved, params, previous=night0)
        print(line(f"moved, previous, penalty {pen:g}", kept), flush=True)
        if kept.get("objective") is None or free.get("objective") is None:
            continue
        c_free, w_free = churn(night0, free)
        c_kept, w_kept = churn(night0, kept)
        cost_free = free["objective"] - free["cost"].get("stability", 0.0)
        cost_kept = kept["objective"] - kept["cost"].get("stability", 0.0)
        rows.append(
            {
                "penalty": pen,
                "churn_without": c_free,
                "churn_with": c_kept,
                "churn_ratio": c_kept / c_free if c_free > 0 else None,
                "warehouses_changed_without": w_free,
                "warehouses_changed_with": w_kept,
                "cost_without": cost_free,
                "cost_with_penalty_excluded": cost_kept,
                "cost_diff_share": (cost_kept - cost_free) / cost_free if cost_free else None,
                "status_with": kept["status"],
                "gap_without": free.get("gap"),
                "gap_with": kept.get("gap"),
                "seconds_without": free["_wall_s"],
                "seconds_with": kept["_wall_s"],
            }
        )
    print()
    print(f"noise ±{args.noise:.0%} (seed {args.seed}); targets: ratio <= 0.333, cost <= +0.5 %")
    print(
        "| penalty | churn without | churn with | ratio | wh changed (without/with) | cost diff |"
    )
    print("| ---: | ---: | ---: | ---: | ---: | ---: |")
    for r in rows:
        ratio = "-" if r["churn_ratio"] is None else f"{r['churn_ratio']:.3f}"
        diff = "-" if r["cost_diff_share"] is None else f"{r['cost_diff_share']:+.3%}"
        print(
            f"| {r['penalty']:g} | {r['churn_without']:.4f} | {r['churn_with']:.4f} | {ratio} | "
            f"{r['warehouses_changed_without']}/{r['warehouses_changed_with']} | {diff} |"
        )
    if args.json:
        Path(args.json).write_text(
            json.dumps({"noise": args.noise, "seed": args.seed, "rows": rows}, indent=1)
        )


def full_inventory(
    levels: dict[tuple[str, str], float], seed: int, on_hand_share: float
) -> list[dict[str, Any]]:
    """Tonight's inventory for every stocked (SKU, warehouse) of a plan, seeded: on hand a
    share of the level uniform in ``on_hand_share ± 0.25``, and a shipment in transit of a
    share uniform in [0, 0.5] arriving after a whole number of hours uniform in [24, 240]
    (rows in sorted (SKU, warehouse) order, so the seed alone fixes them)."""
    rng = np.random.default_rng(seed)
    keys = sorted(k for k, v in levels.items() if v > 0)
    n = len(keys)
    units = np.array([levels[k] for k in keys], float)
    on_hand = np.round(units * rng.uniform(on_hand_share - 0.25, on_hand_share + 0.25, n))
    transit = np.round(units * rng.uniform(0.0, 0.5, n))
    hours = rng.integers(24, 241, n)
    inv: list[dict[str, Any]] = []
    for (sku, wh), oh, tr, h in zip(
        keys, on_hand.tolist(), transit.tolist(), hours.tolist(), strict=True
    ):
        inv.append({"sku": sku, "warehouse": wh, "on_hand": max(0.0, oh)})
        if tr > 0:
            inv.append(
                {"sku": sku, "warehouse": wh, "in_transit": tr, "arrives_in_hours": float(h)}
            )
    return inv


def write_inventory_csv(inv: list[dict[str, Any]], path: Path) -> None:
    """``inv`` as the CSV that ``tradelane plan --inventory`` reads."""
    lines = ["sku,warehouse,on_hand,in_transit,arrives_in_hours"]
    for r in inv:
        cells = [r.get(c) for c in ("on_hand", "in_transit", "arrives_in_hours")]
        lines.append(
            ",".join([r["sku"], r["warehouse"]] + ["" if c is None else f"{c:g}" for c in cells])
        )
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def scale(args: argparse.Namespace, base: Scenario, params: AllocationParams) -> None:
    night0 = run(base, params)
    print(line(f"night 0 ({base.name})", night0), flush=True)
    inv = full_inventory(_levels(night0), args.seed, args.on_hand_share)
    if args.inventory_out:
        write_inventory_csv(inv, Path(args.inventory_out))
        print(f"inventory written to {args.inventory_out} ({len(inv)} rows, seed {args.seed})")
    doc = copy.deepcopy(base.to_document())
    doc["inventory"] = inv
    s = parse_scenario(doc)
    p = run(s, params)
    print(line(f"full inventory ({len(inv)} rows)", p))
    print(
        f"inventory rows {len(inv)}; status {p['status']}, gap "
        f"{'-' if p.get('gap') is None else format(p['gap'], '.4%')}, "
        f"{p['_wall_s']:.1f} s wall (limit {args.time_limit:g} s); "
        f"bound from {p.get('stats', {}).get('bound_from')}, peak RSS "
        f"{resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB"
    )
    for n in p.get("notes") or []:
        print(f"  note: {n}")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--scenario", default=str(ROOT / "datasets" / "sea-72h"))
    ap.add_argument("--time-limit", type=float, default=60.0)
    ap.add_argument("--gap", type=float, default=1e-3)
    ap.add_argument("--threads", type=int, default=None)
    ap.add_argument(
        "--seed", type=int, default=0, help="seed of the demand noise (--scale: of the inventory)"
    )
    ap.add_argument("--noise", type=float, default=0.05)
    ap.add_argument(
        "--penalty", type=float, nargs="+", default=[0.5, 2.0], help="stability penalties"
    )
    ap.add_argument("--scale", action="store_true", help="the full-inventory scale run instead")
    ap.add_argument("--on-hand-share", type=float, default=0.5)
    ap.add_argument(
        "--inventory-out", help="--scale: write the generated inventory here (CSV for --inventory)"
    )
    ap.add_argument("--json", help="write the stability figures here")
    args = ap.parse_args(argv)
    base = load_scenario(args.scenario)
    params = AllocationParams(
        time_limit=args.time_limit, relative_gap=args.gap, threads=args.threads
    )
    if args.scale:
        scale(args, base, params)
    else:
        stability(args, base, params)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
