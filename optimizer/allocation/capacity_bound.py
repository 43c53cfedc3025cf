"""A stronger lower bound: the Lagrangian subproblem with the throughput capacities kept.

:mod:`optimizer.allocation.lagrange` prices every row that couples demand pairs, throughput
included, and is left with an uncapacitated facility-location problem. Its best bound is about
the LP relaxation's: where throughput binds, the LP's warehouse variables sit strictly between
0 and 1, so the integrality gap is in the throughput rows. With the storage, lane and on-time
prices of the Lagrangian kept fixed and the throughput rows *not* priced, the subproblem is a
capacitated facility-location problem (CFLP) over the demand pairs,

    min  Σ_w fixed_w y_w + Σ_p D_p (Σ_w c[p,w] z_pw + d_p (1 − Σ_w z_pw))
    s.t. Σ_w z_pw ≤ 1,  0 ≤ z_pw ≤ y_w,  Σ_p D_p z_pw ≤ H·throughput_w·y_w,  y binary,

which is still a relaxation of the allocation MIP (weak duality for the priced rows) and whose
optimum is much closer to the plan's cost.

It is solved here by Benders decomposition on ``y``. For fixed ``y`` the CFLP is a
transportation problem (a min-cost flow, OR-Tools' network simplex); its capacity duals
``μ(ŷ)`` give, for every ``y``,

    CFLP(y) ≥ Σ_w (fixed_w − μ_w·cap_w) y_w + Σ_p D_p min(d_p, min_{w: y_w=1} c[p,w] + μ_w),

a facility-location function tight at ``ŷ``, which the master bounds from below by the
Fischetti–Ljubić–Sinnl cuts of :func:`optimizer.allocation.lagrange.solve_ufl` (summed per
country). Any ``μ ≥ 0`` gives a valid inequality, so the bound never depends on the flow
solver's precision (costs are rounded to integers for it): only the convergence does.

**Per-group functions.** The master keeps one such function per ``μ`` met and takes their
maximum, which alone converges slowly. But each country's pairs can use only its own
warehouses and a few shared hubs, so with the hubs' prices fixed the function splits into one
term per country, and the term of each country may take its own warehouses' prices from *any*
``μ`` met: ``CFLP(y) ≥ −Σ_{hubs} μ^H_w cap_w y_w + Σ_g max_k [country g's term under μ^k]``.
The master holds both families (the plain maximum keeps the search exact when the fixed hub
prices are wrong); the hub prices are the duals at the start set.

**Master numerics.** The master is a small MIP (warehouses, one variable per country and
function) solved by HiGHS with its rows and objective scaled to coefficients ≤ 1e3, because
HiGHS returned "optimal" masters above the true optimum on the unscaled one (coefficients up
to 1.4e6; ``python -m benchmarks.capacity_bound --audit-masters`` re-solves every master
unscaled and with SCIP). Every answer is checked against the master's value at the sets
already visited (a master that fails it is answered by SCIP instead), and the last master (it
holds every cut the bound rests on) is solved again by SCIP; the bound claimed is the lower of
the two answers.

The measurements behind these choices (bound gaps, master counts and times on sea-72h, the
HiGHS/SCIP audit) are in ``benchmarks/README.md``, "Allocation, fourth session" and "fifth
session".
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import numpy.typing as npt
import scipy.sparse as sp

from network.compile import NetworkData
from optimizer.allocation.columns import Columns
from optimizer.allocation.lagrange import Multipliers, pair_costs
from optimizer.solver import solve_small_mip

__all__ = ["CapacityBound", "Cflp", "capacity_bound", "solve_cflp"]

log = logging.getLogger(__name__)
F = npt.NDArray[np.float64]
I = npt.NDArray[np.int64]
#: A master's scaled data: bounds ``lb``, ``ub`` of (y, the per-group variables), objective,
#: cut right-hand sides and the cut matrix, as :func:`_run_master` and the solver take them.
MasterArrays = tuple[F, F, F, F, sp.csr_matrix]

#: Flow costs are rounded to multiples of 1/COST_SCALE (only the duals' accuracy depends on it).
COST_SCALE = 1e4
#: Default absolute gap of the master MIP, relative to ``target``: the bound claimed is the
#: master's objective minus the gap (a looser gap costs as many master solves and ends lower).
MASTER_GAP_SHARE = 2e-7
#: MIP solvers of the master, run on the same model; the lowest bound is claimed.
MASTER_SOLVERS = ("highs", "scip")
#: The search stops while the time left is at least this many times the last master's
#: solve (plus one more master and the pricing of its set), so that the other solvers can
#: re-solve it (SCIP is several times slower than HiGHS: 3.0 against 0.35-0.6 s on a master
#: of the SKU-block path's sea-L bound, timed once by hand).
VERIFY_FACTOR = 6.0
#: Time given to that re-solve even when the deadline has passed.
VERIFY_MIN_S = 0.5


@dataclass(frozen=True, slots=True)
class CapacityBound:
    """Result of :func:`capacity_bound`: ``bound`` ≤ the allocation MIP's optimum."""

    bound: float
    iterations: int
    best_value: float
    best_y: F
    proven: bool
    seconds: float
    cross_check: float = math.nan


