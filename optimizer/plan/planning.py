"""Plan a scenario end to end: compile, solve, write the plan document, diagnose.

:func:`plan_scenario` is the entry point used by the CLI, the HTTP service and the nightly
job. It needs no web framework, honours ``params.time_limit`` for the whole call (compile,
build and solve) and returns plain, picklable data, so it can run in a separate process.

The plan document follows DESIGN §7 exactly (every key) and adds optional extras:
``seed``, ``currency``, ``promise_hours``, ``strategy``, ``notes``, ``stats``, ``lost``,
``diagnosis`` (zones/SKUs that miss the promise, the fastest path's hours by leg and the binding
capacities), ``evaluation`` (violations found by the independent evaluator) and ``baseline``
(the naive planner's cost and service, with ``--baseline naive``).
"""

from __future__ import annotations

import dataclasses
import logging
import math
import sys
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from network.compile import LaneDim, NetworkData, compile_network
from network.distribution import option_on_time
from network.indices import flat_key
from network.scenario import Scenario
from optimizer.allocation.baseline import breaks_capacity, naive_solution, within_capacity
from optimizer.allocation.blocks import (
    BLOCK_MIN_SKUS,
    meets_targets,
    ontime_units,
    solve_blocks,
)
from optimizer.allocation.columns import Columns, build_columns, cost_terms, drop_closed
from optimizer.allocation.model import storage_use
from optimizer.allocation.params import AllocationParams
from optimizer.allocation.result import AllocationResult, Solution, SolveStats, Status
from optimizer.allocation.solve import solve_allocation
from optimizer.allocation.state import overfull_warehouses
from optimizer.allocation.state_blocks import solve_state_blocks
from optimizer.exceptions import SolverError, TimeLimitError
from optimizer.plan.document import (
    CostBreakdown,
    CountryService,
    FulfilmentRow,
    LostRow,
    Plan,
    PlanEvaluation,
    ReplenishmentRow,
    ServiceSummary,
    StockRow,
    WarehouseRow,
)
from optimizer.plan.evaluate import Evaluation, evaluate
from optimizer.plan.state import attach_previous, state_sections
from optimizer.progress import PhaseReport, quiet

if TYPE_CHECKING:
    from optimizer.executor import TaskRunner

__all__ = [
    "PlanOutcome",
    "geo_of",
    "map_fits",
    "output_seconds",
    "overfull_messages",
    "overfull_notes",
    "peak_rss_mb",
    "plan_dict",
    "plan_scenario",
    "shortest_limit",
]

log = logging.getLogger(__name__)

Progress = PhaseReport
#: Above this many columns ``strategy="auto"`` decomposes instead of solving monolithically
#: (when there are several SKUs: the decomposition decides warehouses on a SKU aggregate; with
#: one SKU there is nothing to aggregate, and the monolithic path's Lagrangian incumbent,
#: :func:`optimizer.allocation.lagrangian_incumbent`, solves OR-Library capa/capb/capc).
AUTO_DECOMPOSE_COLUMNS = 60_000
#: Memory one column of the allocation LP takes while it is built and solved over every
#: option (OR-Tools' model and the solver's copy), bytes, rounded up from the 1,269-1,328
#: that ``python -m benchmarks.model_memory`` measured on sea tier M (benchmarks/README.md,
#: "Tonight's state on a tier-L catalogue"); tier L with a previous plan has 18 million.
LP_BYTES_PER_COLUMN = 1400
#: The share of the memory available at the solve's start a full-column LP may take (the
#: rest: the plan's document, evaluation and files, and other processes).
LP_MEMORY_SHARE = 0.5


def cgroup_headroom(root: str = "/sys/fs/cgroup") -> float:
    """Bytes this process's memory cgroup still allows (its limit less its usage; cgroup v2
    ``memory.max``/``memory.current``, else v1 ``memory/memory.limit_in_bytes``/
    ``usage_in_bytes``); inf without a limit or where none can be read. A container's limit
    is below the host's memory, which is all ``psutil`` sees."""
    from pathlib import Path

    base = Path(root)
    for limit_f, usage_f in (
        (base / "memory.max", base / "memory.current"),
        (base / "memory" / "memory.limit_in_bytes", base / "memory" / "memory.usage_in_bytes"),
    ):
        try:
            limit_s = limit_f.read_text().strip()
            usage = float(usage_f.read_text().strip())
        except (OSError, ValueError):
            continue
        if limit_s == "max":
            return math.inf
        try:
            limit = float(limit_s)
        except ValueError:
            continue
        # cgroup v1 writes "no limit" as a page-rounded 2^63
        return math.inf if limit >= 2.0**62 else max(limit - usage, 0.0)
    return math.inf


def available_memory() -> float:
    """Bytes of memory available to new allocations now: the machine's (``psutil``) or, when
    less, what the memory cgroup still allows (:func:`cgroup_headroom`); inf where unknown."""
    try:
        import psutil

        host = float(psutil.virtual_memory().available)
    except Exception:  # pragma: no cover - psutil is a dependency; a platform it cannot read
        host = math.inf
    return min(host, cgroup_headroom())


def full_lp_too_large(cols: Columns) -> str | None:
    """Why the LP over every column of ``cols`` is not built (its memory), else ``None``.

    The solves on tonight's state (and the floor's re-optimisation of flows) build one LP over
    every option at the chosen warehouses; on a large catalogue that takes more memory than
    the machine has (tier L: 18 million columns, about 26 GB: the process was killed), so it
    is not tried and the naive floor is written instead, saying why."""
    n = len(cols.x_pair) + len(cols.q_pair) + len(cols.f_sku)
    need = n * LP_BYTES_PER_COLUMN
    avail = available_memory()
    if need <= LP_MEMORY_SHARE * avail:
        return None
    return (
        f"the model over every option has {n:,} columns, about {need / 1e9:.1f} GB to solve, "
        f"more than {LP_MEMORY_SHARE:.0%} of the {avail / 1e9:.1f} GB of memory available"
    )


@dataclass(frozen=True, slots=True)
class PlanOutcome:
    """A plan (DESIGN §7) and the result it was written from."""

    plan: Plan
    result: AllocationResult
    evaluation: Evaluation | None = None
    geo: dict[str, Any] = field(default_factory=dict)


def geo_of(scenario: Scenario) -> dict[str, Any]:
    """Node coordinates and explicit lane ends of a scenario (for GeoJSON and the map)."""
    return {
        "nodes": {
            n.id: {"lat": n.lat, "lon": n.lon, "kind": n.kind, "country": n.country}
            for n in scenario.nodes
        },
        "lanes": {ln.id: (ln.from_, ln.to, ln.mode) for ln in scenario.lanes},
        "cards": {c.id: c.mode for c in scenario.rate_cards},
    }


def _lanes(data: NetworkData, opts: Any, i: int) -> tuple[str, ...]:
    return tuple(data.lanes[j] for j in opts.lanes_of(int(i)).tolist())


def _lane_tuples(data: NetworkData, opts: Any, opt: npt.NDArray[np.int64]) -> list[tuple[str, ...]]:
    """The lane ids of each option in ``opt`` (each distinct option's tuple made once)."""
    if len(opt) == 0:
        return []
    uniq, inv = np.unique(opt, return_inverse=True)
    tuples = [_lanes(data, opts, i) for i in uniq.tolist()]
    return [tuples[i] for i in inv.reshape(-1).tolist()]


def _names(names: Sequence[str], idx: npt.NDArray[np.int64]) -> list[str]:
    """``names[i]`` for each index."""
    return [names[i] for i in idx.tolist()]


def _num(v: float) -> float | None:
    return float(v) if math.isfinite(v) else None


