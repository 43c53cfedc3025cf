"""SKU-block decomposition for large catalogues (tiers L and XL, DESIGN §5 "Scale").

The monolithic and the warehouse-aggregate paths (:mod:`optimizer.allocation.decompose`) build
every column of every SKU at once; at 10,000 SKUs and ~700k demand pairs that is tens of
millions of columns, gigabytes, and one LP HiGHS does not finish in the nightly window. Here:

1. **Warehouses on an aggregate.** SKUs are grouped into families (quantiles of unit volume,
   which drives storage, holding and m³ lane costs); each family becomes one SKU with the
   demand-weighted mean weight, volume, value, variability, holding rate and duty rates, and
   the summed demand per zone. The stock rule is linear in demand, so a family's stock equals
   its members' sum. That small model is solved by the usual path and its warehouse set ``y``
   is kept.
2. **Blocks.** The SKUs are dealt into blocks of ``block_skus`` (by demand rank, so blocks are
   alike). Each block is a scenario of its own: its demand rows only, and a *share* of every
   capacity shared with the other blocks (storage by demand volume, throughput and lane units
   by units, lane kg by weight, lane m³ by volume) and of the on-time targets (the service
   shares apply to each block's demand). With ``y`` fixed the block's flows and stocking levels
   are its fixed-``y`` LP (:func:`optimizer.allocation.decompose.fixed_y_lp` on the 3
   cheapest inbound options per SKU and warehouse and the :data:`BLOCK_MAX_OUTBOUND` cheapest
   outbound columns per demand pair and on-time class, stocking levels rounded up inside a
   storage margin). The shares add up to the capacities, so the assembled
   plan respects every shared capacity: that is the repair (resource-directive coordination;
   capacities are not re-priced between blocks). A block with no answer by its deadline keeps
   its naive plan (then the evaluator lists what that breaks).
3. **First bounds.** Splitting the fixed costs between blocks (block ``b`` pays ``α_b`` of them,
   ``Σ_b α_b = 1`` per warehouse) and letting each block choose its own warehouses relaxes
   the model; with common multipliers on the shared rows each block's Lagrangian bound
   (:func:`optimizer.allocation.lagrange.lagrangian_bound`, the facility-location subproblem
   solved by Benders, as on sea-72h) is a bound on its part, and their sum is a valid lower
   bound of the whole model. The first pass computes it at zero prices and at the duals of
   the family aggregate's LP with ``y`` fixed (the same physical capacities and targets).
4. **Price rounds** (:func:`price_rounds`): while time is left, projected subgradient rounds
   re-price the shared rows (storage, throughput, lane capacities, on-time targets) and move
   the fixed-cost shares ``α`` (the multipliers of ``y_b = y``) towards the blocks that open a
   warehouse, every block's subproblem solved on the executor each round (its columns kept by
   the worker, :func:`block_columns`); the best sum is the bound. On sea-72h forced into 3
   blocks it took the gap from 1.9 % to 0.3 %.
5. **Joint bound.** At the best prices, every block sends its demand pairs' priced costs at
   their :data:`JOINT_K` cheapest warehouses and the parent solves **one** facility-location
   problem over all pairs with common warehouses (:func:`joint_bound`): the whole model's
   Lagrangian at those prices, which the split of step 3 relaxes, so it is never lower (up to
   the valid cut to the cheapest warehouses). Running the rounds themselves on the joint
   problem was tried: without each round's exact subgradient (the joint ``y`` is known only
   after the parent's solve) the steps diverged (sea-L seed 2: 19.20 M after 34 rounds
   against the split rounds' 19.68 M after 13).
6. **Capacitated joint bound.** The Lagrangian cannot close the gap the throughput rows leave
   (on sea-72h the monolithic path needs :mod:`optimizer.allocation.capacity_bound` for it).
   With the storage, lane and on-time prices of the best round and the throughput rows *kept*,
   the blocks send their pairs' costs (throughput unpriced, cut to the :data:`JOINT_K`
   cheapest warehouses, the fallback cost uncapacitated: a relaxation) and the parent solves
   the whole model's capacitated facility-location problem by the same Benders as sea-72h
   (:func:`joint_capacity_bound`, starting from the rounds' throughput prices and the plan's
   warehouses). It gets :data:`CAPACITY_SHARE` of the time after the first pass. On sea-L
   seed 2 from zero prices: 19.79 M after 16 iterations, against the rounds' 19.75 M.
7. **Re-plan on the relaxation's warehouses.** The capacitated bound's cheapest warehouse set
   (a Lagrangian heuristic: the relaxation's answer, not a plan) may differ from the
   aggregate's. When it does, the bound leaves a gap and a first pass's time is left
   (:data:`REPLAN_MARGIN`), every block's fixed-warehouse LP runs again on that set
   (:func:`replan_blocks`) and the assembled plan replaces the first when it is cheaper and
   still meets the on-time targets it met (a first plan that missed them: when it ships at
   least as many units on time). The aggregate decides warehouses on 40 families
   in a share of the time and may stop unproven; the relaxation prices every SKU's pairs.

Blocks run on an executor (:mod:`optimizer.executor`): the network data goes to each worker
once; each task carries only its block's demand rows.
"""

from __future__ import annotations

import contextlib
import math
import time
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import numpy.typing as npt

from network.compile import NetworkData, SkuData
from optimizer.allocation.baseline import naive_solution, within_capacity
from optimizer.allocation.capacity_bound import CapacityBound, Cflp, solve_cflp
from optimizer.allocation.columns import (
    F_FIELDS,
    Q_FIELDS,
    X_FIELDS,
    Columns,
    build_columns,
    cost_terms,
    select_columns,
    stock_levels,
)
from optimizer.allocation.decompose import fixed_y_lp, restrict_inbound, solve_decomposed
from optimizer.allocation.lagrange import (
    Multipliers,
    PairCosts,
    lagrangian_bound,
    multipliers_from_duals,
    pair_costs,
    solve_ufl,
    subgradient,
    truncate_pairs,
)
from optimizer.allocation.model import default_targets
from optimizer.allocation.params import AllocationParams
from optimizer.allocation.result import AllocationResult, Solution, SolveStats, Status
from optimizer.allocation.solve import solve_allocation
from optimizer.executor import make_executor
from optimizer.progress import PhaseReport, quiet

__all__ = [
    "BLOCK_MIN_SKUS",
    "BlockPlan",
    "block_data",
    "block_shares",
    "family_data",
    "family_warehouses",
    "meets_targets",
    "ontime_units",
    "sku_block_of",
    "solve_blocks",
]

F = npt.NDArray[np.float64]
I = npt.NDArray[np.int64]

