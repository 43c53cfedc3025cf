"""What-if shocks: the shock format, hold vs re-plan, and ``tradelane whatif``."""

from __future__ import annotations

import functools
import json
import math
import time
from pathlib import Path
from typing import Any

import pytest

from api.cli import main
from network.compile import compile_network
from network.scenario import Scenario, ScenarioError, parse_scenario
from optimizer.allocation.params import AllocationParams
from optimizer.exceptions import TimeLimitError
from optimizer.plan.document import Plan
from optimizer.plan.evaluate import evaluate
from optimizer.plan.planning import plan_scenario
from optimizer.risk.shock import apply_shock, load_shock, parse_shock
from optimizer.risk.whatif import whatif, whatif_markdown

DATA = Path(__file__).resolve().parents[2] / "data"
ROOT = Path(__file__).resolve().parents[3]
PARAMS = AllocationParams(time_limit=60)


def v11_without_state() -> dict[str, Any]:
    """The tiny v1.1 document without tonight's state (inventory, returns): these tests are
    about shocks to lanes, demand and warehouses, and the state keys now change the plan."""
    doc: dict[str, Any] = json.loads((DATA / "tiny-my-v11.json").read_text())
    doc.pop("inventory", None)
    doc.pop("returns", None)
    return doc


@functools.lru_cache(maxsize=1)
def base() -> tuple[Scenario, str]:
    """The tiny v1.1 scenario and its plan (as JSON text, so each test gets a fresh copy)."""
    s = parse_scenario(v11_without_state())
    return s, json.dumps(plan_scenario(s, PARAMS).plan.to_json())


def run(changes: list[dict[str, Any]]) -> tuple[dict[str, Any], Any]:
    s, text = base()
    res = whatif(
        s, Plan.from_json(json.loads(text)), parse_shock({"name": "t", "changes": changes}), PARAMS
    )
    return res.to_json(), res


# -- the format ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("changes", "where", "message"),
    [
        ([{"lanes": {"colour": "red"}, "closed": True}], "changes[0].lanes.colour", "unknown"),
        ([{"lanes": {"carrier": "XYZ"}, "closed": True}], "changes[0].lanes.carrier", "matches no"),
        (  # each key matches something, together nothing
            [{"lanes": {"mode": "sea", "to": "SG"}, "closed": True}],
            "changes[0].lanes.to",
            "matches no",
        ),
        ([{"demand": {"category": "toys"}, "multiplier": 2}], "changes[0].demand.category", "no"),
        ([{"demand": {"zone": "Z-KUL"}, "multiplier": -1}], "changes[0].multiplier", "≥ 0"),
        ([{"demand": {"zone": "Z-KUL"}}], "changes[0].multiplier", "needs"),
        ([{"warehouse": "WH-XXX", "closed": True}], "changes[0].warehouse", "unknown"),
        ([{"warehouse": "WH-PEN"}], "changes[0].closed", "closed: true"),
        ([{"lanes": {"mode": "sea"}, "cost_multiplier": 1.1, "speed": 2}], "changes[0].speed", ""),
        ([{"port": "x"}], "changes[0]", "lanes"),
        # a lane change that changes nothing (was accepted)
        ([{"lanes": {"mode": "sea"}}], "changes[0]", "needs an effect"),
        # hours below zero: named by the change's add_hours, not by the shocked scenario's lane
        ([{"lanes": {"mode": "sea"}, "add_hours": -1000}], "changes[0].add_hours", "below 0"),
        # absurd sizes (1e308 overflowed the plan's costs into an internal error)
        ([{"lanes": {"mode": "sea"}, "cost_multiplier": 1e308}], "changes[0].cost_multiplier", "≤"),
        ([{"demand": {"zone": "Z-KUL"}, "multiplier": 1e6}], "changes[0].multiplier", "≤ 1000"),
        ([{"lanes": {"mode": "sea"}, "add_hours": 1e7}], "changes[0].add_hours", "within ±"),
    ],
)
def test_bad_shocks_name_the_item(changes: list[dict[str, Any]], where: str, message: str) -> None:
    """An unknown selector or key, a bad value, or a selector matching nothing is a
    ScenarioError naming the change and key."""
    s, _ = base()
    with pytest.raises(ScenarioError) as e:
        apply_shock(s, parse_shock({"name": "bad", "changes": changes}))
    assert any(p.where == where and message in p.message for p in e.value.problems), [
        str(p) for p in e.value.problems
    ]


