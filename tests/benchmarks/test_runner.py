"""The benchmark runner: process isolation, limits, failure rows, parallel jobs, resume."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from benchmarks.suite.families import resolve_family
from benchmarks.suite.runner import (
    BenchError,
    Config,
    build_tasks,
    load_config,
    read_rows,
    run_suite,
)
from tests.benchmarks.toy import TOY, make_instances, toy


@pytest.fixture()
def toy_dir(tmp_path: Path) -> Path:
    return make_instances(tmp_path / "inst", {"a": 100.0, "b": 200.0})


def _tasks(
    toy_dir: Path, solvers: list[str], *, seeds: int = 1, peers: bool = False, tl: float = 1.0
):
    fam = toy()
    cfgs = [Config(s, s) for s in solvers]
    return build_tasks(
        fam,
        TOY,
        fam.instances(toy_dir),
        configs=cfgs,
        seeds=range(seeds),
        time_limits=[tl],
        peers=peers,
    )


def test_every_failure_kind_becomes_a_row_and_the_suite_goes_on(
    toy_dir: Path, tmp_path: Path
) -> None:
    """A crashing, hanging, raising, memory-hogging and cheating solver each give a row with
    their status; the good solves beside them still complete, with gap and evaluator verdict."""
    out = tmp_path / "results.json"
    tasks = _tasks(toy_dir, ["good", "crash", "hang", "boom", "hog", "cheat"])
    tasks = [t for t in tasks if t.instance == "a" or t.solver == "good"]
    rows = run_suite(tasks, out, jobs=2, memory_mb=400, grace=3.0)
    by = {(r["instance"], r["solver"]): r for r in rows}
    assert len(rows) == 7 == len(read_rows(out))
    good = by[("a", "good")]
    assert good["status"] == "ok" and good["feasible"] is True
    assert good["cost"] == pytest.approx(110.0)
    assert good["best_known"] == 100.0 and good["gap_pct"] == pytest.approx(10.0)
    assert good["peak_mb"] > 5 and good["seconds"] >= 0
    assert good["samples"] == [[0.0, pytest.approx(165.0)], [0.01, pytest.approx(110.0)]]
    assert good["info"]["slack"] == 0.1 and good["info"]["load_1min_at_start"] >= 0
    assert by[("b", "good")]["gap_pct"] == pytest.approx(10.0)
    crash = by[("a", "crash")]
    assert crash["status"] == "crash" and "exit code 7" in crash["error"]
    assert crash["feasible"] is False and crash["cost"] is None
    hang = by[("a", "hang")]
    assert hang["status"] == "timeout" and 3.9 <= hang["seconds"] < 20
    boom = by[("a", "boom")]
    assert boom["status"] == "error" and "solver exploded on purpose" in boom["error"]
    assert by[("a", "hog")]["status"] == "memout"
    cheat = by[("a", "cheat")]
    assert cheat["status"] == "infeasible" and cheat["feasible"] is False
    assert cheat["gap_pct"] is None and "below the optimum" in cheat["error"]


def test_resume_skips_recorded_rows_and_reruns_missing_ones(toy_dir: Path, tmp_path: Path) -> None:
    """``results.json`` is a valid JSON list after the run; a second run with the same output
    runs nothing; after deleting one row only that solve runs again."""
    out = tmp_path / "results.json"
    tasks = _tasks(toy_dir, ["good"], seeds=2)
    first = run_suite(tasks, out, jobs=2)
    assert len(first) == 4 and len(json.loads(out.read_text())) == 4
    assert not list(tmp_path.glob("*.tmp"))
    assert run_suite(tasks, out, jobs=2) == []
    rows = json.loads(out.read_text())
    dropped = rows.pop(1)
    out.write_text(json.dumps(rows))
    again = run_suite(tasks, out, jobs=1)
    assert [(r["instance"], r["seed"]) for r in again] == [(dropped["instance"], dropped["seed"])]
    rows = json.loads(out.read_text())
    assert {(r["instance"], r["seed"]) for r in rows} == {("a", 0), ("a", 1), ("b", 0), ("b", 1)}


def test_jsonl_output_survives_a_half_written_line(toy_dir: Path, tmp_path: Path) -> None:
    """With a ``.jsonl`` output rows are appended one per line; a line cut short by a kill is
    ignored on resume and the solve it belonged to runs again on a fresh line."""
    out = tmp_path / "results.jsonl"
    tasks = _tasks(toy_dir, ["good"], seeds=2)
    run_suite(tasks, out, jobs=2)
    lines = out.read_text().splitlines()
    assert len(lines) == 4
    dropped = json.loads(lines[1])
    out.write_text("\n".join([lines[0], lines[2], lines[3]]) + "\n" + lines[1][:30])
    again = run_suite(tasks, out, jobs=1)
    assert [(r["instance"], r["seed"]) for r in again] == [(dropped["instance"], dropped["seed"])]
    rows = read_rows(out)
    assert len(rows) == 4
    assert {(r["instance"], r["seed"]) for r in rows} == {("a", 0), ("a", 1), ("b", 0), ("b", 1)}


def test_seeds_configs_and_peers_multiply(toy_dir: Path) -> None:
    """Tasks are instances x (configs + peers) x seeds x time limits; peers run once per
    instance, seed and limit with their default parameters."""
    fam = toy()
    tasks = build_tasks(
        fam,
        TOY,
        fam.instances(toy_dir),
        configs=[Config("x", "good", {"slack": 0.2}), Config("y", "good")],
        seeds=range(3),
        time_limits=[1.0, 2.0],
        peers=True,
    )
    assert len(tasks) == 2 * 3 * 3 * 2
    peer = [t for t in tasks if t.solver == "cheat"]
    assert len(peer) == 12 and all(t.params == {} and t.config == "cheat" for t in peer)
    assert {t.best_known for t in tasks} == {100.0, 200.0}


def test_load_config_reads_bench_and_parameter_tables(tmp_path: Path) -> None:
    """A config TOML gives name and solver from ``[bench]`` and parameters from the table of the
    family's kind; the file stem is the default name."""
    fam = toy()
    p = tmp_path / "gls-fast.toml"
    p.write_text('[bench]\nsolver = "good"\n[routing]\nmetaheuristic = "gls"\nneighbors = 20\n')
    cfg = load_config(p, fam)
    assert cfg == Config("gls-fast", "good", {"metaheuristic": "gls", "neighbors": 20})
    flat = tmp_path / "flat.toml"
    flat.write_text("slack = 0.3\n")
    assert load_config(flat, fam).params == {"slack": 0.3}


