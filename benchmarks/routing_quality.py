"""Routing quality benchmark: tradelane (OR-Tools) vs PyVRP vs best-known values.

For each instance, both solvers get the same data and the same wall-clock limit, one after the
other (never in parallel, so they do not compete for the CPU); both solutions are re-checked by
tradelane's independent evaluator (``optimizer.routing.evaluate``) in floating point.

Conventions (see each folder's README in ``../shared/benchdata``):

- ``solomon``: instances with unrounded Euclidean distances (the classic convention). Gap is
  measured against ``bks_distance.csv``, the **distance-only** proven optima, which use distances
  truncated to one decimal. We report two gaps: ``gap`` (our double-precision distance vs that
  value, slightly pessimistic) and ``gap_t1`` (the same routes re-evaluated with truncated
  distances: like for like with the optimum, and still feasible since truncated travel times are
  shorter).
- ``homberger``: 200-customer Gehring & Homberger; best-known values are **hierarchical**
  (vehicles first, then distance, double precision). A distance-only run may use more vehicles
  and beat the distance; the gap is reported against that value anyway, with that caveat.
- ``cvrplib``: TSPLIB-rounded integer distances (``nint``); gap vs ``bks.csv``.

PyVRP (the peer) gets integer data: distances and times scaled by 1000 and rounded (the scaling
PyVRP's own reader uses for "exact" instances); 1 for integral data.

Usage (from the repository root)::

    python benchmarks/routing_quality.py --family solomon --time-limit 30 \
        --out routing_solomon.csv
    python benchmarks/routing_quality.py --family homberger --select 'r1_2_*' --time-limit 30
    python benchmarks/routing_quality.py --family cvrplib --select 'X-n1[0-4]*' --no-peer

Prints one line per instance and a summary: feasible count, mean gap, mean cost ratio to PyVRP,
median solve seconds.

Measured (Nov 2026, 2-core machine shared with several other jobs, load average 6-8; seed 0;
ours and PyVRP 0.14.1 one after the other per instance; medians ~30 s for both):

- Solomon, all 56, 30 s, guided local search only (before ruin-and-recreate): ours feasible
  56/56, mean gap 5.08 % (4.71 % re-evaluated with truncated distances) vs ``bks_distance``;
  PyVRP 56/56, mean gap 0.65 %; mean cost ratio ours/PyVRP 1.044 (max 1.278, RC208). By class:
  C1 1.28 %, C2 0.87 %, R1 5.47 %, R2 6.67 %, RC1 6.99 %, RC2 8.89 %.
- Solomon, 14-instance subset (C103 C204 R101 R104 R107 R110 R202 R205 R208 RC101 RC104 RC107
  RC202 RC205), 30 s, with ruin-and-recreate (the default): mean gap 3.17 % (2.79 % truncated),
  ratio to PyVRP 1.025; the same 14 without it: 5.92 % and 1.052.
- Gehring & Homberger 200, the six ``*_2_1`` instances, 30 s: cost ratio ours/PyVRP 1.060
  without ruin-and-recreate, 1.025 with it (c1 1.033, c2 1.001, r1 1.019, r2 1.023, rc1 1.044,
  rc2 1.031); both feasible 6/6. Gaps against the hierarchical BKS are not meaningful for a
  distance-only run (r2_2_1: -20 % with 13 routes instead of the BKS's fewer).
- Solomon, the same 14, 30 s, seed 0, after the ruin-and-recreate rework (40 rounds of string
  removals of 10 % of the clients, partial routes handed over with ``RoutesToAssignment`` so
  rounds no longer end early; Nov 2026, shared 2-core machine, load ~2.5, single run): ours
  feasible 14/14, mean gap 1.96 % (1.59 % truncated), PyVRP 0.49 %, mean cost ratio
  ours/PyVRP 1.0146 (max 1.039, RC104; C103, C204, R101, RC205 tie with PyVRP). Homberger 200,
  30 s, spot check only: c1_2_1 ratio 1.000 (was 1.033), rc1_2_1 1.059 (was 1.044: worse),
  c1_2_10 1.066; the six ``*_2_1`` were not re-run.
- Targets: ratio to PyVRP <= 1.02 on that Solomon subset met (1.015); mean gap <= 1.5 % **not
  met** (1.96 %; 1.59 % like for like with the truncated-distance optima); Homberger 200 not
  met and not fully re-checked (rc1_2_1 got worse).
- Iterated local search (``search="auto"``, now the default up to 400 clients; 23 Nov 2026,
  same machine, load average ~2; these screening runs called ``solve_routes`` directly without
  the peer and compare with the PyVRP costs of the runs above): Solomon 14-instance subset,
  30 s, seed 0: ILS alone 1.75 % mean gap, ILS then guided local search for the last 30 %
  1.62 % (C204 5.94 % -> 1.90 %: guided local search removed the fourth route the ILS kept);
  Homberger ``*_2_1``, 30 s: mean cost ratio 1.018 with 10 clients removed per ruin, 1.013
  with 10 % of the clients (20). The final side-by-side figures (all 56 Solomon, Homberger,
  one run with PyVRP) are in benchmarks/README.md.
"""

