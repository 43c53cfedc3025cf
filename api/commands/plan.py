"""``tradelane plan SCENARIO --out DIR``: solve the allocation model and write the plan.

Writes ``DIR/plan.json`` (DESIGN §7), ``DIR/plan.geojson``, ``DIR/map.png``,
``DIR/report.html`` (self-contained) and ``DIR/scenario.json`` (the scenario planned, so that
``tradelane simulate DIR`` and ``tradelane whatif`` need nothing else); shows progress on
stderr while solving and prints a short summary on stdout.
"""

from __future__ import annotations

import argparse
import math
from pathlib import Path
from typing import TYPE_CHECKING, Any

from api.commands._common import (
    InputError,
    StagedOutput,
    add_scenario_args,
    check_seconds,
    load,
    read_previous,
    with_progress,
)

if TYPE_CHECKING:
    from optimizer.plan.document import Plan


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser(
        "plan",
        help="optimise stock, sources and lanes; write plan.json, "
        "plan.geojson, map.png and report.html",
    )
    add_scenario_args(p)
    p.add_argument("--out", required=True, metavar="DIR", help="output directory")
    p.add_argument(
        "--time-limit",
        type=float,
        metavar="S",
        help="wall-clock seconds (default: none, or the config's)",
    )
    p.add_argument("--gap", type=float, metavar="G", help="relative MIP gap (default 1e-4)")
    p.add_argument("--threads", type=int, metavar="N", help="solver threads")
    p.add_argument(
        "--solver", choices=("highs", "scip", "cpsat"), help="MIP solver (default highs)"
    )
    p.add_argument(
        "--strategy",
        choices=("auto", "monolithic", "decompose", "blocks"),
        help="monolithic MIP, warehouse decomposition or SKU blocks (default auto: by size)",
    )
    p.add_argument(
        "--dask",
        metavar="ADDRESS",
        help="run SKU blocks on this Dask scheduler ('local': a LocalCluster; default: "
        "$TRADELANE_DASK_ADDRESS, else local processes)",
    )
    p.add_argument(
        "--workers", type=int, metavar="N", help="local processes or LocalCluster workers"
    )
    p.add_argument("--baseline", choices=("naive",), help="also report the naive planner")
    p.add_argument(
        "--config", metavar="TOML", help="parameters from a TOML file (command-line flags win)"
    )
    p.add_argument("--seed", type=int, metavar="N", help="random seed (default 0)")
    p.add_argument(
        "--inventory",
        metavar="CSV",
        help="tonight's stock (sku,warehouse,on_hand,in_transit,arrives_in_hours); "
        "replaces the scenario's inventory",
    )
    p.add_argument(
        "--previous",
        metavar="PLAN.json",
        help="last plan (plan.json or its directory): stability against it",
    )
    p.add_argument("--no-map", action="store_true", help="skip map.png")
    p.add_argument("--quiet", action="store_true", help="no progress display")
    p.set_defaults(func=run)


def allocation_params(args: argparse.Namespace) -> Any:
    from optimizer.allocation.params import AllocationParams

    try:
        base = AllocationParams.from_toml(args.config) if args.config else AllocationParams()
    except ValueError as e:
        raise InputError(f"--config: {e}") from None
    # 0 used to give the naive plan with exit 0; route and bench refuse it as well, and inf
    # (which ran without a limit while nan was refused)
    check_seconds(args.time_limit, "--time-limit", absent="no limit")
    changes: dict[str, Any] = {}
    for flag, key in (
        ("time_limit", "time_limit"),
        ("gap", "relative_gap"),
        ("threads", "threads"),
        ("solver", "solver"),
        ("seed", "seed"),
        ("strategy", "strategy"),
        ("baseline", "baseline"),
    ):
        v = getattr(args, flag)
        if v is not None:
            changes[key] = v
    try:
        return base.replace(**changes)
    except ValueError as e:
        flag = next(
            (f"--{k.replace('_', '-')}" for k in ("time_limit", "threads", "seed") if k in str(e)),
            "--gap" if "gap" in str(e) else "parameters",
        )
        raise InputError(f"{flag}: {e}") from None


