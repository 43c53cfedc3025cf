"""Search parameters of the routing solver (``RoutingParams``) and their choices.

The searches themselves are described in ``optimizer.routing.solve`` (which path runs when) and
``optimizer.routing.search`` (sweep start, ruin-and-recreate rounds).
"""

from __future__ import annotations

import dataclasses
import tomllib
import types
import typing
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from optimizer.limits import MAX_SEED
from optimizer.routing.instance import RoutingError

__all__ = [
    "DECOMPOSE_ABOVE",
    "FIRST_SOLUTIONS",
    "ILS_RECREATES",
    "ILS_RUINS",
    "LNS_ROUNDS",
    "METAHEURISTICS",
    "SAFETY_TIME_LIMIT_S",
    "SEARCHES",
    "SWEEP_ABOVE",
    "RoutingParams",
]

SWEEP_ABOVE = 400
"""``first_solution="auto"`` switches from parallel cheapest insertion to the sweep above this
many clients: OR-Tools' insertion heuristics did not finish a 2,000-order day within 60 s."""
LNS_ROUNDS = 40
"""Default ruin-and-recreate rounds (``RoutingParams.lns_rounds=None``)."""
DECOMPOSE_ABOVE = 400
"""``decompose="auto"`` solves instances above this many clients by decomposition (the single
model's search does not scale: 18 % gap on X-n1001 at 30 s, see benchmarks/README.md)."""
SAFETY_TIME_LIMIT_S = 120.0
"""Time limit of a run stopped by ``solution_limit`` only (see ``model.search_parameters``)."""

FIRST_SOLUTIONS = (
    "auto",
    "sweep",
    "parallel_cheapest_insertion",
    "local_cheapest_insertion",
    "savings",
    "path_cheapest_arc",
    "christofides",
    "sequential_cheapest_insertion",
    "automatic",
    "global_cheapest_arc",
    "best_insertion",
)
METAHEURISTICS = ("gls", "tabu", "annealing", "greedy", "automatic")
SEARCHES = ("auto", "ils", "lns")
ILS_RUINS = ("sisr", "random_walk", "routes", "sisr+random_walk")
ILS_RECREATES = (
    "local_cheapest_insertion",
    "parallel_cheapest_insertion",
    "local_cheapest_cost_insertion",
    "sequential_cheapest_insertion",
)


def _choice(name: str, value: Any, choices: tuple[str, ...]) -> None:
    """Raise ``RoutingError`` naming the parameter when ``value`` is not one of ``choices``."""
    if value not in choices:
        raise RoutingError(f"{name} {value!r} not understood; one of {', '.join(choices)}.")


def _toml_kind(hint: Any) -> str | None:
    """What a TOML value of a field annotated ``hint`` must be, in words; None when any value
    will do (the field's own check decides)."""
    args = [a for a in typing.get_args(hint) if a is not type(None)]
    if typing.get_origin(hint) in (typing.Union, types.UnionType):
        return " or ".join(k for k in map(_toml_kind, args) if k) or None
    if typing.get_origin(hint) is tuple:
        return f"a list of {len(args)} numbers"
    return {bool: "true or false", int: "a whole number", float: "a number", str: "a string"}.get(
        hint
    )


def _fits(value: Any, hint: Any) -> bool:
    """Whether a TOML value has the type of a field annotated ``hint`` (``true`` is no
    number, ``1.5`` no whole number)."""
    args = typing.get_args(hint)
    if typing.get_origin(hint) in (typing.Union, types.UnionType):
        return any(_fits(value, a) for a in args)
    if typing.get_origin(hint) is tuple:
        return (
            isinstance(value, list | tuple)
            and len(value) == len(args)
            and all(_fits(v, a) for v, a in zip(value, args, strict=True))
        )
    if hint is bool:
        return isinstance(value, bool)
    if hint is int:
        return isinstance(value, int) and not isinstance(value, bool)
    if hint is float:
        return isinstance(value, int | float) and not isinstance(value, bool)
    if hint is str:
        return isinstance(value, str)
    return hint is type(None) and value is None


