"""A stronger lower bound: the Lagrangian subproblem with the throughput capacities kept.

:mod:`optimizer.lagrange` prices every row that couples demand pairs, throughput included, and
is left with an uncapacitated facility-location problem. Its best bound is about the LP
relaxation's (sea-72h: 0.249 % below the plan against 0.243 % for the full LP, whose warehouse
variables sit at 0.5–0.96 where throughput binds). The integrality gap is in the throughput
rows: with the storage, lane and on-time prices of the Lagrangian kept fixed and the
throughput rows *not* priced, the subproblem is a capacitated facility-location problem (CFLP)
over the demand pairs,

    min  Σ_w fixed_w y_w + Σ_p D_p (Σ_w c[p,w] z_pw + d_p (1 − Σ_w z_pw))
    s.t. Σ_w z_pw ≤ 1,  0 ≤ z_pw ≤ y_w,  Σ_p D_p z_pw ≤ H·throughput_w·y_w,  y binary,

which is still a relaxation of the allocation MIP (weak duality for the priced rows) and whose
optimum is much closer to the plan's cost (sea-72h, multipliers after 90 s of subgradient:
5,209,428 against a plan of 5,209,525, found by HiGHS on the 159k-column model in 420 s).

It is solved here by Benders decomposition on ``y``. For fixed ``y`` the CFLP is a
transportation problem (a min-cost flow, OR-Tools' network simplex, ~0.1 s on sea-72h); its
capacity duals ``μ(ŷ)`` give, for every ``y``,

    CFLP(y) ≥ Σ_w (fixed_w − μ_w·cap_w) y_w + Σ_p D_p min(d_p, min_{w: y_w=1} c[p,w] + μ_w),

a facility-location function tight at ``ŷ``, which the master bounds from below by the
Fischetti–Ljubić–Sinnl cuts of :func:`optimizer.lagrange.solve_ufl` (summed per country).
The master keeps one such function per ``μ`` met and takes their maximum. Any ``μ ≥ 0`` gives a
valid inequality, so the bound never depends on the flow solver's precision (costs are rounded
to integers for it): only the convergence does. The master is a small MIP (warehouses, one
variable per country and ``μ``) solved by HiGHS with presolve off: with presolve on, HiGHS
1.12 once returned an "optimal" master 15k above a feasible point of it, and every master
optimum is checked against the master's value at the sets already visited.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import scipy.sparse as sp

from network.compile import NetworkData
from optimizer.allocation import Columns, native_stdout_to_stderr
from optimizer.lagrange import Multipliers, pair_costs

__all__ = ["CapacityBound", "capacity_bound"]

log = logging.getLogger(__name__)
F = npt.NDArray[np.float64]
I = npt.NDArray[np.int64]

#: Flow costs are rounded to multiples of 1/COST_SCALE (only the duals' accuracy depends on it).
COST_SCALE = 1e4
#: Default absolute gap of the master MIP, relative to ``target`` (sea-72h: about 100): the
#: bound claimed is the master's objective minus the gap.
MASTER_GAP_SHARE = 2e-5


@dataclass(frozen=True, slots=True)
class CapacityBound:
    """Result of :func:`capacity_bound`: ``bound`` ≤ the allocation MIP's optimum."""

    bound: float
    iterations: int
    best_value: float
    best_y: F
    proven: bool
    seconds: float


