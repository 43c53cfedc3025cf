"""Tonight's state on SKU blocks (optimizer.allocation.state_blocks).

Random small scenarios with inventory, transfers and returns (tests.helpers.random_state_doc)
cut into blocks of one SKU: the blocks cover every demand row, SKU and lot once; their storage
adds up to the shelf capacity; the assembled plan passes the independent evaluator and costs
what the evaluator says; without capacities to share it equals the monolithic state path on the
same warehouses, and it is never below the monolithic optimum; a block without a plan leaves
the floor and says why.
"""

from __future__ import annotations

import json
import time
from dataclasses import replace
from typing import Any

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from network.compile import compile_network
from network.scenario import parse_scenario
from optimizer.allocation import state_blocks
from optimizer.allocation.baseline import lane_loads, naive_solution, within_capacity
from optimizer.allocation.columns import build_columns, cost_terms
from optimizer.allocation.params import AllocationParams
from optimizer.allocation.state import shelf_capacity, tonight_m3
from optimizer.executor import InlineRunner, make_executor
from optimizer.plan import planning
from optimizer.plan.planning import plan_scenario
from optimizer.plan.state import attach_previous
from tests.helpers import random_state_doc

PARAMS = AllocationParams(time_limit=30, relative_gap=0)


def _scenario(seed: int, *, caps: bool) -> Any:
    return parse_scenario(random_state_doc(np.random.default_rng(seed), caps=caps))


def _on_blocks(s: Any, monkeypatch: pytest.MonkeyPatch, runner: Any = None, **kw: Any) -> Any:
    monkeypatch.setattr(state_blocks, "BLOCK_SKUS", 1)
    return plan_scenario(
        s, PARAMS.replace(strategy="blocks"), executor=runner or InlineRunner(), **kw
    )


def test_blocks_cover_every_row_sku_and_lot_once() -> None:
    data = compile_network(_scenario(3, caps=True))
    blocks = state_blocks.state_blocks(data, 1)
    assert len(blocks) == len(data.skus) == 2
    rows = np.concatenate([b.rows for b in blocks])
    lots = np.concatenate([b.lots for b in blocks])
    assert sorted(rows) == list(range(len(data.dem_sku)))
    assert sorted(lots) == list(range(len(data.inv_sku)))
    assert (np.sum([b.skus for b in blocks], axis=0) == 1).all()
    for b in blocks:
        assert b.skus[data.dem_sku[b.rows]].all() and b.skus[data.inv_sku[b.lots]].all()


@pytest.mark.parametrize("storage", [[50.0, 1.0, np.inf], [1e-3, 1e-3, 1e-3]])
def test_block_storage_adds_up_to_the_shelf_capacity(storage: list[float]) -> None:
    """Each block can keep its own lots, and the blocks together hold what the warehouse
    does: its storage, or tonight's stock where that alone is more."""
    data = compile_network(_scenario(3, caps=True))
    data = replace(data, wh_storage_m3=np.array(storage))
    parts = [state_blocks.state_block_data(data, b) for b in state_blocks.state_blocks(data, 1)]
    total = np.sum([p.wh_storage_m3 for p in parts], axis=0)
    np.testing.assert_allclose(total, shelf_capacity(data), rtol=1e-12)
    for p in parts:
        assert (p.wh_storage_m3 >= tonight_m3(p) - 1e-12).all()
    assert sum(len(p.inv_sku) for p in parts) == len(data.inv_sku)


