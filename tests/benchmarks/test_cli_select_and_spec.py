"""Command-line checks of ``tradelane bench``: a ``--select``
glob that matches nothing beside one that does, and a bad day spec (a ``BenchError`` from
building the tasks) are exit 2 naming the item."""

from __future__ import annotations

from pathlib import Path

import pytest

from api.cli import main


def test_a_select_glob_that_matches_nothing_is_an_error_naming_it(
    data_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """``--select 'E-n22*' --select 'X-n9*'``: the second glob (a typo) matches nothing and was
    dropped without a word, the run going ahead on the first one's instances."""
    args = ["bench", "--family", "cvrplib", "--instances", str(data_dir / "bench" / "cvrplib")]
    args += ["--select", "E-n22*", "--select", "X-n9*", "--time-limit", "1", "--no-peers"]
    args += ["--out", str(tmp_path / "r.json"), "--limit", "1", "--memory-mb", "1"]
    assert main(args) == 2
    assert "X-n9*" in capsys.readouterr().err


def test_a_bad_day_spec_exits_2_from_bench_run(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """build_tasks refuses the spec with a BenchError, which ``bench`` (unlike ``bench tune``)
    does not catch: exit 1 and 'internal error: BenchError: ...' instead of exit 2."""
    (tmp_path / "days").mkdir()
    (tmp_path / "days" / "day-x.json").write_text('{"orders": 60, "window_shares": 0.9}')
    args = ["bench", "--family", "day", "--instances", str(tmp_path / "days")]
    args += ["--time-limit", "1", "--out", str(tmp_path / "r.json")]
    assert main(args) == 2
    err = capsys.readouterr().err
    assert "window_shares" in err and "internal error" not in err
