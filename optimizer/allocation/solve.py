"""The allocation strategy for one monolithic model: an incumbent first when the MIP is large,
then the MIP (:mod:`optimizer.allocation.mip`). See :mod:`optimizer.allocation` for the
formulation and the reasons."""

from __future__ import annotations

import math
import threading
import time
from dataclasses import replace

import numpy as np
import numpy.typing as npt

from network.compile import NetworkData
from optimizer.allocation.columns import Columns, cost_terms
from optimizer.allocation.incumbent import (
    heuristic_incumbent,
    lagrangian_incumbent,
)
from optimizer.allocation.mip import prepare, run_prepared
from optimizer.allocation.model import values_from_solution
from optimizer.allocation.params import AllocationParams
from optimizer.allocation.result import AllocationResult, Solution, SolveStats
from optimizer.allocation.transport import TransportPricer
from optimizer.progress import PhaseReport
from optimizer.solver import Status, hint_feasible

__all__ = ["INCUMBENT_MIN_VARS", "solve_allocation"]

F = npt.NDArray[np.float64]

#: Models with at least this many variables get a heuristic incumbent before the MIP (HiGHS
#: may not finish their root LP: capa-8000's 101k-column LP took over 120 s).
INCUMBENT_MIN_VARS = 60_000
#: Largest (demand pairs × warehouses) for the dense Lagrangian of :func:`lagrangian_incumbent`.
LAGRANGE_MAX_CELLS = 5_000_000


def solve_allocation(
    data: NetworkData,
    params: AllocationParams | None = None,
    *,
    columns: Columns | None = None,
    hint: Solution | None = None,
    y_fixed: F | None = None,
    deadline: float | None = None,
    cancel: threading.Event | None = None,
    on_phase: PhaseReport | None = None,
) -> AllocationResult:
    """Solve the monolithic allocation model, with an incumbent search first when it is large.

    Parameters are those of :func:`optimizer.allocation.mip.solve_mip`. A MIP of at least
    ``INCUMBENT_MIN_VARS`` columns without a feasible warm start first gets a plan from
    :func:`~optimizer.allocation.incumbent.lagrangian_incumbent` (or, when the dense
    Lagrangian is too large, :func:`~optimizer.allocation.incumbent.heuristic_incumbent`),
    given to the solver as a cutoff and returned if it finds nothing better.
    """
    params = params or AllocationParams()
    prep = prepare(
        data,
        params,
        columns=columns,
        hint=hint,
        y_fixed=y_fixed,
        deadline=deadline,
        on_phase=on_phase,
    )
    model, cols, notes, stats = prep.model, prep.cols, prep.notes, prep.stats
    t0, deadline, phase = prep.t0, prep.deadline, prep.phase
    inc: Solution | None = None
    lag_bound = -math.inf
    if (
        (prep.hint is None or not hint_feasible(model, prep.hint))
        and y_fixed is None
        and len(model.integer)
        and model.n_vars >= INCUMBENT_MIN_VARS
        and not cols.has_state  # the incumbent searches know no v1.1 block
    ):
        # a large MIP may not finish its root LP in time: find a plan first (at most half the
        # time), given to the solver as a cutoff and returned if it finds nothing better
        W = len(data.warehouses)
        P = len(cols.p_dem)
        if P * W <= LAGRANGE_MAX_CELLS:
            phase("Lagrangian relaxation of the demand rows, then warehouse sets by bound")
            inc, lag_bound, proven, info, (fix_lb, fix_ub) = lagrangian_incumbent(
                data,
                params,
                cols,
                model.lb[:W],
                model.ub[:W],
                deadline,
                cancel,
                phase,
                targets=model.targets,
            )
            stats.update(info)
            stats["incumbent_s"] = time.perf_counter() - t0
            if inc is not None and not proven:
                # warehouses fixed by the penalty tests: the MIP searches the rest only
                # (sets excluded cannot beat the incumbent, so the optimum is kept)
                model.lb[:W], model.ub[:W] = fix_lb, fix_ub
                shut = fix_ub == 0
                nx_ = len(cols.x_pair)
                model.ub[model.off["x"] : model.off["x"] + nx_][shut[cols.x_wh]] = 0.0
                model.ub[model.off["f"] : model.off["f"] + len(cols.f_sku)][shut[cols.f_wh]] = 0.0
                model = replace(
                    model,
                    integer=model.integer[
                        (model.integer >= W)
                        | (
                            model.lb[np.minimum(model.integer, W - 1)]
                            < model.ub[np.minimum(model.integer, W - 1)]
                        )
                    ],
                )
            if inc is not None and proven:
                cost = cost_terms(data, cols, inc)
                obj = float(sum(cost.values()))
                notes.append(
                    "optimal by Lagrangian enumeration: every other warehouse set's "
                    "Lagrangian bound is above this plan's cost"
                )
                stats["solve_s"] = time.perf_counter() - t0
                return AllocationResult(
                    status=Status.OPTIMAL,
                    objective=obj,
                    bound=min(lag_bound, obj),
                    runtime_s=time.perf_counter() - t0,
                    cost=cost,
                    columns=cols,
                    solution=inc,
                    stats=SolveStats.from_mapping(stats),
                    notes=tuple(notes),
                    targets_lowered=prep.targets_lowered,
                )
        else:
            phase("constructing an incumbent (greedy warehouses, local search)")
            inc, info = heuristic_incumbent(
                data,
                params,
                cols,
                model.lb[:W],
                model.ub[:W],
                t0 + 0.5 * (deadline - t0),
                cancel,
                pricer=TransportPricer.build(data, cols, model.targets),
            )
            stats.update(info)
            stats["incumbent_s"] = time.perf_counter() - t0
        if inc is not None:
            prep.hint = values_from_solution(model, inc)
            prep.model = model
    return run_prepared(data, params, prep, cancel=cancel, incumbent=inc, incumbent_bound=lag_bound)
