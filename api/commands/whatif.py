"""``tradelane whatif SCENARIO --plan PLAN_DIR --shock FILE --out DIR``: hold or re-plan.

Evaluates the plan in ``PLAN_DIR/plan.json`` (made for ``SCENARIO``) held under the shock and
re-plans under it (:mod:`optimizer.risk.whatif`). Writes ``DIR/whatif.json``, ``DIR/whatif.md``
and the full held and re-made plans as ``DIR/hold/plan.json`` and ``DIR/replan/plan.json``,
each with the shocked scenario beside it (``scenario.json``, as ``tradelane plan`` writes it),
so that ``tradelane simulate DIR/replan`` needs nothing else.
"""

from __future__ import annotations

import argparse
import json
import shutil
from pathlib import Path

from api.commands._common import (
    PLAN_LISTS,
    InputError,
    StagedOutput,
    add_scenario_args,
    load,
    read_plan_file,
    read_previous,
    require_lists,
    with_progress,
)


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser(
        "whatif", help="a plan under a shock: hold it or re-plan; write whatif.json and whatif.md"
    )
    add_scenario_args(p)
    p.add_argument(
        "--plan", required=True, metavar="PLAN", help="plan.json, or the folder holding it"
    )
    p.add_argument("--shock", required=True, metavar="FILE", help="shock file (YAML or JSON)")
    p.add_argument(
        "--previous",
        metavar="PLAN.json",
        help="the previous plan the plan was made against (plan.json or its directory), as "
        "given to tradelane plan: stability against it in every figure and the re-plan",
    )
    p.add_argument(
        "--inventory",
        metavar="CSV",
        help="tonight's stock (sku,warehouse,on_hand,in_transit,arrives_in_hours) replacing "
        "the scenario's, as given to tradelane plan",
    )
    p.add_argument("--out", required=True, metavar="DIR", help="output directory")
    p.add_argument(
        "--time-limit",
        type=float,
        metavar="S",
        help="wall-clock seconds for the whole command, the re-plan included (as in plan: "
        "default none, or the config's)",
    )
    p.add_argument("--gap", type=float, metavar="G", help="relative MIP gap of the re-plan")
    p.add_argument("--threads", type=int, metavar="N", help="solver threads")
    p.add_argument("--solver", choices=("highs", "scip", "cpsat"), help="MIP solver")
    p.add_argument(
        "--strategy",
        choices=("auto", "monolithic", "decompose", "blocks"),
        help="as in tradelane plan (default auto: by size)",
    )
    p.add_argument("--config", metavar="TOML", help="parameters from a TOML file")
    p.add_argument("--seed", type=int, metavar="N", help="random seed (default 0)")
    p.add_argument("--quiet", action="store_true", help="no progress display")
    p.set_defaults(func=run, baseline=None)


def run(args: argparse.Namespace) -> int:
    from api.commands.plan import allocation_params, write_scenario
    from optimizer.exceptions import InvalidNetworkError, TimeLimitError
    from optimizer.plan.io import write_plan_json
    from optimizer.risk.shock import load_shock
    from optimizer.risk.whatif import whatif, whatif_markdown

    params = allocation_params(args)
    scenario = load(args)
    shock = load_shock(args.shock)
    # a plan.json or its folder, as for plan --previous
    plan_path = Path(args.plan)
    if plan_path.is_dir():
        plan_path = plan_path / "plan.json"
    if not plan_path.is_file():
        raise InputError(f"--plan: no plan.json at {str(plan_path)!r}")
    plan = read_plan_file(plan_path, "--plan")
    if plan.objective is None:
        raise InputError(f"{plan_path}: the plan holds no solution")
    require_lists(plan, plan_path, "--plan", PLAN_LISTS)
    previous = read_previous(args.previous) if args.previous else None
    for sub in ("hold", "replan"):
        q = Path(args.out) / sub
        if q.exists() and not q.is_dir():
            raise InputError(f"--out: {str(q)!r} exists and is not a directory")
    # written under temporary names in the folder, renamed when every file is whole
    with StagedOutput(args.out, "--out") as staged:
        out = staged.target
        try:
            res = with_progress(
                lambda say: whatif(
                    scenario,
                    plan,
                    shock,
                    params,
                    started=getattr(args, "started", None),
                    previous=previous,
                    progress=say,
                ),
                params.time_limit_s,
                quiet=args.quiet,
            )
        except TimeLimitError as e:
            raise InputError(f"--time-limit: {e}") from None
        except InvalidNetworkError as e:
            raise InputError(f"{plan_path}: not a plan of this scenario: {e}") from None
        doc = res.to_json()
        d = staged.stage
        with staged.writing():
            (d / "whatif.json").write_text(json.dumps(doc, indent=1, allow_nan=False) + "\n")
            (d / "whatif.md").write_text(whatif_markdown(doc))
            for name, p in (("hold", res.hold.plan), ("replan", res.replan)):
                (d / name).mkdir()
                write_plan_json(p, d / name / "plan.json")
            # the shocked scenario beside each plan, for `tradelane simulate DIR/replan`
            shocked = write_scenario(res.applied.scenario, d / "hold")
            shutil.copyfile(shocked, d / "replan" / shocked.name)
        staged.commit()
    b, h, r = doc["base"], doc["hold"], doc["replan"]
    print(f"what if {shock.name} on {doc['scenario']}:")
    for label, d in (("base", b), ("hold", h), ("re-plan", r)):
        if d.get("objective") is None:
            print(f"  {label:8s} no plan ({d.get('status')})")
            continue
        s = d["service"]
        print(
            f"  {label:8s} cost {d['objective']:>16,.2f}  on time {s['on_time_share']:7.2%}  "
            f"fill {s['fill_rate']:7.2%}  lost {s['units_lost']:>10,.0f}"
        )
    print(
        f"  hold: {h['rerouted_units']:,.0f} units rerouted, {h['lost_to_shock_units']:,.0f} "
        f"lost to closures, {len(h['violations'])} rule(s) broken, "
        f"{len(h.get('shortfalls', []))} service target(s) missed"
    )
    if r.get("violations"):
        print(
            f"  re-plan: {len(r['violations'])} rule(s) broken (status {r['status']}; "
            "whatif.md lists them)"
        )
    for label, d in (("hold", h), ("re-plan", r)):
        for miss in d.get("shortfalls", []):
            print(f"  {label}: {miss}")
    print(
        f"written to {out}/ (whatif.json, whatif.md, hold/ and replan/: plan.json and the "
        "shocked scenario.json)"
    )
    return 0
