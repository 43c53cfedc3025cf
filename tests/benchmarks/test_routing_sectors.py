"""``benchmarks.routing_sectors``: the decomposition's sectors solved by OR-Tools and PyVRP."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest

from benchmarks import routing_sectors
from benchmarks.suite.day import read_day
from optimizer.routing.decompose import sectors

DAY = Path(__file__).resolve().parents[2] / "benchmarks" / "data" / "day"


def test_sectors_cover_every_client_once() -> None:
    inst = read_day(DAY / "day-n500-s0.json")
    groups, depots = sectors(inst, 150, np.random.default_rng(0))
    assert len(groups) == round(inst.num_clients / 150) and set(depots) == {0}
    allc = np.concatenate(groups)
    assert np.array_equal(np.sort(allc), np.arange(inst.num_clients))


def test_split_of_the_gap_is_printed_per_sector(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    spec = tmp_path / "day-n90-s1.json"
    spec.write_text(json.dumps({"orders": 90, "seed": 1, "window_share": 0.3}))
    n = read_day(spec).num_clients
    code = routing_sectors.main(
        [str(spec), "--sub-clients", "30", "--sector-time", "0.5", "--whole-time", "0.5"]
    )
    out = capsys.readouterr().out
    assert code == 0, out
    k = round(n / 30)
    assert f"{n} clients, {k} sectors" in out
    # one row per sector: its clients, both solvers' feasible costs and their ratio
    rows = re.findall(r"^\s+(\d+)\s+(\d+)\s+([\d.]+) \(\s*\d+\)\s+([\d.]+) \(\s*\d+\)", out, re.M)
    assert [int(r[0]) for r in rows] == list(range(k))
    assert sum(int(r[1]) for r in rows) == n
    ours = sum(float(r[2]) for r in rows)
    theirs = sum(float(r[3]) for r in rows)
    assert _figure(r"sum over sectors: OR-Tools ([\d.]+)", out) == pytest.approx(ours, abs=0.2)
    assert _figure(r"engine \(OR-Tools sectors / PyVRP sectors\):\s+([\d.]+)", out) == (
        pytest.approx(ours / theirs, abs=2e-3)
    )
    assert _figure(r"sector structure .*:\s+([\d.]+)", out) > 0


def _figure(pattern: str, text: str) -> float:
    m = re.search(pattern, text)
    assert m is not None, pattern
    return float(m[1])
