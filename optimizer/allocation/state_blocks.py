"""Tonight's state on SKU blocks: a large catalogue (tiers L and XL) with inventory, transfers,
returns or a previous plan (format v1.1).

The state paths of :mod:`optimizer.plan.planning` solve one LP over every option at the chosen
warehouses; on tier L that is 18 million columns and about 25 GB, more than a nightly machine
has (benchmarks/README.md, "Tonight's state on a tier-L catalogue"). Every v1.1 term belongs to
one SKU (a lot, its uses and transfers; a return of a demand pair; a previous stocking level),
so the model is separable by SKU but for the warehouses and the capacities the SKUs share, as
without state (:mod:`optimizer.allocation.blocks`):

1. **Warehouses.** Last night's (the previous plan's open warehouses) when there is a previous
   plan that opens any; else those the caller gives (:func:`optimizer.plan.planning.
   plan_scenario` gives the naive floor's: where tonight's stock is and the nearest on-time
   ones), else those of the SKU-family aggregate of the network without state
   (:func:`optimizer.allocation.blocks.family_warehouses`), in :data:`AGGREGATE_SHARE` of the
   time. On tier L with tonight's stock (benchmarks/README.md, "Tonight's state on SKU
   blocks") the floor's 31 warehouses gave 14,294,326.84 and the aggregate's 23 (chosen
   without the stock) 14,979,461.63, above the floor itself (14,720,946.00). They stay fixed:
   there is no bound of the model with state, and the status is at best ``feasible`` (as on
   the monolithic state path, ``_solve_state_on_decomposed``).
2. **Blocks.** The SKUs are dealt into the SKU blocks of the block path
   (:func:`~optimizer.allocation.blocks.sku_block_of`); a block's scenario
   (:func:`state_block_data`) has its SKUs' demand rows, lots and previous stocking levels and
   a share of every shared capacity. Storage: the volume of the block's own lots there tonight
   plus its demand-volume share of the room the lots leave, so that each block can keep its
   lots and the shares add up to the warehouse's shelf capacity
   (:func:`~optimizer.allocation.state.shelf_capacity`); throughput and lane capacities: what
   the caller's floor uses for the block's SKUs plus the block's demand share of what the
   floor leaves free (:func:`floor_caps`; without a floor, the demand shares of
   :func:`~optimizer.allocation.blocks.block_data`), so that a block's floor rows fit its own
   capacities (step 3). With the warehouses fixed, a
   block's flows, transfers, returns and stocking levels are its fixed-warehouse LP
   (:func:`~optimizer.allocation.decompose.fixed_y_lp`) on every inbound option and the
   :data:`~optimizer.allocation.blocks.BLOCK_MAX_OUTBOUND` cheapest outbound options per demand
   pair and on-time class, stocking levels rounded up inside a storage margin. Restricting the
   inbound options as the block path without state does kept the state path from returning to
   last night's stocking levels (``_solve_state_on_decomposed``'s docstring), so they all stay.
3. **Assembly.** The block plans, on disjoint SKUs, are joined into one plan over the whole
   network (:func:`concat_state`); since the shares add up to the capacities, it keeps every
   shared capacity. A block that gives no plan by the deadline takes the caller's floor's
   rows for its SKUs (:func:`plan_part`) and the warehouses they use; those rows fit the
   block's throughput and lane capacities (:func:`floor_caps`), not necessarily its storage
   share, so the caller (:func:`optimizer.plan.planning.plan_scenario`) keeps the mix only
   when it keeps every capacity and the on-time targets and costs less than the floor.

Blocks run on an executor (:mod:`optimizer.executor`): the network goes to each worker once,
each task carries its block's demand rows and SKUs.
"""

from __future__ import annotations

import contextlib
import math
import time
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import numpy.typing as npt

