"""The allocation MIP in matrix form (see :mod:`optimizer.allocation` for the formulation)."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt
import scipy.sparse as sp

from network.compile import LaneDim, NetworkData, PathOptions
from optimizer.allocation.columns import (
    Columns,
    build_columns,
    dense_group,
    expand_counts,
    stock_levels,
)
from optimizer.allocation.params import AllocationParams
from optimizer.allocation.result import Solution
from optimizer.allocation.state import lot_shelf_m3, shelf_capacity, tonight_m3
from optimizer.exceptions import InvalidNetworkError

log = logging.getLogger(__name__)

F = npt.NDArray[np.float64]
I = npt.NDArray[np.int64]
B = npt.NDArray[np.bool_]


@dataclass(frozen=True, slots=True)
class AllocationModel:
    """The MIP in matrix form: ``min c·v  s.t.  row_lb ≤ A v ≤ row_ub,  lb ≤ v ≤ ub``.

    ``off`` maps block name (``y x q u f S``) to its first column; ``s_kw`` lists the
    (SKU, warehouse) pair of each modelled stocking level; ``rows`` maps row-block name to its
    ``(start, stop)``; ``targets`` the on-time unit targets used (``"all"`` and countries).
    """

    columns: Columns
    c: F
    lb: F
    ub: F
    integer: I
    A: sp.csr_matrix
    row_lb: F
    row_ub: F
    off: dict[str, int]
    s_kw: I
    rows: dict[str, tuple[int, int]]
    targets: dict[str, float]
    build_seconds: float
    lane_keys: I = field(default_factory=lambda: np.zeros(0, dtype=np.int64))

    @property
    def n_vars(self) -> int:
        """Number of columns."""
        return len(self.c)

    @property
    def n_rows(self) -> int:
        """Number of rows."""
        return int(self.A.shape[0])


def lane_key(lane: I, dim: LaneDim | I) -> I:
    """The sortable key of a lane capacity row: ``lane × len(LaneDim) + dim``.

    Keys order rows by lane, then dimension; :func:`split_lane_key` inverts it. They are used
    as row ids (``np.unique``/``np.searchsorted``) and as Lagrange multiplier ids.
    """
    return np.asarray(lane, dtype=np.int64) * len(LaneDim) + np.asarray(dim, dtype=np.int64)


def split_lane_key(key: I) -> tuple[I, I]:
    """``(lane, dim)`` of lane keys (see :func:`lane_key`); ``dim`` indexes ``LaneDim``."""
    lane, dim = np.divmod(np.asarray(key, dtype=np.int64), len(LaneDim))
    return lane, dim


def lane_key_caps(data: NetworkData, key: I) -> F:
    """The per-day capacity of each lane key's row."""
    lane, dim = split_lane_key(key)
    return data.lane_caps[lane, dim]


def lane_rows(
    data: NetworkData, opts: PathOptions, col_opt: I, col_sku: I, col0: int
) -> tuple[list[I], list[I], list[F]]:
    """Entries ``(lane key, column, coefficient)`` for capacitated lanes (:func:`lane_key`).

    A negative option index (a column on no lane: the lower bound's stand-ins for tonight's
    inventory, :mod:`optimizer.allocation.state_bound`) has no entry."""
    if len(col_opt) == 0 or len(opts.lane_idx) == 0:
        return [], [], []
    counts = np.where(col_opt >= 0, np.diff(opts.lane_ptr)[np.maximum(col_opt, 0)], 0)
    parent, rank = expand_counts(counts)
    lane = opts.lane_idx[opts.lane_ptr[col_opt][parent] + rank]
    keys, cols, vals = [], [], []
    for d, attr in (
        (LaneDim.KG, data.sku.weight_kg),
        (LaneDim.M3, data.sku.volume_m3),
        (LaneDim.UNITS, None),
    ):
        hit = np.isfinite(data.lane_caps[lane, d])
        if not hit.any():
            continue
        par = parent[hit]
        keys.append(lane_key(lane[hit], d))
        cols.append(col0 + par)
        vals.append(np.ones(len(par)) if attr is None else attr[col_sku[par]].astype(float))
    return keys, cols, vals


