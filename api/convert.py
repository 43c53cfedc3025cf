"""Conversions between API schemas and domain data, and request checks beyond the schema.

Routes stay thin: they parse with :mod:`api.schemas`, call a function here or the store, and
return a schema built here.
"""

from __future__ import annotations

import dataclasses
import math
import re
from typing import TYPE_CHECKING, Any

from fastapi import HTTPException

from api.risk_jobs import is_risk_result
from api.schemas import PlanPublic, PlanSummary, RouteCreate
from optimizer.plan.document import Plan, PlanFormatError

if TYPE_CHECKING:
    from api.network_store import ProgressRecord
    from api.store import JobRecord
    from network.scenario import Problem
    from optimizer.routing import RoutingInstance, RoutingParams, RoutingResult

__all__ = [
    "RequestProblemsError",
    "job_to_public",
    "job_to_summary",
    "problem_detail",
    "route_problems",
    "route_request_to_instance",
    "route_result_to_dict",
    "where_loc",
]


class RequestProblemsError(ValueError):
    """A request that passed the schema but breaks a cross-reference rule (422).

    ``detail`` holds one ``{"loc", "field", "msg"}`` entry per problem, ``field`` naming the
    item by index and id.
    """

    def __init__(self, detail: list[dict[str, Any]]):
        self.detail = detail
        super().__init__("; ".join(f"{d['field']}: {d['msg']}" for d in detail))


def _summary_fields(rec: JobRecord) -> dict[str, Any]:
    return {
        "id": rec.id,
        "status": rec.status,
        "scenario": rec.scenario_name,
        "error": rec.error,
        "attempts": rec.attempts,
        "time_limit_s": rec.time_limit_s,
        "seed": rec.seed,
        "created_at": rec.created_at,
        "updated_at": rec.updated_at,
        "started_at": rec.started_at,
        "finished_at": rec.finished_at,
    }


def _network(source: tuple[str, int] | None) -> dict[str, Any] | None:
    return {"name": source[0], "version": source[1]} if source is not None else None


def job_to_summary(rec: JobRecord, source: tuple[str, int] | None = None) -> PlanSummary:
    """A job as listed by ``GET /v1/plans`` (``source``: the network and version it used)."""
    return PlanSummary(**_summary_fields(rec), network=_network(source))


def job_to_public(
    rec: JobRecord, source: tuple[str, int] | None = None, progress: ProgressRecord | None = None
) -> PlanPublic:
    """A job as returned by ``GET /v1/plans/{id}`` (with its plan once succeeded, and the
    solve's latest progress report).

    Raises
    ------
    HTTPException
        500 when the stored result is not a DESIGN §7 plan (a custom solver's bad answer);
        the message names the field.
    """
    plan = None
    # a risk job (simulate / whatif): its document names the plan it was made from and is
    # answered as ``result``, not as a plan (the request, which names the task, is not loaded)
    if is_risk_result(rec.result):
        return PlanPublic(
            **_summary_fields(rec),
            network=_network(source),
            result=rec.result if rec.status == "succeeded" else None,
            progress=dataclasses.asdict(progress) if progress is not None else None,
            warnings=list(rec.warnings),
        )
    if rec.status == "succeeded" and rec.result is not None:
        try:
            plan = Plan.from_json(rec.result)
        except PlanFormatError as e:
            raise HTTPException(
                500, f"plan {rec.id}: the stored result is not a plan ({e})"
            ) from None
    return PlanPublic(
        **_summary_fields(rec),
        network=_network(source),
        plan=plan,
        progress=dataclasses.asdict(progress) if progress is not None else None,
        warnings=list(rec.warnings),
    )


_NOTE = re.compile(r""" \((?:[^()'"]|'(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*")*\)""")
"""An item's note in a problem's place: `` (id 'WH-1')``, `` (sku 'A', zone 'Z')``."""

_PLACE = re.compile(r"(?:line \d+|[A-Za-z_]\w*)(?:\[\d+\])*(?:\.[A-Za-z_]\w*(?:\[\d+\])*)*")
_STEP = re.compile(r"line \d+|[A-Za-z_]\w*|\[(\d+)\]")


def where_loc(where: str) -> list[str | int] | None:
    """A problem's place as a ``loc`` path, FastAPI's way: keys and list indices.

    ``"lanes[0] (id 'SZX-PKG-sea').mode"`` -> ``["lanes", 0, "mode"]``; the notes naming
    the item are left to ``field``. ``None`` for a place that is no such path.
    """
    bare = _NOTE.sub("", where)
    if not _PLACE.fullmatch(bare):
        return None
    return [int(m[1]) if m[1] is not None else m[0] for m in _STEP.finditer(bare)]


def problem_detail(p: Problem, *, prefix: tuple[str, ...] = ("body", "scenario")) -> dict[str, Any]:
    """One scenario problem as a 422 entry; ``field`` and ``msg`` are the CLI's words, ``loc``
    the path of keys and list indices (``["body", "scenario", "lanes", 0, "mode"]``)."""
    path = [] if p.where == "scenario" else where_loc(p.where)
    return {
        "loc": [*prefix, *(path if path is not None else [p.where])],
        "field": f"scenario.{p.where}" if p.where != "scenario" else "scenario",
        "msg": p.message,
    }


