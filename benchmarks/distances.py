"""Benchmark: WGS84 geodesic against haversine distance matrices (``network.geo``).

Usage (from the repository root)::

    python -m benchmarks.distances [--sizes 200 2000] [--runs 3] [--seed 0]

``POST /v1/routes`` and a plan's day (``tradelane route --plan``) build a square distance matrix
of their depot and orders; above ``api.convert.GEODESIC_MAX_LOCATIONS`` (and
``optimizer.plan.day.GEODESIC_MAX``) they use the haversine formula instead of pyproj's
geodesics, because the geodesics' time counts against the request's time limit. For each size
this prints the median (min-max) seconds of :func:`network.geo.pairwise_km` and
:func:`network.geo.haversine_km` over ``--runs`` runs, their ratio, and the largest relative
difference between the two matrices over pairs more than 100 m apart, for points spread within
about 10 km of a Kuala Lumpur depot (as the tests' and bench's large requests) and within about
300 km of the equator at Singapore's longitude.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable

import numpy as np

from network.geo import haversine_km, pairwise_km

#: (name, centre lat, centre lon, spread in degrees)
CLOUDS = (("Kuala Lumpur, 10 km", 3.14, 101.69, 0.09), ("equator, 300 km", 0.0, 103.8, 2.7))


def _timed(
    fn: Callable[..., np.ndarray], args: tuple[np.ndarray, ...], runs: int
) -> tuple[list[float], np.ndarray]:
    times, out = [], np.zeros(0)
    for _ in range(runs):
        t0 = time.perf_counter()
        out = fn(*args)
        times.append(time.perf_counter() - t0)
    return times, out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[200, 2000])
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)
    rng = np.random.default_rng(args.seed)
    print(
        "points  cloud                 geodesic s (min-max)     haversine s (min-max)   "
        "ratio  max rel. diff"
    )
    for n in args.sizes:
        for name, lat0, lon0, spread in CLOUDS:
            lat = lat0 + rng.uniform(-spread, spread, n)
            lon = lon0 + rng.uniform(-spread, spread, n)
            tg, geo = _timed(pairwise_km, (lat, lon, lat, lon), args.runs)
            th, hav = _timed(haversine_km, (lat, lon), args.runs)
            far = geo > 0.1
            diff = float(np.max(np.abs(hav[far] - geo[far]) / geo[far])) if far.any() else 0.0
            mg, mh = statistics.median(tg), statistics.median(th)
            print(
                f"{n:>6}  {name:<20}  {mg:>7.3f} ({min(tg):.3f}-{max(tg):.3f})  "
                f"{mh:>8.4f} ({min(th):.4f}-{max(th):.4f})  {mg / mh:>5.0f}  {100 * diff:.2f} %",
                flush=True,
            )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