class Cflp:
    """The capacitated subproblem's data and its pieces (see the module docstring).

    Pair costs are held as a short list per pair: ``cs[p, k]`` is the cost of pair p at
    warehouse ``ow[p, k]`` (``inf``: none), only the options cheaper than losing the unit
    kept. A dense P × W matrix becomes lists of its finite entries; the SKU-block path gives
    each pair's cheapest warehouses only (:func:`optimizer.allocation.lagrange.truncate_pairs`,
    whose fallback cost enters as ``d``).
    """

    def __init__(
        self, data: NetworkData, cols: Columns, mult: Multipliers, targets: dict[str, float]
    ) -> None:
        W = len(data.warehouses)
        no_thr = Multipliers(mult.storage, np.zeros(W), mult.lanes, mult.ontime)
        pc = pair_costs(data, cols, no_thr, targets)
        thr = np.asarray(data.wh_throughput_per_day, float)
        cap = float(data.horizon_days) * np.where(np.isfinite(thr), thr, np.inf)
        zc = np.array(data.zone_country)
        _, grp = np.unique(zc[cols.p_zone], return_inverse=True)
        self._setup(
            pc.c,
            None,
            pc.d,
            pc.dem,
            pc.fixed,
            pc.const,
            cap,
            data.wh_kept_open.astype(float),
            data.wh_usable.astype(float),
            np.asarray(grp, np.int64).ravel(),
        )

    @classmethod
    def from_arrays(
        cls,
        c: F,
        d: F,
        dem: F,
        fixed: F,
        cap: F,
        group: I,
        *,
        const: float = 0.0,
        y_lb: F | None = None,
        y_ub: F | None = None,
        order: npt.NDArray[np.integer[Any]] | None = None,
    ) -> Cflp:
        """A subproblem given directly: pair costs ``c`` (P×W, ``inf`` = no option; with
        ``order``, P×K costs at the warehouses ``order[p]``), lost-unit cost ``d``, demand
        ``dem``, warehouse fixed costs and capacities (``inf`` = none) and each pair's group
        (country)."""
        self = cls.__new__(cls)
        W = len(fixed)
        self._setup(
            np.asarray(c, float),
            None if order is None else np.asarray(order),
            np.asarray(d, float),
            np.asarray(dem, float),
            np.asarray(fixed, float),
            float(const),
            np.asarray(cap, float),
            np.zeros(W) if y_lb is None else np.asarray(y_lb, float),
            np.ones(W) if y_ub is None else np.asarray(y_ub, float),
            np.asarray(group, np.int64),
        )
        return self

    def _setup(
        self,
        c: F,
        order: npt.NDArray[np.integer[Any]] | None,
        d: F,
        dem: F,
        fixed: F,
        const: float,
        cap: F,
        y_lb: F,
        y_ub: F,
        grp: I,
    ) -> None:
        self.W, self.P = len(fixed), len(d)
        W = self.W
        self.d, self.dem, self.fixed, self.const = d, dem, fixed, const
        if order is None:
            order = np.broadcast_to(np.arange(W, dtype=np.int64), c.shape)
        c = np.where(c < d[:, None] - 1e-12, c, np.inf)
        fin = np.isfinite(c)
        # the finite options first, then as many columns as the pair with the most
        k = int(fin.sum(axis=1).max(initial=0))
        first = np.argsort(~fin, axis=1, kind="stable")[:, :k]
        self.cs: F = np.take_along_axis(c, first, axis=1)
        self.ow: I = np.take_along_axis(np.asarray(order, np.int64), first, axis=1)
        self.has_cap = np.isfinite(cap)
        self.cap = np.where(self.has_cap, cap, 0.0)
        self.y_lb, self.y_ub = y_lb, y_ub
        self.grp = grp
        self.G = int(grp.max()) + 1 if self.P else 0
        self.gsum = sp.csr_matrix(
            (np.ones(self.P), (grp, np.arange(self.P))), shape=(self.G, self.P)
        )
        self.pp, kk = np.nonzero(np.isfinite(self.cs))
        self.ww = self.ow[self.pp, kk]
        self.cz = self.cs[self.pp, kk]
        # a warehouse is a group's own when only that group's pairs can use it; the others
        # (hubs serving several groups, or none) are shared
        usable = np.zeros((self.G, W), bool)
        usable[grp[self.pp], self.ww] = True
        self.shared = usable.sum(axis=0) != 1
        self.own = usable & ~self.shared[None, :]

    @property
    def c(self) -> F:
        """The pair costs as a dense P × W matrix (``inf``: no option), for checks."""
        out = np.full((self.P, self.W), np.inf)
        fin = np.isfinite(self.cs)
        out[np.nonzero(fin)[0], self.ow[fin]] = self.cs[fin]
        return out

    def kappa(self, mu: F, y: F) -> F:
        """Per pair: its cheapest cost at an open warehouse of ``y`` with the capacity prices
        ``mu`` added, or its lost-unit cost when that is lower."""
        cm = np.where(y[self.ow] > 0.5, self.cs + mu[self.ow], np.inf)
        return np.asarray(np.minimum(self.d, cm.min(axis=1, initial=np.inf)), float)

    def value_and_duals(self, y: F) -> tuple[float, F]:
        """CFLP(y) by min-cost flow (integer-rounded costs) and capacity duals μ ≥ 0."""
        from ortools.graph.python import min_cost_flow

        W, P = self.W, self.P
        op = y > 0.5
        sel = op[self.ww]
        a_p, a_w, a_c = self.pp[sel], self.ww[sel], self.cz[sel]
        openw = np.flatnonzero(op)
        sink = P + W
        total = float(self.dem.sum())
        supply = np.ceil(self.dem - 1e-9).astype(np.int64)
        capw = np.where(self.has_cap[openw], np.floor(self.cap[openw] + 1e-9), float(supply.sum()))
        tails = np.r_[a_p, np.arange(P), P + openw].astype(np.int64)
        heads = np.r_[P + a_w, np.full(P, sink), np.full(len(openw), sink)].astype(np.int64)
        caps = np.r_[supply[a_p], supply, capw].astype(np.int64)
        costs = np.r_[
            np.round(a_c * COST_SCALE), np.round(self.d * COST_SCALE), np.zeros(len(openw))
        ].astype(np.int64)
        mcf = min_cost_flow.SimpleMinCostFlow()
        mcf.add_arcs_with_capacity_and_unit_cost(tails, heads, caps, costs)
        sup = np.zeros(P + W + 1, np.int64)
        sup[:P] = supply
        sup[sink] = -int(supply.sum())
        mcf.set_nodes_supplies(np.arange(P + W + 1), sup)
        if mcf.solve() != mcf.OPTIMAL:
            return math.inf, np.zeros(W)
        fl = mcf.flows(np.arange(len(tails))).astype(float)
        z = fl[: len(a_p)]
        out = fl[len(a_p) : len(a_p) + P]
        # the flow's value (demand rounded up to whole units: only a guide for the search)
        value = float(self.fixed @ y) + float(a_c @ z) + float(self.d @ out) + self.const
        if total <= 0:
            return value, np.zeros(W)
        use = np.bincount(a_w, weights=z, minlength=W)
        # duals by complementary slackness: difference constraints on the open warehouses
        # and a ground node O (μ_O = 0), solved by Bellman-Ford over W + 1 nodes;
        # edge[a, b] bounds μ_b − μ_a: a pair sending flow to b could go to a (c_pa − c_pb),
        # or be lost (O → b: d_p − c_pb); a lost pair could go to a (a → O: c_pa − d_p)
        n = W + 1
        flat = np.full(n * n, np.inf)
        pos = z > 0.5
        fp, fw, fc = a_p[pos], a_w[pos], a_c[pos]
        o2, c2 = self.ow[fp], self.cs[fp]
        m2 = np.isfinite(c2) & op[o2]
        np.minimum.at(flat, (o2 * n + fw[:, None])[m2], (c2 - fc[:, None])[m2])
        np.minimum.at(flat, W * n + fw, self.d[fp] - fc)
        po = np.flatnonzero(out > 0.5)
        o3, c3 = self.ow[po], self.cs[po]
        m3 = np.isfinite(c3) & op[o3]
        np.minimum.at(flat, (o3 * n + W)[m3], (c3 - self.d[po][:, None])[m3])
        edge = flat.reshape(n, n)
        edge[openw, W] = np.minimum(edge[openw, W], 0.0)  # μ ≥ 0
        slack = ~self.has_cap[openw] | (use[openw] < self.cap[openw] - 0.5)
        edge[W, openw[slack]] = np.minimum(edge[W, openw[slack]], 0.0)  # μ = 0 if not full
        np.fill_diagonal(edge, np.inf)
        dist = np.full(n, np.inf)
        dist[W] = 0.0
        for _ in range(n):
            nd = np.minimum(dist, (dist[:, None] + edge).min(axis=0))
            if np.array_equal(nd, dist):
                break
            dist = nd
        mu = np.zeros(W)
        ok = np.isfinite(dist[openw])
        mu[openw[ok]] = np.maximum(0.0, dist[openw[ok]])
        return value, np.where(self.has_cap, mu, 0.0)

    def cut(self, mu: F, y: F) -> tuple[F, F]:
        """Per-country cut ``θ_g ≥ a_g − B_g·y`` for costs ``c + μ``, tight at binary ``y``."""
        W = self.W
        cm = self.cs + mu[self.ow]
        kappa = np.minimum(
            self.d, np.where(y[self.ow] > 0.5, cm, np.inf).min(axis=1, initial=np.inf)
        )
        B = np.maximum(kappa[:, None] - cm, 0.0)
        B = np.where(np.isfinite(B), B, 0.0) * self.dem[:, None]
        key = (self.grp[:, None] * W + self.ow).ravel()
        Bg = np.bincount(key, weights=B.ravel(), minlength=self.G * W).reshape(self.G, W)
        return self.gsum @ (self.dem * kappa), np.asarray(Bg, float)


