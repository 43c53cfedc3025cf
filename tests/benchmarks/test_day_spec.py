"""Day spec files: a bad key or value is refused naming the file and the key, before any
solve (``bench tune`` exits 2), instead of a default used silently or an error row per solve."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from api.cli import main
from benchmarks.suite.day import read_day_spec
from benchmarks.suite.families import resolve_family
from benchmarks.suite.runner import BenchError, build_tasks

REPO_DAYS = Path(__file__).resolve().parents[2] / "benchmarks" / "data" / "day"


@pytest.mark.parametrize(
    "spec, message",
    [
        # a typo: window_share silently stayed at 0.3
        ({"orders": 60, "window_shares": 0.9}, "unknown key(s) window_shares"),
        # a misspelt 'orders' was an error row per solve: "KeyError: 'orders'"
        ({"order": 60}, "unknown key(s) order"),
        ({"seed": 1}, "no 'orders'"),
        ({"orders": 0}, "orders 0 is not a whole number >= 1"),
        ({"orders": 60.5}, "orders 60.5 is not"),
        ({"orders": 60, "window_share": 1.5}, "window_share 1.5 is not a share"),
        ([60], "not a day spec"),
    ],
)
def test_bad_day_specs_are_refused_naming_the_key(tmp_path: Path, spec, message: str) -> None:
    p = tmp_path / "day-x.json"
    p.write_text(json.dumps(spec))
    with pytest.raises(ValueError, match=re.escape(message)):
        read_day_spec(p)
    fam = resolve_family("day")
    with pytest.raises(BenchError, match=r"day-x\.json"):
        build_tasks(fam, "day", [p], configs=[], seeds=[0], time_limits=[1.0])


def test_the_shipped_day_specs_pass() -> None:
    """Every spec in benchmarks/data/day is accepted as written."""
    paths = sorted(REPO_DAYS.glob("*.json"))
    assert len(paths) == 15
    for p in paths:
        assert read_day_spec(p)["orders"] in (500, 800, 1500, 3000, 5000)


def test_tune_on_a_bad_day_spec_exits_2_before_any_trial(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "days").mkdir()
    (tmp_path / "days" / "day-x.json").write_text('{"orders": 60, "window_shares": 0.9}')
    args = ["bench", "tune", "--family", "day", "--instances", str(tmp_path / "days")]
    args += ["--time-limit", "1", "--trials", "1", "--out", str(tmp_path / "best.toml")]
    assert main(args) == 2
    err = capsys.readouterr().err
    assert "day-x.json: unknown key(s) window_shares" in err and "Traceback" not in err
    assert not (tmp_path / "best.toml").exists()
