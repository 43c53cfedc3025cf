"""The VRP instance: locations, clients, fleet (plain numbers and numpy arrays, no OR-Tools).

Locations ``0 .. L-1``: the first ``num_depots`` are depots, the rest are clients (orders), so
client ``c`` (0-based) sits at location ``num_depots + c``.

- ``distance[L, L]``: travel distance (instance units: km, or the benchmark's unit);
- ``duration[L, L]``: travel time (hours, or the benchmark's time unit); ``None`` = ``distance``
  (Solomon's convention: travel time equals distance);
- per client ``c``: ``demand[c, d]`` in each capacity dimension ``d`` (e.g. kg and m³),
  ``service[c]`` service time, ``tw_early[c] .. tw_late[c]`` window in which service must
  *start* (waiting before ``tw_early`` is allowed), ``drop_penalty[c]`` the cost of *not*
  routing the order (for tradelane: the parcel carrier's rate-card cost of handing it over;
  ``inf`` = the order is mandatory), ``client_ids[c]`` its label in the instance's numbering;
- ``vehicle_types``: a heterogeneous fleet (``VehicleType``: count, capacity per dimension,
  start/end depot, fixed cost per vehicle used, cost per distance unit and per hour of travel
  and service, maximum route duration, shift start/end on the routing clock);
- ``promise_due[c]`` (optional): the order's promise deadline, used only to *report* its
  slack (``promise_due - start``) when it differs from the hard window, e.g. an order already
  past its promise that the VRP serves without a deadline (``tw_late = inf``) still reports
  its negative slack; ``None`` = ``tw_late``.

``promise_due_times`` derives a client's latest service time from the 72-hour promise:
``order time + promise - hours already spent upstream`` (see its docstring).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from optimizer.exceptions import InvalidNetworkError

__all__ = ["INF", "F", "RoutingError", "RoutingInstance", "VehicleType", "promise_due_times"]

F = npt.NDArray[np.float64]
INF = math.inf


class RoutingError(InvalidNetworkError):
    """Invalid routing input (names the offending item); a ``ValueError``."""


@dataclass(frozen=True, slots=True)
class VehicleType:
    """A group of identical vehicles.

    Attributes
    ----------
    count : int
        Vehicles of this type available.
    capacity : tuple of float
        Capacity per dimension (same order as ``RoutingInstance.dimension_names``).
    start_depot, end_depot : int
        Depot index (``0 .. num_depots-1``) where routes start and end; ``end_depot=None`` means
        the start depot.
    fixed_cost : float
        Cost of using one vehicle (paid once per non-empty route).
    cost_per_distance : float
        Cost per distance unit travelled (1 for the standard benchmarks).
    cost_per_hour : float
        Cost per time unit of travel and service on the route (waiting is not charged: a
        span cost makes OR-Tools' move filters solve an LP per route, far too slow on large
        days).
    max_duration : float
        Longest route (time units); ``inf`` = no limit.
    shift_start, shift_end : float
        Earliest departure and latest return on the routing clock.
    name : str
        Display name.
    """

    count: int
    capacity: tuple[float, ...]
    start_depot: int = 0
    end_depot: int | None = None
    fixed_cost: float = 0.0
    cost_per_distance: float = 1.0
    cost_per_hour: float = 0.0
    max_duration: float = INF
    shift_start: float = 0.0
    shift_end: float = INF
    name: str = ""

    def __post_init__(self) -> None:
        who = f"vehicle type {self.name or '?'!r}"
        if self.count < 0:
            raise RoutingError(f"{who}: count < 0 not understood.")
        if any(not (c >= 0) for c in self.capacity):
            got = ", ".join(f"{float(c):g}" for c in self.capacity)
            raise RoutingError(f"{who}: capacity must be >= 0, got ({got}).")
        for attr in ("fixed_cost", "cost_per_distance", "cost_per_hour", "max_duration"):
            v = getattr(self, attr)
            if not (v >= 0):
                raise RoutingError(f"{who}: {attr} < 0 not understood.")
        if not (self.shift_end >= self.shift_start):
            raise RoutingError(f"{who}: shift_end < shift_start.")

    @property
    def end(self) -> int:
        """The end depot (the start depot when ``end_depot`` is None)."""
        return self.start_depot if self.end_depot is None else self.end_depot


def _ro(a: npt.ArrayLike, dtype: Any = np.float64) -> Any:
    arr = np.array(a, dtype=dtype)
    arr.flags.writeable = False
    return arr


@dataclass(frozen=True)
class RoutingInstance:
    """A VRP instance (see the module docstring for the layout and units).

    Use ``RoutingInstance.build(...)`` to construct one from plain arrays; it fills defaults,
    converts to read-only numpy arrays and validates.
    """

    name: str
    distance: F
    duration: F
    num_depots: int
    demand: F
    service: F
    tw_early: F
    tw_late: F
    drop_penalty: F
    vehicle_types: tuple[VehicleType, ...]
    client_ids: tuple[Any, ...]
    dimension_names: tuple[str, ...] = ("demand",)
    coords: F | None = None
    distance_convention: str = "matrix"
    depot_ids: tuple[Any, ...] = ()
    meta: dict[str, Any] = field(default_factory=dict, compare=False)
    promise_due: F | None = None

    @property
    def due(self) -> F:
        """Each client's promise deadline for the reported slack (``promise_due``, or
        ``tw_late`` when none is given); ``inf`` = no deadline."""
        return self.tw_late if self.promise_due is None else self.promise_due

    @classmethod
    def build(
        cls,
        name: str,
        distance: npt.ArrayLike,
        *,
        num_depots: int = 1,
        vehicle_types: tuple[VehicleType, ...] | list[VehicleType],
        demand: npt.ArrayLike | None = None,
        duration: npt.ArrayLike | None = None,
        service: npt.ArrayLike | None = None,
        tw_early: npt.ArrayLike | None = None,
        tw_late: npt.ArrayLike | None = None,
        drop_penalty: npt.ArrayLike | None = None,
        client_ids: tuple[Any, ...] | list[Any] | None = None,
        depot_ids: tuple[Any, ...] | list[Any] | None = None,
        dimension_names: tuple[str, ...] | None = None,
        coords: npt.ArrayLike | None = None,
        distance_convention: str = "matrix",
        meta: dict[str, Any] | None = None,
        promise_due: npt.ArrayLike | None = None,
    ) -> RoutingInstance:
        """Build and validate an instance; omitted client arrays get neutral defaults.

        Parameters
        ----------
        name : str
            Instance name.
        distance : array (L, L)
            Distance matrix over depots then clients.
        num_depots : int
            Number of depots (the first locations).
        vehicle_types : sequence of VehicleType
            The fleet.
        demand : array (C,) or (C, D), optional
            Demand per client and dimension (default 0).
        duration : array (L, L), optional
            Travel times (default: ``distance``).
        service, tw_early, tw_late, drop_penalty : array (C,), optional
            Defaults 0, 0, inf, inf (no window, mandatory).
        client_ids, depot_ids : sequence, optional
            Labels (default: location numbers).
        dimension_names : tuple of str, optional
            Names of the capacity dimensions.
        coords : array (L, 2), optional
            Coordinates (for plots and re-checks).
        distance_convention : str
            How ``distance`` was made (``exact``, ``nint``, ``trunc1``, ``geodesic``, ``matrix``).
        meta : dict, optional
            Free-form facts about the instance (e.g. ``time_unit``, ``clock``).
        promise_due : array (C,), optional
            Promise deadlines for the reported slack (default: ``tw_late``); may be negative
            (already missed) or ``inf`` (none).

        Returns
        -------
        RoutingInstance

        Raises
        ------
        RoutingError
            Shapes disagree, negative values, windows that close before they open, depot
            indices out of range.
        """
        dist = np.asarray(distance, dtype=np.float64)
        n_loc = dist.shape[0] if dist.ndim == 2 else -1
        n_cli = n_loc - num_depots
        if demand is None:
            dem = np.zeros((max(n_cli, 0), 1))
        else:
            dem = np.asarray(demand, dtype=np.float64)
            if dem.ndim == 1:
                dem = dem[:, None]
        ndim = dem.shape[1] if dem.ndim == 2 else 1
        vts = tuple(vehicle_types)
        if dimension_names is None:
            dimension_names = ("demand",) if ndim == 1 else tuple(f"dim{i}" for i in range(ndim))

        def vec(x: npt.ArrayLike | None, default: float) -> F:
            if x is None:
                return np.full(max(n_cli, 0), default)
            return np.asarray(x, dtype=np.float64)

        inst = cls(
            name=name,
            distance=_ro(dist),
            duration=_ro(dist if duration is None else duration),
            num_depots=int(num_depots),
            demand=_ro(dem),
            service=_ro(vec(service, 0.0)),
            tw_early=_ro(vec(tw_early, 0.0)),
            tw_late=_ro(vec(tw_late, INF)),
            drop_penalty=_ro(vec(drop_penalty, INF)),
            vehicle_types=vts,
            client_ids=tuple(client_ids)
            if client_ids is not None
            else tuple(range(num_depots, num_depots + max(n_cli, 0))),
            depot_ids=tuple(depot_ids) if depot_ids is not None else tuple(range(num_depots)),
            dimension_names=tuple(dimension_names),
            coords=None if coords is None else _ro(coords),
            distance_convention=distance_convention,
            meta=dict(meta or {}),
            promise_due=None if promise_due is None else _ro(promise_due),
        )
        inst.validate()
        return inst

    # -- derived ---------------------------------------------------------------------------
    @property
    def num_locations(self) -> int:
        """Depots plus clients."""
        return int(self.distance.shape[0])

    @property
    def num_clients(self) -> int:
        """Number of clients (orders)."""
        return self.num_locations - self.num_depots

    @property
    def num_vehicles(self) -> int:
        """Total vehicles over all types."""
        return sum(vt.count for vt in self.vehicle_types)

    def validate(self) -> None:
        """Check shapes and values; raise ``RoutingError`` naming the first offending item."""
        n = self.distance.shape[0] if self.distance.ndim == 2 else -1
        if self.distance.ndim != 2 or self.distance.shape != (n, n):
            raise RoutingError(f"{self.name}: distance must be square, got {self.distance.shape}.")
        if self.duration.shape != (n, n):
            raise RoutingError(f"{self.name}: duration shape {self.duration.shape} != {(n, n)}.")
        if not 1 <= self.num_depots <= n:
            raise RoutingError(f"{self.name}: num_depots={self.num_depots} not in 1..{n}.")
        c = n - self.num_depots
        if self.demand.ndim != 2 or self.demand.shape[0] != c:
            raise RoutingError(
                f"{self.name}: demand must have one row per client ({c}), "
                f"got shape {self.demand.shape}."
            )
        for nm in ("service", "tw_early", "tw_late", "drop_penalty"):
            if getattr(self, nm).shape != (c,):
                raise RoutingError(
                    f"{self.name}: {nm} must have {c} entries, got shape {getattr(self, nm).shape}."
                )
        if self.promise_due is not None and (
            self.promise_due.shape != (c,) or np.isnan(self.promise_due).any()
        ):
            raise RoutingError(
                f"{self.name}: promise_due must have {c} numbers, got shape "
                f"{self.promise_due.shape}."
            )
        if len(self.client_ids) != c:
            raise RoutingError(f"{self.name}: {len(self.client_ids)} client ids for {c} clients.")
        if len(self.dimension_names) != self.demand.shape[1]:
            raise RoutingError(
                f"{self.name}: {len(self.dimension_names)} dimension names for "
                f"{self.demand.shape[1]} demand dimensions."
            )
        for nm, arr in (("distance", self.distance), ("duration", self.duration)):
            bad = np.argwhere(~(arr >= 0) | ~np.isfinite(arr))
            if len(bad):
                i, j = bad[0]
                raise RoutingError(
                    f"{self.name}: {nm}[{i}, {j}] = {float(arr[i, j]):g} must be finite and >= 0."
                )
        for nm in ("demand", "service", "tw_early", "drop_penalty"):
            arr = getattr(self, nm)
            bad = np.argwhere(~(arr >= 0))
            if len(bad):
                k = int(bad[0][0])
                raise RoutingError(
                    f"{self.name}: client {self.client_ids[k]!r}: {nm} must be "
                    f">= 0, got {float(arr[tuple(bad[0])]):g}."
                )
        late = np.flatnonzero(~(self.tw_late >= self.tw_early))
        if len(late):
            k = int(late[0])
            raise RoutingError(
                f"{self.name}: client {self.client_ids[k]!r}: time window closes "
                f"({self.tw_late[k]:g}) before it opens ({self.tw_early[k]:g})."
            )
        if not self.vehicle_types:
            raise RoutingError(f"{self.name}: no vehicle types.")
        for t, vt in enumerate(self.vehicle_types):
            who = f"{self.name}: vehicle type {vt.name or t!r}"
            if len(vt.capacity) != self.demand.shape[1]:
                raise RoutingError(
                    f"{who}: {len(vt.capacity)} capacities for "
                    f"{self.demand.shape[1]} demand dimensions."
                )
            for d in (vt.start_depot, vt.end):
                if not 0 <= d < self.num_depots:
                    raise RoutingError(f"{who}: depot {d} not in 0..{self.num_depots - 1}.")


def promise_due_times(
    order_time: npt.ArrayLike,
    *,
    promise_hours: float = 72.0,
    upstream_hours: npt.ArrayLike = 0.0,
) -> F:
    """Latest delivery time of each order under the promise, on the routing clock.

    ``due = order_time + promise_hours - upstream_hours``: ``order_time`` is when the order
    reaches the last mile (is ready at the depot) on the routing clock, and ``upstream_hours``
    are the hours of the promise already spent before that (placing to ready: warehouse
    processing, cut-off wait, linehaul and customs for direct parcels).

    Parameters
    ----------
    order_time : array_like
        Ready time at the depot on the routing clock (hours).
    promise_hours : float
        The promise, order to door (72 h).
    upstream_hours : array_like
        Hours already spent since the order was placed.

    Returns
    -------
    numpy.ndarray
        Due times (hours, routing clock). Negative values mean the promise is already missed.

    Examples
    --------
    >>> promise_due_times([0.0, 2.0], upstream_hours=[60.0, 12.0]).tolist()
    [12.0, 62.0]
    """
    if promise_hours < 0:
        raise RoutingError("promise_hours < 0 not understood.")
    up = np.asarray(upstream_hours, dtype=np.float64)
    if np.any(up < 0):
        raise RoutingError("upstream_hours < 0 not understood.")
    return np.asarray(order_time, dtype=np.float64) + promise_hours - up
