"""``tradelane paths SCENARIO --from ID --to ID``: list the Pareto lane paths of one pair."""

from __future__ import annotations

import argparse
import json

from api.commands._common import InputError, add_scenario_args, load


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser("paths", help="list Pareto-efficient (cost, hours) paths between two nodes")
    add_scenario_args(p)
    p.add_argument("--from", dest="src", required=True, metavar="ID", help="origin or warehouse id")
    p.add_argument("--to", dest="dst", required=True, metavar="ID", help="warehouse or zone id")
    p.add_argument(
        "--sku",
        metavar="ID",
        help="SKU whose cost is shown (default: the first SKU with demand at --to, "
        "else the first SKU)",
    )
    p.add_argument(
        "--max-labels",
        type=int,
        default=64,
        metavar="N",
        help="cap on Pareto labels per node (default 64)",
    )
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from network.paths import pareto_for_sku

    s = load(args)
    ids = {n.id: n for n in s.nodes}
    bad = [
        f"--{flag}: unknown node {v!r}"
        for flag, v in (("from", args.src), ("to", args.dst))
        if v not in ids
    ]
    if bad:
        raise InputError(*bad)
    if args.max_labels < 1:
        raise InputError(f"--max-labels: must be at least 1, got {args.max_labels}")
    skus = {k.id: k for k in s.skus}
    if args.sku is not None and args.sku not in skus:
        raise InputError(f"--sku: unknown SKU {args.sku!r}")
    if not skus:
        raise InputError("the scenario has no SKUs")
    sku_id = args.sku or next((d.sku for d in s.demand if d.zone == args.dst), s.skus[0].id)
    res = pareto_for_sku(s, args.src, args.dst, skus[sku_id], max_labels=args.max_labels)
    promise = s.service.promise_hours
    if args.json:
        print(
            json.dumps(
                {
                    "from": args.src,
                    "to": args.dst,
                    "sku": sku_id,
                    "currency": s.currency,
                    "promise_hours": promise,
                    "truncated": res.truncated,
                    "paths": [p.to_dict() for p in res.paths],
                },
                indent=2,
            )
        )
        return 0
    print(
        f"{args.src} -> {args.dst}, SKU {sku_id}: {len(res.paths)} Pareto path(s) "
        f"in (cost per unit, hours); promise {promise:g} h"
        + (" [label cap reached]" if res.truncated else "")
    )
    for i, p in enumerate(res.paths, 1):
        flag = (
            ("on time" if p.hours <= promise else "late")
            if ids[args.dst].kind == "zone"
            else "lead time"
        )
        print(f"\n#{i}  {p.cost:.4f} {s.currency}/unit  {p.hours:.1f} h  ({flag})")
        if p.start_hours:
            print(f"    {'[handling at ' + args.src + ']':<40} {p.start_hours:8.1f} h")
        for leg in p.legs:
            hrs = f"{leg.transit_hours:.1f} h" + (
                f" + {leg.clearance_hours:.1f} h clearance" if leg.clearance_hours else ""
            )
            print(f"    {leg.lane:<40} {leg.mode:<9} {hrs:<26} {leg.cost:9.4f}")
    if not res.paths:
        print("no path: the destination cannot be reached from this source")
    return 0