def _fulfilment_rows(
    data: NetworkData,
    opts: Any,
    units: npt.NDArray[np.float64],
    pair: npt.NDArray[np.int64],
    opt: npt.NDArray[np.int64],
    hours: npt.NDArray[np.float64],
    ontime: npt.NDArray[np.bool_],
    cols: Columns,
    source_names: Sequence[str],
    source: npt.NDArray[np.int64],
    mode: str,
) -> list[FulfilmentRow]:
    """The plan rows of one fulfilment block (outbound or direct) with positive units."""
    sel = np.flatnonzero(units > 0)
    p_on = option_on_time(opts, data, opt[sel]).p.tolist()
    p = pair[sel]
    return [
        FulfilmentRow(
            sku=sku,
            zone=zone,
            source=src,
            lanes=lanes,
            units=u,
            hours=h,
            on_time=on,
            p_on_time=pr,
            mode=mode,
        )
        for sku, zone, src, lanes, u, h, on, pr in zip(
            _names(data.skus, cols.p_sku[p]),
            _names(data.zones, cols.p_zone[p]),
            _names(source_names, source[sel]),
            _lane_tuples(data, opts, opt[sel]),
            units[sel].astype(np.float64).tolist(),
            hours[sel].astype(np.float64).tolist(),
            ontime[sel].astype(bool).tolist(),
            p_on,
            strict=True,
        )
    ]


def overfull_messages(data: NetworkData) -> list[str]:
    """One line for each warehouse whose lots alone, on hand and in transit arriving within
    the horizon, take more than its storage: its capacity is taken as that volume
    (:func:`optimizer.allocation.state.shelf_capacity`), so a plan keeps tonight's stock and
    stocks new units only in the space it frees (``plan``'s notes, ``validate``'s warnings)."""
    return [
        f"warehouse {data.warehouses[w]!r}: tonight's stock (on hand and arriving within "
        f"the horizon) takes {v:,.3f} m3, {v - st:,.3f} m3 above its storage of {st:,.3f} "
        f"m3; its capacity is taken as {v:,.3f} m3 for a plan (new stock only in the "
        "space the plan frees by using or transferring units)"
        for w, v, st in overfull_warehouses(data)
    ]


def overfull_notes(data: NetworkData) -> list[str]:
    """:func:`overfull_messages`, each also logged as a warning (the plan's notes)."""
    out = overfull_messages(data)
    for msg in out:
        log.warning(msg)
    return out


