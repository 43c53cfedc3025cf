"""``benchmarks/distances.py`` prints one row per size and cloud, with a relative difference
between the geodesic and haversine matrices that stays below the 0.6 % the code relies on."""

from __future__ import annotations

import re

import pytest

from benchmarks.distances import CLOUDS, main


def test_distances_benchmark_prints_a_row_per_size_and_cloud(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["--sizes", "30", "60", "--runs", "1"]) == 0
    rows = [ln for ln in capsys.readouterr().out.splitlines()[1:] if ln.strip()]
    assert len(rows) == 2 * len(CLOUDS)
    diffs = [float(m[1]) for ln in rows if (m := re.search(r"([0-9.]+) %$", ln))]
    assert len(diffs) == len(rows)
    assert all(0.0 < d < 0.6 for d in diffs), rows
