"""Child-process side of one benchmark solve: ``python -m benchmarks.suite.worker TASK RESULT``.

Reads the task (JSON) from the file ``TASK``, applies the memory limit to itself
(``RLIMIT_AS``), reads the instance, runs the solver, has the family's independent evaluator
re-check the solution and writes one JSON object to ``RESULT``. Anything that goes wrong in
Python (an exception, ``MemoryError``) is written as a row with a status; a process that dies
without writing ``RESULT`` (a signal, ``os._exit``, a C++ abort) or is killed at the wall-clock
limit is recorded by the parent (``runner.run_task``).
"""

from __future__ import annotations

import json
import math
import resource
import sys
import time
import traceback
from pathlib import Path
from typing import Any


def _peak_mb() -> float:
    """Peak resident memory of this process and its waited-for children, in MB (Linux KiB)."""
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    kids = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return max(own, kids) / 1024.0


def _clean(x: Any) -> Any:
    """JSON-safe copy: non-finite floats become None, tuples lists, numpy scalars floats."""
    if isinstance(x, dict):
        return {str(k): _clean(v) for k, v in x.items()}
    if isinstance(x, list | tuple):
        return [_clean(v) for v in x]
    if isinstance(x, bool) or x is None or isinstance(x, str | int):
        return x
    try:
        f = float(x)
    except (TypeError, ValueError):
        return str(x)
    return f if math.isfinite(f) else None


def run(task: dict[str, Any]) -> dict[str, Any]:
    """Solve one task in this process and return the partial row (see ``runner.ROW_FIELDS``)."""
    from benchmarks.suite.families import resolve_family

    memory_mb = task.get("memory_mb")
    if memory_mb:
        limit = int(memory_mb * 2**20)
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    row: dict[str, Any] = {"cost": None, "feasible": False, "samples": [], "info": {}}
    t0 = time.perf_counter()
    try:
        family = resolve_family(task["family"])
        instance = family.read(Path(task["path"]))
        solve = family.solvers[task["solver"]]
        prepare = family.prepare.get(task["solver"])
        if prepare is not None:
            prepare()
        t0 = time.perf_counter()
        out = solve(
            instance,
            time_limit=float(task["time_limit"]),
            seed=int(task["seed"]),
            params=dict(task.get("params") or {}),
        )
        row["seconds"] = time.perf_counter() - t0
        row["samples"] = [[float(t), float(c)] for t, c in out.samples]
        row["info"] = dict(out.info)
        if out.solution is None:
            row["status"] = "no_solution"
            row["error"] = str(out.info.get("reason", "")) or None
        else:
            ev = family.evaluate(instance, out.solution)
            row["cost"] = ev.cost
            row["feasible"] = bool(ev.feasible)
            row["status"] = "ok" if ev.feasible else "infeasible"
            row["error"] = ev.detail or None
    except MemoryError:
        row.update(
            status="memout",
            seconds=time.perf_counter() - t0,
            error=f"MemoryError: over the memory limit of {memory_mb} MB",
        )
    except Exception as e:
        tb = traceback.extract_tb(e.__traceback__)
        where = f" (at {Path(tb[-1].filename).name}:{tb[-1].lineno})" if tb else ""
        row.update(
            status="error",
            seconds=time.perf_counter() - t0,
            error=f"{type(e).__name__}: {e}{where}",
        )
    row["peak_mb"] = _peak_mb()
    return {str(k): _clean(v) for k, v in row.items()}


def main(argv: list[str] | None = None) -> int:
    """Entry point: ``TASK`` and ``RESULT`` file paths."""
    argv = sys.argv[1:] if argv is None else argv
    task_path, result_path = argv
    task = json.loads(Path(task_path).read_text())
    row = run(task)
    tmp = Path(result_path + ".tmp")
    tmp.write_text(json.dumps(row))
    tmp.replace(result_path)
    return 0


if __name__ == "__main__":  # pragma: no cover - runs in the child process
    sys.exit(main())
