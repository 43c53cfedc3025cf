"""Pareto-efficient lane paths: a bi-criteria label-setting search (Martins' algorithm).

A path's cost per unit depends on the SKU (weight, volume, value, duty rates), so one search per
SKU would not scale to 100,000 SKUs. Instead each label carries a *cost vector* that is linear in
the SKU's attributes:

``[hours, per_unit (km cost folded in), per_kg, per_m3, n_c, r_c for each duty country c]``

where ``n_c`` counts the duty lanes into country ``c`` and ``r_c`` sums their lane rates. For
SKU ``k`` the path's cost is ``per_unit + per_kg·w + per_m3·v + Σ_c value·(n_c·rate_kc if the SKU
has its own rate for c, else r_c)`` (DESIGN §3). All attributes are non-negative, so a label
that is ≤ another in every component is at least as good for *every* SKU: dominance on the
vector is safe, and the surviving set contains each SKU's (cost, hours) Pareto front, which
:func:`sku_pareto_mask` then extracts per SKU with numpy.

Labels are popped in lexicographic order (hours first); a popped label that no permanent label
at its node weakly dominates becomes permanent. ``max_labels`` caps permanent labels per node
(the fastest are kept) and the search reports when it truncated.

Paths start at ``source``, may pass only through nodes whose kind is in ``through`` (gateways by
default; never warehouses, zones or origins), and end at nodes whose kind is ``target_kind``.
The source node's ``start_hours`` (origin handling or warehouse processing) is counted in the
path's hours as its first leg.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypedDict

import networkx as nx
import numpy as np
import numpy.typing as npt

from network import attrs as A

if TYPE_CHECKING:
    from network.scenario import Scenario, Sku

__all__ = [
    "Leg",
    "LegJson",
    "ParetoPath",
    "SearchResult",
    "SkuPath",
    "SkuPathJson",
    "SkuPaths",
    "duty_countries",
    "lane_vector",
    "pareto_for_sku",
    "pareto_paths",
    "sku_pareto_mask",
    "vector_costs",
]

BASE_DIMS = 4  # hours, per_unit, per_kg, per_m3


@dataclass(frozen=True, slots=True)
class ParetoPath:
    """One path: lanes in order, nodes visited, criteria vector (``vec[0]`` is hours)."""

    source: str
    target: str
    lanes: tuple[str, ...]
    nodes: tuple[str, ...]
    vec: npt.NDArray[np.float64]

    @property
    def hours(self) -> float:
        """Door-to-door hours including the source node's start hours."""
        return float(self.vec[0])


@dataclass(frozen=True, slots=True)
class Leg:
    """One lane of a path, for display: hours split into transit and clearance, cost per unit."""

    lane: str
    from_: str
    to: str
    mode: str
    carrier: str | None
    transit_hours: float
    clearance_hours: float
    cost: float


@dataclass(slots=True)
class SearchResult:
    """Paths found from one source to each reached target, and whether the cap truncated."""

    source: str
    paths: dict[str, list[ParetoPath]] = field(default_factory=dict)
    truncated: bool = False
    labels: int = 0


def duty_countries(G: nx.MultiDiGraph) -> tuple[str, ...]:
    """Countries that some duty lane of ``G`` enters, sorted (the duty dimensions)."""
    out = {
        G.nodes[v][A.COUNTRY] for _, v, d in G.edges(data=True) if d.get(A.DUTY_RATE) is not None
    }
    return tuple(sorted(out))


def lane_vector(
    G: nx.MultiDiGraph, v: str, data: dict[str, Any], dim: dict[str, int], ndims: int
) -> npt.NDArray[np.float64]:
    """The criteria vector of one lane into node ``v``."""
    vec = np.zeros(ndims)
    vec[0] = data[A.HOURS]
    vec[1] = data[A.COST_PER_UNIT] + data[A.COST_PER_KM] * data[A.KM]
    vec[2] = data[A.COST_PER_KG]
    vec[3] = data[A.COST_PER_M3]
    rate = data.get(A.DUTY_RATE)
    if rate is not None:
        c = dim[G.nodes[v][A.COUNTRY]]
        vec[BASE_DIMS + 2 * c] = 1.0
        vec[BASE_DIMS + 2 * c + 1] = rate
    return vec


