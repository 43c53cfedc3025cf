"""Monte-Carlo simulation of a plan under random lane hours and random demand.

Model (one *run* is one realisation of the plan's horizon; runs are independent):

- **Lane hours.** Every lane with ``time_cv > 0`` draws lognormal hours (DESIGN §10,
  :mod:`network.distribution`) once per run for fulfilment, shared by every flow over
  that lane (a late lane is late for all its parcels that day), and once per review cycle for
  replenishment. Lanes are independent; node hours are fixed.
- **On time.** A fulfilment flow's units are on time in a run when its fixed hours plus its
  lanes' drawn hours are ``≤ promise_hours``; ``on_time_share`` is the units-weighted share of
  *shipped* units (the plan's fulfilment rows) on time — lane-time randomness only.
- **Demand against stock.** Each ``(SKU, warehouse)`` the plan ships from is run as the
  plan's order-up-to policy over ``n = max(1, round(H / R))`` review cycles: at each review the
  stock is raised to the plan's stocking level ``S``; the order arrives after a lead time ``L``
  (the hours of an inbound flow of the plan, picked with probability proportional to its units,
  with its lanes' hours drawn); demand over ``T`` days is lognormal with mean ``d·T`` and
  standard deviation ``cv·d·√T`` (``d`` the plan's daily units out of that warehouse for
  that SKU, ``cv`` the SKU's ``demand_cv`` — the same law the stocking rule of the allocation
  model sizes safety stock for). A cycle's stockout is ``(D(L+R) − S)⁺ − (D(L) − S)⁺``
  (standard periodic-review shortage). With ``R = 0`` (continuous review) a run takes the
  limit of ever shorter cycles: one lead time ``L`` drawn, demand ``D(H)`` over the horizon,
  and stockouts ``D(H) · P(D(L) > S)``. Units shipped direct from an origin are always filled;
  units the plan itself loses count as unfilled demand. With tonight's state (format v1.1:
  inventory lots used where they are, transfers in, resold returns) the part of a pair's
  shipments new inbound does not bring is served from that state, taken as a steady supply
  ``p`` per day over the horizon: a cycle's demand against ``S`` is then ``D(T) − p·T`` (the
  plan sizes ``S`` for new inbound only), and as that net demand can fall within a cycle, the
  cycle's stockout is ``((N(L+R) − S)⁺ − (N(L) − S)⁺)⁺`` with ``N(T) = D(T) − p·T`` (never
  negative: a later surplus does not undo a lost sale). The state's arrival days are
  not modelled.
- **fill_rate** = 1 − (stockout units + the plan's lost units) / demand, per run; by country,
  a warehouse's stockouts are split over countries in proportion to its planned shipments.
- **cost** per run = the plan's cost with ``late_penalty`` recomputed from the run's late units
  and ``lost_sale_penalty`` also charged on the run's stockout units (a stockout is a lost sale).

Means come with 95 % confidence intervals ``mean ± 1.96·sd/√runs`` over runs; ``stockout_units``
and ``cost`` with the 5th, 50th and 95th percentiles. Everything is vectorised over runs (numpy,
batches of at most ``SimParams.batch`` runs, fewer where the plan's (SKU, warehouse) pairs
would make a batch's arrays larger than :data:`MAX_BATCH_CELLS` values: the batch used is the
document's ``batch``) and seeded: the same plan, seed, runs and batch give the same numbers.

**Time limit.** With a ``deadline`` the runs stop after the last whole batch that ends before
it (at least one batch runs; the next is started only when the batches so far say it ends in
time). The figures are then over the runs done (``runs``; ``runs_requested`` and ``status``
``"time_limit"`` say so), and they are those of the first ``runs`` runs of the whole
simulation: batches draw from one seeded stream in order, so the same seed and batch with
``runs`` set to the runs done give the same numbers.
"""

from __future__ import annotations

import json
import math
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import scipy.sparse as sp
import scipy.special as sp_special

