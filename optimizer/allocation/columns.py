"""The allocation model's columns: index and cost arrays per block, exact option pruning.

See :mod:`optimizer.allocation` for the formulation; pruning rules are in :func:`build_columns`.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass, field, fields, replace
from typing import Any, Literal, Self

import numpy as np
import numpy.typing as npt
import pandas as pd

from network.compile import NetworkData, PathOptions, SkuData
from network.distribution import on_time_mask
from network.indices import Index, as_index, flat_key, index_dtype
from optimizer.allocation.result import Solution
from optimizer.allocation.state import lot_uses, on_hand_rate, return_columns, split_cost

log = logging.getLogger(__name__)

F = npt.NDArray[np.float64]
I = npt.NDArray[np.int64]
B = npt.NDArray[np.bool_]


COST_TERMS = (
    "fixed",
    "inbound",
    "duty",
    "holding",
    "handling",
    "outbound",
    "direct",
    "late_penalty",
    "lost_sale_penalty",
    "transfer",
    "returns",
    "stability",
)
TOL = 1e-9


@dataclass(frozen=True, slots=True)
class Columns:
    """The model's column blocks as index and cost arrays (no solver objects).

    ``p_*`` are the demand pairs (positive demand only); ``x_*`` outbound columns, ``q_*``
    direct columns, ``f_*`` inbound columns, ``kw_*`` the (SKU, warehouse) pairs that can
    hold stock (one balance row and one stocking level each). ``*_sku`` are indices into
    ``NetworkData.skus``; ``*_opt`` into the option arrays of the matching ``PathOptions``.
    Index arrays are int32 (int64 only past 2**31; :data:`FLOOR`, :mod:`network.indices`),
    pair indices sized for ``pair * W + warehouse`` keys: form keys with
    :func:`network.indices.flat_key`, which computes in int64.
    Costs are per unit: ``*_lane`` lane cost without duty, ``*_duty`` duty, ``x_handling``,
    ``f_hold`` holding (pipeline + on-hand), ``f_coef`` stocking-level units per replenished
    unit. ``stats`` records option counts before and after pruning.
    """

    p_sku: Index
    p_zone: Index
    p_dem: F
    x_pair: Index
    x_opt: Index
    x_wh: Index
    x_kw: Index
    x_lane: F
    x_duty: F
    x_handling: F
    x_hours: F
    x_ontime: B
    q_pair: Index
    q_opt: Index
    q_src: Index
    q_lane: F
    q_duty: F
    q_hours: F
    q_ontime: B
    f_sku: Index
    f_wh: Index
    f_opt: Index
    f_src: Index
    f_kw: Index
    f_lane: F
    f_duty: F
    f_hold: F
    f_coef: F
    f_hours: F
    kw_sku: Index
    kw_wh: Index
    late_penalty: float
    lost_penalty: float
    stats: dict[str, int] = field(default_factory=dict)
    # -- format v1.1 state (empty blocks without it; see optimizer.allocation.state) --------
    lot_hold: F = field(default_factory=lambda: np.zeros(0))
    e_lot: Index = field(default_factory=lambda: np.zeros(0, np.int64))
    e_topt: Index = field(default_factory=lambda: np.zeros(0, np.int64))
    e_wh: Index = field(default_factory=lambda: np.zeros(0, np.int64))
    e_kw: Index = field(default_factory=lambda: np.zeros(0, np.int64))
    e_day: F = field(default_factory=lambda: np.zeros(0))
    e_lane: F = field(default_factory=lambda: np.zeros(0))
    e_duty: F = field(default_factory=lambda: np.zeros(0))
    e_hours: F = field(default_factory=lambda: np.zeros(0))
    p_rate: F = field(default_factory=lambda: np.zeros(0))
    p_resell: F = field(default_factory=lambda: np.zeros(0))
    r_pair: Index = field(default_factory=lambda: np.zeros(0, np.int64))
    r_wh: Index = field(default_factory=lambda: np.zeros(0, np.int64))
    r_opt: Index = field(default_factory=lambda: np.zeros(0, np.int64))
    r_kw: Index = field(default_factory=lambda: np.zeros(0, np.int64))
    r_lane: F = field(default_factory=lambda: np.zeros(0))
    r_handling: F = field(default_factory=lambda: np.zeros(0))
    o_pair: Index = field(default_factory=lambda: np.zeros(0, np.int64))
    o_cost: F = field(default_factory=lambda: np.zeros(0))
    sp_kw: Index = field(default_factory=lambda: np.zeros(0, np.int64))
    sp_cost: F = field(default_factory=lambda: np.zeros(0))
    kw_prev: F = field(default_factory=lambda: np.zeros(0))
    kw_hold: F = field(default_factory=lambda: np.zeros(0))
    stability_penalty: float = 0.0
    has_previous: bool = False
    prev_open: F = field(default_factory=lambda: np.zeros(0))

    @property
    def has_state(self) -> bool:
        """Any v1.1 block is present (inventory, returns or a previous plan)."""
        return bool(len(self.lot_hold) or len(self.o_pair) or self.has_previous)

    @property
    def sizes(self) -> dict[str, int]:
        """Column counts per block."""
        return {
            "pairs": len(self.p_dem),
            "x": len(self.x_pair),
            "q": len(self.q_pair),
            "f": len(self.f_sku),
            "kw": len(self.kw_sku),
            "e": len(self.e_lot),
            "lots": len(self.lot_hold),
            "r": len(self.r_pair),
            "o": len(self.o_pair),
            "sp": len(self.sp_kw),
        }

    def x_cost(self) -> F:
        """Objective coefficient of each outbound column."""
        return self.x_lane + self.x_duty + self.x_handling + self.late_penalty * ~self.x_ontime

    def q_cost(self) -> F:
        """Objective coefficient of each direct column."""
        return self.q_lane + self.q_duty + self.late_penalty * ~self.q_ontime

    def f_cost(self) -> F:
        """Objective coefficient of each inbound column.

        With a previous plan, stock above the stock rule pays on-hand holding (``kw_hold``
        per unit of stocking level, on ``S``); the rule's own share is then taken off here so
        that a plan at the rule costs what it did (see :mod:`optimizer.allocation`)."""
        c = self.f_lane + self.f_duty + self.f_hold
        if self.has_previous and len(self.f_kw):
            c = c - self.kw_hold[self.f_kw] * self.f_coef
        return c


def expand_counts(counts: I) -> tuple[I, I]:
    """For ``counts`` per parent: the parent of each child and the child's rank within it."""
    parent = np.repeat(np.arange(len(counts)), counts)
    starts = np.cumsum(counts) - counts
    rank = np.arange(int(counts.sum())) - np.repeat(starts, counts)
    return parent, rank


