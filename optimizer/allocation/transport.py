"""Fast exact pricing of a warehouse set when the fixed-warehouse model is a transportation problem.

With one SKU, no finite storage (no stocking-level rows), no lane capacities and no on-time
target, the allocation model with the warehouse use ``y`` fixed is a min-cost flow:

    origin ──(cheapest inbound option, capacity = throughput × horizon)──▶ warehouse w (open)
    warehouse w ──(each outbound option, capacity = D_p)──▶ demand pair p
    origin ──(direct option, or a lost sale at the penalty)──▶ demand pair p

This is the shape of the OR-Library capacitated warehouse location instances. OR-Tools' network
simplex solves it in milliseconds where the generic fixed-``y`` LP (build + HiGHS) takes about
half a second, which is what makes a thorough search over warehouse sets affordable
(:func:`optimizer.allocation.lagrangian_incumbent`).

The flow solver needs integer costs: costs are scaled by ``scale`` and rounded, so the flow found
is optimal for costs within ``0.5 / scale`` of the true ones. :meth:`TransportPricer.price`
returns the true cost of that flow (recomputed in floating point) and a lower bound on the
fixed-``y`` optimum that accounts for the rounding (each unit crosses at most two arcs), so
pricing by flow never claims more than it knows.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from network.compile import NetworkData
from optimizer.allocation.columns import Columns
from optimizer.allocation.lagrange import capacitated_lane_keys

__all__ = ["TransportPricer"]

F = npt.NDArray[np.float64]
I = npt.NDArray[np.int64]

#: Largest integer cost handed to the flow solver (its cost scaling multiplies costs by the
#: node count, which must stay inside int64).
_MAX_INT_COST = 2.0**62


@dataclass(frozen=True, slots=True)
class TransportPricer:
    """The fixed-``y`` allocation model as a min-cost flow (see the module docstring).

    Build with :meth:`build`, which returns ``None`` when the model is not of that shape.
    Arc arrays are over every warehouse; :meth:`price` keeps the arcs of open warehouses.
    """

    n_wh: int
    n_pairs: int
    fixed: F
    dem: I
    cap: I
    in_cost: F
    x_col: I
    x_wh: I
    x_pair: I
    x_cost: F
    o_pair: I
    o_cost: F
    scale: float

    @classmethod
    def build(
        cls, data: NetworkData, cols: Columns, targets: dict[str, float]
    ) -> TransportPricer | None:
        """The pricer for this model, or ``None`` if its fixed-``y`` LP is not a transportation
        problem (several SKUs, finite storage, lane capacities, an on-time target above zero,
        non-integer demand or throughput)."""
        W = len(data.warehouses)
        H = float(data.horizon_days)
        P = len(cols.p_dem)
        if len(data.skus) != 1 or P == 0 or np.isfinite(data.wh_storage_m3).any():
            return None
        if any(v > 0 for v in targets.values()) or len(capacitated_lane_keys(data, cols)):
            return None
        total = float(cols.p_dem.sum())
        cap = np.where(
            np.isfinite(data.wh_throughput_per_day), H * data.wh_throughput_per_day, total
        )
        if np.any(np.abs(cols.p_dem - np.round(cols.p_dem)) > 1e-9) or np.any(
            np.abs(cap - np.round(cap)) > 1e-9
        ):
            return None
        in_cost = np.full(W, np.inf)
        np.minimum.at(in_cost, cols.f_wh, cols.f_cost())
        x_cost = cols.x_cost() + in_cost[cols.x_wh]
        ok = np.isfinite(x_cost)
        # direct options and the lost sale: always available from the origin
        o_pair = np.concatenate([cols.q_pair, np.arange(P)]).astype(np.int64)
        o_cost = np.concatenate([cols.q_cost(), np.full(P, cols.lost_penalty)])
        worst = max(
            float(np.max(np.abs(x_cost[ok]), initial=0.0)),
            float(np.max(np.abs(o_cost), initial=0.0)),
            1.0,
        )
        # the flow solver multiplies costs by the node count, and the total cost (at most
        # 2 × demand × the dearest arc) must fit too
        scale = min(
            1e6,
            _MAX_INT_COST / (worst * (W + P + 2)),
            _MAX_INT_COST / (worst * 2.0 * max(total, 1.0)),
        )
        if scale < 1.0:
            return None
        return cls(
            W,
            P,
            np.asarray(data.wh_fixed_cost, float),
            np.round(cols.p_dem).astype(np.int64),
            np.round(np.minimum(cap, total)).astype(np.int64),
            in_cost,
            np.flatnonzero(ok).astype(np.int64),
            cols.x_wh[ok].astype(np.int64),
            cols.x_pair[ok].astype(np.int64),
            x_cost[ok],
            o_pair,
            o_cost,
            scale,
        )

    def price(self, y: F) -> tuple[float, float] | None:
        """``(cost of the optimal plan on warehouses y, lower bound on that optimum)``, or
        ``None`` if the flow solver refused (the caller then prices the set the generic way)."""
        out = self.solve(y)
        return None if out is None else out[:2]

    def solve(self, y: F) -> tuple[float, float, F] | None:
        """Like :meth:`price`, plus the flow on each outbound arc (the ``x_*`` arrays; arc
        ``i`` is the model's outbound column ``x_col[i]``)."""
        from ortools.graph.python import min_cost_flow

        W, P = self.n_wh, self.n_pairs
        yo = np.asarray(y, float) > 0.5
        wo = np.flatnonzero(yo & np.isfinite(self.in_cost))
        xs = np.flatnonzero(yo[self.x_wh])
        g = min_cost_flow.SimpleMinCostFlow()
        origin = W + P
        s = self.scale
        g.add_arcs_with_capacity_and_unit_cost(
            np.full(len(wo), origin, np.int64),
            wo,
            self.cap[wo],
            np.round(self.in_cost[wo] * s).astype(np.int64),
        )
        g.add_arcs_with_capacity_and_unit_cost(
            self.x_wh[xs],
            W + self.x_pair[xs],
            self.dem[self.x_pair[xs]],
            np.round((self.x_cost[xs] - self.in_cost[self.x_wh[xs]]) * s).astype(np.int64),
        )
        g.add_arcs_with_capacity_and_unit_cost(
            np.full(len(self.o_pair), origin, np.int64),
            W + self.o_pair,
            self.dem[self.o_pair],
            np.round(self.o_cost * s).astype(np.int64),
        )
        supply = np.zeros(W + P + 1, np.int64)
        supply[W : W + P] = -self.dem
        supply[origin] = int(self.dem.sum())
        g.set_nodes_supplies(np.arange(W + P + 1), supply)
        status = g.solve()
        if status != g.OPTIMAL:  # cost range too wide for its integers: never seen here
            return None
        n_in, n_x = len(wo), len(xs)
        flow = g.flows(np.arange(n_in + n_x + len(self.o_pair))).astype(float)
        x = np.zeros(len(self.x_wh))
        x[xs] = flow[n_in : n_in + n_x]
        cost = (
            float(self.fixed @ yo)
            + float(x @ self.x_cost)
            + float(flow[n_in + n_x :] @ self.o_cost)
        )
        # rounding moved each arc's cost by at most 0.5/scale; a unit crosses ≤ 2 arcs
        low = cost - 2.0 * float(self.dem.sum()) / s
        return cost, low, x
