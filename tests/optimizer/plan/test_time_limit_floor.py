"""Short time limits on the SKU-block path: the naive floor of blocks without an answer is
computed cheaply and within the limit, and a limit shorter than the scenario can keep is
refused up front, naming the shortest (``optimizer.plan.planning.shortest_limit``)."""

from __future__ import annotations

import itertools
import json
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from network.compile import compile_network
from network.scenario import parse_scenario
from optimizer.allocation import blocks
from optimizer.allocation.params import AllocationParams
from optimizer.exceptions import TimeLimitError
from optimizer.executor import InlineRunner
from optimizer.plan import planning
from optimizer.plan.planning import check_time_limit, plan_scenario, shortest_limit
from tests.helpers import random_doc


def _scenario(seed: int, **kw: int):  # type: ignore[no-untyped-def]
    return parse_scenario(random_doc(np.random.default_rng(seed), **kw))


class LateBlocks(InlineRunner):
    """A stand-in executor on which no block's first pass answers by its deadline (as on
    tier L under a short limit); every other task runs inline. Counts the blocks' maps."""

    def __init__(self) -> None:
        self.block_maps = 0

    def map(self, fn: Any, shared: Any, items: Any, *, deadline: float = float("inf")) -> Any:
        if fn is blocks._solve_block:
            self.block_maps += 1
            time.sleep(max(0.0, min(0.2, deadline - time.perf_counter())))
            return [None] * len(items)
        return super().map(fn, shared, items, deadline=deadline)