def _by_key(keys: I, n_keys: int) -> tuple[I, I]:
    """CSR grouping: ``order`` sorts items by key, ``ptr[k]:ptr[k+1]`` are key k's items."""
    order = np.argsort(keys, kind="stable")
    ptr = np.zeros(n_keys + 1, dtype=np.int64)
    np.add.at(ptr, keys + 1, 1)
    return order, np.cumsum(ptr)


def capped_options(opts: PathOptions, capped_lane: B) -> B:
    """Options that use at least one lane with a finite capacity."""
    if len(opts) == 0:
        return np.zeros(0, dtype=bool)
    hit = (
        capped_lane[opts.lane_idx].astype(np.int64) if len(opts.lane_idx) else np.zeros(0, np.int64)
    )
    counts = np.diff(opts.lane_ptr)
    per = np.zeros(len(opts), dtype=np.int64)
    if len(hit):
        np.add.at(per, np.repeat(np.arange(len(opts)), counts), hit)
    return per > 0


def capped_sets(opts: PathOptions, capped_lane: B) -> I:
    """A dense id per option of the multiset of capacitated lanes it uses (0 for none when any
    option uses none): options with the same id enter the same lane rows with the same
    coefficients."""
    n = len(opts)
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    owner = np.repeat(np.arange(n), np.diff(opts.lane_ptr))
    hit = capped_lane[opts.lane_idx] if len(opts.lane_idx) else np.zeros(0, bool)
    own, lane = owner[hit], np.asarray(opts.lane_idx)[hit]
    width = int(np.bincount(own, minlength=n).max()) if len(own) else 0
    table = np.full((n, max(width, 1)), -1, dtype=np.int64)
    order = np.lexsort((lane, own))
    own, lane = own[order], lane[order]
    start = np.searchsorted(own, np.arange(n))
    table[own, np.arange(len(own)) - start[own]] = lane
    _, inv = np.unique(table, axis=0, return_inverse=True)
    return inv.ravel().astype(np.int64)


def dense_group(*keys: Index) -> I:
    """A dense group id for each row of the given key columns (in the rows' lexicographic
    order)."""
    if len(keys[0]) == 0:
        return np.zeros(0, dtype=np.int64)
    stacked = np.stack(keys, axis=1)
    _, inv = np.unique(stacked, axis=0, return_inverse=True)
    return inv.ravel().astype(np.int64)


def dense_group_fast(*keys: Index) -> I:
    """:func:`dense_group`'s ids (the same), from one int64 key per row when the keys' ranges
    allow: a 1-D unique is several times faster than the row-wise one (0.57 s on a 1,000-SKU
    block of sea-L). Used by the naive plan of a block without an answer only: the monolithic
    path's reserves for the output and the solver's overrun are proportional to its column
    build's seconds, and a faster build made sea-72h at a 5-s limit start a solve that ended
    at 5.5-6.7 s wall (it wrote the naive plan at 3.6-4.3 s before); see benchmarks/README.md
    "Scale, tier L's floor"."""
    if len(keys[0]) == 0:
        return np.zeros(0, dtype=np.int64)
    cols = [np.asarray(k).astype(np.int64, copy=False) for k in keys]
    if all(int(c.min()) >= 0 for c in cols):
        span = [int(c.max()) + 1 for c in cols]
        if math.prod(span) < 2**62:
            flat = np.zeros(len(cols[0]), np.int64)
            for c, n in zip(cols, span, strict=True):
                flat = flat * n + c
            _, inv1 = np.unique(flat, return_inverse=True)
            return inv1.ravel().astype(np.int64)
    return dense_group(*keys)


