"""Tests of plan_scenario, the plan writer, parameters and the ``tradelane plan`` CLI."""

from __future__ import annotations

import concurrent.futures
import json
import shutil
import time
from datetime import timedelta
from pathlib import Path

import pytest

from api.cli import main
from network.compile import compile_network
from network.scenario import load_scenario
from optimizer.allocation.params import AllocationParams
from optimizer.allocation.result import SolveStats
from optimizer.plan.io import write_plan
from optimizer.plan.planning import plan_scenario
from tests.helpers import ALLOC, read

CONTRACT_KEYS = {
    "scenario",
    "status",
    "objective",
    "bound",
    "gap",
    "solve_seconds",
    "cost",
    "service",
    "warehouses",
    "stock",
    "replenishment",
    "fulfilment",
    # DESIGN §10 (format v1.1), empty lists without tonight's state
    "transfers",
    "orders",
    "returns",
}
COST_KEYS = {
    "fixed",
    "inbound",
    "duty",
    "holding",
    "handling",
    "outbound",
    "direct",
    "late_penalty",
    "lost_sale_penalty",
    # DESIGN §10: zero when unused
    "transfer",
    "returns",
    "stability",
}


def test_plan_document_has_every_contract_key(tmp_path: Path) -> None:
    """plan.json carries every DESIGN §7 key with the documented sub-keys, and the objective
    equals the sum of the cost terms."""
    s, _ = read("holding_one_wh")
    out = plan_scenario(s)
    p = out.plan.to_json()
    assert set(p) >= CONTRACT_KEYS
    assert set(p["cost"]) == COST_KEYS
    assert {"on_time_share", "units_on_time", "units_late", "units_lost", "by_country"} <= set(
        p["service"]
    )
    assert {"id", "open", "storage_used_m3", "throughput_used_per_day"} <= set(p["warehouses"][0])
    assert {"sku", "warehouse", "lanes", "units"} <= set(p["replenishment"][0])
    assert {"sku", "zone", "source", "lanes", "units", "hours", "on_time"} <= set(
        p["fulfilment"][0]
    )
    assert p["objective"] == pytest.approx(sum(p["cost"].values()), rel=1e-12)
    files = write_plan(out, tmp_path)
    again = json.loads(files["plan"].read_text())
    assert again["objective"] == p["objective"]
    gj = json.loads(files["geojson"].read_text())
    kinds = {f["geometry"]["type"] for f in gj["features"]}
    assert kinds == {"Point", "LineString"}
    assert files["map"].stat().st_size > 1000