@dataclass(slots=True)
class RowBlocks:
    """The constraint rows of a model being built: blocks of (row, column, value) triplets with
    their row bounds, each block named (``rows`` maps a name to its row range)."""

    rr: list[I] = field(default_factory=list)
    cc: list[I] = field(default_factory=list)
    vv: list[F] = field(default_factory=list)
    rlb: list[F] = field(default_factory=list)
    rub: list[F] = field(default_factory=list)
    rows: dict[str, tuple[int, int]] = field(default_factory=dict)
    n: int = 0

    def block(self, name: str, r: I, col: I, val: F, lo: F, hi: F) -> None:
        """Append rows ``lo ≤ Σ val·x[col] ≤ hi`` (``r`` numbers them from 0 in the block).

        Raises
        ------
        ValueError
            If a row number is outside the block (it would land in another block's row).
        """
        r = np.asarray(r, dtype=np.int64)  # r may be a narrow index array
        if len(r) and (int(r.min()) < 0 or int(r.max()) >= len(lo)):
            raise ValueError(
                f"row block {name!r}: row numbers {int(r.min())}..{int(r.max())} outside "
                f"0..{len(lo) - 1}"
            )
        self.rr.append(self.n + r)
        self.cc.append(col)
        self.vv.append(val)
        self.rlb.append(lo)
        self.rub.append(hi)
        self.rows[name] = (self.n, self.n + len(lo))
        self.n += len(lo)

    def matrix(self, n_cols: int) -> sp.csr_matrix:
        """The rows as one CSR matrix (duplicate entries summed)."""
        A = sp.csr_matrix(
            (np.concatenate(self.vv), (np.concatenate(self.rr), np.concatenate(self.cc))),
            shape=(self.n, n_cols),
        )
        A.sum_duplicates()
        return A


def _layout(data: NetworkData, cols: Columns) -> tuple[dict[str, int], int, I]:
    """Column offsets of every variable block (``off``), the number of columns, and the
    (SKU, warehouse) pairs with a stocking-level variable ``S``."""
    W = len(data.warehouses)
    P = len(cols.p_dem)
    nx_, nq, nf, nkw = len(cols.x_pair), len(cols.q_pair), len(cols.f_sku), len(cols.kw_sku)
    s_mask = np.isfinite(data.wh_storage_m3)[cols.kw_wh]
    if cols.has_previous:
        s_mask[:] = True  # stability needs every stocking level
    s_kw = np.flatnonzero(s_mask).astype(np.int64)
    ns = len(s_kw)
    ne, nlot, nr, no, nsp = (
        len(cols.e_lot),
        len(cols.lot_hold),
        len(cols.r_pair),
        len(cols.o_pair),
        len(cols.sp_kw),
    )
    nd = nkw if cols.has_previous else 0
    nch = W if cols.has_previous else 0
    off = {
        "y": 0,
        "x": W,
        "q": W + nx_,
        "u": W + nx_ + nq,
        "f": W + nx_ + nq + P,
        "S": W + nx_ + nq + P + nf,
    }
    # format v1.1 blocks follow (empty without state)
    for name, size in (
        ("e", ns),
        ("lo", ne),
        ("r", nlot),
        ("o", nr),
        ("sp", no),
        ("d", nsp),
        ("ch", nd),
        ("end", nch),
    ):
        off[name] = off[list(off)[-1]] + size
    n = off.pop("end")

    return off, n, s_kw


@dataclass(frozen=True, slots=True)
class _Bounds:
    """Costs, column bounds and integer columns of a model; ``y_lb``/``y_ub`` the warehouse
    bounds and ``s_ub`` the stocking levels' upper bounds."""

    c: F
    lb: F
    ub: F
    integer: I
    y_lb: F
    y_ub: F
    s_ub: F


def _bounds(
    data: NetworkData,
    cols: Columns,
    off: dict[str, int],
    n: int,
    s_kw: I,
    y_fixed: F | None,
    integer_stock: bool,
) -> _Bounds:
    """Objective coefficients and bounds of every column; flows at unusable warehouses are
    fixed to 0."""
    W = len(data.warehouses)
    P = len(cols.p_dem)
    nx_, nf, nkw = len(cols.x_pair), len(cols.f_sku), len(cols.kw_sku)
    ns, ne, nr, nsp = len(s_kw), len(cols.e_lot), len(cols.r_pair), len(cols.sp_kw)
    nd = nkw if cols.has_previous else 0
    nch = W if cols.has_previous else 0
    y_lb = data.wh_kept_open.astype(float)
    y_ub = data.wh_usable.astype(float)
    if y_fixed is not None:
        yf = np.asarray(y_fixed, dtype=float)
        if yf.shape != (W,):
            raise InvalidNetworkError(f"y_fixed has shape {yf.shape}, expected ({W},)")
        y_lb = y_ub = np.clip(np.round(yf), y_lb, y_ub)
    kw_dem = np.zeros(nkw)
    np.add.at(kw_dem, cols.x_kw, cols.p_dem[cols.x_pair])
    s_ub = (
        np.ceil(
            kw_dem[s_kw] * (np.bincount(cols.f_kw, weights=cols.f_coef, minlength=nkw)[s_kw] + 1.0)
        )
        + 1.0
    )
    f_ub = kw_dem[cols.f_kw]
    if cols.has_previous:
        s_ub = np.maximum(s_ub, np.ceil(cols.kw_prev[s_kw]) + 1.0)
    lot_units = data.inv_units
    ret_ub = cols.p_rate * cols.p_dem
    c = np.concatenate(
        [
            data.wh_fixed_cost,
            cols.x_cost(),
            cols.q_cost(),
            np.full(P, cols.lost_penalty),
            cols.f_cost(),
            cols.kw_hold[s_kw] if cols.has_previous else np.zeros(ns),
            cols.e_lane + cols.e_duty,
            cols.lot_hold,
            cols.r_lane + cols.r_handling,
            cols.o_cost,
            cols.sp_cost,
            np.full(nd, cols.stability_penalty),
            data.wh_fixed_cost if nch else np.zeros(0),
        ]
    )
    lb = np.concatenate([y_lb, np.zeros(n - W)])
    ub = np.concatenate(
        [
            y_ub,
            cols.p_dem[cols.x_pair],
            cols.p_dem[cols.q_pair],
            cols.p_dem,
            f_ub,
            s_ub,
            lot_units[cols.e_lot],
            lot_units,
            ret_ub[cols.r_pair],
            ret_ub[cols.o_pair],
            np.full(nsp, np.inf),
            np.full(nd, np.inf),
            np.ones(nch),
        ]
    )
    # warehouses that cannot be used (closed, or fixed to 0): their flows are fixed to 0
    shut = y_ub == 0
    ub[off["x"] : off["x"] + nx_][shut[cols.x_wh]] = 0.0
    ub[off["f"] : off["f"] + nf][shut[cols.f_wh]] = 0.0
    ub[off["e"] : off["e"] + ne][shut[cols.e_wh]] = 0.0
    ub[off["r"] : off["r"] + nr][shut[cols.r_wh]] = 0.0
    ub[off["S"] : off["S"] + ns][shut[cols.kw_wh[s_kw]]] = 0.0
    integer = np.concatenate(
        [np.flatnonzero(y_lb < y_ub), off["S"] + np.arange(ns if integer_stock else 0)]
    ).astype(np.int64)

    return _Bounds(c, lb, ub, integer, y_lb, y_ub, s_ub)


