"""Parameter tuning for ``tradelane bench tune``: Optuna over solver parameters.

Each trial samples a configuration, runs it on every instance x seed through the same runner as
``tradelane bench`` (own process per solve, wall-clock and memory limits) and scores it by the
**mean gap %** to the best-known value plus ``TIME_WEIGHT`` (0.01) times the mean solve time as
a share of the limit, so time breaks ties between configurations of equal quality. An instance
without a best-known value (synthetic scenarios) is compared with the cost of the default
configuration on it, measured once at the start of the study and stored in the study, so a
resumed study uses the same reference. A solve that is not feasible (by the independent
evaluator) or fails scores ``FAIL_GAP`` (100 %).

Search spaces
-------------
routing (``optimizer.routing.RoutingParams``)
    ``first_solution`` (every strategy the module accepts), ``metaheuristic`` (idem),
    ``gls_lambda`` (log 0.01..1, with guided local search), ``neighbors`` (0 = all, or
    10..100): the large-neighbourhood knobs ``RoutingParams`` exposes.
allocation (``optimizer.allocation.params.AllocationParams``)
    ``solver`` (highs, scip, cpsat), ``relative_gap`` (log 1e-5..1e-2), ``threads`` (1..cores),
    ``strategy`` (auto, monolithic, decompose), ``warm_start``. ``AllocationParams`` has no
    presolve switch, so presolve is not tuned.

Trials live in an Optuna storage (SQLite by default): re-running the same command resumes the
study and runs only the trials still missing to reach ``--trials``. The first trial of a new
study is the default configuration, so the best is never worse than the defaults on the tuning
set. The best configuration is written as TOML (``[bench]`` + ``[routing]``/``[allocation]``),
readable by ``RoutingParams.from_toml`` / ``AllocationParams.from_toml`` and by
``tradelane bench --config``. Each trial's rows go to ``<out>.trials.jsonl`` for
``tradelane bench report``, under the configuration name ``<study>:trial-<n>``; a trial is
scored on its tasks' rows in that file, whether run now or recorded by an earlier run.
"""

from __future__ import annotations

import logging
import math
import os
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from benchmarks.suite.runner import (
    BenchError,
    Config,
    build_tasks,
    check_instances,
    rows_of,
    run_suite,
)
from benchmarks.suite.spec import Family

if TYPE_CHECKING:
    from optuna.trial import FrozenTrial

log = logging.getLogger(__name__)

__all__ = ["FAIL_GAP", "TIME_WEIGHT", "TuneResult", "sample_params", "tune", "write_toml"]

FAIL_GAP = 100.0
#: Weight of the mean solve time (as a share of the limit) in the score, in gap-% units: time
#: only separates configurations whose mean gaps are within about 0.01 % (e.g. MIP settings
#: that all reach the optimum).
TIME_WEIGHT = 0.01


def _routing_choices() -> tuple[tuple[str, ...], tuple[str, ...]]:
    from optimizer.routing.params import FIRST_SOLUTIONS, METAHEURISTICS

    return FIRST_SOLUTIONS, METAHEURISTICS


def sample_params(trial: Any, kind: str) -> dict[str, Any]:
    """Sample one configuration for a family of ``kind`` (routing or allocation)."""
    if kind == "routing":
        first, meta = _routing_choices()
        p: dict[str, Any] = {
            "first_solution": trial.suggest_categorical("first_solution", list(first)),
            "metaheuristic": trial.suggest_categorical("metaheuristic", list(meta)),
        }
        if p["metaheuristic"] == "gls":
            p["gls_lambda"] = trial.suggest_float("gls_lambda", 0.01, 1.0, log=True)
        if trial.suggest_categorical("all_neighbors", [True, False]):
            p["neighbors"] = 0
        else:
            p["neighbors"] = trial.suggest_int("neighbors", 10, 100, step=10)
        return p
    cores = max(1, os.cpu_count() or 1)
    return {
        "solver": trial.suggest_categorical("solver", ["highs", "scip", "cpsat"]),
        "relative_gap": trial.suggest_float("relative_gap", 1e-5, 1e-2, log=True),
        "threads": trial.suggest_int("threads", 1, cores),
        "strategy": trial.suggest_categorical("strategy", ["auto", "monolithic", "decompose"]),
        "warm_start": trial.suggest_categorical("warm_start", [True, False]),
    }


