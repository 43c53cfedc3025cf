"""benchmarks/inventory_from_plan.py: the inventory CSV a state benchmark gives `tradelane plan`
is read back by the scenario's own inventory reader, row for row."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from benchmarks.inventory_from_plan import main
from network.state import read_inventory_csv


def test_the_csv_holds_the_shares_of_each_level_and_reads_back(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    plan = {
        "stock": [
            {"sku": "K0", "warehouse": "W0", "units": 10},
            {"sku": "K1", "warehouse": "W0", "units": 0},
            {"sku": "K1", "warehouse": "W1", "units": 7},
            {"sku": "K2", "warehouse": "W1", "units": 5},
        ]
    }
    (tmp_path / "plan.json").write_text(json.dumps(plan))
    out = tmp_path / "inv.csv"
    assert main(["--plan", str(tmp_path / "plan.json"), "--out", str(out), "--every", "2"]) == 0
    rows = read_inventory_csv(out.read_text())
    got = [(r["sku"], r["warehouse"], r.get("on_hand"), r.get("in_transit")) for r in rows]
    # 60 % on hand of each level; 30 % in transit on rows 0 and 2 of those with units
    assert got == [("K0", "W0", 6, 3), ("K1", "W1", 4, 0), ("K2", "W1", 3, 1)]
    assert rows[0]["arrives_in_hours"] == 36
    assert json.loads(capsys.readouterr().out) == {"rows": 3, "on_hand": 13, "in_transit": 4}