def capacity_bound(
    data: NetworkData,
    cols: Columns,
    mult: Multipliers,
    targets: dict[str, float],
    deadline: float,
    *,
    target: float = math.inf,
    y_start: F | None = None,
    max_iter: int = 10_000,
    abs_gap: float | None = None,
    grouped: bool = True,
    on_iter: Callable[[int, float], None] | None = None,
    on_master: Callable[[MasterArrays, float, float], None] | None = None,
) -> CapacityBound:
    """Lower bound on the allocation MIP from the capacitated subproblem (module docstring).

    Parameters
    ----------
    data, cols
        The compiled network and its columns (all of them: pruning would void the bound).
    mult
        Multipliers of the storage, lane and on-time rows (``mult.throughput`` seeds the first
        master function; throughput is otherwise kept as a constraint).
    targets
        The on-time unit targets of the model being bounded.
    deadline, target, y_start, max_iter, abs_gap, grouped, on_iter, on_master
        As for :func:`solve_cflp`.
    """
    cf = Cflp(data, cols, mult, targets)
    mu0 = np.where(cf.has_cap, np.asarray(mult.throughput, float), 0.0)
    return solve_cflp(
        cf,
        deadline,
        mu0=mu0,
        target=target,
        y_start=y_start,
        max_iter=max_iter,
        abs_gap=abs_gap,
        grouped=grouped,
        on_iter=on_iter,
        on_master=on_master,
    )


