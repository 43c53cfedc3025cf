"""Helpers shared by CLI subcommands."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from network.scenario import Scenario
    from optimizer.plan.document import Plan


class InputError(Exception):
    """Bad command-line input: one message line per problem; the CLI exits with 2."""

    def __init__(self, *lines: str):
        self.lines = list(lines)
        super().__init__("\n".join(lines))


def add_scenario_args(p: argparse.ArgumentParser) -> None:
    """``SCENARIO`` (file or directory) and ``--demand CSV``."""
    p.add_argument(
        "scenario",
        metavar="SCENARIO",
        help="scenario .json/.yaml, or a directory with network.* + demand.csv",
    )
    p.add_argument("--demand", metavar="CSV", help="demand CSV (sku,zone,units) to use")


def load(args: argparse.Namespace) -> Scenario:
    """Load the scenario named on the command line (raises ScenarioError on bad input).

    With ``--inventory CSV`` (format v1.1) the CSV's rows replace the document's
    ``inventory`` and the whole scenario is validated again, each bad row named.
    """
    from network.scenario import load_scenario

    s = load_scenario(Path(args.scenario), demand=args.demand)
    inv = getattr(args, "inventory", None)
    if inv is None:
        return s
    return with_inventory(s, Path(inv))


def with_inventory(s: Scenario, path: Path) -> Scenario:
    """The scenario with its inventory replaced by the rows of an inventory CSV."""
    from network.scenario import parse_scenario
    from network.state import read_inventory_csv

    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
        raise InputError(f"--inventory: cannot read {str(path)!r}: {e}") from None
    try:
        rows = read_inventory_csv(text, path.name)
    except ValueError as e:
        raise InputError(*(f"--inventory: {line}" for line in str(e).splitlines())) from None
    doc = s.to_document()
    doc["inventory"] = rows
    return parse_scenario(doc, source=f"{path.name} (inventory): ")


def read_plan_file(path: str | Path, what: str) -> Plan:
    """A ``plan.json`` (or a folder holding one) as a typed plan; InputError names the file
    and, for a document that is no plan, the first bad field. ``what`` prefixes the messages
    (the option or argument the path came from)."""
    import json

    from optimizer.plan.document import Plan, PlanFormatError

    p = Path(path)
    if p.is_dir():
        p = p / "plan.json"
    try:
        doc = json.loads(p.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as e:
        raise InputError(f"{what}: cannot read {str(p)!r}: {e}") from None
    except json.JSONDecodeError as e:
        raise InputError(f"{what}: {p.name} line {e.lineno}: invalid JSON: {e.msg}") from None
    try:
        return Plan.from_json(doc)
    except PlanFormatError as e:
        raise InputError(f"{what}: {p} is not a plan: {e}") from None


def read_previous(path: str) -> Plan:
    """A previous ``plan.json`` for ``--previous`` (InputError naming the problem)."""
    plan = read_plan_file(path, "--previous")
    for key in ("stock", "warehouses"):
        if getattr(plan, key) is None:
            raise InputError(f"--previous: {path} is not a plan: no {key!r} list")
    return plan
