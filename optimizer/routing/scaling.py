"""Integer scaling: the instance's floating-point data as the integers OR-Tools needs.

Costs are multiplied by ``cost_scale`` and rounded; times by ``time_scale`` and rounded *up* for
travel and service (and ``tw_late``/``shift_end``/``max_duration`` rounded *down*) so a solution
feasible for OR-Tools is feasible in the exact arithmetic; demands are rounded up and capacities
down after multiplying by ``demand_scale``. Each scale is 1 when the data are already integral
(e.g. CVRPLIB with TSPLIB rounding), else a power of ten chosen to keep magnitudes near
1e6–1e8 per value. Reported costs and distances are recomputed in floating point from the
instance's arrays by the independent evaluator, never read back from these integers.

The model's node order is the client order permuted by the seed (``Scaled.perm``): node ``n <
D`` is depot ``n``, node ``n >= D`` is client ``perm[n - D]``.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from optimizer.exceptions import ScalingWarning
from optimizer.routing.instance import INF, F, RoutingInstance, VehicleType

__all__ = ["MAX_INT", "Scaled", "VehicleBounds", "scale_for", "scale_instance", "to_int"]

I64 = npt.NDArray[np.int64]
MAX_INT = 1 << 44
"""Per-value bound after scaling (sums of ~1e4 of them stay far below int64)."""


def scale_for(values: list[F], target: float = 1e7) -> int:
    """1 when all finite values are integral, else a power of ten taking the largest to ~target."""
    finite = [v[np.isfinite(v)] for v in values if v.size]
    if not finite:
        return 1
    allv = np.concatenate([f.ravel() for f in finite])
    if allv.size == 0 or np.all(np.abs(allv - np.round(allv)) < 1e-9):
        return 1
    vmax = float(np.max(np.abs(allv))) or 1.0
    k = math.floor(math.log10(target / vmax))
    return int(10 ** min(max(k, 0), 6))


def to_int(x: F, scale: int, how: str, cap: int = MAX_INT) -> I64:
    """``x * scale`` as integers rounded ``how`` (``ceil``, ``floor``, ``round``); inf -> cap."""
    y = np.asarray(x, dtype=np.float64) * scale
    inf = ~np.isfinite(y)
    y = np.where(inf, 0.0, y)
    # tolerance: values within 1e-6 of an integer count as that integer (float noise)
    r = np.round(y)
    near = np.abs(y - r) < 1e-6
    if how == "ceil":
        y = np.where(near, r, np.ceil(y))
    elif how == "floor":
        y = np.where(near, r, np.floor(y))
    else:
        y = r
    if np.any(y > cap):
        warnings.warn(
            f"scaled value {float(y.max()):.3g} above {cap}; clipped", ScalingWarning, stacklevel=3
        )
    y = np.minimum(y, cap)
    y = np.where(inf, cap, y)
    return y.astype(np.int64)


def _int1(x: float, scale: int, how: str) -> int:
    return int(to_int(np.array([x]), scale, how)[0])


@dataclass(frozen=True, slots=True)
class VehicleBounds:
    """One vehicle type's limits in the scaled integers (as floats, for the sweep)."""

    capacity: npt.NDArray[np.int64]
    shift_start: float
    shift_end: float
    max_duration: float


@dataclass(frozen=True)
class Scaled:
    """The instance in model node order, in floating point and in OR-Tools' integers.

    Floating-point arrays (node order): ``dist``, ``dur``, ``svc``, ``early``, ``late``, ``dem``
    (N x dims), ``pen`` (clients only), ``arc_hours = dur + svc[:, None]``; per vehicle type
    ``shift_s``, ``shift_e``, ``maxdur``, ``cost_pd``, ``cost_ph``, ``fixed``. Scales ``ts``
    (time), ``cs`` (cost), ``ds`` (per demand dimension). Integers: ``t_int``, ``svc_int``,
    ``transit`` (travel plus service at the arc's origin), ``early_i``, ``late_i`` and the
    horizon ``H``.
    """

    perm: npt.NDArray[np.int64]
    loc_of_node: npt.NDArray[np.int64]
    dist: F
    dur: F
    svc: F
    early: F
    late: F
    dem: F
    pen: F
    shift_s: F
    shift_e: F
    maxdur: F
    cost_pd: F
    cost_ph: F
    fixed: F
    arc_hours: F
    arc_costs: list[F]
    ts: int
    cs: int
    ds: list[int]
    t_int: I64
    svc_int: I64
    transit: I64
    H: int
    early_i: I64
    late_i: I64

    @property
    def has_time(self) -> bool:
        """Time matters: windows, durations, shifts or time costs (else no time dimension)."""
        return bool(
            np.isfinite(self.late).any()
            or np.any(self.early > 0)
            or np.isfinite(self.maxdur).any()
            or np.isfinite(self.shift_e).any()
            or np.any(self.cost_ph > 0)
            or np.any(self.shift_s > 0)
        )

    def arc_cost_int(self, cost_per_distance: float, cost_per_hour: float) -> I64:
        """Scaled arc costs of one (cost per distance, cost per hour) class."""
        m = self.dist * cost_per_distance + self.arc_hours * cost_per_hour
        return to_int(m, self.cs, "round")

    def demand_int(self, d: int) -> I64:
        """Scaled demand of every node in dimension ``d`` (rounded up)."""
        return to_int(self.dem[:, d], self.ds[d], "ceil")

    def capacity_int(self, vt: VehicleType, d: int) -> int:
        """Scaled capacity of a vehicle type in dimension ``d`` (rounded down)."""
        return _int1(vt.capacity[d], self.ds[d], "floor")

    def time_int(self, x: float, how: str) -> int:
        """A time (shift bound, duration) in the scaled integers."""
        return _int1(x, self.ts, how)

    def cost_int(self, x: float) -> int:
        """A cost (penalty) in the scaled integers."""
        return _int1(x, self.cs, "round")

    def bounds(self, vt: VehicleType) -> VehicleBounds:
        """A vehicle type's capacity, shift and duration limits in the scaled integers."""
        cap = np.array([self.capacity_int(vt, d) for d in range(self.dem.shape[1])])
        return VehicleBounds(
            capacity=cap,
            shift_start=float(self.time_int(vt.shift_start, "ceil")),
            shift_end=float(min(self.time_int(vt.shift_end, "floor"), self.H)),
            max_duration=float(self.time_int(vt.max_duration, "floor")),
        )

    def drop_big(self, num_clients: int) -> int:
        """A prohibitive drop penalty for mandatory clients (LNS starts from partial routes)."""
        arc_max = max(int(to_int(a, self.cs, "round").max()) for a in self.arc_costs)
        big = min(MAX_INT, 4 * arc_max + 2 * round(float(self.fixed.max()) * self.cs) + 1) * (
            num_clients + 1
        )
        return min(big, MAX_INT)