def _capacity_rows(
    rows: RowBlocks,
    data: NetworkData,
    cols: Columns,
    off: dict[str, int],
    s_kw: I,
    bd: _Bounds,
    storage_margin: bool,
) -> None:
    """Rows 3-4: stocking levels, storage, throughput and the strong linking rows."""
    W = len(data.warehouses)
    H = float(data.horizon_days)
    nkw, ns = len(cols.kw_sku), len(s_kw)
    y_lb, y_ub = bd.y_lb, bd.y_ub
    xs = off["x"] + np.arange(len(cols.x_pair))
    fs = off["f"] + np.arange(len(cols.f_sku))
    block = rows.block
    # 3. stocking level: Σ coef·f - S ≤ 0 (finite-storage warehouses only)
    s_row = np.full(nkw, -1, dtype=np.int64)
    s_row[s_kw] = np.arange(ns)
    fsel = s_row[cols.f_kw] >= 0
    block(
        "stock",
        np.concatenate([s_row[cols.f_kw][fsel], np.arange(ns)]),
        np.concatenate([fs[fsel], off["S"] + np.arange(ns)]),
        np.concatenate([cols.f_coef[fsel], -np.ones(ns)]),
        np.full(ns, -np.inf),
        np.zeros(ns),
    )
    # 4a. storage: Σ v·S - storage·y ≤ 0
    st_w = np.flatnonzero(np.isfinite(data.wh_storage_m3) & (y_ub > 0))
    st_row = np.full(W, -1, dtype=np.int64)
    st_row[st_w] = np.arange(len(st_w))
    s_w = cols.kw_wh[s_kw]
    margin = np.zeros(len(st_w))
    if storage_margin:
        per_w = np.zeros(W)
        np.add.at(per_w, s_w, data.sku.volume_m3[cols.kw_sku[s_kw]])
        margin = per_w[st_w]
    # the margin multiplies y so that an unused warehouse stays feasible; levels at a
    # warehouse without a storage row (no finite storage, or fixed closed: a previous plan
    # models every level) take no part
    s_in = np.flatnonzero(st_row[s_w] >= 0)
    block(
        "storage",
        np.concatenate([st_row[s_w[s_in]], np.arange(len(st_w))]),
        np.concatenate([off["S"] + s_in, st_w]),
        np.concatenate(
            [data.sku.volume_m3[cols.kw_sku[s_kw[s_in]]], -(data.wh_storage_m3[st_w] - margin)]
        ),
        np.full(len(st_w), -np.inf),
        np.zeros(len(st_w)),
    )
    if cols.has_state:
        _shelf_rows(rows, data, cols, off, s_kw, st_w, margin)
    # 4b. throughput: Σx - H·throughput·y ≤ 0
    tp_w = np.flatnonzero(np.isfinite(data.wh_throughput_per_day) & (y_ub > 0))
    tp_row = np.full(W, -1, dtype=np.int64)
    tp_row[tp_w] = np.arange(len(tp_w))
    xsel = tp_row[cols.x_wh] >= 0
    block(
        "throughput",
        np.concatenate([tp_row[cols.x_wh][xsel], np.arange(len(tp_w))]),
        np.concatenate([xs[xsel], tp_w]),
        np.concatenate([np.ones(int(xsel.sum())), -H * data.wh_throughput_per_day[tp_w]]),
        np.full(len(tp_w), -np.inf),
        np.zeros(len(tp_w)),
    )
    # 4c. strong linking: Σ_s x[p,w,s] - D_p·y_w ≤ 0 where y is not fixed
    free_y = y_lb < y_ub
    xl = free_y[cols.x_wh]
    if xl.any():
        g = dense_group(cols.x_pair[xl], cols.x_wh[xl])
        ng = int(g.max()) + 1
        gp = np.zeros(ng, dtype=np.int64)
        gw = np.zeros(ng, dtype=np.int64)
        gp[g] = cols.x_pair[xl]
        gw[g] = cols.x_wh[xl]
        block(
            "link",
            np.concatenate([g, np.arange(ng)]),
            np.concatenate([xs[xl], gw]),
            np.concatenate([np.ones(len(g)), -cols.p_dem[gp]]),
            np.full(ng, -np.inf),
            np.zeros(ng),
        )