from network.compile import NetworkData, PathOptions
from network.distribution import TOL_HOURS, lognormal_params
from network.indices import flat_key
from optimizer.exceptions import TimeLimitError
from optimizer.limits import MAX_RUNS
from optimizer.plan.document import Plan
from optimizer.progress import PhaseReport, quiet
from optimizer.risk.flows import PlanFlows, plan_flows

__all__ = [
    "Interval",
    "Quantiles",
    "SimParams",
    "SimResult",
    "check_simulate_limit",
    "shortest_simulate_limit",
    "simulate_plan",
    "write_simulation",
]

F = npt.NDArray[np.float64]
I = npt.NDArray[np.int64]
Z95 = 1.959963984540054
#: The shortest time limit a simulation keeps is SIMULATE_FIXED_S plus this per plan row
#: (fulfilment, replenishment and stock): reading the plan and its scenario, the set-up and
#: one batch, the figures and ``sim.png``. ``tradelane simulate PLAN --time-limit 1`` on a
#: tier-L plan of 1,100,433 rows took 23.9-25.2 s in all (2.3e-5 s a row; benchmarks/README.md,
#: "Simulations of a tier-L plan"); a sixth more is kept, as for what-ifs.
SIMULATE_S_PER_PLAN_ROW = 2.7e-5
SIMULATE_FIXED_S = 2.0
MAX_BATCH_CELLS = 1 << 20
"""The most values (runs × the plan's stock pairs or options) one batch's arrays hold: about
8 MB each, a few hundred MB for the batch. A tier-L plan has 200,000 (SKU, warehouse)
pairs, where batches of 1,000 runs ran out of memory at 24 GB (benchmarks/README.md,
"Simulations of a tier-L plan")."""


@dataclass(frozen=True, slots=True)
class SimParams:
    """Number of runs, seed and the batch size (runs vectorised at once; at most, see
    :data:`MAX_BATCH_CELLS`)."""

    runs: int = 10_000
    seed: int = 0
    batch: int = 1000

    def __post_init__(self) -> None:
        if self.runs < 2:
            raise ValueError(f"runs={self.runs} < 2 not understood.")
        if self.runs > MAX_RUNS:
            raise ValueError(
                f"runs={self.runs} not understood; at most {MAX_RUNS:,} (the HTTP API's limit)."
            )
        if self.batch < 1:
            raise ValueError(f"batch={self.batch} < 1 not understood.")
        if self.seed < 0:
            raise ValueError(f"seed={self.seed} < 0 not understood.")


@dataclass(frozen=True, slots=True)
class Interval:
    """A mean share over runs and its 95 % confidence interval, within [0, 1]."""

    mean: float
    lo: float
    hi: float

    @classmethod
    def of(cls, x: F) -> Interval:
        """From per-run shares (normal approximation over runs, clipped to [0, 1]: near 100 %
        the approximation would otherwise claim 100.01 %)."""
        m = float(np.mean(x))
        half = Z95 * float(np.std(x, ddof=1)) / math.sqrt(len(x)) if len(x) > 1 else 0.0
        return cls(m, max(0.0, m - half), min(1.0, m + half))

    def to_json(self) -> dict[str, Any]:
        """``{mean, ci95: [lo, hi]}``."""
        return {"mean": self.mean, "ci95": [self.lo, self.hi]}


@dataclass(frozen=True, slots=True)
class Quantiles:
    """Mean and 5th / 50th / 95th percentiles over runs."""

    mean: float
    p5: float
    p50: float
    p95: float

    @classmethod
    def of(cls, x: F) -> Quantiles:
        """From per-run values."""
        p5, p50, p95 = np.percentile(x, [5, 50, 95]).tolist()
        return cls(float(np.mean(x)), p5, p50, p95)

    def to_json(self) -> dict[str, float]:
        """``{mean, p5, p50, p95}``."""
        return {"mean": self.mean, "p5": self.p5, "p50": self.p50, "p95": self.p95}