#: ``strategy="auto"`` takes the block path from this many SKUs with demand (tier M, 300 SKUs,
#: stays on the monolithic / aggregate path).
BLOCK_MIN_SKUS = 2000
#: SKUs per block (a block of 1,000 SKUs has about the size of sea-72h's model times two).
BLOCK_SKUS = 1000
#: The block LP keeps per (demand pair, on-time class) this many cheapest outbound columns
#: (:func:`optimizer.allocation.decompose.restrict_outbound`; a restriction of the plan only,
#: the bound sees every column): on a 500-SKU block of sea-L with every warehouse open the LP
#: took 31.5 s instead of 42.6 s, same optimum (1,690,514.86).
BLOCK_MAX_OUTBOUND = 3
#: SKU families of the warehouse aggregate.
N_FAMILIES = 40
#: The family aggregate is solved by :func:`~optimizer.allocation.decompose.solve_decomposed`
#: above this many columns (as ``strategy="auto"`` does), else monolithically.
FAMILY_DECOMPOSE_COLUMNS = 60_000
#: The family LP that prices the shared rows ends by this share of the solve time.
PRICES_END_SHARE = 0.4
#: Share of the time left at a re-plan's start (step 7) kept back from its blocks' map.
FALLBACK_SHARE = 0.1
#: Seconds per demand row of the naive plan of a block that gives no answer, computed in this
#: process (:func:`naive_block`: the block's columns with the outbound options pruned, then
#: the naive plan), on a free core; the reserve kept for it (:func:`fallback_seconds`) is this
#: times the rows times the machine's slowdown. Measured on sea-L seed 1 (69,771 rows a block,
#: 2 cores, load about 1, 7 Dec): 1.41-1.43 s a block, 2.05e-5 s a row (it was 2.9 s a block
#: with the fully pruned columns); this keeps about a quarter more. It replaced a flat 10 % of
#: the time left (2 s at a 20-s limit against the 29 s the ten blocks then took).
NAIVE_S_PER_ROW = 2.6e-5
#: Seconds per demand row of a block's first pass before it can answer at all (its pruned
#: columns and naive plan on a worker, 3.2 s for sea-L's 69,771-row blocks; the LP comes on
#: top): a blocks' map with less time than this for its largest block is not started (every
#: block keeps its naive plan, and the warehouse aggregate is skipped as well).
BLOCK_FIRST_S_PER_ROW = 4.5e-5
#: Share of the solve time the warehouse aggregate gets.
AGGREGATE_SHARE = 0.3
#: At most this many price rounds.
MAX_PRICE_ROUNDS = 60
#: The joint bound keeps each demand pair's this many cheapest warehouses; the others enter
#: through a fallback cost that keeps the bound valid
#: (:func:`~optimizer.allocation.lagrange.truncate_pairs`).
JOINT_K = 8
#: A price round's expected seconds per block, as a share of the slowest block's first pass
#: (the LP dominates that; a round solves the Lagrangian subproblem on the block's columns).
ROUND_SHARE = 0.15
#: The blocks are re-planned on the capacitated bound's warehouse set (step 7) only when the
#: time left is this many times the first pass's seconds (which also computed two bounds).
REPLAN_MARGIN = 1.2
#: Each worker process keeps the columns of the blocks it built, up to this many MB, so that
#: price rounds do not rebuild them (a 1,000-SKU block of sea-L: 136 MB of columns, built in
#: 1.8 s, two thirds of a round's 3.1 s; the Lagrangian subproblem is the rest).
BLOCK_CACHE_MB = 1500
#: Share of the time left after the blocks' first pass kept for the capacitated joint bound
#: (step 6 of the module docstring) when the model has throughput capacities: the price
#: rounds stall within about ten rounds (sea-L seed 2: 19.68 M after 13, 19.75 M after 34),
#: and the capacitated bound, from zero prices, passed them after 10 of its iterations
#: (8 s each on sea-L, 5.3 s of them the min-cost flow: a one-off profile, benchmarks/README.md
#: "Scale, fourth pass"; the plan-level figures there come from ``tradelane plan``).
CAPACITY_SHARE = 0.65
#: The capacitated joint bound is computed only when its problem has at most this many
#: (demand pair, warehouse) options (pairs × :data:`JOINT_K`): each of its iterations is a
#: min-cost flow over them in this process (sea-L, 684,271 pairs: about 5 s a flow).
CAPACITY_MAX_OPTIONS = 12_000_000

#: block columns by (network, block): the network object itself is kept with them, so that its
#: ``id`` cannot be taken by another network while the entry lives
_CACHE: dict[tuple[Any, ...], tuple[NetworkData, tuple[Columns, dict[str, float]]]] = {}
_CACHE_BYTES: list[int] = [0]


def _nbytes(cols: Columns) -> int:
    return sum(int(getattr(getattr(cols, f), "nbytes", 0)) for f in cols.__dataclass_fields__)


def clear_block_cache() -> None:
    """Forget the cached block columns of this process (:func:`block_columns`)."""
    _CACHE.clear()
    _CACHE_BYTES[0] = 0


def block_columns(
    data: NetworkData, b: int, rows: I, db: NetworkData
) -> tuple[Columns, dict[str, float]]:
    """Block ``b``'s columns and on-time targets, built once per worker process and kept
    while :data:`BLOCK_CACHE_MB` allows (they depend on the block's demand rows and the
    network, not on its shares of fixed costs and capacities, which only scale finite
    values)."""
    key = (id(data), b, len(rows), int(rows.sum()))
    hit = _CACHE.get(key)
    if hit is not None and hit[0] is data:
        return hit[1]
    if _CACHE and next(iter(_CACHE.values()))[0] is not data:
        clear_block_cache()  # another scenario: the old blocks are no use
    cols = build_columns(db)
    out = (cols, default_targets(db, cols))
    size = _nbytes(cols)
    if _CACHE_BYTES[0] + size <= BLOCK_CACHE_MB * 1e6:
        _CACHE[key] = (data, out)
        _CACHE_BYTES[0] += size
    return out


def fallback_seconds(n_rows: int, slowdown: float = 1.0) -> float:
    """Seconds to keep for the naive plans of blocks with no answer, computed in this process
    one after the other (:func:`naive_block`), for ``n_rows`` demand rows in all: measured,
    not a share of the time (:data:`NAIVE_S_PER_ROW`), times the machine's ``slowdown``."""
    return NAIVE_S_PER_ROW * max(0, n_rows) * max(1.0, slowdown)


@dataclass(frozen=True, slots=True)
class BlockPlan:
    """What one block returns: its plan and its naive plan on their used columns only."""

    block: int
    cols: Columns | None
    sol: Solution | None
    naive_cols: Columns
    naive: Solution
    hint: Solution
    #: the block's Lagrangian bounds at zero prices and at the family LP's prices
    bound: tuple[float, ...]
    seconds: float
    note: str = ""
    #: when ``sol`` is None: the plan used for the block, the naive plan moved off full
    #: warehouses (:func:`~optimizer.allocation.baseline.within_capacity`) on its columns
    floor: tuple[Columns, Solution] | None = None


def naive_block(data: NetworkData, b: int, rows: I) -> BlockPlan:
    """Block ``b``'s naive plan alone (a block with no answer by its deadline), cheaply: on
    the block's columns with only the outbound options pruned (``build_columns(prune=
    "outbound")``), which are built about twice as fast as the fully pruned ones the LP needs.
    The naive planner's nearest warehouse is taken over the same outbound options as on a
    worker; replenishment and direct lines choose among every option, not only the
    undominated ones (the rules' cheapest freight and fastest line, as on the full columns
    wherever pruning keeps them). Fully unpruned columns were faster still (0.57 s against
    2.7 s on a 1,000-SKU block of sea-L) but their nearest warehouses cost 0.6 % more."""
    db = block_data(data, rows)
    cb = build_columns(db, prune="outbound")
    nv, _hn = naive_solution(db, cb)
    nc, nvc = compact(cb, nv)
    hc = replace(nvc, stock=stock_levels(db, nc, nvc.f))
    floor = compact(cb, within_capacity(db, cb, nv))
    return BlockPlan(b, None, None, nc, nvc, hc, (-math.inf, -math.inf), 0.0, floor=floor)


