"""``tradelane bench``: the benchmark suite for solver tuning (DESIGN §9).

Three actions::

    tradelane bench --family F --instances DIR --time-limit S [--seeds N] [--config TOML ...]
                    --out results.json [--jobs N] [--memory-mb MB] [--no-peers]
    tradelane bench report results.json [--out-dir DIR]
    tradelane bench tune --family F --instances DIR --trials N --time-limit S --out best.toml
                    [--storage sqlite:///tune.db] [--study NAME]

The first runs instance x configuration x seed (plus peer solvers), each solve in its own
process, and records one row per solve in ``--out`` (a JSON list, or JSON Lines for a
``.jsonl`` name; re-running resumes). ``report`` writes a
Markdown summary and two PNG plots. ``tune`` searches solver parameters with Optuna.
"""

from __future__ import annotations

import argparse
import math
import sys
from pathlib import Path
from typing import Any

from api.commands._common import (
    InputError,
    OutputError,
    StagedOutput,
    check_database_url,
    check_out_file,
)

FAMILIES = ("solomon", "homberger", "cvrplib", "day", "cflp", "synthetic")


def _limits(text: str) -> list[float]:
    try:
        vals = [float(v) for v in text.split(",") if v.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"not a number or comma-separated numbers: {text!r}"
        ) from None
    if not vals or any(not (v > 0 and math.isfinite(v)) for v in vals):
        # inf went through to the solvers, which failed on it (an error row per solve)
        raise argparse.ArgumentTypeError(
            f"time limits must be finite numbers of seconds > 0, got {text!r}"
        )
    return vals


def _add_common(p: argparse.ArgumentParser, *, required: bool, one_limit: bool = False) -> None:
    """The options ``bench`` and ``bench tune`` share; ``one_limit``: ``--time-limit`` takes
    one value (tune)."""
    p.add_argument(
        "--family",
        choices=FAMILIES,
        required=required,
        help="instance family (how files are read, checked and compared)",
    )
    p.add_argument(
        "--instances",
        metavar="DIR",
        required=required,
        help="folder of instance files (or one file)",
    )
    p.add_argument(
        "--select",
        metavar="GLOB",
        action="append",
        default=[],
        help="only instances whose name matches (repeatable), e.g. 'C1*'",
    )
    p.add_argument("--limit", type=int, metavar="N", help="only the first N instances (by name)")
    p.add_argument(
        "--time-limit",
        type=_limits,
        metavar="S" if one_limit else "S[,S...]",
        required=required,
        help="solver time limit in seconds: one limit, for every solve of every trial"
        if one_limit
        else "solver time limit in seconds; several comma-separated limits run each "
        "(a gap-over-time curve)",
    )
    p.add_argument("--seeds", type=int, default=1, metavar="N", help="seeds 0..N-1 (default 1)")
    p.add_argument(
        "--jobs",
        type=int,
        default=1,
        metavar="N",
        help="solves running at once, each in its own process (default 1)",
    )
    p.add_argument(
        "--memory-mb",
        type=float,
        default=4096,
        metavar="MB",
        help="memory limit per solve (default 4096; 0 = none)",
    )
    p.add_argument(
        "--grace",
        type=float,
        metavar="S",
        help="seconds past the time limit before a solve is killed "
        "(default max(10, time limit / 2))",
    )


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser(
        "bench",
        help="run the benchmark suite; 'bench report', 'bench tune'",
        description="Run instance x configuration x seed in separate processes and record one "
        "row per solve in --out; 'tradelane bench report FILE' summarises results; "
        "'tradelane bench tune ...' searches solver parameters.",
    )
    _add_common(p, required=False)
    p.add_argument(
        "--config",
        metavar="TOML",
        action="append",
        default=[],
        help="solver configuration ([bench] name/solver + [routing] or [allocation] "
        "parameters); repeat to compare several (default: the solver's defaults)",
    )
    p.add_argument("--no-peers", action="store_true", help="skip the peer solvers' rows")
    p.add_argument(
        "--out",
        metavar="FILE",
        help="results file: a JSON list (or JSON Lines if it ends in .jsonl); "
        "solves already in it are skipped (resume)",
    )
    p.set_defaults(func=run)
    acts = p.add_subparsers(dest="bench_action", metavar="{report,tune}")

    r = acts.add_parser("report", help="Markdown table and plots from a results file")
    r.add_argument("results", metavar="RESULTS", help="results file written by 'tradelane bench'")
    r.add_argument(
        "--out-dir",
        metavar="DIR",
        help="where report.md, profile.png and gap_time.png go (default: beside RESULTS)",
    )
    r.set_defaults(func=run_report)

    t = acts.add_parser("tune", help="search solver parameters with Optuna (SQLite, resumable)")
    _add_common(t, required=True, one_limit=True)
    t.add_argument(
        "--trials",
        type=int,
        required=True,
        metavar="N",
        help="total trials of the study (a resumed study runs only the missing ones)",
    )
    t.add_argument(
        "--storage",
        metavar="URL",
        help="Optuna storage (default sqlite:///<out stem>.db beside --out)",
    )
    t.add_argument("--study", metavar="NAME", help="study name (default tune-<family>)")
    t.add_argument("--out", metavar="TOML", required=True, help="best configuration to write")
    t.set_defaults(func=run_tune)


