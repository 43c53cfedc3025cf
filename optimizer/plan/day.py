"""From a plan to a day's routes: sample one day's orders at a warehouse and build the VRP.

``build_day_instance(plan, scenario, warehouse=..., day=...)`` reads the plan's ``fulfilment``
rows served from ``warehouse`` (DESIGN §7), turns each row's units over the horizon into a daily
rate, and samples the day's orders (one parcel per unit, Poisson counts) with
``numpy.random.default_rng((seed, day))`` so a (seed, day) pair always gives the same day.

- **Addresses**: each order gets the zone's coordinates jittered by a normal offset of
  ``jitter_km`` (standard deviation, per axis), i.e. a street address around the zone centre.
- **Distances**: geodesic km × ``circuity`` (the road detour factor), unless a matrix is given
  (km, shape ``(1 + orders, 1 + orders)``, warehouse first); haversine above ``GEODESIC_MAX``
  locations (see there). Travel hours = km / ``speed_kmh``.
- **Promise**: every order was placed ``age`` hours before dispatch (the routing clock's zero):
  ``age = processing_hours + U(-s, s)``, ``s = min(12, processing_hours)``: the warehouse's
  processing hours hold the pick, the pack and the cut-off wait (DESIGN's scenario format), so
  they are the mean age, as the plan counts them, spread over the day the orders were placed
  in; and, for a share ``backlog_share`` of orders that missed yesterday's routes, 24 h more.
  Its due time is ``promise_due_times(0, promise_hours, age)``; an order whose promise can no
  longer be met (due before the direct drive from the warehouse) keeps no deadline in the VRP and is
  flagged in ``instance.meta["late_orders"]``; its reported slack is still measured to its
  promise (``instance.promise_due``), so it shows how late it is (negative), not "none".
- **Parcel carrier**: an order that fits no route is handed to the last-mile carrier of its
  fulfilment row (the rate card named by the row's lane ``CARD:WAREHOUSE:ZONE``; else the first
  card from the warehouse's country to the zone's, as ``network.graph`` expands them, with
  ``from_countries`` for a bonded hub's cross-border cards) at its rate-card cost
  (``cost_per_unit + cost_per_kg·kg + cost_per_m3·m³ + cost_per_km·km``, road km from the
  warehouse; duty is paid either way, so it is left out); that is the order's drop penalty.
- **Borders**: an order in another country than the warehouse (a Singapore hub's Batam or
  Johor orders) is 20 km away but across a strait or a border post: travel between locations
  of different countries takes, on top of the drive, the base hours of the order's
  cross-border card (the larger of the two ends'; also with a given matrix, which holds km):
  a van crosses only if that fits its shift, which none of the bundled cross-border cards do
  (30-44 h against the 10 h shift), so those orders go to the cross-border carrier at its
  cost, never get a van ETA.
- **Clock**: times are hours since dispatch (0 = the day's orders are ready at the warehouse
  and vans may leave; ``meta["time_unit"]``, ``meta["clock"]``, copied into the route JSON).
- **Fleet**: ``FleetSpec`` (illustrative van figures by default, in the scenario currency).

This module reads scenario data types only (no networkx).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from optimizer.routing.instance import (
    RoutingError,
    RoutingInstance,
    VehicleType,
    promise_due_times,
)

if TYPE_CHECKING:
    from network.scenario import Scenario
    from optimizer.plan.document import Plan

__all__ = ["FleetSpec", "build_day_instance"]

GEODESIC_MAX = 800
"""Above this many locations, order-to-order distances use the haversine formula (mean earth
radius) instead of WGS84 geodesics: pyproj's exact geodesics take 3.0-3.6 s for 2,000 points on a
free core (``benchmarks/distances.py``; more on a loaded machine), and the two differ by at
most 0.56 % near the equator, far below the circuity factor's own uncertainty."""


