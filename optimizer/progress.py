"""Progress reports of a long solve: the callback type the planner and the solvers call.

A solve reports each phase as a short text (``"solving flows for the greedy warehouse set"``);
a phase that knows the figures of the moment passes them as numbers too, the best objective
found so far (``best``) and the best proven lower bound (``bound``). The service shows both in
``GET /v1/plans/{id}`` and the console; the CLI prints the text.
"""

from __future__ import annotations

from typing import Protocol

__all__ = ["PhaseReport", "quiet"]


class PhaseReport(Protocol):
    """Called as a solve advances (the text, and the figures when the phase has them)."""

    def __call__(
        self, phase: str, /, *, best: float | None = None, bound: float | None = None
    ) -> None: ...


def quiet(phase: str, /, *, best: float | None = None, bound: float | None = None) -> None:
    """A :class:`PhaseReport` that reports nothing (the default when no one listens)."""
    del phase, best, bound