@dataclass(frozen=True, slots=True)
class SimResult:
    """What :func:`simulate_plan` found; ``per_run`` keeps the run values (for plots)."""

    scenario: str
    params: SimParams
    on_time_share: Interval
    fill_rate: Interval
    on_time_by_country: dict[str, Interval]
    fill_by_country: dict[str, Interval]
    stockout_units: Quantiles
    cost: Quantiles
    plan_on_time_share: float
    plan_cost: float
    seconds: float
    per_run: dict[str, F] = field(default_factory=dict)
    currency: str | None = None
    """The plan's currency, the unit of every cost figure (``None`` when the plan says none)."""
    runs_done: int | None = None
    """The runs the figures are over: ``params.runs`` unless the time limit stopped them."""
    batch: int | None = None
    """The runs per batch used (``params.batch`` unless the plan is too large for it)."""

    @property
    def runs(self) -> int:
        """The runs the figures are over."""
        return self.params.runs if self.runs_done is None else self.runs_done

    @property
    def status(self) -> str:
        """``"complete"``, or ``"time_limit"`` when the deadline stopped the runs early."""
        return "complete" if self.runs >= self.params.runs else "time_limit"

    def to_json(self) -> dict[str, Any]:
        """The ``sim.json`` document (DESIGN §10); cost figures in ``currency``."""
        countries = sorted(set(self.on_time_by_country) | set(self.fill_by_country))
        by_c = {
            c: {
                "on_time_share": self.on_time_by_country[c].to_json()
                if c in self.on_time_by_country
                else None,
                "fill_rate": self.fill_by_country[c].to_json()
                if c in self.fill_by_country
                else None,
            }
            for c in countries
        }
        return {
            "scenario": self.scenario,
            "status": self.status,
            "runs": self.runs,
            "runs_requested": self.params.runs,
            "seed": self.params.seed,
            "batch": self.params.batch if self.batch is None else self.batch,
            "on_time_share": {
                **self.on_time_share.to_json(),
                "by_country": {c: v.to_json() for c, v in self.on_time_by_country.items()},
            },
            "fill_rate": {
                **self.fill_rate.to_json(),
                "by_country": {c: v.to_json() for c, v in self.fill_by_country.items()},
            },
            "by_country": by_c,
            "stockout_units": self.stockout_units.to_json(),
            "cost": {**self.cost.to_json(), "plan": self.plan_cost},
            "currency": self.currency,
            "plan_on_time_share": self.plan_on_time_share,
            "seconds": self.seconds,
        }


# -- set-up: the plan's flows as dense/sparse arrays ------------------------------------------


@dataclass(frozen=True, slots=True)
class _Options:
    """Used options of one kind: fixed hours and incidence on the random lanes."""

    fixed: F
    inc: sp.csr_matrix  # (options, random lanes)


def _options(
    opts: PathOptions, idx: I, data: NetworkData, lane_pos: dict[int, int], n_rl: int
) -> _Options:
    rows: list[int] = []
    cols: list[int] = []
    fixed = opts.hours[idx].astype(float).copy()
    cv = data.lane_time_cv if len(data.lane_time_cv) else np.zeros(len(data.lanes))
    mh = data.lane_hours if len(data.lane_hours) else np.zeros(len(data.lanes))
    for r, i in enumerate(idx.tolist()):
        for ln in opts.lanes_of(i).tolist():
            if cv[ln] > 0 and mh[ln] > 0:
                rows.append(r)
                cols.append(lane_pos[ln])
                fixed[r] -= mh[ln]
    inc = sp.csr_matrix(
        (np.ones(len(rows)), (np.asarray(rows, np.int64), np.asarray(cols, np.int64))),
        shape=(len(idx), n_rl),
    )
    return _Options(fixed, inc)


