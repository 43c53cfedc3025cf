"""``python -m benchmarks.simulate_batches`` times simulations by batch cap."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from benchmarks.simulate_batches import main


def test_a_line_for_the_reading_and_one_per_cap(
    data_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from api.cli import main as cli

    src = data_dir / "tiny-my-v11.json"
    assert cli(["plan", str(src), "--out", str(tmp_path / "p"), "--quiet", "--no-map"]) == 0
    capsys.readouterr()
    argv = ["--plan-dir", str(tmp_path / "p"), "--runs", "300", "--repeats", "1"]
    assert main([*argv, "--cells", str(1 << 40), "--cells", "40"]) == 0
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert set(rows[0]) == {"plan_read_s", "scenario_read_s", "compile_s", "peak_mb"}
    whole, cut = rows[1], rows[2]
    assert whole["batch"] == 1000 and whole["runs"] == 300
    assert 1 <= cut["batch"] < 40 and cut["runs"] == 300  # 40 values: a few runs a batch
    for r in (whole, cut):
        assert r["min_s"] <= r["seconds"] <= r["max_s"]
        assert r["fill_ci95"][0] <= r["fill_rate"] <= r["fill_ci95"][1]
    from optimizer.risk import simulate

    assert simulate.MAX_BATCH_CELLS == 1 << 20  # restored