def _shelf_rows(
    rows: RowBlocks,
    data: NetworkData,
    cols: Columns,
    off: dict[str, int],
    s_kw: I,
    st_w: I,
    margin: F,
) -> None:
    """Row 4a': storage with tonight's stock, at the warehouses of ``st_w`` (those with a
    storage row) that hold lots within the horizon or take returns (surplus columns):
    ``Σ v·S + Σ v·lo + Σ v·sp ≤ cap_w − margin_w`` (``cap_w``:
    :func:`~optimizer.allocation.state.shelf_capacity`; ``margin`` the storage margin of the
    ``st_w`` rows, clipped to ``cap_w − tonight_m3_w`` so that keeping every lot stays feasible).

    No ``y`` term: the storage row (4a) already keeps the levels of an unused warehouse at 0,
    and its lots take space whether it is used or not."""
    W = len(data.warehouses)
    lot_v = lot_shelf_m3(data)
    sp_w = cols.kw_wh[cols.sp_kw]
    has = np.zeros(W, bool)
    has[data.inv_wh[lot_v > 0]] = True
    has[sp_w] = True
    sel = has[st_w]
    wr = st_w[sel]
    if not len(wr):
        return
    row_of = np.full(W, -1, dtype=np.int64)
    row_of[wr] = np.arange(len(wr))
    s_w = cols.kw_wh[s_kw]
    s_in = row_of[s_w] >= 0
    lots = np.flatnonzero((row_of[data.inv_wh] >= 0) & (lot_v > 0))
    sp_in = np.flatnonzero(row_of[sp_w] >= 0)
    cap = shelf_capacity(data)[wr]
    room = np.maximum(cap - tonight_m3(data)[wr], 0.0)
    rows.block(
        "shelf",
        np.concatenate([row_of[s_w[s_in]], row_of[data.inv_wh[lots]], row_of[sp_w[sp_in]]]),
        np.concatenate(
            [off["S"] + np.flatnonzero(s_in), off["lo"] + lots, off["sp"] + sp_in]
        ).astype(np.int64),
        np.concatenate(
            [
                data.sku.volume_m3[cols.kw_sku[s_kw[s_in]]],
                lot_v[lots],
                data.sku.volume_m3[cols.kw_sku[cols.sp_kw[sp_in]]],
            ]
        ).astype(np.float64),
        np.full(len(wr), -np.inf),
        cap - np.minimum(margin[sel], room),
    )


def _lane_capacity_rows(
    rows: RowBlocks, data: NetworkData, cols: Columns, off: dict[str, int]
) -> I:
    """Row 5: lane capacities (kg, m³, units per day × H); the lane keys of the rows."""
    H = float(data.horizon_days)
    block = rows.block
    # 5. lane capacities (kg, m³, units per day × H)
    keys, lcols, lvals = [], [], []
    for opts, col_opt, col_sku, col0 in (
        (data.outbound, cols.x_opt, cols.p_sku[cols.x_pair], off["x"]),
        (data.direct, cols.q_opt, cols.p_sku[cols.q_pair], off["q"]),
        (data.inbound, cols.f_opt, cols.f_sku, off["f"]),
    ):
        k_, c_, v_ = lane_rows(data, opts, col_opt, col_sku, col0)
        keys += k_
        lcols += c_
        lvals += v_
    # transfers use their lane's capacity too (v1.1)
    tsel = np.flatnonzero(cols.e_topt >= 0)
    if len(tsel) and data.transfer is not None:
        k_, c_, v_ = lane_rows(
            data, data.transfer, cols.e_topt[tsel], data.inv_sku[cols.e_lot[tsel]], 0
        )
        keys += k_
        lcols += [off["e"] + tsel[c] for c in c_]
        lvals += v_
    if keys:
        kk = np.concatenate(keys)
        uk, inv = np.unique(kk, return_inverse=True)
        cap = lane_key_caps(data, uk) * H
        block(
            "lanes",
            inv.ravel(),
            np.concatenate(lcols),
            np.concatenate(lvals),
            np.full(len(uk), -np.inf),
            cap,
        )
    else:
        uk = np.zeros(0, dtype=np.int64)
    return uk