def _random_lanes(data: NetworkData, groups: list[tuple[PathOptions, I]]) -> I:
    if not data.has_time_risk:
        return np.zeros(0, np.int64)
    used: set[int] = set()
    for opts, idx in groups:
        for i in np.unique(idx).tolist():
            used.update(opts.lanes_of(i).tolist())
    lanes = np.array(sorted(used), np.int64)
    keep = (data.lane_time_cv[lanes] > 0) & (data.lane_hours[lanes] > 0)
    return lanes[keep]


@dataclass(frozen=True, slots=True)
class _Lognormal:
    """The lognormal law of :func:`_demand` for given means and CVs, worked out once: a
    demand whose mean and CV do not change between runs draws from it batch after batch."""

    mean: F
    pos: npt.NDArray[np.bool_]
    mu: F
    sigma: F

    @classmethod
    def of(cls, mean: F, cv: F) -> _Lognormal:
        pos = (cv > 0) & (mean > 0)
        s2 = np.log1p(np.where(pos, cv, 0.0) ** 2)
        with np.errstate(divide="ignore"):
            mu = np.log(np.where(pos, mean, 1.0)) - s2 / 2.0
        return cls(mean, pos, mu, np.sqrt(s2))

    def draw(self, rng: np.random.Generator, shape: tuple[int, ...]) -> F:
        """Draws of ``shape`` (the law's shape or rows of it: runs × pairs)."""
        z = rng.standard_normal(shape)
        return np.where(self.pos, np.exp(self.mu + self.sigma * z), self.mean)


def _demand(rng: np.random.Generator, mean: F, cv: F) -> F:
    """Lognormal draws with the given means and CVs (``cv = 0`` or ``mean = 0``: the mean)."""
    return _Lognormal.of(mean, cv).draw(rng, mean.shape)


def _p_above(rate: F, cv: F, L: F, level: F) -> F:
    """P(demand over ``L`` days > ``level``) for the lognormal demand of :func:`_demand`
    (mean ``rate·L``, CV ``cv/√L``); a step where that law is degenerate."""
    mean = rate * L
    pos = (mean > 0) & (cv > 0)
    cv_l = np.where(pos, cv / np.sqrt(np.where(pos, L, 1.0)), 0.0)
    s2 = np.log1p(cv_l**2)
    with np.errstate(divide="ignore", invalid="ignore"):
        z = (np.log(np.maximum(level, 1e-300)) - np.log(np.where(pos, mean, 1.0)) + s2 / 2) / (
            np.sqrt(np.where(pos, s2, 1.0))
        )
    p = 0.5 * sp_special.erfc(z / math.sqrt(2.0))
    return np.where(pos, np.where(level > 0, p, 1.0), (mean > level).astype(float))


@dataclass(frozen=True, slots=True)
class _Countries:
    """The countries with demand or deliveries, each zone's country index, and per country the
    units the plan loses and the units it ships direct."""

    names: list[str]
    index: dict[str, int]
    zone_country: npt.NDArray[np.int64]
    lost: F
    direct: F


def _countries(data: NetworkData, fl: PlanFlows) -> _Countries:
    # countries and planned demand / lost units per country
    zc = np.array(data.zone_country)
    countries = sorted(
        set(zc[data.dem_zone[data.dem_units > 0]].tolist()) | set(zc[fl.f_zone].tolist())
    )
    c_of = {c: i for i, c in enumerate(countries)}
    C = len(countries)
    zone_c = np.array([c_of.get(c, -1) for c in data.zone_country], np.int64)
    Zn = len(data.zones)
    # served per (sku, zone) to find the plan's lost units, as the evaluator does
    nz = max(1, Zn)
    key_d = flat_key(data.dem_sku, nz, data.dem_zone)  # int64: the demand indices are narrow
    key_f = flat_key(fl.f_sku, nz, fl.f_zone)
    keys, inv = np.unique(np.r_[key_d, key_f], return_inverse=True)
    d_k = np.bincount(inv[: len(key_d)], weights=data.dem_units, minlength=len(keys))
    s_k = np.bincount(inv[len(key_d) :], weights=fl.f_units, minlength=len(keys))
    lost_k = np.maximum(d_k - s_k, 0.0)
    # a country whose demand rows all have 0 units (and no flows) is no country here: its
    # rows lose nothing
    c_k = zone_c[keys % nz]
    has_c = c_k >= 0
    lost_c = np.bincount(c_k[has_c], weights=lost_k[has_c], minlength=C)
    direct_c = np.bincount(
        zone_c[fl.f_zone[fl.f_direct]], weights=fl.f_units[fl.f_direct], minlength=C
    )

    return _Countries(
        countries, c_of, zone_c, np.asarray(lost_c, dtype=float), np.asarray(direct_c, dtype=float)
    )