from network.compile import LaneDim, NetworkData
from optimizer.allocation.baseline import lane_loads
from optimizer.allocation.blocks import (
    AGGREGATE_SHARE,
    BLOCK_MAX_OUTBOUND,
    BLOCK_SKUS,
    block_data,
    block_shares,
    concat,
    family_warehouses,
    sku_block_of,
)
from optimizer.allocation.columns import (
    E_FIELDS,
    F_FIELDS,
    Q_FIELDS,
    R_FIELDS,
    X_FIELDS,
    Columns,
    build_columns,
    cost_terms,
    drop_closed,
)
from optimizer.allocation.decompose import fixed_y_lp, restrict_outbound
from optimizer.allocation.model import default_targets
from optimizer.allocation.params import AllocationParams
from optimizer.allocation.result import AllocationResult, Solution, SolveStats, Status
from optimizer.allocation.state import lot_shelf_m3, tonight_m3
from optimizer.executor import make_executor
from optimizer.progress import PhaseReport, quiet

__all__ = [
    "BlockCaps",
    "StateBlock",
    "concat_state",
    "floor_caps",
    "plan_part",
    "solve_state_blocks",
    "state_block_data",
    "state_blocks",
]

F = npt.NDArray[np.float64]
I = npt.NDArray[np.int64]
B = npt.NDArray[np.bool_]


@dataclass(frozen=True, slots=True)
class StateBlock:
    """One block of SKUs: its demand rows, its SKUs (a mask over ``data.skus``) and its lots
    (indices into ``data.inv_*``, in that order)."""

    rows: I
    skus: B
    lots: I


def state_blocks(data: NetworkData, block_skus: int | None = None) -> list[StateBlock]:
    """The SKU blocks of the block path, each with its lots; every SKU is in one block (those
    without demand too: their lots and previous stocking levels must be planned somewhere).
    A block with neither demand, lots nor previous levels is left out."""
    blk = sku_block_of(data, block_skus or BLOCK_SKUS)
    nb = int(blk.max()) + 1 if len(blk) else 0
    row_blk = blk[data.dem_sku]
    lot_blk = blk[data.inv_sku]
    prev_blk = blk[data.prev_sku] if data.prev_sku is not None else np.zeros(0, np.int64)
    out = []
    for b in range(nb):
        skus = blk == b
        rows = np.flatnonzero(row_blk == b).astype(np.int64)
        lots = np.flatnonzero(lot_blk == b).astype(np.int64)
        if len(rows) or len(lots) or np.any(prev_blk == b):
            out.append(StateBlock(rows, skus, lots))
    return out


def state_block_data(
    data: NetworkData, block: StateBlock, caps: BlockCaps | None = None
) -> NetworkData:
    """The scenario of one block (module docstring, step 2): its demand rows, lots and previous
    stocking levels, and its share of the shared capacities (throughput and lanes: ``caps``
    when given, :func:`floor_caps`; else the block's demand shares)."""
    db = block_data(data, block.rows)
    if caps is not None:
        db = replace(
            db,
            wh_throughput_per_day=caps.throughput,
            lane_cap_kg=caps.lanes[:, LaneDim.KG],
            lane_cap_m3=caps.lanes[:, LaneDim.M3],
            lane_cap_units=caps.lanes[:, LaneDim.UNITS],
        )
    W = len(data.warehouses)
    v = lot_shelf_m3(data)[block.lots] * data.inv_units[block.lots]
    mine = np.bincount(data.inv_wh[block.lots], weights=v, minlength=W)
    # the room tonight's lots leave, this block's share of it (unlimited stays unlimited)
    room = np.maximum(data.wh_storage_m3 - tonight_m3(data), 0.0)
    finite = np.isfinite(room)
    room[finite] *= block_shares(data, block.rows)["m3"]
    ch: dict[str, Any] = {
        "wh_storage_m3": (mine + room).astype(np.float64),
        "inv_sku": data.inv_sku[block.lots],
        "inv_wh": data.inv_wh[block.lots],
        "inv_units": data.inv_units[block.lots],
        "inv_day": data.inv_day[block.lots],
        "inv_transit": data.inv_transit[block.lots],
    }
    if data.prev_sku is not None and data.prev_wh is not None and data.prev_units is not None:
        keep = block.skus[data.prev_sku]
        ch.update(
            prev_sku=data.prev_sku[keep],
            prev_wh=data.prev_wh[keep],
            prev_units=data.prev_units[keep],
        )
    return replace(db, **ch)


