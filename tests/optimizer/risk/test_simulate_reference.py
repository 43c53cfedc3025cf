"""The simulation's numbers against a short independent computation (numpy only)
of the model the module doc states: order-up-to S over round(H/R) review cycles, lognormal
demand with mean d·T and sd cv·d·√T, a cycle's stockout (D(L+R) − S)⁺ − (D(L) − S)⁺, and
with tonight's state a steady supply p per day taken off the demand (the cycle's stockout
then never below 0)."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from network.compile import compile_network
from network.scenario import parse_scenario
from optimizer.allocation.params import AllocationParams
from optimizer.plan.document import Plan
from optimizer.plan.planning import plan_scenario
from optimizer.risk.simulate import SimParams, simulate_plan

DATA = Path(__file__).resolve().parents[2] / "data"


def doc(*, state: bool, cv: float) -> dict[str, Any]:
    """tiny-my-v11 with fixed lane hours and demand CV ``cv``; with or without tonight's
    state (inventory, returns)."""
    d: dict[str, Any] = json.loads((DATA / "tiny-my-v11.json").read_text())
    if not state:
        d.pop("inventory", None)
        d.pop("returns", None)
    for ln in d["lanes"] + d["rate_cards"]:
        ln["time_cv"] = 0.0
    for k in d["skus"]:
        k["demand_cv"] = cv
    return d


def planned(d: dict[str, Any]) -> tuple[Any, Plan]:
    s = parse_scenario(d)
    data = compile_network(s)
    return data, plan_scenario(s, AllocationParams(time_limit=30), data=data).plan


def reference(d: dict[str, Any], plan: Plan, n: int, seed: int) -> dict[str, np.ndarray]:
    """Per-run stockouts and fill rates of ``n`` runs, from the plan document alone."""
    p = plan.to_json()
    H = float(d["horizon_days"])
    R = float(d["service"]["review_period_days"])
    cycles = max(1, round(H / R))
    cv = {k["id"]: float(k["demand_cv"]) for k in d["skus"]}
    whs = {x["id"] for x in d["nodes"] if x["kind"] == "warehouse"}
    out: dict[tuple[str, str], float] = {}
    direct = 0.0
    for r in p["fulfilment"]:
        if r["source"] in whs:
            out[(r["sku"], r["source"])] = out.get((r["sku"], r["source"]), 0.0) + r["units"]
        else:
            direct += r["units"]
    S = {(r["sku"], r["warehouse"]): float(r["units"]) for r in p["stock"]}
    new_in: dict[tuple[str, str], float] = {}
    lead: dict[tuple[str, str], float] = {}
    for r in p["replenishment"]:
        key = (r["sku"], r["warehouse"])
        new_in[key] = new_in.get(key, 0.0) + r["units"]
        assert lead.get(key, r["lead_time_hours"]) == r["lead_time_hours"]  # one lead time
        lead[key] = r["lead_time_hours"]
    with_state = bool(p.get("inventory") or p.get("transfers") or p.get("returns"))
    lost = float(p["service"]["units_lost"])
    rng = np.random.default_rng(seed)

    def lognormal(mean: float, sd: float, size: int) -> np.ndarray:
        if mean <= 0 or sd <= 0:
            return np.full(size, max(mean, 0.0))
        s2 = math.log(1.0 + (sd / mean) ** 2)
        return np.exp(math.log(mean) - s2 / 2 + math.sqrt(s2) * rng.standard_normal(size))

    short = np.zeros(n)
    dem = np.zeros(n)
    for key, units in out.items():
        rate = units / H
        pool = max(units - new_in.get(key, 0.0), 0.0) / H if with_state else 0.0
        L = lead.get(key, 0.0) / 24.0
        c = cv[key[0]]
        for _ in range(cycles):
            d_l = lognormal(rate * L, c * rate * math.sqrt(L), n)
            d_r = lognormal(rate * R, c * rate * math.sqrt(R), n)
            net_l = d_l - pool * L
            net = net_l + d_r - pool * R
            s_ = S.get(key, 0.0)
            short += np.maximum(np.maximum(net - s_, 0.0) - np.maximum(net_l - s_, 0.0), 0.0)
            dem += d_r
    scale = H / (cycles * R)
    short *= scale
    dem *= scale
    fill = 1.0 - (short + lost) / (dem + direct + lost)
    return {"stockout_units": short, "fill_rate": fill}


def _close(sim: np.ndarray, ref: np.ndarray) -> tuple[float, float]:
    """The difference of the two means and 4 standard errors of it."""
    se = math.sqrt(sim.var(ddof=1) / len(sim) + ref.var(ddof=1) / len(ref))
    return abs(float(sim.mean() - ref.mean())), 4.0 * se


@pytest.mark.parametrize("state", [False, True])
def test_stockouts_and_fill_rate_match_an_independent_computation(state: bool) -> None:
    """Mean stockouts and fill rate of 4,000 simulated runs agree with 100,000 runs of the
    stated model computed here from the plan document alone (within 4 standard errors), with
    and without tonight's state: the state's supply is taken off demand once, and the
    order-up-to levels are the plan's levels for new inbound (not raised by the lots)."""
    d = doc(state=state, cv=0.8)
    data, plan = planned(d)
    if state:
        assert plan.inventory and plan.transfers and plan.returns
    res = simulate_plan(data, plan, SimParams(runs=4000, seed=3))
    ref = reference(d, plan, 100_000, seed=11)
    assert ref["stockout_units"].mean() > 10.0  # the check has something to compare
    for key in ("stockout_units", "fill_rate"):
        diff, tol = _close(res.per_run[key], ref[key])
        assert diff <= tol, (key, float(res.per_run[key].mean()), float(ref[key].mean()))
    assert res.stockout_units.mean == pytest.approx(float(res.per_run["stockout_units"].mean()))
    assert res.fill_rate.mean == pytest.approx(float(res.per_run["fill_rate"].mean()))


