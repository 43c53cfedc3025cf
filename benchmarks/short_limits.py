"""Short time limits: ``tradelane plan`` run as a user runs it, its wall clock and CPU seconds
against the limit. A limit covers the whole command (interpreter start, imports, loading,
compiling, solving, writing the files); the promise is the limit + 10 %.

Usage::

    python -m benchmarks.short_limits [--scenario datasets/sea-72h] \
        [--time-limits 5,10,20,60] [--repeat 3] [--out short.json]

Each run is its own process (``python -m api.cli plan SCENARIO --out TMP --time-limit S
--quiet``), one at a time. Printed per run: the limit, wall seconds, CPU seconds (user + system
of the process and its children), wall / limit, the 1-minute load average before and after,
the plan's status, objective and gap, and the phase seconds of plan.json's ``stats``
(``start_s``: interpreter start, imports and loading the scenario; ``compile_s``;
``prepare_s``: columns and naive plan; ``solve_s``; ``document_s``; ``evaluate_s``;
``diagnose_s``; ``baseline_s`` with ``--baseline``); then per limit the median wall and CPU
seconds and how many runs kept the promise.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from benchmarks.rows import append_rows

#: The promise: a run ends within the limit plus this share of it.
TOLERANCE = 0.10
PHASES = (
    "start_s",
    "compile_s",
    "prepare_s",
    "solve_s",
    "document_s",
    "evaluate_s",
    "diagnose_s",
    "baseline_s",
)


def _cpu_children() -> float:
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return float(r.ru_utime + r.ru_stime)


def run_once(scenario: Path, limit: float, extra: list[str]) -> dict[str, Any]:
    """One ``tradelane plan`` run, timed (wall and CPU), with its plan's figures."""
    out = Path(tempfile.mkdtemp(prefix="short-plan-"))
    cmd = [sys.executable, "-m", "api.cli", "plan", str(scenario), "--out", str(out)]
    cmd += ["--time-limit", f"{limit:g}", "--quiet", *extra]
    load0 = os.getloadavg()[0]
    cpu0 = _cpu_children()
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    wall = time.perf_counter() - t0
    row: dict[str, Any] = {
        "time_limit": limit,
        "wall_s": round(wall, 3),
        "cpu_s": round(_cpu_children() - cpu0, 3),
        "wall_over_limit": round(wall / limit, 3),
        "kept": wall <= limit * (1 + TOLERANCE),
        "load": [round(load0, 2), round(os.getloadavg()[0], 2)],
        "exit": proc.returncode,
    }
    plan_path = out / "plan.json"
    if proc.returncode != 0 or not plan_path.exists():
        row["error"] = (proc.stderr or proc.stdout)[-500:]
    else:
        plan = json.loads(plan_path.read_text())
        st = plan.get("stats") or {}
        row.update(
            status=plan["status"],
            strategy=plan.get("strategy"),
            objective=plan["objective"],
            gap=plan["gap"],
            phases={k: round(float(st[k]), 3) for k in PHASES if st.get(k) is not None},
        )
    shutil.rmtree(out, ignore_errors=True)
    return row


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    ap.add_argument("--scenario", type=Path, default=Path("datasets/sea-72h"))
    ap.add_argument("--time-limits", default="5,10,20,60", help="comma-separated seconds")
    ap.add_argument("--repeat", type=int, default=1, help="runs per limit")
    ap.add_argument("--baseline", action="store_true", help="pass --baseline naive")
    ap.add_argument("--out", type=Path, help="append the rows to this JSON file")
    a = ap.parse_args(argv)
    extra = ["--baseline", "naive"] if a.baseline else []
    limits = [float(s) for s in a.time_limits.split(",") if s]
    rows: list[dict[str, Any]] = []
    for limit in limits:
        for _ in range(a.repeat):
            row = run_once(a.scenario, limit, extra)
            rows.append(row)
            print(json.dumps(row), flush=True)
    for limit in limits:
        mine = [r for r in rows if r["time_limit"] == limit]
        print(
            f"limit {limit:g} s: median wall {statistics.median(r['wall_s'] for r in mine):.2f} s"
            f", median CPU {statistics.median(r['cpu_s'] for r in mine):.2f} s, "
            f"{sum(r['kept'] for r in mine)}/{len(mine)} within +{TOLERANCE:.0%}, statuses "
            f"{sorted({str(r.get('status')) for r in mine})}"
        )
    if a.out:
        append_rows(a.out, rows)
    return 0


if __name__ == "__main__":
    sys.exit(main())