def _service_rows(
    rows: RowBlocks,
    data: NetworkData,
    cols: Columns,
    off: dict[str, int],
    targets: dict[str, float] | None,
) -> dict[str, float]:
    """Row 6: on-time units ≥ target, overall then per country; the targets used by name."""
    xs = off["x"] + np.arange(len(cols.x_pair))
    qs = off["q"] + np.arange(len(cols.q_pair))
    block = rows.block
    # 6. service: on-time units ≥ target (overall, then per country)
    tg = dict(targets) if targets is not None else default_targets(data, cols)
    on_x = np.flatnonzero(cols.x_ontime)
    on_q = np.flatnonzero(cols.q_ontime)
    zc = np.array((*data.zone_country, ""))
    names = ["all"] + [k for k in tg if k != "all"]
    r_list, c_list = [], []
    lo = []
    for i, name in enumerate(names):
        if name == "all":
            mx = np.ones(len(on_x), bool)
            mq = np.ones(len(on_q), bool)
        else:
            mx = zc[cols.p_zone[cols.x_pair[on_x]]] == name
            mq = zc[cols.p_zone[cols.q_pair[on_q]]] == name
        r_list.append(np.full(int(mx.sum() + mq.sum()), i))
        c_list.append(np.concatenate([xs[on_x[mx]], qs[on_q[mq]]]))
        lo.append(tg.get(name, 0.0))
    block(
        "ontime",
        np.concatenate(r_list),
        np.concatenate(c_list),
        np.ones(sum(len(r) for r in r_list)),
        np.array(lo, float),
        np.full(len(names), np.inf),
    )

    return {n_: tg.get(n_, 0.0) for n_ in names}


def build_allocation_model(
    data: NetworkData,
    params: AllocationParams | None = None,
    *,
    columns: Columns | None = None,
    y_fixed: F | None = None,
    targets: dict[str, float] | None = None,
    integer_stock: bool = True,
    storage_margin: bool = False,
) -> AllocationModel:
    """Build the MIP of the module docstring as sparse arrays (vectorised, no solver yet).

    Parameters
    ----------
    data
        The compiled network.
    params
        Solver parameters (unused by the build itself; kept for the signature).
    columns
        Pre-built columns (default: :func:`build_columns` with pruning).
    y_fixed
        Fix warehouse use to these 0/1 values (the rest of the model then has no binaries).
    targets
        On-time unit targets to use instead of the service shares (``"all"`` and per country);
        used when the shares cannot be met.
    integer_stock
        Keep stocking levels integer (``False``: continuous, a relaxation; stocking levels have
        no cost, so rounding them up afterwards changes only storage use).
    storage_margin
        Tighten each storage row by one unit of every SKU that may be stocked there, so that
        rounding continuous stocking levels up cannot overflow storage (a restriction).
    """
    del params
    t0 = time.perf_counter()
    cols = build_columns(data) if columns is None else columns
    off, n, s_kw = _layout(data, cols)
    bd = _bounds(data, cols, off, n, s_kw, y_fixed, integer_stock)
    P = len(cols.p_dem)
    nx_, nq, nf, nkw = len(cols.x_pair), len(cols.q_pair), len(cols.f_sku), len(cols.kw_sku)
    ne, nr, nsp = len(cols.e_lot), len(cols.r_pair), len(cols.sp_kw)
    rows = RowBlocks()
    block = rows.block
    xs = off["x"] + np.arange(nx_)
    qs = off["q"] + np.arange(nq)
    fs = off["f"] + np.arange(nf)
    # 1. demand: Σx + Σq + u = D
    block(
        "demand",
        np.concatenate([cols.x_pair, cols.q_pair, np.arange(P)]),
        np.concatenate([xs, qs, off["u"] + np.arange(P)]),
        np.ones(nx_ + nq + P),
        cols.p_dem,
        cols.p_dem,
    )
    es = off["e"] + np.arange(ne)
    rs = off["r"] + np.arange(nr)
    # 2. flow balance: Σf + Σe + σ·Σr - sp - Σx = 0 per (SKU, warehouse) (v1: Σf - Σx = 0)
    block(
        "balance",
        np.concatenate([cols.f_kw, cols.e_kw, cols.r_kw, cols.sp_kw, cols.x_kw]),
        np.concatenate([fs, es, rs, off["sp"] + np.arange(nsp), xs]),
        np.concatenate(
            [np.ones(nf), np.ones(ne), cols.p_resell[cols.r_pair], -np.ones(nsp), -np.ones(nx_)]
        ),
        np.zeros(nkw),
        np.zeros(nkw),
    )
    if cols.has_state:
        state_rows(data, cols, block, off, nkw, bd.s_ub if cols.has_previous else np.zeros(0))
    _capacity_rows(rows, data, cols, off, s_kw, bd, storage_margin)
    lane_keys = _lane_capacity_rows(rows, data, cols, off)
    tg = _service_rows(rows, data, cols, off, targets)
    return AllocationModel(
        columns=cols,
        c=bd.c,
        lb=bd.lb,
        ub=bd.ub,
        integer=bd.integer,
        A=rows.matrix(n),
        row_lb=np.concatenate(rows.rlb),
        row_ub=np.concatenate(rows.rub),
        off=off,
        s_kw=s_kw,
        rows=rows.rows,
        targets=tg,
        build_seconds=time.perf_counter() - t0,
        lane_keys=lane_keys.astype(np.int64),
    )