def _keep_cost_late(group: Index, cost: F, late: B, capped: B) -> B:
    """Prune in (cost, late) within groups: see the module docstring."""
    n = len(group)
    if n == 0:
        return np.zeros(0, dtype=bool)
    ng = int(group.max()) + 1
    free = ~capped
    keep = np.zeros(n, dtype=bool)
    mins = []
    for sel in (free & ~late, free):  # best free on-time option, best free option
        idx = np.flatnonzero(sel)
        order = idx[np.lexsort((idx, cost[idx], group[idx]))]
        first = (
            np.r_[True, group[order][1:] != group[order][:-1]] if len(order) else np.zeros(0, bool)
        )
        keep[order[first]] = True
        m = np.full(ng, np.inf)
        np.minimum.at(m, group[idx], cost[idx])
        mins.append(m)
    min_on, min_any = mins
    # a capped option survives only if strictly cheaper than the free option dominating it
    ref = np.where(late, min_any[group], min_on[group])
    keep |= capped & (cost < ref - TOL)
    return keep


def _keep_cost_coef(group: I, cost: F, coef: F, capped: B) -> B:
    """Prune in (cost, stock coefficient) within groups (2-D Pareto, free dominators only)."""
    n = len(group)
    if n == 0:
        return np.zeros(0, dtype=bool)
    order = np.lexsort((capped, coef, cost, group))
    g = group[order]
    c = coef[order]
    span = float(c.max() - c.min()) + 1.0
    shifted = (c - c.min()) / span - g.astype(np.float64)  # later groups are always smaller
    free_vals = np.where(~capped[order], shifted, np.inf)
    run = np.minimum.accumulate(free_vals)
    prev = np.r_[np.inf, run[:-1]]
    k_sorted = shifted < prev - 1e-12
    keep = np.zeros(n, dtype=bool)
    keep[order] = k_sorted
    return keep


def _hull_sorted(g: I, a: F, c: F) -> B:
    """The lower-hull mask of points sorted by group, then coefficient. Each pass drops every
    point above the chord of its neighbours (each such point is off the hull, so dropping them
    together is safe) until a pass drops none."""
    keep = np.ones(len(g), dtype=bool)
    idx = np.arange(len(g))
    while len(idx) >= 3:
        gg, aa, cc = g[idx], a[idx], c[idx]
        inner = (gg[1:-1] == gg[:-2]) & (gg[1:-1] == gg[2:])
        da = aa[2:] - aa[:-2]
        lhs = (cc[1:-1] - cc[:-2]) * da
        rhs = (cc[2:] - cc[:-2]) * (aa[1:-1] - aa[:-2])
        tol = 1e-12 * (np.abs(cc[1:-1]) + 1.0) * np.abs(da)
        above = inner & (da > 0) & (lhs > rhs + tol)
        if not above.any():
            break
        drop = np.r_[False, above, False]
        keep[idx[drop]] = False
        idx = idx[~drop]
    return keep


def _keep_frontier_hull(key: I, cost: F, coef: F) -> B:
    """Within groups of ``key``, the Pareto frontier in (coefficient, cost) and of it the lower
    convex hull, with one sort: by key, coefficient, cost; a point is on the frontier when it
    is strictly cheaper than every earlier point of its group (pandas' grouped running
    minimum: exact, whatever the number of groups).

    Exact for inbound options on the same capacitated lanes (``key``: SKU, warehouse and lane
    set): such a column enters the model only through its group's flow balance (coefficient
    1), its stocking-level row (its coefficient), the same lane rows with the same
    coefficients and the objective (its cost). An option dominated by another, or strictly
    above the chord between two others, is replaced unit for unit by that option or by the
    mix of the two with the same coefficient at no higher cost, so no optimum of the LP or of
    the MIP (integer stocking levels included: the mix leaves every row's value as it was)
    needs it."""
    n = len(key)
    keep = np.zeros(n, dtype=bool)
    if n == 0:
        return keep
    order = np.lexsort((cost, coef, key))
    k, a, c = key[order], coef[order], cost[order]
    first = np.r_[True, k[1:] != k[:-1]]
    gid = np.cumsum(first) - 1
    run = pd.Series(c).groupby(gid).cummin().to_numpy()
    before = np.r_[np.inf, run[:-1]]
    before[first] = np.inf
    front = c < before - 1e-12 * (np.abs(c) + 1.0)
    sel = np.flatnonzero(front)
    hull = _hull_sorted(k[sel], a[sel], c[sel])
    keep[order[sel[hull]]] = True
    return keep


def _split_cost(opts: PathOptions, sk: SkuData) -> tuple[F, F]:
    """Per-unit (lane cost without duty, duty) of every option for every SKU given."""
    return split_cost(opts, sk)


@dataclass(frozen=True, slots=True)
class _Cols:
    """A block of candidate columns as parallel arrays; :meth:`take` keeps some of them."""

    def take(self, keep: npt.NDArray[np.bool_] | I) -> Self:
        """The columns where ``keep`` (a mask or indices) selects them, every array alike."""
        return replace(self, **{f.name: getattr(self, f.name)[keep] for f in fields(self)})