@dataclass(frozen=True, slots=True)
class _MasterRun:
    solver: str
    claim: float  # lower bound on the master claimed by this solver (−inf: none)
    objective: float  # value of its solution (inf: none)
    y: F | None
    seconds: float = 0.0


def _run_master(
    solver_name: str,
    arrays: MasterArrays,
    W: int,
    integer: npt.NDArray[np.bool_],
    limit: float,
    gap: float,
    scale: float,
) -> _MasterRun:
    """Solve one master (scaled data ``arrays``) with ``solver_name``."""
    lb, ub, cobj, lo, A = arrays
    params = (
        f"output_flag=false\npresolve=off\nthreads=1\nmip_rel_gap=0\nmip_abs_gap={gap!r}"
        if solver_name == "highs"
        else f"limits/absgap = {gap!r}\nlimits/gap = 0\nparallel/maxnthreads = 1\n"
    )
    r = solve_small_mip(
        lb,
        ub,
        cobj,
        lo,
        np.full(len(lo), np.inf),
        A,
        np.flatnonzero(integer),
        solver_name,
        max(0.1, float(limit)),
        params,
    )
    if r.x is None:
        return _MasterRun(solver_name, -math.inf, math.inf, None, r.seconds)
    claim = (min(r.objective, r.bound) if r.status == "optimal" else r.bound) - gap
    claim = scale * (claim - 1e-9 * abs(r.objective)) if math.isfinite(claim) else -math.inf
    return _MasterRun(solver_name, claim, scale * r.objective, np.round(r.x[:W]), r.seconds)