@pytest.mark.parametrize("seed", range(5))
def test_without_shared_capacities_the_blocks_give_the_state_paths_plan(
    seed: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No capacity to share: the blocks' LPs on last night's warehouses are the whole
    fixed-warehouse model cut by SKU, so the assembled plan costs what the monolithic state
    path's plan on those warehouses costs (up to the blocks' three outbound options per pair
    and class and their rounding of levels: 0.1 %), and never less than the optimum."""
    s = _scenario(seed, caps=False)
    last = plan_scenario(s, PARAMS).plan
    out = _on_blocks(s, monkeypatch, previous=last)
    p = out.plan.to_json()
    assert p["strategy"] == "blocks+state" and p["stats"]["blocks"] == 2
    assert any("SKU-block path with tonight's state" in n for n in p["notes"])
    assert p["status"] == "feasible" and p["bound"] is None
    assert out.evaluation is not None and out.evaluation.feasible, out.evaluation.violations
    assert out.evaluation.total == pytest.approx(p["objective"], rel=1e-9)
    fixed = plan_scenario(s, PARAMS.replace(strategy="decompose"), previous=last).plan.to_json()
    best = plan_scenario(s, PARAMS, previous=last).plan.to_json()
    assert p["objective"] == pytest.approx(fixed["objective"], rel=1e-3)
    assert p["objective"] >= best["objective"] - 1e-6 * abs(best["objective"])


@pytest.mark.parametrize("seed", range(5))
def test_with_capacities_the_assembled_plan_keeps_them(
    seed: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Capacities shared by the blocks (storage with tonight's lots, throughput, lanes): the
    assembled plan breaks none (the evaluator checks each), with a previous plan and without
    one (then on the naive floor's warehouses)."""
    s = _scenario(seed, caps=True)
    last = plan_scenario(s, PARAMS).plan
    best = plan_scenario(s, PARAMS, previous=last).plan.to_json()
    for previous in (last, None):
        out = _on_blocks(s, monkeypatch, previous=previous)
        p = out.plan.to_json()
        if p["strategy"] == "naive":  # the floor was cheaper (it pools the capacities)
            assert "costs more than the naive floor" in " ".join(p["notes"])
        else:
            assert p["strategy"] == "blocks+state"
        assert out.evaluation is not None and out.evaluation.feasible, out.evaluation.violations
        assert out.evaluation.total == pytest.approx(p["objective"], rel=1e-9)
        if previous is not None:
            assert p["objective"] >= best["objective"] - 1e-6 * abs(best["objective"])
    notes = " ".join(p["notes"])
    assert "the naive floor's warehouses" in notes


def test_without_a_given_set_the_aggregate_decides_the_warehouses() -> None:
    """Called without a previous plan and without a warehouse set, the blocks plan on the
    SKU-family aggregate's warehouses (of the network without state) and say so."""
    data = compile_network(_scenario(1, caps=True))
    res, notes = state_blocks.solve_state_blocks(
        data, PARAMS, deadline=time.perf_counter() + 30, runner=InlineRunner(), block_skus=1
    )
    assert res is not None and res.solution is not None
    assert "SKU families of the network without tonight's state" in notes[0]
    assert res.objective == pytest.approx(sum(res.cost.values()))


def _floor(data: Any) -> tuple[Any, Any]:
    cols = build_columns(data)
    return cols, within_capacity(data, cols, naive_solution(data, cols)[0])


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("with_previous", [False, True])
def test_a_plan_cut_into_its_blocks_and_joined_again_is_the_same_plan(
    seed: int, with_previous: bool
) -> None:
    """plan_part (a block's rows of the floor) on every block, then concat_state: the same
    flows, stock, lots, returns and cost as the floor itself."""
    s = _scenario(seed, caps=True)
    data = compile_network(s)
    if with_previous:
        data = attach_previous(data, plan_scenario(s, PARAMS).plan)
    cols, floor = _floor(data)
    blocks = state_blocks.state_blocks(data, 1)
    parts = [state_blocks.plan_part(data, cols, floor, b) for b in blocks]
    jc, js = state_blocks.concat_state(parts, [b.lots for b in blocks], len(data.inv_sku), floor.y)
    assert cost_terms(data, jc, js) == pytest.approx(cost_terms(data, cols, floor), rel=1e-12)
    for name in ("x", "q", "u", "f", "stock", "e", "r", "o", "sp"):
        assert getattr(js, name).sum() == pytest.approx(getattr(floor, name).sum(), abs=1e-9)
    assert np.array_equal(js.lo, floor.lo)
    assert sorted(jc.kw_sku * 100 + jc.kw_wh) == sorted(cols.kw_sku * 100 + cols.kw_wh)