class _Cflp:
    """The capacitated subproblem's data and its pieces (see the module docstring)."""

    def __init__(self, data: NetworkData, cols: Columns, mult: Multipliers,
                 targets: dict[str, float]) -> None:
        W = len(data.warehouses)
        no_thr = Multipliers(mult.storage, np.zeros(W), mult.lanes, mult.ontime)
        pc = pair_costs(data, cols, no_thr, targets)
        self.W, self.P = W, len(pc.d)
        self.d, self.dem, self.fixed, self.const = pc.d, pc.dem, pc.fixed, pc.const
        self.c = np.where(pc.c < pc.d[:, None] - 1e-12, pc.c, np.inf)
        thr = np.asarray(data.wh_throughput_per_day, float)
        self.has_cap = np.isfinite(thr)
        self.cap = np.where(self.has_cap, float(data.horizon_days) * np.where(
            self.has_cap, thr, 0.0), 0.0)
        status = np.array(data.wh_status)
        self.y_lb = (status == "open").astype(float)
        self.y_ub = (status != "closed").astype(float)
        zc = np.array(data.zone_country)
        _, grp = np.unique(zc[cols.p_zone], return_inverse=True)
        grp = np.asarray(grp, np.int64).ravel()
        self.G = int(grp.max()) + 1 if self.P else 0
        self.gsum = sp.csr_matrix((np.ones(self.P), (grp, np.arange(self.P))),
                                  shape=(self.G, self.P))
        self.pp, self.ww = np.nonzero(np.isfinite(self.c))
        self.cz = self.c[self.pp, self.ww]

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
        capw = np.where(self.has_cap[openw], np.floor(self.cap[openw] + 1e-9),
                        float(supply.sum()))
        tails = np.r_[a_p, np.arange(P), P + openw].astype(np.int64)
        heads = np.r_[P + a_w, np.full(P, sink), np.full(len(openw), sink)].astype(np.int64)
        caps = np.r_[supply[a_p], supply, capw].astype(np.int64)
        costs = np.r_[np.round(a_c * COST_SCALE), np.round(self.d * COST_SCALE),
                      np.zeros(len(openw))].astype(np.int64)
        mcf = min_cost_flow.SimpleMinCostFlow()
        mcf.add_arcs_with_capacity_and_unit_cost(tails, heads, caps, costs)
        sup = np.zeros(P + W + 1, np.int64)
        sup[:P] = supply
        sup[sink] = -int(supply.sum())
        mcf.set_nodes_supplies(np.arange(P + W + 1), sup)
        if mcf.solve() != mcf.OPTIMAL:
            return math.inf, np.zeros(W)
        fl = mcf.flows(np.arange(len(tails))).astype(float)
        z = fl[:len(a_p)]
        out = fl[len(a_p):len(a_p) + P]
        # the flow's value (demand rounded up to whole units: only a guide for the search)
        value = float(self.fixed @ y) + float(a_c @ z) + float(self.d @ out) + self.const
        if total <= 0:
            return value, np.zeros(W)
        use = np.bincount(a_w, weights=z, minlength=W)
        # duals by complementary slackness: difference constraints on the open warehouses
        # and a ground node O (μ_O = 0), solved by Bellman-Ford over W + 1 nodes
        n = W + 1
        edge = np.full((n, n), np.inf)  # μ_b − μ_a ≤ edge[a, b]
        pos = z > 0.5
        fp, fw = a_p[pos], a_w[pos]
        for w in openw:
            ps = fp[fw == w]
            if len(ps):
                diff = self.c[np.ix_(ps, openw)] - self.c[ps, w][:, None]
                edge[openw, w] = np.minimum(edge[openw, w], diff.min(axis=0))
                edge[W, w] = min(edge[W, w], float((self.d[ps] - self.c[ps, w]).min()))
        po = np.flatnonzero(out > 0.5)
        if len(po):
            diff = self.c[np.ix_(po, openw)] - self.d[po][:, None]
            edge[openw, W] = np.minimum(edge[openw, W], diff.min(axis=0))
        edge[openw, W] = np.minimum(edge[openw, W], 0.0)           # μ ≥ 0
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
        cm = self.c + mu[None, :]
        kappa = np.minimum(self.d, np.where(y[None, :] > 0.5, cm, np.inf).min(axis=1))
        B = np.maximum(kappa[:, None] - cm, 0.0)
        B = np.where(np.isfinite(B), B, 0.0) * self.dem[:, None]
        return self.gsum @ (self.dem * kappa), np.asarray(self.gsum @ B)


