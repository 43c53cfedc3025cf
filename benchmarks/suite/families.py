"""The instance families of ``tradelane bench`` and their conventions.

=============  ==========================  =====================================================
family         files in ``--instances``    best-known value, convention
=============  ==========================  =====================================================
``solomon``    ``*.txt`` (Solomon VRPTW)   ``bks_distance.csv`` beside the files: distance-only
                                           optima with distances truncated to one decimal; the
                                           instance is read with that convention (``trunc1``) so
                                           the gap is exact.
``homberger``  ``*.txt`` (G&H 200, VRPTW)  none of our objective: the folder's ``bks.csv`` is
                                           hierarchical (vehicles first, then double-precision
                                           distance) while our solvers and PyVRP minimise
                                           distance only, so its rows are refused (their
                                           ``objective`` column) and gaps are to the best
                                           solution in the same results (``gap*``); the
                                           figure that matters is the ratio to PyVRP.
``cvrplib``    ``*.vrp`` (X and classic)   ``bks.csv`` beside the files or up to two folders
                                           up (``X/``, ``classic/A/``; rounded-integer
                                           Euclidean, TSPLIB ``nint``). Fleet: free for the X
                                           set (Uchoa et al. 2017 fix no fleet size); ``k``
                                           vehicles (the ``-kNN`` of the name) for the
                                           classic A, B, E, F, M, P sets, whose optima are for
                                           that fleet (see ``CLASSIC_CVRP``).
``day``        ``*.json`` day specs        none: generated days (``benchmarks.suite.day``); the
                                           figure is the cost ratio to PyVRP.
``cflp``       ``cap*.txt`` (OR-Library)   ``bks.csv``: capacitated optima (splittable demand).
``synthetic``  scenario folders/files      none: gaps are reported against the best solution
                                           or bound found in the same results (see ``report``).
=============  ==========================  =====================================================

Solvers per family: ``ortools`` (ours: ``optimizer.routing.solve_routes``) and the peer ``pyvrp``
for the routing families; for the allocation families ``tradelane`` (ours:
``optimizer.plan.planning.plan_scenario``) and the peers ``monolithic`` (the same scenario, one MIP,
default solver, no pruning/decomposition) and ``naive`` (the naive planner). Every solution is
re-checked by the family's independent evaluator (``optimizer.routing.evaluate.evaluate_routes`` for
routing; a re-computation from the instance data for allocation), and that verdict is the
row's ``feasible`` and ``cost``.
"""

from __future__ import annotations

import importlib
import re
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from benchmarks.suite.spec import Evaluation, Family, SolveOutput, bks_lookup

__all__ = ["FAMILIES", "FAMILY_NAMES", "resolve_family"]

SOLOMON_OBJECTIVE = "distance_only_trunc1"
"""The ``objective`` of the Solomon rows we compare with (``bks_distance.csv``)."""
HOMBERGER_OBJECTIVE = "distance_only_exact"
"""What our G&H runs minimise: distance only, double precision. The G&H ``bks.csv`` is
``hierarchical_min_vehicles_then_distance_double``, so none of its rows is used."""


# --------------------------------------------------------------------------------------------
# routing
# --------------------------------------------------------------------------------------------


def solve_ortools_routes(
    instance: Any, *, time_limit: float, seed: int, params: Mapping[str, Any]
) -> SolveOutput:
    """Our routing solver (``optimizer.routing.solve_routes``) with ``params`` from the config.

    ``time_limit`` and ``seed`` override the same keys of ``params``.
    """
    from optimizer.routing import RoutingParams, RoutingStatus, solve_routes

    p = RoutingParams(**{**dict(params), "time_limit_s": float(time_limit), "seed": int(seed)})
    res = solve_routes(instance, p)
    info = {
        "status": res.status.value,
        "vehicles": res.num_vehicles,
        "solver_cost": res.cost,
        "dropped": len(res.dropped),
    }
    if res.status is RoutingStatus.NO_SOLUTION:
        return SolveOutput(None, info={**info, "reason": "OR-Tools found no solution"})
    routes = [(r.vehicle_type, list(r.clients)) for r in res.routes]
    return SolveOutput((routes, list(res.dropped)), info=info)


def check_routing_params(params: Mapping[str, Any]) -> None:
    """Raise ValueError naming a ``[routing]`` key ``RoutingParams`` does not have, or a bad
    value (``Family.check_params`` of the routing families)."""
    import dataclasses

    from optimizer.routing import RoutingParams

    known = {f.name for f in dataclasses.fields(RoutingParams)}
    unknown = sorted(set(params) - known)
    if unknown:
        raise ValueError(
            f"unknown routing parameter(s) {', '.join(unknown)}; known: {', '.join(sorted(known))}"
        )
    # the run sets the time limit and the seed itself
    RoutingParams(**{**dict(params), "time_limit_s": 1.0, "seed": 0})


def evaluate_routing(instance: Any, solution: Any) -> Evaluation:
    """Independent re-check with ``optimizer.routing.evaluate.evaluate_routes``.

    ``solution`` is ``(routes, dropped)``: ``routes`` a list of ``(vehicle_type, client
    indices)``, ``dropped`` the client indices handed to a parcel carrier.
    """
    from optimizer.routing.evaluate import evaluate_routes

    routes, dropped = solution
    ev = evaluate_routes(
        instance,
        [(int(t), [int(c) for c in cl]) for t, cl in routes],
        dropped=[int(c) for c in dropped],
    )
    return Evaluation(
        cost=float(ev.cost), feasible=bool(ev.feasible), detail="; ".join(ev.violations[:3])
    )