@dataclass(frozen=True, slots=True)
class _In(_Cols):
    """Inbound columns: option, SKU (local index), warehouse, lane cost, duty, holding per
    unit, stock-rule coefficient, lead hours."""

    opt: Index
    k: Index
    wh: Index
    lane: F
    duty: F
    hold: F
    coef: F
    hours: F


@dataclass(frozen=True, slots=True)
class _Out(_Cols):
    """Outbound columns: demand pair, option, warehouse, lane cost, duty, handling, hours and
    the on-time flag."""

    pair: Index
    opt: Index
    wh: Index
    lane: F
    duty: F
    handling: F
    hours: F
    ontime: npt.NDArray[np.bool_]


@dataclass(frozen=True, slots=True)
class _Dir(_Cols):
    """Direct columns: demand pair, option, lane cost, duty, hours and the on-time flag."""

    pair: Index
    opt: Index
    lane: F
    duty: F
    hours: F
    ontime: npt.NDArray[np.bool_]


@dataclass(frozen=True, slots=True)
class _Pairs:
    """The demand pairs (SKU, zone, units), the SKUs with demand (``ks``, global indices) and
    each pair's local SKU index ``p_k``; ``sk`` the SKU table of ``ks``."""

    sku: I
    zone: I
    dem: F
    ks: I
    p_k: I
    sk: Any


def _pairs(data: NetworkData) -> _Pairs:
    pos = data.dem_units > 0
    p_sku = data.dem_sku[pos].astype(np.int64)
    ks, p_k = np.unique(p_sku, return_inverse=True)
    return _Pairs(
        sku=p_sku,
        zone=data.dem_zone[pos].astype(np.int64),
        dem=data.dem_units[pos].astype(np.float64),
        ks=ks.astype(np.int64),
        p_k=p_k.astype(np.int64),
        sk=data.sku.take(ks),
    )


#: The narrowest dtype column index arrays take. int16 would save another 2 bytes a column but
#: wraps silently as soon as a consumer adds a row offset or forms a key in the array's own
#: dtype (``rows_so_far + x_wh`` past 32,767); int32 can only wrap beyond 2**31 rows.
FLOOR = np.int32


def _index(a: npt.ArrayLike, n: int) -> Index:
    """``a`` (values in ``-n..n``) as a column index array (:func:`network.indices.as_index`,
    at least :data:`FLOOR`)."""
    return as_index(a, n, floor=FLOOR)


def _pair_range(data: NetworkData, pp: _Pairs) -> int:
    """The range pair indices are sized for: ``pair * W + warehouse`` keys stay exact even where
    a consumer forms them in the pair array's own dtype."""
    return max(len(pp.dem), 1) * max(len(data.warehouses), 1)


def _capped_lanes(data: NetworkData) -> npt.NDArray[np.bool_]:
    return ~(
        np.isinf(data.lane_cap_kg) & np.isinf(data.lane_cap_m3) & np.isinf(data.lane_cap_units)
    )


def _inbound(data: NetworkData, pp: _Pairs, prune: bool, stats: dict[str, int]) -> _In:
    """Every usable inbound option × every SKU with demand, with its holding cost and stock
    coefficient; dominated ones pruned."""
    svc = data.service
    H = float(data.horizon_days)
    R = float(svc.review_period_days)
    zf = float(svc.safety_z)
    W = len(data.warehouses)
    K = len(pp.ks)
    sk = pp.sk
    usable = data.wh_usable
    inb = data.inbound
    in_idx = np.flatnonzero(usable[inb.dst]) if len(inb) else np.zeros(0, np.int64)
    if K and len(in_idx):
        lane_in, duty_in = _split_cost(inb, sk)
        f_opt: Index = np.repeat(_index(in_idx, len(inb)), K)
        f_k: Index = np.tile(np.arange(K, dtype=index_dtype(K, floor=FLOOR)), len(in_idx))
        f_lane = lane_in[f_opt, f_k]
        f_duty = duty_in[f_opt, f_k]
    else:
        f_opt, f_k = _index(np.zeros(0, np.int64), len(inb)), _index(np.zeros(0, np.int64), K)
        f_lane = f_duty = np.zeros(0)
    f_wh = _index(inb.dst[f_opt] if len(f_opt) else np.zeros(0, np.int64), W)
    f_hours = inb.hours[f_opt] if len(f_opt) else np.zeros(0)
    L = f_hours / 24.0
    hk = sk.holding_per_unit_day[f_k]
    cv = sk.demand_cv[f_k]
    h_on = data.wh_holding_per_m3_day[f_wh] * sk.volume_m3[f_k] + hk
    sq = np.sqrt(L + R)
    f_hold = hk * L + h_on * (R / 2.0 + zf * cv * sq)
    f_coef = ((L + R) + zf * cv * sq) / H
    cols = _In(f_opt, f_k, f_wh, f_lane, f_duty, f_hold, f_coef, f_hours)
    stats["f_all"] = len(f_opt)
    if prune and len(f_opt):
        capped_in = capped_options(inb, _capped_lanes(data))[f_opt]
        coef_for_prune = np.where(np.isfinite(data.wh_storage_m3)[f_wh], f_coef, 0.0)
        group = flat_key(f_k, W, f_wh)
        cost = f_lane + f_duty + f_hold
        # a free option (no capacitated lane) dominates capped ones too (no free option on
        # the generated tiers: skipped, one sort of every column fewer)
        if (~capped_in).any():
            keep = _keep_cost_coef(group, cost, coef_for_prune, capped_in)
        else:
            keep = np.ones(len(group), dtype=bool)
        # options on the same capacitated lanes enter the same lane rows alike: among them
        # the Pareto frontier, then its lower convex hull (the free ones are one such set)
        idx = np.flatnonzero(keep)
        sets = capped_sets(inb, _capped_lanes(data))
        sub = group[idx].astype(np.int64) * (int(sets.max()) + 1) + sets[f_opt[idx]]
        keep[idx[~_keep_frontier_hull(sub, cost[idx], coef_for_prune[idx])]] = False
        cols = cols.take(keep)
    return cols


