"""``tradelane validate SCENARIO``: check a scenario and print a summary."""

from __future__ import annotations

import argparse
import json
from collections import Counter
from typing import TYPE_CHECKING, TypedDict

from api.commands._common import add_scenario_args, load

if TYPE_CHECKING:
    from network.scenario import Scenario


class OptionCounts(TypedDict):
    """Pareto options of the compiled network, by leg kind."""

    inbound: int
    outbound: int
    direct: int


class ScenarioSummary(TypedDict):
    """What ``tradelane validate --json`` prints."""

    name: str
    currency: str
    horizon_days: float
    nodes: dict[str, int]
    lanes: dict[str, int]
    lanes_total: int
    rate_cards: int
    skus: int
    demand_rows: int
    demand_units: float
    options: OptionCounts
    unreachable_zones: list[str]
    pareto_truncated: bool
    warnings: list[str]


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("validate", help="check a scenario against format v1 and summarise it")
    add_scenario_args(p)
    p.add_argument("--json", action="store_true", help="print the summary as JSON")
    p.set_defaults(func=run)


def summarise(scenario: Scenario) -> ScenarioSummary:
    """Counts, demand and reachability of a validated scenario."""
    from network.compile import compile_network
    from network.graph import build_graph
    from network.scenario import unknown_fields

    G = build_graph(scenario)
    data = compile_network(scenario, G)
    modes = Counter(d["mode"] for _, _, d in G.edges(data=True))
    return {
        "name": scenario.name,
        "currency": scenario.currency,
        "horizon_days": scenario.horizon_days,
        "nodes": dict(Counter(n.kind for n in scenario.nodes)),
        "lanes": dict(sorted(modes.items())),
        "lanes_total": G.number_of_edges(),
        "rate_cards": len(scenario.rate_cards),
        "skus": len(scenario.skus),
        "demand_rows": len(scenario.demand),
        "demand_units": data.total_demand,
        "options": {
            "inbound": len(data.inbound),
            "outbound": len(data.outbound),
            "direct": len(data.direct),
        },
        "unreachable_zones": data.unreachable_zones(),
        "pareto_truncated": data.truncated,
        "warnings": unknown_fields(scenario),
    }


def run(args: argparse.Namespace) -> int:
    s = load(args)
    info = summarise(s)
    if args.json:
        print(json.dumps(info, indent=2))
        return 0
    print(
        f"scenario {info['name']!r}: valid (format v1), horizon {info['horizon_days']:g} days, "
        f"currency {info['currency']}"
    )
    print("  nodes:  " + ", ".join(f"{v} {k}" for k, v in info["nodes"].items()))
    print(
        f"  lanes:  {info['lanes_total']} ("
        + ", ".join(f"{v} {k}" for k, v in info["lanes"].items())
        + f"; {info['rate_cards']} rate card(s) expanded)"
    )
    print(f"  skus:   {info['skus']}")
    print(f"  demand: {info['demand_units']:,.0f} units in {info['demand_rows']} rows")
    o = info["options"]
    print(
        f"  Pareto options: {o['inbound']} inbound, {o['outbound']} outbound, {o['direct']} direct"
        + (" (label cap reached: some paths pruned)" if info["pareto_truncated"] else "")
    )
    un = info["unreachable_zones"]
    print(
        f"  unreachable zones: {len(un)}"
        + (f" ({', '.join(un[:10])}{' …' if len(un) > 10 else ''})" if un else "")
    )
    for w in info["warnings"]:
        print(f"  warning: {w}")
    return 0
