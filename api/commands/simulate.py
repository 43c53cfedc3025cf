"""``tradelane simulate PLAN_DIR --runs N --seed S [--time-limit S] --out DIR``: Monte-Carlo
of a plan.

Reads ``PLAN_DIR/plan.json`` and the scenario it was planned for (``PLAN_DIR/scenario.json``,
written by ``tradelane plan``, and by ``tradelane whatif`` beside its held and re-made plans;
``--scenario`` names another), simulates lane hours and demand
(:mod:`optimizer.risk.simulate`) and writes ``DIR/sim.json`` and ``DIR/sim.png``. A plan whose
costs the evaluator recomputes differently on that scenario, or which breaks one of its rules
(beyond those its own evaluation lists), is simulated with a warning on stderr
(``_mismatch``).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from api.commands._common import (
    PLAN_LISTS,
    InputError,
    StagedOutput,
    check_seconds,
    read_plan_file,
    require_lists,
    with_progress,
)

if TYPE_CHECKING:
    from network.compile import NetworkData
    from network.scenario import Scenario
    from optimizer.plan.document import Plan


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser(
        "simulate",
        help="Monte-Carlo of a plan under random lane hours and demand; write sim.json",
    )
    p.add_argument(
        "plan_dir",
        metavar="PLAN_DIR",
        help="a folder written by tradelane plan (or the hold/ or replan/ of tradelane whatif)",
    )
    p.add_argument("--runs", type=int, default=10_000, metavar="N", help="runs (default 10000)")
    p.add_argument("--seed", type=int, default=0, metavar="S", help="random seed (default 0)")
    p.add_argument("--out", required=True, metavar="DIR", help="output directory")
    p.add_argument(
        "--time-limit",
        type=float,
        default=None,
        metavar="SECONDS",
        help="stop the runs in time to write the files within SECONDS of the process's start "
        "(as plan and whatif count; a limit shorter than one batch and the work that grows "
        "with the plan's rows, about 2 s plus 2.7e-5 s a row, exits 2 naming the shortest); "
        "the figures are then over the runs done, in whole "
        "batches (sim.json's batch: 1,000 runs, fewer on a large plan), and sim.json says "
        'status "time_limit", runs and runs_requested; default: every run',
    )
    p.add_argument(
        "--scenario",
        metavar="SCENARIO",
        help="the scenario planned (default PLAN_DIR/scenario.json)",
    )
    p.add_argument("--no-plot", action="store_true", help="skip sim.png")
    p.add_argument("--quiet", action="store_true", help="no progress display")
    p.set_defaults(func=run)


def read_plan_dir(
    plan_dir: str | Path, scenario: str | Path | None = None
) -> tuple[Scenario, Plan]:
    """``(scenario, plan)`` of a plan folder; InputError / ScenarioError if bad."""
    from network.scenario import load_scenario

    d = Path(plan_dir)
    if not d.is_dir():
        raise InputError(f"PLAN_DIR: {str(d)!r} is not a directory")
    plan_path = d / "plan.json"
    if not plan_path.is_file():
        raise InputError(f"PLAN_DIR: no plan.json in {str(d)!r}")
    plan = read_plan_file(plan_path, "PLAN_DIR")
    if plan.objective is None:
        raise InputError(f"{plan_path}: the plan holds no solution (status {str(plan.status)!r})")
    require_lists(plan, plan_path, "PLAN_DIR", PLAN_LISTS)
    sc = Path(scenario) if scenario is not None else d / "scenario.json"
    if not sc.exists():
        raise InputError(
            f"{str(sc)!r}: no scenario (plan with a current tradelane, or pass --scenario)"
        )
    return load_scenario(sc), plan


def _mismatch(data: NetworkData, plan: Plan, scenario: str | Path | None) -> list[str]:
    """Why the plan does not look planned for this scenario, else nothing: a cost term the
    independent evaluator recomputes differently there, or a rule it breaks there that its own
    evaluation did not report. Holding and stability are not compared: with a previous plan
    (``tradelane plan --previous``) they hold terms the scenario alone does not give. The plan
    is still simulated: a plan kept under a changed scenario is a question a planner asks."""
    import math

    from optimizer.exceptions import InvalidNetworkError
    from optimizer.plan.evaluate import evaluate

    which = f"--scenario {str(scenario)!r}" if scenario is not None else "PLAN_DIR/scenario.json"
    try:
        ev = evaluate(data, plan)
    except InvalidNetworkError:
        return []  # unknown ids: simulate_plan names them and exits 2
    out: list[str] = []
    obj = plan.objective
    if plan.cost is not None and obj is not None and math.isfinite(obj):
        tol = 1e-6 * max(1.0, abs(obj))
        off = [
            f"{k} {ev.cost[k]:,.2f} against {v:,.2f}"
            for k, v in plan.cost.terms().items()
            if k not in ("holding", "stability") and k in ev.cost and abs(ev.cost[k] - v) > tol
        ]
        if off:
            out.append(
                f"the plan's costs on {which} are not the plan's ({'; '.join(off)}): was it "
                "planned for another scenario?"
            )
    known = set(plan.evaluation.violations) if plan.evaluation is not None else set()
    new = [v for v in ev.violations if v not in known]
    if new:
        more = f" (and {len(new) - 1} more)" if len(new) > 1 else ""
        out.append(f"the plan breaks {which}: {new[0]}{more}")
    return out


#: seconds kept from ``--time-limit`` for writing ``sim.json`` and drawing ``sim.png``
WRITE_RESERVE_S = 1.5


def run(args: argparse.Namespace) -> int:
    import time

    started = getattr(args, "started", None) or time.perf_counter()
    from network.compile import compile_network
    from optimizer.exceptions import InvalidNetworkError
    from optimizer.risk.simulate import SimParams, simulate_plan, write_simulation

    try:
        params = SimParams(runs=args.runs, seed=args.seed)
    except ValueError as e:
        flag = "--runs" if "runs" in str(e) else "--seed"
        raise InputError(f"{flag}: {e}") from None
    limit = check_seconds(args.time_limit, "--time-limit", absent="every run")
    reserve = 0.0 if args.no_plot else WRITE_RESERVE_S
    deadline = None if limit is None else started + max(limit - reserve, 0.5 * limit)
    scenario, plan = read_plan_dir(args.plan_dir, args.scenario)
    if limit is not None:
        from optimizer.exceptions import TimeLimitError
        from optimizer.plan.document import plan_rows
        from optimizer.risk.simulate import check_simulate_limit

        try:
            check_simulate_limit(limit, plan_rows(plan))
        except TimeLimitError as e:
            raise InputError(f"--time-limit: {e}") from None
    data = compile_network(scenario)
    for line in _mismatch(data, plan, args.scenario):
        print(f"warning: {line}", file=sys.stderr)
    # written under temporary names in the folder, renamed when every file is whole
    with StagedOutput(args.out, "--out") as staged:
        out = staged.target
        try:
            res = with_progress(
                lambda say: simulate_plan(data, plan, params, deadline=deadline, progress=say),
                float("inf") if limit is None else limit,
                quiet=args.quiet,
            )
        except InvalidNetworkError as e:
            raise InputError(f"plan.json: {e}") from None
        with staged.writing():
            write_simulation(res, staged.stage, draw=not args.no_plot)
        staged.commit()
    doc = res.to_json()
    ot, fr = doc["on_time_share"], doc["fill_rate"]
    print(f"scenario {doc['scenario']}: {res.runs} runs, seed {params.seed}, {res.seconds:.1f} s")
    if res.status == "time_limit":
        print(
            f"stopped at the time limit after {res.runs:,} of {params.runs:,} runs (the same "
            f"figures as --runs {res.runs} --seed {params.seed})"
        )
    print(
        f"on time {ot['mean']:.2%} of shipped units (95 % CI {ot['ci95'][0]:.2%} to "
        f"{ot['ci95'][1]:.2%}); the plan says {doc['plan_on_time_share']:.2%}"
    )
    print(f"fill rate {fr['mean']:.2%} (95 % CI {fr['ci95'][0]:.2%} to {fr['ci95'][1]:.2%})")
    so, c = doc["stockout_units"], doc["cost"]
    print(f"stockout units p5/p50/p95: {so['p5']:,.0f} / {so['p50']:,.0f} / {so['p95']:,.0f}")
    print(
        f"cost p5/p50/p95: {c['p5']:,.2f} / {c['p50']:,.2f} / {c['p95']:,.2f} "
        f"(plan {c['plan']:,.2f})"
    )
    print(f"written to {out}/ (sim.json" + ("" if args.no_plot else ", sim.png") + ")")
    return 0