def _supplied(
    data: NetworkData, pp: _Pairs, fin: _In, lots: Any, takes: npt.NDArray[np.bool_]
) -> tuple[npt.NDArray[np.bool_], I]:
    """Which (SKU, warehouse) pairs can hold stock: an inbound column, tonight's inventory
    used there or after a transfer, or resold returns (v1.1); and the lots' local SKUs."""
    K, W = len(pp.ks), len(data.warehouses)
    has_f = np.zeros((K, W), dtype=bool)
    has_f[fin.k, fin.wh] = True
    loc_k = np.full(len(data.skus), -1, np.int64)
    loc_k[pp.ks] = np.arange(K)
    e_k = loc_k[data.inv_sku[lots.e_lot]] if len(lots.e_lot) else np.zeros(0, np.int64)
    has_f[e_k, lots.e_wh] = True
    if takes.any() and len(pp.p_k):
        p_rate0, _ = data.returns_of(pp.sku, pp.zone)
        wc = np.array(data.wh_country)
        zc_ = np.array(data.zone_country)
        rp0 = np.flatnonzero(p_rate0 > 0)
        for w in np.flatnonzero(takes).tolist():  # one pass per returns warehouse
            has_f[pp.p_k[rp0[zc_[pp.zone[rp0]] == wc[w]]], w] = True
    return has_f, e_k


def _outbound(
    data: NetworkData,
    pp: _Pairs,
    has_f: npt.NDArray[np.bool_],
    prune: bool,
    stats: dict[str, int],
    *,
    fast_group: bool = False,
) -> _Out:
    """Per demand pair, the options into its zone from warehouses that can hold its SKU;
    dominated ones pruned."""
    outb = data.outbound
    n_z = len(data.zones)
    p_k, p_zone = pp.p_k, pp.zone
    if len(outb) and len(p_k):
        o_sel = np.flatnonzero(data.wh_usable[outb.src])
        order, ptr = _by_key(outb.dst[o_sel].astype(np.int64), n_z)
        counts = ptr[p_zone + 1] - ptr[p_zone]
        x_pair, rank = expand_counts(counts)
        x_opt = o_sel[order[ptr[p_zone][x_pair] + rank]]
        x_wh = _index(outb.src[x_opt], len(data.warehouses))
        ok = has_f[p_k[x_pair], x_wh]
        x_pair = _index(x_pair[ok], _pair_range(data, pp))
        x_opt, x_wh = _index(x_opt[ok], len(outb)), x_wh[ok]
        lane_out, duty_out = _split_cost(outb, pp.sk)
        x_lane = lane_out[x_opt, p_k[x_pair]]
        x_duty = duty_out[x_opt, p_k[x_pair]]
    else:
        z0 = np.zeros(0, np.int64)
        x_pair, x_opt = _index(z0, _pair_range(data, pp)), _index(z0, len(outb))
        x_wh = _index(z0, len(data.warehouses))
        x_lane = x_duty = np.zeros(0)
    x_hours = outb.hours[x_opt] if len(x_opt) else np.zeros(0)
    # on time: mean hours ≤ promise, or P(hours ≤ promise) ≥ promise_probability (DESIGN §10)
    x_ontime = on_time_mask(outb, data)[x_opt] if len(x_opt) else np.zeros(0, dtype=bool)
    cols = _Out(
        x_pair, x_opt, x_wh, x_lane, x_duty, data.wh_handling_per_unit[x_wh], x_hours, x_ontime
    )
    stats["x_all"] = len(x_pair)
    if prune and len(x_pair):
        capped_out = capped_options(outb, _capped_lanes(data))[x_opt]
        keep = _keep_cost_late(
            (dense_group_fast if fast_group else dense_group)(cols.pair, cols.wh),
            cols.lane + cols.duty + cols.handling,
            ~cols.ontime,
            capped_out,
        )
        cols = cols.take(keep)
    return cols