def pareto_paths(
    G: nx.MultiDiGraph,
    source: str,
    *,
    target_kind: str | Iterable[str],
    through: Sequence[str] = ("gateway",),
    targets: Iterable[str] | None = None,
    max_labels: int = 64,
    countries: Sequence[str] | None = None,
) -> SearchResult:
    """All vector-Pareto paths from ``source`` to nodes of ``target_kind``.

    Parameters
    ----------
    G
        The lane graph (:func:`network.graph.build_graph`).
    source
        Start node id.
    target_kind
        Kind(s) of node a path may end at (``warehouse`` or ``zone``).
    through
        Kinds of node a path may pass through.
    targets
        Restrict results to these node ids (the search still explores what it must).
    max_labels
        Cap on permanent labels per node; the fastest are kept.
    countries
        Duty dimensions (default :func:`duty_countries`); pass the same tuple for every search
        whose vectors are compared or stacked.

    Raises
    ------
    KeyError
        If ``source`` is not a node of ``G``.
    ValueError
        If ``max_labels < 1``.
    """
    if source not in G:
        raise KeyError(f"unknown node {source!r}")
    if max_labels < 1:
        raise ValueError(f"max_labels={max_labels} < 1 not understood.")
    kinds_end = {target_kind} if isinstance(target_kind, str) else set(target_kind)
    kinds_through = set(through)
    wanted = None if targets is None else set(targets)
    ctry = tuple(countries) if countries is not None else duty_countries(G)
    dim = {c: i for i, c in enumerate(ctry)}
    ndims = BASE_DIMS + 2 * len(ctry)
    kind = nx.get_node_attributes(G, A.KIND)

    # label store: vec, node, predecessor label, lane key
    vecs: list[npt.NDArray[np.float64]] = []
    lnode: list[str] = []
    pred: list[int] = []
    lkey: list[str | None] = []
    perm: dict[str, list[npt.NDArray[np.float64]]] = {}
    perm_ids: dict[str, list[int]] = {}
    edge_vec: dict[tuple[str, str, str], npt.NDArray[np.float64]] = {}
    res = SearchResult(source)

    def dominated(node: str, vec: npt.NDArray[np.float64]) -> bool:
        p = perm.get(node)
        if not p:
            return False
        arr = np.asarray(p)
        return bool(np.any(np.all(arr <= vec + 1e-12, axis=1)))

    start = np.zeros(ndims)
    start[0] = G.nodes[source].get(A.START_HOURS, 0.0)
    vecs.append(start)
    lnode.append(source)
    pred.append(-1)
    lkey.append(None)
    heap: list[tuple[tuple[float, ...], int]] = [(tuple(start), 0)]
    while heap:
        _, lid = heapq.heappop(heap)
        node, vec = lnode[lid], vecs[lid]
        if dominated(node, vec):
            continue
        plist = perm.setdefault(node, [])
        if len(plist) >= max_labels:
            res.truncated = True
            continue
        plist.append(vec)
        perm_ids.setdefault(node, []).append(lid)
        res.labels += 1
        if node != source and kind.get(node) not in kinds_through:
            continue  # an end node: paths stop here
        for _, v, key, data in G.out_edges(node, keys=True, data=True):
            kv = kind.get(v)
            if v == source or (kv not in kinds_through and kv not in kinds_end):
                continue
            ev = edge_vec.get((node, v, key))
            if ev is None:
                ev = edge_vec[(node, v, key)] = lane_vector(G, v, data, dim, ndims)
            nv = vec + ev
            if dominated(v, nv):
                continue
            vecs.append(nv)
            lnode.append(v)
            pred.append(lid)
            lkey.append(key)
            heapq.heappush(heap, (tuple(nv), len(vecs) - 1))

    for node, ids in perm_ids.items():
        if node == source or kind.get(node) not in kinds_end:
            continue
        if wanted is not None and node not in wanted:
            continue
        out = []
        for lid in ids:
            lanes: list[str] = []
            nodes: list[str] = []
            cur = lid
            while cur >= 0:
                nodes.append(lnode[cur])
                lane = lkey[cur]
                if lane is not None:
                    lanes.append(lane)
                cur = pred[cur]
            out.append(
                ParetoPath(source, node, tuple(reversed(lanes)), tuple(reversed(nodes)), vecs[lid])
            )
        res.paths[node] = out
    return res


