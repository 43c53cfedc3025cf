"""The report never lets a missing solve, an overrun of the time limit or a cost below the
best-known value pass without a word."""

from __future__ import annotations

from benchmarks.suite.report import markdown_report, over_limit, summarise
from tests.benchmarks.toy import result_row as _row

BKS = {"I1": 100.0, "I2": 200.0, "I3": 300.0}


def _complete() -> list[dict]:
    return [
        _row(i, cfg, solver, 1.1 * b if cfg == "a" else b, bks=b)
        for i, b in BKS.items()
        for cfg, solver in (("a", "ortools"), ("pyvrp", "pyvrp"))
    ]


def test_a_missing_row_is_counted_and_named_not_dropped() -> None:
    """Ours has no row for I3 (an interrupted run): its line must not read as a complete,
    100 % feasible run over the same instances as the peer's."""
    rows = [r for r in _complete() if not (r["instance"] == "I3" and r["config"] == "a")]
    s = {x["config"]: x for x in summarise(rows)}
    ours = s["a (ortools)"]
    assert ours["missing"] == ["I3 seed 0"]
    assert s["pyvrp"]["missing"] == []
    # the ratio covers 2 of the 3 pairs of the table, and says why the third is out
    assert ours["vs_peer_pairs"]["pyvrp"] == (2, 3)
    assert any("I3 seed 0 (ours not run" in m for m in ours["vs_peer_left_out"]["pyvrp"])
    md = markdown_report(rows)
    line = next(ln for ln in md.splitlines() if ln.startswith("| a (ortools) |"))
    assert "| 67% |" in line and "missing 1" in line and "2 of 3" in line
    assert "- a (ortools): I3 seed 0" in md
    cell = next(ln for ln in md.splitlines() if ln.startswith("| I3 |"))
    assert "not run" in cell


def test_a_solve_over_its_limit_by_more_than_ten_percent_is_flagged() -> None:
    """5.6 s for a 5 s limit is over (more time than the other side); 5.4 s is within."""
    rows = _complete()
    rows[1] = {**rows[1], "seconds": 5.6}  # pyvrp on I1
    rows[3] = {**rows[3], "seconds": 5.4}  # pyvrp on I2
    assert over_limit(rows[1]) and not over_limit(rows[3]) and not over_limit(rows[0])
    s = {x["config"]: x for x in summarise(rows)}
    assert s["pyvrp"]["over_limit"] == ["I1 seed 0 (5.6 s)"]
    assert s["a (ortools)"]["over_limit"] == []
    md = markdown_report(rows)
    assert "over limit" in md
    assert "- pyvrp: I1 seed 0 (5.6 s)" in md


def test_a_cost_below_the_best_known_value_is_a_warning() -> None:
    """A feasible cost below the best-known value (a value of another objective, e.g. a fixed
    fleet) is named above the tables; equal to it (to the table's precision) is not."""
    rows = _complete()
    assert "below the best-known" not in markdown_report(rows)
    rows[1] = {**rows[1], "cost": 94.0}
    rows[3] = {**rows[3], "cost": 200.0 - 1e-7}  # floating-point noise, not below
    md = markdown_report(rows)
    assert "**Warning**: 1 feasible solve(s) below the best-known value" in md
    assert "pyvrp I1 seed 0 at 5 s: 94 < 100" in md
