"""Input at the edges: documents nested too deeply to decode, quantities and seeds past what the
solvers can take, and results rows with fields of the wrong type. Each was found by an audit of
the CLI and the HTTP API (an internal error, exit 1 or a 500, or a "successful" plan from input
the solver had refused); each is now exit 2 or a 4xx naming the file, line or field."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from api.cli import main
from optimizer.allocation.params import AllocationParams
from optimizer.limits import MAX_RUNS, MAX_SEED
from optimizer.risk.simulate import SimParams
from optimizer.routing.instance import RoutingError
from optimizer.routing.params import RoutingParams
from tests.api.conftest import auth

DEPTH = 100_000
DEEP_JSON = "[" * DEPTH + "]" * DEPTH
DEEP_YAML = "a: " + "[" * DEPTH + "]" * DEPTH + "\n"
TOO_DEEP = "nested too deeply"


@pytest.fixture
def planned(tmp_path: Path, data_dir: Path) -> Path:
    """A folder with the tiny scenario and its plan (``p/plan.json``)."""
    shutil.copy(data_dir / "tiny-my.json", tmp_path / "s.json")
    args = ["plan", str(tmp_path / "s.json"), "--out", str(tmp_path / "p"), "--quiet"]
    assert main([*args, "--no-map", "--time-limit", "10"]) == 0
    return tmp_path


def _exit_2_naming(args: list[str], words: list[str], capsys: pytest.CaptureFixture[str]) -> str:
    capsys.readouterr()
    assert main(args) == 2
    err = capsys.readouterr().err
    assert "internal error" not in err and "Traceback" not in err, err
    for w in words:
        assert w in err, (w, err)
    return err


@pytest.mark.parametrize("suffix", [".json", ".yaml"])
def test_a_scenario_nested_too_deeply_is_exit_2_naming_the_file(
    tmp_path: Path, suffix: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """The decoders raise RecursionError, which reached the CLI as an internal error (exit 1)."""
    f = tmp_path / f"deep{suffix}"
    f.write_text(DEEP_JSON if suffix == ".json" else DEEP_YAML)
    _exit_2_naming(["validate", str(f)], [f.name, TOO_DEEP], capsys)


def test_shock_and_plan_files_nested_too_deeply_are_exit_2(
    planned: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A shock file, a plan given to simulate and whatif, a plan given to route, and a
    results file given to bench report, each nested too deeply."""
    s, plan = str(planned / "s.json"), str(planned / "p")
    deep_shock = planned / "deep.yaml"
    deep_shock.write_text(DEEP_YAML)
    (planned / "deep").mkdir()
    (planned / "deep" / "plan.json").write_text(DEEP_JSON)
    out = str(planned / "out")
    whatif = ["whatif", s, "--out", out, "--time-limit", "10"]
    _exit_2_naming([*whatif, "--plan", plan, "--shock", str(deep_shock)], [TOO_DEEP], capsys)
    shock = planned / "shock.yaml"
    shock.write_text("name: x\nchanges:\n  - {lanes: {mode: sea}, cost_multiplier: 1.1}\n")
    deep_plan = str(planned / "deep")
    _exit_2_naming([*whatif, "--plan", deep_plan, "--shock", str(shock)], [TOO_DEEP], capsys)
    sim = ["simulate", deep_plan, "--scenario", s, "--runs", "10", "--out", out]
    _exit_2_naming(sim, [TOO_DEEP], capsys)
    route = ["route", "--plan", deep_plan, "--warehouse", "WH-PEN", "--day", "0"]
    _exit_2_naming([*route, "--time-limit", "1", "--out", out + ".json"], [TOO_DEEP], capsys)
    results = planned / "results.jsonl"
    results.write_text(DEEP_JSON + "\n")
    _exit_2_naming(["bench", "report", str(results)], ["results.jsonl", TOO_DEEP], capsys)
    assert not (planned / "out").exists()


def test_a_network_nested_too_deeply_is_400(client) -> None:
    """PUT /v1/networks with such YAML was a 500 ("internal error"); JSON likewise now says why."""
    for body, media in ((DEEP_YAML, "application/yaml"), (DEEP_JSON, "application/json")):
        r = client.put("/v1/networks/deep", content=body, headers={**auth(), "Content-Type": media})
        assert r.status_code == 400, (media, r.status_code, r.text[:200])
        assert TOO_DEEP in r.json()["detail"], r.text[:300]