def scale_instance(inst: RoutingInstance, seed: int) -> Scaled:
    """Permute the clients by ``seed`` (0 = instance order) and scale every value."""
    D, C = inst.num_depots, inst.num_clients
    vts = inst.vehicle_types
    perm = np.arange(C)
    if seed:
        perm = np.random.default_rng(seed).permutation(C)
    loc_of_node = np.concatenate([np.arange(D), D + perm]).astype(np.int64)

    dist = inst.distance[np.ix_(loc_of_node, loc_of_node)]
    dur = inst.duration[np.ix_(loc_of_node, loc_of_node)]
    svc = np.concatenate([np.zeros(D), inst.service[perm]])
    early = np.concatenate([np.zeros(D), inst.tw_early[perm]])
    late = np.concatenate([np.full(D, INF), inst.tw_late[perm]])
    dem = np.vstack([np.zeros((D, inst.demand.shape[1])), inst.demand[perm]])
    pen = inst.drop_penalty[perm]

    shift_s = np.array([vt.shift_start for vt in vts])
    shift_e = np.array([vt.shift_end for vt in vts])
    maxdur = np.array([vt.max_duration for vt in vts])
    # a finite horizon: the latest time anything can happen
    finite_late = late[np.isfinite(late)]
    horizon = max(
        float(np.max(shift_e[np.isfinite(shift_e)], initial=0.0)),
        float(np.max(finite_late, initial=0.0))
        + float(dur.max(initial=0.0))
        + float(svc.max(initial=0.0)),
        float(np.max(shift_s, initial=0.0))
        + float(np.max(maxdur[np.isfinite(maxdur)], initial=0.0)),
    )
    if not np.isfinite(shift_e).all() and not np.isfinite(finite_late).any():
        # nothing bounds time: allow every client in sequence
        horizon += float(svc.sum()) + float(dur.max(initial=0.0)) * (C + 1)
    ts = scale_for([dur, svc, early, late, shift_s, shift_e, maxdur, np.array([horizon])])
    cost_pd = np.array([vt.cost_per_distance for vt in vts])
    cost_ph = np.array([vt.cost_per_hour for vt in vts])
    fixed = np.array([vt.fixed_cost for vt in vts])
    # per-hour costs are charged on travel + service time (arc-based, see VehicleType): a span
    # cost would make OR-Tools re-optimise every route's schedule with an LP inside each move
    # filter, which made a 2,000-order day ~100x slower in our trials
    arc_hours = dur + svc[:, None]
    arc_costs = [
        dist * c + arc_hours * h
        for c, h in {(float(a), float(b)) for a, b in zip(cost_pd, cost_ph, strict=True)}
    ]
    cs = scale_for([*arc_costs, fixed, pen], target=1e7)
    ds = [
        scale_for([dem[:, d], np.array([vt.capacity[d] for vt in vts])], target=1e6)
        for d in range(dem.shape[1])
    ]

    t_int = to_int(dur, ts, "ceil")
    svc_int = to_int(svc, ts, "ceil")
    transit = t_int + svc_int[:, None]  # service at the origin of the arc
    H = int(to_int(np.array([horizon]), ts, "ceil")[0]) + 1
    early_i = np.minimum(to_int(early, ts, "ceil"), H)
    late_i = np.minimum(to_int(late, ts, "floor"), H)
    return Scaled(
        perm=perm,
        loc_of_node=loc_of_node,
        dist=dist,
        dur=dur,
        svc=svc,
        early=early,
        late=late,
        dem=dem,
        pen=pen,
        shift_s=shift_s,
        shift_e=shift_e,
        maxdur=maxdur,
        cost_pd=cost_pd,
        cost_ph=cost_ph,
        fixed=fixed,
        arc_hours=arc_hours,
        arc_costs=arc_costs,
        ts=ts,
        cs=cs,
        ds=ds,
        t_int=t_int,
        svc_int=svc_int,
        transit=transit,
        H=H,
        early_i=early_i,
        late_i=late_i,
    )
