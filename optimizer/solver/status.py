"""The status of a solve, shared by every model of :mod:`optimizer`."""

from __future__ import annotations

import enum

__all__ = ["Status"]


@enum.unique
class Status(enum.StrEnum):
    """Outcome of a solve. ``INFEASIBLE`` only when no plan exists at all."""

    OPTIMAL = "optimal"
    FEASIBLE = "feasible"
    INFEASIBLE = "infeasible"
    NO_SOLUTION = "no_solution"
    ERROR = "error"
