"""The solver backend: the only place that calls OR-Tools' ``model_builder`` (HiGHS, SCIP,
CP-SAT) or SciPy's HiGHS LP, with the native-stdout guard and the solver parameter strings.

Models are handed over as arrays (any object with the attributes of :class:`MatrixModel`);
what comes back is a :class:`RawSolve` (or :class:`SmallMip`) of numpy arrays and a
:class:`~optimizer.solver.status.Status`.
"""

from __future__ import annotations

import contextlib
import logging
import math
import os
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt
import scipy.sparse as sp
from ortools.linear_solver.python import model_builder_helper as mbh
from scipy.optimize import linprog

from optimizer.exceptions import SolverError
from optimizer.solver.status import Status

__all__ = [
    "MatrixModel",
    "RawSolve",
    "SmallMip",
    "SolverOptions",
    "SolverSettings",
    "hint_feasible",
    "native_stdout_to_stderr",
    "solve_lp_duals",
    "solve_model",
    "solve_small_mip",
]

log = logging.getLogger(__name__)

F = npt.NDArray[np.float64]
I = npt.NDArray[np.int64]


class MatrixModel(Protocol):
    """``min c·v  s.t.  row_lb ≤ A v ≤ row_ub,  lb ≤ v ≤ ub``, ``integer`` columns integral."""

    @property
    def c(self) -> F: ...
    @property
    def lb(self) -> F: ...
    @property
    def ub(self) -> F: ...
    @property
    def integer(self) -> I: ...
    @property
    def A(self) -> sp.csr_matrix: ...
    @property
    def row_lb(self) -> F: ...
    @property
    def row_ub(self) -> F: ...
    @property
    def n_vars(self) -> int: ...


class SolverOptions(Protocol):
    """The solver settings a solve reads (``AllocationParams`` has them)."""

    @property
    def solver(self) -> str: ...
    @property
    def relative_gap(self) -> float: ...
    @property
    def seed(self) -> int: ...
    @property
    def threads(self) -> int | None: ...


@dataclass(frozen=True, slots=True)
class SolverSettings:
    """Plain :class:`SolverOptions` (HiGHS, gap 1e-4, seed 0, the solver's threads)."""

    solver: str = "highs"
    relative_gap: float = 1e-4
    seed: int = 0
    threads: int | None = None


def _solver_params(params: SolverOptions, *, lp: bool) -> tuple[str, str]:
    if params.solver == "highs" or lp:
        lines = [
            "output_flag=false",
            f"mip_rel_gap={params.relative_gap}",
            f"random_seed={params.seed}",
        ]
        if params.threads is not None:
            lines.append(f"threads={params.threads}")
        return "highs", "\n".join(lines)
    if params.solver == "scip":
        return "scip", (
            f"limits/gap = {params.relative_gap}\nrandomization/randomseedshift = {params.seed}\n"
        )
    parts = [f"relative_gap_limit:{params.relative_gap}", f"random_seed:{params.seed}"]
    if params.threads is not None:
        parts.append(f"num_workers:{params.threads}")
    return "cp_sat", ", ".join(parts)


@dataclass(frozen=True, slots=True)
class RawSolve:
    """Values and status of one solver run (module-internal)."""

    status: Status
    values: F | None
    objective: float
    bound: float
    seconds: float
    duals: F | None = None


_FD_LOCK = threading.Lock()
_FD_STATE: dict[str, Any] = {"depth": 0, "saved": -1, "tmp": None}
#: Lines native solvers write to standard output that are debug noise, not results.
_NATIVE_NOISE = (b"HighsMipSolverData::transformNewIntegerFeasibleSolution",)