# -- routing -------------------------------------------------------------------------------


def route_problems(req: RouteCreate) -> list[dict[str, Any]]:
    """Cross-reference problems of a routing request, as 422 entries naming each item.

    Checks: unique depot and order ids, every vehicle type's depot exists, depots close after
    they open, each order's due time (given or from the promise) is not before its ready time.
    """
    out: list[dict[str, Any]] = []

    def add(loc: list[str | int], field: str, msg: str) -> None:
        out.append({"loc": ["body", *loc], "field": field, "msg": msg})

    groups = (
        ("depots", [d.id for d in req.depots]),
        ("orders", [o.id for o in req.orders]),
        ("fleet", [v.id for v in req.fleet]),
    )
    for name, ids in groups:
        seen: dict[str, int] = {}
        for i, item_id in enumerate(ids):
            if item_id in seen:
                add(
                    [name, i, "id"],
                    f"{name}[{i}] (id {item_id!r}).id",
                    f"duplicate id (first at {name}[{seen[item_id]}])",
                )
            else:
                seen.setdefault(item_id, i)
    depots = {d.id for d in req.depots}
    for i, v in enumerate(req.fleet):
        if v.depot not in depots:
            add(
                ["fleet", i, "depot"],
                f"fleet[{i}] (id {v.id!r}).depot",
                f"unknown depot {v.depot!r}",
            )
    for i, d in enumerate(req.depots):
        if d.close_h < d.open_h:
            add(
                ["depots", i, "close_h"],
                f"depots[{i}] (id {d.id!r}).close_h",
                f"closes ({d.close_h:g} h) before it opens ({d.open_h:g} h)",
            )
    for i, o in enumerate(req.orders):
        due = o.due_h if o.due_h is not None else req.promise_hours - o.age_h
        if due < o.ready_h:
            what = "due_h" if o.due_h is not None else "age_h"
            add(
                ["orders", i, what],
                f"orders[{i}] (id {o.id!r}).{what}",
                f"due at {due:g} h, before it is ready ({o.ready_h:g} h): the promise is "
                "already missed; give parcel_cost and a later due_h, or leave it out",
            )
    return out


#: Up to this many locations (depots and orders) a request's distances are WGS84 geodesics,
#: above it the haversine formula: pyproj takes about 0.8 µs a pair (0.03 s for 200 locations,
#: 3.0-3.6 s for 2,000 against 0.14 s by haversine; ``benchmarks/distances.py``), time that counts
#: against the request's time limit; the two differ by at most 0.56 %, far less than the
#: ``circuity`` factor's own uncertainty.
GEODESIC_MAX_LOCATIONS = 200

#: The least search time a request's solve is given when building the instance took most of its
#: limit (OR-Tools' first solution on a small request).
MIN_SEARCH_S = 0.05


