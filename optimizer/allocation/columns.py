"""The allocation model's columns: index and cost arrays per block, exact option pruning.

See :mod:`optimizer.allocation` for the formulation; pruning rules are in :func:`build_columns`.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from network.compile import NetworkData, PathOptions, SkuData
from network.distribution import on_time_mask
from optimizer.allocation.result import Solution

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
)
TOL = 1e-9


@dataclass(frozen=True, slots=True)
class Columns:
    """The model's column blocks as index and cost arrays (no solver objects).

    ``p_*`` are the demand pairs (positive demand only); ``x_*`` outbound columns, ``q_*``
    direct columns, ``f_*`` inbound columns, ``kw_*`` the (SKU, warehouse) pairs that can
    hold stock (one balance row and one stocking level each). ``*_sku`` are indices into
    ``NetworkData.skus``; ``*_opt`` into the option arrays of the matching ``PathOptions``.
    Costs are per unit: ``*_lane`` lane cost without duty, ``*_duty`` duty, ``x_handling``,
    ``f_hold`` holding (pipeline + on-hand), ``f_coef`` stocking-level units per replenished
    unit. ``stats`` records option counts before and after pruning.
    """

    p_sku: I
    p_zone: I
    p_dem: F
    x_pair: I
    x_opt: I
    x_wh: I
    x_kw: I
    x_lane: F
    x_duty: F
    x_handling: F
    x_hours: F
    x_ontime: B
    q_pair: I
    q_opt: I
    q_src: I
    q_lane: F
    q_duty: F
    q_hours: F
    q_ontime: B
    f_sku: I
    f_wh: I
    f_opt: I
    f_src: I
    f_kw: I
    f_lane: F
    f_duty: F
    f_hold: F
    f_coef: F
    f_hours: F
    kw_sku: I
    kw_wh: I
    late_penalty: float
    lost_penalty: float
    stats: dict[str, int] = field(default_factory=dict)

    @property
    def sizes(self) -> dict[str, int]:
        """Column counts per block."""
        return {
            "pairs": len(self.p_dem),
            "x": len(self.x_pair),
            "q": len(self.q_pair),
            "f": len(self.f_sku),
            "kw": len(self.kw_sku),
        }

    def x_cost(self) -> F:
        """Objective coefficient of each outbound column."""
        return self.x_lane + self.x_duty + self.x_handling + self.late_penalty * ~self.x_ontime

    def q_cost(self) -> F:
        """Objective coefficient of each direct column."""
        return self.q_lane + self.q_duty + self.late_penalty * ~self.q_ontime

    def f_cost(self) -> F:
        """Objective coefficient of each inbound column."""
        return self.f_lane + self.f_duty + self.f_hold


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


def _capped_options(opts: PathOptions, capped_lane: B) -> B:
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


def dense_group(*keys: I) -> I:
    """A dense group id for each row of the given key columns."""
    if len(keys[0]) == 0:
        return np.zeros(0, dtype=np.int64)
    stacked = np.stack(keys, axis=1)
    _, inv = np.unique(stacked, axis=0, return_inverse=True)
    return inv.ravel().astype(np.int64)


def _keep_cost_late(group: I, cost: F, late: B, capped: B) -> B:
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


def _split_cost(opts: PathOptions, sk: SkuData) -> tuple[F, F]:
    """Per-unit (lane cost without duty, duty) of every option for every SKU given."""
    full = opts.unit_cost(sk)
    no_duty = SkuData(
        sk.weight_kg,
        sk.volume_m3,
        np.zeros_like(sk.value),
        sk.demand_cv,
        sk.holding_per_unit_day,
        sk.own_duty,
    )
    lane = opts.unit_cost(no_duty)
    return lane, np.maximum(full - lane, 0.0)


def build_columns(data: NetworkData, *, prune: bool = True) -> Columns:
    """Generate (and prune) the model's columns from compiled network data.

    Parameters
    ----------
    data
        The compiled network.
    prune
        Drop dominated options (exact; see the module docstring). ``False`` keeps every
        option, for tests and measurements.
    """
    svc = data.service
    H = float(data.horizon_days)
    R = float(svc.review_period_days)
    zf = float(svc.safety_z)
    W = len(data.warehouses)
    stats: dict[str, int] = {}

    pos = data.dem_units > 0
    p_sku = data.dem_sku[pos].astype(np.int64)
    p_zone = data.dem_zone[pos].astype(np.int64)
    p_dem = data.dem_units[pos].astype(np.float64)
    ks, p_k = np.unique(p_sku, return_inverse=True)
    p_k = p_k.astype(np.int64)
    K = len(ks)
    sk = data.sku.take(ks)
    usable = np.array([s != "closed" for s in data.wh_status], dtype=bool)
    capped_lane = ~(
        np.isinf(data.lane_cap_kg) & np.isinf(data.lane_cap_m3) & np.isinf(data.lane_cap_units)
    )
    finite_storage = np.isfinite(data.wh_storage_m3)

    # -- inbound columns: every usable inbound option × every SKU with demand ---------------
    inb = data.inbound
    in_idx = np.flatnonzero(usable[inb.dst]) if len(inb) else np.zeros(0, np.int64)
    if K and len(in_idx):
        lane_in, duty_in = _split_cost(inb, sk)
        f_opt = np.repeat(in_idx, K)
        f_k = np.tile(np.arange(K), len(in_idx))
        f_lane = lane_in[f_opt, f_k]
        f_duty = duty_in[f_opt, f_k]
    else:
        f_opt = f_k = np.zeros(0, np.int64)
        f_lane = f_duty = np.zeros(0)
    f_wh = inb.dst[f_opt].astype(np.int64) if len(f_opt) else np.zeros(0, np.int64)
    f_hours = inb.hours[f_opt] if len(f_opt) else np.zeros(0)
    L = f_hours / 24.0
    hk = sk.holding_per_unit_day[f_k]
    cv = sk.demand_cv[f_k]
    h_on = data.wh_holding_per_m3_day[f_wh] * sk.volume_m3[f_k] + hk
    sq = np.sqrt(L + R)
    f_hold = hk * L + h_on * (R / 2.0 + zf * cv * sq)
    f_coef = ((L + R) + zf * cv * sq) / H
    stats["f_all"] = len(f_opt)
    if prune and len(f_opt):
        capped_in = _capped_options(inb, capped_lane)[f_opt]
        coef_for_prune = np.where(finite_storage[f_wh], f_coef, 0.0)
        keep = _keep_cost_coef(f_k * W + f_wh, f_lane + f_duty + f_hold, coef_for_prune, capped_in)
        f_opt, f_k, f_wh, f_lane, f_duty, f_hold, f_coef, f_hours = (
            a[keep] for a in (f_opt, f_k, f_wh, f_lane, f_duty, f_hold, f_coef, f_hours)
        )
    has_f = np.zeros((K, W), dtype=bool)
    has_f[f_k, f_wh] = True

    # -- outbound columns: per demand pair, options into its zone from stockable warehouses -
    outb = data.outbound
    n_z = len(data.zones)
    if len(outb) and len(p_k):
        o_ok = usable[outb.src]
        o_sel = np.flatnonzero(o_ok)
        order, ptr = _by_key(outb.dst[o_sel].astype(np.int64), n_z)
        counts = ptr[p_zone + 1] - ptr[p_zone]
        x_pair, rank = expand_counts(counts)
        x_opt = o_sel[order[ptr[p_zone][x_pair] + rank]]
        x_wh = outb.src[x_opt].astype(np.int64)
        ok = has_f[p_k[x_pair], x_wh]
        x_pair, x_opt, x_wh = x_pair[ok], x_opt[ok], x_wh[ok]
        lane_out, duty_out = _split_cost(outb, sk)
        x_lane = lane_out[x_opt, p_k[x_pair]]
        x_duty = duty_out[x_opt, p_k[x_pair]]
    else:
        x_pair = x_opt = x_wh = np.zeros(0, np.int64)
        x_lane = x_duty = np.zeros(0)
    x_handling = data.wh_handling_per_unit[x_wh]
    x_hours = outb.hours[x_opt] if len(x_opt) else np.zeros(0)
    # on time: mean hours ≤ promise, or P(hours ≤ promise) ≥ promise_probability (DESIGN §10)
    x_ontime = on_time_mask(outb, data)[x_opt] if len(x_opt) else np.zeros(0, dtype=bool)
    stats["x_all"] = len(x_pair)
    if prune and len(x_pair):
        capped_out = _capped_options(outb, capped_lane)[x_opt]
        keep = _keep_cost_late(
            dense_group(x_pair, x_wh), x_lane + x_duty + x_handling, ~x_ontime, capped_out
        )
        x_pair, x_opt, x_wh, x_lane, x_duty, x_handling, x_hours, x_ontime = (
            a[keep] for a in (x_pair, x_opt, x_wh, x_lane, x_duty, x_handling, x_hours, x_ontime)
        )

    # -- direct columns ----------------------------------------------------------------------
    dr = data.direct
    if len(dr) and len(p_k):
        order, ptr = _by_key(dr.dst.astype(np.int64), n_z)
        counts = ptr[p_zone + 1] - ptr[p_zone]
        q_pair, rank = expand_counts(counts)
        q_opt = order[ptr[p_zone][q_pair] + rank]
        lane_d, duty_d = _split_cost(dr, sk)
        q_lane = lane_d[q_opt, p_k[q_pair]]
        q_duty = duty_d[q_opt, p_k[q_pair]]
    else:
        q_pair = q_opt = np.zeros(0, np.int64)
        q_lane = q_duty = np.zeros(0)
    q_hours = dr.hours[q_opt] if len(q_opt) else np.zeros(0)
    q_ontime = on_time_mask(dr, data)[q_opt] if len(q_opt) else np.zeros(0, dtype=bool)
    stats["q_all"] = len(q_pair)
    if prune and len(q_pair):
        capped_d = _capped_options(dr, capped_lane)[q_opt]
        keep = _keep_cost_late(q_pair, q_lane + q_duty, ~q_ontime, capped_d)
        q_pair, q_opt, q_lane, q_duty, q_hours, q_ontime = (
            a[keep] for a in (q_pair, q_opt, q_lane, q_duty, q_hours, q_ontime)
        )
    q_src = dr.src[q_opt].astype(np.int64) if len(q_opt) else np.zeros(0, np.int64)

    # -- (SKU, warehouse) pairs that actually serve something; drop idle inbound columns -----
    used = np.zeros((K, W), dtype=bool)
    used[p_k[x_pair], x_wh] = True
    keep_f = used[f_k, f_wh]
    f_opt, f_k, f_wh, f_lane, f_duty, f_hold, f_coef, f_hours = (
        a[keep_f] for a in (f_opt, f_k, f_wh, f_lane, f_duty, f_hold, f_coef, f_hours)
    )
    kw_flat = np.unique(f_k * W + f_wh)
    kw_k = kw_flat // W
    kw_wh = kw_flat % W
    f_kw = np.searchsorted(kw_flat, f_k * W + f_wh).astype(np.int64)
    x_kw = np.searchsorted(kw_flat, p_k[x_pair] * W + x_wh).astype(np.int64)

    stats.update(
        {
            "f": len(f_opt),
            "x": len(x_pair),
            "q": len(q_pair),
            "pairs": len(p_dem),
            "kw": len(kw_flat),
            "skus": K,
        }
    )
    return Columns(
        p_sku=p_sku,
        p_zone=p_zone,
        p_dem=p_dem,
        x_pair=x_pair.astype(np.int64),
        x_opt=x_opt.astype(np.int64),
        x_wh=x_wh,
        x_kw=x_kw,
        x_lane=x_lane,
        x_duty=x_duty,
        x_handling=x_handling,
        x_hours=x_hours,
        x_ontime=x_ontime,
        q_pair=q_pair.astype(np.int64),
        q_opt=q_opt.astype(np.int64),
        q_src=q_src,
        q_lane=q_lane,
        q_duty=q_duty,
        q_hours=q_hours,
        q_ontime=q_ontime,
        f_sku=ks[f_k].astype(np.int64),
        f_wh=f_wh,
        f_opt=f_opt.astype(np.int64),
        f_src=inb.src[f_opt].astype(np.int64) if len(f_opt) else np.zeros(0, np.int64),
        f_kw=f_kw,
        f_lane=f_lane,
        f_duty=f_duty,
        f_hold=f_hold,
        f_coef=f_coef,
        f_hours=f_hours,
        kw_sku=ks[kw_k].astype(np.int64),
        kw_wh=kw_wh.astype(np.int64),
        late_penalty=float(svc.late_penalty_per_unit),
        lost_penalty=float(svc.lost_sale_penalty_per_unit),
        stats=stats,
    )


def stock_levels(data: NetworkData, cols: Columns, f: F) -> F:
    """Smallest integer stocking level per ``kw`` pair meeting the stock rule for flows ``f``."""
    req = np.bincount(cols.f_kw, weights=cols.f_coef * f, minlength=len(cols.kw_sku))
    return np.maximum(np.ceil(req - 1e-6), 0.0)


def cost_terms(data: NetworkData, cols: Columns, sol: Solution) -> dict[str, float]:
    """The nine cost terms of DESIGN §7 for a solution (from the model's own columns)."""
    late_x = ~cols.x_ontime
    late_q = ~cols.q_ontime
    return {
        "fixed": float(data.wh_fixed_cost @ sol.y),
        "inbound": float(cols.f_lane @ sol.f),
        "duty": float(cols.f_duty @ sol.f + cols.x_duty @ sol.x + cols.q_duty @ sol.q),
        "holding": float(cols.f_hold @ sol.f),
        "handling": float(cols.x_handling @ sol.x),
        "outbound": float(cols.x_lane @ sol.x),
        "direct": float(cols.q_lane @ sol.q),
        "late_penalty": float(cols.late_penalty * (sol.x[late_x].sum() + sol.q[late_q].sum())),
        "lost_sale_penalty": float(cols.lost_penalty * sol.u.sum()),
    }
