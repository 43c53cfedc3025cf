"""Results of the allocation optimiser: a status enum and a frozen result dataclass.

Raw solver objects never leave :mod:`optimizer.allocation`; a result holds numpy arrays indexed
like the model's :class:`~optimizer.allocation.Columns`.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from optimizer.solver import Status

if TYPE_CHECKING:
    from optimizer.allocation.columns import Columns

__all__ = ["AllocationResult", "Solution", "SolveStats", "Status"]

F = npt.NDArray[np.float64]


@dataclass(frozen=True, slots=True)
class Solution:
    """Values of every column block of a :class:`~optimizer.allocation.Columns`.

    ``y`` per warehouse (0/1), ``x``/``q``/``u``/``f`` per column of their block, ``stock``
    per ``(sku, warehouse)`` pair of ``Columns.kw_*`` (integer units). Format v1.1 blocks
    (empty without state): ``e`` inventory uses (where it is or transferred), ``lo`` units
    of each lot that stay, ``r`` returns taken by a warehouse, ``o`` returns written off,
    ``sp`` resold units a warehouse does not need (kept as stock).
    """

    y: F
    x: F
    q: F
    u: F
    f: F
    stock: F
    e: F = field(default_factory=lambda: np.zeros(0))
    lo: F = field(default_factory=lambda: np.zeros(0))
    r: F = field(default_factory=lambda: np.zeros(0))
    o: F = field(default_factory=lambda: np.zeros(0))
    sp: F = field(default_factory=lambda: np.zeros(0))

    def __post_init__(self) -> None:
        for name in ("y", "x", "q", "u", "f", "stock", "e", "lo", "r", "o", "sp"):
            a = getattr(self, name)
            if a.ndim != 1:
                raise ValueError(f"{name} must be one-dimensional")
            if np.any(~np.isfinite(a)):
                raise ValueError(f"{name} has non-finite values")


@dataclass(frozen=True, slots=True)
class SolveStats:
    """Sizes and phase figures of a solve (``plan.json``'s ``stats``).

    The figures every strategy may report are fields (``None``: not measured by this solve);
    strategy-specific ones (``cols_*`` column counts, ``fixed_y_<heuristic>_s``, incumbent and
    bound-phase counters ...) are in ``extra`` under their JSON names. :meth:`to_json` gives
    the same keys and values as the phases reported.
    """

    build_s: float | None = None
    solve_s: float | None = None
    n_vars: int | None = None
    n_rows: int | None = None
    n_int: int | None = None
    nnz: int | None = None
    incumbent_s: float | None = None
    lagrange_bound: float | None = None
    capacity_bound: float | None = None
    bound_from: str | None = None
    y_from: str | None = None
    #: ``True``: flows re-optimised on the naive plan's warehouses; ``"naive"``: the naive plan
    fallback: bool | str | None = None
    #: SKU blocks that found no plan of their own in time (the block path; their naive plan is used)
    blocks_without_plan: int | None = None
    extra: Mapping[str, Any] = field(default_factory=dict)

    @classmethod
    def from_mapping(cls, d: Mapping[str, Any]) -> SolveStats:
        """Split a phase's figures into the known fields and ``extra``."""
        known = {f.name for f in fields(cls)} - {"extra"}
        return cls(
            **{k: v for k, v in d.items() if k in known},
            extra={k: v for k, v in d.items() if k not in known},
        )

    def to_json(self) -> dict[str, Any]:
        """The figures as a JSON object (fields given, then ``extra``)."""
        out = {
            f.name: getattr(self, f.name)
            for f in fields(self)
            if f.name != "extra" and getattr(self, f.name) is not None
        }
        out.update(self.extra)
        return out


@dataclass(frozen=True, slots=True)
class AllocationResult:
    """What a solve returns.

    Attributes
    ----------
    status
        See :class:`Status`.
    objective
        Total cost of ``solution`` (the sum of ``cost``), ``nan`` without a solution.
    bound
        A proven lower bound on the optimum (``-inf`` when none is known).
    runtime_s
        Wall-clock seconds of the whole solve (build included).
    cost
        The nine cost terms of DESIGN §7.
    columns, solution
        The model's column blocks and their values (``solution`` is ``None`` without one).
    stats
        Sizes and phase timings (:class:`SolveStats`).
    notes
        Human-readable remarks (target lowered, fallback used ...).
    targets_lowered
        The on-time targets were lowered below the model's (no path or no capacity for the
        rest): the solution is a plan, but not one meeting the stated shares.
    """

    status: Status
    objective: float
    bound: float
    runtime_s: float
    cost: dict[str, float]
    columns: Columns
    solution: Solution | None
    stats: SolveStats = field(default_factory=SolveStats)
    notes: tuple[str, ...] = ()
    targets_lowered: bool = False

    def __post_init__(self) -> None:
        if self.runtime_s < 0:
            raise ValueError("Negative runtime not understood.")
        if self.solution is None and self.status in (Status.OPTIMAL, Status.FEASIBLE):
            raise ValueError(f"status {self.status} needs a solution")

    @classmethod
    def no_solution(
        cls,
        columns: Columns,
        *,
        bound: float,
        runtime_s: float,
        stats: SolveStats | None = None,
        notes: tuple[str, ...] = (),
    ) -> AllocationResult:
        """A solve that found no plan (``bound``: what it proved, ``-inf`` if nothing)."""
        return cls(
            status=Status.NO_SOLUTION,
            objective=math.nan,
            bound=bound,
            runtime_s=runtime_s,
            cost={},
            columns=columns,
            solution=None,
            stats=stats if stats is not None else SolveStats(),
            notes=notes,
        )

    @property
    def gap(self) -> float:
        """``(objective - bound) / max(|objective|, 1e-9)``; ``inf`` without both."""
        if not (math.isfinite(self.objective) and math.isfinite(self.bound)):
            return math.inf
        return max(0.0, self.objective - self.bound) / max(abs(self.objective), 1e-9)

    def summary(self) -> str:
        """A few lines for people."""
        lines = [
            (
                f"status {self.status}, objective {self.objective:,.2f}, bound "
                f"{self.bound:,.2f}, gap {self.gap:.4%}, {self.runtime_s:.1f} s"
            )
        ]
        if self.cost:
            lines.append("  " + ", ".join(f"{k} {v:,.0f}" for k, v in self.cost.items()))
        lines.extend(f"  note: {n}" for n in self.notes)
        return "\n".join(lines)