def test_fill_rate_ci_covers_the_reference_mean_in_at_least_90_of_100_seeds() -> None:
    """The 95 % interval of fill_rate covers the model's expected per-run fill rate (from
    200,000 independent runs) in at least 90 of 100 seeded repeats of 300 runs."""
    d = doc(state=False, cv=0.8)
    data, plan = planned(d)
    ref = float(reference(d, plan, 200_000, seed=5)["fill_rate"].mean())
    assert 0.5 < ref < 0.999
    hits = 0
    for seed in range(100):
        iv = simulate_plan(data, plan, SimParams(runs=300, seed=seed, batch=300)).fill_rate
        hits += iv.lo <= ref <= iv.hi
    assert hits >= 90, hits


def test_seeds_move_every_random_figure_and_the_same_seed_repeats_them() -> None:
    """Same seed, runs and batch: identical documents; another seed: other stockouts, fill
    rate and cost (not only the on-time share)."""
    d = doc(state=True, cv=0.8)
    data, plan = planned(d)
    a, b, c = (
        simulate_plan(data, plan, SimParams(runs=200, seed=s, batch=50)).to_json()
        for s in (7, 7, 8)
    )
    for x in (a, b, c):
        x.pop("seconds")
    assert a == b
    for key in ("fill_rate", "stockout_units", "cost"):
        assert a[key]["mean"] != c[key]["mean"], key


def test_cost_per_run_is_the_plan_cost_with_the_runs_penalties() -> None:
    """Every run's cost is the plan's objective with its late penalty replaced by the
    penalty on the run's late units and the lost-sale penalty on its stockouts; the plan's
    cost is reported in the plan's own figures (its objective) and currency (sim.json used to
    give cost figures without saying in what)."""
    d = doc(state=True, cv=0.8)
    d["rate_cards"][0]["time_cv"] = 0.6
    d["service"]["promise_hours"] = 34.0
    d["service"]["min_on_time_share"] = 0.0
    data, plan = planned(d)
    res = simulate_plan(data, plan, SimParams(runs=500, seed=2))
    pj = plan.to_json()
    shipped = sum(r["units"] for r in pj["fulfilment"])
    late = shipped * (1.0 - res.per_run["on_time_share"])
    svc = d["service"]
    want = (
        pj["objective"]
        - pj["cost"]["late_penalty"]
        + svc["late_penalty_per_unit"] * late
        + svc["lost_sale_penalty_per_unit"] * res.per_run["stockout_units"]
    )
    assert 0.0 < float(late.mean()) < shipped  # some runs are late
    assert np.allclose(res.per_run["cost"], want, rtol=1e-12, atol=1e-6)
    assert res.plan_cost == pytest.approx(pj["objective"], rel=1e-12)
    # the cost figures are in the plan's (the scenario's) currency, and say so
    assert res.to_json()["currency"] == pj["currency"] == d["currency"]