def _second_fails(real: Any, failing: set[int]) -> Any:
    def run(shared: Any, item: Any) -> Any:
        cols, sol, secs, note = real(shared, item)
        if item[0] in failing:
            return cols, None, secs, f"block {item[0]}: no plan"
        return cols, sol, secs, note

    return run


def _rows_of(plan: dict[str, Any], sku: str) -> list[Any]:
    keys = ("fulfilment", "replenishment", "stock", "inventory_use", "returns")
    return [
        (k, sorted(json.dumps(r, sort_keys=True) for r in plan.get(k) or () if r["sku"] == sku))
        for k in keys
    ]


def _floor_and_mix(seed: int, monkeypatch: pytest.MonkeyPatch) -> tuple[Any, Any, Any, Any]:
    """The plan written when no block answers (the floor), and the plan when block 1 does
    not; with the scenario and last night's plan."""
    s = _scenario(seed, caps=True)
    last = plan_scenario(s, PARAMS).plan
    real = state_blocks._state_block
    monkeypatch.setattr(state_blocks, "_state_block", _second_fails(real, {0, 1}))
    floor = _on_blocks(s, monkeypatch, previous=last).plan.to_json()
    assert floor["strategy"] == "naive"
    assert "no SKU block gave a plan" in " ".join(floor["notes"])
    monkeypatch.setattr(state_blocks, "_state_block", _second_fails(real, {1}))
    return s, last, floor, _on_blocks(s, monkeypatch, previous=last)


@pytest.mark.parametrize("seed", [0, 1, 2, 5, 8])
def test_a_block_without_a_plan_keeps_the_floors_rows_for_its_skus(
    seed: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Block 1 gives no plan: its SKU keeps the floor's rows (those of the plan written when
    no block answers), block 0 keeps its own plan; the joined plan is feasible by the
    evaluator at the cost it claims and costs no more than the floor."""
    s, last, floor, out = _floor_and_mix(seed, monkeypatch)
    p = out.plan.to_json()
    notes = " ".join(p["notes"])
    assert p["strategy"] == "blocks+state", notes
    assert "block 1: no plan" in notes
    assert "keep the naive floor's rows for their SKUs" in notes
    assert out.evaluation is not None and out.evaluation.feasible, out.evaluation.violations
    assert out.evaluation.total == pytest.approx(p["objective"], rel=1e-9)
    assert p["objective"] <= floor["objective"] + 1e-6 * abs(floor["objective"])
    data = attach_previous(compile_network(s), last)
    (k,) = np.flatnonzero(state_blocks.state_blocks(data, 1)[1].skus)
    assert _rows_of(p, data.skus[k]) == _rows_of(floor, data.skus[k])


def test_a_join_dearer_than_the_floor_leaves_the_floor(monkeypatch: pytest.MonkeyPatch) -> None:
    """Seed 3: block 0's plan joined with the floor's rows of block 1 costs more than the
    floor, which keeps every capacity: the floor is written, with both costs."""
    _s, _last, floor, out = _floor_and_mix(3, monkeypatch)
    p = out.plan.to_json()
    assert p["strategy"] == "naive"
    assert "costs more than the naive floor" in " ".join(p["notes"])
    assert p["objective"] == pytest.approx(floor["objective"], rel=1e-12)


def test_a_join_that_breaks_a_capacity_leaves_the_floor(monkeypatch: pytest.MonkeyPatch) -> None:
    """A join that breaks a capacity (storage can: the floor's rows are not held to a block's
    storage share; here every check says so) is not written."""
    monkeypatch.setattr(planning, "breaks_capacity", lambda *a: True)
    _s, _last, floor, out = _floor_and_mix(0, monkeypatch)
    p = out.plan.to_json()
    assert p["strategy"] == "naive"
    assert "break a shared capacity" in " ".join(p["notes"])
    assert p["objective"] == pytest.approx(floor["objective"], rel=1e-12)


def test_worker_processes_give_the_plan_of_this_process(monkeypatch: pytest.MonkeyPatch) -> None:
    s = _scenario(4, caps=True)
    last = plan_scenario(s, PARAMS).plan
    here = _on_blocks(s, monkeypatch, previous=last).plan.to_json()
    ex = make_executor(workers=2)
    try:
        assert ex.kind == "processes"
        there = _on_blocks(s, monkeypatch, runner=ex, previous=last).plan.to_json()
    finally:
        ex.close()
    assert there["objective"] == pytest.approx(here["objective"], rel=1e-9)
    assert any("2 processes worker(s)" in n for n in there["notes"])


def test_a_floor_cheaper_than_the_blocks_plan_is_kept(monkeypatch: pytest.MonkeyPatch) -> None:
    """The blocks' shares of the capacities can cost more than the naive floor (it pools
    them): the cheaper plan is written when the floor keeps every capacity, and the notes say
    so. Here the blocks' plan is made dear on purpose."""
    s = _scenario(0, caps=False)
    real = planning.solve_state_blocks

    def dear(*a: Any, **kw: Any) -> Any:
        res, notes = real(*a, **kw)
        return replace(res, objective=res.objective * 10), notes

    monkeypatch.setattr(planning, "solve_state_blocks", dear)
    out = _on_blocks(s, monkeypatch, previous=plan_scenario(s, PARAMS).plan)
    p = out.plan.to_json()
    notes = " ".join(p["notes"])
    assert p["strategy"] == "naive"
    assert "costs more than the naive floor" in notes and "keeps every capacity" in notes
    assert out.evaluation is not None and out.evaluation.feasible, out.evaluation.violations