def concat_state(
    parts: list[tuple[Columns, Solution]], lots: list[I], n_lots: int, y: F
) -> tuple[Columns, Solution]:
    """One plan from block plans on disjoint SKUs, with their v1.1 blocks (``lots[i]``: the
    global index of each of part ``i``'s lots; ``n_lots``: the network's lot count).

    The blocks without state are joined by :func:`optimizer.allocation.blocks.concat`; the
    state blocks' indices are shifted the same way (demand pairs, (SKU, warehouse) pairs) or
    mapped to the network's lots, and the per-lot arrays are put in the network's lot order.
    """
    cols, sol = concat(parts, y)
    p_off = np.cumsum([0] + [len(c.p_dem) for c, _ in parts])
    kw_off = np.cumsum([0] + [len(c.kw_sku) for c, _ in parts])
    # index arrays shifted past the earlier parts' demand pairs or (SKU, warehouse) pairs;
    # lots mapped to the network's; every other array joined as it is
    off = {"r_pair": p_off, "o_pair": p_off, "e_kw": kw_off, "r_kw": kw_off, "sp_kw": kw_off}
    names = (*E_FIELDS, *R_FIELDS, "o_pair", "o_cost", "sp_kw", "sp_cost", "p_rate", "p_resell")
    ch: dict[str, Any] = {}
    for name in (*names, "kw_prev", "kw_hold"):
        arrs = [getattr(c, name) for c, _ in parts]
        if name in off:
            arrs = [a + off[name][i] for i, a in enumerate(arrs)]
        elif name == "e_lot":
            arrs = [lots[i][a] for i, a in enumerate(arrs)]
        ch[name] = np.concatenate(arrs)
    lot_hold = np.zeros(n_lots)
    lo = np.zeros(n_lots)
    for i, (c, s) in enumerate(parts):
        if len(c.lot_hold) != len(lots[i]):
            raise ValueError(f"block {i}: {len(c.lot_hold)} lots in its columns, {len(lots[i])}")
        lot_hold[lots[i]] = c.lot_hold
        if len(s.lo):
            lo[lots[i]] = s.lo
    ch["lot_hold"] = lot_hold
    state = {
        name: np.concatenate([getattr(s, name) for _, s in parts]) for name in ("e", "r", "o", "sp")
    }
    return replace(cols, **ch), replace(sol, lo=lo, **state)


@dataclass(frozen=True, slots=True)
class BlockCaps:
    """One block's share of the warehouses' throughput (units a day, per warehouse) and of
    the lanes' capacities (per day, shape ``(lanes, 3)`` in :class:`LaneDim` order)."""

    throughput: F
    lanes: F


def _split(cap: F, use: F, share: F) -> F:
    """Per block (axis 0), its use of each capacity plus its ``share`` of what the blocks'
    uses leave (or, where they break it, its use scaled down): the parts add up to ``cap``,
    unlimited stays unlimited."""
    finite = np.isfinite(cap)
    c = np.where(finite, cap, 0.0)
    total = use.sum(axis=0)
    over = c * use / np.where(total > 0, total, 1.0)
    out = np.where(total > c, over, use + share * np.maximum(c - total, 0.0))
    return np.where(finite, out, np.inf)