@contextlib.contextmanager
def native_stdout_to_stderr() -> Iterator[None]:
    """Keep native solver chatter off standard output while a solver runs.

    HiGHS 1.12 (inside OR-Tools 9.15) prints a debug line
    (``HighsMipSolverData::transformNewIntegerFeasibleSolution tmpSolver.run();``) straight to
    file descriptor 1 when a MIP finds certain incumbents, even with ``output_flag=false``;
    it would corrupt ``--json`` output and summaries. While solvers run, fd 1 goes to a
    temporary file; when the last one finishes, fd 1 is restored and whatever was written
    meanwhile, except those known noise lines, is passed on to standard error (so output of
    other threads is displaced, never lost). Re-entrant and thread-safe.
    """
    with _FD_LOCK:
        if _FD_STATE["depth"] == 0:
            with contextlib.suppress(AttributeError, OSError, ValueError):
                sys.stdout.flush()
            try:
                tmp = tempfile.TemporaryFile()  # noqa: SIM115 - closed when the guard ends
                _FD_STATE["saved"] = os.dup(1)
                os.dup2(tmp.fileno(), 1)
                _FD_STATE["tmp"] = tmp
            except OSError:
                _FD_STATE["saved"] = -1
                _FD_STATE["tmp"] = None
        _FD_STATE["depth"] += 1
    try:
        yield
    finally:
        with _FD_LOCK:
            _FD_STATE["depth"] -= 1
            if _FD_STATE["depth"] == 0 and _FD_STATE["saved"] >= 0:
                os.dup2(_FD_STATE["saved"], 1)
                os.close(_FD_STATE["saved"])
                _FD_STATE["saved"] = -1
                tmp = _FD_STATE["tmp"]
                _FD_STATE["tmp"] = None
                if tmp is not None:
                    tmp.seek(0)
                    kept = [
                        ln
                        for ln in tmp.read().splitlines(keepends=True)
                        if not ln.startswith(_NATIVE_NOISE)
                    ]
                    tmp.close()
                    if kept:
                        os.write(2, b"".join(kept))


def solve_model(
    model: MatrixModel,
    params: SolverOptions | None = None,
    *,
    time_limit: float | None = None,
    hint: F | None = None,
    relax: bool = False,
    cancel: threading.Event | None = None,
) -> RawSolve:
    """Run the solver on a built model.

    Parameters
    ----------
    model
        From :func:`build_allocation_model`.
    params
        Solver, gap, threads, seed (``params.time_limit`` is *not* read here).
    time_limit
        Seconds for this solver run (``None``: no limit).
    hint
        A full column vector to start from (only non-zeros are passed).
    relax
        Solve the LP relaxation (always with HiGHS).
    cancel
        Set this event from another thread to stop the solver early.

    Raises
    ------
    SolverError
        If the solver cannot run with these parameters.
    """
    params = params or SolverSettings()
    t0 = time.perf_counter()
    if model.A.shape[0] == 0:
        # nothing couples the columns: each sits at its cheaper bound
        v = np.where(model.c < 0, model.ub, model.lb)
        obj = float(model.c @ v)
        return RawSolve(Status.OPTIMAL, v, obj, obj, time.perf_counter() - t0)
    helper: Any = mbh.ModelBuilderHelper()  # OR-Tools' stubs mistype numpy arrays
    helper.fill_model_from_sparse_data(
        model.lb, model.ub, model.c, model.row_lb, model.row_ub, model.A
    )
    if not relax:
        for j in model.integer.tolist():
            helper.set_var_integrality(j, True)
    name, spec = _solver_params(params, lp=relax)
    hint_obj = math.nan
    if hint is not None and not relax and hint_feasible(model, hint):
        hint_obj = float(model.c @ hint)
        if name == "highs":
            # OR-Tools 9.15 crashes on HiGHS solution hints (model_builder add_hint segfaults),
            # so a feasible warm start is passed as an objective cutoff instead; if nothing
            # better exists the hint itself is returned below.
            cut = hint_obj + max(1e-7 * abs(hint_obj), 1e-6)
            spec += f"\nobjective_bound={cut!r}"
        else:
            nz = np.flatnonzero(np.abs(hint) > 1e-12)
            for j, val in zip(nz.tolist(), hint[nz].tolist(), strict=True):
                helper.add_hint(j, val)
    solver = mbh.ModelSolverHelper(name)
    if not solver.solver_is_supported():
        raise SolverError(f"solver {name!r} is not available in this OR-Tools build")
    if time_limit is not None and math.isfinite(time_limit):
        # the limit counts from this call, not from the solver's start: loading a large model
        # takes a second or two
        solver.set_time_limit_in_seconds(max(0.05, float(time_limit) - (time.perf_counter() - t0)))
    solver.set_solver_specific_parameters(spec)
    done = threading.Event()
    # HiGHS checks its time limit rarely inside a large root LP: a watchdog interrupts the
    # solve shortly after the limit (and at once when ``cancel`` is set)
    hard_stop = (
        t0 + max(0.05, float(time_limit)) + 1.0
        if time_limit is not None and math.isfinite(time_limit)
        else math.inf
    )

    def watch() -> None:
        while not done.wait(0.1):
            if (cancel is not None and cancel.is_set()) or time.perf_counter() > hard_stop:
                solver.interrupt_solve()
                return

    threading.Thread(target=watch, daemon=True).start()
    try:
        with native_stdout_to_stderr():
            solver.solve(helper)
    finally:
        done.set()
    st = solver.status()
    S = mbh.SolveStatus
    secs = time.perf_counter() - t0
    if st in (
        S.INVALID_SOLVER_PARAMETERS,
        S.MODEL_INVALID,
        S.SOLVER_TYPE_UNAVAILABLE,
        S.INCOMPATIBLE_OPTIONS,
    ):
        raise SolverError(f"{name}: {st.name}: {solver.status_string()}")
    use_hint = hint is not None and math.isfinite(hint_obj)
    if st == S.INFEASIBLE:
        if use_hint and name == "highs":
            # nothing beats the cutoff: the warm start is optimal
            return RawSolve(Status.OPTIMAL, np.asarray(hint, float), hint_obj, hint_obj, secs)
        return RawSolve(Status.INFEASIBLE, None, math.nan, math.inf, secs)
    has = solver.has_solution() if st not in (S.OPTIMAL, S.FEASIBLE) else True
    if not has and use_hint:
        b = _bound(solver)
        return RawSolve(Status.FEASIBLE, np.asarray(hint, float), hint_obj, min(b, hint_obj), secs)
    if not has:
        if st == S.ABNORMAL:
            log.warning("%s stopped abnormally: %s", name, solver.status_string())
        return RawSolve(Status.NO_SOLUTION, None, math.nan, _bound(solver), secs)
    vals = np.asarray(solver.variable_values(), dtype=float)
    status = Status.OPTIMAL if st == S.OPTIMAL else Status.FEASIBLE
    obj = float(solver.objective_value())
    bound = obj if (relax and status is Status.OPTIMAL) else _bound(solver)
    if status is Status.OPTIMAL and not math.isfinite(bound):
        bound = obj
    return RawSolve(status, vals, obj, bound, secs)


