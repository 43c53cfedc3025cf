"""The lane graph: a ``networkx.MultiDiGraph`` of nodes and lanes, rate cards expanded.

Nodes carry their scenario fields plus ``start_hours`` (origin handling or warehouse
processing: the hours spent at the node before the first lane of a path starting there).
Edges are keyed by lane id (several carriers may join the same two nodes) and carry the lane's
costs, ``hours`` (transit + clearance), ``km`` and ``duty_rate`` (``None`` for no duty).

Rules applied while building (DESIGN §3):

- a rate card makes one lane ``CARD:WAREHOUSE:ZONE`` of its ``mode`` (``last_mile`` unless it
  names another; never ``transfer``) for each warehouse of its country (or of
  ``from_countries``) and zone of its country with
  ``km = circuity × geodesic km ≤ max_km``; hours ``base_hours + km / km_per_hour``;
- lanes into a bonded warehouse charge no duty (the goods are not imported yet); a rate card's
  ``duty_rate`` applies only to lanes leaving a bonded warehouse;
- closed warehouses stay in the graph (a plan may report them) but are flagged.

>>> from network.scenario import Scenario
>>> s = Scenario.model_validate({"name": "t", "skus": [], "nodes": [
...   {"id": "W", "kind": "warehouse", "lat": 3.14, "lon": 101.69, "country": "MY"},
...   {"id": "Z", "kind": "zone", "lat": 1.49, "lon": 103.74, "country": "MY"}],
...   "rate_cards": [{"id": "C", "country": "MY", "km_per_hour": 50, "circuity": 1.3}]})
>>> G = build_graph(s)
>>> list(G.edges(keys=True))
[('W', 'Z', 'C:W:Z')]
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import networkx as nx
import numpy as np

from network import attrs as A
from network.geo import geodesic_km, pairwise_km
from network.scenario import Lane, Scenario, Sku

__all__ = ["build_graph", "iter_lanes", "lane_unit_cost"]


def _lane_attrs(lane: Lane, km: float, *, duty: float | None) -> dict[str, Any]:
    return {
        "id": lane.id,
        A.MODE: lane.mode,
        A.CARRIER: lane.carrier,
        A.TRANSIT_HOURS: lane.transit_hours,
        A.CLEARANCE_HOURS: lane.clearance_hours,
        A.HOURS: lane.transit_hours + lane.clearance_hours,
        A.KM: km,
        A.COST_PER_UNIT: lane.cost_per_unit,
        A.COST_PER_KG: lane.cost_per_kg,
        A.COST_PER_M3: lane.cost_per_m3,
        A.COST_PER_KM: lane.cost_per_km,
        A.DUTY_RATE: duty,
        A.CAPACITY_KG: lane.capacity_kg_per_day,
        A.CAPACITY_M3: lane.capacity_m3_per_day,
        A.CAPACITY_UNITS: lane.capacity_units_per_day,
        A.RATE_CARD: None,
        A.TIME_CV: lane.time_cv,
    }


def build_graph(scenario: Scenario) -> nx.MultiDiGraph:
    """Build the lane graph of a validated scenario (rate cards expanded, vectorised).

    Parameters
    ----------
    scenario
        A scenario that passed :func:`network.scenario.parse_scenario`.

    Returns
    -------
    networkx.MultiDiGraph
        Nodes keyed by id, edges keyed by lane id, graph attribute ``name``.
    """
    G = nx.MultiDiGraph(name=scenario.name, currency=scenario.currency)
    for n in scenario.nodes:
        data = n.model_dump(exclude={"id"}, exclude_none=True)
        start = (
            n.handling_hours
            if n.kind == "origin"
            else (n.processing_hours if n.kind == "warehouse" else 0.0)
        )
        G.add_node(n.id, **data, **{A.START_HOURS: start})

    # explicit lanes: km for cost_per_km is given, or the geodesic between the end nodes
    lanes = scenario.lanes
    if lanes:
        lat1 = np.array([G.nodes[ln.from_]["lat"] for ln in lanes])
        lon1 = np.array([G.nodes[ln.from_]["lon"] for ln in lanes])
        lat2 = np.array([G.nodes[ln.to]["lat"] for ln in lanes])
        lon2 = np.array([G.nodes[ln.to]["lon"] for ln in lanes])
        geo = geodesic_km(lat1, lon1, lat2, lon2)
        for ln, km in zip(lanes, geo, strict=True):
            into_bonded = (
                G.nodes[ln.to].get("bonded", False) and G.nodes[ln.to]["kind"] == "warehouse"
            )
            duty = None if into_bonded else ln.duty_rate
            dist = ln.distance_km if ln.distance_km is not None else float(km)
            G.add_edge(ln.from_, ln.to, key=ln.id, **_lane_attrs(ln, dist, duty=duty))

    # rate cards: all warehouse x zone pairs of the card's countries at once
    whs = scenario.nodes_of("warehouse")
    zones = scenario.nodes_of("zone")
    for card in scenario.rate_cards:
        src_c = {card.country, *card.from_countries}
        w_sel = [w for w in whs if w.country in src_c]
        z_sel = [z for z in zones if z.country == card.country]
        if not w_sel or not z_sel:
            continue
        km = card.circuity * pairwise_km(
            [w.lat for w in w_sel],
            [w.lon for w in w_sel],
            [z.lat for z in z_sel],
            [z.lon for z in z_sel],
        )
        wi, zi = np.nonzero(km <= card.max_km)
        hours = card.base_hours + km[wi, zi] / card.km_per_hour
        base = {
            A.MODE: card.mode,
            A.CARRIER: card.carrier,
            A.CLEARANCE_HOURS: 0.0,
            A.COST_PER_UNIT: card.cost_per_unit,
            A.COST_PER_KG: card.cost_per_kg,
            A.COST_PER_M3: card.cost_per_m3,
            A.COST_PER_KM: card.cost_per_km,
            A.CAPACITY_KG: card.capacity_kg_per_day,
            A.CAPACITY_M3: card.capacity_m3_per_day,
            A.CAPACITY_UNITS: card.capacity_units_per_day,
            A.RATE_CARD: card.id,
            A.TIME_CV: card.time_cv,
        }
        G.add_edges_from(
            (
                w_sel[i].id,
                z_sel[j].id,
                f"{card.id}:{w_sel[i].id}:{z_sel[j].id}",
                {
                    **base,
                    "id": f"{card.id}:{w_sel[i].id}:{z_sel[j].id}",
                    A.TRANSIT_HOURS: float(h),
                    A.HOURS: float(h),
                    A.KM: float(km[i, j]),
                    A.DUTY_RATE: card.duty_rate if w_sel[i].bonded else None,
                },
            )
            for i, j, h in zip(wi.tolist(), zi.tolist(), hours.tolist(), strict=True)
        )
    return G


def iter_lanes(G: nx.MultiDiGraph) -> Iterator[tuple[str, str, str, dict[str, Any]]]:
    """All lanes as ``(from, to, lane_id, attrs)``, in insertion order."""
    yield from G.edges(keys=True, data=True)


def lane_unit_cost(G: nx.MultiDiGraph, lane: dict[str, Any], sku: Sku, dest_country: str) -> float:
    """Cost of moving one unit of ``sku`` over one lane (DESIGN §3), duty included.

    ``cost_per_unit + cost_per_kg·w + cost_per_m3·v + cost_per_km·km``, plus
    ``duty_rate·value`` on a duty lane, the SKU's own rate for ``dest_country`` winning.

    This scalar form is the reference the vectorised :mod:`network.compile` is tested against.
    """
    c = (
        lane[A.COST_PER_UNIT]
        + lane[A.COST_PER_KG] * sku.weight_kg
        + lane[A.COST_PER_M3] * sku.volume_m3
        + lane[A.COST_PER_KM] * lane[A.KM]
    )
    rate = lane[A.DUTY_RATE]
    if rate is not None:
        rate = sku.duty_rates.get(dest_country, rate)
        c += rate * sku.value
    return float(c)
