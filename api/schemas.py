"""Request and response schemas of the HTTP API (pydantic), separate from the domain objects.

Input and output are never the same class. The scenario inside a plan request is typed as a
JSON object here and validated by :func:`network.scenario.parse_scenario`, so the API reports
exactly the problems the CLI reports (one entry per problem, each naming the item).
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SerializerFunctionWrapHandler,
    WithJsonSchema,
    model_serializer,
)

from optimizer.limits import MAX_SEED
from optimizer.plan.document import Plan

__all__ = [
    "Depot",
    "ErrorDetail",
    "ErrorResponse",
    "Health",
    "HealthReport",
    "JobStatus",
    "NetworkRef",
    "Order",
    "PlanAccepted",
    "PlanCreate",
    "PlanPublic",
    "PlanSummary",
    "PlansPublic",
    "Progress",
    "RouteCreate",
    "RoutePublic",
    "RoutesPublic",
    "StopPublic",
    "VehicleType",
]

JobStatus = Literal["queued", "running", "succeeded", "failed", "cancelled"]

_ID = Field(min_length=1, max_length=100)


class _In(BaseModel):
    # Strict: a JSON boolean is not a number and "1" is not an integer (the OpenAPI types hold);
    # NaN and Infinity (which Python's JSON reader accepts) are no numbers either.
    model_config = ConfigDict(extra="forbid", strict=True, allow_inf_nan=False)


# -- plans ---------------------------------------------------------------------------------


_MINI_SCENARIO: dict[str, Any] = {
    "name": "mini",
    "currency": "USD",
    "nodes": [
        {"id": "CN-SZX", "kind": "origin", "lat": 22.54, "lon": 114.06, "country": "CN"},
        {"id": "Z-MY-KUL", "kind": "zone", "lat": 3.14, "lon": 101.69, "country": "MY"},
    ],
    "lanes": [
        {
            "id": "SZX-KUL-direct",
            "from": "CN-SZX",
            "to": "Z-MY-KUL",
            "mode": "express",
            "transit_hours": 50,
            "clearance_hours": 8,
            "cost_per_kg": 7.5,
            "cost_per_unit": 1.2,
        }
    ],
    "skus": [{"id": "SKU-1", "weight_kg": 0.45, "volume_m3": 0.0021, "value": 18.0}],
    "demand": [{"sku": "SKU-1", "zone": "Z-MY-KUL", "units": 100}],
}


class PlanCreate(_In):
    """``POST /v1/plans``: a scenario to plan."""

    model_config = ConfigDict(
        extra="forbid",
        strict=True,
        allow_inf_nan=False,
        json_schema_extra={
            "examples": [{"scenario": _MINI_SCENARIO, "time_limit_s": 10, "seed": 0}]
        },
    )

    scenario: Annotated[
        dict[str, Any], WithJsonSchema({"allOf": [{"$ref": "#/components/schemas/Scenario"}]})
    ] = Field(
        description="A scenario in format v1 (nodes, lanes, rate_cards, skus, demand; DESIGN "
        "§3) or v1.1 (plus inventory, returns, transfer lanes; DESIGN §10). Checked against "
        "the published `Scenario` schema, then like `tradelane validate` (references, "
        "duplicates: 422 naming the item)."
    )
    time_limit_s: float | None = Field(
        default=None,
        gt=0,
        le=86_400,
        description="Time limit of the plan in seconds (default: the server's). Above the "
        "server's maximum is a 422, not cut down to it; so is a limit shorter than a large "
        "catalogue's SKU-block path can keep (the message names the shortest).",
    )
    seed: int = Field(default=0, ge=0, le=MAX_SEED, description="Solver seed.")
    previous_plan_id: str | None = Field(
        default=None,
        max_length=200,
        description="A succeeded plan of this tenant to stay close to (format v1.1 stability: "
        "service.stability_penalty_per_unit per unit of stocking level moved).",
    )


class PlanAccepted(BaseModel):
    """The answer to a plan submission."""

    id: str
    status: JobStatus
    warnings: list[str] = Field(
        default_factory=list,
        description="What the submitted scenario or forecast holds that planning ignores (keys "
        "the format does not define, demand CSV columns other than sku, zone and units), as "
        "`tradelane validate` warns of them; the job is queued all the same.",
    )


class PlanSummary(BaseModel):
    """A plan job without its plan (for listings)."""

    id: str
    status: JobStatus
    scenario: str = Field(description="The scenario's name.")
    error: str | None = None
    attempts: int = Field(description="How many times a solve of this job was started.")
    time_limit_s: float
    seed: int
    created_at: dt.datetime
    updated_at: dt.datetime
    started_at: dt.datetime | None = None
    finished_at: dt.datetime | None = None
    network: NetworkRef | None = Field(
        default=None,
        description="The stored network (and version) a forecast was planned on; "
        "null for a plan of a whole scenario.",
    )


class NetworkRef(BaseModel):
    """A stored network at one version."""

    name: str
    version: int


class Progress(BaseModel):
    """How far a solve has got."""

    phase: str = Field(description="What the planner is doing (its own words).")
    elapsed_s: float = Field(description="Seconds since the solve started.")
    best_objective: float | None = Field(description="Cost of the best plan found so far.")
    bound: float | None = Field(description="Best lower bound on the cost proven so far.")
    updated_at: dt.datetime


class PlanPublic(PlanSummary):
    """A plan job; ``plan`` is the DESIGN §7 ``plan.json`` once the job has succeeded.

    The schema of ``plan`` is generated from :class:`optimizer.plan.document.Plan`; the JSON
    sent is ``Plan.to_json()``, exactly what ``tradelane plan`` writes (a key absent from the
    plan is absent here too, not ``null``).
    """

    plan: Plan | None = None
    result: dict[str, Any] | None = Field(
        default=None,
        description="The document of a simulate or what-if job once it has succeeded "
        "(sim.json or whatif.json, as the CLI writes them, plus source_plan: the id of the "
        "plan job it was made from; a what-if's also has markdown, the text of whatif.md, "
        "and plans: the held and re-made plans, {hold, replan}); null for plan jobs, whose "
        "answer is plan.",
    )
    progress: Progress | None = Field(
        default=None, description="The solve's latest progress report (null before the first)."
    )
    warnings: list[str] = Field(
        default_factory=list,
        description="What the submission held that planning ignores, as its 202 answer said "
        "(empty for jobs without, and for jobs submitted before the server kept them).",
    )

    # No return annotation on purpose: pydantic then documents the fields' own schema (the
    # Plan's), while the body is the plan's own JSON.
    @model_serializer(mode="wrap")
    def _plan_as_json(self, handler: SerializerFunctionWrapHandler):  # type: ignore[no-untyped-def]
        out = handler(self)
        out["plan"] = None if self.plan is None else self.plan.to_json()
        return out


class PlansPublic(BaseModel):
    """One page of a tenant's plan jobs, newest first."""

    data: list[PlanSummary]
    count: int = Field(description="Jobs matching the query, over all pages.")
    limit: int
    offset: int


