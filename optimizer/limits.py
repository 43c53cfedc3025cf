"""Limits the models' parameters share with the HTTP API that passes them on."""

from __future__ import annotations

__all__ = ["MAX_RUNS", "MAX_SEED"]

MAX_SEED = 2**31 - 1
"""Largest seed: the MIP solvers and OR-Tools take a 32-bit signed seed (the HTTP API's limit
too; the routing subproblems' seeds are taken modulo it)."""

MAX_RUNS = 1_000_000
"""Most runs of one simulation (:class:`optimizer.risk.simulate.SimParams`; the CLI took any
number and ran out of memory allocating them)."""
