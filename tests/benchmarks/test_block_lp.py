"""``python -m benchmarks.block_lp`` times one SKU block's fixed-warehouse LP with a previous
plan: a row for the whole network's columns, then a row per block with its pruned columns and
its LP solved (that pruning keeps the optimum is tests/optimizer/allocation/test_pruning.py's)."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from benchmarks.block_lp import main
from network.compile import compile_network
from network.scenario import load_scenario


def test_a_row_per_block_with_its_columns_and_its_lp(
    data_dir: Path, plan_file: Callable[[str], Path], capsys: pytest.CaptureFixture[str]
) -> None:
    scenario = data_dir / "tiny-my.json"
    argv = ["--scenario", str(scenario), "--previous", str(plan_file("tiny-my.json"))]
    assert main([*argv, "--block", "0", "--whole"]) == 0
    whole, row = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert whole["block"] == "whole" and 0 < whole["f"] <= whole["f_all"]
    assert row["block"] == 0 and row["status"] == "optimal"
    assert 0 < row["f"] <= row["f_all"]
    assert row["pairs"] == int(np.sum(compile_network(load_scenario(scenario)).dem_units > 0))
    assert all(row[k] >= 0 for k in ("columns_s", "model_s", "lp_s"))
