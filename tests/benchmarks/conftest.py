"""Fixtures of the benchmark scripts' tests."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest


@pytest.fixture
def plan_file(data_dir: Path, tmp_path: Path) -> Callable[[str], Path]:
    """``plan_file(name)``: the plan of the test scenario ``name`` (30 s), written as
    ``plan.json`` in a temporary folder (a previous plan for the scripts that take one)."""

    def make(name: str) -> Path:
        from network.scenario import load_scenario
        from optimizer.allocation.params import AllocationParams
        from optimizer.plan.planning import plan_scenario

        plan = plan_scenario(load_scenario(data_dir / name), AllocationParams(time_limit=30))
        out = tmp_path / "plan.json"
        out.write_text(json.dumps(plan.plan.to_json()))
        return out

    return make