def _toml_value(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int | float):
        return repr(v)
    return '"' + str(v).replace("\\", "\\\\").replace('"', '\\"') + '"'


def write_toml(
    path: Path,
    *,
    name: str,
    solver: str,
    table: str,
    params: dict[str, Any],
    comment: Sequence[str] = (),
) -> Path:
    """Write a configuration TOML (``[bench]`` and the parameter table)."""
    lines = [f"# {c}" for c in comment]
    lines += [
        "[bench]",
        f"name = {_toml_value(name)}",
        f"solver = {_toml_value(solver)}",
        "",
        f"[{table}]",
    ]
    lines += [f"{k} = {_toml_value(v)}" for k, v in sorted(params.items())]
    # a temporary file beside it, renamed when whole: never a truncated TOML under the name
    path = Path(path)
    tmp = path.with_name(f".{path.name}.part")
    try:
        tmp.write_text("\n".join(lines) + "\n")
        tmp.replace(path)
    finally:
        tmp.unlink(missing_ok=True)
    return path


@dataclass(frozen=True)
class TuneResult:
    """Outcome of a tuning run."""

    study: str
    storage: str
    trials_total: int
    trials_run_now: int
    best_value: float
    best_params: dict[str, Any]
    default_value: float | None
    out: Path

    def summary(self) -> str:
        """Human summary for the CLI."""
        s = (
            f"study {self.study!r} ({self.storage}): {self.trials_total} complete trial(s), "
            f"{self.trials_run_now} run now; best score {self.best_value:.4f}"
        )
        if self.default_value is not None:
            s += f" (defaults: {self.default_value:.4f})"
        return s + f"\nbest configuration written to {self.out}"


def _score(rows: Sequence[dict[str, Any]], refs: dict[str, float], time_limit: float) -> float:
    """Mean gap % (failures count ``FAIL_GAP``) + ``TIME_WEIGHT`` x mean seconds / limit."""
    secs = [
        time_limit if r.get("seconds") is None else min(float(r["seconds"]), time_limit)
        for r in rows
    ]
    gaps = []
    for r in rows:
        ref = r.get("best_known") if r.get("best_known") is not None else refs.get(r["instance"])
        c = r.get("cost")
        if r.get("feasible") and c is not None and ref:
            gaps.append(100.0 * (float(c) - float(ref)) / abs(float(ref)))
        else:
            gaps.append(FAIL_GAP)
    if not gaps:
        return FAIL_GAP + TIME_WEIGHT
    return float(sum(gaps) / len(gaps) + TIME_WEIGHT * sum(secs) / len(secs) / time_limit)


def _trial_value(t: FrozenTrial) -> float:
    """A complete trial's score (optuna types ``value`` optional: unfinished trials have none)."""
    if t.value is None:
        raise RuntimeError(f"trial {t.number} is complete but has no value")
    return float(t.value)


