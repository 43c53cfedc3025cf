"""A toy benchmark family for the runner tests: each instance file holds one number.

The optimum of an instance is the number in its file (also listed in ``bks.csv``). Solvers:

- ``good``: returns ``value * (1 + params["slack"]) + seed`` (default slack 0.1);
  with the routing parameters of a tuning trial, slack depends on ``metaheuristic``;
- ``cheat``: returns ``value - 1``, which the evaluator rejects (infeasible);
- ``crash``: kills its own process (no result written);
- ``hang``: sleeps far past any time limit;
- ``boom``: raises ``RuntimeError``;
- ``hog``: allocates far more memory than the test's limit.
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

from benchmarks.suite.spec import Evaluation, Family, SolveOutput, bks_lookup

_META_SLACK = {
    "gls": 0.01,
    "ils": 0.05,
    "tabu": 0.2,
    "annealing": 0.3,
    "greedy": 0.5,
    "automatic": 0.4,
}


def _read(path: Path) -> float:
    return float(Path(path).read_text().strip())


def _good(inst: float, *, time_limit: float, seed: int, params: dict[str, Any]) -> SolveOutput:
    slack = float(params.get("slack", _META_SLACK.get(params.get("metaheuristic", ""), 0.1)))
    cost = inst * (1 + slack) + seed
    return SolveOutput(cost, samples=((0.0, cost * 1.5), (0.01, cost)), info={"slack": slack})


def _cheat(inst: float, **_: Any) -> SolveOutput:
    return SolveOutput(inst - 1)


def _crash(inst: float, **_: Any) -> SolveOutput:
    os._exit(7)


def _hang(inst: float, **_: Any) -> SolveOutput:
    time.sleep(600)
    return SolveOutput(inst)


def _boom(inst: float, **_: Any) -> SolveOutput:
    raise RuntimeError("solver exploded on purpose")


def _hog(inst: float, **_: Any) -> SolveOutput:
    blob = bytearray(2 * 2**30)  # 2 GB, over the tests' 400 MB limit
    return SolveOutput(inst + len(blob))


def _evaluate(inst: float, solution: float) -> Evaluation:
    ok = solution >= inst
    return Evaluation(
        cost=float(solution),
        feasible=ok,
        detail="" if ok else f"cost {solution} below the optimum {inst}",
    )


def toy(kind: str = "routing") -> Family:
    """The toy family (kind ``routing`` so tuning uses the routing search space)."""
    return Family(
        name="toy",
        kind=kind,
        patterns=("*.toy",),
        read=_read,
        evaluate=_evaluate,
        solvers={
            "good": _good,
            "cheat": _cheat,
            "crash": _crash,
            "hang": _hang,
            "boom": _boom,
            "hog": _hog,
        },
        default_solver="good",
        peers=("cheat",),
        best_known=lambda p: bks_lookup(p, ("bks.csv",)),
    )


TOY = "tests.benchmarks.toy:toy"


def make_instances(folder: Path, values: dict[str, float]) -> Path:
    """Write ``NAME.toy`` files and a ``bks.csv`` into ``folder``; returns ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    lines = ["instance,bks_value,optimal,source"]
    for name, v in values.items():
        (folder / f"{name}.toy").write_text(f"{v}\n")
        lines.append(f"{name},{v},yes,test")
    (folder / "bks.csv").write_text("\n".join(lines) + "\n")
    return folder


def result_row(
    instance: str,
    config: str,
    solver: str,
    cost: float | None,
    *,
    bks: float | None,
    seed: int = 0,
    tl: float = 5.0,
    status: str = "ok",
    samples: list[Any] | None = None,
    family: str = "solomon",
    seconds: float = 2.0,
) -> dict[str, Any]:
    """A result row as ``benchmarks.suite.runner`` writes it, for the report tests."""
    return {
        "instance": instance,
        "family": family,
        "solver": solver,
        "config": config,
        "params": {},
        "seed": seed,
        "time_limit": tl,
        "cost": cost,
        "best_known": bks,
        "gap_pct": None,
        "feasible": status == "ok",
        "seconds": seconds,
        "peak_mb": 50.0,
        "status": status,
        "error": None,
        "samples": samples or [],
        "info": {},
        "path": "",
    }
