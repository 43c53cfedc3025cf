"""Property tests of shocks and what-if on tiny-my: random small shocks change exactly what
they say, the re-plan is accepted by the evaluator and never beats the base optimum when the
shock only makes things worse, and the reported differences are the plans' differences."""

from __future__ import annotations

import copy
import functools
import json
import math
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from network.compile import compile_network
from network.scenario import Scenario, ScenarioError, parse_scenario
from optimizer.allocation.params import AllocationParams
from optimizer.plan.document import Plan
from optimizer.plan.evaluate import evaluate
from optimizer.plan.planning import plan_scenario
from optimizer.risk.shock import COST_FIELDS, apply_shock, parse_shock
from optimizer.risk.whatif import hold_plan, whatif

DATA = Path(__file__).resolve().parents[2] / "data"
PARAMS = AllocationParams(time_limit=30)
FAST = settings(
    max_examples=8, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck)
)


@functools.lru_cache(maxsize=1)
def base() -> tuple[Scenario, str]:
    s = parse_scenario(json.loads((DATA / "tiny-my.json").read_text()))
    return s, json.dumps(plan_scenario(s, PARAMS).plan.to_json())


def base_plan() -> Plan:
    return Plan.from_json(json.loads(base()[1]))


DOC = base()[0].to_document()
LANE_IDS = [ln["id"] for ln in DOC["lanes"]] + [c["id"] for c in DOC["rate_cards"]]
MODES = sorted({ln["mode"] for ln in DOC["lanes"]} | {"last_mile"})
SKUS = sorted({d["sku"] for d in DOC["demand"]})
ZONES = sorted({d["zone"] for d in DOC["demand"]})


@st.composite
def lane_change(draw: Any, worse: bool) -> dict[str, Any]:
    key = draw(st.sampled_from(["id", "mode"]))
    sel = draw(st.sampled_from(LANE_IDS if key == "id" else MODES))
    ch: dict[str, Any] = {"lanes": {key: sel}}
    effects = draw(st.sets(st.sampled_from(["cost_multiplier", "add_hours", "closed"]), min_size=1))
    lo = 1.0 if worse else 0.5
    if "cost_multiplier" in effects:
        ch["cost_multiplier"] = draw(st.floats(lo, 2.0))
    if "add_hours" in effects:
        ch["add_hours"] = draw(st.floats(0.0 if worse else -5.0, 60.0))
    if "closed" in effects:
        ch["closed"] = draw(st.booleans())
    return ch


@st.composite
def demand_change(draw: Any, worse: bool) -> dict[str, Any]:
    key = draw(st.sampled_from(["sku", "zone"]))
    sel = draw(st.sampled_from(SKUS if key == "sku" else ZONES))
    return {"demand": {key: sel}, "multiplier": draw(st.floats(1.0 if worse else 0.0, 2.0))}


def changes(worse: bool) -> st.SearchStrategy[list[dict[str, Any]]]:
    return st.lists(st.one_of(lane_change(worse), demand_change(worse)), max_size=3)


def expected_document(changes: list[dict[str, Any]]) -> dict[str, Any]:
    """The scenario document the shock should give, worked out here from its definition."""
    doc = copy.deepcopy(DOC)
    closed: set[str] = set()
    for ch in changes:
        if "lanes" in ch:
            ((key, sel),) = ch["lanes"].items()
            for item, hours in [(x, "transit_hours") for x in doc["lanes"]] + [
                (c, "base_hours") for c in doc["rate_cards"]
            ]:
                if item.get(key, "last_mile") != sel:
                    continue
                for f in COST_FIELDS:
                    item[f] = item.get(f, 0.0) * ch.get("cost_multiplier", 1.0)
                item[hours] = item.get(hours, 0.0) + ch.get("add_hours", 0.0)
                if ch.get("closed"):
                    closed.add(item["id"])
        else:
            ((key, sel),) = ch["demand"].items()
            for row in doc["demand"]:
                if row[key] == sel:
                    row["units"] = row["units"] * ch["multiplier"]
    doc["lanes"] = [x for x in doc["lanes"] if x["id"] not in closed]
    doc["rate_cards"] = [x for x in doc["rate_cards"] if x["id"] not in closed]
    return doc


def _hours_ok(changes: list[dict[str, Any]]) -> bool:
    """No change takes an item's hours below zero (a refused shock, tested elsewhere)."""
    doc = copy.deepcopy(DOC)
    for ch in changes:
        if "lanes" not in ch:
            continue
        ((key, sel),) = ch["lanes"].items()
        for item, hours in [(x, "transit_hours") for x in doc["lanes"]] + [
            (c, "base_hours") for c in doc["rate_cards"]
        ]:
            if item.get(key, "last_mile") == sel:
                item[hours] = item.get(hours, 0.0) + ch.get("add_hours", 0.0)
                if item[hours] < 0:
                    return False
    return True


