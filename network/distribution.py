"""Random lane hours (DESIGN §10): lognormal lanes and the distribution of their sums.

A lane with ``time_cv = c > 0`` and mean hours ``m`` takes lognormal hours with
``σ² = ln(1 + c²)`` and ``μ = ln(m) − σ²/2`` (so the mean is ``m`` and the coefficient of
variation ``c``); lanes are independent; node hours (origin handling, warehouse processing)
are fixed. An option's order-to-door hours are its fixed hours plus the sum of its lanes' hours.

:func:`sum_cdf` computes ``P(fixed + Σ_j X_j ≤ t)`` for many rows at once (numpy, no Python
loop over rows):

- no random lane: ``1`` if ``fixed ≤ t + 1e-9`` else ``0`` — exactly the mean-hours rule the
  allocation model uses without ``promise_probability``;
- one random lane: the lognormal CDF in closed form (``scipy.special.ndtr``);
- two or more: **numeric convolution on a grid with rigorous bounds** (not a normal
  approximation, not a sample). Each ``X_j`` is first replaced by ``max(X_j, L_j)`` with
  ``L_j`` its ``1e-7`` quantile (changing the answer by at most ``Σ 1e-7``), shifted to start at
  0, and discretised on a grid of step ``h`` twice: rounded *up* to the grid (a sum that is never
  smaller, hence a lower bound on the CDF) and rounded *down* (an upper bound). The two
  discrete sums are convolved with FFTs and read at ``t``. The true probability lies in
  ``[lo, hi]``; :attr:`CdfBracket.p` is the midpoint, so its error is at most
  ``(hi − lo)/2``. The grid is refined (up to ``MAX_GRID`` points) for rows whose bracket is
  wider than ``WIDTH`` (0.2 percentage points), so ``p`` is right to ±0.1 pp in all but
  pathological cases, and :attr:`CdfBracket.hi` − :attr:`CdfBracket.lo` says so when not.

:func:`option_on_time` applies this to compiled network options (``PathOptions`` + the lane
arrays of ``NetworkData``) and :func:`on_time_mask` turns it into the model's on-time test:
``P(hours ≤ promise) ≥ promise_probability``, or the mean-hours rule when the scenario gives no
``promise_probability``.

It lives in ``network`` because it is a property of the compiled lane network that the
allocation model, the evaluator and the risk tools (:mod:`optimizer.risk`) all read.

Limitation: the Pareto path search (:mod:`network.paths`) keeps paths that are efficient in
(cost, *mean* hours); a slower but steadier path that it pruned is not offered to the model.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from scipy.special import ndtr, ndtri

from network.compile import NetworkData, PathOptions

__all__ = [
    "MAX_GRID",
    "TOL_HOURS",
    "WIDTH",
    "CdfBracket",
    "lognormal_params",
    "on_time_mask",
    "option_on_time",
    "option_random_lanes",
    "sample_lognormal",
    "sum_cdf",
]

F = npt.NDArray[np.float64]
I = npt.NDArray[np.int64]
B = npt.NDArray[np.bool_]

#: Hours of slack in the deterministic rule ``hours ≤ promise`` (as in the allocation model).
TOL_HOURS = 1e-9
#: Target width of the bracket ``hi − lo`` (probability), refined until met or ``MAX_GRID``.
WIDTH = 2e-3
#: First and largest number of grid steps between the lower quantile and ``t``.
FIRST_GRID = 1024
MAX_GRID = 65536
#: Lower-tail mass cut from each lane before discretising (bounded in the bracket).
EPS = 1e-7
#: Grid cells (rows × lanes × points) evaluated per numpy batch (bounds memory to ~100 MB).
BATCH_CELLS = 4_000_000


@dataclass(frozen=True, slots=True)
class CdfBracket:
    """``P(S ≤ t)`` per row: the estimate ``p`` and bounds ``lo ≤ P ≤ hi``."""

    p: F
    lo: F
    hi: F

    @property
    def error(self) -> F:
        """Largest possible error of ``p`` per row (half the bracket width)."""
        return (self.hi - self.lo) / 2.0


def lognormal_params(mean: F | float, cv: F | float) -> tuple[F, F]:
    """``(μ, σ)`` of the lognormal with this mean and coefficient of variation.

    >>> mu, s = lognormal_params(np.array([10.0]), np.array([0.5]))
    >>> round(float(np.exp(mu[0] + s[0] ** 2 / 2)), 9)
    10.0
    """
    m = np.asarray(mean, float)
    c = np.asarray(cv, float)
    s2 = np.log1p(c * c)
    with np.errstate(divide="ignore"):
        mu = np.log(m) - s2 / 2.0
    return mu, np.sqrt(s2)


def sample_lognormal(rng: np.random.Generator, mean: F, cv: F, size: tuple[int, ...]) -> F:
    """Draws of lognormal hours with the given means and CVs (broadcast over the last axis).

    Lanes with ``cv = 0`` return their mean exactly.
    """
    mu, s = lognormal_params(mean, cv)
    z = rng.standard_normal(size)
    out = np.exp(mu + s * z)
    return np.where(np.asarray(cv) > 0, out, np.asarray(mean, float))


def _lognorm_cdf(x: F, mu: F, s: F) -> F:
    with np.errstate(divide="ignore", invalid="ignore"):
        z = (np.log(np.maximum(x, 0.0)) - mu) / s
    out: F = np.where(x > 0, ndtr(z), 0.0)
    return out


def _grid_bounds(t: F, mu: F, s: F, act: B, grid: int) -> tuple[F, F]:
    """Bounds on ``P(Σ_j X_j ≤ t)`` for rows with several random lanes (see module doc)."""
    m = mu.shape[1]
    z = float(ndtri(EPS))
    low = np.where(act, np.exp(mu + s * z), 0.0)
    high = np.where(act, np.exp(mu - s * z), 0.0)
    tp = t - low.sum(axis=1)
    span = (high - low).sum(axis=1)
    clamped = tp >= span
    te = np.minimum(tp, span)
    pos = te > 0
    h = np.where(pos, te / grid, 1.0)
    k = np.arange(grid + 2, dtype=float)
    x = low[:, :, None] + h[:, None, None] * k  # (n, m, G+2): L + k·h
    cdf = _lognorm_cdf(x, mu[:, :, None], s[:, :, None])
    d = np.clip(np.diff(cdf, axis=2), 0.0, None)  # mass in (L + k h, L + (k+1) h], k = 0..G
    # rounded up: bin 0 holds Y = 0 (mass F(L)), bin k ≥ 1 the mass of ((k-1)h, kh]
    up = np.concatenate([cdf[:, :, :1], d[:, :, :grid]], axis=2)
    # rounded down: bin k holds the mass of (kh, (k+1)h], bin 0 also Y = 0
    dn = d.copy()
    dn[:, :, 0] += cdf[:, :, 0]
    delta = np.zeros(grid + 1)
    delta[0] = 1.0
    up = np.where(act[:, :, None], up, delta)
    dn = np.where(act[:, :, None], dn, delta)
    nfft = 2 * (grid + 1)

    def total(pmf: F) -> F:
        acc = pmf[:, 0, :]
        for j in range(1, m):
            prod = np.fft.rfft(acc, nfft, axis=1) * np.fft.rfft(pmf[:, j, :], nfft, axis=1)
            acc = np.fft.irfft(prod, nfft, axis=1)[:, : grid + 1]
        out: F = np.clip(acc, 0.0, None).sum(axis=1)
        return out

    lo = np.where(pos, np.minimum(total(up), 1.0), 0.0)
    cut = np.where(act, EPS, 0.0).sum(axis=1)
    hi = np.where(pos, np.minimum(total(dn) + cut, 1.0), np.minimum(cut, 1.0))
    hi = np.where(clamped, 1.0, hi)
    return lo, np.maximum(hi, lo)


def sum_cdf(fixed: F, mean: F, cv: F, t: F | float) -> CdfBracket:
    """``P(fixed + Σ_j X_j ≤ t)`` per row, ``X_j`` lognormal with the row's means and CVs.

    Parameters
    ----------
    fixed
        ``(n,)`` fixed hours per row.
    mean, cv
        ``(n, m)`` mean hours and coefficients of variation of the row's lanes; a lane with
        ``cv = 0`` is fixed at its mean (pad short rows with ``mean = cv = 0``).
    t
        The bound (hours), a scalar or ``(n,)``.

    Returns
    -------
    CdfBracket
        Estimate and rigorous bounds per row (see the module docstring for the method).

    >>> r = sum_cdf(np.array([18.0]), np.array([[30.0, 20.0]]), np.array([[0.0, 0.0]]), 72.0)
    >>> r.p.tolist(), r.lo.tolist()
    ([1.0], [1.0])
    """
    fixed = np.asarray(fixed, float)
    mean = np.asarray(mean, float)
    cv = np.asarray(cv, float)
    if mean.ndim != 2 or mean.shape[0] != len(fixed) or cv.shape != mean.shape:
        raise ValueError("mean and cv must have shape (len(fixed), m)")
    if np.any(mean < 0) or np.any(cv < 0) or not np.all(np.isfinite(mean) & np.isfinite(cv)):
        raise ValueError("lane means and CVs must be finite and non-negative")
    n = len(fixed)
    tt = np.broadcast_to(np.asarray(t, float), (n,))
    rnd = (cv > 0) & (mean > 0)
    base = fixed + np.where(rnd, 0.0, mean).sum(axis=1)
    slack = tt - base
    nr = rnd.sum(axis=1)
    lo = np.zeros(n)
    hi = np.zeros(n)
    # -- no random lane: the deterministic rule ---------------------------------------------
    r0 = nr == 0
    lo[r0] = hi[r0] = (slack[r0] >= -TOL_HOURS).astype(float)
    # -- one random lane: closed form ------------------------------------------------------
    r1 = np.flatnonzero(nr == 1)
    if len(r1):
        j = np.argmax(rnd[r1], axis=1)
        mu, s = lognormal_params(mean[r1, j], cv[r1, j])
        lo[r1] = hi[r1] = _lognorm_cdf(slack[r1], mu, s)
    # -- several: bracketed grid convolution, refined where too wide -------------------------
    rm = np.flatnonzero(nr >= 2)
    if len(rm):
        # pack each row's random lanes to the left so the lane axis is as short as possible
        order = np.argsort(~rnd[rm], axis=1, kind="stable")
        width = int(nr[rm].max())
        cols = order[:, :width]
        mr = np.take_along_axis(mean[rm], cols, axis=1)
        cr = np.take_along_axis(cv[rm], cols, axis=1)
        act = np.take_along_axis(rnd[rm], cols, axis=1)
        mu, s = lognormal_params(np.where(act, mr, 1.0), np.where(act, cr, 0.0))
        todo = np.arange(len(rm))
        grid = FIRST_GRID
        while len(todo):
            step = max(1, BATCH_CELLS // (width * (grid + 2)))
            for a in range(0, len(todo), step):
                sel = todo[a : a + step]
                lo_b, hi_b = _grid_bounds(slack[rm[sel]], mu[sel], s[sel], act[sel], grid)
                lo[rm[sel]] = lo_b
                hi[rm[sel]] = hi_b
            if grid >= MAX_GRID:
                break
            todo = todo[(hi[rm[todo]] - lo[rm[todo]]) > WIDTH]
            grid *= 2
    return CdfBracket((lo + hi) / 2.0, lo, hi)


def option_random_lanes(
    opts: PathOptions, data: NetworkData, idx: I | None = None
) -> tuple[F, F, F]:
    """``(fixed, mean, cv)`` of options ``idx`` (all by default) padded to ``(n, m)`` lanes.

    ``fixed`` is the option's hours minus the mean hours of its random lanes (start hours and
    fixed lanes); ``mean``/``cv`` list its random lanes (``time_cv > 0``) from the left.
    """
    n_all = len(opts)
    sel = np.arange(n_all) if idx is None else np.asarray(idx, np.int64)
    n = len(sel)
    hours = opts.hours[sel].astype(float)
    if not data.has_time_risk or n == 0:
        return hours, np.zeros((n, 0)), np.zeros((n, 0))
    starts = opts.lane_ptr[sel]
    counts = opts.lane_ptr[sel + 1] - starts
    owner = np.repeat(np.arange(n), counts)
    pos = np.arange(int(counts.sum())) - np.repeat(np.cumsum(counts) - counts, counts)
    lanes = opts.lane_idx[np.repeat(starts, counts) + pos]
    cv = data.lane_time_cv[lanes]
    mh = data.lane_hours[lanes]
    rnd = (cv > 0) & (mh > 0)
    ro = owner[rnd]
    nr = np.bincount(ro, minlength=n)
    width = int(nr.max()) if n else 0
    rank = np.arange(len(ro)) - np.repeat(np.cumsum(nr) - nr, nr)
    mean = np.zeros((n, width))
    cvs = np.zeros((n, width))
    mean[ro, rank] = mh[rnd]
    cvs[ro, rank] = cv[rnd]
    fixed = hours - mean.sum(axis=1)
    return fixed, mean, cvs


def option_on_time(opts: PathOptions, data: NetworkData, idx: I | None = None) -> CdfBracket:
    """``P(option hours ≤ promise)`` for options ``idx`` (all by default)."""
    fixed, mean, cv = option_random_lanes(opts, data, idx)
    return sum_cdf(fixed, mean, cv, float(data.service.promise_hours))


def on_time_mask(
    opts: PathOptions, data: NetworkData, idx: I | None = None, *, p: F | None = None
) -> B:
    """The model's on-time test for options ``idx`` (all by default).

    With ``service.promise_probability`` set: ``P(hours ≤ promise) ≥ promise_probability``
    (``p`` may pass the probabilities if already computed); otherwise the mean-hours rule
    ``hours ≤ promise``. With every ``time_cv = 0`` both give the same answer.
    """
    svc = data.service
    sel = np.arange(len(opts)) if idx is None else np.asarray(idx, np.int64)
    prob = getattr(svc, "promise_probability", None)
    if prob is None:
        return opts.hours[sel] <= float(svc.promise_hours) + TOL_HOURS
    if p is None:
        p = option_on_time(opts, data, sel).p
    return p >= float(prob) - 1e-12