def family_data(data: NetworkData, n_families: int) -> tuple[NetworkData, I]:
    """The SKU-family aggregate (module docstring, step 1) and each SKU's family."""
    K = len(data.skus)
    dem_k = np.bincount(data.dem_sku, weights=data.dem_units, minlength=K)
    order = np.argsort(data.sku.volume_m3, kind="stable")
    rank = np.empty(K, np.int64)
    rank[order] = np.arange(K)
    nf = max(1, min(n_families, K))
    fam = rank * nf // max(K, 1)
    wts = dem_k + 1e-12
    tot = np.bincount(fam, weights=wts, minlength=nf)

    def mean(a: F) -> F:
        return np.bincount(fam, weights=a * wts, minlength=nf) / tot

    duty = data.sku.own_duty
    has = np.isfinite(duty)
    dnum = np.zeros((nf, duty.shape[1]))
    dden = np.zeros((nf, duty.shape[1]))
    np.add.at(dnum, fam, np.where(has, duty, 0.0) * wts[:, None])
    np.add.at(dden, fam, has * wts[:, None])
    own = np.where(dden > 0, dnum / np.maximum(dden, 1e-300), np.nan)
    sku = SkuData(
        mean(data.sku.weight_kg),
        mean(data.sku.volume_m3),
        mean(data.sku.value),
        mean(data.sku.demand_cv),
        mean(data.sku.holding_per_unit_day),
        own,
    )
    key = fam[data.dem_sku] * len(data.zones) + data.dem_zone
    uk, inv = np.unique(key, return_inverse=True)
    units = np.bincount(inv, weights=data.dem_units, minlength=len(uk)).astype(np.float64)
    fdata = replace(
        data,
        name=f"{data.name} (SKU families)",
        skus=tuple(f"family-{i}" for i in range(nf)),
        sku=sku,
        dem_sku=(uk // len(data.zones)).astype(np.int64),
        dem_zone=(uk % len(data.zones)).astype(np.int64),
        dem_units=units,
    )
    return fdata, fam


def block_shares(data: NetworkData, rows: I) -> dict[str, float]:
    """The block's share of each kind of shared capacity (module docstring, step 2)."""
    d = data.dem_units
    k = data.dem_sku
    w = data.sku.weight_kg[k]
    v = data.sku.volume_m3[k]

    def share(a: F) -> float:
        tot = float(a.sum())
        return float(a[rows].sum()) / tot if tot > 0 else 1.0

    return {"units": share(d), "kg": share(d * w), "m3": share(d * v)}


def block_data(data: NetworkData, rows: I, *, alpha: F | float | None = None) -> NetworkData:
    """The scenario of one block: demand ``rows`` only, shared capacities scaled by the
    block's shares, fixed costs by ``alpha`` (per warehouse or one share; default: the
    block's unit share)."""
    s = block_shares(data, rows)
    a = s["units"] if alpha is None else alpha

    def part(cap: F, share: float) -> F:
        # an unlimited capacity stays unlimited (inf x 0 would be NaN for a block without
        # demand, which tonight's state can have: its lots or last night's levels)
        out = np.array(cap, dtype=np.float64)
        finite = np.isfinite(out)
        out[finite] *= share
        return out

    return replace(
        data,
        dem_sku=data.dem_sku[rows],
        dem_zone=data.dem_zone[rows],
        dem_units=data.dem_units[rows],
        wh_fixed_cost=data.wh_fixed_cost * a,
        wh_storage_m3=part(data.wh_storage_m3, s["m3"]),
        wh_throughput_per_day=part(data.wh_throughput_per_day, s["units"]),
        lane_cap_kg=part(data.lane_cap_kg, s["kg"]),
        lane_cap_m3=part(data.lane_cap_m3, s["m3"]),
        lane_cap_units=part(data.lane_cap_units, s["units"]),
    )


def compact(cols: Columns, sol: Solution) -> tuple[Columns, Solution]:
    """Only the columns a solution uses (nonzero flows and their stock pairs); all pairs."""
    kx, kq, kf = sol.x > 0, sol.q > 0, sol.f > 0
    used_kw = np.zeros(len(cols.kw_sku), bool)
    used_kw[cols.x_kw[kx]] = True
    used_kw[cols.f_kw[kf]] = True
    used_kw |= sol.stock > 0
    c2 = select_columns(cols, x=kx, q=kq, f=kf, kw=used_kw)
    s2 = Solution(y=sol.y, x=sol.x[kx], q=sol.q[kq], u=sol.u, f=sol.f[kf], stock=sol.stock[used_kw])
    return c2, s2


def concat(parts: list[tuple[Columns, Solution]], y: F) -> tuple[Columns, Solution]:
    """One plan from block plans on disjoint demand pairs (indices shifted)."""
    if not parts:
        raise ValueError("no block plan to assemble")
    ch: dict[str, Any] = {}
    p_off = np.cumsum([0] + [len(c.p_dem) for c, _ in parts])
    kw_off = np.cumsum([0] + [len(c.kw_sku) for c, _ in parts])
    for name in ("p_sku", "p_zone", "p_dem", "kw_sku", "kw_wh", *X_FIELDS, *Q_FIELDS, *F_FIELDS):
        arrs = [getattr(c, name) for c, _ in parts]
        if name in ("x_pair", "q_pair"):
            arrs = [a + p_off[i] for i, a in enumerate(arrs)]
        elif name in ("x_kw", "f_kw"):
            arrs = [a + kw_off[i] for i, a in enumerate(arrs)]
        ch[name] = np.concatenate(arrs)
    stats: dict[str, int] = {}
    for c, _ in parts:
        for k, v in c.stats.items():
            stats[k] = stats.get(k, 0) + int(v)
    cols = replace(parts[0][0], **ch, stats=stats)
    sol = Solution(
        y=np.asarray(y, float),
        x=np.concatenate([s.x for _, s in parts]),
        q=np.concatenate([s.q for _, s in parts]),
        u=np.concatenate([s.u for _, s in parts]),
        f=np.concatenate([s.f for _, s in parts]),
        stock=np.concatenate([s.stock for _, s in parts]),
    )
    return cols, sol


def _family_prices(
    fdata: NetworkData, fcols: Columns, y: F, params: AllocationParams, deadline: float
) -> Any:
    """Multipliers from the family aggregate's fixed-``y`` LP duals, or ``None``."""

    duals: list[Any] = []
    try:
        fixed_y_lp(
            fdata, fcols, y, params, default_targets(fdata, fcols), deadline, None, duals_out=duals
        )
    except Exception:  # no prices: the blocks' bounds use zero multipliers
        return None
    if not duals:
        return None
    m, d = duals[0]
    return multipliers_from_duals(fdata, m, d)


def _solve_block(
    shared: tuple[NetworkData, AllocationParams, F, Any], item: tuple[Any, ...]
) -> Any:
    """One block (module docstring, steps 2 and 3); runs in a worker."""

    data, params, y, mult = shared
    # an item may carry another warehouse set (step 7: then no bounds, and ``replan_blocks``
    # gives it a zero bound share, so its LP may use the whole time), leaving ``shared``,
    # which went to the workers once, as it is
    b, rows, alpha, wall_deadline, bound_share, *other = item
    y_other = other[0] if other else None
    with_bound = y_other is None
    if y_other is not None:
        y = y_other
    t0 = time.perf_counter()
    deadline = t0 + (wall_deadline - time.time())
    db = block_data(data, rows, alpha=alpha)
    cols, targets = block_columns(data, b, rows, db)
    naive, _hint = naive_solution(db, cols)
    naive_cols, naive_c = compact(cols, naive)
    # the warm-start plan: the naive flows with stocking levels by the model's rule
    hint_c = replace(naive_c, stock=stock_levels(db, naive_cols, naive_c.f))
    note = ""
    sol_c: tuple[Columns, Solution] | None = None
    lp_deadline = deadline - bound_share * max(0.0, deadline - time.perf_counter())
    try:
        sol, _obj, _s, used = fixed_y_lp(
            db,
            restrict_inbound(cols, 3),
            y,
            params,
            targets,
            lp_deadline,
            None,
            max_outbound=BLOCK_MAX_OUTBOUND,
        )
        if sol is not None:
            sol_c = compact(used, sol)
    except Exception as e:  # a block that fails keeps its naive plan, and says why
        note = f"block {b}: fixed-warehouse LP failed ({type(e).__name__}: {e})"
    bound: tuple[float, ...] = (-math.inf, -math.inf)
    W = len(db.warehouses)
    if with_bound and time.perf_counter() < deadline and len(cols.p_dem) and W:
        # the same two price vectors in every block: zero, and the family LP's duals; the
        # parent keeps whichever sum is higher (each sum is a valid bound)
        prices = [Multipliers(storage=np.zeros(W), throughput=np.zeros(W))]
        if mult is not None:
            prices.append(mult)
        bounds = []
        for i, lam in enumerate(prices):
            left = deadline - time.perf_counter()
            try:
                bnd, _ufl, _pc = lagrangian_bound(
                    db, cols, lam, targets, time.perf_counter() + left / (len(prices) - i)
                )
            except Exception as e:
                note += f" block {b}: no bound ({type(e).__name__}: {e})"
                bnd = -math.inf
            bounds.append(bnd)
        bound = tuple(bounds)
    elif not len(cols.p_dem):
        bound = (float(db.wh_fixed_cost @ db.wh_kept_open),) * 2
    return BlockPlan(
        block=b,
        cols=None if sol_c is None else sol_c[0],
        sol=None if sol_c is None else sol_c[1],
        naive_cols=naive_cols,
        naive=naive_c,
        hint=hint_c,
        bound=bound,
        seconds=time.perf_counter() - t0,
        note=note.strip(),
        floor=compact(cols, within_capacity(db, cols, naive)) if sol_c is None else None,
    )


@dataclass(frozen=True, slots=True)
class BoundRound:
    """One block's Lagrangian subproblem at given prices and fixed-cost shares: its bound,
    the warehouses it opened and the violations of the dualised rows (the subgradient)."""

    block: int
    bound: float
    y: F
    g_storage: F
    g_throughput: F
    g_lanes: F
    g_ontime: dict[str, float]
    seconds: float


def _block_bound(
    shared: tuple[NetworkData, AllocationParams, F, Any], item: tuple[Any, ...]
) -> Any:
    """A block's Lagrangian bound at ``(mult, alpha)`` and its subgradient; runs in a worker."""

    data = shared[0]
    b, rows, alpha, mult, wall_deadline, y_start, lane_keys = item
    t0 = time.perf_counter()
    deadline = t0 + (wall_deadline - time.time())
    db = block_data(data, rows, alpha=alpha)
    cols, targets = block_columns(data, b, rows, db)
    W = len(db.warehouses)
    if W == 0 or not len(cols.p_dem):
        # no warehouse or no demand: the subproblem in closed form (each free warehouse
        # opened when its priced fixed cost is negative); no step from this block
        pc = pair_costs(db, cols, mult, targets)
        y = (db.wh_kept_open | (db.wh_usable & (pc.fixed < 0))).astype(float)
        serve = float(pc.dem @ pc.d) if W == 0 else 0.0
        bnd = pc.const + float(pc.fixed @ y) + serve
        z = np.zeros(W)
        return BoundRound(b, bnd, y, z, z, np.zeros(len(lane_keys)), {}, time.perf_counter() - t0)
    bnd, ufl, pc = lagrangian_bound(db, cols, mult, targets, deadline, y_start=y_start)
    gs, gt, gl, go = subgradient(db, cols, pc, ufl.y, targets, lane_keys)
    return BoundRound(b, float(bnd), ufl.y, gs, gt, gl, go, time.perf_counter() - t0)


@dataclass(frozen=True, slots=True)
class BlockCosts:
    """One block's part of the joint Lagrangian subproblem at given prices (module docstring,
    step 4): its demand pairs' costs cut to their :data:`JOINT_K` cheapest warehouses
    (:func:`~optimizer.allocation.lagrange.truncate_pairs`), its priced fixed costs and
    constant, and the violations of its shared rows (the subgradient) when it is served from
    the warehouses ``y`` it was sent."""

    block: int
    c: F
    wh: npt.NDArray[np.int16]
    d: F
    dem: F
    zone: I
    fixed: F
    const: float
    g_storage: F
    g_throughput: F
    g_lanes: F
    g_ontime: dict[str, float]
    seconds: float


def _block_costs(
    shared: tuple[NetworkData, AllocationParams, F, Any], item: tuple[Any, ...]
) -> Any:
    """A block's :class:`BlockCosts` at ``mult`` (its subgradient at ``y`` unless ``y`` is
    ``None``); runs in a worker."""

    data = shared[0]
    b, rows, alpha, mult, y, lane_keys = item
    t0 = time.perf_counter()
    db = block_data(data, rows, alpha=alpha)
    cols, targets = block_columns(data, b, rows, db)
    W = len(db.warehouses)
    pc = pair_costs(db, cols, mult, targets)
    c, wh, d = truncate_pairs(pc.c, pc.d, JOINT_K)
    if y is not None and W and len(cols.p_dem):
        gs, gt, gl, go = subgradient(db, cols, pc, y, targets, lane_keys)
    else:  # not asked for, or no pair to serve
        gs, gt, gl, go = np.zeros(W), np.zeros(W), np.zeros(len(lane_keys)), {}
    return BlockCosts(
        b,
        c,
        wh,
        d,
        pc.dem,
        cols.p_zone.astype(np.int64),
        pc.fixed,
        pc.const,
        gs,
        gt,
        gl,
        go,
        time.perf_counter() - t0,
    )


def joint_bound(
    data: NetworkData, parts: list[BlockCosts], deadline: float, y_start: F | None = None
) -> tuple[float, F]:
    """``L(λ)`` of the whole model from its blocks' parts: one facility-location problem over
    every block's demand pairs with **one** warehouse set ``y`` (module docstring, step 4).

    The parts' fixed costs add up to the model's priced fixed costs (the blocks' shares of
    fixed costs and capacities each sum to one) and their constants to the model's (with the
    blocks' on-time targets, whose sum is at most the model's: a relaxation). Returns the
    bound (``-inf`` if the UFL gives none by ``deadline``) and the UFL's warehouses."""
    W = len(data.warehouses)
    const = float(sum(p.const for p in parts))
    fixed = np.sum([p.fixed for p in parts], axis=0) if parts else np.zeros(W)
    dem = np.concatenate([p.dem for p in parts]) if parts else np.zeros(0)
    d = np.concatenate([p.d for p in parts]) if parts else np.zeros(0)
    if W == 0 or not len(dem):
        y = data.wh_kept_open.astype(float)
        if W:
            y = np.maximum(y, (data.wh_usable & (fixed < 0)).astype(float))
        return const + float(fixed @ y) + float(dem @ d), y
    pc = PairCosts(
        c=np.concatenate([p.c for p in parts]),
        d=d,
        dem=dem,
        fixed=fixed,
        const=0.0,
        x_best=np.zeros((0, W), np.int64),
        q_best=np.zeros(0, np.int64),
        f_best=np.zeros(0, np.int64),
    )
    ufl = solve_ufl(
        pc,
        np.concatenate([p.zone for p in parts]),
        data.wh_kept_open.astype(float),
        data.wh_usable.astype(float),
        deadline,
        y_start=y_start,
        order=np.concatenate([p.wh for p in parts]),
    )
    return const + ufl.bound, ufl.y


def capacitated(data: NetworkData) -> bool:
    """Whether a usable warehouse has a throughput capacity (else the capacitated bound is the
    Lagrangian's)."""
    thr = np.isfinite(np.asarray(data.wh_throughput_per_day, float))
    return bool((thr & data.wh_usable).any())


def joint_capacity_bound(
    data: NetworkData,
    parts: list[BlockCosts],
    deadline: float,
    *,
    mu0: F,
    y_start: F | None,
    target: float,
) -> CapacityBound:
    """The whole model's capacitated subproblem from its blocks' parts (module docstring,
    step 6): pair costs without throughput prices at each pair's :data:`JOINT_K` cheapest
    warehouses (the others through the uncapacitated fallback cost ``d``, a relaxation:
    a unit sent to one of them costs at least that), the warehouses' whole throughput
    capacities kept, the pairs grouped by country; solved by
    :func:`~optimizer.allocation.capacity_bound.solve_cflp` until ``deadline`` or until the
    bound reaches ``target``. The parts' fixed costs and constants add up as in
    :func:`joint_bound`."""
    W = len(data.warehouses)
    thr = np.asarray(data.wh_throughput_per_day, float)
    cap = float(data.horizon_days) * np.where(np.isfinite(thr), thr, np.inf)
    zc = np.array((*data.zone_country, ""))
    zone = np.concatenate([p.zone for p in parts]) if parts else np.zeros(0, np.int64)
    _, grp = np.unique(zc[zone], return_inverse=True)
    cf = Cflp.from_arrays(
        np.concatenate([p.c for p in parts]) if parts else np.zeros((0, 1)),
        np.concatenate([p.d for p in parts]) if parts else np.zeros(0),
        np.concatenate([p.dem for p in parts]) if parts else np.zeros(0),
        np.sum([p.fixed for p in parts], axis=0) if parts else np.zeros(W),
        cap,
        np.asarray(grp, np.int64).ravel(),
        const=float(sum(p.const for p in parts)),
        y_lb=data.wh_kept_open.astype(float),
        y_ub=data.wh_usable.astype(float),
        order=np.concatenate([p.wh for p in parts]) if parts else np.zeros((0, 1), np.int16),
    )
    return solve_cflp(cf, deadline, mu0=mu0, target=target, y_start=y_start)


def lane_keys_of(data: NetworkData) -> I:
    """Every lane-dimension key (``lane * 3 + d``, d = kg, m³, units) with a finite capacity."""
    caps = np.stack([data.lane_cap_kg, data.lane_cap_m3, data.lane_cap_units], axis=1)
    lane, d = np.nonzero(np.isfinite(caps))
    return np.sort(lane * 3 + d).astype(np.int64)


def price_rounds(
    data: NetworkData,
    blocks: list[I],
    alphas: list[F],
    mult: Any,
    upper: float,
    runner: Any,
    shared: Any,
    deadline: float,
    *,
    first: float = -math.inf,
    y_start: list[F | None] | None = None,
    y_plan: F | None = None,
    max_rounds: int = MAX_PRICE_ROUNDS,
    ontime: bool = True,
    round_s: float = 0.0,
    best_out: list[Multipliers] | None = None,
) -> tuple[float, dict[str, Any]]:
    """Projected subgradient rounds on the prices of the shared rows and the fixed-cost shares.

    The bound of the block path is ``Σ_b L_b(λ, α_b)``: block b's Lagrangian subproblem with
    the common prices ``λ ≥ 0`` of the shared rows (storage, throughput, lane capacities,
    on-time targets, each block holding its share of the capacities) and the share ``α_b`` of
    every warehouse's fixed cost, the blocks choosing their warehouses each for itself. For
    any ``λ ≥ 0`` and any ``α`` with ``Σ_b α_bw = 1`` for every warehouse w this is a lower
    bound of the whole model (it relaxes ``y_b = y`` for all blocks; ``α`` are that
    constraint's multipliers). Each round sends ``(λ, α_b)`` to every block (on the
    executor), sums the bounds and moves both along the subgradient with a Polyak step towards
    ``upper`` (the assembled plan's cost): ``λ`` by the summed row violations, ``α_bw`` by
    ``fixed_w · y_bw`` minus its mean over the blocks (blocks that open a warehouse pay more of
    it, so ``Σ_b α_bw`` stays one). A round with a block missing gives no bound and ends the
    rounds. Returns the best sum (``first`` if no round beats it) and statistics. Without
    ``ontime`` the on-time rows keep price zero: the bound then holds whatever the targets (a
    plan that misses them is judged against lowered targets, which a priced target would
    overstate). A round is started only when the time left is 1.2 times the last round's
    seconds (the first: ``round_s``, an estimate). The prices of the best round are appended
    to ``best_out`` when given.
    """

    W = len(data.warehouses)
    nb = len(blocks)
    keys = lane_keys_of(data)
    nl = len(keys)
    names = ["all", *sorted(data.service.min_on_time_share_by_country)]
    if mult is None:
        mult = Multipliers(storage=np.zeros(W), throughput=np.zeros(W))
    lam = np.r_[
        mult.storage,
        mult.throughput,
        np.array([mult.lanes.get(int(k), 0.0) for k in keys.tolist()]),
        np.array([mult.ontime.get(k, 0.0) for k in names]),
    ]
    n_on = len(names)
    if not ontime:
        lam[-n_on:] = 0.0
    alpha = np.array(alphas, float).reshape(nb, W)
    fixed = np.asarray(data.wh_fixed_cost, float)
    best = first
    best_m: Multipliers | None = None
    ys: list[F | None] = list(y_start) if y_start is not None else [None] * nb
    step, since, rounds, last_s = 2.0, 0, 0, round_s
    history: list[float] = []
    while rounds < max_rounds:
        t_round = time.perf_counter()
        # once there are prices worth it, a round's time is kept for the joint bound
        keep = 1.2 * last_s if best_m is not None else 0.0
        if deadline - t_round < 1.2 * last_s + keep or deadline <= t_round:
            break
        m = Multipliers(
            lam[:W],
            lam[W : 2 * W],
            {
                int(k): float(v)
                for k, v in zip(keys.tolist(), lam[2 * W : 2 * W + nl].tolist(), strict=True)
                if v > 0
            },
            dict(zip(names, lam[2 * W + nl :].tolist(), strict=True)),
        )
        wall = time.time() + (deadline - time.perf_counter())
        items = [(b, rows, alpha[b], m, wall, ys[b], keys) for b, rows in enumerate(blocks)]
        out = runner.map(_block_bound, shared, items, deadline=deadline)
        last_s = time.perf_counter() - t_round
        if any(r is None for r in out):
            break
        rounds += 1
        bound = float(sum(r.bound for r in out))
        history.append(bound)
        if not math.isfinite(bound):
            break
        if bound > best + 1e-9 * (1 + abs(best)) or not math.isfinite(best):
            best, since, best_m = bound, 0, m
        else:
            since += 1
            if since >= 3:
                step, since = step / 2, 0
        if upper - best <= 1e-7 * abs(upper):
            break
        ys = [r.y for r in out]
        g_lam = np.r_[
            np.sum([r.g_storage for r in out], axis=0),
            np.sum([r.g_throughput for r in out], axis=0),
            np.sum([r.g_lanes for r in out], axis=0),
            np.array([sum(r.g_ontime.get(k, 0.0) for r in out) for k in names]),
        ]
        g_lam = np.where((lam <= 0) & (g_lam < 0), 0.0, g_lam)
        if not ontime:
            g_lam[-n_on:] = 0.0
        fy = fixed[None, :] * np.array([r.y for r in out], float)
        g_alpha = fy - fy.mean(axis=0, keepdims=True)
        nrm = float(g_lam @ g_lam) + float((g_alpha * g_alpha).sum())
        if nrm <= 0:
            break  # every block's subproblem meets the shared rows and agrees on y
        t = step * max(upper - bound, 1e-9 * abs(upper)) / nrm
        lam = np.maximum(0.0, lam + t * g_lam)
        alpha = alpha + t * g_alpha
    info: dict[str, Any] = {"price_rounds": rounds, "price_round_bounds": history}
    if best_m is not None and upper - best > 1e-7 * abs(upper):
        # the whole model's Lagrangian at the best prices: common warehouses, no fixed-cost
        # shares to relax (never below the blocks' sum at the same prices, up to the cut to
        # the cheapest warehouses); the time of one round is left for it
        t_joint = time.perf_counter()
        if deadline - t_joint >= 1.2 * last_s:
            items_j = [(b, rows, alpha[b], best_m, None, keys) for b, rows in enumerate(blocks)]
            parts = runner.map(_block_costs, shared, items_j, deadline=deadline)
            if all(p is not None for p in parts):
                joint, _y = joint_bound(data, parts, deadline, y_start=y_plan)
                info["joint_bound"] = joint
                info["joint_bound_s"] = time.perf_counter() - t_joint
                best = max(best, joint)
    if best_out is not None and best_m is not None:
        best_out.append(best_m)
    return best, info


def fixed_cost_shares(
    data: NetworkData,
    blocks: list[I],
    fdata: NetworkData,
    fcols: Columns,
    fsol: Solution | None,
    fam: I,
) -> list[F]:
    """Each block's share of each warehouse's fixed cost for the bound (module docstring,
    step 3): its expected share of the warehouse's units in the family aggregate's plan (each
    SKU takes its family's flow in proportion to its demand), else its share of all units.
    The shares of a warehouse add up to one over the blocks, so any choice keeps the bound
    valid; shares close to the blocks' use of the warehouse keep it tight."""
    W = len(data.warehouses)
    K = len(data.skus)
    nb = len(blocks)
    units = data.dem_units
    tot = float(units.sum())
    flat = [np.full(W, float(units[r].sum()) / tot if tot > 0 else 1.0 / nb) for r in blocks]
    if fsol is None or not len(fcols.x_pair):
        return flat
    nf = len(fdata.skus)
    u_fw = np.zeros((nf, W))
    np.add.at(u_fw, (fcols.p_sku[fcols.x_pair], fcols.x_wh), fsol.x)
    dem_k = np.bincount(data.dem_sku, weights=units, minlength=K)
    dem_f = np.bincount(fam, weights=dem_k, minlength=nf)
    frac_k = np.where(dem_f[fam] > 0, dem_k / np.maximum(dem_f[fam], 1e-300), 0.0)
    a = np.zeros((nb, W))
    for b, rows in enumerate(blocks):
        ks = np.unique(data.dem_sku[rows])
        a[b] = (frac_k[ks, None] * u_fw[fam[ks]]).sum(axis=0)
    col = a.sum(axis=0)
    use = col > 1e-9 * max(1.0, float(col.max(initial=0.0)))
    return [np.where(use, a[b] / np.where(use, col, 1.0), flat[b]) for b in range(nb)]


def family_warehouses(
    data: NetworkData, params: AllocationParams, deadline: float, n_families: int = N_FAMILIES
) -> tuple[F, tuple[NetworkData, I, Columns, AllocationResult]]:
    """Step 1 of the module docstring: the warehouse set of the SKU-family aggregate solved
    by ``deadline`` (its naive plan's when the solve finds none), and the aggregate
    ``(family data, each SKU's family, its columns, its result)``."""
    fdata, fam = family_data(data, n_families)
    fcols = build_columns(fdata)
    _fn, fhint = naive_solution(fdata, fcols)
    n_cols = len(fcols.x_pair) + len(fcols.q_pair) + len(fcols.f_sku)
    solve = solve_decomposed if n_cols > FAMILY_DECOMPOSE_COLUMNS else solve_allocation
    fres = solve(fdata, params, columns=fcols, hint=fhint, deadline=deadline)
    y = fres.solution.y if fres.solution is not None else fhint.y
    return np.asarray(y, float), (fdata, fam, fcols, fres)


def sku_block_of(data: NetworkData, block_skus: int) -> I:
    """Each SKU's block: SKUs dealt by demand rank into ``ceil(K / block_skus)`` blocks (so
    blocks are alike; SKUs without demand are dealt last)."""
    K = len(data.skus)
    dem_k = np.bincount(data.dem_sku, weights=data.dem_units, minlength=K)
    nb = max(1, math.ceil(K / max(1, block_skus)))
    order = np.argsort(-dem_k, kind="stable")
    blk = np.empty(K, np.int64)
    blk[order] = np.arange(K) % nb
    return blk


def sku_blocks(data: NetworkData, block_skus: int) -> list[I]:
    """Demand rows per block of :func:`sku_block_of` (blocks without demand rows left out)."""
    blk = sku_block_of(data, block_skus)
    nb = int(blk.max()) + 1 if len(blk) else 1
    row_blk = blk[data.dem_sku]
    srt = np.argsort(row_blk, kind="stable")
    cuts = np.searchsorted(row_blk[srt], np.arange(1, nb))
    return [r.astype(np.int64) for r in np.split(srt, cuts) if len(r)]


def solve_blocks(
    data: NetworkData,
    params: AllocationParams,
    *,
    deadline: float,
    runner: Any = None,
    block_skus: int | None = None,
    n_families: int | None = None,
    on_phase: PhaseReport | None = None,
    slowdown: float = 1.0,
) -> tuple[AllocationResult, tuple[Columns, Solution, Solution]]:
    """The block path (module docstring).

    Returns the result (on the assembled, used columns) and the assembled naive plan
    ``(columns, naive, hint)`` for the floor and the baseline. ``slowdown`` (the load average
    per CPU, at least 1) scales the time kept for the naive plans of blocks with no answer
    (:func:`fallback_seconds`). When what is left after that reserve cannot give the largest
    block its first pass (:data:`BLOCK_FIRST_S_PER_ROW`), neither the aggregate nor the blocks'
    map is started: every block keeps its naive plan, computed here at once.
    """

    say = on_phase or quiet
    block_skus = block_skus or BLOCK_SKUS
    n_families = n_families or N_FAMILIES
    t0 = time.perf_counter()
    stats: dict[str, Any] = {}
    notes: list[str] = []
    blocks = sku_blocks(data, block_skus)
    reserve = fallback_seconds(len(data.dem_units), slowdown)
    first_s = BLOCK_FIRST_S_PER_ROW * max((len(r) for r in blocks), default=0) * slowdown
    stats["fallback_reserve_s"] = reserve
    if deadline - t0 - reserve < first_s / (1.0 - AGGREGATE_SHARE):
        return _naive_only(data, params, blocks, deadline, stats, notes, t0, say)
    # 1. warehouses on the SKU-family aggregate
    say(f"deciding warehouses on {n_families} SKU families")
    agg_deadline = t0 + AGGREGATE_SHARE * max(0.0, deadline - t0)
    y, (fdata, fam, fcols, fres) = family_warehouses(data, params, agg_deadline, n_families)
    # common prices of the shared rows for every block's bound: the family LP's duals with y
    # fixed (the same physical capacities and targets; any prices >= 0 give a valid bound)
    mult = _family_prices(fdata, fcols, y, params, t0 + PRICES_END_SHARE * max(0.0, deadline - t0))
    stats["bound_prices"] = "family LP duals" if mult is not None else "zero"
    stats["aggregate_s"] = time.perf_counter() - t0
    stats["aggregate_status"] = str(fres.status)
    stats["aggregate_objective"] = fres.objective
    # 2-3. blocks
    stats["blocks"] = len(blocks)
    own = runner is None
    if own:
        runner = make_executor()
    # one pool for the first pass and the price rounds (local processes: no new spawn and no
    # new copy of the network per round)
    keep = getattr(runner, "persistent", None)
    if keep is False:
        runner.persistent = True
    shared = (data, params, y, mult)
    # time kept back for computing here the naive plans of blocks that give no answer
    map_deadline = deadline - reserve
    wall_deadline = time.time() + (map_deadline - time.perf_counter())
    alphas = fixed_cost_shares(data, blocks, fdata, fres.columns, fres.solution, fam)
    items = [(b, rows, alphas[b], wall_deadline, 0.3) for b, rows in enumerate(blocks)]
    say(f"solving {len(blocks)} SKU blocks on {runner.workers} {runner.kind} worker(s)")
    t1 = time.perf_counter()
    try:
        out = runner.map(_solve_block, shared, items, deadline=map_deadline)
        stats["blocks_s"] = time.perf_counter() - t1
        head = (
            f"SKU-block path ({len(data.skus)} SKUs): warehouses decided on {n_families} SKU "
            f"families, flows and stocking levels in {len(blocks)} blocks of about "
            f"{block_skus} SKUs on {runner.workers} {runner.kind} worker(s), each with its "
            "share of the shared capacities and on-time targets; bound: sum of per-block "
            "Lagrangian bounds, the shared rows' prices and the fixed-cost shares re-priced "
            "between the blocks by subgradient rounds, then the whole model's Lagrangian and "
            "its capacitated form (throughput kept) at the best prices"
        )
        res, naive_plan = _assemble(
            data,
            params,
            out,
            items,
            y,
            mult,
            runner,
            shared,
            deadline,
            stats,
            [head, *notes],
            t0,
            say,
        )
    finally:
        clear_block_cache()  # the inline runner cached here
        if runner.kind == "dask":
            with contextlib.suppress(Exception):
                runner.client.run(clear_block_cache)
        if keep is False:
            runner.persistent = False
        if own:
            runner.close()
    return res, naive_plan


def _naive_only(
    data: NetworkData,
    params: AllocationParams,
    blocks: list[I],
    deadline: float,
    stats: dict[str, Any],
    notes: list[str],
    t0: float,
    say: Any,
) -> tuple[AllocationResult, tuple[Columns, Solution, Solution]]:
    """Every block's naive plan, computed here (too little time for the aggregate and the
    blocks' first pass): no worker is started, no bound is computed."""
    say(f"too little time for the {len(blocks)} SKU blocks: the naive plan of each")
    stats["blocks"] = len(blocks)
    stats["blocks_s"] = 0.0
    items = [(b, rows, None, 0.0, 0.0) for b, rows in enumerate(blocks)]
    head = (
        f"SKU-block path ({len(data.skus)} SKUs) in {len(blocks)} blocks: the time limit left "
        f"{max(0.0, deadline - t0):.1f} s for the solve, less than the blocks' first pass "
        "after the naive plans' reserve; no warehouse aggregate, no block LP, no bound"
    )
    y = data.wh_kept_open.astype(float)
    # the deadline given as already past: no price round or bound after the naive plans
    return _assemble(
        data,
        params,
        [None] * len(blocks),
        items,
        y,
        None,
        None,
        None,
        t0,
        stats,
        [head, *notes],
        t0,
        say,
    )


def replan_blocks(
    runner: Any, shared: Any, items: list[tuple[Any, ...]], y: F, deadline: float
) -> tuple[Columns, Solution] | None:
    """Every block's fixed-warehouse LP (step 2) again on the warehouse set ``y``, without
    its bounds; the assembled plan, or ``None`` unless every block answered by ``deadline``
    (block plans on different warehouse sets are not assembled)."""
    end = deadline - FALLBACK_SHARE * max(0.0, deadline - time.perf_counter())
    wall = time.time() + (end - time.perf_counter())
    again = [(b, rows, alpha, wall, 0.0, np.asarray(y, float)) for b, rows, alpha, *_ in items]
    out = runner.map(_solve_block, shared, again, deadline=end)
    if any(r is None or r.sol is None or r.cols is None for r in out):
        return None
    return concat([(r.cols, replace(r.sol, y=np.asarray(y, float))) for r in out], y)


def ontime_units(cols: Columns, sol: Solution) -> float:
    """Units the plan delivers within the promise."""
    return float(sol.x[cols.x_ontime].sum() + sol.q[cols.q_ontime].sum())


def keep_replan(
    data: NetworkData,
    first: tuple[Columns, Solution, float],
    again: tuple[Columns, Solution, float],
    ontime: bool,
) -> bool:
    """Whether the re-planned ``again`` (columns, solution, cost) replaces ``first`` (step 7):
    it is cheaper, and meets the on-time targets when ``first`` met them (``ontime``); when
    ``first`` missed them, ``again`` meets them or ships at least as many units on time."""
    (c1, s1, obj1), (c2, s2, obj2) = first, again
    if not obj2 < obj1 - 1e-9 * abs(obj1):
        return False
    if meets_targets(data, c2, s2):
        return True
    return not ontime and ontime_units(c2, s2) >= ontime_units(c1, s1)


def meets_targets(data: NetworkData, cols: Columns, sol: Solution) -> bool:
    """Whether the plan ships at least the default on-time target units, overall and in every
    country with a target."""

    zc = np.array((*data.zone_country, ""))
    on_x = sol.x[cols.x_ontime]
    on_q = sol.q[cols.q_ontime]
    cx = zc[cols.p_zone[cols.x_pair[cols.x_ontime]]]
    cq = zc[cols.p_zone[cols.q_pair[cols.q_ontime]]]
    for name, target in default_targets(data, cols).items():
        got = (
            float(on_x.sum() + on_q.sum())
            if name == "all"
            else float(on_x[cx == name].sum() + on_q[cq == name].sum())
        )
        if got < target - 1e-6 * max(1.0, target):
            return False
    return True


def _assemble(
    data: NetworkData,
    params: AllocationParams,
    out: list[Any],
    items: list[tuple[Any, ...]],
    y: F,
    mult: Any,
    runner: Any,
    shared: Any,
    deadline: float,
    stats: dict[str, Any],
    notes: list[str],
    t0: float,
    say: Any,
) -> tuple[AllocationResult, tuple[Columns, Solution, Solution]]:
    """The block plans assembled into one (naive plans for blocks without one), the bound
    improved by price rounds while time is left."""
    parts: list[tuple[Columns, Solution]] = []
    naive_parts: list[tuple[Columns, Solution]] = []
    hint_parts: list[Solution] = []
    sums = np.zeros(2)
    missing = 0
    floor_y = np.zeros(len(data.warehouses))
    # a block's first pass (LP and two bounds) against one bound round
    block_s = max((r.seconds for r in out if r is not None), default=math.inf)
    for b, (res_b, (_b, rows, *_)) in enumerate(zip(out, items, strict=True)):
        if res_b is None:
            # no answer in time: this block's naive plan, computed here (the reserve for it
            # is fallback_seconds)
            missing += 1
            res_b = naive_block(data, b, rows)
        if res_b.note:
            notes.append(res_b.note)
        naive_parts.append((res_b.naive_cols, res_b.naive))
        hint_parts.append(res_b.hint)
        if res_b.sol is not None and res_b.cols is not None:
            parts.append((res_b.cols, replace(res_b.sol, y=np.asarray(y, float))))
        else:
            if res_b.seconds > 0:
                missing += 1
            # the naive plan, moved off full warehouses, may use warehouses the aggregate
            # closed: they open too
            floor = res_b.floor or (res_b.naive_cols, res_b.hint)
            y = np.maximum(y, floor[1].y)
            floor_y = np.maximum(floor_y, floor[1].y)
            parts.append(floor)
        sums += np.resize(np.asarray(res_b.bound, float), 2)
    naive_y = np.zeros(len(data.warehouses))
    for _c, s in naive_parts:
        naive_y = np.maximum(naive_y, s.y)
    ncols, nsol = concat(naive_parts, naive_y)
    _, hsol = concat([(c, h) for (c, _), h in zip(naive_parts, hint_parts, strict=True)], naive_y)
    if not any(r is not None and r.sol is not None for r in out):
        # no block has an optimised plan: the floor whole, on its own warehouses (the
        # aggregate's would only add the fixed costs of warehouses nothing uses: sea-L seed 1
        # at a 60-s limit, 19,568,076.61 against the naive plan's 19,460,451.61)
        y = np.asarray(floor_y, float)
    cols, sol = concat(parts, y)
    cost = cost_terms(data, cols, sol)
    obj = float(sum(cost.values()))
    # a plan that misses an on-time target is judged against lowered targets (what the
    # capacities allow): only bounds with the on-time rows unpriced hold for those
    ontime = meets_targets(data, cols, sol)
    bound = float(np.max(sums)) if ontime else float(sums[0])
    stats["block_bound_zero_prices"] = float(sums[0])
    stats["block_bound_family_prices"] = float(sums[1])
    if not ontime:
        notes.append(
            "the plan misses an on-time target: its bound leaves the on-time rows unpriced "
            "(valid for the lowered targets it is judged by)"
        )
    if math.isfinite(obj) and deadline - time.perf_counter() > 0:
        # 4. price rounds: the shared rows' prices and the fixed-cost shares re-priced
        say("pricing the shared capacities between the blocks")
        start = mult if ontime and mult is not None and sums[1] >= sums[0] else None
        t2 = time.perf_counter()
        # 6. the capacitated joint bound keeps a share of the time (when it can run)
        n_opt = len(data.dem_units) * min(JOINT_K, len(data.warehouses))
        use_cap = capacitated(data) and n_opt <= CAPACITY_MAX_OPTIONS
        if capacitated(data) and not use_cap:
            notes.append(
                f"no capacitated joint bound: {n_opt:,} pair options are more than "
                f"{CAPACITY_MAX_OPTIONS:,} (the bound is the Lagrangian's)"
            )
        cap_keep = CAPACITY_SHARE * max(0.0, deadline - t2) if use_cap else 0.0
        best_mult: list[Multipliers] = []
        round_est = ROUND_SHARE * block_s * math.ceil(len(items) / max(1, runner.workers))

        def rounds(
            m: Multipliers | None, end: float, first: float, round_s: float
        ) -> tuple[float, dict[str, Any]]:
            return price_rounds(
                data,
                [it[1] for it in items],
                [it[2] for it in items],
                m,
                obj,
                runner,
                shared,
                end,
                first=first,
                y_plan=np.asarray(y, float),
                ontime=ontime,
                round_s=round_s,
                best_out=best_mult,
            )

        bound, info = rounds(start, deadline - cap_keep, bound, round_est)
        stats.update(info)
        stats["price_rounds_s"] = time.perf_counter() - t2
        target = obj - params.relative_gap * abs(obj)
        if use_cap and bound < target and deadline - time.perf_counter() > 0:
            say("tightening the bound with the throughput capacities kept")
            W = len(data.warehouses)
            m0 = best_mult[0] if best_mult else start
            if m0 is None:
                m0 = Multipliers(storage=np.zeros(W), throughput=np.zeros(W))
            t3 = time.perf_counter()
            no_thr = replace(m0, throughput=np.zeros(W))
            keys = lane_keys_of(data)
            items_c = [(b, it[1], it[2], no_thr, None, keys) for b, it in enumerate(items)]
            parts_c = runner.map(_block_costs, shared, items_c, deadline=deadline)
            if all(pc_ is not None for pc_ in parts_c):
                cap_b = joint_capacity_bound(
                    data,
                    parts_c,
                    deadline,
                    mu0=np.asarray(m0.throughput, float),
                    y_start=np.asarray(y, float),
                    target=target,
                )
                stats["capacity_bound"] = cap_b.bound
                stats["capacity_iterations"] = cap_b.iterations
                stats["capacity_cross_check"] = cap_b.cross_check
                # for diagnosis: the relaxation's best warehouse set at these prices, its value
                # and how many warehouses it opens or closes against the plan's
                stats["capacity_best_value"] = cap_b.best_value
                stats["capacity_y_changes"] = int(
                    np.sum(np.round(cap_b.best_y) != np.round(np.asarray(y, float)))
                )
                if cap_b.bound > bound:
                    bound = cap_b.bound
                    stats["bound_from"] = "capacity"
            stats["capacity_s"] = time.perf_counter() - t3
            if stats.get("capacity_y_changes") and bound < target:
                # 7. the relaxation's best warehouse set, if it differs from the plan's: the
                # blocks' fixed-warehouse LPs again on it, kept when the plan is cheaper
                y_cap = np.where(data.wh_usable, np.round(np.asarray(cap_b.best_y, float)), 0.0)
                y_cap = np.maximum(y_cap, data.wh_kept_open.astype(float))
                t5 = time.perf_counter()
                first_s = float(stats.get("blocks_s", math.inf))
                if deadline - t5 > REPLAN_MARGIN * first_s:
                    say("the blocks again on the capacitated bound's warehouses")
                    again = replan_blocks(runner, shared, items, y_cap, deadline)
                    stats["capacity_replan_s"] = time.perf_counter() - t5
                    if again is not None:
                        c2, s2 = again
                        cost2 = cost_terms(data, c2, s2)
                        obj2 = float(sum(cost2.values()))
                        stats["capacity_replan_first"] = obj
                        stats["capacity_replan_objective"] = obj2
                        keep = keep_replan(data, (cols, sol, obj), (c2, s2, obj2), ontime)
                        stats["capacity_replan_kept"] = keep
                        if keep:
                            notes.append(
                                f"the capacitated bound's warehouse set ({int(y_cap.sum())} "
                                f"open) re-planned the blocks: {obj:,.2f} -> {obj2:,.2f}"
                            )
                            cols, sol, cost, obj, y = c2, s2, cost2, obj2, y_cap
                            target = obj - params.relative_gap * abs(obj)
                else:
                    stats["capacity_replan_s"] = 0.0
            # the capacitated bound converged early (its relaxation is no tighter at these
            # prices): the time it leaves goes to more price rounds from the best prices
            n_r = stats.get("price_rounds", 0)
            last_round = stats["price_rounds_s"] / n_r if n_r else round_est
            if bound < target and deadline - time.perf_counter() > 2.0 * last_round:
                t4 = time.perf_counter()
                bound, info2 = rounds(m0, deadline, bound, last_round)
                stats["price_rounds_after_capacity"] = info2["price_rounds"]
                stats["price_rounds_after_capacity_s"] = time.perf_counter() - t4
                if "joint_bound" in info2:
                    stats["joint_bound_after_capacity"] = info2["joint_bound"]
    stats["block_bound"] = bound
    stats["blocks_without_plan"] = missing
    if missing:
        notes.append(
            f"{missing} block(s) gave no optimised plan in time: their naive plan, moved off "
            "full warehouses, is used"
        )
    gap_ok = math.isfinite(bound) and obj - bound <= params.relative_gap * abs(obj)
    res = AllocationResult(
        status=Status.OPTIMAL if gap_ok else Status.FEASIBLE,
        objective=obj,
        bound=min(bound, obj) if math.isfinite(bound) else -math.inf,
        runtime_s=time.perf_counter() - t0,
        cost=cost,
        columns=cols,
        solution=sol,
        stats=SolveStats.from_mapping(stats),
        notes=tuple(notes),
    )
    return res, (ncols, nsol, hsol)