def vector_costs(
    vec: npt.NDArray[np.float64],
    weight: npt.NDArray[np.float64],
    volume: npt.NDArray[np.float64],
    value: npt.NDArray[np.float64],
    own_rate: npt.NDArray[np.float64],
) -> npt.NDArray[np.float64]:
    """Per-unit cost of each path for each SKU, shape ``(n_paths, n_skus)``.

    Parameters
    ----------
    vec
        Criteria vectors, shape ``(n_paths, 4 + 2·C)``.
    weight, volume, value
        SKU attributes, shape ``(n_skus,)``.
    own_rate
        The SKUs' own duty rates per duty country, shape ``(n_skus, C)``, NaN where the SKU
        has none (the lane's rate applies).
    """
    vec = np.atleast_2d(vec)
    cost = vec[:, 1:2] + np.outer(vec[:, 2], weight) + np.outer(vec[:, 3], volume)
    if own_rate.shape[1]:
        n = vec[:, BASE_DIMS::2]  # duty lanes per country
        r = vec[:, BASE_DIMS + 1 :: 2]  # summed lane rates per country
        has = ~np.isnan(own_rate)
        own = np.where(has, own_rate, 0.0) * value[:, None]  # (K, C)
        lane = np.where(has, 0.0, 1.0) * value[:, None]
        cost = cost + n @ own.T + r @ lane.T
    return cost