def state_rows(
    data: NetworkData,
    cols: Columns,
    block: Callable[[str, I, I, F, F, F], None],
    off: dict[str, int],
    nkw: int,
    s_max: F,
) -> None:
    """The format v1.1 rows (see :mod:`optimizer.allocation`), appended through ``block``."""
    H = float(data.horizon_days)
    W = len(data.warehouses)
    ne, nlot = len(cols.e_lot), len(cols.lot_hold)
    es = off["e"] + np.arange(ne)
    xs = off["x"] + np.arange(len(cols.x_pair))
    # 7. lots: Σ_uses e + lo = units of the lot
    block(
        "lots",
        np.concatenate([cols.e_lot, np.arange(nlot)]),
        np.concatenate([es, off["lo"] + np.arange(nlot)]),
        np.ones(ne + nlot),
        data.inv_units.astype(float),
        data.inv_units.astype(float),
    )
    # 8. arrival: units available at a warehouse from day d on serve at most the demand it
    #    ships from day d on: Σ_{e at kw, day ≥ d} e - (1 - d/H)·Σ_{x at kw} x ≤ 0, one row per
    #    use column with d > 0 (a fluid schedule exists iff every such row holds)
    late = np.flatnonzero(cols.e_day > 0)
    if len(late):
        order = np.argsort(cols.e_kw, kind="stable")
        ptr = np.zeros(nkw + 1, np.int64)
        np.add.at(ptr, cols.e_kw + 1, 1)
        ptr = np.cumsum(ptr)
        cnt = ptr[cols.e_kw[late] + 1] - ptr[cols.e_kw[late]]
        row = np.repeat(np.arange(len(late)), cnt)
        starts = np.cumsum(cnt) - cnt
        rank = np.arange(int(cnt.sum())) - np.repeat(starts, cnt)
        mate = order[ptr[cols.e_kw[late]][row] + rank]
        keep = cols.e_day[mate] >= cols.e_day[late][row] - 1e-12
        row, mate = row[keep], mate[keep]
        xo = np.argsort(cols.x_kw, kind="stable")
        xp = np.zeros(nkw + 1, np.int64)
        np.add.at(xp, cols.x_kw + 1, 1)
        xp = np.cumsum(xp)
        xc = xp[cols.e_kw[late] + 1] - xp[cols.e_kw[late]]
        xrow = np.repeat(np.arange(len(late)), xc)
        xst = np.cumsum(xc) - xc
        xrank = np.arange(int(xc.sum())) - np.repeat(xst, xc)
        xmate = xo[xp[cols.e_kw[late]][xrow] + xrank]
        share = 1.0 - cols.e_day[late] / H
        block(
            "arrival",
            np.concatenate([row, xrow]),
            np.concatenate([es[mate], xs[xmate]]),
            np.concatenate([np.ones(len(row)), -share[xrow]]),
            np.full(len(late), -np.inf),
            np.zeros(len(late)),
        )
    # 9. returns: Σ_w r + o - ρ·(Σx + Σq) = 0 per demand pair with returns
    rp = np.unique(cols.o_pair)
    if len(rp):
        ri = np.full(len(cols.p_dem), -1, np.int64)
        ri[rp] = np.arange(len(rp))
        qs = off["q"] + np.arange(len(cols.q_pair))
        xm = ri[cols.x_pair] >= 0
        qm = ri[cols.q_pair] >= 0
        block(
            "returns",
            np.concatenate(
                [ri[cols.r_pair], ri[cols.o_pair], ri[cols.x_pair[xm]], ri[cols.q_pair[qm]]]
            ),
            np.concatenate(
                [
                    off["r"] + np.arange(len(cols.r_pair)),
                    off["o"] + np.arange(len(cols.o_pair)),
                    xs[xm],
                    qs[qm],
                ]
            ),
            np.concatenate(
                [
                    np.ones(len(cols.r_pair) + len(cols.o_pair)),
                    -cols.p_rate[cols.x_pair[xm]],
                    -cols.p_rate[cols.q_pair[qm]],
                ]
            ),
            np.zeros(len(rp)),
            np.zeros(len(rp)),
        )
        # returns go only to a warehouse in use: r - ρ·D·y_w ≤ 0
        nr = len(cols.r_pair)
        block(
            "returns_link",
            np.concatenate([np.arange(nr), np.arange(nr)]),
            np.concatenate([off["r"] + np.arange(nr), cols.r_wh]),
            np.concatenate([np.ones(nr), -(cols.p_rate * cols.p_dem)[cols.r_pair]]),
            np.full(nr, -np.inf),
            np.zeros(nr),
        )
    nsp = len(cols.sp_kw)
    if nsp:
        # surplus only of resold units: sp - Σ σ·r ≤ 0 per (SKU, warehouse) taking returns
        spi = np.full(nkw, -1, np.int64)
        spi[cols.sp_kw] = np.arange(nsp)
        nr = len(cols.r_pair)
        block(
            "surplus",
            np.concatenate([np.arange(nsp), spi[cols.r_kw]]),
            np.concatenate([off["sp"] + np.arange(nsp), off["r"] + np.arange(nr)]),
            np.concatenate([np.ones(nsp), -cols.p_resell[cols.r_pair]]),
            np.full(nsp, -np.inf),
            np.zeros(nsp),
        )
    if cols.has_previous:
        # 10. stability: d ≥ |S - S_prev| per (SKU, warehouse); ch ≥ |y - y_prev|
        S = off["S"] + np.arange(nkw)  # every level is modelled with a previous plan
        # a level kept against churn needs its warehouse: S - S_max·y_w ≤ 0
        block(
            "stock_link",
            np.concatenate([np.arange(nkw), np.arange(nkw)]),
            np.concatenate([S, cols.kw_wh]),
            np.concatenate([np.ones(nkw), -s_max]),
            np.full(nkw, -np.inf),
            np.zeros(nkw),
        )
        D = off["d"] + np.arange(nkw)
        block(
            "stability",
            np.concatenate(
                [np.arange(nkw), np.arange(nkw), nkw + np.arange(nkw), nkw + np.arange(nkw)]
            ),
            np.concatenate([D, S, D, S]),
            np.concatenate([np.ones(nkw), -np.ones(nkw), np.ones(nkw), np.ones(nkw)]),
            np.concatenate([-cols.kw_prev, cols.kw_prev]),
            np.full(2 * nkw, np.inf),
        )
        yp = cols.prev_open
        sign = np.where(yp > 0.5, 1.0, -1.0)
        block(
            "stability_open",
            np.concatenate([np.arange(W), np.arange(W)]),
            np.concatenate([off["ch"] + np.arange(W), np.arange(W)]),
            np.concatenate([np.ones(W), sign]),
            np.where(yp > 0.5, 1.0, 0.0),
            np.full(W, np.inf),
        )