def _routing_family(
    name: str,
    patterns: tuple[str, ...],
    read: Callable[[Path], Any],
    bks_files: tuple[str, ...],
    objective: str | None = None,
    check_instance: Callable[[Path], None] | None = None,
) -> Family:
    from benchmarks.suite.peers import load_pyvrp, solve_pyvrp

    return Family(
        name=name,
        kind="routing",
        patterns=patterns,
        read=read,
        evaluate=evaluate_routing,
        solvers={"ortools": solve_ortools_routes, "pyvrp": solve_pyvrp},
        # reading loads OR-Tools (optimizer.routing); PyVRP is loaded before its clock too
        prepare={"pyvrp": load_pyvrp},
        default_solver="ortools",
        peers=("pyvrp",),
        best_known=lambda path: bks_lookup(path, bks_files, objective=objective),
        check_params=check_routing_params,
        # by default every file is read once before any solve: a malformed file is bad
        # input (exit 2 naming it), not an error row per configuration and seed found hours
        # into a run
        check_instance=check_instance or (lambda path: _read_only(read, path)),
    )


def _read_only(read: Callable[[Path], Any], path: Path) -> None:
    """``read(path)`` for its errors only (``Family.check_instance``)."""
    read(path)


def _read_solomon_trunc1(path: Path) -> Any:
    from optimizer.routing.io import read_solomon

    return read_solomon(path, convention="trunc1")


def _read_solomon_exact(path: Path) -> Any:
    from optimizer.routing.io import read_solomon

    return read_solomon(path, convention="exact")


CLASSIC_CVRP = re.compile(r"^[ABEFMP]-n\d+-k(\d+)$")
"""Names of the classic CVRPLIB instances (Augerat A, B, P; Christofides & Eilon E; Fisher F;
Christofides, Mingozzi & Toth M). Their optima are for a fleet of exactly the ``k`` of the
name: with a free fleet, one more route is cheaper on several of them (E-n30-k3: 503 with 4
routes against the optimum 534 with 3; P-n22-k8: 590 with 9 against 603; also B-n51-k7,
B-n57-k7, P-n50-k8, P-n55-k15), which read as negative gaps. X instances (``X-n...``) have no
fleet limit."""


def _read_vrplib(path: Path) -> Any:
    import dataclasses

    from optimizer.routing.io import read_vrplib

    inst = read_vrplib(path)
    m = CLASSIC_CVRP.match(path.stem)
    if m is None:
        return inst
    fleet = inst.vehicle_types[0]
    return dataclasses.replace(
        inst, vehicle_types=(dataclasses.replace(fleet, count=int(m.group(1))),)
    )


def solomon() -> Family:
    """Solomon VRPTW (100 customers), distance-only, one-decimal truncated distances."""
    return _routing_family(
        "solomon",
        ("*.txt",),
        _read_solomon_trunc1,
        ("bks_distance.csv",),
        objective=SOLOMON_OBJECTIVE,
    )


def homberger() -> Family:
    """Gehring & Homberger VRPTW, exact distances; no best-known value of our objective (see
    the module notes)."""
    return _routing_family(
        "homberger", ("*.txt",), _read_solomon_exact, ("bks.csv",), objective=HOMBERGER_OBJECTIVE
    )


def cvrplib() -> Family:
    """CVRPLIB (X and classic sets), TSPLIB-rounded distances; the classic sets with the
    fleet of their name (``CLASSIC_CVRP``)."""
    return _routing_family("cvrplib", ("*.vrp",), _read_vrplib, ("bks.csv",))


def day() -> Family:
    """Generated delivery days of 500-5,000 stops (see ``benchmarks.suite.day``); no
    best-known values, the ratio to PyVRP is the figure."""
    from benchmarks.suite.day import read_day, read_day_spec

    def check(path: Path) -> None:
        read_day_spec(path)

    return _routing_family("day", ("*.json",), read_day, (), check_instance=check)


# --------------------------------------------------------------------------------------------
# allocation
# --------------------------------------------------------------------------------------------


def cflp() -> Family:
    """OR-Library capacitated warehouse location (``capNN``), see ``benchmarks.suite.alloc``."""
    from benchmarks.suite.alloc import cflp_family

    return cflp_family()


def synthetic() -> Family:
    """Generated scenarios (tiers S/M/L/XL), see ``benchmarks.suite.alloc``."""
    from benchmarks.suite.alloc import synthetic_family

    return synthetic_family()


FAMILIES: dict[str, Callable[[], Family]] = {
    "solomon": solomon,
    "homberger": homberger,
    "cvrplib": cvrplib,
    "day": day,
    "cflp": cflp,
    "synthetic": synthetic,
}
FAMILY_NAMES = tuple(FAMILIES)


def resolve_family(spec: str) -> Family:
    """The family named ``spec``: a registered name or ``"module:attribute"``.

    Raises
    ------
    KeyError
        Unknown family name (the message lists the known ones).
    """
    if spec in FAMILIES:
        return FAMILIES[spec]()
    if ":" in spec:
        mod, _, attr = spec.partition(":")
        obj: object = getattr(importlib.import_module(mod), attr)
        made = obj() if callable(obj) and not isinstance(obj, Family) else obj
        if not isinstance(made, Family):
            raise KeyError(f"{spec!r} is no benchmark family (got a {type(made).__name__})")
        return made
    raise KeyError(f"unknown family {spec!r}; known: {', '.join(sorted(FAMILIES))}")