def sku_pareto_mask(
    cost: npt.NDArray[np.float64], hours: npt.NDArray[np.float64], group: npt.NDArray[np.int64]
) -> npt.NDArray[np.bool_]:
    """Which paths are (cost, hours)-Pareto for each SKU, within groups of the same pair.

    Parameters
    ----------
    cost
        ``(n_paths, n_skus)`` per-unit costs.
    hours
        ``(n_paths,)``.
    group
        ``(n_paths,)`` pair id; only paths of one pair are compared.

    Returns
    -------
    numpy.ndarray
        ``(n_paths, n_skus)`` bool: ``True`` where no other path of the pair is at least as good
        in both criteria and better in one (of exact ties, the first is kept).

    >>> sku_pareto_mask(np.array([[1.0], [2.0], [1.0]]), np.array([5.0, 1.0, 6.0]),
    ...                 np.array([0, 0, 0])).ravel().tolist()
    [True, True, False]
    """
    n, k = cost.shape
    keep = np.ones((n, k), dtype=bool)
    if n < 2:
        return keep
    # pad pairs to a (pairs, m_max) table; singletons are always kept and skipped
    order = np.argsort(group, kind="stable")
    g = group[order]
    starts = np.flatnonzero(np.r_[True, g[1:] != g[:-1]])
    sizes = np.diff(np.r_[starts, n])
    multi = sizes > 1
    if not multi.any():
        return keep
    starts, sizes = starts[multi], sizes[multi]
    m = int(sizes.max())
    pos = np.arange(m)
    valid = pos[None, :] < sizes[:, None]  # (P, m)
    rows = order[np.minimum(starts[:, None] + pos[None, :], n - 1)]  # (P, m) option index
    h = np.where(valid, hours[rows], np.inf)
    tol = 1e-9
    le_h = h[:, :, None] <= h[:, None, :] + tol  # [p, j, i]: j no slower than i
    lt_h = h[:, :, None] < h[:, None, :] - tol
    earlier = (pos[:, None] < pos[None, :])[None]  # j before i
    pair_ok = valid[:, :, None] & valid[:, None, :]
    # chunk over SKUs to bound memory at ~2e7 booleans per step
    step = max(1, int(2e7 // max(1, len(starts) * m * m)))
    for a in range(0, k, step):
        c = np.where(valid[:, :, None], cost[rows, a : a + step], np.inf)  # (P, m, K')
        le_c = c[:, :, None, :] <= c[:, None, :, :] + tol
        lt_c = c[:, :, None, :] < c[:, None, :, :] - tol
        weak = le_c & le_h[..., None] & pair_ok[..., None]
        strict = lt_c | lt_h[..., None]
        beaten = np.any(weak & (strict | earlier[..., None]), axis=1)  # (P, m, K')
        sel = valid
        keep[rows[sel], a : a + step] = ~beaten[sel]
    return keep


# The JSON form of one leg; "from" is a keyword, hence the functional syntax.
LegJson = TypedDict(
    "LegJson",
    {
        "lane": str,
        "from": str,
        "to": str,
        "mode": str,
        "carrier": str | None,
        "transit_hours": float,
        "clearance_hours": float,
        "hours": float,
        "cost": float,
    },
)


class SkuPathJson(TypedDict):
    """The JSON form of a :class:`SkuPath` (``tradelane paths --json``)."""

    cost_per_unit: float
    hours: float
    start_hours: float
    lanes: list[str]
    legs: list[LegJson]


@dataclass(frozen=True, slots=True)
class SkuPath:
    """A Pareto path priced for one SKU, with its legs."""

    cost: float
    hours: float
    start_hours: float
    lanes: tuple[str, ...]
    legs: tuple[Leg, ...]

    def to_dict(self) -> SkuPathJson:
        """JSON-ready form."""
        return {
            "cost_per_unit": self.cost,
            "hours": self.hours,
            "start_hours": self.start_hours,
            "lanes": list(self.lanes),
            "legs": [
                {
                    "lane": g.lane,
                    "from": g.from_,
                    "to": g.to,
                    "mode": g.mode,
                    "carrier": g.carrier,
                    "transit_hours": g.transit_hours,
                    "clearance_hours": g.clearance_hours,
                    "hours": g.transit_hours + g.clearance_hours,
                    "cost": g.cost,
                }
                for g in self.legs
            ],
        }


@dataclass(frozen=True, slots=True)
class SkuPaths:
    """The (cost, hours) Pareto front of one pair for one SKU, fastest first."""

    paths: tuple[SkuPath, ...]
    truncated: bool


def pareto_for_sku(
    scenario: Scenario,
    source: str,
    target: str,
    sku: Sku,
    *,
    max_labels: int = 64,
    G: nx.MultiDiGraph | None = None,
) -> SkuPaths:
    """Pareto paths from ``source`` to ``target`` priced for one SKU, with leg breakdown.

    Parameters
    ----------
    scenario
        A validated :class:`network.scenario.Scenario`.
    source, target
        Node ids; paths pass through gateways only.
    sku
        A :class:`network.scenario.Sku`.
    """
    from network.graph import build_graph, lane_unit_cost

    G = build_graph(scenario) if G is None else G
    countries = duty_countries(G)
    res = pareto_paths(
        G,
        source,
        target_kind=G.nodes[target][A.KIND],
        targets=[target],
        max_labels=max_labels,
        countries=countries,
    )
    cands = res.paths.get(target, [])
    if not cands:
        return SkuPaths((), res.truncated)
    own = np.array([[sku.duty_rates.get(c, np.nan) for c in countries]], float).reshape(1, -1)
    vec = np.stack([p.vec for p in cands])
    cost = vector_costs(
        vec, np.array([sku.weight_kg]), np.array([sku.volume_m3]), np.array([sku.value]), own
    )
    keep = sku_pareto_mask(cost, vec[:, 0], np.zeros(len(cands), np.int64))[:, 0]
    edges = {k: (u, v, d) for u, v, k, d in G.edges(keys=True, data=True)}
    out: list[SkuPath] = []
    for i in np.flatnonzero(keep):
        p = cands[i]
        legs: list[Leg] = []
        for ln in p.lanes:
            u, v, d = edges[ln]
            legs.append(
                Leg(
                    ln,
                    u,
                    v,
                    d[A.MODE],
                    d.get(A.CARRIER),
                    d[A.TRANSIT_HOURS],
                    d[A.CLEARANCE_HOURS],
                    lane_unit_cost(G, d, sku, G.nodes[v][A.COUNTRY]),
                )
            )
        out.append(
            SkuPath(
                float(cost[i, 0]),
                p.hours,
                float(G.nodes[source].get(A.START_HOURS, 0.0)),
                p.lanes,
                tuple(legs),
            )
        )
    out.sort(key=lambda q: (q.hours, q.cost))
    return SkuPaths(tuple(out), res.truncated)
