"""Benchmark: scenario load, lane-graph build and Pareto path search for generated tiers.

Usage (from the repository root)::

    python benchmarks/graph_paths.py [--region sea] [--tiers S M L] [--runs 5] [--seed 0]

For each tier the scenario is generated once with ``tradelane generate`` (not timed here), then
each phase is timed ``--runs`` times in this process and the median (min–max) is printed:

- ``load``: read and validate network.json + demand.csv (pydantic, every rule of format v1);
- ``graph``: build the networkx MultiDiGraph and expand rate cards (vectorised geodesics);
- ``paths``: the three Pareto searches (inbound, outbound, direct) and array compilation;
- ``sku-mask``: per-SKU (cost, hours) Pareto masks of the outbound options for every SKU.

Peak RSS of the process is printed at the end (``resource.getrusage``).
"""

from __future__ import annotations

import argparse
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from network.compile import compile_network
from network.graph import build_graph
from network.scenario import load_scenario


def _time(fn, runs: int):  # type: ignore[no-untyped-def]
    out, res = [], None
    for _ in range(runs):
        t = time.perf_counter()
        res = fn()
        out.append(time.perf_counter() - t)
    return out, res


def _fmt(xs: list[float]) -> str:
    return f"{statistics.median(xs):8.3f} s ({min(xs):.3f}–{max(xs):.3f})"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--region", default="sea")
    ap.add_argument("--tiers", nargs="+", default=["S", "M", "L"])
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)
    exe = Path(sys.executable).with_name("tradelane")
    print(f"region {args.region}, seed {args.seed}, {args.runs} runs per phase: median (min–max)")
    with tempfile.TemporaryDirectory() as tmp:
        for tier in args.tiers:
            out = Path(tmp) / tier
            t = time.perf_counter()
            subprocess.run(
                [
                    str(exe),
                    "generate",
                    "--region",
                    args.region,
                    "--tier",
                    tier,
                    "--seed",
                    str(args.seed),
                    "--out",
                    str(out),
                ],
                check=True,
                stdout=subprocess.DEVNULL,
            )
            gen = time.perf_counter() - t
            t_load, s = _time(lambda out=out: load_scenario(out), args.runs)
            t_graph, G = _time(lambda s=s: build_graph(s), args.runs)
            t_paths, data = _time(lambda s=s, G=G: compile_network(s, G), args.runs)
            t_mask, _ = _time(lambda d=data: d.outbound.pareto_mask(d.sku), max(1, args.runs // 2))
            print(
                f"\ntier {tier}: {len(s.skus)} SKUs, {len(s.nodes)} nodes "
                f"({len(data.warehouses)} warehouses, {len(data.zones)} zones), "
                f"{G.number_of_edges()} lanes, {len(s.demand)} demand rows; "
                f"options {len(data.inbound)} in / {len(data.outbound)} out / "
                f"{len(data.direct)} direct; generate {gen:.1f} s (one run, incl. start-up)"
            )
            print(f"  load      {_fmt(t_load)}")
            print(f"  graph     {_fmt(t_graph)}")
            print(f"  paths     {_fmt(t_paths)}")
            print(f"  sku-mask  {_fmt(t_mask)}")
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"\npeak RSS {peak:.0f} MB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
