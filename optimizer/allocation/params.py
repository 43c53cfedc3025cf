"""Parameters of the allocation optimiser: a frozen dataclass that validates itself.

>>> AllocationParams(time_limit=30, relative_gap=1e-3).time_limit_s
30.0
>>> AllocationParams(solver="gurobi")
Traceback (most recent call last):
...
ValueError: solver='gurobi' not understood; expected one of highs, scip, cpsat.
"""

from __future__ import annotations

import math
import tomllib
from dataclasses import dataclass, fields
from datetime import timedelta
from pathlib import Path
from typing import Any

from optimizer.limits import MAX_SEED

__all__ = ["SOLVERS", "STRATEGIES", "AllocationParams"]

SOLVERS = ("highs", "scip", "cpsat")
STRATEGIES = ("auto", "monolithic", "decompose", "blocks")


@dataclass(frozen=True, slots=True)
class AllocationParams:
    """How to solve the allocation model.

    Attributes
    ----------
    time_limit
        Wall-clock budget for the whole plan (compile, build, solve), seconds or a
        ``timedelta``; ``None`` means no limit. Stored as given; use :attr:`time_limit_s`.
    relative_gap
        Stop when ``(objective - bound) / |objective|`` is at most this.
    threads
        Solver threads (``None``: the solver's default). SCIP ignores it.
    solver
        ``"highs"`` (default), ``"scip"`` or ``"cpsat"``. CP-SAT has no continuous variables:
        OR-Tools scales the flows to integers, so its optimum can differ slightly.
    seed
        Random seed passed to the solver and recorded in the plan.
    strategy
        ``"monolithic"`` solves the whole MIP; ``"decompose"`` decides warehouses on an
        aggregated model and then solves the SKU-separable rest (see
        :mod:`optimizer.allocation.decompose`); ``"blocks"`` decides warehouses on SKU families and
        solves
        SKU blocks apart (:mod:`optimizer.allocation.blocks`, for large catalogues); ``"auto"``
        picks by size.
    baseline
        ``"naive"`` also computes the naive planner's plan for comparison; ``None`` skips it.
    warm_start
        Give the solver the naive plan as a starting solution.
    """

    time_limit: float | timedelta | None = None
    relative_gap: float = 1e-4
    threads: int | None = None
    solver: str = "highs"
    seed: int = 0
    strategy: str = "auto"
    baseline: str | None = None
    warm_start: bool = True

    def __post_init__(self) -> None:
        t = self.time_limit
        if t is not None:
            sec = t.total_seconds() if isinstance(t, timedelta) else t
            if isinstance(sec, bool) or not isinstance(sec, int | float) or math.isnan(sec):
                raise ValueError(f"time_limit={t!r} not understood.")
            if sec < 0:
                raise ValueError("time_limit < 0 not understood.")
        g = self.relative_gap
        if isinstance(g, bool) or not isinstance(g, int | float) or not (0 <= g < 1):
            raise ValueError(f"relative_gap={g!r} not understood; expected 0 <= gap < 1.")
        if self.threads is not None and (
            isinstance(self.threads, bool) or not isinstance(self.threads, int) or self.threads < 1
        ):
            raise ValueError(f"threads={self.threads!r} not understood; expected an integer >= 1.")
        if self.solver not in SOLVERS:
            raise ValueError(
                f"solver={self.solver!r} not understood; expected one of {', '.join(SOLVERS)}."
            )
        if (
            isinstance(self.seed, bool)
            or not isinstance(self.seed, int)
            or not 0 <= self.seed <= MAX_SEED
        ):
            # the MIP solvers take a 32-bit seed: HiGHS refused a larger one and the plan
            # came back from the naive fallback, "feasible", without a word
            raise ValueError(
                f"seed={self.seed!r} not understood; expected an integer from 0 to {MAX_SEED}."
            )
        if self.strategy not in STRATEGIES:
            raise ValueError(
                f"strategy={self.strategy!r} not understood; expected one of "
                f"{', '.join(STRATEGIES)}."
            )
        if self.baseline not in (None, "naive"):
            raise ValueError(f"baseline={self.baseline!r} not understood; expected 'naive'.")

    @property
    def time_limit_s(self) -> float:
        """The time limit in seconds (``inf`` when there is none)."""
        t = self.time_limit
        if t is None:
            return math.inf
        return float(t.total_seconds() if isinstance(t, timedelta) else t)

    def replace(self, **changes: Any) -> AllocationParams:
        """A copy with some fields changed (validated again)."""
        cur = {f.name: getattr(self, f.name) for f in fields(self)}
        cur.update(changes)
        return AllocationParams(**cur)

    @classmethod
    def from_toml(cls, path: str | Path) -> AllocationParams:
        """Read parameters from a TOML file (top level or an ``[allocation]`` table).

        Keys are the attribute names; ``time_limit`` is in seconds.

        Raises
        ------
        ValueError
            For unknown keys, bad values or an unreadable file, naming the key.
        """
        p = Path(path)
        try:
            raw = tomllib.loads(p.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError) as e:
            raise ValueError(f"{p}: cannot read: {e}") from None
        except tomllib.TOMLDecodeError as e:
            raise ValueError(f"{p}: invalid TOML: {e}") from None
        table = raw.get("allocation", raw)
        if not isinstance(table, dict):
            raise ValueError(f"{p}: [allocation] must be a table")
        names = {f.name for f in fields(cls)}
        unknown = sorted(set(table) - names)
        if unknown:
            raise ValueError(
                f"{p}: unknown key(s) {', '.join(map(repr, unknown))}; "
                f"expected some of {', '.join(sorted(names))}"
            )
        try:
            return cls(**table)
        except (TypeError, ValueError) as e:
            raise ValueError(f"{p}: {e}") from None
