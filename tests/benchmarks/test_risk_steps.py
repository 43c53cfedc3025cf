"""``python -m benchmarks.risk --part steps`` times each step of a what-if on a given plan: one
row with every step's median, the plan's row count, and a refusal without its inputs."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from api.cli import main as cli_main
from benchmarks.risk import main

STEPS = (
    "json_decode",
    "plan_from_json",
    "shock_and_compile",
    "evaluate_base",
    "hold",
    "evaluate_held_and_document",
    "write_held",
)


def test_the_steps_of_a_whatif_are_timed_on_the_plan_given(
    tmp_path: Path, data_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    shutil.copy(data_dir / "tiny-my.json", tmp_path / "s.json")
    args = ["plan", str(tmp_path / "s.json"), "--out", str(tmp_path / "p"), "--quiet"]
    assert cli_main([*args, "--no-map", "--time-limit", "10"]) == 0
    plan = json.loads((tmp_path / "p" / "plan.json").read_text())
    rows = sum(len(plan[k]) for k in ("fulfilment", "replenishment", "stock"))
    shock = tmp_path / "shock.yaml"
    shock.write_text("name: x\nchanges:\n  - {warehouse: WH-KUL, closed: true}\n")
    capsys.readouterr()
    argv = ["--part", "steps", "--scenario", str(tmp_path / "s.json"), "--shock", str(shock)]
    assert main([*argv, "--plan", str(tmp_path / "p"), "--repeats", "2"]) == 0
    (line,) = capsys.readouterr().out.splitlines()
    row = json.loads(line)
    assert row["plan_rows"] == rows > 0 and row["repeats"] == 2
    assert all(row[f"{s}_s"] >= 0 for s in STEPS), row
    with pytest.raises(SystemExit, match="needs --scenario, --plan and --shock"):
        main(["--part", "steps", "--scenario", str(tmp_path / "s.json")])