# -- routes --------------------------------------------------------------------------------


class Depot(_In):
    """A warehouse (or cross-dock) vehicles start from and return to."""

    id: str = _ID
    lat: float = Field(ge=-90, le=90)
    lon: float = Field(ge=-180, le=180)
    open_h: float = Field(default=0.0, ge=0, le=240, description="Opens, hours from day start.")
    close_h: float = Field(default=24.0, ge=0, le=240, description="Closes, hours.")


class Order(_In):
    """One order to deliver; its due time comes from ``due_h`` or the 72-hour promise."""

    id: str = _ID
    lat: float = Field(ge=-90, le=90)
    lon: float = Field(ge=-180, le=180)
    demand_kg: float = Field(default=0.0, ge=0, le=1e6)
    demand_m3: float = Field(default=0.0, ge=0, le=1e4)
    service_min: float = Field(default=5.0, ge=0, le=600, description="Minutes at the door.")
    ready_h: float = Field(default=0.0, ge=0, le=240, description="Earliest delivery, hours.")
    due_h: float | None = Field(
        default=None,
        ge=0,
        le=240,
        description="Latest delivery, hours from day start. Default: the promise "
        "(`promise_hours` minus `age_h`).",
    )
    age_h: float = Field(
        default=0.0,
        ge=0,
        le=240,
        description="Hours since the order was placed (eats into the promise).",
    )
    parcel_cost: float | None = Field(
        default=None,
        ge=0,
        le=1e6,
        description="Cost of handing the order to a parcel carrier instead (drop penalty).",
    )