@dataclass(frozen=True, slots=True)
class _StockPairs:
    """The (SKU, warehouse) pairs the plan ships from stock: demand rate per day, demand cv,
    stocking level, each pair's share of units per country, and its inbound options as
    cumulative choice probabilities (``choice`` -1 where a pair has fewer options)."""

    n: int
    rate: F
    cv: F
    level: F
    share: F
    choice: npt.NDArray[np.int64]
    cum: F
    has_in: npt.NDArray[np.bool_]
    pool: F
    """Units per day a pair ships from tonight's state (lots used there, transfers in, resold
    returns: format v1.1) rather than from new inbound; 0 for a plan without state."""


def _stock_pairs(
    data: NetworkData,
    fl: PlanFlows,
    zone_c: npt.NDArray[np.int64],
    C: int,
    inv_i: npt.NDArray[np.int64],
    with_state: bool = False,
) -> _StockPairs:
    H = float(data.horizon_days)
    ob = ~fl.f_direct
    # (SKU, warehouse) pairs shipping from stock: demand rate, stocking level, inbound choice
    W = len(data.warehouses)
    kw_f = fl.f_sku[ob] * W + fl.f_wh[ob]
    kws, kw_inv = np.unique(kw_f, return_inverse=True)
    KW = len(kws)
    d_rate = np.bincount(kw_inv, weights=fl.f_units[ob], minlength=KW) / H
    k_of = kws // W
    cv_d = data.sku.demand_cv[k_of] if KW else np.zeros(0)

    def pair_of(sku: I, wh: I) -> I:
        """The pair index of each (SKU, warehouse), -1 for a pair that ships nothing."""
        key = sku.astype(np.int64) * W + wh
        if not KW:
            return np.full(len(key), -1, np.int64)
        j = np.minimum(np.searchsorted(kws, key), KW - 1)
        return np.where(kws[j] == key, j, -1)

    s_kw = pair_of(fl.s_sku, fl.s_wh)
    S: F = np.bincount(s_kw[s_kw >= 0], weights=fl.s_units[s_kw >= 0], minlength=KW).astype(float)
    share_kc = np.zeros((KW, C))
    np.add.at(share_kc, (kw_inv, zone_c[fl.f_zone[ob]]), fl.f_units[ob])
    share_kc /= np.maximum(share_kc.sum(axis=1, keepdims=True), 1e-300)
    # inbound rows per pair, as cumulative choice probabilities over at most m rows
    r_kw = pair_of(fl.r_sku, fl.r_wh)
    ok = (r_kw >= 0) & (fl.r_units > 0)
    order = np.lexsort((np.arange(len(r_kw)), r_kw))
    order = order[ok[order]]
    cnt = np.bincount(r_kw[order], minlength=KW)
    m = int(cnt.max()) if KW and len(order) else 0
    rank = np.arange(len(order)) - np.repeat(np.cumsum(cnt) - cnt, cnt)
    choice = np.full((KW, max(m, 1)), -1, np.int64)
    weight = np.zeros((KW, max(m, 1)))
    choice[r_kw[order], rank] = inv_i[order]
    weight[r_kw[order], rank] = fl.r_units[order]
    cum = np.cumsum(weight, axis=1) / np.maximum(weight.sum(axis=1, keepdims=True), 1e-300)
    has_in = choice[:, 0] >= 0
    pool = np.zeros(KW)
    if with_state and KW:
        # what new inbound does not bring was served from tonight's state
        new_in = np.bincount(r_kw[ok], weights=fl.r_units[ok], minlength=KW)
        pool = np.maximum(d_rate * H - new_in, 0.0) / H

    return _StockPairs(KW, d_rate, cv_d, S, share_kc, choice, cum, has_in, pool)