def route_request_to_instance(
    request: dict[str, Any], *, time_limit_s: float, seed: int
) -> tuple[RoutingInstance, RoutingParams]:
    """Build the routing instance of a (checked) ``RouteCreate`` body and the parameters of its
    solve.

    The request's ``time_limit_s`` covers this build too: the solve's limit is what is left of
    it (at least ``MIN_SEARCH_S``). A limit shorter than the shortest ``solve_routes`` accepts
    for the instance (``shortest_time_limit``: a large day's decomposition) is refused by the
    solve, naming the request's own limit; one that is long enough for the search alone but
    not after the build raises ``RoutingError`` here (422) naming the limit to give, rather
    than answering after it.

    Notes
    -----
    Distances are geodesic km times ``circuity`` (haversine km above
    ``GEODESIC_MAX_LOCATIONS`` locations); travel hours are km / ``speed_kmh``. Capacity
    dimensions are kg, plus m³ when any vehicle or order gives a volume (a vehicle without
    ``capacity_m3`` then gets room for every order's volume). Service minutes become hours.
    """
    import time

    import numpy as np

    from network.geo import haversine_km, pairwise_km
    from optimizer.routing import (
        RoutingError,
        RoutingInstance,
        RoutingParams,
        VehicleType,
        promise_due_times,
    )
    from optimizer.routing.solve import shortest_time_limit

    started = time.perf_counter()
    req = RouteCreate.model_validate(request)
    lat = np.array([d.lat for d in req.depots] + [o.lat for o in req.orders])
    lon = np.array([d.lon for d in req.depots] + [o.lon for o in req.orders])
    if len(lat) <= GEODESIC_MAX_LOCATIONS:
        km = pairwise_km(lat, lon, lat, lon) * req.circuity
        convention = "geodesic"
    else:
        km = haversine_km(lat, lon) * req.circuity
        convention = "haversine"
    np.fill_diagonal(km, 0.0)
    kg = np.array([o.demand_kg for o in req.orders])
    m3 = np.array([o.demand_m3 for o in req.orders])
    use_m3 = bool(m3.any()) or any(v.capacity_m3 is not None for v in req.fleet)
    demand = np.column_stack([kg, m3]) if use_m3 else kg[:, None]
    room_m3 = float(m3.sum()) + 1.0
    depot_index = {d.id: i for i, d in enumerate(req.depots)}
    vts = []
    for v in req.fleet:
        d = req.depots[depot_index[v.depot]]
        cap = (v.capacity_kg, v.capacity_m3 if v.capacity_m3 is not None else room_m3)
        vts.append(
            VehicleType(
                count=v.count,
                capacity=cap if use_m3 else cap[:1],
                start_depot=depot_index[v.depot],
                fixed_cost=v.fixed_cost,
                cost_per_distance=v.cost_per_km,
                cost_per_hour=v.cost_per_hour,
                max_duration=v.max_duration_h,
                shift_start=d.open_h,
                shift_end=d.close_h,
                name=v.id,
            )
        )
    promise = promise_due_times(
        np.zeros(len(req.orders)),
        promise_hours=req.promise_hours,
        upstream_hours=[o.age_h for o in req.orders],
    )
    due = np.array(
        [o.due_h if o.due_h is not None else promise[i] for i, o in enumerate(req.orders)]
    )
    inst = RoutingInstance.build(
        "api-request",
        km,
        num_depots=len(req.depots),
        vehicle_types=vts,
        demand=demand,
        duration=km / req.speed_kmh,
        service=[o.service_min / 60.0 for o in req.orders],
        tw_early=[o.ready_h for o in req.orders],
        tw_late=due,
        drop_penalty=[o.parcel_cost if o.parcel_cost is not None else np.inf for o in req.orders],
        client_ids=[o.id for o in req.orders],
        depot_ids=[d.id for d in req.depots],
        dimension_names=("kg", "m3") if use_m3 else ("kg",),
        coords=np.column_stack([lat, lon]),
        distance_convention=convention,
    )
    # workers=1: each request already runs in its own (daemonic) job process, which may not
    # start a process pool; a large day is still decomposed, its subproblems one at a time
    params = RoutingParams(time_limit_s=time_limit_s, seed=seed, workers=1)
    built = time.perf_counter() - started
    left = time_limit_s - built
    shortest = shortest_time_limit(inst, params)
    if time_limit_s < shortest:
        # refused by solve_routes, naming the request's own limit and the shortest
        return inst, params
    if left < shortest:
        # the search alone would be accepted, but not after the build: the answer would come
        # after the limit, which is a promise
        raise RoutingError(
            f"api-request: a time limit of {time_limit_s:g} s is too short for "
            f"{len(req.orders):,} orders: building their distances took {built:.1f} s and the "
            f"first solution of a day this size about {shortest:.1f} s more; give at least "
            f"{math.ceil((built + shortest) * 1.1 * 10) / 10:g} s"
        )
    return inst, dataclasses.replace(params, time_limit_s=max(left, MIN_SEARCH_S))


def route_result_to_dict(res: RoutingResult, instance: RoutingInstance) -> dict[str, Any]:
    """The ``RoutesPublic`` body of a routing result."""
    kg = instance.demand[:, 0]
    # a route's vehicle number runs over the whole fleet; its label numbers it within its
    # fleet entry (the first truck after 60 vans is truck#0, not truck#60)
    first = [0]
    for vt in instance.vehicle_types:
        first.append(first[-1] + vt.count)
    routes = []
    for r in res.routes:
        vt = instance.vehicle_types[r.vehicle_type]
        routes.append(
            {
                "vehicle": f"{vt.name}#{r.vehicle - first[r.vehicle_type]}",
                "depot": str(instance.depot_ids[vt.start_depot]),
                "orders": [str(instance.client_ids[c]) for c in r.clients],
                "distance_km": float(r.distance),
                "load_kg": float(sum(kg[c] for c in r.clients)),
                "cost": float(r.cost),
                "depart_h": float(r.departure),
                "return_h": float(r.return_time),
                "stops": [
                    {
                        "order": str(instance.client_ids[c]),
                        "eta_h": float(a),
                        "start_h": float(b),
                        "promise_slack_h": float(sl) if math.isfinite(sl) else None,
                    }
                    for c, a, b, sl in zip(r.clients, r.arrivals, r.starts, r.slack, strict=True)
                ],
            }
        )
    cost = float(res.cost)
    return {
        "status": str(res.status.value),
        "feasible": bool(res.feasible),
        "cost": cost if math.isfinite(cost) else None,
        "vehicles": int(res.num_vehicles),
        "routes": routes,
        "dropped": [str(instance.client_ids[c]) for c in res.dropped],
        "carrier": [
            {
                "order": str(instance.client_ids[c]),
                "carrier_cost": float(instance.drop_penalty[c]),
                "due_h": float(instance.due[c]) if math.isfinite(instance.due[c]) else None,
            }
            for c in res.dropped
        ],
        "solve_seconds": float(res.solve_seconds),
        "path": res.path,
    }