def test_a_shock_file_is_named_in_what_applying_it_finds(tmp_path: Path) -> None:
    """A selector matching nothing names the shock file, as the format's own problems do;
    ``1e3`` in YAML is a number (YAML 1.1 alone would read the string '1e3')."""
    f = tmp_path / "surge.yaml"
    f.write_text("name: surge\nchanges:\n  - {demand: {category: toys}, multiplier: 1e3}\n")
    shock = load_shock(f)
    assert shock.changes[0].multiplier == 1000.0  # type: ignore[union-attr]
    with pytest.raises(ScenarioError) as e:
        apply_shock(base()[0], shock)
    assert [str(p) for p in e.value.problems] == [
        "surge.yaml: changes[0].demand.category: 'toys' matches no demand row"
    ]


def test_bundled_shocks_parse_and_apply_to_sea_72h() -> None:
    """Every file in datasets/shocks/ is a valid shock citing its source, and applies to the
    sea-72h network (every selector matches something)."""
    from network.scenario import load_scenario

    files = sorted((ROOT / "datasets" / "shocks").glob("*.yaml"))
    assert len(files) >= 4
    sea = load_scenario(ROOT / "datasets" / "sea-72h")
    for f in files:
        shock = load_shock(f)
        assert "DOMAIN.md" in shock.source, f.name
        applied = apply_shock(sea, shock)
        assert len(applied.matched) == len(shock.changes)


# -- hold vs re-plan -------------------------------------------------------------------------


def test_empty_shock_hold_and_replan_equal_the_base() -> None:
    """No change: hold is the base plan exactly, re-plan finds the same cost and service."""
    doc, _ = run([])
    b, h, r = doc["base"], doc["hold"], doc["replan"]
    assert h["objective"] == b["objective"]
    assert h["cost"] == b["cost"]
    assert h["service"] == b["service"]
    assert h["rerouted"] == [] and h["lost_to_shock_units"] == 0 and not h["violations"]
    assert r["objective"] == pytest.approx(b["objective"], rel=1e-9)
    for k, v in b["cost"].items():
        assert r["cost"][k] == pytest.approx(v, rel=1e-9, abs=1e-6)
    assert r["service"]["on_time_share"] == pytest.approx(b["service"]["on_time_share"])
    assert all(abs(v) < 1e-6 for v in doc["diff"]["hold"]["cost"].values())


def test_closed_warehouse_moves_or_loses_its_flows_and_replan_avoids_it() -> None:
    """Closing the warehouse the base plan uses: every unit it shipped is rerouted or lost in
    hold, its stock is lost, hold uses it no more; the re-plan keeps it closed."""
    _s, text = base()
    plan = json.loads(text)
    used = {r["source"] for r in plan["fulfilment"] if r["mode"] == "warehouse"}
    assert len(used) == 1
    wh = used.pop()
    shipped = sum(r["units"] for r in plan["fulfilment"] if r["source"] == wh)
    stocked = sum(r["units"] for r in plan["stock"] if r["warehouse"] == wh)
    doc, res = run([{"warehouse": wh, "closed": True}])
    h = doc["hold"]
    moved = sum(r["units"] for r in h["rerouted"] if r["kind"] == "fulfilment")
    assert moved == pytest.approx(shipped)
    assert h["rerouted_units"] + h["lost_to_shock_units"] == pytest.approx(shipped)
    assert h["stock_lost_units"] == pytest.approx(stocked)
    assert all(r.source != wh for r in res.hold.plan.fulfilment or ())
    assert wh not in {w["id"] for w in h["warehouses"]}
    assert not h["violations"]
    assert wh not in {w["id"] for w in doc["replan"]["warehouses"]}
    assert doc["replan"]["feasible"]
    assert doc["shock"]["closed_warehouses"] == [wh]
    assert doc["replan"]["seed"] == PARAMS.seed  # what reproduces it (was not recorded)


