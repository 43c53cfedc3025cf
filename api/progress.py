"""Progress reports of a running plan solve, as shown by ``GET /v1/plans/{id}`` and the console.

The planner reports progress as short phase descriptions (``plan_scenario(progress=...)``), some
of which carry the figures of the moment: ``"warehouse set 3: best 1,234,567, bound
1,200,000"``, ``"Lagrangian bound, iteration 200: 1,190,000"``, ``"capacity bound, iteration 4:
1,201,000"``. :func:`parse_phase` turns one into a report with the phase's name and, where the
text gives them, the best objective and the bound so far.

Notes
-----
The figures are read from the phase text because that is what the planner's progress callback
carries today; a phase without figures leaves them null and the last known ones stand (the
store keeps them). The phase text itself is shown as it is.
"""

from __future__ import annotations

import re
from typing import Any

__all__ = ["parse_phase"]

_NUM = r"(-?[\d,]+(?:\.\d+)?(?:[eE][-+]?\d+)?)"
_BEST = re.compile(rf"\bbest {_NUM}")
_BOUND = re.compile(rf"\bbound {_NUM}")
_ITER_BOUND = re.compile(rf"\bbound, iteration \d+: {_NUM}")
_KIND = re.compile(r"[:\d,.]+.*$|\s+\d+$")


def _num(text: str) -> float:
    return float(text.replace(",", ""))


def parse_phase(phase: str) -> dict[str, Any]:
    """A progress report of one phase description.

    Returns
    -------
    dict
        ``phase`` (the text), ``kind`` (the text without its numbers, to tell a new phase from
        another iteration of the same one), ``best_objective`` and ``bound`` (floats or None).

    Examples
    --------
    >>> r = parse_phase("warehouse set 3: best 1,234,567, bound 1,200,000")
    >>> r["kind"], r["best_objective"], r["bound"]
    ('warehouse set', 1234567.0, 1200000.0)
    >>> parse_phase("Lagrangian bound, iteration 200: 1,190,000")["bound"]
    1190000.0
    >>> parse_phase("compiling the lane network")["best_objective"] is None
    True
    """
    best = _BEST.search(phase)
    bound = _BOUND.search(phase) or _ITER_BOUND.search(phase)
    kind = _KIND.sub("", phase).strip(" ,:") or phase
    return {
        "phase": phase,
        "kind": kind,
        "best_objective": _num(best.group(1)) if best else None,
        "bound": _num(bound.group(1)) if bound else None,
    }