@FAST
@given(changes(worse=False))
def test_a_shock_changes_exactly_what_it_says(chs: list[dict[str, Any]]) -> None:
    """Field by field, the shocked scenario is the base with the matched lanes' freight rates
    multiplied, their hours added to, closed ones removed, matched demand scaled; nothing
    else moves. A shock taking hours below zero is refused naming its change's add_hours."""
    s, _ = base()
    shock = parse_shock({"name": "p", "changes": chs})
    if not _hours_ok(chs):
        with pytest.raises(ScenarioError) as e:
            apply_shock(s, shock)
        assert all(p.where.endswith(".add_hours") for p in e.value.problems), e.value.problems
        return
    _same(apply_shock(s, shock).scenario.to_document(), expected_document(chs), "")


def _same(a: Any, b: Any, where: str) -> None:
    if isinstance(a, dict) and isinstance(b, dict):
        assert set(a) == set(b), where
        for k in a:
            _same(a[k], b[k], f"{where}.{k}")
    elif isinstance(a, list) and isinstance(b, list):
        assert len(a) == len(b), where
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            _same(x, y, f"{where}[{i}]")
    elif isinstance(a, float) or isinstance(b, float):
        assert math.isclose(a, b, rel_tol=1e-12, abs_tol=1e-12), (where, a, b)
    else:
        assert a == b, (where, a, b)


@FAST
@given(
    st.lists(
        st.one_of(
            st.builds(
                lambda m: {"lanes": {"mode": m}, "cost_multiplier": 1.0}, st.sampled_from(MODES)
            ),
            st.builds(lambda m: {"lanes": {"mode": m}, "add_hours": 0.0}, st.sampled_from(MODES)),
            st.builds(lambda k: {"demand": {"sku": k}, "multiplier": 1.0}, st.sampled_from(SKUS)),
        ),
        min_size=1,
        max_size=3,
    )
)
def test_a_zero_size_shock_changes_nothing(chs: list[dict[str, Any]]) -> None:
    """Multipliers of 1 and 0 added hours: the shocked scenario is the base scenario and the
    held plan is the base plan with the base figures."""
    s, _ = base()
    applied = apply_shock(s, parse_shock({"name": "zero", "changes": chs}))
    _same(applied.scenario.to_document(), DOC, "")
    shocked = compile_network(applied.scenario)
    plan = base_plan()
    held = hold_plan(plan, shocked)
    assert held.rerouted == () and held.lost_to_shock == 0.0
    assert held.plan.fulfilment == plan.fulfilment
    assert held.plan.stock == plan.stock
    assert [r.units for r in held.plan.replenishment or ()] == [
        r.units for r in plan.replenishment or ()
    ]
    ev, ev0 = evaluate(shocked, held.plan), evaluate(compile_network(s), plan)
    assert ev.total == ev0.total and ev.cost == ev0.cost and not ev.violations


def _check_diff(d: dict[str, Any], a: dict[str, Any], b: dict[str, Any]) -> None:
    """``d`` is ``b − a`` figure by figure."""
    assert d["objective"] == pytest.approx(b["objective"] - a["objective"], abs=1e-6)
    assert d["objective"] == pytest.approx(sum(d["cost"].values()), abs=1e-6)
    assert set(d["cost"]) == set(a["cost"]) == set(b["cost"])
    for k, v in d["cost"].items():
        assert v == pytest.approx(b["cost"][k] - a["cost"][k], abs=1e-9)
    for k in ("on_time_share", "units_lost", "fill_rate"):
        assert d[k] == pytest.approx(b["service"][k] - a["service"][k], abs=1e-12)


@FAST
@given(changes(worse=True))
def test_whatif_figures_are_consistent(chs: list[dict[str, Any]]) -> None:
    """For shocks that only make things worse (closures, dearer or slower lanes, more demand):
    the re-plan is accepted by the evaluator on the shocked scenario with its own objective
    and never costs less than the base optimum's bound; base is the base plan evaluated on
    the base scenario, hold the held plan evaluated on the shocked one; the differences are
    the plans' differences."""
    s, _ = base()
    plan = base_plan()
    shock = parse_shock({"name": "worse", "changes": chs})
    try:
        applied = apply_shock(s, shock)
    except ScenarioError as e:  # closing lanes may leave the scenario invalid: named
        assert all("changes" in p.where or "under the shock" in p.where for p in e.value.problems)
        event("refused")
        return
    event(f"{len(chs)} change(s)")
    res = whatif(s, plan, shock, PARAMS)
    doc = res.to_json()
    assert doc["currency"] == DOC["currency"] == res.replan.currency == res.hold.plan.currency
    shocked = compile_network(applied.scenario)
    assert res.base_eval.total == evaluate(compile_network(s), plan).total
    assert res.hold_eval.total == evaluate(shocked, res.hold.plan).total
    assert doc["hold"]["objective"] == res.hold_eval.total
    assert res.replan_eval is not None
    assert not res.replan_eval.violations, res.replan_eval.violations
    assert res.replan.objective == pytest.approx(res.replan_eval.total, rel=1e-6)
    assert plan.bound is not None and res.replan.objective is not None
    assert res.replan.objective >= plan.bound - 1e-6 * abs(plan.bound)
    # the held plan's lost units are those lost to the shock plus demand it never covered
    assert res.hold_eval.units_lost == pytest.approx(
        res.hold.lost_to_shock + res.hold.demand_lost, abs=1e-6
    )
    _check_diff(doc["diff"]["hold"], doc["base"], doc["hold"])
    _check_diff(doc["diff"]["replan"], doc["base"], doc["replan"])
    # a held plan that breaks no rule and meets the targets never beats the shocked optimum
    bound = res.replan.bound
    if not res.hold_eval.violations and not res.hold_eval.shortfalls and bound is not None:
        assert res.hold_eval.total >= bound - 1e-6 * abs(bound)