def floor_caps(
    data: NetworkData, cols: Columns, sol: Solution, blocks: list[StateBlock]
) -> list[BlockCaps]:
    """Each block's throughput and lane capacities from a whole-network plan (the floor):
    what the plan's rows of its SKUs use, plus its demand share of what the plan leaves free.

    Since a block's floor rows (:func:`plan_part`) fit its own capacities, any join of
    blocks' plans and the other blocks' floor rows keeps every throughput and lane capacity
    the floor keeps; with demand shares alone (:func:`~optimizer.allocation.blocks.
    block_data`) the blocks that answer fill the warehouses the floor needs for the others
    (tier L at 300 s: six blocks joined with the floor's rows of four broke the throughput of
    the binding warehouses). Storage stays :func:`state_block_data`'s (own lots plus a share
    of the room)."""
    B, W = len(blocks), len(data.warehouses)
    H = float(data.horizon_days)
    blk = np.zeros(len(data.skus), np.int64)
    for b, block in enumerate(blocks):
        blk[block.skus] = b
    shares = np.array(
        [[block_shares(data, block.rows)[k] for k in ("kg", "m3", "units")] for block in blocks]
    ).reshape(B, 3)
    xb = blk[cols.p_sku[cols.x_pair]]
    thr = np.bincount(xb * W + cols.x_wh, weights=sol.x, minlength=B * W).reshape(B, W) / H
    lane = lane_loads(data, cols, sol, blk, B)
    thr_caps = _split(
        np.asarray(data.wh_throughput_per_day, float), thr, shares[:, LaneDim.UNITS, None]
    )
    lane_caps = _split(data.lane_caps, lane, shares[:, None, :])
    return [BlockCaps(thr_caps[b], lane_caps[b]) for b in range(B)]


def plan_part(
    data: NetworkData, cols: Columns, sol: Solution, block: StateBlock
) -> tuple[Columns, Solution]:
    """The rows of a whole-network plan (``cols``, ``sol``: the floor's) that belong to the
    block's SKUs, numbered as a block's plan is (its own demand pairs, (SKU, warehouse) pairs
    and lots, in ``block.lots``' order), for :func:`concat_state`. Cutting a plan into every
    block and joining the parts gives the same plan at the same cost."""
    pm = block.skus[cols.p_sku]
    km = block.skus[cols.kw_sku]
    new_p = np.cumsum(pm) - 1
    new_kw = np.cumsum(km) - 1
    new_lot = np.full(len(cols.lot_hold), -1, np.int64)
    new_lot[block.lots] = np.arange(len(block.lots))
    lm = new_lot >= 0
    masks = {
        X_FIELDS: pm[cols.x_pair],
        Q_FIELDS: pm[cols.q_pair],
        F_FIELDS: block.skus[cols.f_sku],
        E_FIELDS: lm[cols.e_lot],
        R_FIELDS: pm[cols.r_pair],
        ("o_pair", "o_cost"): pm[cols.o_pair],
        ("sp_kw", "sp_cost"): km[cols.sp_kw],
    }
    ch: dict[str, Any] = {}
    for names, keep in masks.items():
        ch.update({n: getattr(cols, n)[keep] for n in names})
    for name, new in (
        ("x_pair", new_p),
        ("q_pair", new_p),
        ("r_pair", new_p),
        ("o_pair", new_p),
        ("x_kw", new_kw),
        ("f_kw", new_kw),
        ("e_kw", new_kw),
        ("r_kw", new_kw),
        ("sp_kw", new_kw),
        ("e_lot", new_lot),
    ):
        ch[name] = new[ch[name]].astype(ch[name].dtype)
    for names, keep in ((("p_sku", "p_zone", "p_dem"), pm), (("kw_sku", "kw_wh"), km)):
        ch.update({n: getattr(cols, n)[keep] for n in names})
    for name, keep in (("p_rate", pm), ("p_resell", pm), ("kw_prev", km), ("kw_hold", km)):
        a = getattr(cols, name)
        ch[name] = a[keep] if len(a) == len(keep) else a
    ch["lot_hold"] = cols.lot_hold[block.lots]
    part = Solution(
        y=sol.y,
        x=sol.x[masks[X_FIELDS]],
        q=sol.q[masks[Q_FIELDS]],
        u=sol.u[pm],
        f=sol.f[masks[F_FIELDS]],
        stock=sol.stock[km],
        e=sol.e[masks[E_FIELDS]],
        lo=sol.lo[block.lots] if len(sol.lo) else sol.lo,
        r=sol.r[masks[R_FIELDS]],
        o=sol.o[masks[("o_pair", "o_cost")]],
        sp=sol.sp[masks[("sp_kw", "sp_cost")]],
    )
    return replace(cols, **ch), part