class _Master:
    """The Benders master of :func:`solve_cflp`: its functions, their cuts and the sets met.

    ``funcs`` holds ``(μ, h)``: capacity prices and ``h`` = −1 for a global function, else the
    index of the hub prices (``hubs``) it is a per-group function under; ``cuts`` holds
    ``(function, groups, a, B)`` (``θ_ig ≥ a_g − B_g·y``); ``visited`` the sets priced exactly,
    ``best_val`` / ``best_y`` the cheapest of them.
    """

    def __init__(self, cf: Cflp, *, grouped: bool, abs_gap: float) -> None:
        self.cf = cf
        self.W, self.G = cf.W, cf.G
        self.grouped = grouped
        self.abs_gap = abs_gap
        self.cap_of = cf.cap
        self.mus: list[F] = []
        self.hubs: list[F] = []
        self.funcs: list[tuple[F, int]] = []
        self.cuts: list[tuple[int, I, F, F]] = []
        self.visited: list[F] = []
        self.best_val = math.inf
        self.best_y: F = np.zeros(cf.W)

    def add_func(self, mu: F, h: int, at: list[F]) -> None:
        """A function with capacity prices ``mu`` (``h`` = −1 global, else per group under
        ``hubs[h]``), cut at each set of ``at``."""
        self.funcs.append((mu, h))
        for yv in at:
            a, B = self.cf.cut(mu, yv)
            self.cuts.append((len(self.funcs) - 1, np.arange(self.G), a, B))

    def add_mu(self, mu: F, at: list[F]) -> None:
        """A global function with prices ``mu`` and its per-group copies under every hub price."""
        self.mus.append(mu)
        self.add_func(mu, -1, at)
        for h, hub in enumerate(self.hubs):
            self.add_func(np.where(self.cf.shared, hub, mu), h, at)

    def add_hub(self, mu: F) -> None:
        """Prices of the shared warehouses; every global function gains a per-group copy."""
        self.hubs.append(np.where(self.cf.shared, mu, 0.0))
        for m in self.mus:  # every function so far, under the new shared prices
            prices = np.where(self.cf.shared, self.hubs[-1], m)
            self.add_func(prices, len(self.hubs) - 1, self.visited)

    def theta_at(self, y: F) -> F:
        """The cuts' value per (function, group) at ``y``."""
        th = np.full((len(self.funcs), self.G), -np.inf)
        for i, gi, a, B in self.cuts:
            th[i, gi] = np.maximum(th[i, gi], a - B @ y)
        return th

    def value_at(self, y: F) -> float:
        """The master's objective at binary ``y``, from the cuts (no solver)."""
        th = self.theta_at(y)
        mc = np.array([m for m, _ in self.funcs]) * self.cap_of[None, :]
        hh = np.array([h for _, h in self.funcs])
        vals = [float(th[i].sum() - mc[i] @ y) for i in np.flatnonzero(hh < 0)]
        for h, hub in enumerate(self.hubs):
            sel = np.flatnonzero(hh == h)
            if len(sel):
                per = th[sel] - (mc[sel] * y[None, :]) @ self.cf.own.T.astype(float)
                vals.append(float(per.max(axis=0).sum() - (hub * self.cap_of) @ y))
        return self.cf.const + float(self.cf.fixed @ y) + max(vals)

    def arrays(self) -> tuple[MasterArrays, float]:
        """The master as scaled sparse data (one dense build; it is small).

        Variables: y (W), η, θ (function × group), η_hg (hub × group). Rows: η ≥ Σ_g θ_ig −
        μ_i·cap·y for global functions; η ≥ Σ_g η_hg − hub_h·cap·y; η_hg ≥ θ_ig − (μ_i·cap·y
        over g's own warehouses) for per-group functions; self.cuts θ_ig ≥ a − B·y."""
        W, G, cf = self.W, self.G, self.cf
        Fn, Hn = len(self.funcs), len(self.hubs)
        th0, eg0 = W + 1, W + 1 + Fn * G
        nv = eg0 + Hn * G
        mc = np.array([m for m, _ in self.funcs]) * self.cap_of[None, :]
        hh = np.array([h for _, h in self.funcs])
        glob, dec = np.flatnonzero(hh < 0), np.flatnonzero(hh >= 0)
        nc = sum(len(gi) for _, gi, _, _ in self.cuts)
        nr = len(glob) + Hn + len(dec) * G + nc
        M = np.zeros((nr, nv))
        lo = np.zeros(nr)
        r = 0
        # global functions
        M[r : r + len(glob), :W] = mc[glob]
        M[r : r + len(glob), W] = 1.0
        for g in range(G):
            M[np.arange(r, r + len(glob)), th0 + glob * G + g] = -1.0
        r += len(glob)
        # hub rows
        if Hn:
            M[r : r + Hn, :W] = np.array(self.hubs) * self.cap_of[None, :]
            M[r : r + Hn, W] = 1.0
            for g in range(G):
                M[np.arange(r, r + Hn), eg0 + np.arange(Hn) * G + g] = -1.0
            r += Hn
        # per-group functions: row (i, g)
        if len(dec):
            blk = (mc[dec][:, None, :] * cf.own[None, :, :]).reshape(len(dec) * G, W)
            rows = r + np.arange(len(dec) * G)
            M[rows, :W] = blk
            ii, gg = np.repeat(dec, G), np.tile(np.arange(G), len(dec))
            M[rows, eg0 + hh[ii] * G + gg] = 1.0
            M[rows, th0 + ii * G + gg] = -1.0
            r += len(dec) * G
        # self.cuts
        if nc:
            fi = np.concatenate([np.full(len(gi), i) for i, gi, _, _ in self.cuts])
            gi_ = np.concatenate([gi for _, gi, _, _ in self.cuts])
            rows = r + np.arange(nc)
            M[rows, :W] = np.vstack([B for _, _, _, B in self.cuts])
            M[rows, th0 + fi * G + gi_] = 1.0
            lo[rows] = np.concatenate([a for _, _, a, _ in self.cuts])
        # scale rows (y coefficients, right-hand sides) and the objective together, so that
        # the continuous variables are in units of ``scale``: HiGHS returned wrong "optimal"
        # masters on the unscaled data (coefficients up to 1e6)
        scale = (
            max(1.0, float(np.abs(M[:, :W]).max(initial=0.0)), float(np.abs(lo).max(initial=0.0)))
            / 1e3
        )
        M[:, :W] /= scale
        lo /= scale
        cobj = np.r_[cf.fixed / scale, 1.0, np.zeros(nv - W - 1)]
        lb = np.r_[cf.y_lb, np.full(nv - W, -np.inf)]
        ub = np.r_[cf.y_ub, np.full(nv - W, np.inf)]
        return (lb, ub, cobj, lo, sp.csr_matrix(M)), scale

    def solve(self, name: str, arrays: tuple[MasterArrays, float], limit: float) -> _MasterRun:
        """Solve the master ``arrays`` with ``name`` (bound and value in the model's units)."""
        data_, scale = arrays
        free = self.cf.y_lb < self.cf.y_ub
        r = _run_master(name, data_, self.W, free, limit, self.abs_gap / scale, scale)
        return replace(r, claim=self.cf.const + r.claim, objective=self.cf.const + r.objective)

    def new_set(self, y: F) -> None:
        """Price the set ``y`` exactly, keep it if best, and add its cuts and functions."""
        v, mu = self.cf.value_and_duals(y)
        if v < self.best_val:
            self.best_val, self.best_y = v, y
        n_old = len(self.funcs)
        self.visited.append(y)
        if self.grouped and not self.hubs:
            self.add_hub(mu)
        self.add_mu(mu, [y])
        # the older functions: add their self.cuts at y where the master underestimates them
        th = self.theta_at(y)
        for i in range(n_old):
            m = self.funcs[i][0]
            # a cut's value at the set it is made at is Σ_p D_p κ_p: check that first
            kappa = self.cf.kappa(m, y)
            at = self.cf.gsum @ (self.cf.dem * kappa)
            viol = at > th[i] + 1e-7 * (1 + np.abs(at))
            if viol.any():
                a, B = self.cf.cut(m, y)
                gi = np.flatnonzero(viol)
                self.cuts.append((i, gi, a[gi], B[gi]))