def _direct(data: NetworkData, pp: _Pairs, prune: bool, stats: dict[str, int]) -> _Dir:
    """Per demand pair, the direct options (origin to zone); dominated ones pruned."""
    dr = data.direct
    p_k, p_zone = pp.p_k, pp.zone
    if len(dr) and len(p_k):
        order, ptr = _by_key(dr.dst.astype(np.int64), len(data.zones))
        counts = ptr[p_zone + 1] - ptr[p_zone]
        q_pair, rank = expand_counts(counts)
        q_opt = _index(order[ptr[p_zone][q_pair] + rank], len(dr))
        q_pair = _index(q_pair, _pair_range(data, pp))
        lane_d, duty_d = _split_cost(dr, pp.sk)
        q_lane = lane_d[q_opt, p_k[q_pair]]
        q_duty = duty_d[q_opt, p_k[q_pair]]
    else:
        q_pair = _index(np.zeros(0, np.int64), _pair_range(data, pp))
        q_opt = _index(np.zeros(0, np.int64), len(dr))
        q_lane = q_duty = np.zeros(0)
    q_hours = dr.hours[q_opt] if len(q_opt) else np.zeros(0)
    q_ontime = on_time_mask(dr, data)[q_opt] if len(q_opt) else np.zeros(0, dtype=bool)
    cols = _Dir(q_pair, q_opt, q_lane, q_duty, q_hours, q_ontime)
    stats["q_all"] = len(q_pair)
    if prune and len(q_pair):
        capped_d = capped_options(dr, _capped_lanes(data))[q_opt]
        cols = cols.take(_keep_cost_late(q_pair, q_lane + q_duty, ~q_ontime, capped_d))
    return cols