def solve_lp_duals(model: MatrixModel, *, time_limit: float | None = None) -> RawSolve:
    """Solve the LP relaxation with HiGHS through SciPy and return its row duals too.

    OR-Tools 9.15's model_builder returns the row activities in place of HiGHS's duals
    (``dual_values``), so the LPs whose duals are needed (Lagrangian multipliers, see
    :mod:`optimizer.allocation.lagrange`) go through :func:`scipy.optimize.linprog`. ``duals``
    follow
    HiGHS's sign convention: d objective / d row bound (≤ rows ≤ 0, ≥ rows ≥ 0 in a
    minimisation).
    """
    t0 = time.perf_counter()
    if model.n_vars == 0 or model.A.shape[0] == 0:
        # nothing couples the columns (linprog rejects an empty model): each at its cheaper
        # bound, every row's dual zero
        v = np.where(model.c < 0, model.ub, model.lb)
        obj = float(model.c @ v)
        if not np.all(np.isfinite(v)):
            return RawSolve(Status.NO_SOLUTION, None, math.nan, -math.inf, 0.0)
        return RawSolve(
            Status.OPTIMAL, v, obj, obj, time.perf_counter() - t0, np.zeros(model.A.shape[0])
        )
    A = model.A.tocsr()
    lo, hi = model.row_lb, model.row_ub
    eq = np.isfinite(lo) & np.isfinite(hi) & (np.abs(hi - lo) <= 1e-12 * (1 + np.abs(lo)))
    up = np.isfinite(hi) & ~eq
    dn = np.isfinite(lo) & ~eq
    iu, idn, ie = np.flatnonzero(up), np.flatnonzero(dn), np.flatnonzero(eq)
    A_ub = sp.vstack([A[iu], -A[idn]]).tocsr()
    b_ub = np.r_[hi[iu], -lo[idn]]
    opts: dict[str, Any] = {"presolve": True}
    if time_limit is not None and math.isfinite(time_limit):
        opts["time_limit"] = max(0.1, float(time_limit))
    res = linprog(
        model.c,
        A_ub=A_ub if A_ub.shape[0] else None,
        b_ub=b_ub if A_ub.shape[0] else None,
        A_eq=A[ie] if len(ie) else None,
        b_eq=lo[ie] if len(ie) else None,
        bounds=np.column_stack([model.lb, model.ub]),
        method="highs",
        options=opts,
    )
    secs = time.perf_counter() - t0
    if res.status == 2:
        return RawSolve(Status.INFEASIBLE, None, math.nan, math.inf, secs)
    if res.status != 0 or res.x is None:
        return RawSolve(Status.NO_SOLUTION, None, math.nan, -math.inf, secs)
    duals = np.zeros(A.shape[0])
    m_ub = res.ineqlin.marginals if len(b_ub) else np.zeros(0)
    duals[iu] = m_ub[: len(iu)]
    duals[idn] -= m_ub[len(iu) :]
    if len(ie):
        duals[ie] = res.eqlin.marginals
    obj = float(res.fun)
    return RawSolve(Status.OPTIMAL, np.asarray(res.x, float), obj, obj, secs, duals)