@dataclass(frozen=True, slots=True)
class FleetSpec:
    """Last-mile fleet of a warehouse (one vehicle type), figures per vehicle.

    The defaults are illustrative for a light van in a South-East Asian metro (a van day of
    roughly 25 + 0.15/km + 3/h), not market data: every one of them is invented. DOMAIN.md has
    no last-mile fleet costs, vehicle capacities (its §10 lists them as a gap), stop times,
    shift lengths or urban speeds; its only delivery-time figures are order-to-door ones (the
    72 h promise). The ETAs and slacks are only as good as these figures (3 minutes a stop,
    30 km/h door to door, a 10 h shift from dispatch): set them per warehouse for real use.

    Attributes
    ----------
    count : int or None
        Vehicles available; None = one per 40 orders, plus one.
    capacity_kg, capacity_m3 : float
    fixed_cost : float
        Per vehicle and day (driver day rate share, lease).
    cost_per_km, cost_per_hour : float
    shift_hours : float
        Routes start at 0 (dispatch) and end by this time.
    max_duration_hours : float
    service_minutes : float
        Handover time per stop.
    speed_kmh : float
        Average urban speed.
    """

    count: int | None = None
    capacity_kg: float = 600.0
    capacity_m3: float = 4.0
    fixed_cost: float = 25.0
    cost_per_km: float = 0.15
    cost_per_hour: float = 3.0
    shift_hours: float = 10.0
    max_duration_hours: float = 10.0
    service_minutes: float = 3.0
    speed_kmh: float = 30.0

    def __post_init__(self) -> None:
        for name in (
            "capacity_kg",
            "capacity_m3",
            "fixed_cost",
            "cost_per_km",
            "cost_per_hour",
            "shift_hours",
            "max_duration_hours",
            "service_minutes",
        ):
            if not getattr(self, name) >= 0:
                raise RoutingError(f"fleet: {name} < 0 not understood.")
        if not self.speed_kmh > 0:
            raise RoutingError("fleet: speed_kmh <= 0 not understood.")
        if self.count is not None and self.count < 0:
            raise RoutingError("fleet: count < 0 not understood.")