def tune(
    family: Family,
    family_spec: str,
    instances: Sequence[Path],
    *,
    trials: int,
    time_limit: float,
    seeds: Iterable[int] = (0,),
    jobs: int = 1,
    memory_mb: float | None = 4096,
    grace: float | None = None,
    storage: str,
    study_name: str,
    out: Path,
    sampler_seed: int = 0,
    on_trial: Callable[[str], None] | None = None,
) -> TuneResult:
    """Run (or resume) an Optuna study and write the best configuration to ``out``.

    Parameters
    ----------
    family, family_spec
        The family and the spec its child processes resolve it by.
    instances
        The tuning set.
    trials
        Total complete trials wanted in the study (a resumed study runs only the rest).
    time_limit, seeds, jobs, memory_mb, grace
        As for ``tradelane bench``.
    storage, study_name
        Optuna storage URL (e.g. ``sqlite:///tune.db``) and study name.
    out
        Best-configuration TOML to write.
    """
    import optuna
    from optuna.trial import TrialState

    check_instances(family, instances)  # before a study is created for nothing
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    say = on_trial or (lambda _m: None)
    seeds = list(seeds)
    out = Path(out)
    trial_rows = out.with_suffix(".trials.jsonl")
    study = optuna.create_study(
        study_name=study_name, storage=storage, direction="minimize", load_if_exists=True
    )
    # a resumed study gets a sampler seeded past the trials already drawn, so it does not
    # replay the same random start-up configurations
    study.sampler = optuna.samplers.TPESampler(seed=sampler_seed + len(study.trials))
    meta = study.user_attrs
    for key, want in (
        ("family", family.name),
        ("time_limit", float(time_limit)),
        ("instances", sorted(p.name for p in instances)),
        ("seeds", seeds),
    ):
        if key in meta and meta[key] != want:
            raise BenchError(
                f"study {study_name!r} in {storage} was run with {key}="
                f"{meta[key]!r}, not {want!r}: use another --study or --storage"
            )
        study.set_user_attr(key, want)
    solver = family.default_solver

    def run_config(name: str, params: dict[str, Any]) -> list[dict[str, Any]]:
        tasks = build_tasks(
            family,
            family_spec,
            instances,
            configs=[Config(name, solver, params)],
            seeds=seeds,
            time_limits=[time_limit],
            peers=False,
        )
        run_suite(tasks, trial_rows, jobs=jobs, memory_mb=memory_mb, grace=grace)
        # every task's row, also those recorded by an earlier run of the same configuration
        # (scoring only the rows run now scored a resumed trial as an empty failure)
        return rows_of(trial_rows, tasks)

    # references for instances without a best-known value: the defaults' cost, measured once
    refs: dict[str, float] = dict(meta.get("refs", {}))
    no_bks = [
        p for p in instances if family.best_known(p) is None and family.instance_name(p) not in refs
    ]
    if no_bks:
        say(
            f"measuring the default configuration on {len(no_bks)} instance(s) without a "
            "best-known value (the reference for their gap)"
        )
        tasks = build_tasks(
            family,
            family_spec,
            no_bks,
            configs=[Config("reference", solver)],
            seeds=[0],
            time_limits=[time_limit],
            peers=False,
        )
        run_suite(tasks, trial_rows, jobs=jobs, memory_mb=memory_mb, grace=grace)
        for r in rows_of(trial_rows, tasks):
            if r.get("feasible") and r.get("cost"):
                refs[r["instance"]] = float(r["cost"])
        study.set_user_attr("refs", refs)

    done = [t for t in study.trials if t.state == TrialState.COMPLETE]
    if not study.trials:
        study.enqueue_trial({}, user_attrs={"default": True})
    todo = max(0, trials - len(done))
    if done:
        say(f"resuming study {study_name!r}: {len(done)} complete trial(s), {todo} to run")

    def objective(trial: Any) -> float:
        if trial.user_attrs.get("default"):
            params: dict[str, Any] = {}
        else:
            params = sample_params(trial, family.kind)
        trial.set_user_attr("params", params)
        # the study in the name: two studies writing the same trials file never share rows
        rows = run_config(f"{study_name}:trial-{trial.number}", params)
        score = _score(rows, refs, time_limit)
        bad = sum(1 for r in rows if not r.get("feasible"))
        say(
            f"trial {trial.number}: score {score:.4f}"
            + (f", {bad} solve(s) not feasible" if bad else "")
            + f"  {params or '(defaults)'}"
        )
        return score

    if todo:
        study.optimize(objective, n_trials=todo, catch=())
    complete = [t for t in study.trials if t.state == TrialState.COMPLETE]
    if not complete:
        raise RuntimeError(f"study {study_name!r} has no complete trial")
    best = min(complete, key=_trial_value)
    default = next((t.value for t in complete if t.user_attrs.get("default")), None)
    params = dict(best.user_attrs.get("params", {}))
    write_toml(
        out,
        name=f"tuned-{family.name}",
        solver=solver,
        table=family.kind,
        params=params,
        comment=[
            (
                f"Best of {len(complete)} trial(s) of Optuna study {study_name!r} "
                f"(trial {best.number})."
            ),
            f"Score {best.value:.4f} (mean gap % + {TIME_WEIGHT} x mean time / limit) "
            f"on {len(instances)} {family.name} instance(s) "
            f"x {len(seeds)} seed(s) at {time_limit:g} s"
            + (f"; the defaults scored {default:.4f}." if default is not None else "."),
            (
                "Use with: tradelane bench --config THIS_FILE, or as the parameters file of "
                "plan/route."
            ),
        ],
    )
    return TuneResult(
        study=study_name,
        storage=storage,
        trials_total=len(complete),
        trials_run_now=todo,
        best_value=_trial_value(best),
        best_params=params,
        default_value=None if default is None or math.isnan(default) else float(default),
        out=out,
    )