def test_no_time_for_the_blocks_leaves_the_floor_and_says_so(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from optimizer.plan import planning

    s = _scenario(1, caps=True)
    last = plan_scenario(s, PARAMS).plan
    monkeypatch.setattr(planning, "MIN_SOLVE_S", 1e9)  # any time left is too little
    out = _on_blocks(s, monkeypatch, previous=last)
    p = out.plan.to_json()
    assert p["strategy"] == "naive"
    assert "no time was left for the SKU blocks" in " ".join(p["notes"])
    assert out.evaluation is not None
    assert out.evaluation.total == pytest.approx(p["objective"], rel=1e-9)


def test_the_blocks_get_the_time_left_after_the_block_paths_output_reserve(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The blocks' workers are left at their deadline, so no solver overrun is reserved (the
    monolithic paths keep 2.3 s per second of column build: on tier L 127 s, of which the
    output used 20 s and two blocks missed the deadline): the deadline is the limit less the
    block path's output and the assembly, per demand pair."""
    from optimizer.plan import planning

    s = _scenario(1, caps=True)
    last = plan_scenario(s, PARAMS).plan
    seen: dict[str, float] = {}
    real = planning.solve_state_blocks

    def spy(*a: Any, **kw: Any) -> Any:
        seen["deadline"] = kw["deadline"]
        return real(*a, **kw)

    monkeypatch.setattr(planning, "solve_state_blocks", spy)
    monkeypatch.setattr(planning, "machine_slowdown", lambda: 1.0)
    t0 = time.perf_counter()
    _on_blocks(s, monkeypatch, previous=last, started=t0)
    pairs = int((compile_network(s).dem_units > 0).sum())
    reserve = planning.OUTPUT_FIXED_S + pairs * (
        planning.BLOCK_OUTPUT_PER_PAIR_S + planning.STATE_ASSEMBLY_PER_PAIR_S
    )
    assert seen["deadline"] == pytest.approx(t0 + PARAMS.time_limit_s - reserve, abs=1e-9)


def test_a_sku_known_only_to_the_previous_plan_is_planned(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Last night stocked a SKU that has neither demand nor stock tonight: its block is kept
    (its level goes back to 0 and pays the stability penalty), and the plan's cost is the
    evaluator's."""
    doc = random_state_doc(np.random.default_rng(2), caps=False)
    doc["skus"].append({**doc["skus"][0], "id": "K-GONE"})
    doc.setdefault("service", {})["stability_penalty_per_unit"] = 0.5
    s = parse_scenario(doc)
    last = plan_scenario(s, PARAMS).plan.to_json()
    wh = last["stock"][0]["warehouse"]
    last["stock"].append({**last["stock"][0], "sku": "K-GONE", "warehouse": wh, "units": 40})
    from optimizer.plan.document import Plan

    data = compile_network(s)
    assert "K-GONE" in data.skus and not (data.dem_sku == data.skus.index("K-GONE")).any()
    out = _on_blocks(s, monkeypatch, previous=Plan.from_json(last))
    p = out.plan.to_json()
    assert p["strategy"] == "blocks+state" and p["stats"]["blocks"] == 3
    assert out.evaluation is not None and out.evaluation.feasible, out.evaluation.violations
    assert out.evaluation.total == pytest.approx(p["objective"], rel=1e-9)
    gone = [r for r in p["stock"] if r["sku"] == "K-GONE" and r["warehouse"] == wh]
    # kept (holding) or moved (the stability penalty): either way it is in the plan's cost
    assert (gone and gone[0]["units"] == 40) or p["cost"]["stability"] >= 0.5 * 40 - 1e-6


@given(
    st.lists(
        st.tuples(
            st.floats(0, 100), st.floats(0, 100), st.floats(0, 1), st.sampled_from([1.0, np.inf])
        ),
        min_size=1,
        max_size=6,
    ),
    st.floats(0, 300),
)
def test_split_parts_add_up_to_the_capacity_and_cover_each_use_that_fits(
    rows: list[tuple[float, float, float, float]], cap: float
) -> None:
    """Two blocks: each block's part is its use plus its share of what is left (its use
    scaled down where the uses break the capacity); the parts add up to the capacity, an
    unlimited capacity stays unlimited."""
    use = np.array([[r[0] for r in rows], [r[1] for r in rows]])
    share = np.array([[rows[0][2]], [1 - rows[0][2]]])
    caps = np.array([cap * r[3] for r in rows])
    parts = state_blocks._split(caps, use, share)
    assert (parts >= 0).all()
    fin = np.isfinite(caps)
    assert np.isinf(parts[:, ~fin]).all()
    assert parts[:, fin].sum(axis=0) == pytest.approx(caps[fin], rel=1e-9, abs=1e-9)
    fits = fin & (use.sum(axis=0) <= caps)
    assert (parts[:, fits] >= use[:, fits] - 1e-9).all()


@pytest.mark.parametrize("seed", range(6))
def test_floor_caps_hold_each_blocks_floor_rows_and_add_up_to_the_capacities(seed: int) -> None:
    """floor_caps on the floor of a random scenario with capacities: each block's floor rows
    use no more throughput or lane capacity than its caps wherever the floor keeps the
    capacity, and the caps add up to the network's capacities."""
    data = compile_network(_scenario(seed, caps=True))
    cols, floor = _floor(data)
    blocks = state_blocks.state_blocks(data, 1)
    caps = state_blocks.floor_caps(data, cols, floor, blocks)
    thr = np.asarray(data.wh_throughput_per_day, float)
    fin = np.isfinite(thr)
    total = np.sum([c.throughput for c in caps], axis=0)
    assert total[fin] == pytest.approx(thr[fin], rel=1e-9)
    lfin = np.isfinite(data.lane_caps)
    lanes = np.sum([c.lanes for c in caps], axis=0)
    assert lanes[lfin] == pytest.approx(data.lane_caps[lfin], rel=1e-9)
    thr_used = np.bincount(cols.x_wh, weights=floor.x, minlength=len(thr)) / data.horizon_days
    kept = thr_used <= thr  # where the floor itself breaks a capacity, the parts are scaled
    lanes_kept = lane_loads(data, cols, floor)[0] <= data.lane_caps
    for block, c in zip(blocks, caps, strict=True):
        pc, ps = state_blocks.plan_part(data, cols, floor, block)
        db = state_blocks.state_block_data(data, block, c)
        used = np.bincount(pc.x_wh, weights=ps.x, minlength=len(thr)) / data.horizon_days
        assert (used <= db.wh_throughput_per_day * (1 + 1e-9) + 1e-9)[kept].all()
        fits = lane_loads(db, pc, ps)[0] <= db.lane_caps * (1 + 1e-9) + 1e-9
        assert fits[lanes_kept].all()