def _state_block(shared: tuple[NetworkData, AllocationParams, F], item: tuple[Any, ...]) -> Any:
    """One block's fixed-warehouse LP with its state (module docstring, step 2); runs in a
    worker. Returns ``(columns used, solution, seconds, note)``; no solution is ``None``."""
    data, params, y = shared
    b, block, wall_deadline, caps = item
    t0 = time.perf_counter()
    deadline = t0 + (wall_deadline - time.time())
    db = state_block_data(data, block, caps)
    cols = restrict_outbound(drop_closed(build_columns(db), y), BLOCK_MAX_OUTBOUND)
    note = ""
    sol: Solution | None = None
    try:
        sol, _obj, _s, cols = fixed_y_lp(
            db, cols, y, params, default_targets(db, cols), deadline, None
        )
    except Exception as e:  # the caller keeps its floor, and says why
        note = f"block {b}: fixed-warehouse LP failed ({type(e).__name__}: {e})"
    if sol is None and not note:
        note = f"block {b}: no plan from its fixed-warehouse LP by the deadline"
    return cols, sol, time.perf_counter() - t0, note


def _used_warehouses(parts: list[tuple[Columns, Solution]], W: int) -> F:
    """1 at each warehouse the plans' rows ship from, replenish, stock, use lots at or take
    returns at."""
    used = np.zeros(W)
    for c, s_ in parts:
        for wh, v in ((c.x_wh, s_.x), (c.f_wh, s_.f), (c.kw_wh, s_.stock), (c.e_wh, s_.e)):
            used[wh[v > 0]] = 1.0
        used[c.r_wh[s_.r > 0]] = 1.0
    return used


def _warehouses(
    data: NetworkData,
    params: AllocationParams,
    deadline: float,
    say: PhaseReport,
    fallback: tuple[F, str] | None = None,
) -> tuple[F, str]:
    """Step 1: the warehouses the blocks plan on, and how they were chosen."""
    if data.prev_open is not None and np.any(np.asarray(data.prev_open) > 0.5):
        return np.asarray(data.prev_open, float), "last night's warehouses (the previous plan's)"
    if fallback is not None:
        return np.asarray(fallback[0], float), fallback[1]
    say("deciding warehouses on the SKU families of the network without tonight's state")
    y, _aggregate = family_warehouses(data.without_state(), params, deadline)
    return y, "warehouses decided on the SKU families of the network without tonight's state"