def build_columns(data: NetworkData, *, prune: bool | Literal["outbound"] = True) -> Columns:
    """Generate (and prune) the model's columns from compiled network data.

    Parameters
    ----------
    data
        The compiled network.
    prune
        Drop dominated options (exact; see the module docstring). ``False`` keeps every
        option, for tests and measurements. ``"outbound"`` prunes the outbound options only:
        the naive planner's nearest warehouse is taken over them, so its plan keeps its zones'
        warehouses, and the columns cost about half (the inbound pruning's sort is the
        dearest part); for a naive plan alone (a SKU block without an answer).
    """
    svc = data.service
    H = float(data.horizon_days)
    W = len(data.warehouses)
    stats: dict[str, int] = {}
    pp = _pairs(data)
    p_sku, p_zone, p_dem, ks, p_k = pp.sku, pp.zone, pp.dem, pp.ks, pp.p_k
    K = len(ks)
    usable = data.wh_usable
    inb, outb, dr = data.inbound, data.outbound, data.direct
    prune_out = bool(prune)
    fast_group = prune == "outbound"
    prune = prune is True
    fin = _inbound(data, pp, prune, stats)
    # v1.1: tonight's inventory (used where it is or after a transfer) and resold returns
    # also supply a warehouse
    lots = lot_uses(data, usable)
    rc = data.wh_returns_cost
    takes = usable & ~np.isnan(rc) if rc is not None else np.zeros(W, bool)
    has_f, e_k = _supplied(data, pp, fin, lots, takes)
    xo = _outbound(data, pp, has_f, prune_out, stats, fast_group=fast_group)
    qd = _direct(data, pp, prune, stats)
    x_pair, x_wh = xo.pair, xo.wh
    q_src = _index(dr.src[qd.opt] if len(qd.opt) else np.zeros(0, np.int64), len(data.origins))

    # -- returns (v1.1) ------------------------------------------------------------------------
    ret = return_columns(
        data,
        p_sku,
        p_zone,
        usable,
        _split_cost(outb, pp.sk)[0] if len(outb) and len(p_k) and takes.any() else None,
        p_k,
    )

    # -- (SKU, warehouse) pairs that actually serve something; drop idle inbound columns -----
    # keys use the global SKU index (a previous plan may stock SKUs without demand tonight)
    used = np.zeros((K, W), dtype=bool)
    used[p_k[x_pair], x_wh] = True
    fin = fin.take(used[fin.k, fin.wh])
    f_opt, f_k, f_wh = fin.opt, fin.k, fin.wh
    keep_e = used[e_k, lots.e_wh] if len(e_k) else np.zeros(0, bool)
    e_sel = np.flatnonzero(keep_e)
    e_gk = data.inv_sku[lots.e_lot[e_sel]]
    r_gk = p_sku[ret.r_pair]
    f_key = flat_key(ks[f_k], W, f_wh)
    e_key = flat_key(e_gk, W, lots.e_wh[e_sel])
    r_key = flat_key(r_gk, W, ret.r_wh)
    keys = [f_key, e_key, r_key]
    prev_kw = np.zeros(0, np.int64)
    if data.has_previous and data.prev_sku is not None and data.prev_wh is not None:
        prev_kw = flat_key(data.prev_sku, W, data.prev_wh)
        keys.append(prev_kw)
    kw_flat = np.unique(np.concatenate(keys))
    nkw = len(kw_flat)
    kw_k = kw_flat // W
    kw_wh = kw_flat % W
    f_kw = _index(np.searchsorted(kw_flat, f_key), nkw)
    x_kw = _index(np.searchsorted(kw_flat, flat_key(ks[p_k[x_pair]], W, x_wh)), nkw)
    e_kw = _index(np.searchsorted(kw_flat, e_key), nkw)
    r_kw = _index(np.searchsorted(kw_flat, r_key), nkw)
    sp_kw = np.unique(r_kw)
    kw_hold = on_hand_rate(data, kw_k, kw_wh) * H
    kw_prev = np.zeros(len(kw_flat))
    prev_open = np.zeros(0)
    if len(prev_kw) and data.prev_units is not None:
        np.add.at(kw_prev, np.searchsorted(kw_flat, prev_kw), data.prev_units)
    if data.prev_open is not None:
        prev_open = np.asarray(data.prev_open, float)

    n_sku, n_zone, n_pair = len(data.skus), len(data.zones), _pair_range(data, pp)
    n_lot = len(lots.lot_hold)
    stats.update(
        {
            "f": len(f_opt),
            "x": len(x_pair),
            "q": len(qd.pair),
            "pairs": len(p_dem),
            "kw": len(kw_flat),
            "skus": K,
            "e": len(e_sel),
            "r": len(ret.r_pair),
        }
    )
    return Columns(
        p_sku=_index(p_sku, n_sku),
        p_zone=_index(p_zone, n_zone),
        p_dem=p_dem,
        x_pair=x_pair,
        x_opt=xo.opt,
        x_wh=x_wh,
        x_kw=x_kw,
        x_lane=xo.lane,
        x_duty=xo.duty,
        x_handling=xo.handling,
        x_hours=xo.hours,
        x_ontime=xo.ontime,
        q_pair=qd.pair,
        q_opt=qd.opt,
        q_src=q_src,
        q_lane=qd.lane,
        q_duty=qd.duty,
        q_hours=qd.hours,
        q_ontime=qd.ontime,
        f_sku=_index(ks[f_k], n_sku),
        f_wh=f_wh,
        f_opt=f_opt,
        f_src=_index(inb.src[f_opt] if len(f_opt) else np.zeros(0, np.int64), len(data.origins)),
        f_kw=f_kw,
        f_lane=fin.lane,
        f_duty=fin.duty,
        f_hold=fin.hold,
        f_coef=fin.coef,
        f_hours=fin.hours,
        kw_sku=_index(kw_k, n_sku),
        kw_wh=_index(kw_wh, W),
        late_penalty=float(svc.late_penalty_per_unit),
        lost_penalty=float(svc.lost_sale_penalty_per_unit),
        stats=stats,
        lot_hold=lots.lot_hold,
        e_lot=_index(lots.e_lot[e_sel], n_lot),
        e_topt=_index(lots.e_topt[e_sel], len(data.transfer) if data.transfer is not None else 0),
        e_wh=_index(lots.e_wh[e_sel], W),
        e_kw=e_kw,
        e_day=lots.e_day[e_sel],
        e_lane=lots.e_lane[e_sel],
        e_duty=lots.e_duty[e_sel],
        e_hours=lots.e_hours[e_sel],
        p_rate=ret.p_rate,
        p_resell=ret.p_resell,
        r_pair=_index(ret.r_pair, n_pair),
        r_wh=_index(ret.r_wh, W),
        r_opt=_index(ret.r_opt, len(outb)),
        r_kw=r_kw,
        r_lane=ret.r_lane,
        r_handling=ret.r_handling,
        o_pair=_index(ret.o_pair, n_pair),
        o_cost=ret.o_cost,
        sp_kw=sp_kw,
        sp_cost=kw_hold[sp_kw],
        kw_prev=kw_prev,
        kw_hold=kw_hold,
        stability_penalty=float(getattr(svc, "stability_penalty_per_unit", 0.0)),
        has_previous=data.has_previous,
        prev_open=prev_open,
    )


def stock_required(cols: Columns, f: F) -> F:
    """The stock rule's level per ``kw`` pair for inbound flows ``f`` (continuous)."""
    return np.asarray(
        np.bincount(cols.f_kw, weights=cols.f_coef * f, minlength=len(cols.kw_sku)), float
    )


def stock_levels(data: NetworkData, cols: Columns, f: F, model_s: F | None = None) -> F:
    """Smallest integer stocking level per ``kw`` pair meeting the stock rule for flows ``f``.

    With a previous plan, ``model_s`` (the model's own levels, which may stay above the rule
    to avoid churn) is rounded to the nearest integer and kept where it is above the rule.
    """
    req = np.maximum(np.ceil(stock_required(cols, f) - 1e-6), 0.0)
    if model_s is not None and cols.has_previous:
        return np.maximum(req, np.round(model_s))
    return req