@functools.lru_cache(maxsize=1)
def base_v11() -> tuple[Scenario, str]:
    s = parse_scenario(json.loads((DATA / "tiny-my-v11.json").read_text()))
    return s, json.dumps(plan_scenario(s, PARAMS).plan.to_json())


V11 = base_v11()[0].to_document()
V11_LANES = [ln["id"] for ln in V11["lanes"]] + [c["id"] for c in V11["rate_cards"]]
BOOKKEEPING = ("returned", "transfers", "inventory", "lists", "resold", "lot", "replenished")


@st.composite
def v11_change(draw: Any) -> dict[str, Any]:
    if draw(st.booleans()):
        ch: dict[str, Any] = {"lanes": {"id": draw(st.sampled_from(V11_LANES))}}
        ch.update(
            draw(st.sampled_from([{"closed": True}, {"add_hours": 24.0}, {"cost_multiplier": 1.5}]))
        )
        return ch
    if draw(st.booleans()):
        return {"warehouse": draw(st.sampled_from(["WH-KUL", "WH-PEN"])), "closed": True}
    key = draw(st.sampled_from(["sku", "zone"]))
    sel = draw(st.sampled_from(SKUS if key == "sku" else ZONES))
    return {"demand": {key: sel}, "multiplier": draw(st.sampled_from([0.0, 0.5, 1.5]))}


@FAST
@given(st.lists(v11_change(), min_size=1, max_size=2))
def test_whatif_with_tonights_state_keeps_the_held_plans_books(chs: list[dict[str, Any]]) -> None:
    """Shocks on tiny-my-v11 with its inventory, transfer and returns: the what-if never
    stops on the held plan, the held plan's state rows stay in balance (no returns, lot,
    transfer or supply rule broken: the rules a shock may break are stock levels, timing
    and service), the lost units add up and the differences are the plans' differences."""
    s, text = base_v11()
    plan = Plan.from_json(json.loads(text))
    shock = parse_shock({"name": "v11", "changes": chs})
    try:
        apply_shock(s, shock)
    except ScenarioError as e:
        assert all("changes" in p.where or "under the shock" in p.where for p in e.value.problems)
        event("refused")
        return
    res = whatif(s, plan, shock, PARAMS)
    books = [v for v in res.hold_eval.violations if any(w in v for w in BOOKKEEPING)]
    assert not books, (chs, books)
    assert res.hold_eval.units_lost == pytest.approx(
        res.hold.lost_to_shock + res.hold.demand_lost, abs=1e-6
    )
    doc = res.to_json()
    _check_diff(doc["diff"]["hold"], doc["base"], doc["hold"])
    if res.replan_eval is not None:
        assert not res.replan_eval.violations, (chs, res.replan_eval.violations)
        assert res.replan.objective == pytest.approx(res.replan_eval.total, rel=1e-6)
        _check_diff(doc["diff"]["replan"], doc["base"], doc["replan"])


@FAST
@given(
    st.lists(
        st.builds(
            lambda key, m: {"lanes": {"id": key}, "cost_multiplier": m},
            st.sampled_from(LANE_IDS),
            st.floats(0.5, 2.0),
        ),
        min_size=1,
        max_size=3,
    )
)
def test_a_price_shock_holds_the_base_plan_as_it_is(chs: list[dict[str, Any]]) -> None:
    """Only prices change: the held plan is the base plan row for row, and its figures are
    the evaluator's figures of the base plan on the shocked network."""
    s, _ = base()
    plan = base_plan()
    applied = apply_shock(s, parse_shock({"name": "prices", "changes": chs}))
    shocked = compile_network(applied.scenario)
    held = hold_plan(plan, shocked)
    assert held.rerouted == ()
    assert held.plan.fulfilment == plan.fulfilment and held.plan.stock == plan.stock
    assert held.plan.replenishment == plan.replenishment
    ev, ev_base = evaluate(shocked, held.plan), evaluate(shocked, plan)
    assert ev.total == ev_base.total and ev.cost == ev_base.cost
