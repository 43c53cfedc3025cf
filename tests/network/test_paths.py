"""Pareto path search checked against brute-force path enumeration on random small graphs."""

from __future__ import annotations

import networkx as nx
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from network.compile import compile_network
from network.graph import build_graph, lane_unit_cost
from network.paths import pareto_for_sku, pareto_paths, sku_pareto_mask
from network.scenario import Scenario, load_scenario

COUNTRIES = ("AA", "BB")


def _front(points: list[tuple[float, float]]) -> list[tuple[float, float]]:
    """The (cost, hours) Pareto front of a point set, rounded, sorted by hours."""
    pts = sorted({(round(c, 6), round(h, 6)) for c, h in points}, key=lambda p: (p[1], p[0]))
    out: list[tuple[float, float]] = []
    for c, h in pts:
        if not any(c2 <= c and h2 <= h for c2, h2 in out):
            out.append((c, h))
    return sorted(out, key=lambda p: (p[1], p[0]))


def _brute_force(
    G: nx.MultiDiGraph, s: Scenario, src: str, dst: str, sku
) -> list[tuple[float, float]]:  # type: ignore[no-untyped-def]
    """Enumerate every simple path through gateways only and price it for one SKU."""
    allowed = {n for n, k in G.nodes(data="kind") if k == "gateway"} | {src, dst}
    H = G.subgraph(allowed)
    start = G.nodes[src]["start_hours"]
    pts = []
    for path in nx.all_simple_edge_paths(H, src, dst):
        cost = 0.0
        hours = start
        for u, v, k in path:
            d = G.edges[u, v, k]
            cost += lane_unit_cost(G, d, sku, G.nodes[v]["country"])
            hours += d["hours"]
        pts.append((cost, hours))
    return _front(pts)


@st.composite
def small_networks(draw: st.DrawFn) -> Scenario:
    """An origin, 1-4 gateways, a warehouse and a zone, with random lanes, costs and duties."""
    n_gw = draw(st.integers(1, 4))
    nodes = [
        {
            "id": "O",
            "kind": "origin",
            "lat": 22.5,
            "lon": 114.0,
            "country": "CN",
            "handling_hours": draw(st.sampled_from([0, 6, 18])),
        }
    ]
    for i in range(n_gw):
        nodes.append(
            {
                "id": f"G{i}",
                "kind": "gateway",
                "lat": 1.0 + i,
                "lon": 100.0 + i,
                "country": draw(st.sampled_from(COUNTRIES)),
            }
        )
    nodes.append(
        {
            "id": "W",
            "kind": "warehouse",
            "lat": 3.0,
            "lon": 101.0,
            "country": "AA",
            "processing_hours": 12,
        }
    )
    nodes.append({"id": "Z", "kind": "zone", "lat": 3.1, "lon": 101.2, "country": "BB"})
    ids = [n["id"] for n in nodes]
    money = st.sampled_from([0.0, 0.5, 1.0, 2.0, 3.5])
    lanes = []
    n_lanes = draw(st.integers(2, 14))
    for i in range(n_lanes):
        a = draw(st.sampled_from(ids[:-1]))  # never from the zone
        b = draw(st.sampled_from([x for x in ids[1:] if x != a]))  # never into the origin
        lane = {
            "id": f"L{i}",
            "from": a,
            "to": b,
            "mode": "truck",
            "transit_hours": draw(st.sampled_from([1, 5, 10, 24, 48])),
            "clearance_hours": draw(st.sampled_from([0, 0, 8])),
            "cost_per_unit": draw(money),
            "cost_per_kg": draw(money),
            "cost_per_m3": draw(money),
            "cost_per_km": draw(st.sampled_from([0.0, 0.001])),
            "distance_km": draw(st.sampled_from([10.0, 100.0, 500.0])),
        }
        if draw(st.booleans()):
            lane["duty_rate"] = draw(st.sampled_from([0.0, 0.05, 0.2]))
        lanes.append(lane)
    own = draw(
        st.dictionaries(st.sampled_from(COUNTRIES), st.sampled_from([0.0, 0.1, 0.3]), max_size=2)
    )
    sku = {
        "id": "K",
        "weight_kg": draw(st.sampled_from([0.1, 1.0, 5.0])),
        "volume_m3": draw(st.sampled_from([0.001, 0.05])),
        "value": draw(st.sampled_from([0.0, 10.0, 80.0])),
        "duty_rates": own,
    }
    return Scenario.model_validate({"name": "rand", "nodes": nodes, "lanes": lanes, "skus": [sku]})


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(small_networks(), st.sampled_from([("O", "W"), ("O", "Z"), ("W", "Z")]))
def test_pareto_front_equals_brute_force(s: Scenario, pair: tuple[str, str]) -> None:
    """For any small network and SKU, the label-setting front equals the enumerated front."""
    G = build_graph(s)
    src, dst = pair
    got = pareto_for_sku(s, src, dst, s.skus[0], max_labels=10_000, G=G)
    assert not got.truncated
    mine = _front([(p.cost, p.hours) for p in got.paths])
    assert mine == _brute_force(G, s, src, dst, s.skus[0])
    # and no returned path is dominated by another returned path (the list is the front)
    assert len(mine) == len(got.paths)


