"""``python -m benchmarks.model_memory`` measures the full-column LP's memory per column."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from benchmarks.model_memory import main


def test_one_line_with_the_columns_and_the_memory(
    data_dir: Path, plan_file: Callable[[str], Path], capsys: pytest.CaptureFixture[str]
) -> None:
    from network.scenario import load_scenario

    src = data_dir / "tiny-my-v11.json"
    previous = plan_file("tiny-my-v11.json")
    from network.compile import compile_network
    from optimizer.allocation.columns import build_columns

    # every usable warehouse (no previous plan): the columns are the network's own
    cols = build_columns(compile_network(load_scenario(src)))
    every = len(cols.x_pair) + len(cols.q_pair) + len(cols.f_sku)
    for extra in ([], ["--previous", str(previous)]):
        assert main(["--scenario", str(src), "--time-limit", "30", *extra]) == 0
        row = json.loads(capsys.readouterr().out)
        assert row["previous"] is bool(extra)
        assert row["status"] == "optimal"
        # with the previous plan's warehouses only, at most as many
        assert (row["columns"] == every) if not extra else (0 < row["columns"] <= every)
        assert row["bytes_per_column"] == pytest.approx(
            (row["peak_mb_after"] - row["peak_mb_before"]) * 1024 * 1024 / row["columns"],
            abs=0.1,
        )