def test_blocks_without_answer_keep_their_naive_plan_within_a_short_limit(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Eight one-SKU blocks, none answering: each keeps its naive plan (computed here on its
    outbound-pruned columns), the plan is whole and said to be a fallback, within the limit."""
    monkeypatch.setattr(blocks, "BLOCK_SKUS", 1)
    s = _scenario(5, n_sku=8, n_zone=4, n_wh=3)
    runner = LateBlocks()
    t0 = time.perf_counter()
    out = plan_scenario(
        s, AllocationParams(time_limit=3, strategy="blocks"), executor=runner, started=t0
    )
    wall = time.perf_counter() - t0
    plan = out.plan.to_json()
    assert wall <= 3 * 1.1, wall
    assert runner.block_maps >= 1
    assert plan["stats"]["blocks"] == 8 and plan["stats"]["blocks_without_plan"] == 8
    assert any("no optimised plan in time" in n for n in plan["notes"])
    # every demand row is in the plan (served, late or lost): the naive plans of all blocks
    assert out.evaluation is not None
    assert out.evaluation.total == pytest.approx(plan["objective"], rel=1e-9)
    if not out.evaluation.feasible:
        assert plan["status"] == "time_limit"
    # no block optimised: only the warehouses the naive plans use (or kept open) are opened,
    # not the aggregate's as well
    res = out.result
    assert res.solution is not None and res.columns is not None
    data = compile_network(s)
    used = np.zeros(len(data.warehouses), bool)
    used[res.columns.x_wh[res.solution.x > 0]] = True
    opened = res.solution.y > 0.5
    assert not (opened & ~used & ~data.wh_kept_open).any()


def test_naive_block_is_a_naive_plan_of_the_block() -> None:
    """The cheap fallback (columns with only the outbound options pruned) serves every unit
    of the block, loses as many as the naive planner on the block's own columns, and costs
    at most 1 % more (0-0.3 % on these blocks: fewer outbound options to pick from)."""
    from optimizer.allocation.baseline import naive_solution
    from optimizer.allocation.columns import build_columns, cost_terms

    data = compile_network(_scenario(6, n_sku=3, n_zone=4, n_wh=3))
    for b, rows in enumerate(blocks.sku_blocks(data, 1)):
        bp = blocks.naive_block(data, b, rows)
        db = blocks.block_data(data, rows)
        cols = build_columns(db)
        nv, _ = naive_solution(db, cols)
        served = bp.naive.x.sum() + bp.naive.q.sum() + bp.naive.u.sum()
        assert served == pytest.approx(db.dem_units.sum())
        assert bp.naive.u.sum() == pytest.approx(nv.u.sum())
        cost = sum(cost_terms(db, bp.naive_cols, bp.naive).values())
        assert cost <= 1.01 * sum(cost_terms(db, cols, nv).values())
        assert bp.sol is None and bp.seconds == 0.0


def test_too_little_time_for_any_block_starts_no_map(monkeypatch: pytest.MonkeyPatch) -> None:
    """When the naive plans' reserve leaves less than a block's first pass, no worker is
    asked: every block's naive plan at once, no aggregate, within the limit."""
    monkeypatch.setattr(blocks, "BLOCK_SKUS", 1)
    monkeypatch.setattr(blocks, "BLOCK_FIRST_S_PER_ROW", 10.0)
    s = _scenario(7, n_sku=6, n_zone=3, n_wh=3)
    runner = LateBlocks()
    t0 = time.perf_counter()
    out = plan_scenario(
        s, AllocationParams(time_limit=2, strategy="blocks"), executor=runner, started=t0
    )
    assert time.perf_counter() - t0 <= 2 * 1.1
    assert runner.block_maps == 0
    plan = out.plan.to_json()
    assert plan["stats"]["blocks_without_plan"] == plan["stats"]["blocks"] == 6
    assert any("no warehouse aggregate" in n for n in plan["notes"])


def test_fallback_reserve_grows_with_rows_and_load() -> None:
    assert blocks.fallback_seconds(0) == 0.0
    assert blocks.fallback_seconds(1000) < blocks.fallback_seconds(2000)
    assert blocks.fallback_seconds(1000, 3.0) == pytest.approx(3 * blocks.fallback_seconds(1000))


def test_shortest_limit_is_monotone_in_size(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(planning, "BLOCK_MIN_SKUS", 1)
    p = AllocationParams(time_limit=5)
    sizes = [(2, 2), (3, 3), (5, 4), (8, 6)]
    got = [shortest_limit(_scenario(1, n_sku=k, n_zone=z), p) for k, z in sizes]
    assert all(a < b for a, b in itertools.pairwise(got)), got
    assert got[0] > planning.SHORTEST_FIXED_S
    # the naive baseline's document and evaluation add to the floor
    s = _scenario(1, n_sku=3, n_zone=3)
    assert shortest_limit(s, p.replace(baseline="naive")) > shortest_limit(s, p)


def test_small_catalogues_are_never_refused() -> None:
    """Off the block path (tiers S and M, sea-72h) there is no floor to refuse for."""
    from network.scenario import load_scenario

    root = Path(__file__).resolve().parents[3]
    s72 = load_scenario(root / "datasets" / "sea-72h")
    assert shortest_limit(s72, AllocationParams(time_limit=1)) == 0.0
    check_time_limit(s72, AllocationParams(time_limit=1))
    assert shortest_limit(_scenario(2), AllocationParams(time_limit=1)) == 0.0


def test_a_too_short_limit_is_refused_naming_the_shortest(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(planning, "BLOCK_MIN_SKUS", 1)
    monkeypatch.setattr(planning, "SHORTEST_S_PER_ROW", 1.0)
    s = _scenario(3, n_sku=3, n_zone=3)
    rows = int((np.asarray(s.demand.units) > 0).sum())
    shortest = planning.SHORTEST_FIXED_S + rows
    with pytest.raises(TimeLimitError, match=rf"about {shortest:g} s") as e:
        plan_scenario(s, AllocationParams(time_limit=shortest - 1))
    assert e.value.shortest_s == shortest
    assert "too short" in str(e.value)
    # a limit as long as the shortest is kept
    check_time_limit(s, AllocationParams(time_limit=shortest))


def test_cli_refuses_a_too_short_limit_with_exit_2(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from api.cli import main

    monkeypatch.setattr(planning, "BLOCK_MIN_SKUS", 1)
    monkeypatch.setattr(planning, "SHORTEST_S_PER_ROW", 1.0)
    path = tmp_path / "s.json"
    path.write_text(json.dumps(random_doc(np.random.default_rng(3), n_sku=3, n_zone=3)))
    out = tmp_path / "out"
    code = main(["plan", str(path), "--out", str(out), "--time-limit", "2", "--quiet"])
    err = capsys.readouterr().err
    assert code == 2
    assert "--time-limit" in err and "too short" in err and "give at least that" in err
    assert not (out / "plan.json").exists()


def test_fast_dense_group_gives_the_same_ids() -> None:
    from optimizer.allocation.columns import dense_group, dense_group_fast

    rng = np.random.default_rng(0)
    a = rng.integers(0, 50, 2000)
    b = rng.integers(0, 7, 2000).astype(np.int16)
    assert np.array_equal(dense_group_fast(a, b), dense_group(a, b))
    assert np.array_equal(dense_group_fast(a[:0], b[:0]), dense_group(a[:0], b[:0]))


def test_a_large_catalogue_with_state_has_the_state_paths_floor(
    monkeypatch: pytest.MonkeyPatch, data_dir: Path
) -> None:
    """With tonight's state or a previous plan a catalogue the SKU blocks would plan takes the
    state path, whose columns over every option come before its floor: sea-L with a previous
    plan took 78 s at a limit of 46 s, past the blocks' floor of 45 s. Its floor is the state
    path's, named as such, for a previous plan (plan_scenario, CLI) and for inventory."""
    monkeypatch.setattr(planning, "BLOCK_MIN_SKUS", 1)
    p = AllocationParams(time_limit=5)
    s = _scenario(3, n_sku=3, n_zone=3)
    rows = int((np.asarray(s.demand.units) > 0).sum())
    blocks_floor = planning.SHORTEST_FIXED_S + planning.SHORTEST_S_PER_ROW * rows
    state_floor = planning.SHORTEST_FIXED_S + planning.SHORTEST_STATE_S_PER_ROW * rows
    assert shortest_limit(s, p) == pytest.approx(blocks_floor)
    assert shortest_limit(s, p, previous=True) == pytest.approx(state_floor)
    assert state_floor > blocks_floor
    inv = json.loads((data_dir / "tiny-my-v11.json").read_text())
    s_inv = parse_scenario(inv)
    rows_inv = int((np.asarray(s_inv.demand.units) > 0).sum())
    assert shortest_limit(s_inv, p) == pytest.approx(
        planning.SHORTEST_FIXED_S + planning.SHORTEST_STATE_S_PER_ROW * rows_inv
    )
    monkeypatch.setattr(planning, "SHORTEST_STATE_S_PER_ROW", 1.0)
    prev = plan_scenario(s, AllocationParams(time_limit=30, strategy="monolithic")).plan
    with pytest.raises(TimeLimitError, match="with tonight's state or a previous plan") as e:
        plan_scenario(s, AllocationParams(time_limit=rows - 1.0), previous=prev)
    assert e.value.shortest_s == planning.SHORTEST_FIXED_S + rows
    check_time_limit(s, AllocationParams(time_limit=rows - 1.0))  # without it: the blocks'


def test_a_whatif_of_a_plan_made_against_a_previous_plan_has_the_state_floor(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Its re-plan is made against that previous plan too, on the state path: the what-if's
    floor counts the state path's, and a limit between the two is refused naming it."""
    from optimizer.risk.whatif import check_whatif_limit, shortest_whatif_limit

    monkeypatch.setattr(planning, "BLOCK_MIN_SKUS", 1)
    monkeypatch.setattr(planning, "SHORTEST_STATE_S_PER_ROW", 1.0)
    p = AllocationParams(time_limit=5)
    s = _scenario(3, n_sku=3, n_zone=3)
    rows = int((np.asarray(s.demand.units) > 0).sum())
    plain = shortest_whatif_limit(s, 100, p)
    with_prev = shortest_whatif_limit(s, 100, p, previous=True)
    assert with_prev - plain == pytest.approx(rows - planning.SHORTEST_S_PER_ROW * rows)
    between = AllocationParams(time_limit=(plain + with_prev) / 2)
    check_whatif_limit(s, 100, between)
    with pytest.raises(TimeLimitError, match="too short for a what-if"):
        check_whatif_limit(s, 100, between, previous=True)