@dataclass(frozen=True, slots=True)
class RoutingParams:
    """Search parameters.

    How the defaults were chosen (the measurements behind each choice) is in
    benchmarks/README.md, "Routing parameters: tuning history".

    Attributes
    ----------
    time_limit_s : float or None
        Wall-clock limit of the whole call; None = stop by ``solution_limit`` (then a safety
        limit of ``SAFETY_TIME_LIMIT_S`` still applies: guided local search never stops by
        itself on instances whose neighbourhoods are exhausted).
    solution_limit : int or None
        Stop after this many solutions (time-independent, deterministic stop).
    seed : int
        Client-order permutation seed (0 = instance order).
    first_solution : str
        First-solution heuristic: ``auto`` (parallel cheapest insertion up to
        ``SWEEP_ABOVE`` clients, ``sweep`` above), ``sweep`` (our own angular sweep built in
        Python, feasible by construction and O(n log n), handed to OR-Tools as the start of the
        local search), or an OR-Tools strategy (``parallel_cheapest_insertion``, ``savings``,
        ...).
    metaheuristic : str
        ``gls`` (guided local search), ``tabu``, ``annealing``, ``greedy`` or ``automatic``.
    gls_lambda : float
        Guided local search penalty coefficient.
    neighbors : int
        Nearest-neighbour count used by the first-solution heuristics (savings, cheapest
        insertion); 0 = all. Without it the first solution of a 2,000-order day does not
        finish within a minute.
    lns_rounds : int or None
        Ruin-and-recreate rounds after the first search of the ``lns`` path (0 = off; None =
        auto: ``LNS_ROUNDS`` with a time limit and at most ``SWEEP_ABOVE`` clients, else off).
        Each round removes ``lns_share`` of the clients from the best routes (see
        ``lns_removal``) and lets the search re-insert and improve them; the time limit is split
        evenly over the first search and the rounds (see ``lns_first_share``).
    lns_share : float
        Share of clients removed per round.
    lns_removal : str
        ``string`` (default; SISR-like: walking outwards from a random client, remove a random
        string of up to 10 consecutive clients containing the nearest client of each route not
        yet touched, until ``lns_share`` of the clients are removed) or ``radial`` (a random
        client and its nearest ``lns_share`` of clients).
    lns_accept : float
        Record-to-record acceptance: a round's result becomes the next round's start when it is
        within ``lns_accept`` (relative) of the best, the threshold shrinking linearly to 0 by
        the end; 0 (default) = only improvements (the best is kept in every case).
    lns_meta : str or None
        Metaheuristic of the rounds (None = ``metaheuristic``); with ``greedy`` a round ends at
        its local optimum instead of its time slice.
    lns_first_share : float or None
        Share of the time given to the first search (None = an even split with the rounds).
    search : str
        ``auto`` (default): ``ils`` whenever the first solution is an OR-Tools strategy (up to
        ``SWEEP_ABOVE`` clients with ``first_solution="auto"``), else ``lns`` (the sweep start
        of large days, which OR-Tools' ILS cannot take). ``ils``: OR-Tools' own iterated local
        search (``SolveWithIteratedLocalSearch``: ruin and recreate inside C++, each perturbed
        solution taken to its local optimum by a greedy descent, simulated-annealing
        acceptance), for ``ils_time_share`` of the time, then ``metaheuristic`` from its best
        solution for the rest (guided local search removes routes the ILS keeps, e.g. on C2
        instances). ``lns``: the first search plus our Python-driven ruin-and-recreate rounds
        (``lns_*``).
    ils_ruin : str
        Ruin of the ILS: ``sisr`` (default; SISR string removal, Christiaens and Vanden Berghe
        2020), ``random_walk``, ``routes`` (whole routes near a random client) or
        ``sisr+random_walk`` (one of the two at random in each iteration).
    ils_removed : int or None
        Clients removed per ruin on average (SISR's c-bar; random walk: exactly this many;
        ``routes``: ``ils_removed // 5`` routes); None (default) = 10 % of the clients, at
        least 10 and at most 40.
    ils_max_string : int
        Longest string SISR removes from one route (L-max).
    ils_acceptance : str
        When a perturbed and re-optimised solution replaces the reference solution:
        ``annealing`` (default; simulated annealing) or ``greedy`` (improvements only).
    ils_temperature : (float, float) or None
        Initial and final annealing temperature as fractions of the mean arc cost between
        clients (cooling is exponential over the time limit); None = OR-Tools' automatic
        temperatures. Relative temperatures make one setting fit every distance unit.
    ils_recreate : str
        Insertion heuristic that re-inserts the removed clients (an OR-Tools first-solution
        strategy; default ``local_cheapest_insertion``).
    ils_time_share : float
        Share of the time limit for the ILS (1 = all of it); the rest goes to
        ``metaheuristic`` starting from the ILS's best solution.
    ils_operators : str
        Local-search operators of the ILS's descent: ``fast`` (default) switches off OR-Tools'
        insertion-heuristic LNS operators and the pickup-and-delivery, visit-type and
        inactive-chain operators (``optimizer.routing.model.SLOW_OPERATORS``: each of their
        moves re-runs an insertion heuristic, so the ILS makes far fewer iterations); ``all``
        keeps OR-Tools' defaults.
    log_search : bool
        Let OR-Tools log its search (to stderr).
    decompose : str
        ``auto`` (default): one model up to ``decompose_above`` clients, the decomposition
        (``optimizer.routing.decompose``) above; ``never``; ``always``.
    decompose_above : int
        Client count above which ``auto`` decomposes.
    sub_clients : int
        Target clients per subproblem of the decomposition (the size OR-Tools' ILS handles
        well: 100-200).
    sub_time_s : float
        Time limit of one improving subproblem's solve (timed runs).
    sub_first_solution : str
        First-solution heuristic of every subproblem (a ``first_solution`` value; default
        ``savings``: on 150-client subproblems of a generated day the ILS from Clarke-Wright
        savings ended 5 % below the one from parallel cheapest insertion at 3 s, see
        benchmarks/README.md).
    sector_time_share : float
        Share of the time limit for the first solution by sectors (each sector's solve gets
        its wave's part of it, not capped by ``sub_time_s``); the improving subproblems get the
        rest.
    sub_warm_start : float or None
        Share of the POPMUSIC subproblems re-optimised from their current routes (guided
        local search and ruin and recreate, never worse than those routes) instead of by the
        ILS from scratch: 0 = all from scratch (the second pass), 1 = all warm (``True`` /
        ``False`` read as 1 / 0); None (default) = 0.5 (alternating) where capacity does not
        bind and 0 where a subproblem holds two vehicles' worth of demand or more
        (``optimizer.routing.decompose``). See benchmarks/README.md.
    warm_clients : int
        Target clients of a warm-started POPMUSIC subproblem (at least ``MIN_ROUTES`` routes):
        smaller than ``sub_clients``, as the rounds of ruin and recreate do better on three
        routes than on a sector's worth.
    elim_neighbours : int
        Routes added to a short route in a route elimination (0 = no eliminations).
    elim_below : float
        A route is short, and tried once for elimination, when it has fewer clients than this
        times the mean clients per route.
    shift_time_share : float
        Share of the time left after the sectors given to ``shift_passes`` passes of
        **rotated sectors** before the improvement rounds (0 = none). The first pass regroups
        the routes across each cut between two sectors (the later half of one sector's routes,
        by angle, with the earlier half of the next's), the second the sectors themselves with
        the routes they now hold, and so on alternately; every group of a pass is re-solved
        at the same time and kept where cheaper. POPMUSIC's groups of nearest routes mostly
        fall inside one sector, so they seldom move a cut (benchmarks/README.md, "Routing at
        day size, fourth pass").
    shift_warm : bool
        Whether the rotated sectors are re-optimised from their current routes (default;
        never worse: guided local search and ruin-and-recreate rounds) or by the ILS from
        scratch.
    shift_passes : int
        Passes of rotated sectors (their time split evenly).
    decompose_rounds : int or None
        Batches of improving subproblems at most; None = until the time is up, or, without a
        time limit (the deterministic mode), as many as the initial sectors.
    workers : int
        Subproblems solved at the same time (local processes; 1 = in this process).
    executor_address : str or None
        A Dask scheduler address (or ``local``): subproblems go to that cluster instead of
        local processes (``optimizer.executor.make_executor``; None also honours
        ``TRADELANE_DASK_ADDRESS``).
    """

    time_limit_s: float | None = 10.0
    solution_limit: int | None = None
    seed: int = 0
    first_solution: str = "auto"
    metaheuristic: str = "gls"
    gls_lambda: float = 0.1
    neighbors: int = 0
    lns_rounds: int | None = None
    lns_share: float = 0.1
    lns_removal: str = "string"
    lns_accept: float = 0.0
    lns_meta: str | None = None
    lns_first_share: float | None = None
    search: str = "auto"
    ils_ruin: str = "sisr"
    ils_removed: int | None = None
    ils_max_string: int = 10
    ils_acceptance: str = "annealing"
    ils_temperature: tuple[float, float] | None = (0.1, 0.001)
    ils_recreate: str = "local_cheapest_insertion"
    ils_time_share: float = 0.7
    ils_operators: str = "fast"
    log_search: bool = False
    decompose: str = "auto"
    decompose_above: int = DECOMPOSE_ABOVE
    sub_clients: int = 150
    sub_time_s: float = 3.0
    sub_first_solution: str = "savings"
    sector_time_share: float = 0.6
    shift_time_share: float = 0.8
    shift_warm: bool = True
    shift_passes: int = 2
    sub_warm_start: float | None = None
    warm_clients: int = 100
    elim_neighbours: int = 2
    elim_below: float = 0.75
    decompose_rounds: int | None = None
    workers: int = 2
    executor_address: str | None = None

    def __post_init__(self) -> None:
        if self.time_limit_s is not None and not self.time_limit_s > 0:
            raise RoutingError(f"time_limit_s must be > 0 seconds, got {self.time_limit_s!r}.")
        if self.solution_limit is not None and self.solution_limit < 1:
            raise RoutingError(f"solution_limit must be >= 1, got {self.solution_limit!r}.")
        if self.time_limit_s is None and self.solution_limit is None:
            raise RoutingError("give time_limit_s or solution_limit (or both).")
        _choice("first_solution", self.first_solution, FIRST_SOLUTIONS)
        _choice("metaheuristic", self.metaheuristic, METAHEURISTICS)
        if not 0 <= self.seed <= MAX_SEED:
            raise RoutingError(f"seed must be from 0 to {MAX_SEED}, got {self.seed!r}.")
        if self.neighbors < 0:
            raise RoutingError(f"neighbors must be >= 0, got {self.neighbors!r}.")
        if (self.lns_rounds is not None and self.lns_rounds < 0) or not 0 < self.lns_share < 1:
            raise RoutingError("lns_rounds >= 0 and 0 < lns_share < 1 needed.")
        if not self.gls_lambda > 0:
            raise RoutingError(f"gls_lambda must be > 0, got {self.gls_lambda!r}.")
        _choice("lns_removal", self.lns_removal, ("radial", "string"))
        if not self.lns_accept >= 0:
            raise RoutingError(f"lns_accept must be >= 0, got {self.lns_accept!r}.")
        if self.lns_meta is not None:
            _choice("lns_meta", self.lns_meta, METAHEURISTICS)
        if self.lns_first_share is not None and not 0 < self.lns_first_share < 1:
            raise RoutingError("0 < lns_first_share < 1 needed.")
        _choice("search", self.search, SEARCHES)
        _choice("ils_ruin", self.ils_ruin, ILS_RUINS)
        if (self.ils_removed is not None and self.ils_removed < 1) or self.ils_max_string < 1:
            raise RoutingError("ils_removed >= 1 and ils_max_string >= 1 needed.")
        _choice("ils_acceptance", self.ils_acceptance, ("annealing", "greedy"))
        if self.ils_temperature is not None:
            t = tuple(float(x) for x in self.ils_temperature)
            if len(t) != 2 or not t[0] >= t[1] > 0:
                raise RoutingError(
                    "ils_temperature must be (initial, final) with initial >= "
                    f"final > 0, got {self.ils_temperature!r}."
                )
            object.__setattr__(self, "ils_temperature", t)
        if not 0 < self.ils_time_share <= 1:
            raise RoutingError("0 < ils_time_share <= 1 needed.")
        _choice("ils_operators", self.ils_operators, ("all", "fast"))
        _choice("ils_recreate", self.ils_recreate, ILS_RECREATES)
        _choice("decompose", self.decompose, ("auto", "never", "always"))
        if self.decompose_above < 0 or self.sub_clients < 2 or not self.sub_time_s > 0:
            raise RoutingError("decompose_above >= 0, sub_clients >= 2, sub_time_s > 0 needed.")
        _choice("sub_first_solution", self.sub_first_solution, FIRST_SOLUTIONS)
        if (
            self.sub_warm_start is not None and not 0 <= self.sub_warm_start <= 1
        ) or self.warm_clients < 2:
            raise RoutingError("0 <= sub_warm_start <= 1 and warm_clients >= 2 needed.")
        if self.elim_neighbours < 0 or not self.elim_below >= 0:
            raise RoutingError("elim_neighbours >= 0 and elim_below >= 0 needed.")
        if not 0 < self.sector_time_share < 1:
            raise RoutingError("0 < sector_time_share < 1 needed.")
        if not 0 <= self.shift_time_share < 1 or self.shift_passes < 0:
            raise RoutingError("0 <= shift_time_share < 1 and shift_passes >= 0 needed.")
        if self.decompose_rounds is not None and self.decompose_rounds < 0:
            raise RoutingError(f"decompose_rounds must be >= 0, got {self.decompose_rounds!r}.")
        if self.workers < 1:
            raise RoutingError(f"workers must be >= 1, got {self.workers!r}.")

    @classmethod
    def from_toml(cls, path: str | Path, **overrides: Any) -> RoutingParams:
        """Read parameters from a TOML file (top level or a ``[routing]`` table).

        Unknown keys and values of another type (``seed = 1.5``, ``time_limit_s = true``) raise
        ``RoutingError`` naming them (``sub_warm_start = true`` / ``false`` is read as 1 / 0);
        ``overrides`` (given keys only) win over the file.
        """
        with open(path, "rb") as fh:
            try:
                doc = tomllib.load(fh)
            except tomllib.TOMLDecodeError as e:
                raise RoutingError(f"{path}: not valid TOML: {e}") from None
        doc = doc.get("routing", doc)
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(doc) - names)
        if unknown:
            raise RoutingError(
                f"{path}: unknown routing parameter(s) {', '.join(unknown)}; "
                f"known: {', '.join(sorted(names))}."
            )
        # sub_warm_start = true / false is a share of 1 / 0, as in RoutingParams(...)
        if isinstance(doc.get("sub_warm_start"), bool):
            doc["sub_warm_start"] = float(doc["sub_warm_start"])
        # a value of another type would pass some checks and fail later, far from the file
        # (seed = 1.5: an internal error from numpy) or be taken silently (time_limit_s = true)
        hints = typing.get_type_hints(cls)
        for key, value in doc.items():
            if not _fits(value, hints[key]):
                shown = str(value).lower() if isinstance(value, bool) else repr(value)
                raise RoutingError(
                    f"{path}: {key} = {shown} is not {_toml_kind(hints[key]) or 'understood'}."
                )
        doc.update(overrides)
        try:
            return cls(**doc)
        except TypeError as e:
            raise RoutingError(f"{path}: {e}") from None