def hint_feasible(model: MatrixModel, v: F, tol: float = 1e-6) -> bool:
    """Whether a column vector satisfies every bound, row and integrality of the model."""
    if v.shape != (model.n_vars,):
        return False
    if np.any(v < model.lb - tol) or np.any(v > model.ub + tol):
        return False
    if np.any(np.abs(v[model.integer] - np.round(v[model.integer])) > tol):
        return False
    act = model.A @ v
    scale = 1.0 + np.abs(act)
    return bool(
        np.all(act >= model.row_lb - tol * scale) and np.all(act <= model.row_ub + tol * scale)
    )


def _bound(solver: Any) -> float:
    try:
        b = float(solver.best_objective_bound())
    except Exception:
        return -math.inf
    return b if math.isfinite(b) else -math.inf


@dataclass(frozen=True, slots=True)
class SmallMip:
    """What :func:`solve_small_mip` returns. ``status``: ``"optimal"``, ``"feasible"`` (stopped
    with a solution), ``"infeasible"`` or ``"none"``; ``objective`` / ``bound`` are ``nan``
    when the solver reports none; ``x`` is ``None`` without a solution."""

    status: str
    objective: float
    bound: float
    x: F | None
    seconds: float


def solve_small_mip(
    lb: F,
    ub: F,
    c: F,
    rl: F,
    ru: F,
    A: sp.spmatrix,
    integer: I,
    solver_name: str,
    limit: float,
    params: str,
) -> SmallMip:
    """``min c·x  s.t.  rl ≤ A·x ≤ ru,  lb ≤ x ≤ ub``, the ``integer`` columns integral, by
    OR-Tools' ``model_builder`` (HiGHS or SCIP; ``params`` in the solver's own syntax). The
    small masters of the bounds (here, :mod:`optimizer.allocation.capacity_bound`) all go through
    it."""
    helper: Any = mbh.ModelBuilderHelper()  # OR-Tools' stubs mistype numpy arrays
    helper.fill_model_from_sparse_data(lb, ub, c, rl, ru, A)
    for j in np.asarray(integer, np.int64).tolist():
        helper.set_var_integrality(j, True)
    solver = mbh.ModelSolverHelper(solver_name)
    solver.set_time_limit_in_seconds(max(0.05, float(limit)))
    if params:
        solver.set_solver_specific_parameters(params)
    t0 = time.perf_counter()
    with native_stdout_to_stderr():
        solver.solve(helper)
    secs = time.perf_counter() - t0
    S = mbh.SolveStatus
    st = solver.status()
    name = {S.OPTIMAL: "optimal", S.FEASIBLE: "feasible", S.INFEASIBLE: "infeasible"}.get(
        st, "none"
    )
    if not solver.has_solution() or name not in ("optimal", "feasible"):
        return SmallMip(
            "infeasible" if name == "infeasible" else "none", math.nan, math.nan, None, secs
        )
    return SmallMip(
        name,
        float(solver.objective_value()),
        float(solver.best_objective_bound()),
        np.asarray(solver.variable_values(), float),
        secs,
    )
