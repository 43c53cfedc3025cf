"""Exact pruning of inbound options on capacitated lanes (optimizer.allocation.columns).

Options on the same capacitated lanes enter the same lane rows alike, so among them only the
lower convex hull of (stock coefficient, cost) is kept: a unit property of the hull (every
dropped point lies on or above the hull of the kept ones, every hull vertex is kept), of the
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
from optimizer.allocation.columns import _keep_lower_hull, build_columns, capped_sets
from optimizer.allocation.params import AllocationParams
from optimizer.allocation.solve import solve_allocation
from tests.conftest import DATA as DATA_DIR


def _lower_envelope(a: np.ndarray, c: np.ndarray, at: float) -> float:
    """The least cost a mix of at most two of the points (a, c) reaches at coefficient
    ``at`` (inf outside their range)."""
    best = np.inf
    for i in range(len(a)):
        for j in range(len(a)):
            if a[i] <= at <= a[j]:
                t = 0.0 if a[j] == a[i] else (at - a[i]) / (a[j] - a[i])
                best = min(best, c[i] + t * (c[j] - c[i]))
    return best


points = st.lists(
    st.tuples(st.integers(0, 2), st.integers(0, 40), st.integers(0, 40), st.booleans()),
    min_size=1,
    max_size=25,
)


@given(points)
def test_the_hull_keeps_its_vertices_and_drops_only_points_above_it(
    rows: list[tuple[int, int, int, bool]],
) -> None:
    group = np.array([r[0] for r in rows], np.int64)
    coef = np.array([r[1] for r in rows], float) / 10.0
    cost = np.array([r[2] for r in rows], float)
    free = np.array([r[3] for r in rows])
    keep = _keep_lower_hull(group, cost, coef, free)
    assert keep[~free].all()  # capped options are not judged here
    for g in np.unique(group):
        m = (group == g) & free
        kept = m & keep
        for i in np.flatnonzero(m & ~keep):  # dropped: at or above the kept points' hull
            assert cost[i] >= _lower_envelope(coef[kept], cost[kept], coef[i]) - 1e-9
        for i in np.flatnonzero(m):  # a point strictly below every mix of two others stays
            others = m.copy()
            others[i] = False
            if cost[i] < _lower_envelope(coef[others], cost[others], coef[i]) - 1e-9:
                assert keep[i]


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