from __future__ import annotations

import argparse
import csv
import fnmatch
import math
import statistics
import sys
import time
from pathlib import Path

from optimizer.routing import RoutingInstance, RoutingParams, solve_routes
from optimizer.routing.evaluate import evaluate_routes
from optimizer.routing.io import read_instance

ROOT = Path(__file__).resolve().parent.parent

FAMILIES = {
    "solomon": ("solomon", "bks_distance.csv", "*.txt"),
    "homberger": ("gehring_homberger", "bks.csv", "*.txt"),
    "cvrplib": ("cvrplib", "bks.csv", "X/*.vrp"),
}


def load_bks(path: Path) -> dict[str, float]:
    """instance -> best-known value from a benchdata ``bks*.csv``."""
    if not path.is_file():
        return {}
    with path.open() as fh:
        return {r["instance"]: float(r["bks_value"]) for r in csv.DictReader(fh)}


def solve_pyvrp(
    inst: RoutingInstance, time_limit: float, seed: int
) -> tuple[list[list[int]], float]:
    """PyVRP on the same data (the suite's adapter, ``benchmarks.suite.peers``); 0-based client
    routes."""
    from benchmarks.suite.peers import solve_pyvrp as peer

    t0 = time.perf_counter()
    out = peer(inst, time_limit=time_limit, seed=seed, params={})
    routes = [list(clients) for _, clients in out.solution[0]]
    return routes, time.perf_counter() - t0


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--family", choices=sorted(FAMILIES), default="solomon")
    ap.add_argument("--instances", type=Path, help="folder (default ../shared/benchdata/<family>)")
    ap.add_argument("--select", default="*", help="glob(s) on instance file names, comma-separated")
    ap.add_argument("--time-limit", type=float, default=30.0)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--first-solution", default=RoutingParams().first_solution)
    ap.add_argument("--metaheuristic", default=RoutingParams().metaheuristic)
    ap.add_argument(
        "--search",
        default=RoutingParams().search,
        help="auto, ils or lns (see RoutingParams.search)",
    )
    ap.add_argument("--no-peer", action="store_true", help="skip PyVRP")
    ap.add_argument("--out", type=Path, help="CSV of per-instance rows")
    a = ap.parse_args(argv)
    folder, bks_file, pattern = FAMILIES[a.family]
    d = a.instances or (ROOT.parent / "shared" / "benchdata" / folder)
    bks = load_bks(d / bks_file)
    globs = a.select.split(",")
    files = sorted(
        p
        for p in d.glob(pattern)
        if any(fnmatch.fnmatch(p.name, g) for g in globs) and p.name != "README.md"
    )
    if not files:
        print(f"no instance matches {a.select!r} in {d}", file=sys.stderr)
        return 2
    params = RoutingParams(
        time_limit_s=a.time_limit,
        seed=a.seed,
        first_solution=a.first_solution,
        metaheuristic=a.metaheuristic,
        search=a.search,
    )
    print(
        f"# family={a.family} time_limit={a.time_limit}s seed={a.seed} "
        f"search={params.search} first={params.first_solution} "
        f"meta={params.metaheuristic} peer="
        f"{'none' if a.no_peer else 'pyvrp'}; solvers run one after the other"
    )
    print(
        f"{'instance':<12} {'bks':>10} {'ours':>10} {'veh':>4} {'gap%':>7} {'gap_t1%':>8} "
        f"{'s':>6} {'pyvrp':>10} {'veh':>4} {'gap%':>7} {'ratio':>6} {'s':>6}"
    )
    rows = []
    for f in files:
        inst = read_instance(f)
        name = inst.name if inst.name in bks else f.stem
        b = bks.get(name, math.nan)
        res = solve_routes(inst, params)
        row: dict[str, object] = {
            "instance": name,
            "bks": b,
            "ours": res.cost,
            "ours_vehicles": res.num_vehicles,
            "ours_feasible": res.feasible,
            "ours_s": res.solve_seconds,
        }
        row["gap"] = 100 * (res.cost / b - 1)
        row["gap_t1"] = math.nan
        if a.family == "solomon" and inst.coords is not None and res.feasible:
            ev = evaluate_routes(
                inst, [(r.vehicle_type, r.clients) for r in res.routes], convention="trunc1"
            )
            row["gap_t1"] = 100 * (ev.distance / b - 1)
        if not a.no_peer:
            routes, secs = solve_pyvrp(inst, a.time_limit, a.seed)
            ev = evaluate_routes(inst, routes)
            row.update(
                pyvrp=ev.cost,
                pyvrp_vehicles=len(routes),
                pyvrp_feasible=ev.feasible,
                pyvrp_s=secs,
                pyvrp_gap=100 * (ev.cost / b - 1),
                ratio=res.cost / ev.cost,
            )
        rows.append(row)
        print(
            f"{name:<12} {b:>10.2f} {res.cost:>10.2f} {res.num_vehicles:>4} "
            f"{row['gap']:>7.2f} {row['gap_t1']:>8.2f} {res.solve_seconds:>6.1f} "
            + (
                f"{row['pyvrp']:>10.2f} {row['pyvrp_vehicles']:>4} {row['pyvrp_gap']:>7.2f} "
                f"{row['ratio']:>6.3f} {row['pyvrp_s']:>6.1f}"
                if not a.no_peer
                else ""
            )
            + ("" if res.feasible else "  INFEASIBLE"),
            flush=True,
        )

    def mean(key: str) -> float:
        vals = [float(r[key]) for r in rows if key in r and math.isfinite(float(r[key]))]
        return statistics.fmean(vals) if vals else math.nan

    n_feas = sum(bool(r["ours_feasible"]) for r in rows)
    print(
        f"# summary over {len(rows)} instance(s): ours feasible {n_feas}/{len(rows)}, "
        f"mean gap {mean('gap'):.2f}% (trunc1 re-evaluation {mean('gap_t1'):.2f}%), "
        f"median {statistics.median(float(r['ours_s']) for r in rows):.1f} s"
    )
    if not a.no_peer:
        print(
            f"# pyvrp feasible {sum(bool(r['pyvrp_feasible']) for r in rows)}/{len(rows)}, "
            f"mean gap {mean('pyvrp_gap'):.2f}%, mean cost ratio ours/pyvrp "
            f"{mean('ratio'):.4f}, "
            f"median {statistics.median(float(r['pyvrp_s']) for r in rows):.1f} s"
        )
    if a.out:
        with a.out.open("w", newline="") as fh:
            w = csv.DictWriter(fh, fieldnames=sorted({k for r in rows for k in r}))
            w.writeheader()
            w.writerows(rows)
    return 0


if __name__ == "__main__":
    sys.exit(main())