def plan_dict(
    data: NetworkData,
    cols: Columns,
    sol: Solution,
    *,
    status: Status,
    objective: float,
    bound: float,
    solve_seconds: float,
) -> Plan:
    """The plan of DESIGN §7 for a solution on the model's columns (header, cost, service, rows).

    The name is historical: the plan is a :class:`~optimizer.plan.document.Plan`;
    ``plan_dict(...).to_json()`` is the document.
    """
    H = float(data.horizon_days)
    promise = float(data.service.promise_hours)
    W = len(data.warehouses)
    cost = cost_terms(data, cols, sol)
    # service
    tot = float(cols.p_dem.sum())
    on = float(sol.x[cols.x_ontime].sum() + sol.q[cols.q_ontime].sum())
    late = float(sol.x[~cols.x_ontime].sum() + sol.q[~cols.q_ontime].sum())
    lost = float(sol.u.sum())
    zc = np.array(data.zone_country)
    by_country: dict[str, CountryService] = {}
    targets = data.service.min_on_time_share_by_country
    if len(cols.p_dem):
        pc = zc[cols.p_zone]
        for c in sorted(set(pc.tolist())):
            m = pc == c
            d = float(cols.p_dem[m].sum())
            o = float(
                sol.x[cols.x_ontime & m[cols.x_pair]].sum()
                + sol.q[cols.q_ontime & m[cols.q_pair]].sum()
            )
            by_country[c] = CountryService(
                on_time_share=o / d if d > 0 else 1.0,
                units_on_time=o,
                units_late=float(
                    sol.x[~cols.x_ontime & m[cols.x_pair]].sum()
                    + sol.q[~cols.q_ontime & m[cols.q_pair]].sum()
                ),
                units_lost=float(sol.u[m].sum()),
                demand=d,
                target=targets.get(c),
            )
    # warehouses
    m3, shelf = storage_use(data, cols, sol)
    thr = np.zeros(W)
    np.add.at(thr, cols.x_wh, sol.x / H)
    warehouses = tuple(
        WarehouseRow(
            id=data.warehouses[w],
            open=bool(sol.y[w] > 0.5),
            storage_used_m3=float(m3[w] + shelf[w]),
            throughput_used_per_day=float(thr[w]),
            status=data.wh_status[w],
            storage_m3=float(data.wh_storage_m3[w]),
            throughput_units_per_day=float(data.wh_throughput_per_day[w]),
            shelf_m3=float(shelf[w]) if cols.has_state else None,
        )
        for w in range(W)
    )
    st = state_sections(data, cols, sol)
    kw_key = flat_key(cols.kw_sku, W, cols.kw_wh).tolist()
    held = {**dict.fromkeys(st.on_hand, 0.0), **dict.fromkeys(st.in_transit, 0.0)}
    stock_pos = (sol.stock > 0).tolist()
    listed = [i for i in range(len(kw_key)) if stock_pos[i] or kw_key[i] in held]
    lsel = np.array(listed, np.int64)
    stock = [
        StockRow(
            sku=sku,
            warehouse=wh,
            units=int(units),
            on_hand=float(st.on_hand.get(key, 0.0)),
            in_transit=float(st.in_transit.get(key, 0.0)),
        )
        for sku, wh, units, key in zip(
            _names(data.skus, cols.kw_sku[lsel]),
            _names(data.warehouses, cols.kw_wh[lsel]),
            sol.stock[lsel].tolist(),
            [kw_key[i] for i in listed],
            strict=True,
        )
    ]
    # inventory at (SKU, warehouse) pairs outside the model (no demand tonight, say)
    stock += [
        StockRow(
            sku=data.skus[k // W],
            warehouse=data.warehouses[k % W],
            units=0,
            on_hand=float(st.on_hand.get(k, 0.0)),
            in_transit=float(st.in_transit.get(k, 0.0)),
        )
        for k in sorted(set(held) - {kw_key[i] for i in listed})
    ]
    fsel = np.flatnonzero(sol.f > 0)
    rep = tuple(
        ReplenishmentRow(sku=sku, warehouse=wh, lanes=lanes, units=u, origin=o, lead_time_hours=h)
        for sku, wh, lanes, u, o, h in zip(
            _names(data.skus, cols.f_sku[fsel]),
            _names(data.warehouses, cols.f_wh[fsel]),
            _lane_tuples(data, data.inbound, cols.f_opt[fsel]),
            sol.f[fsel].astype(np.float64).tolist(),
            _names(data.origins, cols.f_src[fsel]),
            cols.f_hours[fsel].astype(np.float64).tolist(),
            strict=True,
        )
    )
    ful = _fulfilment_rows(
        data,
        data.outbound,
        sol.x,
        cols.x_pair,
        cols.x_opt,
        cols.x_hours,
        cols.x_ontime,
        cols,
        data.warehouses,
        cols.x_wh,
        "warehouse",
    )
    ful += _fulfilment_rows(
        data,
        data.direct,
        sol.q,
        cols.q_pair,
        cols.q_opt,
        cols.q_hours,
        cols.q_ontime,
        cols,
        data.origins,
        cols.q_src,
        "direct",
    )
    lost_rows = tuple(
        LostRow(
            sku=data.skus[cols.p_sku[p]], zone=data.zones[cols.p_zone[p]], units=float(sol.u[p])
        )
        for p in np.flatnonzero(sol.u > 0).tolist()
    )
    gap = (
        max(0.0, objective - bound) / max(abs(objective), 1e-9)
        if math.isfinite(objective) and math.isfinite(bound)
        else None
    )
    return Plan(
        scenario=data.name,
        status=status,
        objective=float(objective),
        bound=_num(bound),
        gap=gap,
        solve_seconds=float(solve_seconds),
        cost=CostBreakdown(**cost),
        service=ServiceSummary(
            on_time_share=on / tot if tot > 0 else 1.0,
            units_on_time=on,
            units_late=late,
            units_lost=lost,
            by_country=by_country,
            target=data.service.min_on_time_share,
        ),
        warehouses=warehouses,
        stock=tuple(stock),
        replenishment=rep,
        fulfilment=tuple(ful),
        lost=lost_rows,
        promise_hours=promise,
        transfers=st.transfers,
        orders=st.orders,
        returns=st.returns,
        inventory=st.inventory,
        surplus=st.surplus,
    )


def _empty_plan(data: NetworkData, status: Status, solve_seconds: float) -> Plan:
    return Plan(
        scenario=data.name,
        status=status,
        objective=None,
        bound=None,
        gap=None,
        solve_seconds=solve_seconds,
        cost=CostBreakdown(),
        service=ServiceSummary(),
        warehouses=(),
        stock=(),
        replenishment=(),
        fulfilment=(),
        lost=(),
        promise_hours=float(data.service.promise_hours),
        transfers=(),
        orders=(),
        returns=(),
    )


def output_seconds(prepare_s: float, *, baseline: bool = False, draw_map: bool = False) -> float:
    """Seconds to reserve for documenting and writing a plan, from the time its columns and the
    naive plan took (``prepare_s``).

    The plan document, the evaluator, the diagnosis and the files (JSON, GeoJSON, report,
    the CLI's ``scenario.json``) grow with the rows written, as the column build does, and slow
    down with the machine's load as it does: on sea-72h (34,016 demand pairs, a 2-core machine
    at load 2.4) the columns and the naive plan took 1.2 s and the output 0.35 + 0.10 + 0.25 +
    0.53 + 0.15 s (document, evaluator, diagnosis, files without the map, scenario.json), 0.8 s
    per second of preparation beyond the fixed part; :data:`OUTPUT_RATIO` keeps a margin over
    that. The naive baseline's summary adds a document and an evaluation; ``draw_map`` adds
    :data:`MAP_SECONDS` (matplotlib's import and the figure).
    """
    return (
        OUTPUT_FIXED_S
        + (OUTPUT_RATIO + (0.7 if baseline else 0.0)) * prepare_s
        + (MAP_SECONDS if draw_map else 0.0)
    )


def machine_slowdown() -> float:
    """How much slower than on a free core this process runs now: the 1-minute load average
    per CPU, at least 1 (1 where the load average is unknown)."""
    import os

    try:
        load = os.getloadavg()[0]
    except (AttributeError, OSError):  # pragma: no cover - not on Windows
        return 1.0
    return max(1.0, load / max(1, os.cpu_count() or 1))


def map_fits(time_limit_s: float) -> bool:
    """Whether ``map.png`` is drawn under this time limit: when its :data:`MAP_SECONDS` take at
    most :data:`MAP_LIMIT_SHARE` of the limit (the rest goes to the solve)."""
    return MAP_LIMIT_SHARE * time_limit_s >= MAP_SECONDS


#: Output seconds reserved per demand pair on the SKU-block path (no column build to time),
#: on a machine with a core free; multiplied by :func:`machine_slowdown`. sea-L seed 1
#: (697,934 pairs, no baseline, 2 cores, load 0.8-1.2, 7 Dec): the document, the evaluator,
#: the diagnosis and the files took 20-21 s, 3e-5 s a pair; this keeps a third more.
BLOCK_OUTPUT_PER_PAIR_S = 4e-5
#: What ``--baseline naive`` adds to :data:`BLOCK_OUTPUT_PER_PAIR_S` (a second document and
#: evaluation): two sea-L runs with it wrote their output in 119 s and 161 s at load averages
#: of about 5 and 6.5 on 2 cores, 6-7e-5 s a pair once divided by the slowdown.
BLOCK_BASELINE_PER_PAIR_S = 4e-5
#: Seconds per demand pair reserved after the SKU blocks with tonight's state for joining
#: their plans, costing them and checking the floor against them (strategy ``blocks+state``),
#: on top of :data:`BLOCK_OUTPUT_PER_PAIR_S`; multiplied by :func:`machine_slowdown`. Tier L
#: with a previous plan (697,934 pairs, 7 Dec): joining and costing 1.3 s, the floor's cost
#: 0.2 s; with blocks that keep the floor's rows (cut from the floor, ``plan_part``) 2.2-8.3 s
#: and the join's capacity check 0.4 s (``assemble_s``, ``floor_check_s`` in plan.json's
#: stats; benchmarks/README.md, "Tonight's state on SKU blocks at the nightly's 300 s"), so
#: this keeps 21 s.
STATE_ASSEMBLY_PER_PAIR_S = 3e-5
#: Seconds the solvers may run past their deadline, per second of column build and naive
#: plan: SciPy's HiGHS (``linprog``, which cannot be interrupted) stops late in a large LP. On
#: sea-72h at load 4 (columns and naive plan 1.25 s) the decomposition's first fixed-warehouse
#: LP (282,034 columns, 43,515 rows) ran 5.0 s under a 3.1-s limit, and 10-s runs ended at
#: 11.8-12.1 s without this allowance.
SOLVER_OVERRUN_RATIO = 1.2
#: Fixed part of :func:`output_seconds` (the files' fixed costs, the map aside).
OUTPUT_FIXED_S = 0.4
#: Output seconds per second of column build and naive plan (see :func:`output_seconds`;
#: 0.8 measured on sea-72h).
OUTPUT_RATIO = 1.1
#: Seconds to import matplotlib and draw ``map.png`` (0.6-1.0 s on a loaded 2-core machine).
MAP_SECONDS = 1.2
#: The map is drawn when :data:`MAP_SECONDS` are at most this share of the time limit
#: (limits of 8 s and more, see :func:`map_fits`).
MAP_LIMIT_SHARE = 0.15
#: A solve is not started with less than this many seconds left before the output reserve:
#: the naive plan (the floor) is written instead.
MIN_SOLVE_S = 0.5


#: :func:`shortest_limit` of the SKU-block path: fixed seconds (the interpreter, its imports
#: and the executor's) and seconds per demand row (reading and compiling the scenario, the
#: naive floor of every block, the documents and the files).
SHORTEST_FIXED_S = 1.0
SHORTEST_S_PER_ROW = 6.3e-5
#: What ``--baseline naive`` adds to :data:`SHORTEST_S_PER_ROW`: the naive plan's document and
#: evaluation (on sea-L seed 1 the plan's own took 4.3 + 5.0 s, 1.35e-5 s a row).
SHORTEST_BASELINE_S_PER_ROW = 1.6e-5
#: :func:`shortest_limit` of a catalogue the SKU blocks would plan, with tonight's state or a
#: previous plan: the state path reads the previous plan and builds the columns over every
#: option before its naive floor (benchmarks/README.md, "Tonight's state on a tier-L
#: catalogue": sea-L seed 1 with a previous plan, 697,934 demand rows, 78.2 s and 78.7 s wall
#: at limits of 46 s and 300 s, 1.13e-4 s a row; about 7 % more is kept, as above).
SHORTEST_STATE_S_PER_ROW = 1.2e-4


def shortest_limit(
    scenario: Scenario, params: AllocationParams, *, previous: bool = False
) -> float:
    """The shortest time limit the scenario can keep on this kind of machine: ``0.0`` off the
    SKU-block path (tiers S and M and sea-72h keep a 5-s limit: their floor is the naive plan
    on their own columns, built before the solve is given its time), else
    :data:`SHORTEST_FIXED_S` plus :data:`SHORTEST_S_PER_ROW` per demand row with units
    (and :data:`SHORTEST_BASELINE_S_PER_ROW` with the naive baseline).

    On the block path a plan is never written before every block has at least its naive
    plan, and before the document, the evaluator, the diagnosis and the files of some
    700,000 demand rows (sea-L): that floor grows with the rows, whatever the limit. Measured
    with ``tradelane plan SCENARIO --out DIR --time-limit 20 --quiet`` under ``/usr/bin/time
    -v``, the refusal switched off, on sea-L seed 1 (697,934 rows; a 2-core machine at load
    1.7, 7 Dec): 37.4 s wall, of which start and reading the scenario 1.1 s, compiling 0.3 s,
    the ten blocks' naive plans 14.8 s, the document, evaluator and diagnosis 9.9 s, the
    files and the exit about 11 s; 5.2e-5 s a row beyond about a second. Re-measured the same
    way after the floor learnt to keep the warehouses' capacities
    (:func:`~optimizer.allocation.baseline.within_capacity`; three runs, load 0.8-1.0, 7 Dec
    16:05 UTC): 37.0, 42.0 and 42.5 s, median 42.0 (the naive plans with the overflow about
    15 s); this estimate keeps about 7 % more (45 s for sea-L; it was 6e-5 s a row, 43 s,
    before the overflow). It is machine-dependent: a slower or busier
    machine needs more (the load is not counted here, so that a refusal does not depend on
    the moment), a faster one less. Counted from the scenario (before compiling): the number
    of SKUs with demand decides the path as :func:`_prepare` does.

    Such a catalogue with tonight's state (inventory, returns) or a ``previous`` plan takes
    the state path instead (:data:`SHORTEST_STATE_S_PER_ROW` per row): its columns over every
    option are built before its floor."""
    strategy = params.strategy
    units = np.asarray(scenario.demand.units, float)
    has_state = bool(scenario.inventory) or bool(scenario.returns) or previous
    if strategy not in ("auto", "blocks") or not len(units):
        return 0.0
    pos = units > 0
    n_skus = len(np.unique(np.asarray(scenario.demand.sku, dtype=object)[pos].astype(str)))
    if strategy == "auto" and n_skus < BLOCK_MIN_SKUS:
        return 0.0
    if has_state:
        return SHORTEST_FIXED_S + SHORTEST_STATE_S_PER_ROW * int(pos.sum())
    per_row = SHORTEST_S_PER_ROW + (
        SHORTEST_BASELINE_S_PER_ROW if params.baseline == "naive" else 0.0
    )
    return SHORTEST_FIXED_S + per_row * int(pos.sum())


def check_time_limit(
    scenario: Scenario, params: AllocationParams, *, previous: bool = False
) -> None:
    """Raise :class:`~optimizer.exceptions.TimeLimitError` naming the shortest limit when
    ``params``' time limit is shorter than :func:`shortest_limit` (``previous``: a previous
    plan is given)."""
    state = bool(scenario.inventory) or bool(scenario.returns) or previous
    work = (
        "with tonight's state or a previous plan: reading them and the scenario, the columns "
        "over every option, the naive floor and writing the plan"
        if state
        else "on the SKU-block path: reading the scenario, the naive plan of every block and "
        "writing the plan"
    )
    rows = int((np.asarray(scenario.demand.units, float) > 0).sum())
    TimeLimitError.check(
        params.time_limit_s,
        shortest_limit(scenario, params, previous=previous),
        f"{rows:,} demand rows {work}",
        name=scenario.name,
    )


def _solve(
    data: NetworkData,
    params: AllocationParams,
    strategy: str,
    cols: Columns,
    naive: Solution,
    hint: Solution,
    solve_deadline: float,
    cancel: threading.Event | None,
    say: Progress,
) -> AllocationResult:
    """The solve of the monolithic and decomposition paths (strategy already chosen)."""
    if strategy == "decompose" and data.has_state and not data.has_previous:
        # inventory, transfers and returns: the decomposition's aggregate for the
        # warehouses, the model with state on them, and a bound with those rows priced
        from optimizer.allocation.state_bound import solve_state_decomposed

        res = solve_state_decomposed(
            data,
            params,
            columns=cols,
            naive=naive,
            deadline=solve_deadline,
            cancel=cancel,
            on_phase=say,
        )
    elif strategy == "decompose" and data.has_state:
        # the bound knows no stability term: last night's warehouses, then the model with
        # state on them
        res = _solve_state_on_decomposed(
            data, params, cols, naive, deadline=solve_deadline, cancel=cancel, say=say
        )
    elif strategy == "decompose":
        from optimizer.allocation.decompose import solve_decomposed

        res = solve_decomposed(
            data,
            params,
            columns=cols,
            hint=hint,
            deadline=solve_deadline,
            cancel=cancel,
            on_phase=say,
        )
    else:
        res = solve_allocation(
            data,
            params,
            columns=cols,
            hint=hint,
            deadline=solve_deadline,
            cancel=cancel,
            on_phase=say,
        )
    return res


@dataclass(slots=True)
class _Run:
    """One planning run as it goes: the strategy taken, the columns and naive plans, the
    result so far and the notes; ``solve_deadline`` leaves time for the document and files."""

    strategy: str
    cols: Columns
    naive: Solution
    hint: Solution
    naive_cols: Columns
    notes: list[str]
    res: AllocationResult | None
    solve_deadline: float
    #: the naive plan moved off full warehouses (:func:`_floor_plan`), once computed
    floor: Solution | None = None


def _floor_plan(data: NetworkData, run: _Run) -> Solution:
    """The floor: the naive plan with the overflow rule
    (:func:`~optimizer.allocation.baseline.within_capacity`), computed once."""
    if run.floor is None:
        run.floor = within_capacity(data, run.cols, run.naive)
    return run.floor


#: How the SKU blocks with tonight's state and no previous plan chose their warehouses.
FLOOR_WAREHOUSES = (
    "the naive floor's warehouses (tonight's stock where it is, the nearest on-time ones)"
)


def _prepare(
    data: NetworkData,
    params: AllocationParams,
    deadline: float,
    executor: TaskRunner | None,
    draw_map: bool,
    say: PhaseReport,
) -> _Run:
    """Choose the path by size (SKU blocks for L/XL catalogues: solved here; else the columns
    and the naive plan, the strategy and the solve deadline)."""
    strategy = params.strategy
    n_skus = len(np.unique(data.dem_sku[data.dem_units > 0]))
    if data.has_state and (
        strategy == "blocks" or (strategy == "auto" and n_skus >= BLOCK_MIN_SKUS)
    ):
        # tonight's state on SKU blocks (optimizer.allocation.state_blocks); the full columns
        # below are built for the floor (the naive plan with state) only
        strategy = "blocks+state"
    if n_skus and (strategy == "blocks" or (strategy == "auto" and n_skus >= BLOCK_MIN_SKUS)):
        # tiers L/XL: SKU blocks (optimizer.allocation.blocks); full columns are never built
        strategy = "blocks"
        n_pairs = int((data.dem_units > 0).sum())
        slow = machine_slowdown()
        per_pair = BLOCK_OUTPUT_PER_PAIR_S + (
            BLOCK_BASELINE_PER_PAIR_S if params.baseline == "naive" else 0.0
        )
        solve_deadline = deadline - (
            OUTPUT_FIXED_S + per_pair * n_pairs * slow + (MAP_SECONDS if draw_map else 0.0)
        )
        res_b, (cols, naive, hint) = solve_blocks(
            data, params, deadline=solve_deadline, runner=executor, on_phase=say, slowdown=slow
        )
        naive_cols = cols
        notes = list(res_b.notes)
        res: AllocationResult | None = res_b
        solve_deadline = time.perf_counter()  # no fallback solve on this path
    else:
        t_prep = time.perf_counter()
        cols = build_columns(data)
        naive, hint = naive_solution(data, cols)
        naive_cols = cols
        # the solvers stop early enough to leave time for the plan's document and files, and
        # for their own overrun
        prep_s = time.perf_counter() - t_prep
        solve_deadline = (
            deadline
            - output_seconds(prep_s, baseline=params.baseline == "naive", draw_map=draw_map)
            - SOLVER_OVERRUN_RATIO * prep_s
        )
        n_cols = len(cols.x_pair) + len(cols.q_pair) + len(cols.f_sku)
        if strategy == "blocks" or (strategy == "blocks+state" and not n_skus):
            strategy = "monolithic"  # no demand: nothing to cut into blocks
        if strategy == "blocks+state":
            # the blocks' workers are left at their deadline (no solver overrun here), and
            # the output is the block path's; the assembly and the floor's check come first
            n_pairs = int((data.dem_units > 0).sum())
            per_pair = (
                BLOCK_OUTPUT_PER_PAIR_S
                + STATE_ASSEMBLY_PER_PAIR_S
                + (BLOCK_BASELINE_PER_PAIR_S if params.baseline == "naive" else 0.0)
            )
            solve_deadline = deadline - (
                OUTPUT_FIXED_S
                + per_pair * n_pairs * machine_slowdown()
                + (MAP_SECONDS if draw_map else 0.0)
            )
        if strategy == "auto":
            strategy = (
                "decompose"
                if n_cols > AUTO_DECOMPOSE_COLUMNS and len(data.skus) > 1
                else "monolithic"
            )
        notes = []
        res = None
    return _Run(strategy, cols, naive, hint, naive_cols, notes, res, solve_deadline)


def _naive_warehouses(
    data: NetworkData,
    params: AllocationParams,
    run: _Run,
    res: AllocationResult,
    cancel: threading.Event | None,
    say: PhaseReport,
    t0: float,
) -> AllocationResult:
    """No incumbent in time: flows re-optimised on the naive plan's warehouses, if that finds
    a plan (else ``res`` unchanged)."""
    cols, notes, solve_deadline = run.cols, run.notes, run.solve_deadline
    say("no solution in time: re-optimising flows on the naive plan's warehouses")
    # the floor's warehouses: the naive plan's and those its overflow opens
    y = _floor_plan(data, run).y
    res2 = solve_allocation(
        data, params, columns=cols, y_fixed=y, deadline=solve_deadline, cancel=cancel
    )
    if res2.solution is not None:
        notes.append(
            "the solver found no plan in time; warehouses fixed to the naive plan's "
            "(with those its overflow from full warehouses opens) "
            "and flows re-optimised"
        )
        res = AllocationResult(
            status=Status.FEASIBLE,
            objective=res2.objective,
            bound=res.bound,
            runtime_s=time.perf_counter() - t0,
            cost=res2.cost,
            columns=cols,
            solution=res2.solution,
            stats=dataclasses.replace(res.stats, fallback=True),
            notes=tuple(notes),
        )
    return res


def _naive_floor(
    data: NetworkData,
    params: AllocationParams,
    run: _Run,
    res: AllocationResult | None,
    t0: float,
    *,
    too_large: str | None = None,
    why: str | None = None,
) -> AllocationResult:
    """The floor: the naive planner's plan (always exists), never nothing; the notes say why
    (``too_large``: the model was not solved for its memory, :func:`full_lp_too_large`;
    ``why``: the reason a path without a solver result of its own gives, e.g. the SKU blocks
    with tonight's state).

    The bound is the solver's, not clipped to the naive plan's cost: that cost is an upper
    bound on the optimum only if the plan keeps every rule, which the evaluator decides later
    (:func:`plan_scenario` then writes no gap when it does not). The note blames the time limit
    only when the solve ran out of time; a solver that stopped earlier without a plan is said
    to have found none (the notes before say why)."""
    cols, notes = run.cols, run.notes
    # the naive plan moved off the warehouses whose capacities it breaks (the solvers' warm
    # start, run.hint, stays the spreadsheet's flows)
    hint = _floor_plan(data, run)
    cost = cost_terms(data, cols, hint)
    obj = float(sum(cost.values()))
    bound = -math.inf if res is None else res.bound
    limit = params.time_limit_s
    now = time.perf_counter()
    naive = (
        ": this is the naive planner's plan (nearest on-time warehouse, cheapest lanes, "
        "the next one where a warehouse is full, stocking levels by the model's rule)"
    )
    if too_large is not None:
        notes.append(
            "the model was too large to solve in this machine's memory (see the note above): "
            f"after {now - t0:.1f} s{naive}"
        )
    elif why is not None:
        notes.append(f"{why}: after {now - t0:.1f} s{naive}")
    elif run.solve_deadline - now < MIN_SOLVE_S or not math.isfinite(limit):
        notes.append(
            (
                f"no optimised plan within the time limit of {limit:g} s "
                if math.isfinite(limit)
                else "the solver found no plan "
            )
            + f"(solving stopped after {now - t0:.1f} s)"
            + naive
            + "; give more time (--time-limit) for an optimised one"
        )
    else:
        # stopped with time left: more time would not help
        why = (
            "the solver rejected the model"
            if res is None
            else "the solver found no feasible plan"
            + (" (see the notes above)" if res.notes else "")
        )
        notes.append(
            f"{why}: solving stopped after {now - t0:.1f} s of the {limit:g}-s time limit" + naive
        )
    return AllocationResult(
        status=Status.FEASIBLE,
        objective=obj,
        bound=bound,
        runtime_s=time.perf_counter() - t0,
        cost=cost,
        columns=cols,
        solution=hint,
        stats=dataclasses.replace(res.stats if res is not None else SolveStats(), fallback="naive"),
        notes=tuple(notes),
    )


def _state_on_blocks(
    data: NetworkData,
    params: AllocationParams,
    run: _Run,
    executor: TaskRunner | None,
    say: PhaseReport,
) -> tuple[AllocationResult | None, str | None]:
    """Tonight's state on SKU blocks (:mod:`optimizer.allocation.state_blocks`) after the
    floor, which is computed first: the plan if the blocks give none, the rows of the blocks
    that give none by the deadline, and the plan they must beat. A plan that mixes blocks'
    plans with the floor's rows is kept only when it keeps every capacity and meets the
    on-time targets (or ships as many units on time as the floor). Returns the blocks'
    result, or ``None`` and why the floor is the plan; the blocks' notes go to
    ``run.notes``."""
    floor_sol = _floor_plan(data, run)
    if run.solve_deadline - time.perf_counter() < MIN_SOLVE_S:
        return None, "no time was left for the SKU blocks after the floor's columns"
    res, block_notes = solve_state_blocks(
        data,
        params,
        deadline=run.solve_deadline,
        runner=executor,
        on_phase=say,
        warehouses=(floor_sol.y, FLOOR_WAREHOUSES),
        floor=(run.cols, floor_sol),
    )
    run.notes.extend(block_notes)
    if res is None or res.columns is None or res.solution is None:
        return None, "no SKU block gave a plan (see the note above)"
    t_check = time.perf_counter()
    floor_cost = float(sum(cost_terms(data, run.cols, floor_sol).values()))
    if res.stats.extra.get("floor_blocks"):
        mix = (res.columns, res.solution)
        if breaks_capacity(data, *mix):
            return None, (
                "the blocks that answered, joined with the naive floor's rows for the others, "
                "break a shared capacity"
            )
        if not meets_targets(data, *mix) and ontime_units(*mix) < ontime_units(run.cols, floor_sol):
            return None, (
                "the blocks that answered, joined with the naive floor's rows for the others, "
                "ship fewer units on time than the floor and miss the on-time targets"
            )
    if floor_cost < res.objective and not breaks_capacity(data, run.cols, floor_sol):
        return None, (
            f"the SKU blocks' plan ({res.objective:,.2f}) costs more than the naive floor "
            f"({floor_cost:,.2f}), which keeps every capacity"
        )
    extra = {**res.stats.extra, "floor_check_s": time.perf_counter() - t_check}
    return replace(res, stats=replace(res.stats, extra=extra)), None


def plan_scenario(
    scenario: Scenario,
    params: AllocationParams | None = None,
    *,
    progress: Progress | None = None,
    cancel: threading.Event | None = None,
    data: NetworkData | None = None,
    started: float | None = None,
    executor: TaskRunner | None = None,
    previous: Plan | None = None,
    draw_map: bool = False,
) -> PlanOutcome:
    """Compile, solve and document a plan for one scenario.

    Parameters
    ----------
    scenario
        A validated scenario.
    params
        Solver parameters; ``params.time_limit`` bounds the whole call.
    progress
        Called with a short phase description as work advances (for progress displays).
    cancel
        Set it from another thread to stop the solver early (the best plan so far is kept).
    data
        The compiled network, if already compiled.
    started
        ``time.perf_counter()`` when the time limit started (default: now), so that a caller
        can count its own work (reading the scenario, writing files) against the limit.
    executor
        Where the SKU blocks of a large catalogue run (:func:`optimizer.executor.make_executor`;
        default: Dask when ``TRADELANE_DASK_ADDRESS`` is set, else local processes).
    previous
        A previous plan: its stocking levels and warehouses are what the
        stability terms (format v1.1) compare against.
    draw_map
        The caller draws ``map.png`` within the time limit (:func:`map_fits`): its seconds are
        reserved after the solve.

    Raises
    ------
    TimeLimitError
        The time limit is shorter than the scenario can keep (:func:`shortest_limit`, the
        SKU-block path of large catalogues); the message names the shortest.

    Returns
    -------
    PlanOutcome
        ``plan`` is the DESIGN §7 document; its ``objective`` equals the independent
        evaluator's total (checked here; a mismatch is logged as an error). There is always a
        plan unless the model is proven infeasible: when the solver finds none (in time, or
        at all), the naive planner's plan (:func:`~optimizer.allocation.baseline.naive_solution`,
        stocking levels by the model's rule) is the floor, with status ``feasible`` when the
        evaluator finds it breaks no rule, else ``time_limit``, and a note saying so (it blames
        the time limit only when the solve ran out of it). The floor's bound is the solver's,
        not clipped to the naive plan's cost, and its gap is written only when the evaluator
        finds the plan breaks no rule and it costs at least the bound.
    """
    params = params or AllocationParams()
    check_time_limit(scenario, params, previous=previous is not None)
    t_in = time.perf_counter()
    t0 = t_in if started is None else started
    deadline = t0 + params.time_limit_s
    say = progress or quiet
    say("compiling the lane network")
    if data is None:
        data = compile_network(scenario)
    if previous is not None:
        data = attach_previous(data, previous)
    t_prep = time.perf_counter()
    run = _prepare(data, params, deadline, executor, draw_map, say)
    # seconds of each phase, for plan.json's stats (the solve's own are in SolveStats)
    phases = {"start_s": t_in - t0, "prepare_s": time.perf_counter() - t_prep}
    strategy, notes, res = run.strategy, run.notes, run.res
    notes.extend(overfull_notes(data))
    # the state paths solve one LP over every column (so does the floor's re-optimisation):
    # not tried where it would not fit in memory
    too_large = full_lp_too_large(run.cols) if strategy not in ("blocks", "blocks+state") else None
    state_too_large = too_large if data.has_state else None
    floor_why: str | None = None
    if state_too_large is not None:
        notes.append(
            f"{state_too_large}: it was not solved (strategy blocks plans tonight's state on "
            "SKU blocks, as auto does from 2,000 SKUs with demand)"
        )
    elif strategy == "blocks+state":
        res, floor_why = _state_on_blocks(data, params, run, executor, say)
    elif strategy != "blocks" and run.solve_deadline - time.perf_counter() >= MIN_SOLVE_S:
        try:
            res = _solve(
                data,
                params,
                strategy,
                run.cols,
                run.naive,
                run.hint,
                run.solve_deadline,
                cancel,
                say,
            )
        except SolverError as e:
            # a valid scenario whose numbers the solver cannot take (coefficients beyond its
            # range): the naive floor below, and the reason in the notes
            log.warning("solver rejected the model: %s", e)
            notes.append(f"the solver rejected the model ({e}): numbers out of its range")
            res = None
        if res is not None:
            notes.extend(res.notes)
        if strategy == "decompose" and data.has_state:
            strategy = "decompose+state"
    if (
        res is not None
        and res.solution is None
        and res.status is not Status.INFEASIBLE
        and run.solve_deadline - time.perf_counter() >= MIN_SOLVE_S
    ):
        if too_large is None:
            res = _naive_warehouses(data, params, run, res, cancel, say, t0)
        else:
            notes.append(f"flows not re-optimised on the naive plan's warehouses: {too_large}")
    floor = res is None or (res.solution is None and res.status is not Status.INFEASIBLE)
    if floor:
        res = _naive_floor(data, params, run, res, t0, too_large=state_too_large, why=floor_why)
    assert res is not None
    naive_cols, naive = run.naive_cols, run.naive
    say("writing the plan")
    solve_s = time.perf_counter() - t0
    if res.solution is None:
        plan = _empty_plan(data, res.status, solve_s)
        plan = dataclasses.replace(plan, notes=tuple(notes), seed=params.seed)
        return PlanOutcome(plan=plan, result=res, geo=geo_of(scenario))
    cols = res.columns
    # the floor's bound is the solver's, never clipped to the naive plan's cost
    res = replace(_exact_lost(data, res), bound=res.bound) if floor else _exact_lost(data, res)
    sol = res.solution
    assert sol is not None
    baseline: dict[str, Any] | None = None
    if params.baseline == "naive":
        # before our own document: the naive plan's document is freed before ours is built
        # (on 100,000 SKUs each has millions of rows)
        t_base = time.perf_counter()
        baseline = baseline_summary(data, naive_cols, naive, res.objective)
        phases["baseline_s"] = time.perf_counter() - t_base
    t_doc = time.perf_counter()
    plan = plan_dict(
        data,
        cols,
        sol,
        status=res.status,
        objective=res.objective,
        bound=res.bound,
        solve_seconds=solve_s,
    )
    t_ev = time.perf_counter()
    phases["document_s"] = t_ev - t_doc
    ev = evaluate(data, plan)
    phases["evaluate_s"] = time.perf_counter() - t_ev
    if abs(ev.total - res.objective) > 1e-6 * max(1.0, abs(res.objective)):
        log.error(
            "plan objective %.6f differs from the evaluator's total %.6f", res.objective, ev.total
        )
    status = res.status
    fell_back = floor or bool(res.stats.blocks_without_plan)
    if fell_back and not ev.feasible:
        # honest status: the fallback breaks rules the evaluator lists
        status = Status.TIME_LIMIT
        res = replace(res, status=Status.TIME_LIMIT)
        notes.append(
            f"the naive plan breaks {len(ev.violations)} rule(s) of the model (see evaluation)"
        )
    if floor and (
        not ev.feasible or res.bound > res.objective + 1e-9 * max(1.0, abs(res.objective))
    ):
        # a plan that breaks a rule (or is cheaper than the bound: it misses the targets the
        # bound was proven for) gives no upper bound on the optimum: no gap is claimed
        plan = dataclasses.replace(plan, gap=None)
    # JSON has no inf/nan: a figure that was never reached (a bound phase given no time) is
    # written as null (Plan.to_json)
    stats = {
        **res.stats.to_json(),
        "compile_s": float(data.compile_seconds),
        "peak_rss_mb": peak_rss_mb(),
        "peak_rss_children_mb": peak_rss_mb(children=True),
    }
    plan = dataclasses.replace(
        plan,
        warehouses=_stated_capacities(scenario, plan.warehouses),
        status=status,
        seed=params.seed,
        currency=scenario.currency,
        strategy="naive" if floor else strategy,
        solver=params.solver,
        notes=tuple(notes),
        stats=stats,
        evaluation=PlanEvaluation(
            feasible=ev.feasible, violations=ev.violations, shortfalls=ev.shortfalls
        ),
    )
    t_diag = time.perf_counter()
    plan = dataclasses.replace(
        plan, diagnosis=diagnose(scenario, data, cols, sol, plan, all_cols=naive_cols)
    )
    phases["diagnose_s"] = time.perf_counter() - t_diag
    if baseline is not None:
        plan = dataclasses.replace(plan, baseline=baseline)
    plan = dataclasses.replace(plan, stats={**stats, **phases})
    return PlanOutcome(plan=plan, result=res, evaluation=ev, geo=geo_of(scenario))


def _stated_capacities(
    scenario: Scenario, rows: tuple[WarehouseRow, ...] | None
) -> tuple[WarehouseRow, ...] | None:
    """The warehouse rows with the capacities the scenario states: the compiled network makes
    a capacity that cannot bind unlimited (the solver would reject its huge coefficient), and
    the plan would otherwise report ``null`` (unlimited) for a warehouse of 5,000 units a day."""
    if rows is None:
        return None
    node = {n.id: n for n in scenario.nodes}

    def stated(v: float | None, given: float | None) -> float | None:
        if v is not None and math.isinf(v) and given is not None:
            return float(given)
        return v

    out = []
    for w in rows:
        n = node.get(w.id)
        if n is None:
            out.append(w)
            continue
        out.append(
            dataclasses.replace(
                w,
                storage_m3=stated(w.storage_m3, n.storage_m3),
                throughput_units_per_day=stated(
                    w.throughput_units_per_day, n.throughput_units_per_day
                ),
            )
        )
    return tuple(out)


def _exact_lost(data: NetworkData, res: AllocationResult) -> AllocationResult:
    """Lost units set to exactly the demand not delivered (the evaluator's definition).

    A solver meets the demand rows within its feasibility tolerance (1e-7 units, or 1e-9 units
    of demand written off): with a huge lost-sale penalty that tolerance is visible in the
    cost. The objective is recomputed; the bound is unchanged (the gap may move by the
    tolerance's cost).
    """
    sol, cols = res.solution, res.columns
    assert sol is not None
    got = np.bincount(cols.x_pair, weights=sol.x, minlength=len(cols.p_dem)) + np.bincount(
        cols.q_pair, weights=sol.q, minlength=len(cols.p_dem)
    )
    u = np.maximum(cols.p_dem - got, 0.0)
    if np.array_equal(u, sol.u):
        return res
    sol = replace(sol, u=u)
    cost = cost_terms(data, cols, sol)
    obj = float(sum(cost.values()))
    return replace(res, solution=sol, cost=cost, objective=obj, bound=min(res.bound, obj))


def peak_rss_mb(*, children: bool = False) -> float:
    """Peak resident memory of this process so far, MB (``ru_maxrss``; 0 where unknown);
    ``children``: of the largest finished child process (local block workers)."""
    try:
        import resource
    except ImportError:  # pragma: no cover - not on Windows
        return 0.0
    who = resource.RUSAGE_CHILDREN if children else resource.RUSAGE_SELF
    kb = resource.getrusage(who).ru_maxrss
    return float(kb) / (1024.0 * 1024.0 if sys.platform == "darwin" else 1024.0)


def _solve_state_on_decomposed(
    data: NetworkData,
    params: AllocationParams,
    cols: Columns,
    naive: Solution,
    *,
    deadline: float,
    cancel: threading.Event | None,
    say: Progress,
) -> AllocationResult:
    """A large model with tonight's state and a previous plan (without one,
    :func:`optimizer.allocation.state_bound.solve_state_decomposed` is used): the previous
    plan's warehouses if there is one, else those of the decomposition of the network without
    state (at most 40 % of the time); then the model with state on them, an LP (no binaries
    left) over every option at those warehouses. (Restricting it to the 3 cheapest inbound
    options per SKU and warehouse, as the decomposition's own fixed-warehouse step does, kept
    it from returning to last night's stocking levels: on me-small with penalty 2 it kept all
    the churn, at +0.9 % cost.)

    No lower bound of the model with state is proven this way (the decomposition's bound is
    for the network without state, whose optimum can be higher): the bound is ``-inf`` and the
    status at best ``feasible``; the notes say so.
    """
    from optimizer.allocation.decompose import solve_decomposed

    t0 = time.perf_counter()
    first: AllocationResult | None = None
    if data.prev_open is not None:
        y = np.asarray(data.prev_open, float)
        how = "last night's warehouses"
    else:
        bare = data.without_state()
        bare_cols = build_columns(bare)
        _, bare_hint = naive_solution(bare, bare_cols)
        say("warehouses from the decomposition (network without tonight's state)")
        first = solve_decomposed(
            bare,
            params,
            columns=bare_cols,
            hint=bare_hint,
            deadline=t0 + 0.4 * (deadline - t0),
            cancel=cancel,
            on_phase=say,
        )
        y = first.solution.y if first.solution is not None else naive.y
        how = "warehouses from the decomposition of the network without it"
    say("tonight's state on the chosen warehouses")
    best = solve_allocation(
        data,
        params,
        columns=drop_closed(cols, y),
        y_fixed=y,
        deadline=deadline,
        cancel=cancel,
    )
    note = (
        "tonight's state (inventory, transfers, returns or a previous plan) on a large model: "
        f"{how}, then flows, stock, transfers and returns optimised on them; no lower bound "
        "of the model with state is proven"
    )
    notes = [note]
    if best.solution is None:
        return AllocationResult.no_solution(
            cols,
            bound=-math.inf,
            runtime_s=time.perf_counter() - t0,
            notes=tuple(notes + list(best.notes)),
        )
    stats = first.stats.to_json() if first is not None else {}
    return AllocationResult(
        status=Status.FEASIBLE,
        objective=best.objective,
        bound=-math.inf,
        runtime_s=time.perf_counter() - t0,
        cost=best.cost,
        columns=best.columns,
        solution=best.solution,
        stats=SolveStats.from_mapping(
            {**stats, **{f"state_{k}": v for k, v in best.stats.to_json().items()}}
        ),
        notes=tuple(notes + list(best.notes)),
        targets_lowered=best.targets_lowered,
    )


def baseline_summary(
    data: NetworkData, cols: Columns, naive: Solution, objective: float | None
) -> dict[str, Any]:
    """The naive planner's cost, service and rule breaks, next to ours (``objective``: our
    plan's total cost)."""
    doc = plan_dict(
        data,
        cols,
        naive,
        status=Status.FEASIBLE,
        objective=math.nan,
        bound=math.nan,
        solve_seconds=0.0,
    )
    ev = evaluate(data, doc)
    ours = float(objective if objective is not None else math.nan)
    return {
        "name": "naive",
        "objective": ev.total,
        "cost": ev.cost,
        "on_time_share": ev.on_time_share,
        "units_lost": ev.units_lost,
        "warehouses_open": len(doc.open_warehouses),
        "violations": len(ev.violations),
        "violation_examples": list(ev.violations[:5]),
        "saving": ev.total - ours,
        "saving_share": (ev.total - ours) / ev.total if ev.total > 0 else 0.0,
    }


def diagnose(
    scenario: Scenario,
    data: NetworkData,
    cols: Columns,
    sol: Solution,
    plan: Plan,
    *,
    max_zones: int = 20,
    all_cols: Columns | None = None,
) -> dict[str, Any]:
    """Which zones/SKUs miss the promise, why, and what binds.

    A zone misses when some of its units are late or lost. The reason is ``"no path meets
    the promise"`` when no option into it is fast enough, ``"on-time warehouse not opened
    (cost)"`` when only a warehouse the plan does not use could meet it, ``"capacity"`` when
    one in use could but some capacity binds, else ``"cost"`` (cheaper to be late or lose).
    The fastest path into each listed zone is broken down by leg (hours per lane).
    """
    promise = float(data.service.promise_hours)
    Z = len(data.zones)
    late_z = np.zeros(Z)
    lost_z = np.zeros(Z)
    np.add.at(late_z, cols.p_zone[cols.x_pair[~cols.x_ontime]], sol.x[~cols.x_ontime])
    np.add.at(late_z, cols.p_zone[cols.q_pair[~cols.q_ontime]], sol.q[~cols.q_ontime])
    np.add.at(lost_z, cols.p_zone, sol.u)
    full = cols if all_cols is None else all_cols
    has_on = np.zeros(Z, dtype=bool)  # some on-time path exists (any usable warehouse)
    has_on[full.p_zone[full.x_pair[full.x_ontime]]] = True
    has_on[full.p_zone[full.q_pair[full.q_ontime]]] = True
    used_on = np.zeros(Z, dtype=bool)  # an on-time path from a warehouse in use, or direct
    open_w = sol.y > 0.5
    mx = cols.x_ontime & open_w[cols.x_wh]
    used_on[cols.p_zone[cols.x_pair[mx]]] = True
    used_on[cols.p_zone[cols.q_pair[cols.q_ontime]]] = True
    binding = _binding(data, plan)
    miss = np.flatnonzero(late_z + lost_z > 1e-6)
    miss = miss[np.argsort(-(late_z + lost_z)[miss], kind="stable")]
    out = []
    G = None
    short_pair = sol.u + _per_pair(cols, sol, late=True) > 1e-6 if len(miss) else None
    for z in miss[:max_zones].tolist():
        reason = (
            "no path meets the promise"
            if not has_on[z]
            else "on-time warehouse not opened (cost)"
            if not used_on[z]
            else "capacity"
            if binding
            else "cost"
        )
        m = (cols.p_zone == z) & short_pair
        skus = [data.skus[k] for k in cols.p_sku[m][:5].tolist()]
        entry: dict[str, Any] = {
            "zone": data.zones[z],
            "country": data.zone_country[z],
            "units_late": float(late_z[z]),
            "units_lost": float(lost_z[z]),
            "skus": skus,
            "reason": reason,
        }
        try:
            if G is None:
                from network.graph import build_graph

                G = build_graph(scenario)
            entry["fastest"] = _fastest(
                scenario, data, G, z, int(cols.p_sku[m][0]) if m.any() else 0
            )
        except Exception as e:
            log.warning("no fastest-path breakdown for %s: %s", data.zones[z], e)
        out.append(entry)
    return {
        "promise_hours": promise,
        "target": data.service.min_on_time_share,
        "target_met": plan.evaluation is None or not plan.evaluation.shortfalls,
        "zones_missing_promise": len(miss),
        "misses": out,
        "binding_capacities": binding,
        "unreachable_zones": data.unreachable_zones(),
    }


def _per_pair(cols: Columns, sol: Solution, *, late: bool) -> np.ndarray:
    v = np.zeros(len(cols.p_dem))
    mx = ~cols.x_ontime if late else cols.x_ontime
    mq = ~cols.q_ontime if late else cols.q_ontime
    np.add.at(v, cols.x_pair[mx], sol.x[mx])
    np.add.at(v, cols.q_pair[mq], sol.q[mq])
    return v


def _binding(data: NetworkData, plan: Plan, tol: float = 1e-3) -> list[dict[str, Any]]:
    """Capacities used to within ``tol`` of their limit."""
    out = []
    for w in plan.warehouses or ():
        for used, cap, kind in (
            (w.throughput_used_per_day, w.throughput_units_per_day, "throughput_units_per_day"),
            (w.storage_used_m3, w.storage_m3, "storage_m3"),
        ):
            if cap is not None and math.isfinite(cap) and w.open and used >= cap * (1 - tol) - 1e-9:
                out.append({"kind": kind, "id": w.id, "used": used, "capacity": cap})
    # lanes: recompute loads per lane from the listed flows
    H = float(data.horizon_days)
    lane_i = {ln: i for i, ln in enumerate(data.lanes)}
    sku_i = {s: i for i, s in enumerate(data.skus)}
    rows: list[ReplenishmentRow | FulfilmentRow] = [
        *(plan.replenishment or ()),
        *(plan.fulfilment or ()),
    ]
    # one entry per (row, lane of the row)
    li = np.array([lane_i[ln] for r in rows for ln in r.lanes], np.int64)
    n_l = np.array([len(r.lanes) for r in rows], np.int64)
    k = np.repeat(np.array([sku_i[r.sku] for r in rows], np.int64), n_l)
    u = np.repeat(np.array([float(r.units) for r in rows], np.float64), n_l) / H
    n = len(data.lanes)
    load = np.zeros((n, len(LaneDim)))
    load[:, LaneDim.KG] = np.bincount(li, u * data.sku.weight_kg[k], n)
    load[:, LaneDim.M3] = np.bincount(li, u * data.sku.volume_m3[k], n)
    load[:, LaneDim.UNITS] = np.bincount(li, u, n)
    caps = data.lane_caps
    for i, d in np.argwhere(np.isfinite(caps) & (load >= caps * (1 - tol) - 1e-9)).tolist():
        out.append(
            {
                "kind": f"lane_{LaneDim(d).unit}_per_day",
                "id": data.lanes[i],
                "used": float(load[i, d]),
                "capacity": float(caps[i, d]),
            }
        )
    return out


def _fastest(scenario: Scenario, data: NetworkData, G: Any, z: int, k: int) -> dict[str, Any]:
    """The fastest path into zone ``z`` (from any usable warehouse or origin), by leg."""
    from network.paths import pareto_for_sku

    best: tuple[float, int, int] | None = None
    for kind, opts in (("warehouse", data.outbound), ("origin", data.direct)):
        sel = np.flatnonzero(opts.dst == z)
        if kind == "warehouse":
            sel = sel[data.wh_usable[opts.src[sel]]]
        if len(sel):
            i = sel[np.argmin(opts.hours[sel])]
            if best is None or opts.hours[i] < best[0]:
                best = (float(opts.hours[i]), 0 if kind == "warehouse" else 1, int(opts.src[i]))
    if best is None:
        return {"source": None, "hours": None, "legs": [], "note": "no path reaches the zone"}
    src = data.warehouses[best[2]] if best[1] == 0 else data.origins[best[2]]
    sku = next(s for s in scenario.skus if s.id == data.skus[k])
    res = pareto_for_sku(scenario, src, data.zones[z], sku, G=G)
    p = res.paths[0]
    legs = [{"lane": "(processing/handling at " + src + ")", "hours": p.start_hours}]
    legs += [
        {"lane": g.lane, "mode": g.mode, "hours": g.transit_hours + g.clearance_hours}
        for g in p.legs
    ]
    return {"source": src, "hours": p.hours, "legs": legs}
