"""Progress reports of a running plan solve, as shown by ``GET /v1/plans/{id}`` and the console.

The planner reports progress through :class:`optimizer.progress.PhaseReport`: a short phase
description and, when the phase knows them, the best objective and the proven bound of the
moment as numbers (``"warehouse set 3: best 1,234,567, bound 1,200,000"`` comes with
``best=1234567.0, bound=1200000.0``). :func:`phase_report` turns one call into the report the
store keeps; a phase without figures leaves them null and the last known ones stand (the
store keeps them). The phase text itself is shown as it is.
"""

from __future__ import annotations

import re
from typing import Any

__all__ = ["phase_report"]

_KIND = re.compile(r"[:\d,.]+.*$|\s+\d+$")


def phase_report(
    phase: str, *, best: float | None = None, bound: float | None = None
) -> dict[str, Any]:
    """The progress report of one phase.

    Returns
    -------
    dict
        ``phase`` (the text), ``kind`` (the text without its numbers, to tell a new phase from
        another iteration of the same one), ``best_objective`` and ``bound`` (the figures the
        phase passed, floats or None; never read from the text).

    Examples
    --------
    >>> r = phase_report("warehouse set 3: best 1,234,567, bound 1,200,000", best=1234567.0,
    ...                  bound=1.2e6)
    >>> r["kind"], r["best_objective"], r["bound"]
    ('warehouse set', 1234567.0, 1200000.0)
    >>> phase_report("compiling the lane network")["best_objective"] is None
    True
    """
    kind = _KIND.sub("", phase).strip(" ,:") or phase
    return {
        "phase": phase,
        "kind": kind,
        "best_objective": None if best is None else float(best),
        "bound": None if bound is None else float(bound),
    }
