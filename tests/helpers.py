"""Helpers shared by several test modules (import from here, never from another test module)."""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterator

import numpy as np

from optimizer.routing import RoutingInstance, VehicleType
from optimizer.routing.evaluate import distance_matrix, evaluate_routes


def partitions(items: list[int]) -> Iterator[list[list[int]]]:
    """All set partitions of ``items``."""
    if not items:
        yield []
        return
    first, rest = items[0], items[1:]
    for p in partitions(rest):
        for i in range(len(p)):
            yield [*p[:i], [first] + p[i], *p[i + 1 :]]
        yield [[first], *p]


def brute_force(inst: RoutingInstance) -> float:
    """Optimal cost by enumerating partitions and visit orders (single vehicle type)."""
    best = math.inf
    n = inst.num_clients
    vt = inst.vehicle_types[0]
    best_block: dict[tuple[int, ...], float] = {}
    for part in partitions(list(range(n))):
        if len(part) > vt.count:
            continue
        total = 0.0
        for block in part:
            key = tuple(sorted(block))
            if key not in best_block:
                cb = math.inf
                for perm in itertools.permutations(block):
                    ev = evaluate_routes(
                        inst, [(0, list(perm))], dropped=[c for c in range(n) if c not in block]
                    )
                    # only this route's own violations matter here
                    if not [v for v in ev.violations if v.startswith("route")]:
                        cb = min(cb, ev.routes[0].cost)
                best_block[key] = cb
            total += best_block[key]
            if total >= best:
                break
        best = min(best, total)
    return best


def random_instance(seed: int, n: int, *, windows: bool) -> RoutingInstance:
    rng = np.random.default_rng(seed)
    xy = rng.uniform(0, 100, size=(n + 1, 2))
    xy[0] = 50.0
    dist = distance_matrix(xy, "exact")
    demand = rng.integers(1, 10, size=n)
    kw = {}
    if windows:
        early = rng.uniform(0, 150, size=n).round()
        kw = {"tw_early": early, "tw_late": early + 60.0, "service": np.full(n, 5.0)}
    fleet = VehicleType(count=3, capacity=(15.0,), shift_end=400.0 if windows else math.inf)
    return RoutingInstance.build(
        f"rand{seed}",
        dist,
        vehicle_types=(fleet,),
        demand=demand,
        coords=xy,
        distance_convention="exact",
        **kw,
    )
