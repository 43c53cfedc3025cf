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


class StateCounts(TypedDict):
    """Format v1.1's state in a scenario (all zero in a v1 document)."""

    inventory_rows: int
    on_hand_units: float
    in_transit_units: float
    returns_rules: int
    returns_warehouses: int
    stability_penalty_per_unit: float


class ScenarioSummary(TypedDict):
    """What ``tradelane validate --json`` prints."""

    name: str
    format: str
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
    state: StateCounts
    warnings: list[str]


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "validate", help="check a scenario against format v1 (or v1.1) and summarise it"
    )
    add_scenario_args(p)
    p.add_argument("--json", action="store_true", help="print the summary as JSON")
    p.set_defaults(func=run)


def state_counts(scenario: Scenario) -> StateCounts:
    """Counts of the format v1.1 sections: inventory rows and their units, returns rules,
    warehouses that take returns, the stability penalty."""
    inv = scenario.inventory
    return {
        "inventory_rows": len(inv),
        "on_hand_units": float(sum(r.on_hand for r in inv)),
        "in_transit_units": float(sum(r.in_transit for r in inv)),
        "returns_rules": len(scenario.returns),
        "returns_warehouses": sum(
            n.kind == "warehouse" and n.returns_handling_cost_per_unit is not None
            for n in scenario.nodes
        ),
        "stability_penalty_per_unit": scenario.service.stability_penalty_per_unit,
    }


def format_version(state: StateCounts) -> str:
    """``v1.1`` when the scenario carries any of tonight's state (inventory rows, returns
    rules, a warehouse that takes returns, a stability penalty), else ``v1``. By content, not
    by key: a v1 scenario written back in full (``scenario.json`` beside a plan) lists
    ``inventory: []`` and a zero penalty. Transfer lanes were already in v1."""
    used = (
        state["inventory_rows"]
        or state["returns_rules"]
        or state["returns_warehouses"]
        or state["stability_penalty_per_unit"] > 0
    )
    return "v1.1" if used else "v1"


def summarise(scenario: Scenario) -> ScenarioSummary:
    """Counts, demand and reachability of a validated scenario."""
    from network.compile import compile_network
    from network.graph import build_graph
    from network.scenario import unknown_fields
    from optimizer.plan.planning import overfull_messages

    G = build_graph(scenario)
    data = compile_network(scenario, G)
    modes = Counter(d["mode"] for _, _, d in G.edges(data=True))
    state = state_counts(scenario)
    return {
        "name": scenario.name,
        "format": format_version(state),
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
        "state": state,
        "warnings": unknown_fields(scenario)
        + list(data.customs_warnings)
        + overfull_messages(data),
    }


def run(args: argparse.Namespace) -> int:
    s = load(args)
    info = summarise(s)
    if args.json:
        print(json.dumps(info, indent=2))
        return 0
    print(
        f"scenario {info['name']!r}: valid (format {info['format']}), "
        f"horizon {info['horizon_days']:g} days, currency {info['currency']}"
    )
    print("  nodes:  " + ", ".join(f"{v} {k}" for k, v in info["nodes"].items()))
    print(
        f"  lanes:  {info['lanes_total']} ("
        + ", ".join(f"{v} {k}" for k, v in info["lanes"].items())
        + f"; {info['rate_cards']} rate card(s) expanded)"
    )
    print(f"  skus:   {info['skus']}")
    print(f"  demand: {info['demand_units']:,.0f} units in {info['demand_rows']} rows")
    if info["format"] != "v1":
        print("  state:  " + state_line(info["state"]))
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


def state_line(st: StateCounts) -> str:
    """The v1.1 sections in one line: ``2 inventory rows (2,400 units on hand, 300 in transit),
    2 returns rules, 1 warehouse taking returns, stability penalty 0.5 per unit``.

    >>> line = state_line({"inventory_rows": 1, "on_hand_units": 2.5, "in_transit_units": 0.0,
    ...     "returns_rules": 0, "returns_warehouses": 0, "stability_penalty_per_unit": 0.0})
    >>> line.split(", 0 returns")[0]
    '1 inventory row (2.5 units on hand, 0 in transit)'
    """

    def n(k: int, one: str, many: str) -> str:
        return f"{k} {one if k == 1 else many}"

    def units(x: float) -> str:
        # whole units as such, fractional ones (2.5 on hand) not rounded to a whole number
        return f"{x:,.0f}" if float(x).is_integer() else f"{x:,.2f}".rstrip("0").rstrip(".")

    return (
        n(st["inventory_rows"], "inventory row", "inventory rows")
        + f" ({units(st['on_hand_units'])} units on hand, "
        + f"{units(st['in_transit_units'])} in transit), "
        + n(st["returns_rules"], "returns rule", "returns rules")
        + ", "
        + n(st["returns_warehouses"], "warehouse taking returns", "warehouses taking returns")
        + f", stability penalty {st['stability_penalty_per_unit']:g} per unit"
    )