# --------------------------------------------------------------------------------------------


def _check_common(args: argparse.Namespace) -> tuple[Any, str, list[Path]]:
    """Validate the shared options; returns (family, family name, instance paths)."""
    from benchmarks.suite.families import resolve_family

    problems = []
    if args.seeds < 1:
        problems.append(f"--seeds: must be at least 1, got {args.seeds}")
    if args.jobs < 1:
        problems.append(f"--jobs: must be at least 1, got {args.jobs}")
    if args.memory_mb < 0:
        problems.append(f"--memory-mb: must be >= 0, got {args.memory_mb:g}")
    if args.grace is not None and args.grace < 0:
        problems.append(f"--grace: must be >= 0, got {args.grace:g}")
    if args.limit is not None and args.limit < 1:
        problems.append(f"--limit: must be at least 1, got {args.limit}")
    folder = Path(args.instances)
    if not folder.exists():
        problems.append(f"--instances: {args.instances}: no such file or folder")
    if problems:
        raise InputError(*problems)
    family = resolve_family(args.family)
    paths = family.instances(folder)
    if args.select:
        from fnmatch import fnmatch

        def hit(p: Path, g: str) -> bool:
            return fnmatch(family.instance_name(p), g) or fnmatch(p.name, g)

        # each glob must match something: a typo beside a good glob was dropped without a word
        empty = [g for g in args.select if paths and not any(hit(p, g) for p in paths)]
        if empty and len(empty) < len(args.select):
            raise InputError(
                *(f"--select {g!r}: no {args.family} instance in {args.instances}" for g in empty)
            )
        paths = [p for p in paths if any(hit(p, g) for g in args.select)]
    if args.limit:
        paths = paths[: args.limit]
    if not paths:
        raise InputError(
            f"--instances: no {args.family} instance "
            f"({', '.join(family.patterns)}) in {args.instances}"
            + (f" matching {', '.join(args.select)}" if args.select else "")
        )
    return family, args.family, paths


def _fmt(v: Any, spec: str) -> str:
    return "-" if v is None else format(v, spec)


def _progress(row: dict[str, Any], done: int, total: int) -> None:
    from benchmarks.suite.report import over_limit

    gap = "gap -"
    if row.get("gap_pct") is not None:
        g = f"{row['gap_pct']:.2f}"
        gap = f"gap {g[1:] if g.startswith('-') and float(g) == 0 else g}%"
    msg = (
        f"[{done}/{total}] {row['instance']} {row['config']} seed {row['seed']} "
        f"{row['time_limit']:g}s: {row['status']} cost {_fmt(row['cost'], '.2f')} {gap} "
        f"{_fmt(row['seconds'], '.1f')} s {_fmt(row['peak_mb'], '.0f')} MB"
    )
    if over_limit(row):
        msg += f" OVER LIMIT (more than {row['time_limit']:g} s + 10 %)"
    if row["status"] not in ("ok",) and row.get("error"):
        msg += f" ({row['error'][:160]})"
    print(msg, flush=True)


RUN_KEYS = ("time_limit_s", "time_limit", "seed")
"""Parameters a bench run sets itself (from ``--time-limit`` and ``--seeds``)."""


