"""``tradelane generate --region R --tier S|M|L|XL --seed N --out DIR``: build a scenario.

Writes ``DIR/network.json``, ``DIR/demand.csv`` and ``DIR/generator.json``. Same arguments →
byte-identical scenario files. ``--list-regions`` prints the regions and tier sizes.
"""

from __future__ import annotations

import argparse
import time

from api.commands._common import InputError, StagedOutput, check_out_dir


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser(
        "generate",
        help="generate a deterministic scenario from real geography",
        description="Generate a scenario (format v1) for a region and size tier: zones from "
        "real cities, real ports/airports and origin clusters, candidate warehouses, lanes, "
        "rate cards, SKUs and population-weighted demand.",
    )
    p.add_argument("--region", help="destination region (see --list-regions)")
    p.add_argument(
        "--tier",
        default="S",
        help="size tier: S (~20 SKUs), M (~300), L (~10,000), XL (~100,000) (default S)",
    )
    p.add_argument(
        "--seed", type=int, default=0, help="random seed (non-negative integer, default 0)"
    )
    p.add_argument(
        "--name", help="scenario name (default region-tier-seed in lower case, e.g. sea-s-0)"
    )
    p.add_argument("--out", metavar="DIR", help="output folder (created if missing)")
    p.add_argument("--list-regions", action="store_true", help="list regions and tiers, then exit")
    p.set_defaults(func=run)


def _list() -> int:
    from network.regions import REGIONS, TIERS

    print("regions:")
    for code, r in REGIONS.items():
        whs = len(r.warehouses)
        zones = "/".join(str(r.zones[t]) for t in TIERS)
        print(f"  {code:6s} {r.title}; {whs} candidate warehouses; zones S/M/L/XL {zones}")
    print("tiers:")
    for t in TIERS.values():
        print(
            f"  {t.name:3s} {t.skus:>7,} SKUs"
            + ("" if t.all_warehouses else " (core warehouse sites only)")
        )
    return 0


def run(args: argparse.Namespace) -> int:
    if args.list_regions:
        return _list()
    from network.generate import GeneratorError, generate_scenario, write_scenario

    problems = []
    if not args.region:
        problems.append("--region is required (see --list-regions)")
    if not args.out:
        problems.append("--out DIR is required")
    else:
        try:
            check_out_dir(args.out, "--out")
        except InputError as e:
            problems += e.lines
    if args.name is not None and not args.name.strip():
        problems.append("--name must not be empty")
    if problems:
        raise InputError(*problems)
    t0 = time.perf_counter()
    # written under temporary names in the folder, renamed when every file is whole
    with StagedOutput(args.out, "--out") as staged:
        try:
            gen = generate_scenario(args.region, args.tier, args.seed, name=args.name)
        except GeneratorError as e:
            raise InputError(str(e)) from None
        with staged.writing():
            write_scenario(gen, staged.stage)
        staged.commit()
    c = gen.meta["counts"]
    print(
        f"wrote scenario {gen.document['name']!r} to {args.out} in {time.perf_counter() - t0:.1f} s"
    )
    print(
        f"  {c['warehouses']} candidate warehouses, {c['zones']} zones, "
        f"{c['gateways']} gateways, {c['lanes']} lanes, {c['rate_cards']} rate cards"
    )
    print(
        f"  {c['skus']:,} SKUs, {c['demand_rows']:,} demand rows, {c['demand_units']:,} units "
        f"over {gen.document['horizon_days']:g} days"
    )
    ot = gen.meta["on_time"]
    print(
        f"  fastest-path on-time share (no capacities): {ot['achievable']:.1%}; "
        f"target {gen.document['service']['min_on_time_share']:.0%}"
    )
    return 0