def default_targets(data: NetworkData, cols: Columns) -> dict[str, float]:
    """On-time unit targets from the service shares, capped at what any path can reach.

    Without capacities a pair with an on-time option can be served fully on time; demand of
    pairs with none can never be. Capping here keeps the model feasible when the promise
    cannot be met (the plan then reports the shortfall).
    """
    svc = data.service
    ok = np.zeros(len(cols.p_dem), dtype=bool)
    ok[cols.x_pair[cols.x_ontime]] = True
    ok[cols.q_pair[cols.q_ontime]] = True
    reach = cols.p_dem * ok
    tg = {"all": min(svc.min_on_time_share * cols.p_dem.sum(), reach.sum())}
    zc = np.array(data.zone_country)
    for c_, share in svc.min_on_time_share_by_country.items():
        m = zc[cols.p_zone] == c_ if len(cols.p_zone) else np.zeros(0, bool)
        tg[c_] = min(share * cols.p_dem[m].sum(), reach[m].sum())
    # a hair of slack so that the floating-point sum of columns can meet it exactly
    return {k: max(0.0, v * (1 - 1e-9) - 1e-7) for k, v in tg.items()}


def required_targets(data: NetworkData, cols: Columns) -> dict[str, float]:
    """The unit targets the service shares ask for (not capped)."""
    svc = data.service
    tg = {"all": svc.min_on_time_share * float(cols.p_dem.sum())}
    zc = np.array(data.zone_country)
    for c_, share in svc.min_on_time_share_by_country.items():
        m = zc[cols.p_zone] == c_ if len(cols.p_zone) else np.zeros(0, bool)
        tg[c_] = share * float(cols.p_dem[m].sum())
    return tg