@pytest.mark.parametrize(
    "changes",
    [
        [{"warehouse": "WH-KUL", "closed": True}],
        [{"demand": {"category": "3c"}, "multiplier": 3.0}],
    ],
)
def test_held_plan_document_is_its_own_not_the_base_s(changes: list[dict[str, Any]]) -> None:
    """The held plan.json agrees with itself: its service is what its fulfilment rows give on
    the shocked demand, its lost rows are the unserved shocked demand, a closed warehouse uses
    nothing and gets no order, and it says it was not solved. It used to copy the base's
    service, lost rows, orders, warehouse use, status and solve time."""
    doc, res = run(changes)
    held = res.hold.plan
    ev = res.hold_eval
    shocked_demand = float(res.applied.scenario.demand.units.sum())
    on = sum(float(r.units) for r in held.fulfilment or () if r.on_time)
    assert held.service is not None and held.service.on_time_share == pytest.approx(
        on / shocked_demand
    )
    assert held.service.on_time_share == pytest.approx(ev.on_time_share)
    served = sum(float(r.units) for r in held.fulfilment or ())
    lost = sum(float(r.units) for r in held.lost or ())
    assert served + lost == pytest.approx(shocked_demand)
    assert held.service.units_lost == pytest.approx(lost)
    assert doc["hold"]["service"]["units_lost"] == pytest.approx(lost)
    assert held.objective == pytest.approx(ev.total)
    assert held.solve_seconds == 0.0 and held.bound is None and held.stats is None
    assert held.status.value == ("feasible" if ev.feasible else "infeasible")
    closed = set(res.applied.closed_warehouses)
    for w in held.warehouses or ():
        if w.id in closed:
            assert not w.open and w.storage_used_m3 == 0 and w.throughput_used_per_day == 0
    assert not any(o.warehouse in closed for o in held.orders or ())
    # a missed service target is shown, not only "0 rules broken"
    assert doc["hold"]["shortfalls"] == list(ev.shortfalls)
    md = whatif_markdown(doc)
    assert f"| service targets missed | {len(doc['base']['shortfalls'])} | " in md
    for miss in ev.shortfalls:
        assert f"- {miss}" in md
    H = float(res.applied.scenario.horizon_days)
    for w in held.warehouses or ():
        shipped = sum(float(r.units) for r in held.fulfilment or () if r.source == w.id)
        assert w.throughput_used_per_day == pytest.approx(shipped / H)


def test_cost_multiplier_moves_exactly_the_matched_terms() -> None:
    """Sea freight × 1.35 changes only the inbound term of the held plan, by 0.35 × the sea
    lane's cost of the replenished units (recomputed here from the lane's rate); last-mile
    × 2 changes only the outbound term, doubling it."""
    s, text = base()
    plan = json.loads(text)
    vol = {k.id: k.volume_m3 for k in s.skus}
    sea = next(ln for ln in s.lanes if ln.mode == "sea")
    sea_cost = sum(
        sea.cost_per_m3 * vol[r["sku"]] * r["units"]
        for r in plan["replenishment"]
        if sea.id in r["lanes"]
    )
    assert sea_cost > 0
    doc, _ = run([{"lanes": {"mode": "sea"}, "cost_multiplier": 1.35}])
    d = doc["diff"]["hold"]["cost"]
    assert d["inbound"] == pytest.approx(0.35 * sea_cost, rel=1e-9)
    assert all(abs(v) < 1e-9 for k, v in d.items() if k != "inbound")
    doc2, _ = run([{"lanes": {"mode": "last_mile"}, "cost_multiplier": 2.0}])
    d2 = doc2["diff"]["hold"]["cost"]
    assert d2["outbound"] == pytest.approx(doc2["base"]["cost"]["outbound"], rel=1e-9)
    assert all(abs(v) < 1e-9 for k, v in d2.items() if k != "outbound")


def test_demand_surge_is_lost_when_held_and_served_when_replanned() -> None:
    """3c demand × 3: the held plan ships what it planned, so twice the 3c forecast is lost;
    the re-plan serves it (lost units back to the base's)."""
    s, _ = base()
    cats = {k.id: k.category for k in s.skus}
    d3c = sum(u for k, u in zip(s.demand.sku, s.demand.units, strict=True) if cats[str(k)] == "3c")
    doc, _ = run([{"demand": {"category": "3c"}, "multiplier": 3.0}])
    assert doc["hold"]["service"]["units_lost"] == pytest.approx(
        doc["base"]["service"]["units_lost"] + 2 * d3c
    )
    assert doc["hold"]["demand_not_covered_units"] == pytest.approx(2 * d3c)
    assert doc["replan"]["service"]["units_lost"] < doc["hold"]["service"]["units_lost"]


