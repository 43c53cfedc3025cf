"""Lane graph: rate-card expansion, duty rules, and geodesic distances on known city pairs."""

from __future__ import annotations

import numpy as np
import pytest

from network.geo import geodesic_km, nodes_frame, pairwise_km
from network.graph import build_graph, lane_unit_cost
from network.scenario import Scenario


@pytest.mark.parametrize(
    ("a", "b", "km", "tol"),
    [
        # GeographicLib's documented example JFK -> LHR (40.6,-73.8 -> 51.6,-0.5): 5551.7594 km
        ((40.6, -73.8), (51.6, -0.5), 5551.7594, 1e-3),
        # Karney (2013) example, Wellington -> Salamanca: 19959.679267 km
        ((-41.32, 174.81), (40.96, -5.50), 19959.679267, 1e-5),
        # a quarter meridian on WGS84 is 10001.965729 km
        ((0.0, 0.0), (90.0, 0.0), 10001.965729, 1e-5),
        # one degree of longitude on the equator: a·π/180 = 111.319491 km
        ((0.0, 0.0), (0.0, 1.0), 111.319491, 1e-5),
    ],
)
def test_geodesic_known_pairs(
    a: tuple[float, float], b: tuple[float, float], km: float, tol: float
) -> None:
    """Geodesic distances match published WGS84 values."""
    assert float(geodesic_km(*a, *b)) == pytest.approx(km, abs=tol)


def test_pairwise_matches_elementwise() -> None:
    """The vectorised matrix equals point-by-point distances, shape (len(a), len(b))."""
    rng = np.random.default_rng(0)
    la, lo = rng.uniform(-60, 60, 7), rng.uniform(-180, 180, 7)
    lb, ob = rng.uniform(-60, 60, 5), rng.uniform(-180, 180, 5)
    m = pairwise_km(la, lo, lb, ob)
    assert m.shape == (7, 5)
    for i in range(7):
        for j in range(5):
            assert m[i, j] == pytest.approx(float(geodesic_km(la[i], lo[i], lb[j], ob[j])))


def _scenario(**over: object) -> Scenario:
    doc = {
        "name": "g",
        "skus": [
            {
                "id": "K",
                "weight_kg": 2.0,
                "volume_m3": 0.01,
                "value": 100.0,
                "duty_rates": {"MY": 0.2},
            }
        ],
        "nodes": [
            {
                "id": "SG-HUB",
                "kind": "warehouse",
                "lat": 1.35,
                "lon": 103.82,
                "country": "SG",
                "bonded": True,
            },
            {"id": "WH-KUL", "kind": "warehouse", "lat": 3.14, "lon": 101.69, "country": "MY"},
            {"id": "Z-KUL", "kind": "zone", "lat": 3.14, "lon": 101.69, "country": "MY"},
            {"id": "Z-KCH", "kind": "zone", "lat": 1.55, "lon": 110.34, "country": "MY"},
            {"id": "O", "kind": "origin", "lat": 22.54, "lon": 114.06, "country": "CN"},
        ],
        "lanes": [
            {
                "id": "O-SG",
                "from": "O",
                "to": "SG-HUB",
                "mode": "sea",
                "duty_rate": 0.3,
                "transit_hours": 100,
                "cost_per_unit": 1.0,
            }
        ],
        "rate_cards": [
            {
                "id": "MY",
                "country": "MY",
                "from_countries": ["SG"],
                "base_hours": 10,
                "km_per_hour": 50,
                "circuity": 1.25,
                "max_km": 900,
                "cost_per_unit": 1.0,
                "cost_per_kg": 0.5,
                "cost_per_km": 0.01,
                "duty_rate": 0.05,
            }
        ],
    }
    doc.update(over)
    return Scenario.model_validate(doc)


def test_rate_card_expansion() -> None:
    """A card makes CARD:W:Z lanes with km = circuity × geodesic ≤ max_km and hours by formula."""
    G = build_graph(_scenario())
    lanes = {k: d for _, _, k, d in G.edges(keys=True, data=True) if d["rate_card"]}
    # Kuching (Borneo) is > 900 km by road factor from both warehouses: no lane there
    assert sorted(lanes) == ["MY:SG-HUB:Z-KUL", "MY:WH-KUL:Z-KUL"]
    d = lanes["MY:SG-HUB:Z-KUL"]
    km = 1.25 * float(geodesic_km(1.35, 103.82, 3.14, 101.69))
    assert d["km"] == pytest.approx(km)
    assert d["hours"] == pytest.approx(10 + km / 50)
    assert d["mode"] == "last_mile"
    assert lanes["MY:WH-KUL:Z-KUL"]["km"] == pytest.approx(0.0)


def test_bonded_duty_rules() -> None:
    """No duty into a bonded warehouse; card duty only when leaving a bonded one; SKU rate wins."""
    s = _scenario()
    G = build_graph(s)
    assert G.edges["O", "SG-HUB", "O-SG"]["duty_rate"] is None
    from_hub = G.edges["SG-HUB", "Z-KUL", "MY:SG-HUB:Z-KUL"]
    local = G.edges["WH-KUL", "Z-KUL", "MY:WH-KUL:Z-KUL"]
    assert from_hub["duty_rate"] == 0.05
    assert local["duty_rate"] is None
    k = s.skus[0]
    base = 1.0 + 0.5 * 2.0 + 0.01 * from_hub["km"]
    # the SKU's own MY rate (20 %) wins over the card's 5 %
    assert lane_unit_cost(G, from_hub, k, "MY") == pytest.approx(base + 0.2 * 100.0)
    assert lane_unit_cost(G, local, k, "MY") == pytest.approx(1.0 + 0.5 * 2.0)


def test_nodes_frame_is_geographic() -> None:
    """Nodes come out as a GeoDataFrame in EPSG:4326 with point geometry at (lon, lat)."""
    gdf = nodes_frame(_scenario())
    assert gdf.crs.to_epsg() == 4326
    row = gdf.set_index("id").loc["Z-KCH"]
    assert (row.geometry.x, row.geometry.y) == (110.34, 1.55)