class VehicleType(_In):
    """A group of identical vehicles based at one depot."""

    id: str = _ID
    depot: str = _ID
    count: int = Field(default=1, ge=1, le=500)
    capacity_kg: float = Field(gt=0, le=1e6)
    capacity_m3: float | None = Field(default=None, gt=0, le=1e4)
    fixed_cost: float = Field(default=0.0, ge=0, le=1e7)
    cost_per_km: float = Field(default=0.0, ge=0, le=1e4)
    cost_per_hour: float = Field(default=0.0, ge=0, le=1e4)
    max_duration_h: float = Field(default=10.0, gt=0, le=240)


class RouteCreate(_In):
    """``POST /v1/routes``: one day's orders at one or more depots and the fleet."""

    depots: list[Depot] = Field(min_length=1, max_length=50)
    orders: list[Order] = Field(min_length=1, max_length=2000)
    fleet: list[VehicleType] = Field(min_length=1, max_length=50)
    promise_hours: float = Field(default=72.0, gt=0, le=240)
    circuity: float = Field(default=1.3, ge=1, le=5, description="Road km per geodesic km.")
    speed_kmh: float = Field(default=30.0, gt=0, le=200, description="Average road speed.")
    time_limit_s: float = Field(
        default=5.0,
        gt=0,
        le=3600,
        description="Seconds for the solve, building the request's distances included; a "
        "limit shorter than a large day's decomposition needs for its first solution, or "
        "than that plus the build, is a 422 naming the limit to give; at most the server's "
        "synchronous limit (`TRADELANE_ROUTES_TIME_LIMIT_S`, 30 by default).",
    )
    seed: int = Field(default=0, ge=0, le=MAX_SEED)


class StopPublic(BaseModel):
    """One stop of a route: when the vehicle arrives and how much promise is left."""

    order: str
    eta_h: float = Field(description="Arrival at the door, hours from day start.")
    start_h: float = Field(description="Delivery (service start, after any wait), hours.")
    promise_slack_h: float | None = Field(
        description="Hours between delivery and the order's latest time (its promise); "
        "null when the order has no deadline."
    )


class RoutePublic(BaseModel):
    """One vehicle's route: the orders in visiting order."""

    vehicle: str = Field(
        description="The fleet entry's id and the vehicle's number within it, from 0 "
        "('van#0', 'truck#1')."
    )
    depot: str
    orders: list[str]
    distance_km: float
    load_kg: float
    cost: float
    depart_h: float = Field(
        default=0.0,
        description="When the vehicle leaves its depot, hours from day start (as late as the "
        "windows allow, to cut waiting).",
    )
    return_h: float = Field(
        default=0.0, description="When it is back at its depot after the last leg, hours."
    )
    stops: list[StopPublic] = Field(
        default_factory=list, description="Per stop, in visiting order: ETA and promise slack."
    )


class CarrierOrderPublic(BaseModel):
    """An order handed to a parcel carrier, and what the carrier costs."""

    order: str
    carrier_cost: float
    due_h: float | None = Field(
        default=None,
        description="The order's latest delivery (its promise, or `due_h`), hours from day "
        "start: what the carrier has left; null when the order has no deadline.",
    )


class RoutesPublic(BaseModel):
    """The routing solution, re-checked by the independent evaluator."""

    status: str
    feasible: bool
    cost: float | None = Field(description="Total cost; null when no solution was found.")
    vehicles: int
    routes: list[RoutePublic]
    dropped: list[str] = Field(description="Orders handed to a parcel carrier.")
    carrier: list[CarrierOrderPublic] = Field(
        default_factory=list,
        description="The orders handed to a parcel carrier, each with its carrier cost "
        "(`parcel_cost`), in the order of `dropped`.",
    )
    solve_seconds: float
    path: str = Field(
        default="",
        description="How the routes were found: `ils` or `lns` (one model of the whole day), "
        "`decomposition` (a large day, in subproblems).",
    )


# -- misc ----------------------------------------------------------------------------------


class ErrorDetail(BaseModel):
    """One problem with a request: where (``field``, ``loc``) and what (``msg``)."""

    loc: list[str | int]
    field: str
    msg: str


class ErrorResponse(BaseModel):
    """Every error response: a message, or a list of problems (422)."""

    detail: str | list[ErrorDetail]


class Health(BaseModel):
    """``GET /healthz``."""

    status: Literal["ok", "degraded"]
    database: Literal["ok", "unavailable"]
    runner: Literal["ok", "stopped"]
    workers: int
    busy: int


class HealthReport(Health):
    """``GET /healthz``: :class:`api.schemas.Health` with the reason of a ``degraded`` status
    and the queue depth."""

    reason: str | None = None
    queued: int | None = None