def test_closed_lane_reroutes_replenishment_and_hold_is_evaluated() -> None:
    """Closing the customs lane into the used warehouse: its replenishment has no other
    inbound path, so the warehouse's flows fall back to the direct line (or are lost); the
    held plan's cost is the evaluator's, recomputed on the shocked network."""
    _s, text = base()
    plan = json.loads(text)
    lane = plan["replenishment"][0]["lanes"][-1]
    doc, res = run([{"lanes": {"id": lane}, "closed": True}])
    assert lane in doc["shock"]["closed_lanes"]
    shocked = compile_network(res.applied.scenario)
    ev = evaluate(shocked, res.hold.plan)
    assert ev.total == pytest.approx(doc["hold"]["objective"])
    assert all(lane not in r.lanes for r in res.hold.plan.replenishment or ())
    assert doc["hold"]["rerouted_units"] + doc["hold"]["lost_to_shock_units"] > 0


def _whatif_args(tmp: Path, plan_text: str, change: str) -> list[str]:
    """``tradelane whatif`` arguments (no ``--out``): the v1.1 scenario without state, the
    plan ``plan_text`` in a folder and a shock file of one ``change`` (YAML flow mapping)."""
    src = tmp / "s.json"
    src.write_text(json.dumps(v11_without_state()))
    (tmp / "p").mkdir()
    (tmp / "p" / "plan.json").write_text(plan_text)
    sh = tmp / "shock.yaml"
    sh.write_text(f"name: x\nchanges:\n  - {change}\n")
    return ["whatif", str(src), "--plan", str(tmp / "p"), "--shock", str(sh)]


def test_cli_whatif_writes_json_and_markdown(tmp_path: Path) -> None:
    """`tradelane whatif` writes whatif.json, whatif.md and both plans, each with the shocked
    scenario beside it; a shock whose selector matches nothing exits with 2 and names it."""
    src = tmp_path / "s.json"
    src.write_text(json.dumps(v11_without_state()))
    assert main(["plan", str(src), "--out", str(tmp_path / "p"), "--quiet", "--no-map"]) == 0
    shock = tmp_path / "shock.yaml"
    shock.write_text("name: x\nchanges:\n  - {lanes: {mode: sea}, cost_multiplier: 1.35}\n")
    out = tmp_path / "w"
    args = ["whatif", str(src), "--plan", str(tmp_path / "p"), "--shock", str(shock)]
    assert main([*args, "--out", str(out), "--time-limit", "30"]) == 0
    doc = json.loads((out / "whatif.json").read_text())
    assert {"hold", "replan", "base", "diff", "shock"} <= set(doc)
    assert "Hold tonight's plan or re-plan?" in (out / "whatif.md").read_text()
    assert (out / "hold" / "plan.json").is_file() and (out / "replan" / "plan.json").is_file()
    # the shocked scenario is beside each plan, so both simulate as they are (they used to be
    # refused: "no scenario"); a plan folder of tradelane plan needs nothing else either
    shocked = json.loads((out / "replan" / "scenario.json").read_text())
    sea = [ln for ln in shocked["lanes"] if ln["mode"] == "sea"]
    assert sea and all(ln["cost_per_m3"] == pytest.approx(38.0 * 1.35) for ln in sea)
    for name in ("hold", "replan"):
        sim = ["simulate", str(out / name), "--runs", "50", "--no-plot"]
        assert main([*sim, "--out", str(tmp_path / f"sim-{name}")]) == 0
    shock.write_text("name: x\nchanges:\n  - {lanes: {carrier: NOBODY}, closed: true}\n")
    assert main([*args, "--out", str(out)]) == 2