@pytest.mark.parametrize(
    "text, message",
    [
        ("slack = ", "not valid TOML"),  # syntax error
        ('[bench]\nsolver = "nope"\n', "solver 'nope'"),  # solver the family lacks
        ("routing = 3\n", "must be a table"),  # parameter table of the wrong type
    ],
)
def test_load_config_rejects_bad_files(tmp_path: Path, text: str, message: str) -> None:
    """Bad configuration files raise BenchError naming the file and the problem."""
    p = tmp_path / "bad.toml"
    p.write_text(text)
    with pytest.raises(BenchError, match=message):
        load_config(p, toy())


def test_resolve_family_names_the_known_families() -> None:
    """An unknown family name is an error that lists the registered families."""
    with pytest.raises(KeyError, match="solomon"):
        resolve_family("nope")
    assert resolve_family("solomon").peers == ("pyvrp",)


def test_resolve_family_by_module_attribute() -> None:
    """``module:attribute`` names a family factory; anything that makes no family is refused."""
    fam = resolve_family("tests.benchmarks.toy:toy")
    assert fam.name == toy().name
    with pytest.raises(KeyError, match=r"'tests\.benchmarks\.toy:TOY' is no benchmark family"):
        resolve_family("tests.benchmarks.toy:TOY")


def test_a_row_cut_short_is_dropped_before_the_next_append(toy_dir: Path, tmp_path: Path) -> None:
    """Resuming after a kill mid-write drops the partial line instead of keeping it between
    whole rows, so only the last line of a results file can ever be partial."""
    out = tmp_path / "results.jsonl"
    tasks = _tasks(toy_dir, ["good"])
    run_suite(tasks[:1], out)
    whole = out.read_text()
    out.write_text(whole + whole[:40])
    run_suite(tasks, out)
    lines = out.read_text().splitlines()
    assert len(lines) == 2 and all(json.loads(ln) for ln in lines)


@pytest.mark.parametrize(
    "text, message",
    [
        ('{\n  "nodes": []\n}\n', r"r\.jsonl:1: not a results file"),  # pretty-printed JSON
        ('{"a": 1}\n', r"r\.jsonl:1: not a results row \(no instance"),  # object, not a row
        ("plain text\n", r"r\.jsonl:1: not a results file"),  # not JSON at all
        ('{"instance": "a"\n{"instance": "b"}\n', r"r\.jsonl:2: not a results row"),  # key fields
        ("[1]\n", r"r\.jsonl: row 1: not a results row"),  # a list of non-objects
        ('{"a": 1}', r"r\.jsonl:1: not a results row"),  # a whole last line is checked
    ],
)
def test_read_rows_refuses_files_that_are_not_results(
    tmp_path: Path, text: str, message: str
) -> None:
    """Anything but rows (and one row cut short at the end) raises BenchError naming file and
    line, so a run never writes its results over another file."""
    p = tmp_path / "r.jsonl"
    p.write_text(text)
    with pytest.raises(BenchError, match=message):
        read_rows(p)


def test_load_config_refuses_parameters_our_solver_lacks(tmp_path: Path) -> None:
    """A key the default solver does not take is refused when the configuration is read, not
    recorded as an error row per solve."""
    p = tmp_path / "typo.toml"
    p.write_text("[routing]\ntim_limit = 3\n")
    with pytest.raises(BenchError, match=r"typo\.toml: \[routing\] unknown routing parameter"):
        load_config(p, resolve_family("solomon"))
