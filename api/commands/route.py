"""``tradelane route``: solve a VRP instance file, or a day's orders from a plan.

::

    tradelane route INSTANCE --time-limit S --out FILE [--seed N] [--config TOML]
    tradelane route --plan DIR --warehouse ID --day N [--scenario PATH] [--matrix NPY] ...

Writes the DESIGN §7 route JSON (``instance``, ``cost``, ``vehicles``, ``routes`` in the
instance's client numbering, ``feasible``, ``solve_seconds``, plus ``seed``, ``time_limit_s``
and ``solution_limit`` (the run's stops), ``dropped`` orders
handed to the parcel carrier with their cost, ``route_details`` per route: its depot, distance
and cost, ``depart`` and ``return`` and per stop ``eta``, ``start`` and the promise ``slack``;
and ``gap_percent`` when ``--best-known`` is given) and prints a summary; without ``--out``
the JSON goes to standard output on its own and the summary to standard error. A plan's day adds
``time_unit`` and ``clock`` (hours since dispatch) and ``late_orders`` (orders already past
their promise at dispatch: their slack is negative). While it solves, a status line on stderr
(a terminal only; ``--quiet``: none) names the path and, on a large day, each phase of the
decomposition with its best cost so far.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from api.commands._common import InputError, StagedOutput, with_progress


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser("route", help="solve a VRP (Solomon/VRPLIB file, or a plan's day)")
    p.add_argument(
        "instance",
        nargs="?",
        metavar="INSTANCE",
        help="Solomon .txt or VRPLIB .vrp file (omit with --plan)",
    )
    p.add_argument("--plan", metavar="DIR", help="plan directory (plan.json) to route a day of")
    p.add_argument("--warehouse", metavar="ID", help="with --plan: the warehouse")
    p.add_argument("--day", type=int, metavar="N", help="with --plan: day index (0-based)")
    p.add_argument(
        "--scenario",
        metavar="PATH",
        help="with --plan: the scenario (default: DIR/scenario.json, .yaml or .yml, or "
        "DIR/scenario/)",
    )
    p.add_argument(
        "--matrix",
        metavar="NPY",
        help="with --plan: distance matrix in km (.npy or "
        ".csv), warehouse first, instead of geodesic x circuity",
    )
    p.add_argument(
        "--circuity",
        type=float,
        default=None,
        help="with --plan: road km per geodesic km (default 1.3)",
    )
    p.add_argument(
        "--time-limit",
        type=float,
        default=None,
        metavar="S",
        help="search time limit in seconds (default 10, or from --config)",
    )
    p.add_argument(
        "--solution-limit",
        type=int,
        default=None,
        metavar="N",
        help="stop after N solutions (deterministic stop)",
    )
    p.add_argument("--seed", type=int, default=None, help="seed (default 0)")
    p.add_argument("--config", metavar="TOML", help="routing parameters ([routing] table)")
    p.add_argument(
        "--best-known", type=float, metavar="VALUE", help="best-known cost, to report the gap"
    )
    p.add_argument(
        "--out",
        metavar="FILE",
        help="write the solution JSON here (default: standard output, the summary on stderr)",
    )
    p.add_argument(
        "--quiet",
        action="store_true",
        help="no progress line (shown on stderr when it is a terminal: the path, each phase "
        "of a large day and its best cost so far)",
    )
    p.set_defaults(func=run)


def check_flags(args: argparse.Namespace) -> None:
    """Check the numeric flags before anything is read or solved, naming the flag (the
    parameter classes' own messages name their fields, not the flags)."""
    import math

    def bad(v: float | None, ok: bool) -> bool:
        return v is not None and not (math.isfinite(v) and ok)

    problems = []
    t, b, c = args.time_limit, args.best_known, args.circuity
    if bad(t, t is not None and t > 0):
        problems.append(f"--time-limit: {t!r} not understood; expected seconds > 0")
    if args.solution_limit is not None and args.solution_limit < 1:
        problems.append(f"--solution-limit: {args.solution_limit} not understood; expected >= 1")
    if args.seed is not None and args.seed < 0:
        problems.append(f"--seed: {args.seed} not understood; expected an integer >= 0")
    if bad(c, c is not None and c >= 1):
        problems.append(f"--circuity: {c!r} not understood; expected road km per geodesic km >= 1")
    if args.day is not None and args.day < 0:
        problems.append(f"--day: {args.day} not understood; expected a day index >= 0")
    if bad(b, b is not None and b > 0):
        problems.append(f"--best-known: {b!r} not understood; expected a cost > 0")
    if args.instance is not None:
        # these shape a plan's day: with an instance file they would be ignored without a word
        given = [f"--{k}" for k in PLAN_ONLY if getattr(args, k) is not None]
        problems += [f"{flag}: only with --plan (INSTANCE is routed as it is)" for flag in given]
    if problems:
        raise InputError(*problems)


#: The flags that build a plan's day (``--plan``), by their ``args`` names.
PLAN_ONLY = ("warehouse", "day", "scenario", "matrix", "circuity")


def _params(args: argparse.Namespace) -> Any:
    from optimizer.routing import RoutingParams

    kw: dict[str, Any] = {}
    if args.time_limit is not None:
        kw["time_limit_s"] = args.time_limit
    elif args.solution_limit is not None:
        kw["time_limit_s"] = None  # a solution-limit stop: deterministic
    if args.solution_limit is not None:
        kw["solution_limit"] = args.solution_limit
    if args.seed is not None:
        kw["seed"] = args.seed
    if args.config:
        if not Path(args.config).is_file():
            raise InputError(f"--config: no such file {args.config!r}")
        return RoutingParams.from_toml(args.config, **kw)
    return RoutingParams(**kw)


def _scenario_path(args: argparse.Namespace, plan_dir: Path) -> Path:
    if args.scenario:
        return Path(args.scenario)
    # the copy tradelane plan writes (scenario.json), else one in another of the formats; a
    # glob "scenario*" also took scenario-notes.txt or scenario.json.bak when it sorted first
    for name in ("scenario.json", "scenario.yaml", "scenario.yml", "scenario"):
        if (plan_dir / name).exists():
            return plan_dir / name
    raise InputError(
        f"--plan {plan_dir}: no scenario copy in the plan directory; give --scenario PATH"
    )


def _plan_instance(args: argparse.Namespace) -> Any:
    import numpy as np

    from network.scenario import load_scenario
    from optimizer.plan.day import build_day_instance
    from optimizer.plan.document import Plan, PlanFormatError

    missing = [f"--{k}" for k in ("warehouse", "day") if getattr(args, k) is None]
    if missing:
        raise InputError(f"--plan needs {' and '.join(missing)}")
    plan_dir = Path(args.plan)
    plan_file = plan_dir / "plan.json" if plan_dir.is_dir() else plan_dir
    if not plan_file.is_file():
        raise InputError(f"--plan: no plan.json at {plan_file}")
    try:
        plan = json.loads(plan_file.read_text(encoding="utf-8"))
    except json.JSONDecodeError as e:
        raise InputError(f"{plan_file}: not valid JSON ({e})") from None
    except RecursionError:
        from network.scenario import TOO_DEEP

        raise InputError(f"{plan_file}: {TOO_DEEP}") from None
    except (OSError, UnicodeDecodeError) as e:
        # a binary or unreadable file: bad input, not an internal error
        raise InputError(f"--plan: cannot read {str(plan_file)!r}: {e}") from None
    if not isinstance(plan, dict) or not isinstance(plan.get("fulfilment"), list):
        raise InputError(f"{plan_file}: no 'fulfilment' list (DESIGN §7 plan.json expected)")
    try:
        typed = Plan.from_json(plan)
    except PlanFormatError as e:
        raise InputError(f"{plan_file}: {e}") from None
    scen = load_scenario(_scenario_path(args, plan_file.parent))
    matrix = None
    if args.matrix:
        mp = Path(args.matrix)
        if not mp.is_file():
            raise InputError(f"--matrix: no such file {mp}")
        try:
            loaded = np.load(mp) if mp.suffix == ".npy" else np.loadtxt(mp, delimiter=",")
            # a .npy of words, or an .npz archive under that name, is no matrix of km either
            matrix = np.asarray(loaded, dtype=float)
        except (ValueError, TypeError, EOFError) as e:
            raise InputError(f"--matrix {mp}: not a numeric matrix ({e})") from None
        except OSError as e:
            raise InputError(f"--matrix: cannot read {str(mp)!r}: {e}") from None
        bad = np.argwhere(~(np.isfinite(matrix) & (matrix >= 0)))
        if len(bad):
            cell = tuple(int(i) for i in bad[0])
            raise InputError(
                f"--matrix {mp}: entry {list(cell)} is {float(matrix[cell])!r}; expected km >= 0"
            )
    return build_day_instance(
        typed,
        scen,
        warehouse=args.warehouse,
        day=args.day,
        seed=args.seed or 0,
        circuity=1.3 if args.circuity is None else args.circuity,
        matrix_km=matrix,
    )


def run(args: argparse.Namespace) -> int:
    from optimizer.routing import RoutingError, solve_routes
    from optimizer.routing.io import read_instance, solution_to_dict, write_solution

    if (args.instance is None) == (args.plan is None):
        raise InputError("give either INSTANCE or --plan DIR (not both)")
    check_flags(args)
    try:
        params = _params(args)
        inst = _plan_instance(args) if args.plan else read_instance(args.instance)
    except RoutingError as e:
        raise InputError(str(e)) from None
    # --out is created (or found unwritable) before the solve and renamed into place when whole
    staged = StagedOutput(args.out, "--out", file=True) if args.out else None
    try:
        limit = params.time_limit_s if params.time_limit_s is not None else float("inf")
        try:
            res = with_progress(
                lambda say: solve_routes(inst, params, on_phase=say), limit, quiet=args.quiet
            )
        except RoutingError as e:
            raise InputError(str(e)) from None
        data = solution_to_dict(inst, res, best_known=args.best_known)
        if args.plan:
            data["currency"] = inst.meta.get("currency")
            data["day"] = args.day
            data["warehouse"] = args.warehouse
            data["late_orders"] = inst.meta.get("late_orders", [])
        if staged is not None:
            with staged.writing():
                write_solution(staged.path, data)
            staged.commit()
    finally:
        if staged is not None:
            staged.discard()
    if args.out:
        print(res.summary())
        print(f"wrote {args.out}")
    else:
        # standard output holds the JSON alone (``tradelane route X | jq .cost``); the
        # summary goes to standard error
        print(res.summary(), file=sys.stderr)
        json.dump(data, sys.stdout, indent=2)
        print()
    # infeasible-as-checked would be a bug (exit 1); "no solution" is a status, not an error
    return 1 if res.status.value == "infeasible" else 0
