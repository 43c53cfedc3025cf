"""Monte-Carlo simulation of a plan (``optimizer.risk.simulate`` and ``tradelane simulate``)."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from api.cli import main
from network.compile import compile_network
from network.distribution import option_on_time
from network.scenario import parse_scenario
from optimizer.allocation.params import AllocationParams
from optimizer.plan.document import Plan
from optimizer.plan.planning import plan_scenario
from optimizer.risk.flows import plan_flows
from optimizer.risk.simulate import SimParams, simulate_plan

DATA = Path(__file__).resolve().parents[2] / "data"


def v11() -> dict[str, Any]:
    """The tiny Malaysian v1.1 document without tonight's state (inventory, returns): these
    tests are about lane-time risk, and the state keys now change the plan (issue 15)."""
    doc: dict[str, Any] = json.loads((DATA / "tiny-my-v11.json").read_text())
    doc.pop("inventory", None)
    doc.pop("returns", None)
    return doc


def deterministic(promise: float) -> dict[str, Any]:
    """tiny-my-v11 without lane randomness or demand variability, with a tight promise so
    that some flows are late, and no on-time target (the plan may be late)."""
    d = v11()
    for ln in d["lanes"] + d["rate_cards"]:
        ln["time_cv"] = 0.0
    for k in d["skus"]:
        k["demand_cv"] = 0.0
    d["service"]["promise_hours"] = promise
    d["service"]["min_on_time_share"] = 0.0
    del d["service"]["promise_probability"]
    return d


def risky() -> dict[str, Any]:
    """tiny-my-v11 with a volatile last mile (cv 1.0) and a 40-hour promise: on-time
    probabilities well inside (0, 1)."""
    d = v11()
    d["rate_cards"][0]["time_cv"] = 1.0
    d["service"]["promise_hours"] = 40.0
    d["service"]["min_on_time_share"] = 0.0
    del d["service"]["promise_probability"]
    return d


def _plan(doc: dict[str, Any]) -> tuple[Any, Plan]:
    s = parse_scenario(doc)
    data = compile_network(s)
    return data, plan_scenario(s, AllocationParams(time_limit=60), data=data).plan


def test_deterministic_plan_simulates_to_its_own_on_time_share() -> None:
    """All options deterministic: every run's on-time share equals the plan's own share of
    shipped units (some of them late), the CI collapses on it; no demand randomness means no
    stockouts and fill rate = 1 − planned lost / demand."""
    data, plan = _plan(deterministic(promise=40.0))
    on = sum(r.units for r in plan.fulfilment or () if r.on_time)
    shipped = sum(r.units for r in plan.fulfilment or ())
    assert 0 < on < shipped  # the tight promise makes some flows late
    res = simulate_plan(data, plan, SimParams(runs=50, seed=1))
    assert res.on_time_share.mean == pytest.approx(on / shipped, abs=1e-12)
    assert res.on_time_share.lo == pytest.approx(res.on_time_share.hi, abs=1e-12)
    assert res.plan_on_time_share == pytest.approx(on / shipped, abs=1e-12)
    assert res.stockout_units.p95 == pytest.approx(0.0, abs=1e-9)
    doc = plan.to_json()
    lost = doc["service"]["units_lost"]
    assert res.fill_rate.mean == pytest.approx(1.0 - lost / data.total_demand, abs=1e-9)
    late_cost = doc["service"]["units_late"] * data.service.late_penalty_per_unit
    assert doc["cost"]["late_penalty"] == pytest.approx(late_cost)
    assert res.cost.p50 == pytest.approx(doc["objective"], rel=1e-9)


def test_plan_from_tonights_stock_simulates_without_stockouts_when_nothing_varies() -> None:
    """The v1.1 plan with its inventory and returns (issue 15's state), nothing random: the
    order-up-to levels cover only what new inbound brings (most units come from tonight's
    lots, a transfer and resold returns), so a run must not stock out. The simulation used to
    play those small levels against every shipment: fill rate 1.5 %, cost seven times the
    plan's."""
    doc: dict[str, Any] = json.loads((DATA / "tiny-my-v11.json").read_text())
    for ln in doc["lanes"] + doc["rate_cards"]:
        ln["time_cv"] = 0.0
    for k in doc["skus"]:
        k["demand_cv"] = 0.0
    data, plan = _plan(doc)
    assert plan.inventory and plan.transfers  # the state is used
    shipped = sum(r.units for r in plan.fulfilment or () if r.source.startswith("WH-"))
    new_in = sum(r.units for r in plan.replenishment or ())
    assert new_in < 0.5 * shipped  # the levels are small next to the shipments
    res = simulate_plan(data, plan, SimParams(runs=50, seed=1))
    assert res.stockout_units.p95 == pytest.approx(0.0, abs=1e-6)
    lost = plan.to_json()["service"]["units_lost"]
    assert res.fill_rate.mean == pytest.approx(1.0 - lost / data.total_demand, abs=1e-9)
    assert res.cost.p50 == pytest.approx(plan.objective, rel=1e-9)


def _reference_share(data: Any, plan: Plan) -> float:
    """Σ units × P(on time) / Σ units from the options' exact distributions."""
    fl = plan_flows(data, plan)
    p = np.zeros(len(fl.f_opt))
    p[~fl.f_direct] = option_on_time(data.outbound, data, fl.f_opt[~fl.f_direct]).p
    p[fl.f_direct] = option_on_time(data.direct, data, fl.f_opt[fl.f_direct]).p
    return float(p @ fl.f_units / fl.f_units.sum())


def test_on_time_ci_covers_the_exact_value_in_93_of_100_seeds() -> None:
    """With random last-mile hours, the 95 % CI of on_time_share covers the exact expected
    share (from the options' distributions) in at least 93 of 100 seeded repeats."""
    data, plan = _plan(risky())
    ref = _reference_share(data, plan)
    assert 0.05 < ref < 0.95
    hits = 0
    for seed in range(100):
        r = simulate_plan(data, plan, SimParams(runs=400, seed=seed, batch=400))
        hits += r.on_time_share.lo <= ref <= r.on_time_share.hi
    assert hits >= 93


def test_simulation_is_seeded_and_reproducible() -> None:
    """The same seed gives the same numbers; another seed gives others."""
    data, plan = _plan(risky())
    a = simulate_plan(data, plan, SimParams(runs=300, seed=5, batch=100)).to_json()
    b = simulate_plan(data, plan, SimParams(runs=300, seed=5, batch=100)).to_json()
    c = simulate_plan(data, plan, SimParams(runs=300, seed=6, batch=100)).to_json()
    for d in (a, b, c):
        d.pop("seconds")
    assert a == b
    assert a["on_time_share"] != c["on_time_share"]


def test_demand_variability_causes_stockouts_that_the_cost_pays() -> None:
    """With demand_cv > 0 some runs stock out; every run's cost is the plan's cost plus the
    lost-sale penalty on its stockouts (late penalties unchanged: lanes are fixed)."""
    doc = deterministic(promise=72.0)
    for k in doc["skus"]:
        k["demand_cv"] = 0.8
    data, plan = _plan(doc)
    res = simulate_plan(data, plan, SimParams(runs=2000, seed=0))
    so = res.per_run["stockout_units"]
    assert so.max() > 0
    assert 0.5 < res.fill_rate.mean < 1.0
    pen = data.service.lost_sale_penalty_per_unit
    assert plan.objective is not None
    assert np.allclose(res.per_run["cost"], plan.objective + pen * so, rtol=1e-12)


def test_cli_simulate_writes_sim_json_and_png(tmp_path: Path) -> None:
    """`tradelane plan` then `tradelane simulate`: sim.json has the contract keys, sim.png is
    drawn; a folder without a plan exits with 2 naming it; bad --runs exits with 2."""
    src = tmp_path / "s.json"
    src.write_text(json.dumps(v11()))
    assert main(["plan", str(src), "--out", str(tmp_path / "p"), "--quiet", "--no-map"]) == 0
    assert (tmp_path / "p" / "scenario.json").is_file()
    out = tmp_path / "sim"
    assert main(["simulate", str(tmp_path / "p"), "--runs", "300", "--out", str(out)]) == 0
    doc = json.loads((out / "sim.json").read_text())
    for key in ("on_time_share", "fill_rate"):
        assert set(doc[key]) >= {"mean", "ci95"}
        assert doc[key]["ci95"][0] <= doc[key]["mean"] <= doc[key]["ci95"][1]
        assert set(doc["by_country"]["MY"][key]) == {"mean", "ci95"}
    assert set(doc["stockout_units"]) >= {"p5", "p50", "p95"}
    assert set(doc["cost"]) >= {"p5", "p50", "p95"}
    assert (out / "sim.png").stat().st_size > 1000
    assert main(["simulate", str(tmp_path), "--out", str(out)]) == 2
    assert main(["simulate", str(tmp_path / "p"), "--runs", "1", "--out", str(out)]) == 2
    bad = copy.deepcopy(json.loads((tmp_path / "p" / "plan.json").read_text()))
    bad["fulfilment"][0]["lanes"] = ["NO-SUCH-LANE"]
    (tmp_path / "p" / "plan.json").write_text(json.dumps(bad))
    assert main(["simulate", str(tmp_path / "p"), "--out", str(out)]) == 2


def test_share_intervals_stay_within_0_and_1() -> None:
    """A share near 100 % with a little spread: the normal interval would pass 1."""
    from optimizer.risk.simulate import Interval

    iv = Interval.of(np.r_[np.ones(98), 0.99, 0.995])
    assert iv.lo < iv.mean < 1.0 and iv.hi == 1.0
    assert Interval.of(np.r_[np.zeros(98), 0.01, 0.005]).lo == 0.0


def test_a_country_with_only_zero_demand_rows_simulates() -> None:
    """A forecast may list a zone with 0 units. Where that zone's country has no other demand
    and no flow, the simulation stopped with "ValueError: 'list' argument must have no
    negative elements" (``tradelane simulate``: an internal error, exit 1). The country is
    now left out of the figures, and the others are what they were."""
    d: dict[str, Any] = json.loads((DATA / "tiny-my.json").read_text())
    d["nodes"].append({"id": "Z-SIN", "kind": "zone", "lat": 1.29, "lon": 103.85, "country": "SG"})
    data0, plan0 = _plan(copy.deepcopy(d))
    d["demand"].append({"sku": "SKU-A", "zone": "Z-SIN", "units": 0})
    data, plan = _plan(d)
    res = simulate_plan(data, plan, SimParams(runs=200, seed=4))
    ref = simulate_plan(data0, plan0, SimParams(runs=200, seed=4))
    assert set(res.fill_by_country) == set(res.on_time_by_country) == {"MY"}
    assert res.fill_rate == ref.fill_rate and res.on_time_share == ref.on_time_share


class _Clock:
    """A stand-in for :mod:`time` in the simulation module: ``perf_counter`` reads ``now``,
    which the progress callback moves on by ``step`` seconds per batch."""

    def __init__(self, step: float) -> None:
        self.now, self.step = 0.0, step
        self.said: list[str] = []

    def perf_counter(self) -> float:
        return self.now

    def tick(self, phase: str, /, **_: Any) -> None:
        self.said.append(phase)
        self.now += self.step


def test_a_deadline_stops_after_whole_batches_that_end_in_time(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Batches of 100 runs taking 10 s each and a deadline at 35 s: the third batch ends at
    30 s, a fourth would end at 40 s, so 300 of the 1,000 runs are done; the figures are
    those of a simulation of 300 runs with the same seed (the first runs of one stream), and
    the document says so (status, runs, runs_requested); progress is told each batch."""
    import optimizer.risk.simulate as simulate

    data, plan = _plan(risky())
    clock = _Clock(step=10.0)
    monkeypatch.setattr(simulate, "time", clock)
    res = simulate_plan(
        data, plan, SimParams(runs=1000, seed=4, batch=100), deadline=35.0, progress=clock.tick
    )
    assert res.status == "time_limit" and res.runs == 300
    assert len(res.per_run["cost"]) == 300
    assert clock.said == [f"simulating: {n} of 1,000 runs" for n in (100, 200, 300)]
    monkeypatch.undo()
    same = simulate_plan(data, plan, SimParams(runs=300, seed=4, batch=100))
    assert same.status == "complete" and same.runs == 300
    a, b = res.to_json(), same.to_json()
    assert (a["status"], a["runs"], a["runs_requested"]) == ("time_limit", 300, 1000)
    assert (b["status"], b["runs"], b["runs_requested"]) == ("complete", 300, 300)
    for d in (a, b):
        for key in ("seconds", "status", "runs_requested"):
            d.pop(key)
    assert a == b


def test_a_deadline_already_past_still_runs_one_batch_and_one_in_time_runs_them_all() -> None:
    """A deadline before the start: one batch, never none (a figure over no run is none);
    a deadline far away: every run, status complete."""
    import time

    data, plan = _plan(risky())
    early = simulate_plan(
        data, plan, SimParams(runs=500, seed=2, batch=200), deadline=time.perf_counter() - 1
    )
    assert early.status == "time_limit" and early.runs == 200
    late = simulate_plan(
        data, plan, SimParams(runs=500, seed=2, batch=200), deadline=time.perf_counter() + 600
    )
    assert late.status == "complete" and late.runs == 500
    assert late.to_json()["runs"] == late.to_json()["runs_requested"] == 500


def test_cli_simulate_time_limit(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """`tradelane simulate --time-limit`: a limit shorter than the simulation's floor exits
    with 2 naming the shortest; with the floor at 0 (to reach the stop on a tiny plan), a
    limit the plan and the writing already take stops the runs after the first batch of
    1,000 (exit 0, sim.json and the summary say so); a limit that is not a positive number
    of seconds exits with 2 naming the option."""
    import optimizer.risk.simulate as simulate

    src = tmp_path / "s.json"
    src.write_text(json.dumps(v11()))
    assert main(["plan", str(src), "--out", str(tmp_path / "p"), "--quiet", "--no-map"]) == 0
    out = tmp_path / "sim"
    capsys.readouterr()
    args = ["simulate", str(tmp_path / "p"), "--runs", "3000", "--out", str(out), "--no-plot"]
    assert main([*args, "--time-limit", "1"]) == 2
    err = capsys.readouterr().err
    assert "--time-limit" in err and "too short for a simulation" in err and "about 3 s" in err
    assert not out.exists()
    monkeypatch.setattr(simulate, "SIMULATE_FIXED_S", 0.0)
    assert main([*args, "--time-limit", "0.001"]) == 0
    doc = json.loads((out / "sim.json").read_text())
    assert (doc["status"], doc["runs"], doc["runs_requested"]) == ("time_limit", 1000, 3000)
    said = capsys.readouterr().out
    assert "stopped at the time limit after 1,000 of 3,000 runs" in said
    assert main([*args, "--time-limit", "60"]) == 0
    doc = json.loads((out / "sim.json").read_text())
    assert (doc["status"], doc["runs"], doc["runs_requested"]) == ("complete", 3000, 3000)
    for bad in ("0", "-5", "nan", "inf"):
        capsys.readouterr()
        assert main([*args, "--time-limit", bad]) == 2
        assert "--time-limit" in capsys.readouterr().err


def test_a_plan_too_large_for_a_batch_gets_smaller_batches(monkeypatch: pytest.MonkeyPatch) -> None:
    """Batches hold at most MAX_BATCH_CELLS values per array (runs × the plan's stock pairs
    or options): batches of 1,000 runs of a tier-L plan's 200,000 pairs ran out of memory.
    With the cap below 1,000 runs of this plan, the batch is cut to fit, the document says
    the batch used, and the figures are those of that batch asked for."""
    import optimizer.risk.simulate as simulate

    data, plan = _plan(risky())
    whole = simulate_plan(data, plan, SimParams(runs=300, seed=9)).to_json()
    assert whole["batch"] == 1000
    monkeypatch.setattr(simulate, "MAX_BATCH_CELLS", 200)
    cut = simulate_plan(data, plan, SimParams(runs=300, seed=9)).to_json()
    monkeypatch.undo()
    assert 1 <= cut["batch"] < 200
    same = simulate_plan(data, plan, SimParams(runs=300, seed=9, batch=cut["batch"])).to_json()
    for d in (cut, same):
        d.pop("seconds")
    assert cut == same and cut["runs"] == 300 and cut["status"] == "complete"


def test_the_shortest_simulation_limit_grows_with_the_plans_rows() -> None:
    """The floor is a fixed part plus a part per plan row (tier L's 1.1 million rows: about
    32 s, where 24-25 s were measured); a shorter limit names it, a longer one passes."""
    from optimizer.exceptions import TimeLimitError
    from optimizer.risk.simulate import check_simulate_limit, shortest_simulate_limit

    assert shortest_simulate_limit(0) == pytest.approx(2.0)
    assert 25.0 < shortest_simulate_limit(1_100_433) < 35.0
    check_simulate_limit(40.0, 1_100_433)
    check_simulate_limit(float("inf"), 10**9)
    with pytest.raises(TimeLimitError, match="1,100,433 rows") as e:
        check_simulate_limit(20.0, 1_100_433)
    assert e.value.shortest_s == 32.0
