"""The pieces a benchmark family is made of: ``Family``, ``SolveOutput``, ``Evaluation``.

A family is a frozen bundle of plain functions, so the runner's child process can import it by
name (``"solomon"``) or by a ``"module:attribute"`` spec (how the tests plug in toy families) and
nothing has to be pickled.

Contract of the functions
-------------------------
``read(path) -> instance``
    Parse one instance file (any object; it is passed back to the solvers and the evaluator).
``solvers[name](instance, *, time_limit, seed, params) -> SolveOutput``
    Solve within ``time_limit`` seconds with ``params`` (a plain mapping from the configuration
    TOML). ``SolveOutput.solution`` is family-specific and only the evaluator reads it.
``evaluate(instance, solution) -> Evaluation``
    The independent re-check: recomputes the cost and feasibility without the solver.
``best_known(path) -> float | None``
    The best-known value for the instance under the convention the evaluator uses.
"""

from __future__ import annotations

import csv
import functools
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from benchmarks.suite.report import natural_key

__all__ = ["Evaluation", "Family", "SolveOutput", "read_bks_csv"]


@dataclass(frozen=True)
class SolveOutput:
    """What a solver hands back to the worker.

    Attributes
    ----------
    solution : Any
        Family-specific solution; only ``Family.evaluate`` reads it. ``None`` = no solution.
    samples : tuple of (float, float)
        ``(seconds since the solve started, cost)`` of improving solutions, when the solver
        exposes them (for the gap-over-time plot). Costs here are the solver's own figures.
    info : mapping
        Extra JSON-serialisable figures recorded in the row (status, bound, vehicles, ...).
    """

    solution: Any
    samples: tuple[tuple[float, float], ...] = ()
    info: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Evaluation:
    """The independent evaluator's verdict on a solution.

    Attributes
    ----------
    cost : float or None
        Recomputed cost (``None`` when there is no solution).
    feasible : bool
        True when every constraint holds.
    detail : str
        The first violations, or why there is no cost.
    """

    cost: float | None
    feasible: bool
    detail: str = ""