def shortest_simulate_limit(rows: int) -> float:
    """The shortest time limit a simulation of a plan of ``rows`` rows (fulfilment,
    replenishment and stock) can keep: one batch and the work that grows with the plan."""
    return SIMULATE_FIXED_S + SIMULATE_S_PER_PLAN_ROW * rows


def check_simulate_limit(limit: float, rows: int) -> None:
    """Raise :class:`~optimizer.exceptions.TimeLimitError` naming the shortest limit when
    ``limit`` is shorter than :func:`shortest_simulate_limit`."""
    TimeLimitError.check(
        limit,
        shortest_simulate_limit(rows),
        f"a simulation of a plan of {rows:,} rows: reading the plan and its scenario, one batch "
        "of runs and the files",
    )


def simulate_plan(
    data: NetworkData,
    plan: Plan,
    params: SimParams | None = None,
    *,
    deadline: float | None = None,
    progress: PhaseReport | None = None,
) -> SimResult:
    """Simulate ``plan`` (made for ``data``); see the module doc.

    ``deadline`` is a :func:`time.perf_counter` instant: the runs stop at the last whole batch
    that ends before it (module doc, "Time limit"). ``progress`` is told the runs done after
    each batch.

    Raises
    ------
    InvalidNetworkError
        If the plan lists a flow that is no option of the network (the row is named).
    """
    params = params or SimParams()
    t0 = time.perf_counter()
    rng = np.random.default_rng(params.seed)
    svc = data.service
    H = float(data.horizon_days)
    R = float(svc.review_period_days)
    promise = float(svc.promise_hours)
    fl: PlanFlows = plan_flows(data, plan)

    cs = _countries(data, fl)
    c_of, C, zone_c = cs.index, len(cs.names), cs.zone_country
    lost_c, direct_c = cs.lost, cs.direct
    # fulfilment options used, units per (option, country)
    ob = ~fl.f_direct
    uo, inv_o = np.unique(fl.f_opt[ob], return_inverse=True)
    ud, inv_d = np.unique(fl.f_opt[fl.f_direct], return_inverse=True)
    # inbound options used
    ui, inv_i = np.unique(fl.r_opt, return_inverse=True)
    rl = _random_lanes(data, [(data.outbound, uo), (data.direct, ud), (data.inbound, ui)])
    lane_pos = {int(ln): j for j, ln in enumerate(rl.tolist())}
    n_rl = len(rl)
    o_opts = _options(data.outbound, uo, data, lane_pos, n_rl)
    d_opts = _options(data.direct, ud, data, lane_pos, n_rl)
    i_opts = _options(data.inbound, ui, data, lane_pos, n_rl)
    f_fixed = np.r_[o_opts.fixed, d_opts.fixed]
    f_inc = sp.vstack([o_opts.inc, d_opts.inc]).tocsr()
    f_row_opt = np.zeros(len(fl.f_opt), np.int64)
    f_row_opt[ob] = inv_o
    f_row_opt[fl.f_direct] = len(uo) + inv_d
    units_oc = np.zeros((len(f_fixed), C))
    np.add.at(units_oc, (f_row_opt, zone_c[fl.f_zone]), fl.f_units)
    shipped_c = units_oc.sum(axis=0)
    shipped = float(shipped_c.sum())
    mu, sig = (
        lognormal_params(data.lane_hours[rl], data.lane_time_cv[rl])
        if n_rl
        else (
            np.zeros(0),
            np.zeros(0),
        )
    )

    with_state = bool(plan.inventory or plan.transfers or plan.returns)
    sp_ = _stock_pairs(data, fl, zone_c, C, inv_i, with_state)
    KW, d_rate, cv_d, S, share_kc = sp_.n, sp_.rate, sp_.cv, sp_.level, sp_.share
    pool = sp_.pool
    choice, cum, has_in = sp_.choice, sp_.cum, sp_.has_in
    n_cyc = max(1, round(H / R)) if R > 0 else 1
    scale = H / (n_cyc * R) if R > 0 else 1.0

    # plan cost without the terms the simulation redraws
    cost = plan.cost.terms() if plan.cost is not None else {}
    base_cost = float(sum(cost.values())) - float(cost.get("late_penalty", 0.0))
    late_pen = float(svc.late_penalty_per_unit)
    lost_pen = float(svc.lost_sale_penalty_per_unit)

    N = params.runs
    on_share = np.zeros(N)
    on_c = np.zeros((N, C))
    fill = np.zeros(N)
    fill_c = np.zeros((N, C))
    stockout = np.zeros(N)
    run_cost = np.zeros(N)

    def lane_draws(b: int) -> F:
        return np.exp(mu + sig * rng.standard_normal((b, n_rl)))

    say = progress or quiet
    done = 0
    t_runs = time.perf_counter()
    # demand over the horizon (continuous review) or a review period: the same law every run
    law_h = _Lognormal.of(d_rate * H, cv_d / math.sqrt(max(H, 1e-300)))
    law_r = _Lognormal.of(d_rate * R, cv_d / math.sqrt(max(R, 1e-300)))
    width = max(KW, len(f_fixed), len(ui), 1)
    batch = max(1, min(params.batch, MAX_BATCH_CELLS // width))
    for a in range(0, N, batch):
        b = min(batch, N - a)
        if deadline is not None and a > 0:
            # the next batch starts only when the batches so far say it ends in time (its
            # runs are the rest of one seeded stream: stopping here keeps the first a runs)
            per_run = (time.perf_counter() - t_runs) / a
            if time.perf_counter() + per_run * b > deadline:
                break
        sl = slice(a, a + b)
        # -- on time: one draw per random lane per run -----------------------------------------
        hrs = (
            f_fixed + (f_inc @ lane_draws(b).T).T
            if n_rl
            else np.broadcast_to(f_fixed, (b, len(f_fixed)))
        )
        on = (hrs <= promise + TOL_HOURS).astype(float)
        onu_c = on @ units_oc  # (b, C)
        on_c[sl] = onu_c / np.where(shipped_c > 0, shipped_c, 1.0)
        on_units = onu_c.sum(axis=1)
        on_share[sl] = on_units / shipped if shipped > 0 else 1.0
        late_units = shipped - on_units
        # -- stock: n_cyc review cycles per run -----------------------------------------------
        short = np.zeros((b, KW))
        dem = np.zeros((b, KW))
        for _ in range(n_cyc):
            lt_opt = (
                i_opts.fixed + (i_opts.inc @ lane_draws(b).T).T
                if n_rl
                else np.broadcast_to(i_opts.fixed, (b, len(i_opts.fixed)))
            )
            u = rng.random((b, KW))
            pick = np.zeros((b, KW), np.int64)
            for j in range(1, choice.shape[1]):
                pick += u > cum[None, :, j - 1]
            chosen = choice[np.arange(KW)[None, :], pick]
            if len(ui):
                lt = np.take_along_axis(lt_opt, np.maximum(chosen, 0), axis=1)
                L = np.where(has_in[None, :], lt, 0.0) / 24.0
            else:
                L = np.zeros((b, KW))
            if R <= 0:  # continuous review: the limit of ever shorter cycles
                d_h = law_h.draw(rng, (b, KW))
                short += np.maximum(d_h - pool * H, 0.0) * _p_above(d_rate, cv_d, L, S + pool * L)
                dem += d_h
                continue
            d_l = _demand(
                rng, d_rate * L, np.broadcast_to(cv_d / np.sqrt(np.maximum(L, 1e-300)), L.shape)
            )
            d_r = law_r.draw(rng, (b, KW))
            # the order-up-to level S covers what tonight's state does not (``pool``); the
            # net demand falls where the state supplies more than a cycle's demand, and a
            # cycle's stockout is never negative (it used to be: runs with a fill rate of 110 %
            # and a cost below the plan's)
            net_l = d_l - pool * L
            net = net_l + d_r - pool * R
            short += np.maximum(np.maximum(net - S, 0.0) - np.maximum(net_l - S, 0.0), 0.0)
            dem += d_r
        short *= scale
        dem *= scale
        so_c = short @ share_kc
        wd_c = dem @ share_kc
        tot_c = wd_c + direct_c + lost_c
        fill_c[sl] = 1.0 - (so_c + lost_c) / np.where(tot_c > 0, tot_c, 1.0)
        tot = tot_c.sum(axis=1)
        so = so_c.sum(axis=1)
        fill[sl] = 1.0 - (so + lost_c.sum()) / np.where(tot > 0, tot, 1.0)
        stockout[sl] = so
        run_cost[sl] = base_cost + late_pen * late_units + lost_pen * so
        done = a + b
        say(f"simulating: {done:,} of {N:,} runs")

    if done < N:
        on_share, on_c, fill, fill_c = on_share[:done], on_c[:done], fill[:done], fill_c[:done]
        stockout, run_cost = stockout[:done], run_cost[:done]
    plan_on = float(sum(float(r.units) for r in plan.fulfilment or () if r.on_time))
    return SimResult(
        scenario=plan.scenario or data.name,
        params=params,
        on_time_share=Interval.of(on_share),
        fill_rate=Interval.of(fill),
        on_time_by_country={
            c: Interval.of(on_c[:, i]) for c, i in c_of.items() if shipped_c[i] > 0
        },
        fill_by_country={c: Interval.of(fill_c[:, i]) for c, i in c_of.items()},
        stockout_units=Quantiles.of(stockout),
        cost=Quantiles.of(run_cost),
        plan_on_time_share=plan_on / shipped if shipped > 0 else 1.0,
        plan_cost=float(sum(cost.values())),
        seconds=time.perf_counter() - t0,
        per_run={
            "on_time_share": on_share,
            "fill_rate": fill,
            "cost": run_cost,
            "stockout_units": stockout,
        },
        currency=plan.currency,
        runs_done=done,
        batch=batch,
    )


def write_simulation(
    result: SimResult, out_dir: str | Path, *, draw: bool = True
) -> dict[str, Path]:
    """Write ``sim.json`` and (``draw``) ``sim.png``, histograms of the run values."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths = {"sim": out / "sim.json"}
    paths["sim"].write_text(
        json.dumps(result.to_json(), indent=1, allow_nan=False) + "\n", encoding="utf-8"
    )
    if draw and result.per_run:
        import matplotlib

        matplotlib.use("Agg", force=True)
        import matplotlib.pyplot as plt

        fig, axes = plt.subplots(1, 3, figsize=(13, 3.8))
        for ax, key, label in zip(
            axes,
            ("on_time_share", "fill_rate", "cost"),
            ("on-time share of shipped units", "fill rate", "cost"),
            strict=True,
        ):
            ax.hist(result.per_run[key], bins=50, color="#1f77b4")
            ax.set_title(label)
            ax.set_ylabel("runs")
        fig.suptitle(f"{result.scenario}: {result.runs} runs, seed {result.params.seed}")
        fig.tight_layout()
        paths["png"] = out / "sim.png"
        fig.savefig(paths["png"], dpi=90)
        plt.close(fig)
    return paths
