"""Independent re-check of a routing solution (no OR-Tools).

``evaluate_routes(instance, routes, dropped=...)`` walks each route in floating point, from the
instance's own arrays (or from coordinates under a named distance convention), and reports every
violation it finds: a client missing or served twice, a mandatory client dropped, capacity per
dimension, time windows (service must *start* by ``tw_late``; waiting is allowed), the return
to the depot by the end of the shift, the maximum route duration, and the vehicle count per type.

Route duration is the shortest possible for the visit order: the departure is pushed as late as
the windows allow (Savelsbergh's forward time slack), so waiting at the start of the route is not
counted.

Cost = Σ routes (``fixed_cost + cost_per_distance·distance + cost_per_hour·(travel + service
time)``) + Σ dropped ``drop_penalty`` (waiting time is not charged).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from optimizer.routing.instance import RoutingInstance

__all__ = ["RouteCheck", "RouteEvaluation", "distance_matrix", "evaluate_routes"]

TOL = 1e-6


@dataclass(frozen=True, slots=True)
class RouteCheck:
    """Figures of one route as re-computed by the evaluator."""

    distance: float
    duration: float
    cost: float
    load: tuple[float, ...]
    departure: float
    arrival: float
    arrivals: tuple[float, ...] = ()
    """Arrival time at each stop (before any wait), in visit order."""
    starts: tuple[float, ...] = ()
    """Service start at each stop (``max(arrival, tw_early)``), in visit order."""


@dataclass(frozen=True, slots=True)
class RouteEvaluation:
    """Result of ``evaluate_routes``.

    Attributes
    ----------
    feasible : bool
        No violation found.
    violations : list of str
        One line per violation, naming the route and client.
    cost : float
        Total cost (vehicles + drop penalties); ``inf`` when a mandatory client is dropped.
    distance : float
        Total distance of all routes.
    drop_cost : float
        Sum of the dropped clients' penalties.
    routes : tuple of RouteCheck
        Per-route figures, in the order given.
    """

    feasible: bool
    violations: list[str]
    cost: float
    distance: float
    drop_cost: float
    routes: tuple[RouteCheck, ...]


def distance_matrix(coords: npt.ArrayLike, convention: str) -> npt.NDArray[np.float64]:
    """Euclidean distances between coordinates under a benchmark convention.

    Parameters
    ----------
    coords : array (L, 2)
    convention : {"exact", "nint", "trunc1", "floor", "ceil"}
        ``exact`` double precision (Solomon as stated), ``nint`` TSPLIB rounding to the nearest
        integer (CVRPLIB), ``trunc1`` truncation to one decimal (exact-method VRPTW literature),
        ``floor`` and ``ceil`` TSPLIB's ``FLOOR_2D`` and ``CEIL_2D``.

    Returns
    -------
    numpy.ndarray (L, L)

    Examples
    --------
    >>> distance_matrix([[0, 0], [1, 1]], "trunc1")[0, 1]
    np.float64(1.4)
    """
    xy = np.asarray(coords, dtype=np.float64)
    d: npt.NDArray[np.float64] = np.sqrt(((xy[:, None, :] - xy[None, :, :]) ** 2).sum(axis=2))
    if convention == "exact":
        return d
    if convention == "nint":
        out: npt.NDArray[np.float64] = np.floor(d + 0.5)
        return out
    if convention == "trunc1":
        out = np.floor(10.0 * d + 1e-9) / 10.0
        return out
    if convention == "floor":
        out = np.floor(d + 1e-9)
        return out
    if convention == "ceil":
        out = np.ceil(d - 1e-9)
        return out
    raise ValueError(f"distance convention {convention!r} not understood.")


def evaluate_routes(
    instance: RoutingInstance,
    routes: Sequence[tuple[int, Sequence[int]]] | Sequence[Sequence[int]],
    *,
    dropped: Sequence[int] = (),
    convention: str | None = None,
) -> RouteEvaluation:
    """Re-check a solution and recompute its cost.

    Parameters
    ----------
    instance : RoutingInstance
    routes : sequence
        Either ``(vehicle_type, client_indices)`` pairs, or plain client-index lists (then all
        routes use vehicle type 0). Client indices are 0-based (not the labels).
    dropped : sequence of int
        Clients declared as handed to the parcel carrier.
    convention : str, optional
        Recompute distances and travel times from ``instance.coords`` under this convention
        (``exact``, ``nint``, ``trunc1``, ``floor``, ``ceil``: :func:`distance_matrix`) instead
        of using the instance's matrices. Travel time
        equals the recomputed distance (the Solomon convention).

    Returns
    -------
    RouteEvaluation
    """
    inst = instance
    D, C = inst.num_depots, inst.num_clients
    if convention is not None:
        if inst.coords is None:
            raise ValueError(f"{inst.name}: no coordinates to recompute distances from.")
        dist = distance_matrix(inst.coords, convention)
        dur = dist
    else:
        dist, dur = inst.distance, inst.duration
    pairs: list[tuple[int, list[int]]] = []
    for r in routes:
        if isinstance(r, tuple) and len(r) == 2 and not isinstance(r[1], int | np.integer):
            pairs.append((int(r[0]), [int(c) for c in r[1]]))
        else:
            pairs.append((0, [int(c) for c in r]))  # type: ignore[union-attr]

    v: list[str] = []
    seen = np.zeros(C, dtype=np.int64)
    used = np.zeros(len(inst.vehicle_types), dtype=np.int64)
    checks: list[RouteCheck] = []
    label = inst.client_ids

    def name(c: int) -> Any:
        return label[c] if 0 <= c < C else c

    for k, (t, seq) in enumerate(pairs):
        if not 0 <= t < len(inst.vehicle_types):
            v.append(f"route {k}: unknown vehicle type {t}")
            checks.append(RouteCheck(0.0, 0.0, 0.0, (), 0.0, 0.0))
            continue
        vt = inst.vehicle_types[t]
        bad = [c for c in seq if not 0 <= c < C]
        if bad:
            v.append(f"route {k}: unknown client index {bad[0]}")
            checks.append(RouteCheck(0.0, 0.0, 0.0, (), 0.0, 0.0))
            continue
        if not seq:
            checks.append(RouteCheck(0.0, 0.0, 0.0, (), 0.0, 0.0))
            continue
        used[t] += 1
        for c in seq:
            seen[c] += 1
        locs = [vt.start_depot] + [D + c for c in seq] + [vt.end]
        # distance
        dsum = float(sum(dist[a, b] for a, b in itertools.pairwise(locs)))
        # capacity per dimension
        load = inst.demand[np.asarray(seq)].sum(axis=0)
        for d, (q, cap) in enumerate(zip(load, vt.capacity, strict=True)):
            if q > cap + TOL * max(1.0, cap):
                v.append(f"route {k}: load {q:g} > capacity {cap:g} in {inst.dimension_names[d]!r}")
        # schedule: forward pass from the earliest departure
        dep0 = vt.shift_start
        sched = _forward(inst, dur, locs, seq, dep0)
        # push the departure as late as possible without delaying any service past its window
        slack = math.inf
        waited = 0.0
        for i, c in enumerate(seq):
            arr, start = sched[1][i], sched[2][i]
            waited += start - arr
            slack = min(slack, waited + inst.tw_late[c] - start)
        slack = min(slack, waited + vt.shift_end - sched[0])
        shift = max(0.0, min(slack, waited)) if math.isfinite(slack) else waited
        if shift > 0:
            sched = _forward(inst, dur, locs, seq, dep0 + shift)
        ret, arrs, starts = sched
        for i, c in enumerate(seq):
            if starts[i] > inst.tw_late[c] + TOL * max(1.0, abs(inst.tw_late[c])):
                v.append(
                    f"route {k}: client {name(c)!r} served at {starts[i]:.4f} after its "
                    f"window closes at {inst.tw_late[c]:g}"
                )
        if ret > vt.shift_end + TOL * max(1.0, abs(vt.shift_end)):
            v.append(f"route {k}: returns at {ret:.4f} after the shift end {vt.shift_end:g}")
        duration = ret - (dep0 + shift)
        if duration > vt.max_duration + TOL * max(1.0, vt.max_duration):
            v.append(f"route {k}: duration {duration:.4f} > max_duration {vt.max_duration:g}")
        busy = float(
            sum(dur[a, b] for a, b in itertools.pairwise(locs))
            + inst.service[np.asarray(seq)].sum()
        )
        cost = vt.fixed_cost + vt.cost_per_distance * dsum + vt.cost_per_hour * busy
        checks.append(
            RouteCheck(
                dsum,
                duration,
                cost,
                tuple(float(x) for x in load),
                dep0 + shift,
                ret,
                tuple(arrs),
                tuple(starts),
            )
        )

    for t, vt in enumerate(inst.vehicle_types):
        if used[t] > vt.count:
            v.append(f"vehicle type {vt.name or t!r}: {used[t]} routes > {vt.count} vehicles")
    drop = np.zeros(C, dtype=np.int64)
    for c in dropped:
        if not 0 <= int(c) < C:
            v.append(f"dropped: unknown client index {c}")
            continue
        drop[int(c)] += 1
    for c in np.flatnonzero(seen > 1).tolist():
        v.append(f"client {name(int(c))!r} visited {seen[c]} times")
    for c in np.flatnonzero((seen > 0) & (drop > 0)).tolist():
        v.append(f"client {name(int(c))!r} both routed and dropped")
    for c in np.flatnonzero((seen == 0) & (drop == 0)).tolist():
        v.append(f"client {name(int(c))!r} neither routed nor handed to a carrier")
    dmask = (drop > 0) & (seen == 0)
    for c in np.flatnonzero(dmask & ~np.isfinite(inst.drop_penalty)).tolist():
        v.append(f"client {name(int(c))!r} is mandatory but dropped")
    drop_cost = float(inst.drop_penalty[dmask].sum()) if dmask.any() else 0.0
    total_d = float(sum(ch.distance for ch in checks))
    cost = float(sum(ch.cost for ch in checks)) + drop_cost
    return RouteEvaluation(
        feasible=not v,
        violations=v,
        cost=cost,
        distance=total_d,
        drop_cost=drop_cost,
        routes=tuple(checks),
    )


def _forward(
    inst: RoutingInstance,
    dur: npt.NDArray[np.float64],
    locs: list[int],
    seq: list[int],
    depart: float,
) -> tuple[float, list[float], list[float]]:
    """Arrival and service start at each client, and the return time, for one departure."""
    t = depart
    arrs: list[float] = []
    starts: list[float] = []
    prev = locs[0]
    for c, loc in zip(seq, locs[1:-1], strict=True):
        t += float(dur[prev, loc])
        arrs.append(t)
        t = max(t, float(inst.tw_early[c]))
        starts.append(t)
        t += float(inst.service[c])
        prev = loc
    t += float(dur[prev, locs[-1]])
    return t, arrs, starts
