"""One solve of the monolithic allocation model (optionally with the warehouses fixed)."""

from __future__ import annotations

import logging
import math
import threading
import time
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from network.compile import NetworkData
from optimizer.allocation.columns import Columns, build_columns, cost_terms
from optimizer.allocation.model import (
    AllocationModel,
    build_allocation_model,
    required_targets,
    solution_from_values,
    storage_breaks,
    values_from_solution,
)
from optimizer.allocation.params import AllocationParams
from optimizer.allocation.result import AllocationResult, Solution, SolveStats
from optimizer.progress import PhaseReport, quiet
from optimizer.solver import RawSolve, Status, solve_model

log = logging.getLogger(__name__)

F = npt.NDArray[np.float64]
I = npt.NDArray[np.int64]
B = npt.NDArray[np.bool_]

#: Time kept back from the final MIP of :func:`solve_allocation` for the solver's late stop:
#: this share of the call's budget, at most ``MIP_RESERVE_MAX_S`` seconds (capb-7000 at 180 s
#: returned after 183.5 s without it; HiGHS overran its MIP limit by 3.6-5.8 s on capb-6000
#: and capb-7000, the watchdog's interrupt included).
MIP_RESERVE_SHARE = 0.04
MIP_RESERVE_MAX_S = 8.0
EXACT_POLISH_MAX_KW = 2000
"""Largest model (its (SKU, warehouse) pairs) whose restricted plan is polished by the exact
MIP (``_polish_exact``)."""
EXACT_POLISH_MIN_S = 0.5
"""Least time left for that polish."""