def run(args: argparse.Namespace) -> int:
    from optimizer.allocation.params import AllocationParams
    from optimizer.exceptions import TimeLimitError
    from optimizer.executor import make_executor
    from optimizer.plan.io import write_plan
    from optimizer.plan.planning import check_time_limit, map_fits, plan_scenario

    params: AllocationParams = allocation_params(args)
    scenario = load(args)
    try:
        # a limit shorter than the scenario can keep is refused before any work
        check_time_limit(scenario, params, previous=bool(args.previous))
    except TimeLimitError as e:
        raise InputError(f"--time-limit: {e}") from None
    previous = read_previous(args.previous) if args.previous else None
    if args.workers is not None and args.workers < 1:
        raise InputError(f"--workers: {args.workers} not understood; expected an integer >= 1")
    check_dask_address(args.dask)
    limit = params.time_limit_s
    # a tight limit goes to the solve rather than to the map (the notes say so)
    draw_map = not args.no_map and map_fits(limit)
    map_note = None if draw_map or args.no_map else map_skipped_note(limit)
    started = getattr(args, "started", None)
    # the output folder is made (or found unwritable) before the solve; the files are written
    # under temporary names and renamed when all are whole
    with StagedOutput(args.out, "--out") as staged:
        out = staged.target
        # a scheduler out of reach must not eat a short time limit (Dask waits 30 s)
        executor = make_executor(
            args.dask, workers=args.workers, connect_timeout=max(1.0, min(10.0, 0.25 * limit))
        )
        try:
            outcome = with_progress(
                lambda say: plan_scenario(
                    scenario,
                    params,
                    progress=say,
                    started=started,
                    executor=executor,
                    previous=previous,
                    draw_map=draw_map,
                ),
                params.time_limit_s,
                quiet=args.quiet,
            )
        finally:
            executor.close()
        deadline = started + limit if started is not None and limit != float("inf") else None
        with staged.writing():
            paths = write_plan(
                outcome, staged.stage, draw_map=draw_map, deadline=deadline, map_note=map_note
            )
            write_scenario(scenario, staged.stage)
        staged.commit()
        if "map" not in paths:
            (out / "map.png").unlink(missing_ok=True)  # not last run's map beside this plan
    print(summary(outcome.plan, out))
    return 0


def map_skipped_note(limit: float) -> str:
    """The plan's note when ``map.png`` is not drawn under a ``limit``-s time limit: the rule
    (:func:`optimizer.plan.planning.map_fits`) and its figures."""
    from optimizer.plan.planning import MAP_LIMIT_SHARE, MAP_SECONDS

    share = 100 * MAP_SECONDS / limit  # 3 digits: 7.9 s is 15.2 %, not a rounded 15 %
    return (
        f"map.png not drawn: it takes about {MAP_SECONDS:g} s, {share:.3g}% of the "
        f"{limit:g}-s time limit, and is drawn only when that is at most "
        f"{100 * MAP_LIMIT_SHARE:g}% (a time limit of {MAP_SECONDS / MAP_LIMIT_SHARE:g} s or more)"
    )


def check_dask_address(address: str | None) -> None:
    """InputError naming ``--dask`` unless ``address`` is ``local`` or a scheduler address,
    ``[scheme://]host:port``, checked before the solve (a malformed one failed only when the
    first SKU block was sent)."""
    import re

    if address is None or address == "local":
        return
    host = r"(\[[0-9A-Fa-f:.]+\]|[^\s:/\[\]]+)"
    if not re.fullmatch(rf"([a-z][a-z0-9+.-]*://)?{host}:[0-9]{{1,5}}", address):
        raise InputError(
            f"--dask: {address!r} not understood; expected 'local' or a scheduler address "
            "such as tcp://host:8786"
        )