def solve_cflp(
    cf: Cflp,
    deadline: float,
    *,
    mu0: F | None = None,
    target: float = math.inf,
    y_start: F | None = None,
    max_iter: int = 10_000,
    abs_gap: float | None = None,
    grouped: bool = True,
    solvers: tuple[str, ...] = MASTER_SOLVERS,
    on_iter: Callable[[int, float], None] | None = None,
    on_master: Callable[[MasterArrays, float, float], None] | None = None,
) -> CapacityBound:
    """Lower bound on the capacitated subproblem ``cf`` by Benders on ``y`` (module docstring).

    Parameters
    ----------
    cf
        The subproblem.
    deadline
        ``time.perf_counter()`` value to stop by; the bound so far is returned.
    mu0
        Capacity prices of a first master function (default: zero).
    target
        Stop as soon as the bound reaches it (e.g. the plan's cost less the accepted gap).
    y_start
        A warehouse set to start the master from (the plan's); its capacity duals also give the
        prices of the shared warehouses in the per-group functions.
    max_iter
        Master solves at most.
    abs_gap
        Absolute gap at which each master MIP stops (its objective less this is the bound
        claimed); default ``MASTER_GAP_SHARE × |target|``, or 1e-6 without a target.
    grouped
        Also use the per-group functions under fixed shared-warehouse prices (when the groups
        own warehouses); ``False`` keeps only the plain maximum (for comparison).
    solvers
        MIP solvers of the master: the first solves every master, the others re-solve the last
        one and the bound claimed is the lowest answer.
    on_iter
        Called with the iteration and the bound so far after each master solve.
    on_master
        Called with each master the first solver answers (its scaled data ``(lb, ub, c, rl,
        A)``, the scale, the claimed bound) — to audit the solvers
        (``benchmarks/capacity_bound.py --audit-masters``).
    """
    t0 = time.perf_counter()
    if abs_gap is None:
        abs_gap = MASTER_GAP_SHARE * abs(target) if math.isfinite(target) else 1e-6
    W, G = cf.W, cf.G
    empty = CapacityBound(-math.inf, 0, math.inf, np.zeros(W), False, 0.0)
    if G == 0 or not cf.has_cap[cf.y_ub > 0].any():
        return empty
    # per-group functions only pay off when groups have warehouses of their own
    m = _Master(cf, grouped=grouped and G > 1 and bool(cf.own.any()), abs_gap=abs_gap)
    if mu0 is not None:
        m.add_mu(np.asarray(mu0, float), [np.round(cf.y_ub)] if y_start is None else [])
    if y_start is not None:
        y0 = np.round(np.asarray(y_start, float))
        if mu0 is not None:
            a, B = cf.cut(m.mus[0], y0)
            m.cuts.append((0, np.arange(G), a, B))
        m.new_set(y0)
    elif mu0 is None:
        m.add_mu(np.zeros(W), [np.round(cf.y_ub)])
    bound = -math.inf
    it = 0
    first, others = solvers[0], solvers[1:]
    solved: tuple[MasterArrays, float] | None = None  # the last master answered
    last_s = 0.0
    set_s = 0.0  # the last set's pricing (a min-cost flow: seconds on a large model)
    fallbacks = 0
    while it < max_iter:
        left = deadline - time.perf_counter()
        if left <= 0 or (
            solved is not None and others and left < (VERIFY_FACTOR + 1) * last_s + set_s
        ):
            # keep time for the cross-check of the last master: this iteration's master and
            # its set's pricing would take it
            break
        it += 1
        arrays = m.arrays()
        run = m.solve(first, arrays, left)
        last_s = run.seconds
        if on_master is not None:
            on_master(arrays[0], arrays[1], run.claim - cf.const)
        log.debug("capacity bound master %d: %s %.2f in %.2f s", it, first, run.claim, run.seconds)
        # a master optimum above its own value at a set already met is a solver error: the
        # other solvers answer this master instead
        check = min([m.value_at(v) for v in m.visited] + [math.inf])
        if run.claim > check + 1e-7 * (1 + abs(check)):
            log.warning(
                "capacity bound: %s claims a master bound %.2f above the master's "
                "value %.2f at a m.visited set; re-solving it with %s",
                first,
                run.claim,
                check,
                "/".join(others) or "nothing",
            )
            alt = [
                m.solve(name, arrays, max(VERIFY_MIN_S, deadline - time.perf_counter()))
                for name in others
            ]
            alt = [r for r in alt if r.claim <= check + 1e-7 * (1 + abs(check))]
            if not alt:
                break
            run = min(alt, key=lambda r: r.claim)
            fallbacks += 1
        solved = arrays
        bound = max(bound, run.claim)
        if on_iter is not None:
            on_iter(it, bound)
        if bound >= target or bound >= m.best_val - 1e-9 * abs(m.best_val) or run.y is None:
            break
        if any(np.array_equal(run.y, v_) for v_ in m.visited):
            break  # the master's function is tight at this set already: converged
        t_set = time.perf_counter()
        m.new_set(run.y)
        set_s = time.perf_counter() - t_set
    # the last master (it holds every cut the bound rests on) solved again by the other
    # solvers: the bound claimed is the lowest answer, so one solver's wrong "optimal" (HiGHS
    # gave some on unscaled masters) cannot raise it
    cross = math.nan
    if solved is not None and others and math.isfinite(bound):
        limit = max(VERIFY_MIN_S, deadline - time.perf_counter())
        cross = min(m.solve(name, solved, limit).claim for name in others)
        if cross < bound - 2 * abs_gap - 1e-7 * (1 + abs(bound)):  # more than the MIP gaps
            log.warning(
                "capacity bound: %s %.2f below %s %.2f on the same master; the lower is claimed",
                "/".join(others),
                cross,
                first,
                bound,
            )
        bound = min(bound, cross)
    proven = bound >= target
    log.debug(
        "capacity bound %.1f after %d iterations (%d functions, %d cuts, %d masters "
        "re-solved after a wrong answer)",
        bound,
        it,
        len(m.funcs),
        sum(len(c[1]) for c in m.cuts),
        fallbacks,
    )
    return CapacityBound(
        bound=bound,
        iterations=it,
        best_value=m.best_val,
        best_y=m.best_y,
        proven=proven,
        seconds=time.perf_counter() - t0,
        cross_check=cross,
    )
