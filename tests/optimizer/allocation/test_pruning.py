"""Exact pruning of inbound options on capacitated lanes (optimizer.allocation.columns).

Options on the same capacitated lanes enter the same lane rows alike, so among them only the
lower convex hull of the Pareto frontier in (stock coefficient, cost) is kept: a property of
the pruning (a dropped point is reached by a kept one or a mix of two, a point no mix of the
others reaches is kept), of the
lane sets (same multiset, same id), and the optimum of a scenario whose inbound paths all
cross one capped sea lane, with and without pruning.
"""

from __future__ import annotations

import copy
import json
from typing import Any

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from network.compile import PathOptions, compile_network
from network.scenario import parse_scenario
from optimizer.allocation.columns import _keep_frontier_hull, build_columns, capped_sets
from optimizer.allocation.params import AllocationParams
from optimizer.allocation.solve import solve_allocation
from tests.conftest import DATA as DATA_DIR


def _covered(a: np.ndarray, c: np.ndarray, at: float, ct: float) -> bool:
    """Whether one of the points (a, c), or a mix of two, reaches coefficient ``at`` or less at
    cost ``ct`` or less."""
    for i in range(len(a)):
        if a[i] <= at + 1e-12 and c[i] <= ct + 1e-9:
            return True
        for j in range(len(a)):
            if a[i] < at < a[j]:
                t = (at - a[i]) / (a[j] - a[i])
                if c[i] + t * (c[j] - c[i]) <= ct + 1e-9:
                    return True
    return False


points = st.lists(
    st.tuples(st.integers(0, 2), st.integers(0, 40), st.integers(0, 40)),
    min_size=1,
    max_size=25,
)


@given(points)
def test_the_frontier_hull_keeps_what_no_mix_replaces_and_drops_only_what_a_mix_does(
    rows: list[tuple[int, int, int]],
) -> None:
    """A point is dropped only if the kept points of its group (one, or a mix of two) reach
    its coefficient or less at its cost or less; a point no mix of the others reaches is kept;
    every group keeps a point, and no kept point is dominated or above a chord of kept ones."""
    group = np.array([r[0] for r in rows], np.int64)
    coef = np.array([r[1] for r in rows], float) / 10.0
    cost = np.array([r[2] for r in rows], float)
    keep = _keep_frontier_hull(group, cost, coef)
    for g in np.unique(group):
        m = group == g
        kept = m & keep
        assert kept.any()
        for i in np.flatnonzero(m & ~keep):
            assert _covered(coef[kept], cost[kept], coef[i], cost[i])
        for i in np.flatnonzero(m):
            others = m.copy()
            others[i] = False
            if not _covered(coef[others], cost[others], coef[i], cost[i]):
                assert keep[i]
        # and nothing is kept that another kept point dominates or that lies strictly above
        # the chord of two kept points (collinear points may stay)
        a, c = coef[kept], cost[kept]
        for i in range(len(a)):
            for j in range(len(a)):
                if j != i:
                    assert not (a[j] <= a[i] and c[j] <= c[i])
                for k in range(len(a)):
                    if a[j] < a[i] < a[k]:
                        t = (a[i] - a[j]) / (a[k] - a[j])
                        assert c[i] <= c[j] + t * (c[k] - c[j]) + 1e-9


@given(st.lists(st.lists(st.integers(0, 5), max_size=4), min_size=1, max_size=12))
def test_capped_sets_name_each_multiset_of_capped_lanes_once(paths: list[list[int]]) -> None:
    capped = np.array([True, False, True, True, False, True])
    ptr = np.r_[0, np.cumsum([len(p) for p in paths])].astype(np.int64)
    idx = np.array([x for p in paths for x in p], np.int64)
    n = len(paths)
    opts = PathOptions(
        src=np.zeros(n, np.int64),
        dst=np.zeros(n, np.int64),
        hours=np.zeros(n),
        vec=np.zeros((n, 1)),
        lane_ptr=ptr,
        lane_idx=idx,
    )
    ids = capped_sets(opts, capped)
    key = [tuple(sorted(x for x in p if capped[x])) for p in paths]
    for i in range(n):
        for j in range(n):
            assert (ids[i] == ids[j]) == (key[i] == key[j])


def _hub_doc() -> dict[str, Any]:
    """tiny-my with a capped sea lane into the gateway and three customs lanes from it to
    WH-KUL: fast and dear, middling, slow and cheap (the middling one above the chord)."""
    doc = copy.deepcopy(json.loads((DATA_DIR / "tiny-my.json").read_text()))
    for ln in doc["lanes"]:
        if ln["id"] == "SZX-PKG-sea":
            ln["capacity_m3_per_day"] = 1e6
    base = next(ln for ln in doc["lanes"] if ln["id"] == "PKG-KUL-customs")
    for name, hours, cost in (("mid", 200, 0.9), ("slow", 400, 0.06)):
        extra = dict(base, id=f"PKG-KUL-{name}", transit_hours=hours, cost_per_unit=cost)
        doc["lanes"].append(extra)
    base["cost_per_unit"] = 1.0
    return doc


def test_options_on_one_capped_lane_are_pruned_to_their_hull_and_the_optimum_stays() -> None:
    data = compile_network(parse_scenario(_hub_doc()))
    kul = data.warehouses.index("WH-KUL")
    full = build_columns(data, prune=False)
    pruned = build_columns(data)
    n_full = np.bincount(full.f_sku[full.f_wh == kul], minlength=len(data.skus))
    n_pruned = np.bincount(pruned.f_sku[pruned.f_wh == kul], minlength=len(data.skus))
    assert (n_full == 3).all()  # three Pareto paths, every one on the capped sea lane
    assert (n_pruned < n_full).all()
    params = AllocationParams(relative_gap=0)
    a = solve_allocation(data, params, columns=full)
    b = solve_allocation(data, params, columns=pruned)
    assert a.objective == pytest.approx(b.objective, rel=1e-9, abs=1e-6)