def test_zero_demand_and_runs_below_two() -> None:
    """No demand: nothing shipped or lost, every share 1 with a collapsed interval, no
    stockouts, cost the plan's. One run is refused, naming ``runs``."""
    d = doc(state=False, cv=0.8)
    for row in d["demand"]:
        row["units"] = 0
    data, plan = planned(d)
    res = simulate_plan(data, plan, SimParams(runs=5, seed=0))
    for iv in (res.on_time_share, res.fill_rate):
        assert (iv.mean, iv.lo, iv.hi) == (1.0, 1.0, 1.0)
    assert res.stockout_units.p95 == 0.0
    assert res.cost.mean == res.plan_cost == plan.objective
    with pytest.raises(ValueError, match="runs=1"):
        SimParams(runs=1)


def test_continuous_review_is_the_limit_of_short_cycles() -> None:
    """``review_period_days: 0`` (continuous review, allowed by the format): the simulation
    used to draw the demand of a zero-day cycle, so warehouse demand vanished from the fill
    rate and no run could stock out; with 100 units lost to an unreachable zone the fill rate
    came out as 0.0 (every unit of demand "lost"), stockouts 0. Now a run's stockouts are
    D(H)·P(D(L) > S): the mean matches Σ d·H·P(D(L) > S) worked out here with the lognormal
    CDF, and the fill rate is 1 − (that + the 100 lost units) / demand."""
    from scipy import stats

    d: dict[str, Any] = json.loads((DATA / "tiny-my.json").read_text())
    d["service"]["review_period_days"] = 0.0
    d["service"]["min_on_time_share"] = 0.0
    d["nodes"].append({"id": "Z-FAR", "kind": "zone", "lat": 4.6, "lon": 118.0, "country": "MY"})
    d["demand"].append({"sku": "SKU-A", "zone": "Z-FAR", "units": 100})
    data, plan = planned(d)
    p = plan.to_json()
    assert p["service"]["units_lost"] == pytest.approx(100.0)
    res = simulate_plan(data, plan, SimParams(runs=2000, seed=1))
    H = float(d["horizon_days"])
    cv = {k["id"]: float(k["demand_cv"]) for k in d["skus"]}
    S = {(r["sku"], r["warehouse"]): float(r["units"]) for r in p["stock"]}
    want = 0.0
    for r in p["replenishment"]:
        key = (r["sku"], r["warehouse"])
        out = sum(f["units"] for f in p["fulfilment"] if (f["sku"], f["source"]) == key)
        L = r["lead_time_hours"] / 24.0
        s2 = math.log1p(cv[key[0]] ** 2 / L)
        mu = math.log(out / H * L) - s2 / 2
        want += out * float(stats.lognorm.sf(S[key], math.sqrt(s2), scale=math.exp(mu)))
    assert want > 20.0
    so = res.per_run["stockout_units"]
    assert abs(float(so.mean()) - want) <= 4 * float(so.std(ddof=1)) / math.sqrt(len(so))
    total = sum(r["units"] for r in d["demand"])
    assert res.fill_rate.mean == pytest.approx(1.0 - (want + 100.0) / total, abs=0.003)


def test_a_plan_with_tonights_state_never_stocks_out_a_negative_amount() -> None:
    """With tonight's state the net demand of a cycle (demand less the state's steady supply)
    can fall, and a cycle's ``(N(L+R) − S)⁺ − (N(L) − S)⁺`` then went negative: on
    tiny-my-v11 (demand CV 0.8) some runs had negative stockouts, a fill rate above 100 % and
    a cost below the plan's with no late unit. Every run now has stockouts ≥ 0, a fill rate
    ≤ 1 and a cost of at least the plan's cost without its late penalty."""
    d = doc(state=True, cv=0.8)
    data, plan = planned(d)
    assert plan.inventory and plan.transfers and plan.returns
    res = simulate_plan(data, plan, SimParams(runs=2000, seed=1))
    so = res.per_run["stockout_units"]
    assert so.max() > 0.0  # the runs do stock out
    assert so.min() >= 0.0
    assert res.stockout_units.p5 >= 0.0
    assert res.per_run["fill_rate"].max() <= 1.0 + 1e-12
    pj = plan.to_json()
    floor = pj["objective"] - pj["cost"]["late_penalty"]
    assert res.per_run["cost"].min() >= floor - 1e-6
