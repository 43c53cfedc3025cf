"""Configuration files: every key is either used or refused with a message naming it; the
command exits 2 before any solve."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from api.cli import main
from benchmarks.suite.families import resolve_family
from benchmarks.suite.runner import BenchError, load_config


@pytest.mark.parametrize(
    "family, text, message",
    [
        # a typo in [bench] used to be ignored: this ran OR-Tools under the name of the file
        ("cvrplib", '[bench]\nslover = "pyvrp"\n[routing]\n', r"\[bench\] unknown key\(s\) slover"),
        # a key beside the [routing] table was never read
        (
            "cvrplib",
            'neighbors = 20\n[routing]\nmetaheuristic = "gls"\n',
            r"neighbors outside the \[routing\] table",
        ),
        # the peers run with their defaults: parameters given to them were dropped
        (
            "cvrplib",
            '[bench]\nsolver = "pyvrp"\nname = "p"\n[routing]\nneighbors = 20\n',
            r"solver 'pyvrp' takes no parameters \(neighbors\)",
        ),
        # a routing table in an allocation config
        (
            "cflp",
            '[routing]\nmetaheuristic = "gls"\n',
            r"\[routing\] table .* reads \[allocation\]",
        ),
    ],
)
def test_config_keys_that_would_be_ignored_are_refused(
    tmp_path: Path, family: str, text: str, message: str
) -> None:
    p = tmp_path / "c.toml"
    p.write_text(text)
    with pytest.raises(BenchError, match=message):
        load_config(p, resolve_family(family))


def test_a_config_with_both_tables_is_read_by_each_kind(tmp_path: Path) -> None:
    """One file for plan and route (``[routing]`` and ``[allocation]``) stays usable."""
    p = tmp_path / "both.toml"
    p.write_text('[routing]\nmetaheuristic = "gls"\n[allocation]\nsolver = "highs"\n')
    assert load_config(p, resolve_family("cvrplib")).params == {"metaheuristic": "gls"}
    assert load_config(p, resolve_family("cflp")).params == {"solver": "highs"}


def test_cli_exits_2_naming_the_ignored_key(
    data_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cfg = tmp_path / "c.toml"
    cfg.write_text('[bench]\nsolver = "pyvrp"\nname = "p"\n[routing]\nneighbors = 20\n')
    args = ["bench", "--family", "cvrplib", "--instances", str(data_dir / "bench" / "cvrplib")]
    args += ["--time-limit", "1", "--config", str(cfg), "--out", str(tmp_path / "r.json")]
    assert main(args) == 2
    err = capsys.readouterr().err
    assert "takes no parameters (neighbors)" in err and "Traceback" not in err
    assert not (tmp_path / "r.json").exists()


def test_a_limit_or_seed_in_the_config_is_said_to_be_replaced_by_the_run(
    data_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A file shared with ``tradelane route`` may hold ``time_limit_s`` and ``seed``; the run
    sets both itself, and says so (they were replaced without a word)."""
    cfg = tmp_path / "shared.toml"
    cfg.write_text('[bench]\nname = "shared"\n[routing]\ntime_limit_s = 30\nseed = 4\n')
    out = tmp_path / "r.json"
    args = ["bench", "--family", "cvrplib", "--instances", str(data_dir / "bench" / "cvrplib")]
    args += ["--time-limit", "0.5", "--config", str(cfg), "--out", str(out), "--no-peers"]
    args += ["--limit", "1"]
    assert main(args) == 0
    err = capsys.readouterr().err
    assert "[routing] time_limit_s, seed replaced by the run's --time-limit and seed" in err
    rows = json.loads(out.read_text())
    assert [(r["time_limit"], r["seed"]) for r in rows] == [(0.5, 0)]
