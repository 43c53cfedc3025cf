"""Random lane hours: the sum-of-lognormals CDF, chance-constrained options and the format."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from network.compile import compile_network
from network.distribution import (
    lognormal_params,
    on_time_mask,
    option_on_time,
    sample_lognormal,
    sum_cdf,
)
from network.scenario import ScenarioError, parse_scenario
from optimizer.allocation.params import AllocationParams
from optimizer.plan.document import Plan
from optimizer.plan.evaluate import evaluate
from optimizer.plan.planning import plan_scenario

DATA = Path(__file__).resolve().parents[2] / "data"
REF_SAMPLES = 1_000_000


def v11() -> dict[str, Any]:
    """The tiny Malaysian v1.1 document (time_cv on every lane, promise_probability 0.9)."""
    return json.loads((DATA / "tiny-my-v11.json").read_text())


def reference_cdf(fixed: float, mean: np.ndarray, cv: np.ndarray, t: float, seed: int) -> float:
    """An independent estimate: 10⁶ seeded draws of the lanes' hours, written out directly."""
    rng = np.random.default_rng(seed)
    s2 = np.log(1.0 + cv**2)
    mu = np.log(mean) - s2 / 2.0
    total = np.full(REF_SAMPLES, fixed)
    for j in range(len(mean)):
        total += np.exp(mu[j] + np.sqrt(s2[j]) * rng.standard_normal(REF_SAMPLES))
    return float(np.mean(total <= t))


lane_sets = st.lists(st.tuples(st.floats(0.5, 200.0), st.floats(0.02, 1.5)), min_size=1, max_size=4)


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(lanes=lane_sets, fixed=st.floats(0.0, 30.0), q=st.floats(0.3, 2.0), seed=st.integers(0, 99))
def test_sum_cdf_matches_a_million_sample_reference(
    lanes: list[tuple[float, float]], fixed: float, q: float, seed: int
) -> None:
    """On random lane sets P(fixed + Σ X ≤ t) is within ±0.5 pp of a 10⁶-sample reference
    (the sample's own standard error is ≤ 0.05 pp), and its error bound is below 0.1 pp."""
    mean = np.array([m for m, _ in lanes])
    cv = np.array([c for _, c in lanes])
    t = fixed + q * float(mean.sum())
    r = sum_cdf(np.array([fixed]), mean[None, :], cv[None, :], t)
    ref = reference_cdf(fixed, mean, cv, t, seed)
    assert abs(float(r.p[0]) - ref) <= 0.005
    assert float(r.error[0]) <= 0.001
    assert r.lo[0] - 0.0025 <= ref <= r.hi[0] + 0.0025


def test_sum_cdf_rows_are_independent_and_vectorised() -> None:
    """Many rows in one call give the same answers as one row at a time; deterministic rows
    follow the mean-hours rule exactly (hours ≤ t)."""
    rng = np.random.default_rng(3)
    n = 40
    mean = rng.uniform(1, 50, (n, 3))
    cv = np.where(rng.random((n, 3)) < 0.3, 0.0, rng.uniform(0.05, 1.0, (n, 3)))
    cv[:5] = 0.0
    fixed = rng.uniform(0, 20, n)
    t = 72.0
    all_rows = sum_cdf(fixed, mean, cv, t)
    for i in range(n):
        one = sum_cdf(fixed[i : i + 1], mean[i : i + 1], cv[i : i + 1], t)
        assert one.p[0] == pytest.approx(all_rows.p[i], abs=1e-12)
    det = fixed[:5] + mean[:5].sum(axis=1) <= t
    assert all_rows.p[:5].tolist() == det.astype(float).tolist()


def test_lognormal_draws_have_the_stated_mean_and_cv() -> None:
    """σ² = ln(1 + cv²), μ = ln(mean) − σ²/2: the draws' mean and CV match (seeded)."""
    rng = np.random.default_rng(0)
    x = sample_lognormal(rng, np.array([40.0, 8.0]), np.array([0.5, 0.0]), (400_000, 2))
    assert x[:, 0].mean() == pytest.approx(40.0, rel=5e-3)
    assert x[:, 0].std() / x[:, 0].mean() == pytest.approx(0.5, rel=1e-2)
    assert np.all(x[:, 1] == 8.0)
    mu, s = lognormal_params(40.0, 0.5)
    assert float(np.exp(mu + s**2 / 2)) == pytest.approx(40.0)


