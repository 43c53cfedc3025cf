"""Scaling benchmark: ``tradelane plan`` on growing catalogues (SKU count) against wall time,
peak memory and proven gap, on local processes or Dask.

Usage::

    python -m benchmarks.scale --source sea-L --skus 300,1000,3000 --time-limit 600 \
        [--dask local --workers 2] [--out scale.json]

``--source`` is a generated scenario folder (``tradelane generate --tier L``); a point with
fewer SKUs keeps the source's first SKUs and their demand rows (the network is unchanged).
Each point runs the CLI in its own process; peak memory is sampled from the process tree every
0.2 s (``tree`` = sum over the processes at the sample with the highest sum, ``process`` = the
largest single process, ``parent`` = the CLI process itself, ``worker`` = its largest descendant: a
local or ``--dask local`` worker). Printed per point: SKUs, demand rows, wall seconds,
status, gap, peak memory, the plan's strategy, objective, on-time share and the naive plan's,
the plan's scalar statistics and notes.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import pandas as pd
import psutil
import yaml

from benchmarks.rows import append_rows


def subset(src: Path, n_skus: int, out: Path) -> Path:
    """A copy of ``src`` with its first ``n_skus`` SKUs and their demand rows."""
    out.mkdir(parents=True, exist_ok=True)
    net = next(p for p in src.iterdir() if p.stem in ("network", "scenario"))
    doc = (json.loads if net.suffix == ".json" else yaml.safe_load)(net.read_text())
    doc["skus"] = doc["skus"][:n_skus]
    keep = {s["id"] for s in doc["skus"]}
    (out / "network.json").write_text(json.dumps(doc))
    dem = pd.read_csv(src / "demand.csv", dtype={"sku": str, "zone": str})
    dem[dem["sku"].isin(keep)].to_csv(out / "demand.csv", index=False)
    return out


def _sample(proc: subprocess.Popen[str]) -> tuple[int, int, int, int]:
    """Peak RSS of the process tree (sum), of its largest process, of the process itself and
    of its largest descendant (a local or Dask worker), sampled every 0.2 s until it ends."""
    ps = psutil.Process(proc.pid)
    tree = peak_one = peak_parent = peak_child = 0
    while proc.poll() is None:
        try:
            rss = [p.memory_info().rss for p in [ps, *ps.children(recursive=True)]]
        except psutil.Error:
            rss = []
        tree = max(tree, sum(rss))
        peak_one = max([peak_one, *rss])
        peak_parent = max([peak_parent, *rss[:1]])
        peak_child = max([peak_child, *rss[1:]])
        time.sleep(0.2)
    return tree, peak_one, peak_parent, peak_child


def run_point(scenario: Path, limit: float, extra: list[str]) -> dict[str, Any]:
    """One ``tradelane plan`` run, timed, with peak memory sampled from its process tree."""
    out = Path(tempfile.mkdtemp(prefix="scale-plan-"))
    cmd = [
        sys.executable,
        "-m",
        "api.cli",
        "plan",
        str(scenario),
        "--out",
        str(out),
        "--time-limit",
        str(limit),
        "--baseline",
        "naive",
        "--quiet",
        *extra,
    ]
    t0 = time.perf_counter()
    # the CLI's output goes to files, not pipes: a long run fills a pipe nobody reads until
    # the end, and the CLI (and the Dask scheduler in it) then blocks on its next log line
    with tempfile.TemporaryFile("w+") as out_f, tempfile.TemporaryFile("w+") as err_f:
        proc = subprocess.Popen(cmd, stdout=out_f, stderr=err_f, text=True)
        tree, peak_one, peak_parent, peak_child = _sample(proc)
        wall = time.perf_counter() - t0
        proc.wait()
        out_f.seek(0)
        err_f.seek(0)
        stdout, stderr = out_f.read(), err_f.read()
    row: dict[str, Any] = {
        "scenario": str(scenario),
        "wall_s": wall,
        "exit": proc.returncode,
        "peak_tree_mb": tree / 2**20,
        "peak_process_mb": peak_one / 2**20,
        "peak_parent_mb": peak_parent / 2**20,
        "peak_worker_mb": peak_child / 2**20,
    }
    if proc.returncode != 0 or not (out / "plan.json").exists():
        row["error"] = (stderr or stdout)[-500:]
        return row
    plan = json.loads((out / "plan.json").read_text())
    base = plan.get("baseline") or {}
    row.update(
        status=plan["status"],
        strategy=plan.get("strategy"),
        objective=plan["objective"],
        bound=plan["bound"],
        gap=plan["gap"],
        on_time=(plan.get("service") or {}).get("on_time_share"),
        naive_objective=base.get("objective"),
        naive_on_time=base.get("on_time_share"),
        feasible=(plan.get("evaluation") or {}).get("feasible"),
        stats_peak_rss_mb=(plan.get("stats") or {}).get("peak_rss_mb"),
        stats={
            k: v for k, v in (plan.get("stats") or {}).items() if not isinstance(v, list | dict)
        },
        notes=plan.get("notes"),
    )
    shutil.rmtree(out, ignore_errors=True)
    return row


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--source", required=True, type=Path, help="generated scenario folder")
    ap.add_argument("--skus", default="", help="comma-separated SKU counts (default: all)")
    ap.add_argument("--time-limit", type=float, default=600.0)
    ap.add_argument("--dask", help="passed to tradelane plan --dask")
    ap.add_argument("--workers", type=int, help="passed to tradelane plan --workers")
    ap.add_argument("--strategy", help="passed to tradelane plan --strategy")
    ap.add_argument("--out", type=Path, help="append the rows to this JSON file")
    a = ap.parse_args(argv)
    extra: list[str] = []
    for flag in ("dask", "workers", "strategy"):
        if getattr(a, flag) is not None:
            extra += [f"--{flag}", str(getattr(a, flag))]
    counts = [int(s) for s in a.skus.split(",") if s] or [0]
    rows = []
    with tempfile.TemporaryDirectory(prefix="scale-") as tmp:
        for n in counts:
            scen = a.source if n == 0 else subset(a.source, n, Path(tmp) / f"s{n}")
            row = {"skus": n or "all", **run_point(scen, a.time_limit, extra), "args": extra}
            rows.append(row)
            print(json.dumps(row), flush=True)
    if a.out:
        append_rows(a.out, rows)
    return 0


if __name__ == "__main__":
    sys.exit(main())