def test_a_large_plan_is_streamed_compact_and_whole(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Above ``PRETTY_MAX_ROWS`` rows plan.json is written compact, a chunk of rows at a time,
    through a temporary file: the same document as a small plan's indented one, no part file
    left beside it, and a plan.json already there is replaced."""
    import optimizer.plan.io as plan_io

    s, _ = read("holding_one_wh")
    out = plan_scenario(s, AllocationParams(time_limit=30, baseline="naive"))
    small = write_plan(out, tmp_path / "small", draw_map=False)["plan"].read_text()
    assert small.startswith("{\n")  # indented
    monkeypatch.setattr(plan_io, "PRETTY_MAX_ROWS", 0)
    big_dir = tmp_path / "big"
    big_dir.mkdir()
    (big_dir / "plan.json").write_text("last night's")
    big = write_plan(out, big_dir, draw_map=False)["plan"].read_text()
    assert big == json.dumps(out.plan.to_json(), allow_nan=False) + "\n"
    assert json.loads(big) == json.loads(small)
    assert sorted(p.name for p in big_dir.iterdir() if p.name.startswith(".")) == []


def _run_in_child(path: str) -> float:
    s = load_scenario(path)
    return plan_scenario(s, AllocationParams(time_limit=30)).plan.to_json()["objective"]


def test_plan_scenario_runs_in_a_separate_process() -> None:
    """plan_scenario works in a worker process (the service and nightly job use one)."""
    with concurrent.futures.ProcessPoolExecutor(max_workers=1) as ex:
        obj = ex.submit(_run_in_child, str(ALLOC / "two_wh.json")).result(timeout=120)
    assert obj == pytest.approx(750.0)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"time_limit": -1}, "time_limit < 0"),  # negative limit
        ({"relative_gap": 1.5}, "relative_gap"),  # gap out of [0, 1)
        ({"threads": 0}, "threads"),  # no threads
        ({"solver": "gurobi"}, "solver"),  # not bundled
        ({"seed": -3}, "seed"),  # negative seed
        ({"strategy": "magic"}, "strategy"),  # unknown strategy
    ],
)
def test_params_validate_themselves(kwargs: dict, match: str) -> None:
    """Bad parameters raise ValueError naming the parameter."""
    with pytest.raises(ValueError, match=match):
        AllocationParams(**kwargs)


def test_params_from_toml_and_timedelta(tmp_path: Path) -> None:
    """TOML configs load (top level or [allocation]); unknown keys are named; timedelta works."""
    f = tmp_path / "a.toml"
    f.write_text("[allocation]\ntime_limit = 12.5\nsolver = 'scip'\n")
    p = AllocationParams.from_toml(f)
    assert (p.time_limit_s, p.solver) == (12.5, "scip")
    f.write_text("time_limit = 3\nbogus = 1\n")
    with pytest.raises(ValueError, match="bogus"):
        AllocationParams.from_toml(f)
    assert AllocationParams(time_limit=timedelta(minutes=2)).time_limit_s == 120.0


def test_cli_plan_writes_files_and_summary(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """``tradelane plan`` exits 0, writes the four files and prints a summary with the naive
    comparison; report.html is self-contained and shows the baseline."""
    out = tmp_path / "o"
    code = main(
        [
            "plan",
            str(ALLOC / "two_wh.json"),
            "--out",
            str(out),
            "--baseline",
            "naive",
            "--seed",
            "3",
            "--time-limit",
            "30",
            "--quiet",
        ]
    )
    assert code == 0
    assert {p.name for p in out.iterdir()} == {
        "plan.json",
        "plan.geojson",
        "map.png",
        "report.html",
        "scenario.json",
        "orders.csv",
        "transfers.csv",
    }
    report = (out / "report.html").read_text()
    assert "data:image/png;base64," in report and "Against the naive planner" in report
    assert "<script" not in report and 'src="http' not in report and "href=" not in report
    plan = json.loads((out / "plan.json").read_text())
    assert plan["seed"] == 3 and plan["objective"] == pytest.approx(750.0)
    text = capsys.readouterr().out
    assert "total cost 750.00" in text and "naive planner" in text


def test_cli_plan_directory_scenario(tmp_path: Path, data_dir: Path) -> None:
    """A directory scenario (network.json + demand.csv) plans too."""
    d = tmp_path / "scn"
    d.mkdir()
    doc = json.loads((ALLOC / "two_wh.json").read_text())
    dem = doc.pop("demand")
    (d / "network.json").write_text(json.dumps(doc))
    (d / "demand.csv").write_text(
        "sku,zone,units\n" + "".join(f"{r['sku']},{r['zone']},{r['units']}\n" for r in dem)
    )
    assert main(["plan", str(d), "--out", str(tmp_path / "o"), "--no-map", "--quiet"]) == 0


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--time-limit", "-5"], "--time-limit"),  # negative limit
        (["--gap", "2"], "--gap"),  # gap out of range
        (["--threads", "0"], "--threads"),  # zero threads
        (["--config", "missing.toml"], "--config"),  # unreadable config
    ],
)
def test_cli_bad_input_exits_2(
    tmp_path: Path, argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """Bad flags exit with code 2 and an error line naming the flag, no traceback."""
    code = main(["plan", str(ALLOC / "two_wh.json"), "--out", str(tmp_path / "o"), *argv])
    err = capsys.readouterr().err
    assert code == 2
    assert message in err and "Traceback" not in err


def test_cli_bad_scenario_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A scenario with a broken reference exits 2 naming the item."""
    doc = json.loads((ALLOC / "two_wh.json").read_text())
    doc["demand"].append({"sku": "GHOST", "zone": "Z1", "units": 3})
    f = tmp_path / "bad.json"
    f.write_text(json.dumps(doc))
    assert main(["plan", str(f), "--out", str(tmp_path / "o")]) == 2
    assert "GHOST" in capsys.readouterr().err


def test_tiny_my_fixture_plans(data_dir: Path, tmp_path: Path) -> None:
    """The shared tiny scenario plans to a feasible, evaluated plan."""
    shutil.copy(data_dir / "tiny-my.json", tmp_path / "t.json")
    out = plan_scenario(load_scenario(tmp_path / "t.json"), AllocationParams(baseline="naive"))
    assert out.evaluation is not None and out.evaluation.feasible
    assert out.plan.to_json()["baseline"]["objective"] >= out.plan.to_json()["objective"] - 1e-6


def test_auto_strategy_decomposes_only_with_several_skus(monkeypatch: pytest.MonkeyPatch) -> None:
    """Above the column threshold ``auto`` decomposes a multi-SKU scenario (the aggregate is
    over SKUs) but solves a one-SKU scenario monolithically (Lagrangian incumbent path)."""
    import numpy as np

    import optimizer.plan.planning as planning
    from network.scenario import parse_scenario
    from tests.helpers import random_doc

    monkeypatch.setattr(planning, "AUTO_DECOMPOSE_COLUMNS", 0)
    for n_sku, want in ((1, "monolithic"), (3, "decompose")):
        doc = random_doc(np.random.default_rng(5), n_wh=3, n_zone=3, n_sku=n_sku)
        out = plan_scenario(parse_scenario(doc), AllocationParams(time_limit=30))
        assert out.plan.to_json()["strategy"] == want
        assert out.plan.to_json()["status"] in ("optimal", "feasible")


def test_stats_that_were_never_reached_are_written_as_null(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A bound phase given no time leaves ``inf``/``nan`` figures in the solver's stats;
    plan.json (strict JSON) carries them as null instead of failing to write."""
    import dataclasses

    import optimizer.plan.planning as planning

    real = planning.solve_allocation

    def with_open_figures(*a, **kw):
        res = real(*a, **kw)
        return dataclasses.replace(
            res,
            stats=SolveStats.from_mapping(
                {
                    **res.stats.to_json(),
                    "lagrange_first": float("nan"),
                    "capacity_bound": float("-inf"),
                }
            ),
        )

    monkeypatch.setattr(planning, "solve_allocation", with_open_figures)
    s, _ = read("holding_one_wh")
    out = plan_scenario(s)
    assert out.plan.to_json()["stats"]["lagrange_first"] is None
    assert out.plan.to_json()["stats"]["capacity_bound"] is None
    files = write_plan(out, tmp_path)
    assert json.loads(files["plan"].read_text())["stats"]["capacity_bound"] is None


def test_no_plan_in_time_writes_the_naive_floor_and_says_so(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """When the solver stops before a first plan (cut off by its deadline), plan.json still
    holds a plan, the naive planner's, and it and the summary say that the time limit was
    too short; the status is honest (``time_limit`` when the evaluator finds a broken rule)."""
    import optimizer.plan.planning as planning
    from optimizer.allocation.result import AllocationResult, Status
    from optimizer.plan.evaluate import evaluate

    def nothing(data, params=None, *, columns=None, deadline, **_kw):
        time.sleep(max(0.0, deadline - time.perf_counter()))  # the deadline cuts it off
        return AllocationResult(
            status=Status.NO_SOLUTION,
            objective=float("nan"),
            bound=float("-inf"),
            runtime_s=0.0,
            cost={},
            columns=columns,
            solution=None,
            stats=SolveStats(),
            notes=(),
        )

    monkeypatch.setattr(planning, "solve_allocation", nothing)
    s, _ = read("holding_one_wh")
    out = plan_scenario(s, AllocationParams(time_limit=3))
    plan = out.plan.to_json()
    assert plan["objective"] is not None and plan["fulfilment"]
    assert plan["strategy"] == "naive" and plan["stats"]["fallback"] == "naive"
    ev = evaluate(compile_network(s), out.plan)
    assert ev.total == pytest.approx(plan["objective"], rel=1e-9)
    assert plan["status"] == ("feasible" if ev.feasible else "time_limit")
    assert plan["bound"] is None and plan["gap"] is None
    assert any("time limit of 3 s" in n and "naive" in n for n in plan["notes"])
    write_plan(out, tmp_path)
    assert json.loads((tmp_path / "plan.json").read_text())["objective"] == plan["objective"]
    from api.commands.plan import summary

    text = summary(out.plan, tmp_path)
    assert "total cost" in text and "--time-limit" in text


@pytest.mark.parametrize("bound", [50_000.0, 5_000.0])
def test_an_early_stop_without_a_plan_gives_an_honest_naive_floor(
    bound: float, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A solver that stops long before the limit with no plan (seed 2941's chain once did,
    after 0.1 s of 60): the naive floor keeps the solver's bound (not clipped to the naive
    plan's cost, which is no upper bound when the plan breaks a rule), claims no gap, and its
    note says the solver found no feasible plan instead of asking for more time."""
    import numpy as np

    import optimizer.plan.planning as planning
    from network.scenario import parse_scenario
    from optimizer.allocation.result import AllocationResult, Status
    from tests.helpers import random_doc

    def no_plan(data, params=None, *, columns=None, **_kw):
        return AllocationResult(
            status=Status.NO_SOLUTION,
            objective=float("nan"),
            bound=bound,
            runtime_s=0.0,
            cost={},
            columns=columns,
            solution=None,
            stats=SolveStats(),
            notes=("the exact model found no plan",),
        )

    monkeypatch.setattr(planning, "solve_allocation", no_plan)
    # its naive plan overflows warehouse W1's 0.54 m3 of storage
    s = parse_scenario(random_doc(np.random.default_rng(2941), n_sku=2))
    t0 = time.perf_counter()
    plan = plan_scenario(s, AllocationParams(time_limit=60, strategy="monolithic")).plan.to_json()
    assert time.perf_counter() - t0 < 30.0
    assert plan["strategy"] == "naive" and not plan["evaluation"]["feasible"]
    assert plan["status"] == "time_limit"
    assert plan["bound"] == pytest.approx(bound) and plan["gap"] is None
    floor = [n for n in plan["notes"] if "naive planner's plan" in n]
    assert len(floor) == 1
    assert "the solver found no feasible plan" in floor[0] and "of the 60-s time limit" in floor[0]
    assert "--time-limit" not in floor[0] and "within the time limit" not in floor[0]


def test_a_deadline_already_spent_writes_the_floor_within_the_limit() -> None:
    """A limit spent before the solve starts (``started`` in the past) skips the solver: the
    naive plan is returned at once, and says so."""

    s, _ = read("holding_one_wh")
    t0 = time.perf_counter()
    out = plan_scenario(s, AllocationParams(time_limit=1.0), started=t0 - 5.0)
    assert time.perf_counter() - t0 < 5.0
    assert out.plan.to_json()["objective"] is not None and out.plan.to_json()["strategy"] == "naive"
    assert any("time limit of 1 s" in n for n in out.plan.to_json()["notes"])


def test_cli_short_limit_writes_a_plan(tmp_path: Path) -> None:
    """``tradelane plan --time-limit`` with a limit too short to solve still writes a plan."""
    code = main(
        [
            "plan",
            str(ALLOC.parent / "tiny-my.json"),
            "--out",
            str(tmp_path),
            "--time-limit",
            "0.01",
            "--no-map",
            "--quiet",
        ]
    )
    assert code == 0
    plan = json.loads((tmp_path / "plan.json").read_text())
    assert plan["objective"] is not None and plan["fulfilment"]
    assert plan["stats"]["peak_rss_mb"] > 0
    assert any("time limit of 0.01 s" in n for n in plan["notes"])


def test_tight_limit_leaves_the_map_out_and_says_so(tmp_path: Path) -> None:
    """Under a limit whose share the map would take is too big (:func:`map_fits`), the CLI
    writes no map.png (last run's is removed, not left beside the new plan), report.html and
    plan.json are written, and the notes say why; with a roomy limit the map is drawn."""
    from optimizer.plan.planning import MAP_LIMIT_SHARE, MAP_SECONDS, map_fits

    tight = 0.9 * MAP_SECONDS / MAP_LIMIT_SHARE
    assert not map_fits(tight) and map_fits(MAP_SECONDS / MAP_LIMIT_SHARE)
    (tmp_path / "map.png").write_bytes(b"stale")
    args = ["plan", str(ALLOC / "holding_one_wh.json"), "--out", str(tmp_path), "--quiet"]
    assert main([*args, "--time-limit", f"{tight:g}"]) == 0
    plan = json.loads((tmp_path / "plan.json").read_text())
    assert plan["objective"] is not None
    assert not (tmp_path / "map.png").exists() and (tmp_path / "report.html").exists()
    assert any(n.startswith("map.png not drawn") for n in plan["notes"])
    assert main([*args, "--time-limit", "60"]) == 0
    plan = json.loads((tmp_path / "plan.json").read_text())
    assert (tmp_path / "map.png").stat().st_size > 1000
    assert not any("map.png" in n for n in plan["notes"])


def test_writer_leaves_the_map_out_past_its_deadline(tmp_path: Path) -> None:
    """write_plan with a deadline closer than the map's seconds draws no map and notes it in
    plan.json; without a deadline it draws one."""

    out = plan_scenario(read("holding_one_wh")[0])
    files = write_plan(out, tmp_path, deadline=time.perf_counter() + 0.1)
    assert "map" not in files and not (tmp_path / "map.png").exists()
    notes = json.loads(files["plan"].read_text())["notes"]
    assert any(n.startswith("map.png not drawn") and "time limit" in n for n in notes)


def test_cli_limit_counts_from_the_process_start() -> None:
    """Run as the command, the time limit starts with the process (interpreter start and
    imports count), not when ``main`` is reached."""
    import subprocess
    import sys

    code = (
        "import time; time.sleep(0.6)\n"
        "from api.cli import process_started\n"
        "print(time.perf_counter() - process_started())\n"
    )
    t0 = time.perf_counter()
    age = float(
        subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, check=True
        ).stdout
    )
    # no older than the time since it was launched (to the clock tick): a start time taken
    # from a boot time rounded to the second made it up to a second older
    assert 0.6 <= age <= time.perf_counter() - t0 + 0.02


def test_machine_slowdown_follows_the_load_average(monkeypatch: pytest.MonkeyPatch) -> None:
    """The block path's output reserve is scaled by the load average per CPU (at least 1)."""
    import os

    from optimizer.plan.planning import machine_slowdown

    monkeypatch.setattr(os, "cpu_count", lambda: 2)
    monkeypatch.setattr(os, "getloadavg", lambda: (8.0, 1.0, 1.0))
    assert machine_slowdown() == pytest.approx(4.0)
    monkeypatch.setattr(os, "getloadavg", lambda: (0.5, 1.0, 1.0))
    assert machine_slowdown() == 1.0


def test_plan_stats_time_each_phase() -> None:
    """plan.json's stats time the phases around the solve: the seconds before the call (counted
    from ``started``), the columns and naive plan, the document, the evaluator and the
    diagnosis (and the naive baseline's summary when asked for)."""
    s, _ = read("two_wh")
    t0 = time.perf_counter()
    out = plan_scenario(s, AllocationParams(baseline="naive"), started=t0 - 2.0)
    st = out.plan.to_json()["stats"]
    phases = ("prepare_s", "document_s", "evaluate_s", "diagnose_s", "baseline_s")
    assert all(0.0 <= st[k] < time.perf_counter() - t0 for k in phases), st
    assert 2.0 <= st["start_s"] < 2.0 + (time.perf_counter() - t0)


def test_warehouse_rows_report_the_capacities_the_scenario_states() -> None:
    """tiny-my's warehouses state 5,000 and 3,000 units a day, more than the whole demand can
    use: the compiled network makes them unlimited for the solver, but the plan must report
    them as stated, not as null (unlimited)."""
    s = load_scenario(Path(__file__).resolve().parents[2] / "data" / "tiny-my.json")
    data = compile_network(s)
    assert not (data.wh_throughput_per_day < float("inf")).any()  # loose for the solver
    plan = plan_scenario(s, AllocationParams(time_limit=30)).plan
    thr = {w.id: w.throughput_units_per_day for w in plan.warehouses or ()}
    stated = {n.id: n.throughput_units_per_day for n in s.nodes if n.kind == "warehouse"}
    assert thr == stated and thr["WH-KUL"] == 5000.0
    doc = plan.to_json()
    assert {w["id"]: w["throughput_units_per_day"] for w in doc["warehouses"]} == stated


@pytest.mark.parametrize("previous", [False, True])
def test_a_state_model_too_large_for_memory_is_not_built(
    previous: bool, monkeypatch: pytest.MonkeyPatch, data_dir: Path
) -> None:
    """Tonight's state (and a previous plan) is solved by one LP over every option: on a
    tier-L catalogue 18 million columns, about 26 GB, and the process was killed for its
    memory. Where the LP would take more than its share of the memory available, no solve
    is started: the naive floor is the plan, feasible by the evaluator, and its notes say
    why (the columns, the memory), not that the time limit or the solver failed."""
    import optimizer.plan.planning as planning
    from network.scenario import parse_scenario
    from optimizer.plan.evaluate import evaluate
    from optimizer.plan.state import attach_previous

    s = parse_scenario(json.loads((data_dir / "tiny-my-v11.json").read_text()))
    prev = plan_scenario(s, AllocationParams(time_limit=30)).plan if previous else None
    normal = plan_scenario(s, AllocationParams(time_limit=30), previous=prev).plan.to_json()
    assert not any("columns, about" in n for n in normal["notes"])

    def never(*_a: object, **_kw: object) -> None:
        raise AssertionError("a solve was started")

    monkeypatch.setattr(planning, "available_memory", lambda: 1000.0)
    monkeypatch.setattr(planning, "_solve", never)
    monkeypatch.setattr(planning, "solve_allocation", never)
    out = plan_scenario(s, AllocationParams(time_limit=30), previous=prev)
    plan = out.plan.to_json()
    assert plan["strategy"] == "naive" and plan["stats"]["fallback"] == "naive"
    data = compile_network(s)
    ev = evaluate(data if prev is None else attach_previous(data, prev), out.plan)
    assert ev.total == pytest.approx(plan["objective"], rel=1e-9)
    assert plan["status"] == ("feasible" if ev.feasible else "time_limit")
    notes = " ".join(plan["notes"])
    assert "columns, about" in notes and "GB of memory available" in notes
    assert "too large to solve in this machine's memory" in notes
    assert "time limit" not in notes and "rejected" not in notes
    assert plan["objective"] >= normal["objective"] - 1e-6 * abs(normal["objective"])


def test_without_state_a_model_too_large_skips_only_the_floors_reoptimisation(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Without tonight's state the solve itself runs (the decomposition builds no LP over
    every column); when it finds no plan, the floor's re-optimisation of flows on the naive
    plan's warehouses, one LP over every column, is skipped where it would not fit in
    memory, and the notes say so; the floor's own note keeps its usual reason."""
    import optimizer.plan.planning as planning
    from optimizer.allocation.result import AllocationResult

    calls: list[bool] = []

    def no_plan(data, params=None, *, columns=None, y_fixed=None, **_kw):
        calls.append(y_fixed is not None)
        return AllocationResult.no_solution(columns, bound=float("-inf"), runtime_s=0.0)

    monkeypatch.setattr(planning, "solve_allocation", no_plan)
    monkeypatch.setattr(planning, "available_memory", lambda: 1000.0)
    s, _ = read("holding_one_wh")
    plan = plan_scenario(s, AllocationParams(time_limit=30, strategy="monolithic")).plan
    doc = plan.to_json()
    assert calls == [False]  # the solve ran; no fixed-warehouse LP after it
    assert doc["strategy"] == "naive"
    notes = " ".join(doc["notes"])
    assert "flows not re-optimised on the naive plan's warehouses" in notes
    assert "columns, about" in notes and "too large to solve" not in notes
    assert "the solver found no feasible plan" in notes


def test_a_containers_memory_limit_counts_as_the_memory_available(tmp_path: Path) -> None:
    """In a container psutil sees the host's memory; the memory cgroup's limit less its usage
    is what the process may still take (cgroup v2, else v1; no limit: inf)."""
    from optimizer.plan.planning import available_memory, cgroup_headroom

    assert cgroup_headroom(str(tmp_path)) == float("inf")  # nothing to read
    (tmp_path / "memory.max").write_text("8000000000\n")
    (tmp_path / "memory.current").write_text("3000000000\n")
    assert cgroup_headroom(str(tmp_path)) == 5e9
    (tmp_path / "memory.max").write_text("max\n")
    assert cgroup_headroom(str(tmp_path)) == float("inf")
    v1 = tmp_path / "v1"
    (v1 / "memory").mkdir(parents=True)
    (v1 / "memory" / "memory.limit_in_bytes").write_text("4000000000\n")
    (v1 / "memory" / "memory.usage_in_bytes").write_text("1000000000\n")
    assert cgroup_headroom(str(v1)) == 3e9
    (v1 / "memory" / "memory.limit_in_bytes").write_text("9223372036854771712\n")
    assert cgroup_headroom(str(v1)) == float("inf")
    # this machine: a finite figure, at most the host's
    import psutil

    assert 0 < available_memory() <= psutil.virtual_memory().total
