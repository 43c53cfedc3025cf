"""The status of a solve, shared by every model of :mod:`optimizer`."""

from __future__ import annotations

import enum

__all__ = ["Status"]


@enum.unique
class Status(enum.StrEnum):
    """Outcome of a solve. ``INFEASIBLE`` only when no plan exists at all, or, for a what-if's
    held plan (not solved: the base plan rewritten under a shock), when it breaks a rule (its
    evaluation lists them)."""

    OPTIMAL = "optimal"
    FEASIBLE = "feasible"
    INFEASIBLE = "infeasible"
    NO_SOLUTION = "no_solution"
    #: stopped (by the time limit, or with time left but no plan of its own) with only a
    #: fallback plan that breaks some rule of the model (the plan's evaluation lists them)
    TIME_LIMIT = "time_limit"
    ERROR = "error"
