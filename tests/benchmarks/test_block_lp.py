"""``python -m benchmarks.block_lp`` times one SKU block's fixed-warehouse LP with a previous
plan: a row per block, its columns pruned, its LP solved to the optimum the unpruned columns
give."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from benchmarks.block_lp import main
from network.compile import compile_network
from network.scenario import load_scenario
from optimizer.allocation.params import AllocationParams
from optimizer.plan.planning import plan_scenario


def test_a_row_per_block_with_its_columns_and_its_lp(
    data_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    scenario = data_dir / "tiny-my.json"
    plan = plan_scenario(load_scenario(scenario), AllocationParams(time_limit=30)).plan
    (tmp_path / "plan.json").write_text(json.dumps(plan.to_json()))
    argv = ["--scenario", str(scenario), "--previous", str(tmp_path / "plan.json")]
    assert main([*argv, "--block", "0", "--whole"]) == 0
    whole, row = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert whole["block"] == "whole" and 0 < whole["f"] <= whole["f_all"]
    assert row["block"] == 0 and row["status"] == "optimal"
    assert 0 < row["f"] <= row["f_all"]
    assert row["pairs"] == int(np.sum(compile_network(load_scenario(scenario)).dem_units > 0))
    assert all(row[k] >= 0 for k in ("columns_s", "model_s", "lp_s"))