@pytest.mark.parametrize(
    ("row", "field"),
    [
        ("SKU-A,WH-KUL,1e40,,", "on_hand"),
        ("SKU-A,WH-KUL,,1e13,24", "in_transit"),
        ("SKU-A,WH-KUL,,5,1e9", "arrives_in_hours"),
    ],
)
def test_inventory_past_the_units_and_hours_limits_is_exit_2_naming_line_and_field(
    planned: Path, row: str, field: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """1e40 units on hand were taken: HiGHS refused the model (MODEL_INVALID) and the naive
    plan was written, "feasible", at 2.19e39 USD. Units are capped as demand's are (1e12) and a
    shipment's hours at 1e5."""
    inv = planned / "inv.csv"
    inv.write_text("sku,warehouse,on_hand,in_transit,arrives_in_hours\n" + row + "\n")
    args = ["plan", str(planned / "s.json"), "--inventory", str(inv), "--out", str(planned / "x")]
    _exit_2_naming([*args, "--time-limit", "5"], ["inv.csv", "line 2", field], capsys)
    assert not (planned / "x").exists()


def test_seeds_and_runs_past_what_the_solvers_take_are_refused(
    planned: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A seed above 2**31 - 1 made HiGHS refuse its parameters and the plan fall back to the
    naive one (50,765 instead of the optimum 31,543) with exit 0; a huge --runs was a
    MemoryError (exit 1). The HTTP API already had both limits."""
    with pytest.raises(ValueError, match="seed"):
        AllocationParams(seed=MAX_SEED + 1)
    assert AllocationParams(seed=MAX_SEED).seed == MAX_SEED
    with pytest.raises(RoutingError, match="seed"):
        RoutingParams(seed=MAX_SEED + 1)
    with pytest.raises(ValueError, match="runs"):
        SimParams(runs=MAX_RUNS + 1)
    assert SimParams(runs=MAX_RUNS).runs == MAX_RUNS
    s, out = str(planned / "s.json"), str(planned / "x")
    _exit_2_naming(["plan", s, "--seed", str(MAX_SEED + 1), "--out", out], ["--seed"], capsys)
    sim = ["simulate", str(planned / "p"), "--runs", str(10**14), "--out", out]
    _exit_2_naming(sim, ["--runs", "1,000,000"], capsys)
    assert not (planned / "x").exists()


@pytest.mark.parametrize(
    ("change", "words"),
    [
        ({"status": None}, ["status", "not a string"]),
        ({"cost": "abc"}, ["cost", "not a number"]),
        ({"seconds": True}, ["seconds", "not a number"]),
        ({"feasible": "yes"}, ["feasible"]),
        ({"samples": [[1.0]]}, ["samples"]),
        ({"info": [1]}, ["info", "not an object"]),
    ],
)
def test_results_rows_with_fields_of_the_wrong_type_are_exit_2_naming_the_row(
    tmp_path: Path, change: dict[str, object], words: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    """``bench report`` on such a row was an internal error (TypeError, ValueError: exit 1)."""
    row = {
        "instance": "C101",
        "family": "solomon",
        "solver": "tradelane",
        "config": "default",
        "seed": 0,
        "time_limit": 1,
        "status": "ok",
        "cost": 828.94,
        "feasible": True,
        "seconds": 1.0,
    }
    good = tmp_path / "good.jsonl"
    good.write_text(json.dumps(row) + "\n")
    assert main(["bench", "report", str(good), "--out-dir", str(tmp_path / "r")]) == 0
    bad = tmp_path / "bad.jsonl"
    bad.write_text(json.dumps(row) + "\n" + json.dumps({**row, **change}) + "\n")
    _exit_2_naming(["bench", "report", str(bad)], ["bad.jsonl:2", *words], capsys)


@pytest.mark.parametrize("command", ["plan", "route", "bench"])
def test_an_infinite_time_limit_is_refused_as_nan_is(
    planned: Path, data_dir: Path, command: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """``--time-limit inf`` ran ``plan`` without a limit and gave ``bench`` an error row per
    solve (OverflowError in the model), while ``nan`` was refused: leaving the option out is
    how to ask for no limit."""
    out = str(planned / "x")
    solomon = str(data_dir / "vrp" / "C101.txt")
    args = {
        "plan": ["plan", str(planned / "s.json"), "--out", out],
        "route": ["route", solomon, "--out", out + ".json"],
        "bench": ["bench", "--family", "solomon", "--instances", str(data_dir / "vrp")],
    }[command]
    if command == "bench":
        args += ["--select", "C101", "--out", out + ".jsonl"]
    capsys.readouterr()
    if command == "bench":  # refused by the option's parser: argparse's exit 2
        with pytest.raises(SystemExit) as e:
            main([*args, "--time-limit", "inf"])
        assert e.value.code == 2
    else:
        assert main([*args, "--time-limit", "inf"]) == 2
    err = capsys.readouterr().err
    assert "--time-limit" in err and "inf" in err and "Traceback" not in err, err
    assert not list(planned.glob("x*"))


def test_a_demand_column_the_readers_drop_is_warned_of(
    tmp_path: Path, data_dir: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """Columns other than sku, zone and units were dropped without a word (an inventory CSV
    refuses unknown columns, unknown JSON keys are warned of): a ``units_2027`` column meant
    to count would have been ignored. The load warns, naming the file and the column."""
    doc = json.loads((data_dir / "tiny-my.json").read_text())
    doc.pop("demand")
    (tmp_path / "network.json").write_text(json.dumps(doc))
    csv = "sku,zone,units,units_2027\nSKU-A,Z-KUL,100,200\n"
    (tmp_path / "demand.csv").write_text(csv)
    with caplog.at_level("WARNING", logger="network.scenario"):
        assert main(["validate", str(tmp_path)]) == 0
    said = [r.getMessage() for r in caplog.records if r.name == "network.scenario"]
    assert any("demand.csv" in m and "'units_2027' ignored" in m for m in said), said
    caplog.clear()
    (tmp_path / "demand.csv").write_text("sku,zone,units\nSKU-A,Z-KUL,100\n")
    with caplog.at_level("WARNING", logger="network.scenario"):
        assert main(["validate", str(tmp_path)]) == 0
    assert not [r for r in caplog.records if r.name == "network.scenario"]


@pytest.mark.skipif(not Path("/proc").is_dir(), reason="needs a folder that takes no files")
def test_a_folder_that_takes_no_files_is_said_to_be_one(
    planned: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """``--out /proc/x`` said "cannot write in '/proc': No such file or directory", of a
    folder that exists (the system answers ENOENT there)."""
    args = ["plan", str(planned / "s.json"), "--out", "/proc/x", "--time-limit", "5"]
    err = _exit_2_naming(args, ["--out", "'/proc'", "no file can be created there"], capsys)
    assert "No such file" not in err


def test_a_capacity_near_the_float_limit_gives_no_numpy_warning(
    tmp_path: Path, data_dir: Path
) -> None:
    """``storage_m3: 1e308`` printed numpy's "overflow encountered in multiply" with its
    source line on stderr; such a capacity binds nothing and is read as none."""
    import warnings

    doc = json.loads((data_dir / "tiny-my.json").read_text())
    for n in doc["nodes"]:
        if n["id"] == "WH-KUL":
            n["storage_m3"] = 1e308
    f = tmp_path / "big.json"
    f.write_text(json.dumps(doc))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert main(["validate", str(f)]) == 0


HUGE = 10**400  # JSON writes integers of any size; Python reads them as int, past a float


@pytest.mark.parametrize(
    ("where", "words"),
    [
        ("demand", ["demand[0]", "units", "at most 1e+12"]),
        ("inventory", ["inventory", "on_hand"]),
        ("lat", ["nodes[0]", "lat"]),
    ],
)
def test_an_integer_past_a_float_in_a_scenario_is_exit_2_naming_it(
    tmp_path: Path, data_dir: Path, where: str, words: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    """``units: 1000…0`` (401 digits) stopped ``validate`` on an OverflowError ("internal
    error"); the message shows at most 60 characters of the number."""
    doc = json.loads((data_dir / "tiny-my-v11.json").read_text())
    if where == "demand":
        doc["demand"][0]["units"] = HUGE
    elif where == "inventory":
        doc["inventory"][0]["on_hand"] = HUGE
    else:
        doc["nodes"][0]["lat"] = HUGE
    f = tmp_path / "huge.json"
    f.write_text(json.dumps(doc))
    err = _exit_2_naming(["validate", str(f)], words, capsys)
    assert "0" * 61 not in err


def test_an_integer_past_a_float_in_a_shock_or_plan_is_exit_2_naming_it(
    planned: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A shock's multiplier and a plan's hours written as 401 digits: exit 2, not an
    OverflowError."""
    s, out = str(planned / "s.json"), str(planned / "out")
    whatif = ["whatif", s, "--out", out, "--time-limit", "10"]
    shock = planned / "shock.json"
    shock.write_text(
        json.dumps({"name": "x", "changes": [{"lanes": {"mode": "sea"}, "cost_multiplier": HUGE}]})
    )
    err = _exit_2_naming([*whatif, "--plan", str(planned / "p"), "--shock", str(shock)],
                         ["cost_multiplier"], capsys)  # fmt: skip
    assert "0" * 61 not in err
    shock.write_text(json.dumps({"name": "x", "changes": []}))
    doc = json.loads((planned / "p" / "plan.json").read_text())
    doc["fulfilment"][0]["hours"] = HUGE
    (planned / "q").mkdir()
    (planned / "q" / "plan.json").write_text(json.dumps(doc))
    _exit_2_naming([*whatif, "--plan", str(planned / "q"), "--shock", str(shock)],
                   ["fulfilment[0].hours", "float"], capsys)  # fmt: skip
    assert not (planned / "out").exists()


def test_a_json_demand_rows_key_the_readers_drop_is_warned_of(
    tmp_path: Path, data_dir: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """As a demand CSV's other columns are (above): ``units_2027`` in a JSON scenario's demand
    rows was dropped without a word."""
    doc = json.loads((data_dir / "tiny-my.json").read_text())
    doc["demand"][1]["units_2027"] = 5
    f = tmp_path / "s.json"
    f.write_text(json.dumps(doc))
    with caplog.at_level("WARNING", logger="network.scenario"):
        assert main(["validate", str(f)]) == 0
    assert [r.getMessage() for r in caplog.records if r.name == "network.scenario"] == [
        (
            "s.json: demand rows' key(s) 'units_2027' ignored: demand is read from sku, zone and "
            "units only"
        )
    ]
