"""``python -m benchmarks.model_memory`` measures the full-column LP's memory per column."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from benchmarks.model_memory import main


def test_one_line_with_the_columns_and_the_memory(
    data_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from network.scenario import load_scenario
    from optimizer.allocation.params import AllocationParams
    from optimizer.plan.planning import plan_scenario

    src = data_dir / "tiny-my-v11.json"
    prev = plan_scenario(load_scenario(src), AllocationParams(time_limit=30)).plan
    (tmp_path / "plan.json").write_text(json.dumps(prev.to_json()))
    for extra in ([], ["--previous", str(tmp_path / "plan.json")]):
        assert main(["--scenario", str(src), "--time-limit", "30", *extra]) == 0
        row = json.loads(capsys.readouterr().out)
        assert row["previous"] is bool(extra)
        assert row["columns"] > 0 and row["status"] == "optimal"
        assert row["peak_mb_after"] >= row["peak_mb_before"] > 0
        assert row["bytes_per_column"] >= 0
