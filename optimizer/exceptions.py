"""Errors and warnings of the optimiser (a shallow hierarchy, see STYLE.md).

``OptimiserError`` is the root; ``InvalidNetworkError`` (also a ``ValueError``) is raised for
data the models cannot use, ``SolverError`` (also a ``RuntimeError``) when a solver fails to
run at all. An infeasible model is *not* an error: it is a status of the result.
"""

from __future__ import annotations

import math

__all__ = [
    "ExecutorError",
    "InvalidNetworkError",
    "OptimiserError",
    "ScalingWarning",
    "SolverError",
    "TimeLimitError",
]


class OptimiserError(Exception):
    """Root of the optimiser's exceptions."""


class InvalidNetworkError(OptimiserError, ValueError):
    """The compiled network or the parameters cannot be used by a model."""


class SolverError(OptimiserError, RuntimeError):
    """The solver could not run (unsupported solver, invalid parameters, internal failure)."""


class TimeLimitError(OptimiserError, ValueError):
    """A time limit shorter than the shortest the instance can keep on this machine (loading,
    compiling, the naive floor, the documents and files); the message names the shortest.
    ``shortest_s`` holds it (the CLI exits 2 and the API answers 422)."""

    def __init__(self, message: str, shortest_s: float):
        super().__init__(message)
        self.shortest_s = shortest_s

    @classmethod
    def check(cls, limit: float, shortest: float, what: str, *, name: str | None = None) -> None:
        """Raise when a finite ``limit`` is shorter than ``shortest`` (rounded up): "[name: ]a
        time limit of L s is too short for {what} take about N s on this machine; give at
        least that" (``what`` ends with the work that takes the time)."""
        if math.isfinite(limit) and limit < shortest:
            n = float(math.ceil(shortest))
            raise cls(
                f"{name + ': ' if name else ''}a time limit of {limit:g} s is too short for "
                f"{what} take about {n:g} s on this machine; give at least that",
                n,
            )


class ExecutorError(OptimiserError, RuntimeError):
    """The executor for sub-solves cannot start (a Dask scheduler out of reach)."""


class ScalingWarning(UserWarning):
    """Coefficients had to be scaled or clipped; results may be less exact."""