def solution_from_values(data: NetworkData, model: AllocationModel, v: F) -> Solution:
    """Read a column vector back into a clean :class:`Solution`.

    Tiny solver noise is removed (values below 1e-7 become 0, y is rounded) and stocking
    levels are set to the smallest integer meeting the stock rule (the model's ``S`` only
    needs to be at least that, and lowering it keeps storage feasible).
    """
    off = model.off
    cols = model.columns
    W = len(data.warehouses)
    P = len(cols.p_dem)

    def seg(name: str, n: int) -> F:
        a = np.asarray(v[off[name] : off[name] + n], dtype=float).copy()
        a[a < 1e-7] = 0.0
        return a

    y = np.round(np.clip(v[:W], 0.0, 1.0)).astype(np.float64)
    x = seg("x", len(cols.x_pair))
    q = seg("q", len(cols.q_pair))
    u = seg("u", P)
    f = seg("f", len(cols.f_sku))
    # a y the solver left a hair above 0 (integrality tolerance) rounds to closed, but the
    # linking rows let that hair carry D·y units (seen: 2e-6 units through a closed warehouse,
    # which the evaluator rightly refuses): those units are lost instead, and nothing is
    # replenished into the closed warehouse
    shut = y < 0.5
    if shut.any():
        gone = shut[cols.x_wh] & (x > 0)
        if gone.any():
            u += np.bincount(cols.x_pair[gone], weights=x[gone], minlength=P)
            x[gone] = 0.0
        f[shut[cols.f_wh]] = 0.0
    model_s = None
    if cols.has_previous:
        model_s = np.zeros(len(cols.kw_sku))
        model_s[model.s_kw] = v[off["S"] : off["S"] + len(model.s_kw)]
    extra = {}
    if cols.has_state:
        extra = {
            "e": seg("e", len(cols.e_lot)),
            "lo": seg("lo", len(cols.lot_hold)),
            "r": seg("r", len(cols.r_pair)),
            "o": seg("o", len(cols.o_pair)),
            "sp": seg("sp", len(cols.sp_kw)),
        }
    return Solution(y=y, x=x, q=q, u=u, f=f, stock=stock_levels(data, cols, f, model_s), **extra)


def storage_use(data: NetworkData, cols: Columns, sol: Solution) -> tuple[F, F]:
    """Per warehouse, the volume (m³) of a solution's stocking levels, and of what else stays
    on its shelves: tonight's lots left there within the horizon (``lo``, see
    :func:`~optimizer.allocation.state.lot_shelf_m3`) and the resold surplus (``sp``).

    The levels fit ``storage_m3``; levels and shelf together fit
    :func:`~optimizer.allocation.state.shelf_capacity`.
    """
    W = len(data.warehouses)
    vol = data.sku.volume_m3
    levels = np.bincount(cols.kw_wh, weights=sol.stock * vol[cols.kw_sku], minlength=W)
    shelf = np.zeros(W)
    if len(sol.lo) == len(data.inv_units) and len(sol.lo):
        shelf += np.bincount(data.inv_wh, weights=sol.lo * lot_shelf_m3(data), minlength=W)
    if len(sol.sp) == len(cols.sp_kw) and len(sol.sp):
        shelf += np.bincount(
            cols.kw_wh[cols.sp_kw], weights=sol.sp * vol[cols.kw_sku[cols.sp_kw]], minlength=W
        )
    return levels.astype(np.float64), shelf


def storage_breaks(
    data: NetworkData, cols: Columns, sol: Solution, tol: float = 1e-9
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    """The warehouses whose stocking levels break ``storage_m3``, and (with tonight's state)
    those whose levels and shelf together break
    :func:`~optimizer.allocation.state.shelf_capacity` (relative and absolute ``tol``)."""
    from optimizer.allocation.state import shelf_capacity

    levels, shelf = storage_use(data, cols, sol)

    def over(used: F, cap: F) -> npt.NDArray[np.int64]:
        return np.flatnonzero(np.isfinite(cap) & (used > cap * (1 + tol) + tol))

    on_shelf = over(levels + shelf, shelf_capacity(data)) if cols.has_state else np.zeros(0, int)
    return over(levels, np.asarray(data.wh_storage_m3, float)), on_shelf.astype(np.int64)


def values_from_solution(model: AllocationModel, sol: Solution) -> F:
    """The column vector of a solution (for warm starts)."""
    off = model.off
    v = np.zeros(model.n_vars)
    v[: len(sol.y)] = sol.y
    v[off["x"] : off["x"] + len(sol.x)] = sol.x
    v[off["q"] : off["q"] + len(sol.q)] = sol.q
    v[off["u"] : off["u"] + len(sol.u)] = sol.u
    v[off["f"] : off["f"] + len(sol.f)] = sol.f
    v[off["S"] : off["S"] + len(model.s_kw)] = sol.stock[model.s_kw]
    cols = model.columns
    if cols.has_state:
        for name in ("e", "lo", "r", "o", "sp"):
            a = getattr(sol, name)
            v[off[name] : off[name] + len(a)] = a
        if cols.has_previous:
            nkw = len(cols.kw_sku)
            v[off["d"] : off["d"] + nkw] = np.abs(sol.stock - cols.kw_prev)
            W = len(sol.y)
            v[off["ch"] : off["ch"] + W] = np.abs(sol.y - cols.prev_open)
    return v