def write_scenario(scenario: Any, out: Path) -> Path:
    """Write the planned scenario as ``out/scenario.json`` (a v1 document).

    Non-finite numbers (``max_km: inf``, the default of "no limit") are left out: JSON has no
    infinity, and the reader restores the default.
    """
    import json

    nested = (dict, list)

    def finite(v: Any) -> Any:
        # only containers are walked into (tens of thousands of demand rows hold plain values)
        if isinstance(v, dict):
            return {
                k: finite(x) if isinstance(x, nested) else x
                for k, x in v.items()
                if not (isinstance(x, float) and not math.isfinite(x))
            }
        if isinstance(v, list):
            return [finite(x) if isinstance(x, nested) else x for x in v]
        return v

    path = out / "scenario.json"
    doc = scenario.to_document()
    text = json.dumps(doc)
    if "Infinity" in text or "NaN" in text:
        # a non-finite number somewhere (or those letters in a name): leave them out
        text = json.dumps(finite(doc), allow_nan=False)
    path.write_text(text + "\n", encoding="utf-8")
    return path


def summary(plan: Plan, out: Path) -> str:
    """A few readable lines about a plan."""
    lines = [f"scenario {plan.scenario}: {plan.status}"]
    if plan.objective is None:
        lines.append("no plan could be made")
        lines += [f"note: {n}" for n in plan.notes or ()]
        return "\n".join([*lines, f"written to {out}/"])
    cur = plan.currency or ""
    gap = plan.gap
    lines.append(
        f"total cost {plan.objective:,.2f} {cur}  (bound "
        f"{plan.bound if plan.bound is None else format(plan.bound, ',.2f')}, "
        f"gap {'n/a' if gap is None else format(gap, '.3%')}, "
        f"{plan.solve_seconds:.1f} s)"
    )
    terms = plan.cost.terms() if plan.cost is not None else {}
    lines.append("  " + ", ".join(f"{k} {v:,.0f}" for k, v in terms.items() if v))
    svc = plan.service
    if svc is not None and svc.on_time_share is not None:
        lines.append(
            f"on time {svc.on_time_share:.2%} of demand (target {svc.target or 0:.0%}); "
            f"late {svc.units_late or 0:,.0f} units, lost {svc.units_lost or 0:,.0f}"
        )
    opened = plan.open_warehouses
    lines.append(
        f"warehouses used ({len(opened)}): {', '.join(opened[:12])}"
        + (" ..." if len(opened) > 12 else "")
    )
    diag = plan.diagnosis or {}
    if diag.get("zones_missing_promise"):
        lines.append(f"{diag['zones_missing_promise']} zone(s) miss the promise, e.g.:")
        for m in diag["misses"][:5]:
            f = m.get("fastest") or {}
            lines.append(
                f"  {m['zone']}: {m['units_late']:,.0f} late, {m['units_lost']:,.0f} "
                f"lost ({m['reason']}); fastest path "
                f"{'none' if f.get('hours') is None else format(f['hours'], '.1f') + ' h'}"
                + (f" from {f['source']}" if f.get("source") else "")
            )
    binding = diag.get("binding_capacities") or []
    for b in binding[:5]:
        lines.append(
            f"binding: {b['kind']} of {b['id']} ({b['used']:,.1f} of {b['capacity']:,.1f})"
        )
    if len(binding) > 5:
        lines.append(
            f"binding: and {len(binding) - 5} more capacities (plan.json diagnosis, report.html)"
        )
    lines.extend(f"note: {n}" for n in plan.notes or ())
    ev = plan.evaluation
    if ev is not None and ev.violations:
        lines.append(f"evaluator: {len(ev.violations)} violation(s), e.g. {ev.violations[0]}")
    base = plan.baseline
    if base:
        lines.append(
            f"naive planner: cost {base['objective']:,.2f}, on time {base['on_time_share']:.2%}"
            f", {base['violations']} rule break(s); ours saves {base['saving']:,.2f} "
            f"({base['saving_share']:.1%})"
        )
    if plan.transfers or any(r.on_hand or r.in_transit for r in plan.stock or ()):
        lines.append(
            f"tonight: {len(plan.orders or ())} order(s) to book, "
            f"{len(plan.transfers or ())} transfer(s)"
        )
    files = ("plan.json", "plan.geojson", "map.png", "report.html", "scenario.json")
    written = [f for f in files if (out / f).exists()]
    lines.append(f"written to {out}/ ({', '.join([*written, 'orders.csv', 'transfers.csv'])})")
    return "\n".join(lines)
