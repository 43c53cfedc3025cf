"""Lane capacity rows are named by (lane, LaneDim), encoded in one place (model.lane_key)."""

from __future__ import annotations

import numpy as np

from network.compile import LaneDim
from optimizer.allocation.columns import build_columns
from optimizer.allocation.lagrange import capacitated_lane_keys
from optimizer.allocation.model import (
    build_allocation_model,
    lane_key,
    lane_key_caps,
    split_lane_key,
)
from tests.helpers import read


def test_lane_dim_values_and_units() -> None:
    """LaneDim is the column order of NetworkData.lane_caps: kg, m3, units."""
    assert [int(d) for d in LaneDim] == [0, 1, 2]
    assert [d.unit for d in LaneDim] == ["kg", "m3", "units"]


def test_lane_key_round_trips_and_orders_by_lane_then_dim() -> None:
    """split_lane_key inverts lane_key; keys sort by lane, then dimension."""
    lanes = np.array([0, 0, 5, 7, 7, 7], dtype=np.int64)
    dims = np.array([LaneDim.KG, LaneDim.UNITS, LaneDim.M3, 0, 1, 2], dtype=np.int64)
    keys = lane_key(lanes, dims)
    back_lane, back_dim = split_lane_key(keys)
    assert back_lane.tolist() == lanes.tolist() and back_dim.tolist() == dims.tolist()
    assert np.all(np.diff(keys) > 0)
    assert int(lane_key(np.array([3]), LaneDim.M3)[0]) == 3 * len(LaneDim) + 1


def test_model_lane_rows_carry_their_lanes_capacity() -> None:
    """Each lane row of the model is bounded by its (lane, dimension) capacity × horizon, and
    the Lagrangian's key list is the model's."""
    s, data = read("two_wh")
    doc = s.to_document()
    for ln in doc["lanes"]:
        if ln["id"] == "O-W1":
            ln["capacity_units_per_day"] = 3.0
            ln["capacity_kg_per_day"] = 0.5  # below the lane's possible load: it can bind
    from network.compile import compile_network
    from network.scenario import parse_scenario

    data = compile_network(parse_scenario(doc))
    model = build_allocation_model(data)
    lane, dim = split_lane_key(model.lane_keys)
    li = data.lanes.index("O-W1")
    assert set(zip(lane.tolist(), dim.tolist(), strict=True)) == {
        (li, LaneDim.KG),
        (li, LaneDim.UNITS),
    }
    a, b = model.rows["lanes"]
    H = float(data.horizon_days)
    assert model.row_ub[a:b].tolist() == (lane_key_caps(data, model.lane_keys) * H).tolist()
    assert sorted(model.row_ub[a:b].tolist()) == sorted([0.5 * H, 3.0 * H])
    cols = build_columns(data)
    assert capacitated_lane_keys(data, cols).tolist() == model.lane_keys.tolist()