@dataclass(frozen=True)
class Family:
    """An instance family: finding, reading, solving and checking its instances.

    Attributes
    ----------
    name : str
        Family name as written in result rows.
    kind : str
        ``"routing"`` or ``"allocation"``: selects the tuning search space and the TOML table
        (``[routing]`` / ``[allocation]``) that configurations are read from.
    patterns : tuple of str
        Glob patterns of instance files inside the ``--instances`` folder.
    read : callable
        ``read(path) -> instance``.
    evaluate : callable
        ``evaluate(instance, solution) -> Evaluation``.
    solvers : mapping of str to callable
        Solver name -> ``solve(instance, *, time_limit, seed, params) -> SolveOutput``.
    default_solver : str
        Our solver (what ``--config`` files tune).
    peers : tuple of str
        Solvers run beside ours on the same instances and limits (peer rows).
    best_known : callable
        ``best_known(path) -> float | None``.
    instance_name : callable
        ``instance_name(path) -> str``, the name in result rows (default: the file stem).
    check_params : callable or None
        ``check_params(params)`` raises ValueError or TypeError naming a parameter the default
        solver does not take, or a bad value, so that a configuration is refused before any
        solve (None: no check).
    prepare : mapping of str to callable
        Solver name -> ``prepare()``, called in the solve's process after reading and before
        its clock starts (loads the solver's library, so that no side's time includes an
        import the other side made while reading).
    check_instance : callable or None
        ``check_instance(path)`` raises ValueError naming a bad instance file (e.g. a day spec
        with an unknown key) when the tasks are built, before any solve (None: files are only
        read by the solves, where a bad one is an error row). The routing families read each
        file, ``cflp`` parses it; ``synthetic`` has none (an XL scenario takes long to load).
    """

    name: str
    kind: str
    patterns: tuple[str, ...]
    read: Callable[[Path], Any]
    evaluate: Callable[[Any, Any], Evaluation]
    solvers: Mapping[str, Callable[..., SolveOutput]]
    default_solver: str
    peers: tuple[str, ...] = ()
    best_known: Callable[[Path], float | None] = lambda path: None
    instance_name: Callable[[Path], str] = lambda path: path.stem
    check_params: Callable[[Mapping[str, Any]], None] | None = None
    check_instance: Callable[[Path], None] | None = None
    prepare: Mapping[str, Callable[[], None]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.kind not in ("routing", "allocation"):
            raise ValueError(f"family {self.name!r}: kind {self.kind!r} not understood.")
        missing = [s for s in (self.default_solver, *self.peers) if s not in self.solvers]
        if missing:
            raise ValueError(f"family {self.name!r}: unknown solver(s) {', '.join(missing)}.")

    def instances(self, folder: Path) -> list[Path]:
        """Instance files of this family in ``folder`` (or ``folder`` itself if it is a file).

        In natural order of their names (``cap41`` before ``cap101``, ``X-n101`` before
        ``X-n1001``); a file matching several patterns appears once.
        """
        if folder.is_file():
            return [folder]
        found = {p for pat in self.patterns for p in folder.glob(pat) if p.is_file()}
        return sorted(found, key=lambda p: natural_key(self.instance_name(p)))


def read_bks_csv(path: Path) -> dict[str, float]:
    """``instance -> bks_value`` from a ``bks.csv`` (columns ``instance,bks_value,...``)."""
    return {r.name: r.value for r in _bks_rows(path)}


@dataclass(frozen=True)
class _BksRow:
    name: str
    value: float
    objective: str  # "" when the table has no ``objective`` column
    file: str  # "" when the table has no ``file`` column


def _bks_rows(path: Path) -> tuple[_BksRow, ...]:
    """The rows of a best-known table (cached while the file is unchanged)."""
    st = path.stat()
    return _bks_rows_of(path, st.st_mtime_ns, st.st_size)


@functools.lru_cache(maxsize=32)
def _bks_rows_of(path: Path, mtime_ns: int, size: int) -> tuple[_BksRow, ...]:
    with open(path, newline="") as fh:
        return tuple(
            _BksRow(
                name=r["instance"].strip(),
                value=float(r["bks_value"]),
                objective=(r.get("objective") or "").strip(),
                file=(r.get("file") or "").strip(),
            )
            for r in csv.DictReader(fh)
            if r.get("instance") and r.get("bks_value")
        )


_INSTANCE_SUFFIXES = (".txt", ".vrp")


def _norm(name: str) -> str:
    """An instance name for matching: case-folded, without a ``.txt``/``.vrp`` suffix."""
    n = name.strip().casefold()
    for suffix in _INSTANCE_SUFFIXES:
        if n.endswith(suffix):
            return n[: -len(suffix)]
    return n


BKS_SEARCH_DEPTH = 3
"""Folders searched for a best-known table: the instance's own and two above it (CVRPLIB keeps
``X/*.vrp`` one level and ``classic/A/*.vrp`` two levels under its ``bks.csv``)."""


def bks_lookup(
    path: Path,
    names: tuple[str, ...],
    key: str | None = None,
    *,
    objective: str | None = None,
) -> float | None:
    """The best-known value of the instance at ``path``, from the first table that lists it.

    Tables named ``names`` are searched in the instance's folder and up to two folders above
    it (``BKS_SEARCH_DEPTH``). A row is the instance's when its ``instance`` equals ``key``
    (default: the file stem), or, failing an exact match, equals it ignoring case and a
    ``.txt``/``.vrp`` suffix (one such row only). A row is refused when

    - the table has a ``file`` column naming another file (another suffix or name), or
    - its ``objective`` column is filled in and differs from ``objective`` (a table without
      that column is taken to hold the family's objective, as the table's name says). A value
      of another objective (e.g. a hierarchical vehicles-first best-known value for a
      distance-only solver) is no best-known value.

    Returns ``None`` when no table lists the instance under the wanted objective.
    """
    key = key or path.stem
    folders = [path.parent, *path.parent.parents][:BKS_SEARCH_DEPTH]
    for folder in folders:
        for name in names:
            table = folder / name
            if not table.is_file():
                continue
            rows = _bks_rows(table)
            match = [r for r in rows if r.name == key]
            if not match:
                match = [r for r in rows if _norm(r.name) == _norm(key)]
            if len(match) != 1:
                continue
            row = match[0]
            if row.file and Path(row.file).name.casefold() != path.name.casefold():
                continue
            if row.objective and row.objective != objective:
                continue
            return row.value
    return None