@settings(max_examples=60, deadline=None)
@given(small_networks())
def test_compiled_costs_equal_scalar_lane_sums(s: Scenario) -> None:
    """The vectorised per-SKU option costs equal the sum of scalar lane costs along each path."""
    G = build_graph(s)
    data = compile_network(s, G, max_labels=10_000)
    edges = {k: (u, v, d) for u, v, k, d in G.edges(keys=True, data=True)}
    for opts in (data.inbound, data.outbound, data.direct):
        cost = opts.unit_cost(data.sku)
        for i in range(len(opts)):
            lanes = [data.lanes[j] for j in opts.lanes_of(i)]
            want = sum(
                lane_unit_cost(G, edges[ln][2], s.skus[0], G.nodes[edges[ln][1]]["country"])
                for ln in lanes
            )
            assert cost[i, 0] == pytest.approx(want, rel=1e-12, abs=1e-12)


def test_label_cap_truncates_and_says_so() -> None:
    """With a cap of one label per node the search keeps the fastest path and reports truncation."""
    s = Scenario.model_validate(
        {
            "name": "cap",
            "skus": [{"id": "K", "weight_kg": 1, "volume_m3": 0.01, "value": 1}],
            "nodes": [
                {"id": "O", "kind": "origin", "lat": 0, "lon": 0, "country": "CN"},
                {"id": "W", "kind": "warehouse", "lat": 1, "lon": 1, "country": "AA"},
            ],
            "lanes": [
                {
                    "id": "fast",
                    "from": "O",
                    "to": "W",
                    "mode": "air",
                    "transit_hours": 10,
                    "cost_per_unit": 9,
                },
                {
                    "id": "slow",
                    "from": "O",
                    "to": "W",
                    "mode": "sea",
                    "transit_hours": 100,
                    "cost_per_unit": 1,
                },
            ],
        }
    )
    G = build_graph(s)
    full = pareto_paths(G, "O", target_kind="warehouse")
    assert sorted(p.lanes for p in full.paths["W"]) == [("fast",), ("slow",)]
    assert not full.truncated
    capped = pareto_paths(G, "O", target_kind="warehouse", max_labels=1)
    assert [p.lanes for p in capped.paths["W"]] == [("fast",)]
    assert capped.truncated


def test_paths_do_not_pass_through_warehouses_or_zones(data_dir) -> None:  # type: ignore[no-untyped-def]
    """Inbound and direct paths use gateways as the only intermediate nodes."""
    s = load_scenario(data_dir / "tiny-my.json")
    G = build_graph(s)
    kinds = dict(G.nodes(data="kind"))
    for src, tk in (("CN-SZX", "warehouse"), ("CN-SZX", "zone"), ("WH-KUL", "zone")):
        for paths in pareto_paths(G, src, target_kind=tk).paths.values():
            for p in paths:
                assert all(kinds[n] == "gateway" for n in p.nodes[1:-1])


def test_tiny_options_hand_checked(data_dir) -> None:  # type: ignore[no-untyped-def]
    """Costs and hours of the contract example, computed by hand from DESIGN §3."""
    s = load_scenario(data_dir / "tiny-my.json")
    d = compile_network(s)
    inb = d.inbound.unit_cost(d.sku)
    # SKU-A to WH-KUL: sea 38*0.0021 + customs 0.05 + duty 0.08*18
    kul = int(np.flatnonzero(d.inbound.dst == d.warehouses.index("WH-KUL"))[0])
    assert inb[kul, 0] == pytest.approx(38 * 0.0021 + 0.05 + 0.08 * 18)
    # SKU-B's own 10 % MY duty wins over the lane's 8 %
    assert inb[kul, 1] == pytest.approx(38 * 0.006 + 0.05 + 0.10 * 45)
    # hours: 18 h origin handling + 168 h sea + 6 h transit + 8 h clearance
    assert d.inbound.hours[kul] == pytest.approx(200.0)
    # direct 72 h line: 18 + 50 + 8 = 76 h, so late for a 72 h promise
    assert d.direct.hours.tolist() == [76.0]
    assert d.direct.unit_cost(d.sku)[0, 0] == pytest.approx(1.2 + 7.5 * 0.45 + 0.08 * 18)


def test_sku_pareto_mask_ties_and_groups() -> None:
    """Dominance is per group; exact ties keep the first path only."""
    cost = np.array([[1.0, 5.0], [1.0, 1.0], [2.0, 3.0], [1.0, 1.0]])
    hours = np.array([10.0, 10.0, 5.0, 10.0])
    group = np.array([0, 0, 0, 1])
    m = sku_pareto_mask(cost, hours, group)
    # SKU 0: path 0 and 1 tie (first kept), path 2 faster; SKU 1: path 1 dominates path 0
    assert m[:, 0].tolist() == [True, False, True, True]
    assert m[:, 1].tolist() == [False, True, True, True]


@settings(max_examples=100, deadline=None)
@given(st.integers(1, 12), st.integers(1, 4), st.integers(0, 2**31 - 1))
def test_sku_pareto_mask_matches_pairwise_definition(n: int, k: int, seed: int) -> None:
    """The vectorised mask equals the definition checked pair by pair on random small inputs."""
    rng = np.random.default_rng(seed)
    cost = rng.integers(0, 4, (n, k)).astype(float)
    hours = rng.integers(0, 4, n).astype(float)
    group = rng.integers(0, 3, n)
    m = sku_pareto_mask(cost, hours, group)
    for i in range(n):
        for s in range(k):
            beaten = False
            for j in range(n):
                if j == i or group[j] != group[i]:
                    continue
                weak = cost[j, s] <= cost[i, s] and hours[j] <= hours[i]
                strict = cost[j, s] < cost[i, s] or hours[j] < hours[i]
                beaten |= weak and (strict or j < i)
            assert m[i, s] == (not beaten)