def test_the_time_limit_covers_the_hold_not_only_the_re_plan() -> None:
    """The time limit counts from ``started`` (the command's or the job's start), as
    ``plan_scenario``'s does: the re-plan gets what the evaluations and the hold leave. It
    used to start its own full limit after them, so a what-if job whose hold took longer than
    the runner's grace was killed (on sea-72h the hold alone takes some 5 s). Here the limit
    is spent before the call: the re-plan is the naive floor, saying so, at once."""
    s, text = base()
    shock = parse_shock({"name": "t", "changes": [{"warehouse": "WH-PEN", "closed": True}]})
    t0 = time.perf_counter()
    res = whatif(
        s,
        Plan.from_json(json.loads(text)),
        shock,
        AllocationParams(time_limit=20),
        started=t0 - 19.9,
    )
    assert time.perf_counter() - t0 < 5.0
    assert res.replan_eval is not None  # the floor is a plan, evaluated
    assert any("no optimised plan within the time limit" in n for n in res.replan.notes)


def test_a_limit_shorter_than_the_whatif_keeps_is_refused_before_any_work(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """The what-if's floor counts the work that grows with the base plan's rows (reading and
    holding it, evaluating three plans, writing two), not only the re-plan's floor: a tier-L
    what-if given 60 s took 136 s (benchmarks/README.md, "What-if at tier L"). A limit below
    it is exit 2 naming the shortest, and nothing is written."""
    from optimizer.risk import whatif as wi

    s, text = base()
    plan = Plan.from_json(json.loads(text))
    rows = wi.plan_rows(plan)
    assert rows == wi.plan_rows(json.loads(text)) > 0
    monkeypatch.setattr(wi, "WHATIF_S_PER_PLAN_ROW", 100.0)
    shock = parse_shock({"name": "t", "changes": [{"warehouse": "WH-PEN", "closed": True}]})
    shortest = 100.0 * rows
    with pytest.raises(TimeLimitError, match=f"about {shortest:g} s"):
        whatif(s, plan, shock, AllocationParams(time_limit=shortest - 1))
    args = _whatif_args(tmp_path, text, "{warehouse: WH-PEN, closed: true}")
    out = tmp_path / "w"
    assert main([*args, "--out", str(out), "--time-limit", str(shortest - 1)]) == 2
    err = capsys.readouterr().err
    assert "--time-limit" in err and "give at least" in err and f"{shortest:g}" in err
    assert not out.exists()


def test_large_whatif_plans_are_written_as_plan_writes_them(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The held and re-made plans go through the plan's own writer: above ``PRETTY_MAX_ROWS``
    compact and streamed (they were indented by the pure-Python encoder whatever their size,
    which took most of a tier-L what-if's overrun), and read back as the same plans."""
    from optimizer.plan import io as plan_io

    monkeypatch.setattr(plan_io, "PRETTY_MAX_ROWS", 0)
    _, text = base()
    args = _whatif_args(tmp_path, text, "{lanes: {mode: sea}, cost_multiplier: 1.35}")
    out = tmp_path / "w"
    assert main([*args, "--out", str(out), "--time-limit", "30"]) == 0
    doc = json.loads((out / "whatif.json").read_text())
    for name in ("hold", "replan"):
        written = (out / name / "plan.json").read_text()
        assert "\n" not in written.rstrip("\n"), name  # compact
        plan = Plan.from_json(json.loads(written))
        assert plan.objective == pytest.approx(doc[name]["objective"]), name
    assert not list(out.rglob(".*.part"))


def test_the_re_plan_leaves_the_time_the_whatif_needs_after_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """After the re-plan the what-if evaluates it and writes a second plan: the re-plan's
    limit keeps that time (per base-plan row, times the machine's slowdown) on top of its own
    output reserve, so the what-if as a whole keeps its limit."""
    from optimizer.risk import whatif as wi

    s, text = base()
    plan = Plan.from_json(json.loads(text))
    rows = wi.plan_rows(plan)
    seen: list[float] = []
    real = wi.plan_scenario

    def spy(scenario: Scenario, params: AllocationParams, **kw: Any) -> Any:
        seen.append(params.time_limit_s)
        return real(scenario, params, **kw)

    monkeypatch.setattr(wi, "plan_scenario", spy)
    monkeypatch.setattr(wi, "machine_slowdown", lambda: 2.0)
    monkeypatch.setattr(wi, "WHATIF_AFTER_S_PER_PLAN_ROW", 0.25)
    shock = parse_shock({"name": "t", "changes": [{"warehouse": "WH-PEN", "closed": True}]})
    res = whatif(s, plan, shock, AllocationParams(time_limit=60))
    assert seen == [pytest.approx(60 - 0.25 * rows * 2.0)]
    assert res.replan_eval is not None
    seen.clear()
    whatif(s, plan, shock, AllocationParams())  # no limit: nothing to keep
    assert seen == [math.inf]


def test_rules_the_re_plan_breaks_are_reported() -> None:
    """A re-plan that finds no optimised plan in its time falls back to the naive plan, which
    may break rules (here both warehouses take 10 units a day and, with the express line
    gone, nothing else reaches the zones: the floor moves flows off a full warehouse only
    where another option has room, so they ship more). whatif.json listed ``violations`` for
    the held plan only and whatif.md's "rules broken" row read 0 for the re-plan (and the
    base); each summary now has its ``violations`` and the row counts them."""
    doc = json.loads((DATA / "tiny-my.json").read_text())
    for n in doc["nodes"]:
        if n["kind"] == "warehouse":
            n["throughput_units_per_day"] = 10
    doc["lanes"] = [ln for ln in doc["lanes"] if ln["mode"] != "express"]
    s = parse_scenario(doc)
    plan = plan_scenario(s, AllocationParams(time_limit=30)).plan
    shock = parse_shock(
        {"name": "t", "changes": [{"lanes": {"mode": "sea"}, "cost_multiplier": 1.1}]}
    )
    res = whatif(s, plan, shock, AllocationParams(time_limit=20), started=time.perf_counter() - 20)
    assert res.replan_eval is not None and res.replan_eval.violations
    out = res.to_json()
    for name, ev in (("base", res.base_eval), ("hold", res.hold_eval), ("replan", res.replan_eval)):
        assert out[name]["violations"] == list(ev.violations), name
    md = whatif_markdown(out)
    n = len(res.replan_eval.violations)
    assert f"| rules broken | 0 | 0 | {n} |" in md
    assert f"The re-planned plan breaks {n} rule(s)" in md
    assert res.replan_eval.violations[0] in md
    # ... and why: the re-plan's status and its own notes (the naive plan used, ...), which
    # whatif.md did not show (sea-L's what-if read "rules broken 5" with no word of the
    # re-plan having stopped at its limit on every block's naive plan)
    st = str(res.replan.status)
    assert f"| status | {out['base']['status']} | hold | {st} |" in md
    assert out["replan"]["notes"] == list(res.replan.notes or ()) and out["replan"]["notes"]
    assert f"The re-plan ({st} in " in md
    assert all(f"- {note}" in md for note in out["replan"]["notes"][:10])


def test_cli_whatif_takes_the_inventory_the_plan_was_made_with(tmp_path: Path) -> None:
    """A plan made with ``tradelane plan SCENARIO --inventory CSV`` could only be held against
    SCENARIO without that stock (whatif had no ``--inventory``): the base plan then broke two
    rules on its own scenario and the re-plan ignored tonight's 500 units. ``whatif`` takes
    the same ``--inventory CSV`` as ``plan``."""
    src = DATA / "tiny-my.json"
    inv = tmp_path / "inventory.csv"
    inv.write_text("sku,warehouse,on_hand,in_transit,arrives_in_hours\nSKU-A,WH-KUL,500,0,\n")
    plan_dir = tmp_path / "p"
    args = ["plan", str(src), "--inventory", str(inv), "--out", str(plan_dir)]
    assert main([*args, "--quiet", "--no-map", "--time-limit", "30"]) == 0
    shock = tmp_path / "shock.yaml"
    shock.write_text("name: x\nchanges:\n  - {lanes: {mode: sea}, cost_multiplier: 1.35}\n")
    out = tmp_path / "w"
    w = ["whatif", str(src), "--plan", str(plan_dir), "--shock", str(shock), "--out", str(out)]
    assert main([*w, "--inventory", str(inv), "--time-limit", "30"]) == 0
    doc = json.loads((out / "whatif.json").read_text())
    assert doc["base"]["violations"] == [] and doc["notes"] == []
    replan = json.loads((out / "replan" / "plan.json").read_text())
    assert sum(r["units"] for r in replan["inventory"]) == 500


def test_a_plan_made_against_a_previous_plan_is_held_and_re_planned_against_it(
    tmp_path: Path,
) -> None:
    """tiny-my-v11 planned with ``--previous`` (a plan of tiny-my) pays for stock above the
    stock rule and for warehouses opened or closed against it. whatif took no previous plan:
    its base cost was not the plan's own (352.5 less: the excess holding), and the re-plan
    could move off last night's warehouses for free. With the same ``--previous`` the base is
    the plan's own cost (the evaluator's, with the stability terms), the held plan and the
    re-plan are costed the same way, and the job (``api.risk_jobs``) passes it along."""
    from api.risk_jobs import risk_job

    src = DATA / "tiny-my-v11.json"
    first, second = tmp_path / "first", tmp_path / "second"
    common = ["--quiet", "--no-map", "--time-limit", "30"]
    assert main(["plan", str(DATA / "tiny-my.json"), "--out", str(first), *common]) == 0
    assert main(["plan", str(src), "--previous", str(first), "--out", str(second), *common]) == 0
    plan = json.loads((second / "plan.json").read_text())
    shock = tmp_path / "shock.yaml"
    shock.write_text("name: x\nchanges:\n  - {lanes: {mode: sea}, cost_multiplier: 1.35}\n")
    out = tmp_path / "w"
    w = ["whatif", str(src), "--plan", str(second), "--shock", str(shock), "--out", str(out)]
    assert main([*w, "--previous", str(first), "--time-limit", "30"]) == 0
    doc = json.loads((out / "whatif.json").read_text())
    assert doc["base"]["objective"] == pytest.approx(plan["objective"], rel=1e-9)
    assert doc["base"]["violations"] == []
    job = risk_job(
        {
            "task": "whatif",
            "scenario": json.loads(src.read_text()),
            "plan": plan,
            "shock": {
                "name": "x",
                "changes": [{"lanes": {"mode": "sea"}, "cost_multiplier": 1.35}],
            },
            "previous_plan": json.loads((first / "plan.json").read_text()),
        },
        time_limit_s=30,
    )
    assert job["base"]["objective"] == pytest.approx(plan["objective"], rel=1e-9)
    assert job["hold"]["objective"] == pytest.approx(doc["hold"]["objective"], rel=1e-9)


def test_a_whatif_tells_its_steps_and_the_re_plans_phases() -> None:
    """At tier L a what-if runs for minutes; ``tradelane whatif`` showed nothing until the end
    and a what-if job's status had no phase. ``whatif(progress=...)`` is told each step, the
    re-plan's own phases prefixed, in order; the CLI shows them and the worker stores them."""
    s = parse_scenario(json.loads((DATA / "tiny-my.json").read_text()))
    plan = plan_scenario(s, AllocationParams(time_limit=30)).plan
    shock = parse_shock({"name": "t", "changes": [{"warehouse": "WH-KUL", "closed": True}]})
    said: list[str] = []
    whatif(s, plan, shock, AllocationParams(time_limit=20), progress=lambda t, **_: said.append(t))
    steps = [t for t in said if t.startswith("what-if: ")]
    assert [t.split(" (")[0] for t in steps] == [
        "what-if: compiling the base and shocked networks",
        "what-if: evaluating the base plan",
        "what-if: holding the plan under the shock",
        "what-if: evaluating the held plan",
        "what-if: evaluating the re-plan",
    ]
    replan = [i for i, t in enumerate(said) if t.startswith("re-plan: ")]
    assert replan and said.index(steps[3]) < replan[0] and replan[-1] < said.index(steps[4])
    # the API's what-if job passes them on
    from api.risk_jobs import risk_job

    job: list[str] = []
    request = {
        "task": "whatif",
        "scenario": json.loads((DATA / "tiny-my.json").read_text()),
        "plan": plan.to_json(),
        "shock": {"name": "t", "changes": [{"warehouse": "WH-KUL", "closed": True}]},
    }
    risk_job(request, time_limit_s=20, progress=lambda t, **_: job.append(t))
    assert "what-if: holding the plan under the shock" in job