def capacity_bound(data: NetworkData, cols: Columns, mult: Multipliers,
                   targets: dict[str, float], deadline: float, *, target: float = math.inf,
                   y_start: F | None = None, max_iter: int = 10_000,
                   abs_gap: float | None = None,
                   on_iter: Callable[[int, float], None] | None = None) -> CapacityBound:
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
    deadline
        ``time.perf_counter()`` value to stop by; the bound so far is returned.
    target
        Stop as soon as the bound reaches it (e.g. the plan's cost less the accepted gap).
    y_start
        A warehouse set to start the master from (the plan's).
    max_iter
        Master solves at most.
    abs_gap
        Absolute gap at which each master MIP stops (its objective less this is the bound
        claimed); default ``MASTER_GAP_SHARE × |target|``, or 1e-6 without a target.
    on_iter
        Called with the iteration and the bound so far after each master solve.
    """
    t0 = time.perf_counter()
    if abs_gap is None:
        abs_gap = MASTER_GAP_SHARE * abs(target) if math.isfinite(target) else 1e-6
    cf = _Cflp(data, cols, mult, targets)
    W, G = cf.W, cf.G
    empty = CapacityBound(-math.inf, 0, math.inf, np.zeros(W), False, 0.0)
    if G == 0 or not cf.has_cap[cf.y_ub > 0].any():
        return empty
    mus: list[F] = []
    cuts: list[tuple[int, I, F, F]] = []  # (μ index, groups, a, B)
    visited: list[F] = []
    best_val, best_y = math.inf, np.zeros(W)

    def add_mu(mu: F, at: list[F]) -> None:
        mus.append(mu)
        for yv in at:
            a, B = cf.cut(mu, yv)
            cuts.append((len(mus) - 1, np.arange(G), a, B))

    def master_value(y: F) -> float:
        """The master's objective at binary ``y`` (max over the μ functions, each at the
        best of its cuts)."""
        th = np.full((len(mus), G), -np.inf)
        for j, gi, a, B in cuts:
            th[j, gi] = np.maximum(th[j, gi], a - B @ y)
        return cf.const + float(cf.fixed @ y) + max(
            float(th[j].sum()) - float((mu * cf.cap) @ y) for j, mu in enumerate(mus))

    def master(limit: float) -> tuple[float, F | None, F | None]:
        from ortools.linear_solver.python import model_builder_helper as mbh

        J = len(mus)
        nv = W + 1 + J * G
        cobj = np.r_[cf.fixed, 1.0, np.zeros(J * G)]
        # η − Σ_g θ_jg + (μ_j·cap)·y ≥ 0 for every j, then θ_jg + B_g·y ≥ a_g for every cut
        # (one COO build: the master is rebuilt at every iteration)
        mu_cap = np.vstack(mus) * cf.cap[None, :]
        r_eta = np.repeat(np.arange(J), W + 1 + G)
        c_eta = np.concatenate([np.r_[np.arange(W + 1), W + 1 + j * G + np.arange(G)]
                                for j in range(J)])
        v_eta = np.concatenate([np.r_[mu_cap[j], 1.0, -np.ones(G)] for j in range(J)])
        Bs = np.vstack([B for _, _, _, B in cuts])
        k = len(Bs)
        jrow = np.concatenate([np.full(len(gi), j) for j, gi, _, _ in cuts])
        grow = np.concatenate([gi for _, gi, _, _ in cuts])
        rows = np.r_[r_eta, J + np.repeat(np.arange(k), W), J + np.arange(k)]
        colsx = np.r_[c_eta, np.tile(np.arange(W), k), W + 1 + jrow * G + grow]
        vals = np.r_[v_eta, Bs.ravel(), np.ones(k)]
        A = sp.csr_matrix((vals, (rows, colsx)), shape=(J + k, nv))
        lo = np.r_[np.zeros(J), np.concatenate([a for _, _, a, _ in cuts])]
        lb = np.r_[cf.y_lb, np.full(1 + J * G, -np.inf)]
        ub = np.r_[cf.y_ub, np.full(1 + J * G, np.inf)]
        helper = mbh.ModelBuilderHelper()
        helper.fill_model_from_sparse_data(lb, ub, cobj, lo, np.full(len(lo), np.inf), A)
        for w in range(W):
            if cf.y_lb[w] < cf.y_ub[w]:
                helper.set_var_integrality(w, True)
        solver = mbh.ModelSolverHelper("highs")
        solver.set_time_limit_in_seconds(max(0.1, float(limit)))
        solver.set_solver_specific_parameters(
            f"output_flag=false\npresolve=off\nthreads=1\nmip_rel_gap=0\n"
            f"mip_abs_gap={abs_gap!r}")
        with native_stdout_to_stderr():
            solver.solve(helper)
        if solver.status() != mbh.SolveStatus.OPTIMAL or not solver.has_solution():
            return -math.inf, None, None  # interrupted: no bound claimed
        x = np.asarray(solver.variable_values(), float)
        obj = float(solver.objective_value())
        bnd = min(obj, float(solver.best_objective_bound())) - abs_gap
        return cf.const + bnd - 1e-9 * abs(obj), np.round(x[:W]), x

    mu0 = np.where(cf.has_cap, np.asarray(mult.throughput, float), 0.0)
    start = [np.round(np.asarray(y_start, float))] if y_start is not None else []
    if start:
        v, mu_s = cf.value_and_duals(start[0])
        best_val, best_y = v, start[0]
        visited.append(start[0])
        add_mu(mu0, start)
        add_mu(mu_s, start)
    else:
        add_mu(mu0, [np.round(cf.y_ub)])
    bound = -math.inf
    it = 0
    proven = False
    while it < max_iter and time.perf_counter() < deadline:
        it += 1
        b, y, x = master(deadline - time.perf_counter())
        if y is None or x is None:
            break
        # a master optimum above its own value at a set already met is a solver error
        check = min([master_value(v) for v in visited] + [math.inf])
        if b > check + 1e-7 * (1 + abs(check)):
            log.warning("capacity bound: master optimum %.2f above its value %.2f at a "
                        "visited set; stopping without it", b, check)
            break
        bound = max(bound, b)
        if on_iter is not None:
            on_iter(it, bound)
        if bound >= target or bound >= best_val - 1e-9 * abs(best_val):
            proven = bound >= target
            break
        if any(np.array_equal(y, v_) for v_ in visited):
            break  # the master's function is tight at this set already: converged
        v, mu = cf.value_and_duals(y)
        if v < best_val:
            best_val, best_y = v, y
        visited.append(y)
        J = len(mus)
        add_mu(mu, [y])
        op = np.flatnonzero(y > 0.5)
        for j in range(J):  # the older functions: their cuts violated at y
            # a cut's value at the set it is made at is Σ_p D_p κ_p: check that first
            kappa = np.minimum(cf.d, (cf.c[:, op] + mus[j][op]).min(axis=1, initial=np.inf))
            at = cf.gsum @ (cf.dem * kappa)
            th = x[W + 1 + j * G:W + 1 + (j + 1) * G]
            viol = at > th + 1e-7 * (1 + np.abs(at))
            if viol.any():
                a, B = cf.cut(mus[j], y)
                gi = np.flatnonzero(viol)
                cuts.append((j, gi, a[gi], B[gi]))
    log.debug("capacity bound %.1f after %d iterations (%d functions, %d cuts)", bound, it,
              len(mus), sum(len(c[1]) for c in cuts))
    return CapacityBound(bound=bound, iterations=it, best_value=best_val, best_y=best_y,
                         proven=proven, seconds=time.perf_counter() - t0)
