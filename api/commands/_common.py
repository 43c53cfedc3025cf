"""Helpers shared by CLI subcommands."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from network.scenario import Scenario


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
    """Load the scenario named on the command line (raises ScenarioError on bad input)."""
    from network.scenario import load_scenario

    return load_scenario(Path(args.scenario), demand=args.demand)
