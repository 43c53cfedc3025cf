"""``python -m benchmarks.floor`` times a scenario's SKU blocks' floor: one row a block, the
naive plan's cheapest freight equal to the sort it replaced."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from benchmarks.floor import main


def test_one_row_a_block_with_every_step_timed(
    data_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["--scenario", str(data_dir / "tiny-my.json"), "--blocks", "2", "--block-skus", "1"]
    assert main([*argv, "--repeats", "1"]) == 0
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [r["block"] for r in rows] == [0, 1]
    for r in rows:
        assert r["rows"] > 0 and r["outbound_columns"] > 0
        assert all(r[k] >= 0 for k in ("columns_s", "naive_s", "overflow_s", "freight_sort_s"))
        assert r["freight_same"] is True