def solve_mip(
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
    """Build and solve the monolithic allocation MIP (no incumbent search: see
    :func:`optimizer.allocation.solve.solve_allocation` for the whole strategy).

    Parameters
    ----------
    data
        The compiled network.
    params
        Parameters; ``params.time_limit`` bounds this call unless ``deadline`` is given.
    columns
        Pre-built columns.
    hint
        A solution to warm-start from (e.g. the naive plan).
    y_fixed
        Fix warehouse use (see :func:`build_allocation_model`).
    deadline
        ``time.perf_counter()`` value by which to return.
    cancel
        Event that stops the solver early.
    on_phase
        Called with a short phase name as work progresses.

    Returns
    -------
    AllocationResult
        ``INFEASIBLE`` only if no plan exists; when the on-time shares cannot be met the
        targets are lowered to what can be reached (see ``notes``).
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
    return run_prepared(data, params, prep, cancel=cancel)


@dataclass(slots=True)
class Prepared:
    """A built model with its bookkeeping, between :func:`prepare` and :func:`run_prepared`."""

    model: AllocationModel
    cols: Columns
    notes: list[str]
    stats: dict[str, Any]
    hint: F | None
    t0: float
    deadline: float
    phase: PhaseReport
    #: on-time targets below the model's own (no path meets the promise for the rest, or
    #: capacities stop them): the result is then not a plan of the model as stated
    targets_lowered: bool = False


def prepare(
    data: NetworkData,
    params: AllocationParams,
    *,
    columns: Columns | None = None,
    hint: Solution | None = None,
    y_fixed: F | None = None,
    deadline: float | None = None,
    on_phase: PhaseReport | None = None,
) -> Prepared:
    """Build the model (continuous stocking levels) and the warm start of one MIP solve."""
    t0 = time.perf_counter()
    if deadline is None:
        deadline = t0 + params.time_limit_s
    phase = on_phase or quiet
    phase("building model")
    cols = build_columns(data) if columns is None else columns
    # stocking levels continuous (a relaxation: they cost nothing); rounded up afterwards and
    # re-solved with a storage margin only if rounding overflows some warehouse
    model = build_allocation_model(data, params, columns=cols, y_fixed=y_fixed, integer_stock=False)
    notes: list[str] = []
    req = required_targets(data, cols)
    for k, v in model.targets.items():
        if v < req.get(k, 0.0) * (1 - 1e-6) - 1e-6:
            notes.append(
                f"on-time target {k!r} lowered from {req[k]:.1f} to {v:.1f} units: "
                "no path meets the promise for the rest"
            )
    stats: dict[str, Any] = {
        "build_s": model.build_seconds,
        "n_vars": model.n_vars,
        "n_rows": model.n_rows,
        "n_int": len(model.integer),
        "nnz": int(model.A.nnz),
        **{f"cols_{k}": v for k, v in cols.stats.items()},
    }
    h = values_from_solution(model, hint) if hint is not None and params.warm_start else None
    return Prepared(
        model=model,
        cols=cols,
        notes=notes,
        stats=stats,
        hint=h,
        t0=t0,
        deadline=deadline,
        phase=phase,
        targets_lowered=bool(notes),
    )


def run_prepared(
    data: NetworkData,
    params: AllocationParams,
    prep: Prepared,
    *,
    cancel: threading.Event | None = None,
    incumbent: Solution | None = None,
    incumbent_bound: float = -math.inf,
) -> AllocationResult:
    """Solve a prepared model: the MIP, then on-time targets lowered if capacities stop them
    and a storage margin if rounding stocking levels up overflows storage (if that leaves no
    flows, integer stocking levels on the same warehouses, then :func:`solve_exact`).
    ``incumbent`` (a plan found before, already the cutoff in ``prep.hint``) is returned if
    the solver finds nothing; ``incumbent_bound`` is a lower bound proven by other means for
    ``prep``'s targets (dropped when they are lowered here)."""
    model, cols, notes, stats, h = prep.model, prep.cols, prep.notes, prep.stats, prep.hint
    t0, deadline, phase = prep.t0, prep.deadline, prep.phase
    inc, lag_bound = incumbent, incumbent_bound
    lowered = prep.targets_lowered
    phase("solving")
    # HiGHS stops up to a second or two after its limit on a large MIP (and the model is
    # loaded before its clock starts): keep a small reserve so that the call returns in time
    reserve = min(MIP_RESERVE_MAX_S, MIP_RESERVE_SHARE * (deadline - t0))
    raw = solve_model(
        model, params, time_limit=deadline - time.perf_counter() - reserve, hint=h, cancel=cancel
    )
    # targets lowered here (below those of ``incumbent_bound``, which is then not valid)
    relowered = False
    if raw.status is Status.INFEASIBLE:
        # capacities stop the on-time shares: find what can be reached (LP), then re-solve
        phase("repairing on-time targets")
        model, note = lower_targets(data, model, params, deadline, cancel)
        notes.append(note)
        lowered = relowered = True
        raw = solve_model(
            model, params, time_limit=deadline - time.perf_counter(), hint=h, cancel=cancel
        )
    base = model
    if raw.values is not None and not storage_ok(
        data, cols, solution_from_values(data, model, raw.values)
    ):
        phase("re-solving with a storage margin for integer stock")
        notes.append(
            "rounding stocking levels up overflowed storage: flows re-solved on the "
            "same warehouses with a storage margin of one unit per SKU (the bound stays "
            "that of the continuous-stock relaxation)"
        )
        relax_bound = raw.bound
        W = len(data.warehouses)
        tight = build_allocation_model(
            data,
            params,
            columns=cols,
            y_fixed=np.round(raw.values[:W]),
            integer_stock=False,
            storage_margin=True,
            targets=model.targets,
        )
        raw2 = solve_model(tight, params, time_limit=deadline - time.perf_counter(), cancel=cancel)
        overflow = raw2.values is not None and not storage_ok(
            data, cols, solution_from_values(data, tight, raw2.values)
        )
        if overflow:
            # where tonight's lots nearly fill a warehouse the margin is clipped to the room
            # they leave (model._shelf_rows), so rounding can still overflow it
            raw2 = RawSolve(Status.NO_SOLUTION, None, math.nan, raw2.bound, raw2.seconds)
        ex: ExactSolve | None = None
        if raw2.values is None and deadline - time.perf_counter() > 0:
            # the margin (one unit of every SKU per warehouse) can be more than a small
            # warehouse holds: the exact model with integer stocking levels on the same
            # warehouses instead (a small MIP: y is fixed)
            notes.append(
                (
                    "rounding stocking levels up overflowed storage again (tonight's stock "
                    "leaves less room than the margin)"
                    if overflow
                    else "the storage margin left no feasible flows"
                )
                + ": integer stocking levels solved exactly on the same warehouses instead"
            )
            tight = build_allocation_model(
                data,
                params,
                columns=cols,
                y_fixed=np.round(raw.values[:W]),
                integer_stock=True,
                targets=model.targets,
            )
            raw2 = solve_model(
                tight, params, time_limit=deadline - time.perf_counter(), cancel=cancel
            )
            if raw2.values is None and deadline - time.perf_counter() > 0:
                # nothing on those warehouses (integer stocking levels may not reach the
                # on-time units the continuous ones did): the exact model
                caller_fixed = bool(np.all(model.lb[:W] == model.ub[:W]))
                ex = solve_exact(
                    data,
                    params,
                    model,
                    deadline,
                    cancel,
                    phase,
                    notes,
                    hint=h,
                    tried=(tight, raw2) if caller_fixed else None,
                )
                tight, raw2 = ex.model, ex.raw
                if ex.lowered:
                    lowered = relowered = True
                    # the continuous-stock bound is that of the higher targets: only the
                    # exact model's own bound holds for the lowered ones
                    relax_bound = raw2.bound
                elif raw2.status is not Status.INFEASIBLE:
                    # the exact model itself: both bounds hold for it
                    relax_bound = max(relax_bound, raw2.bound)
        if raw2.values is not None:
            model = tight
            if ex is not None:
                # the exact model: optimal when its solver proved it, unless the targets it was
                # given are only a reachable level (their maximum was not proven)
                status2 = (
                    Status.FEASIBLE
                    if raw2.status is Status.OPTIMAL and not ex.max_proven
                    else raw2.status
                )
                bound2 = relax_bound
            else:
                # a restriction (warehouses fixed, or the storage margin): optimal only if
                # the relaxation's bound closes the gap
                status2 = (
                    Status.FEASIBLE
                    if raw2.status is Status.OPTIMAL
                    and relax_bound < raw2.objective - params.relative_gap * abs(raw2.objective)
                    else raw2.status
                )
                bound2 = min(relax_bound, raw2.bound)
            raw = RawSolve(status2, raw2.values, raw2.objective, bound2, raw.seconds + raw2.seconds)
            if ex is None and status2 is Status.FEASIBLE:
                model, raw = _polish_exact(
                    data, params, model, raw, base, deadline, cancel, phase, notes
                )
        else:
            raw = RawSolve(Status.NO_SOLUTION, None, math.nan, relax_bound, raw.seconds)
    if relowered:
        lag_bound = -math.inf
    stats["solve_s"] = raw.seconds
    if raw.values is None and inc is not None:
        # the cutoff was not accepted (e.g. the hint failed the feasibility check after the
        # targets were lowered): the heuristic plan still stands
        notes.append("the solver found no plan in time: warehouses from the incumbent search")
        cost = cost_terms(data, cols, inc)
        obj = float(sum(cost.values()))
        return AllocationResult(
            status=Status.FEASIBLE,
            objective=obj,
            bound=min(max(raw.bound, lag_bound), obj),
            runtime_s=time.perf_counter() - t0,
            cost=cost,
            columns=cols,
            solution=inc,
            stats=SolveStats.from_mapping(stats),
            notes=tuple(notes),
            targets_lowered=lowered,
        )
    if raw.values is None:
        return AllocationResult(
            status=raw.status,
            objective=math.nan,
            bound=raw.bound,
            runtime_s=time.perf_counter() - t0,
            cost={},
            columns=cols,
            solution=None,
            stats=SolveStats.from_mapping(stats),
            notes=tuple(notes),
            targets_lowered=lowered,
        )
    sol = solution_from_values(data, model, raw.values)
    cost = cost_terms(data, cols, sol)
    obj = float(sum(cost.values()))
    bound = max(raw.bound, lag_bound)
    bound = min(bound, obj) if math.isfinite(bound) else bound
    status = raw.status
    if status is Status.FEASIBLE and obj - bound <= params.relative_gap * abs(obj):
        status = Status.OPTIMAL
    return AllocationResult(
        status=status,
        objective=obj,
        bound=bound,
        runtime_s=time.perf_counter() - t0,
        cost=cost,
        columns=cols,
        solution=sol,
        stats=SolveStats.from_mapping(stats),
        notes=tuple(notes),
        targets_lowered=lowered,
    )


def storage_ok(data: NetworkData, cols: Columns, sol: Solution) -> bool:
    """Whether the rounded stocking levels fit every warehouse's storage, and together with
    tonight's stock left on the shelf and the resold surplus its
    :func:`~optimizer.allocation.state.shelf_capacity`."""
    storage, shelf = storage_breaks(data, cols, sol)
    return not len(storage) and not len(shelf)


def _polish_exact(
    data: NetworkData,
    params: AllocationParams,
    model: AllocationModel,
    raw: RawSolve,
    base: AllocationModel,
    deadline: float,
    cancel: threading.Event | None,
    phase: PhaseReport,
    notes: list[str],
) -> tuple[AllocationModel, RawSolve]:
    """The restriction's plan (integer stocking levels, or a storage margin, on the
    continuous-stock plan's warehouses) not proven optimal: on a small model
    (``EXACT_POLISH_MAX_KW`` (SKU, warehouse) pairs) with time left, the exact model (integer
    stocking levels, warehouses free unless all were fixed before the restriction, ``base``'s
    targets) from that plan; kept when it is no dearer. Its bound holds for the exact problem,
    so the result's is the larger of the two. On tiny networks with tonight's stock at full
    warehouses the restriction ended up to 4.6 % above the brute-force optimum, reported
    ``feasible`` with most of the time limit left."""
    W = len(data.warehouses)
    cols = base.columns
    reserve = min(MIP_RESERVE_MAX_S, MIP_RESERVE_SHARE * max(0.0, deadline - time.perf_counter()))
    left = deadline - time.perf_counter() - reserve
    if len(cols.kw_wh) > EXACT_POLISH_MAX_KW or left < EXACT_POLISH_MIN_S:
        return model, raw
    assert raw.values is not None
    # every warehouse fixed before the restriction (by the scenario or the caller): kept
    fixed = base.lb[:W] if bool(np.all(base.lb[:W] == base.ub[:W])) else None
    phase("solving the exact model (integer stocking levels)")
    exact = build_allocation_model(
        data, params, columns=cols, y_fixed=fixed, integer_stock=True, targets=base.targets
    )
    hint = values_from_solution(exact, solution_from_values(data, model, raw.values))
    raw3 = solve_model(exact, params, time_limit=left, hint=hint, cancel=cancel)
    if raw3.values is None or raw3.objective > raw.objective + 1e-9 * abs(raw.objective):
        return model, raw
    notes.append(
        "the exact model (integer stocking levels) solved from that plan: "
        f"{raw.objective:,.2f} -> {raw3.objective:,.2f}"
    )
    return exact, RawSolve(
        raw3.status,
        raw3.values,
        raw3.objective,
        max(raw.bound, raw3.bound),
        raw.seconds + raw3.seconds,
    )


@dataclass(frozen=True, slots=True)
class ExactSolve:
    """The outcome of :func:`solve_exact`: the model last solved and its solve; ``lowered`` when
    its on-time targets are below those it was given, ``max_proven`` when they are then
    ``0.999 ×`` the proven maximum (else only a level that some plan reaches)."""

    model: AllocationModel
    raw: RawSolve
    lowered: bool = False
    max_proven: bool = True


def solve_exact(
    data: NetworkData,
    params: AllocationParams,
    model: AllocationModel,
    deadline: float,
    cancel: threading.Event | None,
    phase: PhaseReport,
    notes: list[str],
    *,
    hint: F | None = None,
    tried: tuple[AllocationModel, RawSolve] | None = None,
) -> ExactSolve:
    """The exact model (integer stocking levels) on ``model``'s warehouses (free unless all
    fixed) and targets, when the continuous-stock plan could not be made integer on its own
    warehouses; if those targets are out of its reach (the continuous relaxation reaches more
    on-time units), they are lowered to what integer stocking levels reach
    (:func:`reachable_targets`, a MIP) and it is solved again. ``tried`` is that exact model
    already solved (the caller fixed every warehouse). Notes say what was done."""
    if tried is not None:
        exact, raw = tried
    else:
        phase("solving the exact model (integer stocking levels)")
        notes.append(
            "integer stocking levels found no plan on those warehouses either: the exact model "
            "(integer stocking levels, warehouses free) solved instead"
        )
        exact = build_allocation_model(
            data, params, columns=model.columns, integer_stock=True, targets=model.targets
        )
        raw = solve_model(
            exact, params, time_limit=deadline - time.perf_counter(), hint=hint, cancel=cancel
        )
    if raw.status is not Status.INFEASIBLE or deadline - time.perf_counter() <= 0:
        return ExactSolve(exact, raw)
    phase("repairing on-time targets for integer stock")
    tg, note, proven = reachable_targets(data, exact, params, deadline, cancel, integer=True)
    notes.append(
        "integer stocking levels cannot reach the on-time targets of the continuous-stock "
        "relaxation: " + note + ("" if proven else " (the maximum was not proven in time)")
    )
    rebuilt = with_targets(data, params, exact, tg, integer_stock=True)
    raw = solve_model(
        rebuilt, params, time_limit=deadline - time.perf_counter(), hint=hint, cancel=cancel
    )
    return ExactSolve(rebuilt, raw, lowered=True, max_proven=proven)


def reachable_targets(
    data: NetworkData,
    model: AllocationModel,
    params: AllocationParams,
    deadline: float,
    cancel: threading.Event | None,
    *,
    integer: bool = False,
) -> tuple[dict[str, float], str, bool]:
    """On-time targets that ``model``'s other rows let some plan meet: on-time units maximised
    (the LP relaxation, or with ``integer`` the MIP with ``model``'s integer columns), each
    target capped at 0.999 × what that plan reaches. Returns the targets, a note and whether
    the maximum was proven (an LP or MIP solved to optimality)."""
    cols = model.columns
    on = np.zeros(model.n_vars)
    on[model.off["x"] + np.flatnonzero(cols.x_ontime)] = -1.0
    on[model.off["q"] + np.flatnonzero(cols.q_ontime)] = -1.0
    a, _b = model.rows["ontime"]
    lp = AllocationModel(
        columns=cols,
        c=on,
        lb=model.lb,
        ub=model.ub,
        integer=model.integer,
        A=model.A[:a],
        row_lb=model.row_lb[:a],
        row_ub=model.row_ub[:a],
        off=model.off,
        s_kw=model.s_kw,
        rows={k: v for k, v in model.rows.items() if k != "ontime"},
        targets={},
        build_seconds=0.0,
    )
    raw = solve_model(
        lp, params, time_limit=deadline - time.perf_counter(), relax=not integer, cancel=cancel
    )
    what = "integer stocking levels allow" if integer else "capacities allow"
    if raw.values is None:
        tg = dict.fromkeys(model.targets, 0.0)
        note = "on-time targets dropped: the capacity-limited maximum could not be computed"
        return tg, note, False
    v = raw.values
    x_on = v[model.off["x"] : model.off["x"] + len(cols.x_pair)] * cols.x_ontime
    q_on = v[model.off["q"] : model.off["q"] + len(cols.q_pair)] * cols.q_ontime
    zc = np.array(data.zone_country)
    tg = {}
    for k, t in model.targets.items():
        if k == "all":
            got = x_on.sum() + q_on.sum()
        else:
            got = (
                x_on[zc[cols.p_zone[cols.x_pair]] == k].sum()
                + q_on[zc[cols.p_zone[cols.q_pair]] == k].sum()
            )
        tg[k] = max(0.0, min(t, 0.999 * got))
    note = f"on-time targets lowered to what {what}: " + ", ".join(
        f"{k} {v:.1f} units" for k, v in tg.items()
    )
    return tg, note, raw.status is Status.OPTIMAL


def lower_targets(
    data: NetworkData,
    model: AllocationModel,
    params: AllocationParams,
    deadline: float,
    cancel: threading.Event | None,
    *,
    storage_margin: bool = False,
) -> tuple[AllocationModel, str]:
    """Maximise on-time units on the LP relaxation and rebuild with reachable targets
    (continuous stocking levels; :func:`reachable_targets`)."""
    tg, note, _proven = reachable_targets(data, model, params, deadline, cancel)
    rebuilt = with_targets(
        data, params, model, tg, integer_stock=False, storage_margin=storage_margin
    )
    return rebuilt, note


def with_targets(
    data: NetworkData,
    params: AllocationParams,
    model: AllocationModel,
    targets: dict[str, float],
    *,
    integer_stock: bool,
    storage_margin: bool = False,
) -> AllocationModel:
    """``model`` built again with on-time ``targets`` (its warehouses kept fixed when all of
    them were)."""
    W = len(data.warehouses)
    all_fixed = bool(np.all(model.lb[:W] == model.ub[:W]))
    return build_allocation_model(
        data,
        params,
        columns=model.columns,
        targets=targets,
        y_fixed=model.lb[:W] if all_fixed else None,
        integer_stock=integer_stock,
        storage_margin=storage_margin,
    )