def solve_state_blocks(
    data: NetworkData,
    params: AllocationParams,
    *,
    deadline: float,
    runner: Any = None,
    block_skus: int | None = None,
    on_phase: PhaseReport | None = None,
    warehouses: tuple[F, str] | None = None,
    floor: tuple[Columns, Solution] | None = None,
) -> tuple[AllocationResult | None, tuple[str, ...]]:
    """Tonight's state on SKU blocks (module docstring): the assembled plan (status
    ``feasible``, bound ``-inf``, on the blocks' used columns) and the notes. ``warehouses``:
    the set (and how it was chosen, for the notes) to plan on when there is no previous plan
    that opens any, instead of the SKU-family aggregate's.

    A block without a plan by the deadline (or whose LP failed) takes the rows of ``floor``
    (a whole-network plan, the caller's naive floor) for its SKUs (:func:`plan_part`), with
    the warehouses those rows use; the result's ``stats.extra["floor_blocks"]`` counts them
    and the notes name them. With a ``floor`` each block's throughput and lane capacities come
    from it (:func:`floor_caps`), so its floor rows fit them; storage can still break (the
    floor's rows are not held to the block's storage share): the caller checks the mix.
    ``None`` for the plan when no block answered, or when one did not and there is no
    ``floor``."""
    say = on_phase or quiet
    t0 = time.perf_counter()
    blocks = state_blocks(data, block_skus)
    y, how = _warehouses(
        data, params, t0 + AGGREGATE_SHARE * max(0.0, deadline - t0), say, warehouses
    )
    own = runner is None
    if own:
        runner = make_executor()
    stats: dict[str, Any] = {"blocks": len(blocks), "warehouse_choice_s": time.perf_counter() - t0}
    wall = time.time() + (deadline - time.perf_counter())
    caps: list[BlockCaps | None] = [None] * len(blocks)
    if floor is not None:
        caps = list(floor_caps(data, floor[0], floor[1], blocks))
        stats["floor_caps_s"] = time.perf_counter() - t0 - stats["warehouse_choice_s"]
    items = [(b, blk, wall, caps[b]) for b, blk in enumerate(blocks)]
    say(f"tonight's state on {len(blocks)} SKU blocks on {runner.workers} {runner.kind} worker(s)")
    t1 = time.perf_counter()
    try:
        out = runner.map(_state_block, (data, params, y), items, deadline=deadline)
    finally:
        if own:
            with contextlib.suppress(Exception):
                runner.close()
    stats["blocks_s"] = time.perf_counter() - t1
    head = (
        f"SKU-block path with tonight's state ({len(data.skus)} SKUs): {how}, then flows, "
        f"stock, transfers and returns in {len(blocks)} blocks of about "
        f"{block_skus or BLOCK_SKUS} SKUs on {runner.workers} {runner.kind} worker(s), each "
        "with its lots, its share of the shared capacities and of the on-time targets; no "
        "lower bound of the model with state is proven"
    )
    notes = [head]
    notes.extend(r[3] for r in out if r is not None and r[3])
    late = [b for b, r in enumerate(out) if r is None]
    if late:
        notes.append(
            f"{len(late)} of the {len(blocks)} blocks gave no plan by the deadline "
            f"(block {', '.join(map(str, late[:10]))}{' …' if len(late) > 10 else ''})"
        )
    missing = [b for b, r in enumerate(out) if r is None or r[1] is None]
    if len(missing) == len(out) or (missing and floor is None):
        return None, tuple(notes)
    t2 = time.perf_counter()
    parts: list[tuple[Columns, Solution]] = []
    for b, r in enumerate(out):
        if r is None or r[1] is None:
            assert floor is not None
            parts.append(plan_part(data, floor[0], floor[1], blocks[b]))
        else:
            parts.append((r[0], r[1]))
    if missing:
        y = np.maximum(y, _used_warehouses([parts[b] for b in missing], len(y)))
        stats["floor_blocks"] = len(missing)
        notes.append(
            f"{len(missing)} of the {len(blocks)} blocks (block "
            f"{', '.join(map(str, missing[:10]))}{' …' if len(missing) > 10 else ''}) keep the "
            "naive floor's rows for their SKUs, and the warehouses those rows use"
        )
    parts = [(c, replace(s_, y=y)) for c, s_ in parts]
    cols, sol = concat_state(parts, [blk.lots for blk in blocks], len(data.inv_sku), y)
    cost = cost_terms(data, cols, sol)
    stats["assemble_s"] = time.perf_counter() - t2
    res = AllocationResult(
        status=Status.FEASIBLE,
        objective=float(sum(cost.values())),
        bound=-math.inf,
        runtime_s=time.perf_counter() - t0,
        cost=cost,
        columns=cols,
        solution=sol,
        stats=SolveStats.from_mapping(stats),
        notes=tuple(notes),
    )
    return res, tuple(notes)