def run(args: argparse.Namespace) -> int:
    """``tradelane bench --family ...``: run the suite."""
    from benchmarks.suite.runner import BenchError, build_tasks, load_config, read_rows, run_suite

    missing = [
        f"--{n.replace('_', '-')}: required (or use 'bench report' / 'bench tune')"
        for n in ("family", "instances", "time_limit", "out")
        if getattr(args, n) is None
    ]
    if missing:
        raise InputError(*missing)
    family, name, paths = _check_common(args)
    try:
        configs = [load_config(Path(c), family) for c in args.config]
    except BenchError as e:
        raise InputError(str(e)) from None
    for path, c in zip(args.config, configs, strict=True):
        # the run sets these itself; a file shared with `tradelane route` or `plan` may hold them
        set_by_run = [k for k in RUN_KEYS if k in c.params]
        if set_by_run:
            print(
                f"note: --config {path}: [{family.kind}] {', '.join(set_by_run)} replaced by "
                "the run's --time-limit and seed",
                file=sys.stderr,
            )
    names = [c.name for c in configs]
    dup = sorted({n for n in names if names.count(n) > 1} | (set(names) & set(family.peers)))
    if dup:
        raise InputError(
            f"--config: configuration name(s) used twice or clash with a peer: "
            f"{', '.join(dup)} (set [bench] name = ...)"
        )
    out = check_out_file(args.out, "--out")
    if out.exists():
        try:
            read_rows(out)
        except BenchError as e:
            # never write results over a file that holds something else
            raise InputError(f"--out: {e}") from None
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise InputError(f"--out: cannot create {str(out.parent)!r}: {e.strerror}") from None
    try:
        tasks = build_tasks(
            family,
            name,
            paths,
            configs=configs,
            seeds=range(args.seeds),
            time_limits=args.time_limit,
            peers=not args.no_peers,
        )
    except BenchError as e:  # a bad day spec, a configuration recorded with other parameters
        raise InputError(str(e)) from None
    print(
        f"{name}: {len(paths)} instance(s) x {len({t.config for t in tasks})} "
        f"configuration(s) x {args.seeds} seed(s) x {len(args.time_limit)} time limit(s) = "
        f"{len(tasks)} solve(s), {args.jobs} at a time -> {out}",
        flush=True,
    )
    try:
        rows = run_suite(
            tasks,
            out,
            jobs=args.jobs,
            memory_mb=args.memory_mb or None,
            grace=args.grace,
            on_row=_progress,
        )
    except BenchError as e:
        raise InputError(str(e)) from None
    skipped = len(tasks) - len(rows)
    if skipped:
        print(f"{skipped} solve(s) already in {out} were skipped (resume)")
    bad = [r for r in rows if r["status"] != "ok"]
    print(
        f"done: {len(rows)} solve(s) run, {len(rows) - len(bad)} ok"
        + (f", {len(bad)} not ok ({', '.join(sorted({r['status'] for r in bad}))})" if bad else "")
        + f"; summary: tradelane bench report {out}"
    )
    return 0


def run_report(args: argparse.Namespace) -> int:
    """``tradelane bench report RESULTS``."""
    from benchmarks.suite.report import write_report
    from benchmarks.suite.runner import BenchError, read_rows

    path = Path(args.results)
    if not path.is_file():
        raise InputError(f"{args.results}: no such results file")
    try:
        rows = read_rows(path)
    except BenchError as e:
        raise InputError(str(e)) from None
    if not rows:
        raise InputError(f"{args.results}: no rows")
    with StagedOutput(args.out_dir or path.parent, "--out-dir") as out:
        with out.writing():
            files = write_report(rows, out.stage, title=path.name)
            text = files["markdown"].read_text()
        written = out.commit()
    sys.stdout.write(text)
    print("\nwritten: " + ", ".join(str(p) for p in written))
    return 0


def run_tune(args: argparse.Namespace) -> int:
    """``tradelane bench tune ...``."""
    from benchmarks.suite.runner import BenchError
    from benchmarks.suite.tune import tune as _tune

    if args.trials < 1:
        raise InputError(f"--trials: must be at least 1, got {args.trials}")
    if len(args.time_limit) > 1:
        raise InputError(
            f"--time-limit: tune takes one time limit, got {len(args.time_limit)} "
            f"({', '.join(f'{t:g}' for t in args.time_limit)})"
        )
    family, name, paths = _check_common(args)
    out = check_out_file(args.out, "--out")
    check_out_file(out.with_suffix(".trials.jsonl"), "--out")
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise InputError(f"--out: cannot create {str(out.parent)!r}: {e.strerror}") from None
    storage = args.storage or f"sqlite:///{out.with_suffix('.db')}"
    check_database_url(storage, "--storage" if args.storage else "--out")
    study = args.study or f"tune-{name}"
    try:
        res = _tune(
            family,
            name,
            paths,
            trials=args.trials,
            time_limit=args.time_limit[0],
            seeds=range(args.seeds),
            jobs=args.jobs,
            memory_mb=args.memory_mb or None,
            grace=args.grace,
            storage=storage,
            study_name=study,
            out=out,
            on_trial=lambda msg: print(msg, flush=True),
        )
    except BenchError as e:
        raise InputError(str(e)) from None
    except OSError as e:
        raise OutputError(f"--out: cannot write {str(out)!r}: {e.strerror or e}") from None
    print(res.summary())
    return 0
