"""Benchmark reports: summary figures, the Markdown table and the PNG plots."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from benchmarks.suite.report import markdown_report, summarise, write_report
from tests.benchmarks.toy import result_row as _row

ROWS = [
    _row("A", "fast", "ortools", 110.0, bks=100.0, samples=[[0.1, 130.0], [1.0, 110.0]]),
    _row("B", "fast", "ortools", 210.0, bks=200.0, samples=[[0.2, 220.0], [2.0, 210.0]]),
    _row("A", "pyvrp", "pyvrp", 100.0, bks=100.0, samples=[[0.05, 105.0], [0.5, 100.0]]),
    _row("B", "pyvrp", "pyvrp", None, bks=200.0, status="timeout"),
]


def test_summary_gaps_feasibility_and_ratio_to_peer() -> None:
    """Mean/max gap use feasible solves only; the feasible share counts every solve; the ratio
    to the peer is the geometric mean over instances where both are feasible."""
    s = {x["config"]: x for x in summarise(ROWS)}
    fast = s["fast (ortools)"]
    assert fast["solves"] == 2 and fast["ok"] == 2
    assert fast["mean_gap"] == pytest.approx(7.5) and fast["max_gap"] == pytest.approx(10.0)
    assert fast["vs_peer"]["pyvrp"] == pytest.approx(1.1)  # only A has both feasible
    peer = s["pyvrp"]
    assert peer["ok"] == 1 and peer["statuses"] == {"ok": 1, "timeout": 1}
    assert peer["mean_gap"] == pytest.approx(0.0)


def test_without_best_known_the_reference_is_the_best_found() -> None:
    """Rows without a best-known value are compared with the best feasible cost in the results
    and the table marks the gap with a star."""
    rows = [
        _row("S1", "tradelane", "tradelane", 120.0, bks=None, family="synthetic"),
        _row("S1", "monolithic", "monolithic", 100.0, bks=None, family="synthetic"),
        _row("S1", "naive", "naive", 150.0, bks=None, family="synthetic"),
    ]
    s = {x["config"]: x for x in summarise(rows)}
    assert s["tradelane"]["mean_gap"] == pytest.approx(20.0)
    assert s["tradelane"]["vs_peer"]["monolithic"] == pytest.approx(1.2)
    assert s["tradelane"]["vs_peer"]["naive"] == pytest.approx(0.8)
    assert not s["tradelane"]["gap_is_bks"]
    md = markdown_report(rows)
    assert "mean gap* %" in md and "| tradelane | 1 | 100% | 20.00 |" in md


def test_markdown_has_one_table_per_family_and_limit() -> None:
    """Each (family, time limit) gets a section; statuses other than ok are listed."""
    rows = [*ROWS, _row("A", "fast", "ortools", 105.0, bks=100.0, tl=10.0)]
    md = markdown_report(rows, title="t")
    assert "## solomon, time limit 5 s" in md and "## solomon, time limit 10 s" in md
    assert "timeout 1" in md
    # configuration, solves, feasible, mean, max and median gap, mean and median s, MB, vs pyvrp
    assert "| fast (ortools) | 2 | 100% | 7.50 | 10.00 | 7.50 | 2.0 | 2.0 | 50 | 1.1000 |" in md


def test_write_report_makes_markdown_and_two_pngs(tmp_path: Path) -> None:
    """``write_report`` writes report.md linking profile.png and gap_time.png, both real PNG
    images; several time limits without samples still give a gap-over-time curve."""
    rows = [
        *ROWS,
        _row("A", "fast", "ortools", 105.0, bks=100.0, tl=10.0),
        _row("B", "fast", "ortools", 200.0, bks=200.0, tl=10.0),
    ]
    files = write_report(rows, tmp_path, title="x")
    for key in ("profile", "gap_time"):
        data = files[key].read_bytes()
        assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 5000
    md = files["markdown"].read_text()
    assert "![profile](profile.png)" in md and "![gap_time](gap_time.png)" in md


def test_failed_rows_never_count_as_best() -> None:
    """A timed-out or infeasible row with a (bogus) low cost is not used as a reference."""
    rows = [
        _row("S", "a", "a", 100.0, bks=None, family="synthetic"),
        {**_row("S", "b", "b", 1.0, bks=None, family="synthetic", status="infeasible")},
    ]
    s = {x["config"]: x for x in summarise(rows)}
    assert s["a"]["mean_gap"] == pytest.approx(0.0)
    assert s["b"]["mean_gap"] is None and not math.isnan(s["a"]["mean_gap"])


def test_per_instance_table_shows_gaps_and_failures() -> None:
    """The per-instance section gives each configuration's gap per instance, and the status
    where a configuration has no feasible solve there."""
    md = markdown_report(ROWS)
    assert "### solomon, time limit 5 s: gap % per instance (mean over seeds)" in md
    assert "| A | 100 | 10.00 | 0.00 |" in md
    assert "| B | 200 | 5.00 | timeout |" in md


def test_natural_order_of_instance_names() -> None:
    """Instances sort by embedded numbers: cap41 before cap101, X-n101 before X-n1001."""
    from benchmarks.suite.report import natural_key

    names = ["cap101", "X-n1001-k43", "cap41", "X-n101-k25", "C201", "C101"]
    assert sorted(names, key=natural_key) == [
        "C101",
        "C201",
        "cap41",
        "cap101",
        "X-n101-k25",
        "X-n1001-k43",
    ]


def test_gap_to_own_bound_column_for_solvers_with_a_bound() -> None:
    """When rows carry the solver's bound, the table adds the mean gap to it."""
    rows = [
        _row("S1", "tradelane", "tradelane", 120.0, bks=None, family="synthetic"),
        _row("S1", "monolithic", "monolithic", 100.0, bks=None, family="synthetic"),
    ]
    rows[0]["info"] = {"bound": 90.0}
    rows[1]["info"] = {"bound": 100.0}
    s = {x["config"]: x for x in summarise(rows)}
    assert s["tradelane"]["bound_gap"] == pytest.approx(25.0)
    assert s["monolithic"]["bound_gap"] == pytest.approx(0.0)
    assert "gap to own bound %" in markdown_report(rows)
    assert "gap to own bound %" not in markdown_report(ROWS)