# -- the format ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "value", "where"),
    [
        (("lanes", 0, "time_cv"), -0.1, "lanes[0] (id 'SZX-PKG-sea').time_cv"),  # negative
        (("lanes", 1, "time_cv"), "x", "lanes[1] (id 'PKG-KUL-customs').time_cv"),  # not a number
        (("rate_cards", 0, "time_cv"), -1, "rate_cards[0] (id 'MY-std').time_cv"),  # negative
        (("service", "promise_probability"), 0, "service.promise_probability"),  # p = 0
        (("service", "promise_probability"), 1.2, "service.promise_probability"),  # p > 1
    ],
)
def test_bad_risk_fields_are_named(path: tuple[Any, ...], value: Any, where: str) -> None:
    """A bad ``time_cv`` or ``promise_probability`` is a ScenarioError naming the item."""
    doc = v11()
    node: Any = doc
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value
    with pytest.raises(ScenarioError) as e:
        parse_scenario(doc)
    assert any(p.where == where for p in e.value.problems), e.value.problems


def test_risk_fields_default_to_todays_rule() -> None:
    """Without the keys every lane is fixed and promise_probability is absent."""
    doc = v11()
    for ln in doc["lanes"] + doc["rate_cards"]:
        del ln["time_cv"]
    del doc["service"]["promise_probability"]
    s = parse_scenario(doc)
    assert s.service.promise_probability is None
    assert all(ln.time_cv == 0 for ln in s.lanes)
    assert not compile_network(s).has_time_risk


# -- chance-constrained options ---------------------------------------------------------------


def _without_risk(doc: dict[str, Any], *, keep_probability: bool) -> dict[str, Any]:
    d = copy.deepcopy(doc)
    for ln in d["lanes"] + d["rate_cards"]:
        if keep_probability:
            ln["time_cv"] = 0.0
        else:
            del ln["time_cv"]
    if not keep_probability:
        del d["service"]["promise_probability"]
    return d


VOLATILE = ("solve_seconds", "stats", "notes")


def test_zero_cv_plan_equals_todays_plan_exactly() -> None:
    """With every time_cv = 0 (and promise_probability 0.9) the plan is today's plan: same
    objective, cost terms, flows and flags; every p_on_time is 0 or 1."""
    p = AllocationParams(time_limit=60)
    a = plan_scenario(parse_scenario(_without_risk(v11(), keep_probability=True)), p).plan
    b = plan_scenario(parse_scenario(_without_risk(v11(), keep_probability=False)), p).plan
    a, b = a.to_json(), b.to_json()
    for k in VOLATILE:
        a.pop(k, None)
        b.pop(k, None)
    assert a == b
    assert {r["p_on_time"] for r in a["fulfilment"]} <= {0.0, 1.0}
    assert all(r["on_time"] == (r["p_on_time"] == 1.0) for r in a["fulfilment"])


def test_chance_constraint_marks_unlikely_options_late() -> None:
    """With time_cv and promise_probability 0.9, an option is on time exactly when its
    P(hours ≤ 72) ≥ 0.9; the evaluator re-derives every p_on_time and flag; a mean-hours
    plan of the same network calls some of those options on time."""
    doc = v11()
    express = next(ln for ln in doc["lanes"] if ln["id"] == "SZX-KUL-express")
    express["transit_hours"] = 40.0  # 18 + 40 + 8 = 66 h on average, P(≤ 72 h) ≈ 0.69
    s = parse_scenario(doc)
    data = compile_network(s)
    for opts in (data.outbound, data.direct):
        pr = option_on_time(opts, data).p
        assert on_time_mask(opts, data).tolist() == (pr >= 0.9).tolist()
    mean_rule = [h <= 72 for h in data.direct.hours.tolist() + data.outbound.hours.tolist()]
    chance = on_time_mask(data.direct, data).tolist() + on_time_mask(data.outbound, data).tolist()
    assert sum(chance) < sum(mean_rule)  # the express line's 66 h mean is not 90 % safe
    out = plan_scenario(s, AllocationParams(time_limit=60))
    plan = out.plan.to_json()
    assert plan["status"] == "optimal"
    for r in plan["fulfilment"]:
        assert 0.0 <= r["p_on_time"] <= 1.0
        assert r["on_time"] == (r["p_on_time"] >= 0.9)
    ev = evaluate(data, out.plan)
    assert ev.feasible, ev.violations
    assert ev.total == pytest.approx(plan["objective"], rel=1e-9)
    bad = copy.deepcopy(plan)
    bad["fulfilment"][0]["p_on_time"] = 0.5 if bad["fulfilment"][0]["p_on_time"] != 0.5 else 0.4
    assert any("p_on_time" in v for v in evaluate(data, Plan.from_json(bad)).violations)
