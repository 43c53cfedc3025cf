"""Column index arrays in narrow dtypes: exact ranges, consistent indices, the same optimum."""

from __future__ import annotations

from dataclasses import fields, replace

import numpy as np
import pytest

from network.compile import compile_network
from network.indices import index_dtype
from network.scenario import parse_scenario
from optimizer.allocation.columns import Columns, build_columns
from optimizer.allocation.params import AllocationParams
from optimizer.allocation.solve import solve_allocation
from tests.helpers import random_doc, random_state_doc


def _widened(cols: Columns) -> Columns:
    """The same columns with every integer array as int64 (what build_columns made before)."""
    ch = {}
    for f in fields(cols):
        v = getattr(cols, f.name)
        if isinstance(v, np.ndarray) and v.dtype.kind == "i":
            ch[f.name] = v.astype(np.int64)
    return replace(cols, **ch)


@pytest.mark.parametrize("seed", range(6))
def test_columns_are_narrow_consistent_and_solve_alike(seed: int) -> None:
    """Index arrays take the narrowest dtype from int32 up holding their range (pairs: pair ×
    warehouse keys), still point at the same (SKU, warehouse) pairs, and the optimum is
    bit-for-bit the one of the same columns in int64."""
    rng = np.random.default_rng(500 + seed)
    doc = random_state_doc(rng) if seed % 2 else random_doc(rng)
    data = compile_network(parse_scenario(doc))
    cols = build_columns(data)
    W, P = len(data.warehouses), len(cols.p_dem)
    ranges = {
        "p_sku": len(data.skus),
        "p_zone": len(data.zones),
        "x_pair": max(P, 1) * max(W, 1),
        "q_pair": max(P, 1) * max(W, 1),
        "x_opt": len(data.outbound),
        "q_opt": len(data.direct),
        "f_opt": len(data.inbound),
        "x_wh": W,
        "f_wh": W,
        "kw_wh": W,
        "f_sku": len(data.skus),
        "kw_sku": len(data.skus),
        "x_kw": len(cols.kw_sku),
        "f_kw": len(cols.kw_sku),
        "q_src": len(data.origins),
        "f_src": len(data.origins),
    }
    for name, n in ranges.items():
        assert getattr(cols, name).dtype == index_dtype(n, floor=np.int32), name
    assert cols.p_dem.dtype == cols.x_lane.dtype == np.float64
    assert np.array_equal(cols.kw_sku[cols.x_kw], cols.p_sku[cols.x_pair])
    assert np.array_equal(cols.kw_wh[cols.x_kw], cols.x_wh)
    assert np.array_equal(cols.kw_sku[cols.f_kw], cols.f_sku)
    assert np.array_equal(cols.kw_wh[cols.f_kw], cols.f_wh)
    params = AllocationParams(relative_gap=0)
    a = solve_allocation(data, params, columns=cols)
    b = solve_allocation(data, params, columns=_widened(cols))
    assert a.status == b.status
    assert a.objective == b.objective
    assert a.solution is not None and b.solution is not None
    assert np.array_equal(a.solution.x, b.solution.x)