def cost_terms(data: NetworkData, cols: Columns, sol: Solution) -> dict[str, float]:
    """The cost terms of DESIGN §7 and §10 for a solution (from the model's own columns)."""
    late_x = ~cols.x_ontime
    late_q = ~cols.q_ontime
    holding = float(cols.f_hold @ sol.f)
    stability = 0.0
    if cols.has_state:
        lo = sol.lo if len(sol.lo) == len(cols.lot_hold) else np.zeros(len(cols.lot_hold))
        holding += float(cols.lot_hold @ lo)
        if len(sol.sp):
            holding += float(cols.sp_cost @ sol.sp)
        if cols.has_previous:
            excess = sol.stock - stock_required(cols, sol.f)
            holding += float(cols.kw_hold @ excess)
            stability = float(
                cols.stability_penalty * np.abs(sol.stock - cols.kw_prev).sum()
                + data.wh_fixed_cost @ np.abs(sol.y - cols.prev_open)
            )
    e = sol.e if len(sol.e) == len(cols.e_lot) else np.zeros(len(cols.e_lot))
    r = sol.r if len(sol.r) == len(cols.r_pair) else np.zeros(len(cols.r_pair))
    o = sol.o if len(sol.o) == len(cols.o_pair) else np.zeros(len(cols.o_pair))
    return {
        "fixed": float(data.wh_fixed_cost @ sol.y),
        "inbound": float(cols.f_lane @ sol.f),
        "duty": float(
            cols.f_duty @ sol.f + cols.x_duty @ sol.x + cols.q_duty @ sol.q + cols.e_duty @ e
        ),
        "holding": holding,
        "handling": float(cols.x_handling @ sol.x),
        "outbound": float(cols.x_lane @ sol.x),
        "direct": float(cols.q_lane @ sol.q),
        "late_penalty": float(cols.late_penalty * (sol.x[late_x].sum() + sol.q[late_q].sum())),
        "lost_sale_penalty": float(cols.lost_penalty * sol.u.sum()),
        "transfer": float(cols.e_lane @ e),
        "returns": float((cols.r_lane + cols.r_handling) @ r + cols.o_cost @ o),
        "stability": stability,
    }


#: Column arrays of each block (what a subset of the block's columns must index).
X_FIELDS = (
    "x_pair",
    "x_opt",
    "x_wh",
    "x_kw",
    "x_lane",
    "x_duty",
    "x_handling",
    "x_hours",
    "x_ontime",
)
Q_FIELDS = ("q_pair", "q_opt", "q_src", "q_lane", "q_duty", "q_hours", "q_ontime")
F_FIELDS = (
    "f_sku",
    "f_wh",
    "f_opt",
    "f_src",
    "f_kw",
    "f_lane",
    "f_duty",
    "f_hold",
    "f_coef",
    "f_hours",
)
#: Format v1.1 blocks: lots' uses (inventory used where it is or transferred) and returns
#: taken by a warehouse.
E_FIELDS = ("e_lot", "e_topt", "e_wh", "e_kw", "e_day", "e_lane", "e_duty", "e_hours")
R_FIELDS = ("r_pair", "r_wh", "r_opt", "r_kw", "r_lane", "r_handling")


def select_columns(
    cols: Columns,
    *,
    x: B | None = None,
    q: B | None = None,
    f: B | None = None,
    kw: B | None = None,
) -> Columns:
    """The columns kept by the masks ``x``, ``q``, ``f`` (``None``: the whole block); with a
    ``kw`` mask the (SKU, warehouse) pairs are cut to it too and ``x_kw`` / ``f_kw`` renumbered
    (every kept x and f column must then use a kept pair)."""
    ch: dict[str, Any] = {}
    for names, keep in ((X_FIELDS, x), (Q_FIELDS, q), (F_FIELDS, f)):
        if keep is not None:
            ch.update({n: getattr(cols, n)[keep] for n in names})
    if kw is not None:
        new_kw = _index(np.cumsum(kw) - 1, int(kw.sum()))
        ch["x_kw"] = new_kw[ch.get("x_kw", cols.x_kw)]
        ch["f_kw"] = new_kw[ch.get("f_kw", cols.f_kw)]
        ch["kw_sku"] = cols.kw_sku[kw]
        ch["kw_wh"] = cols.kw_wh[kw]
    return replace(cols, **ch)


def drop_closed(cols: Columns, y: F) -> Columns:
    """The columns without those at warehouses not in use (for fixed-warehouse solves).

    Unlike :func:`optimizer.allocation.decompose.restrict_to_warehouses` the (SKU, warehouse)
    pairs are kept as they are (the v1.1 blocks index them: lots' uses, returns, stability).
    """
    on = np.asarray(y) > 0.5
    kx, kf = on[cols.x_wh], on[cols.f_wh]
    ke, kr = on[cols.e_wh], on[cols.r_wh]
    ch: dict[str, object] = {}
    for names, keep in ((X_FIELDS, kx), (F_FIELDS, kf), (E_FIELDS, ke), (R_FIELDS, kr)):
        ch.update({n: getattr(cols, n)[keep] for n in names})
    sp_keep = np.isin(cols.sp_kw, ch["r_kw"])  # type: ignore[arg-type]
    ch["sp_kw"] = cols.sp_kw[sp_keep]
    ch["sp_cost"] = cols.sp_cost[sp_keep]
    return replace(cols, **ch)  # type: ignore[arg-type]
