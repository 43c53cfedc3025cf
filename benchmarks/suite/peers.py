"""Peer solvers run beside ours on the same instances and limits.

Routing: PyVRP (``solve_pyvrp``), given the same ``RoutingInstance`` our solver gets. PyVRP needs
integers: distances and times are multiplied by the smallest power of ten (1, 10, 100, 1000)
that makes every distance integral (10 for Solomon's one-decimal truncation, 1 for CVRPLIB's
rounding), else by 1000 with rounding; travel and service times are rounded *up* and time-window
ends *down*, so a PyVRP-feasible solution stays feasible in the instance's own arithmetic. The
solution goes through the same independent evaluator as ours; the cost in the row is the
evaluator's, not PyVRP's.

Time: the limit is a wall-clock budget from the start of ``solve_pyvrp``, as it is for our
solver (whose limit covers building its model). PyVRP's own ``MaxRuntime`` clock starts only
at its first iteration, after the conversion here and its initial exhaustive local search, so
with it PyVRP searched for the whole limit *plus* its set-up (4.5 s for a 3 s limit on
day-n500-s0, 3.4 s on a 200-client Gehring & Homberger instance): a ratio to a peer that had
more time. ``Deadline`` stops it at the budget's end instead; only a set-up longer than the
whole limit still overruns (the report flags solves over the limit + 10 %).

Allocation peers live in ``benchmarks.suite.alloc`` (they need the scenario layer).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

from benchmarks.suite.spec import SolveOutput

__all__ = ["Deadline", "load_pyvrp", "pyvrp_scale", "solve_pyvrp", "to_pyvrp"]

_BIG = np.iinfo(np.int64).max // 4


def pyvrp_scale(distance: np.ndarray) -> int:
    """Smallest of 1, 10, 100, 1000 that makes every finite distance an integer (else 1000)."""
    d = np.asarray(distance, dtype=float)
    d = d[np.isfinite(d)]
    for s in (1, 10, 100, 1000):
        if np.all(np.abs(d * s - np.round(d * s)) < 1e-6):
            return s
    return 1000


def _int(x: float, scale: int, how: str) -> int:
    if not math.isfinite(x):
        return int(_BIG)
    v = x * scale
    rounding: dict[str, Callable[[float], int]] = {
        "round": round,
        "up": lambda y: math.ceil(y - 1e-9),
        "down": lambda y: math.floor(y + 1e-9),
    }
    f = rounding[how]
    return int(min(f(v), _BIG))


def to_pyvrp(instance: Any) -> tuple[Any, int]:
    """A ``pyvrp.ProblemData`` for a ``RoutingInstance`` and the distance/time scale used.

    Raises
    ------
    ValueError
        The instance has something PyVRP cannot express here (optional clients with a
        non-integral penalty are mapped to prizes, which is fine; more than one depot with
        mismatched vehicle depots is passed through; per-hour costs and a non-integral
        cost per distance are not supported: PyVRP would minimise another objective).
    """
    import pyvrp

    inst = instance
    scale = pyvrp_scale(inst.distance)
    D, C = inst.num_depots, inst.num_clients
    dist = np.vectorize(lambda v: _int(v, scale, "round"), otypes=[np.int64])(inst.distance)
    dur = np.vectorize(lambda v: _int(v, scale, "up"), otypes=[np.int64])(inst.duration)
    np.fill_diagonal(dist, 0)
    np.fill_diagonal(dur, 0)
    coords = inst.coords if inst.coords is not None else np.zeros((D + C, 2))
    locs = [pyvrp.Location(x=round(float(x)), y=round(float(y))) for x, y in np.asarray(coords)]
    dem = np.asarray(inst.demand)
    dscale = 1 if np.all(np.abs(dem - np.round(dem)) < 1e-9) else 1000
    depots = [pyvrp.Depot(location=i) for i in range(D)]
    clients = []
    for c in range(C):
        pen = float(inst.drop_penalty[c])
        required = not math.isfinite(pen)
        clients.append(
            pyvrp.Client(
                location=D + c,
                delivery=[math.ceil(v * dscale - 1e-9) for v in dem[c]],
                service_duration=_int(float(inst.service[c]), scale, "up"),
                tw_early=_int(float(inst.tw_early[c]), scale, "up"),
                tw_late=_int(float(inst.tw_late[c]), scale, "down"),
                required=required,
                prize=0 if required else _int(pen, scale, "round"),
            )
        )
    vtypes = []
    for vt in inst.vehicle_types:
        if vt.cost_per_hour:
            raise ValueError(
                f"{inst.name}: PyVRP peer does not support cost_per_hour on "
                f"vehicle type {vt.name!r}"
            )
        if abs(vt.cost_per_distance - round(vt.cost_per_distance)) > 1e-9:
            # PyVRP's unit distance cost is an integer: rounding 0.15 to 0 would have it
            # minimise another objective than the one the evaluator costs
            raise ValueError(
                f"{inst.name}: PyVRP peer needs an integral cost_per_distance, vehicle type "
                f"{vt.name!r} has {vt.cost_per_distance:g}"
            )
        vtypes.append(
            pyvrp.VehicleType(
                num_available=max(int(vt.count), 1),
                capacity=[
                    math.floor(c * dscale + 1e-9) if math.isfinite(c) else int(_BIG)
                    for c in vt.capacity
                ],
                start_depot=int(vt.start_depot),
                end_depot=int(vt.end),
                fixed_cost=_int(float(vt.fixed_cost), scale, "round"),
                tw_early=_int(float(vt.shift_start), scale, "up"),
                tw_late=_int(float(vt.shift_end), scale, "down"),
                shift_duration=_int(float(vt.max_duration), scale, "down"),
                unit_distance_cost=max(round(vt.cost_per_distance), 0),
            )
        )
    data = pyvrp.ProblemData(
        locations=locs,
        clients=clients,
        depots=depots,
        vehicle_types=vtypes,
        distance_matrices=[dist],
        duration_matrices=[dur],
    )
    return data, scale


def load_pyvrp() -> None:
    """Import PyVRP (``Family.prepare``: before the solve's clock starts, as reading an
    instance loads OR-Tools for ours)."""
    import pyvrp  # noqa: F401


class Deadline:
    """PyVRP stopping criterion: stop once ``time.perf_counter()`` reaches ``deadline``.

    Unlike ``pyvrp.stop.MaxRuntime``, whose clock starts at the search's first iteration, the
    budget includes everything before it (conversion, PyVRP's initial local search).
    """

    def __init__(self, deadline: float) -> None:
        self.deadline = float(deadline)

    def __call__(self, best_cost: float) -> bool:
        return time.perf_counter() >= self.deadline


def solve_pyvrp(
    instance: Any, *, time_limit: float, seed: int, params: Mapping[str, Any]
) -> SolveOutput:
    """PyVRP's default iterated local search, stopped ``time_limit`` seconds after this call
    started (the conversion and PyVRP's set-up count; see the module notes).

    Returns routes as ``(vehicle_type, client indices)`` plus the unvisited optional clients,
    and samples ``(seconds since this call started, best feasible cost)`` from PyVRP's
    statistics (cost divided by the scale, i.e. in the instance's units).
    """
    import pyvrp

    t0 = time.perf_counter()
    data, scale = to_pyvrp(instance)
    res = pyvrp.solve(
        data,
        stop=Deadline(t0 + float(time_limit)),
        seed=int(seed),
        collect_stats=True,
        display=False,
    )
    samples: list[tuple[float, float]] = []
    # PyVRP's statistics count from its first iteration: add the time before it
    t = max(0.0, time.perf_counter() - t0 - float(res.runtime))
    best = math.inf
    for dt, datum in zip(res.stats.runtimes, res.stats.data, strict=False):
        t += dt
        if datum.best_feas and datum.best_cost < best - 1e-9:
            best = datum.best_cost
            samples.append((t, best / scale))
    info = {"iterations": res.num_iterations, "solver_feasible": res.is_feasible(), "scale": scale}
    sol = res.best
    routes = [
        (int(r.vehicle_type()), [int(a.idx) for a in r.schedule() if a.is_client()])
        for r in sol.routes()
    ]
    visited = {c for _, cl in routes for c in cl}
    dropped = [c for c in range(instance.num_clients) if c not in visited]
    info["vehicles"] = len(routes)
    return SolveOutput((routes, dropped), samples=tuple(samples), info=info)