def build_day_instance(
    plan: Plan,
    scenario: Scenario,
    *,
    warehouse: str,
    day: int,
    seed: int = 0,
    fleet: FleetSpec | None = None,
    circuity: float = 1.3,
    jitter_km: float = 2.0,
    backlog_share: float = 0.1,
    matrix_km: npt.ArrayLike | None = None,
    max_orders: int | None = None,
) -> RoutingInstance:
    """Sample day ``day``'s orders at ``warehouse`` from a plan and build its VRP instance.

    Parameters
    ----------
    plan : Plan
        A plan (DESIGN §7; ``Plan.from_json`` reads plan.json); only ``fulfilment`` is used.
    scenario : Scenario
        The scenario the plan was made for (nodes, SKUs, rate cards, horizon, promise).
    warehouse : str
        Warehouse id (the ``source`` of fulfilment rows).
    day : int
        Day index, ``0 .. ceil(horizon_days) - 1``.
    seed : int
        Sampling seed (with ``day``).
    fleet : FleetSpec, optional
    circuity : float
        Road km per geodesic km (>= 1).
    jitter_km : float
        Standard deviation of the address offset around the zone centre.
    backlog_share : float
        Share of orders carried over from the previous day (they are 24 h older).
    matrix_km : array, optional
        Distance matrix replacing geodesic × circuity.
    max_orders : int, optional
        Keep at most this many orders (the first sampled).

    Returns
    -------
    RoutingInstance
        One depot (the warehouse), clients = orders with ids ``"<zone>/<sku>/<k>"``; dimensions
        kg and m³; times in hours; costs in the scenario currency.

    Raises
    ------
    RoutingError
        Unknown warehouse, a day outside the horizon, no fulfilment rows from the warehouse, a
        zone or SKU the scenario does not know, no rate card for the warehouse's country, a
        matrix of the wrong shape.
    """
    from network.geo import haversine_km, pairwise_km

    fleet = fleet or FleetSpec()
    nodes = {n.id: n for n in scenario.nodes}
    if warehouse not in nodes or nodes[warehouse].kind != "warehouse":
        known = sorted(n.id for n in scenario.nodes if n.kind == "warehouse")
        raise RoutingError(f"unknown warehouse {warehouse!r}; warehouses: {', '.join(known)}")
    # units are over horizon_days (a float: a 10.5-day horizon has days 0..10, the last one
    # partial); the daily rate divides by the horizon itself, not by its whole days
    horizon = float(scenario.horizon_days)
    days = math.ceil(horizon)
    if not 0 <= day < days:
        raise RoutingError(f"day {day} outside the horizon 0..{days - 1}")
    if circuity < 1 or jitter_km < 0 or not 0 <= backlog_share <= 1:
        raise RoutingError("circuity >= 1, jitter_km >= 0 and 0 <= backlog_share <= 1 needed")
    # (index in the plan's fulfilment list, row): errors name the plan's own row
    rows = [(i, r) for i, r in enumerate(plan.fulfilment or ()) if r.source == warehouse]
    if not rows:
        sources = sorted({r.source for r in plan.fulfilment or ()})
        raise RoutingError(
            f"the plan has no fulfilment from {warehouse!r}; sources: "
            f"{', '.join(sources) or 'none'}"
        )
    wh = nodes[warehouse]
    skus = {k.id: k for k in scenario.skus}
    # the cards that make lanes from this warehouse (network.graph: a card serves zones of its
    # country from warehouses of that country or of its from_countries)
    cards = [c for c in scenario.rate_cards if wh.country in (c.country, *c.from_countries)]
    if not cards:
        raise RoutingError(
            f"no last-mile rate card from {wh.country!r} (warehouse {warehouse!r}): "
            "orders could not be handed to a parcel carrier"
        )

    # -- sample the day's orders ---------------------------------------------------------
    rng = np.random.default_rng((seed, day))
    counts: list[int] = []
    zones: list[str] = []  # per fulfilment row, then repeated per order below
    row_skus: list[str] = []
    row_cards: list[Any] = []
    for i, r in rows:
        zone, sku = r.zone, r.sku
        if zone not in nodes:
            raise RoutingError(f"fulfilment[{i}]: unknown zone {zone!r}")
        if sku not in skus:
            raise RoutingError(f"fulfilment[{i}]: unknown SKU {sku!r}")
        units = float(r.units)
        if not units >= 0:
            raise RoutingError(f"fulfilment[{i}]: units must be >= 0, got {units!r}")
        counts.append(int(rng.poisson(units / horizon)))
        to_zone = [c for c in cards if c.country == nodes[zone].country]
        card = next(
            (c for c in to_zone for lid in r.lanes if lid.startswith(c.id + ":")),
            to_zone[0] if to_zone else None,
        )
        if card is None:
            raise RoutingError(
                f"fulfilment[{i}]: no last-mile rate card from {warehouse!r} "
                f"({wh.country}) to zone {zone!r} ({nodes[zone].country}): its orders could "
                "not be handed to a parcel carrier"
            )
        zones.append(zone)
        row_skus.append(sku)
        row_cards.append(card)
    # each order's fulfilment row (rows in plan order, their orders one after the other)
    row_of = np.repeat(np.arange(len(counts)), counts)
    if max_orders is not None:
        row_of = row_of[:max_orders]
    n = len(row_of)

    def per_order(values: list[Any]) -> npt.NDArray[Any]:
        return np.asarray(values)[row_of] if n else np.zeros(0)

    # -- addresses and distances -----------------------------------------------------------
    zlat = per_order([nodes[z].lat for z in zones]).astype(float)
    zlon = per_order([nodes[z].lon for z in zones]).astype(float)
    off = rng.normal(0.0, jitter_km, size=(n, 2))
    lat = np.clip(zlat + off[:, 0] / 111.32, -89.9, 89.9)
    lon = zlon + off[:, 1] / (111.32 * np.maximum(np.cos(np.radians(zlat)), 0.05))
    all_lat = np.concatenate([[wh.lat], lat])
    all_lon = np.concatenate([[wh.lon], lon])
    if matrix_km is None and n + 1 <= GEODESIC_MAX:
        km = pairwise_km(all_lat, all_lon, all_lat, all_lon) * circuity
        np.fill_diagonal(km, 0.0)
        convention = "geodesic"
    elif matrix_km is None:
        km = haversine_km(all_lat, all_lon) * circuity
        convention = "haversine"
    else:
        km = np.asarray(matrix_km, dtype=float)
        if km.shape != (n + 1, n + 1):
            raise RoutingError(
                f"distance matrix has shape {km.shape}, expected {(n + 1, n + 1)} "
                f"(warehouse + {n} orders)"
            )
        convention = "matrix"
    drive = km / fleet.speed_kmh
    # a border (a strait, customs) is no stretch of road: crossing it takes the cross-border
    # card's base hours on top of the drive (late_orders still compare with the drive alone)
    country = np.concatenate([[wh.country], per_order([nodes[z].country for z in zones])])
    border = np.concatenate(
        [
            [0.0],
            per_order(
                [
                    c.base_hours if nodes[z].country != wh.country else 0.0
                    for z, c in zip(zones, row_cards, strict=True)
                ]
            ),
        ]
    ).astype(float)
    crossing = country[:, None] != country[None, :]
    hours = drive + np.where(crossing, np.maximum(border[:, None], border[None, :]), 0.0)

    # -- promise: age of each order at dispatch, due time ----------------------------------
    # processing_hours already holds the cut-off wait (DESIGN: "pick, pack and cut-off
    # wait"), so it is the mean age, spread over the day the orders were placed in
    spread = min(12.0, wh.processing_hours)
    age = wh.processing_hours + rng.uniform(-spread, spread, size=n)
    age = age + 24.0 * (rng.uniform(size=n) < backlog_share)
    due = promise_due_times(
        np.zeros(n), promise_hours=scenario.service.promise_hours, upstream_hours=age
    )
    lost = due < drive[0, 1:]
    tw_late = np.where(lost, math.inf, due)

    # -- demand and carrier cost ---------------------------------------------------------
    kg = per_order([skus[k].weight_kg for k in row_skus]).astype(float)
    m3 = per_order([skus[k].volume_m3 for k in row_skus]).astype(float)
    rate = (
        per_order(
            [[c.cost_per_unit, c.cost_per_kg, c.cost_per_m3, c.cost_per_km] for c in row_cards]
        )
        .reshape(n, 4)
        .astype(float)
    )
    penalty = rate[:, 0] + rate[:, 1] * kg + rate[:, 2] * m3 + rate[:, 3] * km[0, 1:]
    count = fleet.count if fleet.count is not None else n // 40 + 1
    vt = VehicleType(
        count=count,
        capacity=(fleet.capacity_kg, fleet.capacity_m3),
        fixed_cost=fleet.fixed_cost,
        cost_per_distance=fleet.cost_per_km,
        cost_per_hour=fleet.cost_per_hour,
        max_duration=fleet.max_duration_hours,
        shift_start=0.0,
        shift_end=fleet.shift_hours,
        name="van",
    )
    ids = [f"{zones[r]}/{row_skus[r]}/{k}" for k, r in enumerate(row_of.tolist())]
    return RoutingInstance.build(
        f"{scenario.name}:{warehouse}:day{day}",
        km,
        num_depots=1,
        vehicle_types=(vt,),
        demand=np.column_stack([kg, m3]) if n else np.zeros((0, 2)),
        duration=hours,
        service=np.full(n, fleet.service_minutes / 60.0),
        tw_late=tw_late,
        drop_penalty=penalty,
        promise_due=due,
        client_ids=ids,
        depot_ids=[warehouse],
        dimension_names=("kg", "m3"),
        coords=np.column_stack([all_lat, all_lon]),
        distance_convention=convention,
        meta={
            "currency": scenario.currency,
            "time_unit": "hours",
            "clock": "hours since dispatch (0 = the day's orders are ready at the warehouse "
            f"and vans may leave; an order's age at dispatch eats into its "
            f"{scenario.service.promise_hours:g} h promise)",
            "seed": seed,
            "day": day,
            "late_orders": [ids[i] for i in np.flatnonzero(lost)],
            "age_hours": age.round(3).tolist(),
        },
    )
