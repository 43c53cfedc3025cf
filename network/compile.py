"""Compile a scenario and its lane graph into frozen numpy arrays for the optimiser.

``compile_network(scenario)`` runs the Pareto searches (inbound origin→warehouse, outbound
warehouse→zone, direct origin→zone) and returns a :class:`NetworkData` of read-only arrays.
Entities refer to each other by index: ``origins``, ``warehouses``, ``zones`` and ``skus`` are
tuples of ids whose order is the contract; ``lanes`` indexes every lane used by some option.

Format v1.1 state (:mod:`network.state`) is compiled too: tonight's inventory as *lots*
(``inv_*``: one per on-hand or in-transit quantity, with the day it is available at its
warehouse), ``transfer`` options (one per transfer lane between two warehouses), the returns
rates per SKU and zone country (``ret_*``) and each warehouse's returns handling cost. A previous
plan's stocking levels and warehouse use (``prev_*``) are attached by the optimiser (this layer
does not read plans). All are empty for a v1 document.

Per-SKU costs are not stored as dense ``(options × SKUs)`` matrices (100,000 SKUs would not
fit); :meth:`PathOptions.unit_cost` computes them for any SKU subset with one matrix product.
"""

from __future__ import annotations

import enum
import math
import time
from dataclasses import dataclass, field
from typing import Any

import networkx as nx
import numpy as np
import numpy.typing as npt
import pandas as pd

from network import attrs as A
from network.graph import build_graph
from network.indices import Index, as_index
from network.paths import (
    BASE_DIMS,
    ParetoPath,
    duty_countries,
    lane_vector,
    pareto_paths,
    sku_pareto_mask,
    vector_costs,
)
from network.scenario import Scenario, Service, WarehouseStatus

__all__ = ["LaneDim", "NetworkData", "PathOptions", "SkuData", "compile_network"]

F = npt.NDArray[np.float64]
I = npt.NDArray[np.int64]


def _ro(*arrays: np.ndarray) -> None:
    for a in arrays:
        a.flags.writeable = False


#: A capacity at least this large is unlimited (solvers treat such coefficients as infinite).
HUGE_CAPACITY = 1e15


@dataclass(frozen=True, slots=True)
class SkuData:
    """SKU attributes as arrays, indexed like ``NetworkData.skus``."""

    weight_kg: F
    volume_m3: F
    value: F
    demand_cv: F
    holding_per_unit_day: F  # capital cost of a unit in stock or pipeline, per day
    own_duty: F  # (K, C) SKU's own duty rate per duty country, NaN where none

    def __post_init__(self) -> None:
        k = len(self.weight_kg)
        for name in ("volume_m3", "value", "demand_cv", "holding_per_unit_day"):
            if getattr(self, name).shape != (k,):
                raise ValueError(f"{name} has shape {getattr(self, name).shape}, expected ({k},)")
        if self.own_duty.shape[0] != k:
            raise ValueError("own_duty rows do not match the SKU count")
        _ro(
            self.weight_kg,
            self.volume_m3,
            self.value,
            self.demand_cv,
            self.holding_per_unit_day,
            self.own_duty,
        )

    def take(self, idx: I) -> SkuData:
        """The SKUs at ``idx`` (a copy)."""
        return SkuData(
            self.weight_kg[idx].copy(),
            self.volume_m3[idx].copy(),
            self.value[idx].copy(),
            self.demand_cv[idx].copy(),
            self.holding_per_unit_day[idx].copy(),
            self.own_duty[idx].copy(),
        )


@dataclass(frozen=True, slots=True)
class PathOptions:
    """Options of one kind (inbound, outbound or direct), one row per Pareto path.

    ``src``/``dst`` index the source and destination entity tuples (origins→warehouses,
    warehouses→zones, origins→zones). ``hours`` include the source's handling/processing hours.
    ``vec`` holds the criteria vectors (see :mod:`network.paths`); ``lane_ptr``/``lane_idx``
    is a CSR incidence of options on ``NetworkData.lanes``.
    """

    src: I
    dst: I
    hours: F
    vec: F
    lane_ptr: I
    lane_idx: I

    def __post_init__(self) -> None:
        n = len(self.src)
        if self.dst.shape != (n,) or self.hours.shape != (n,) or self.vec.shape[0] != n:
            raise ValueError("option arrays disagree in length")
        if self.lane_ptr.shape != (n + 1,):
            raise ValueError("lane_ptr must have n + 1 entries")
        _ro(self.src, self.dst, self.hours, self.vec, self.lane_ptr, self.lane_idx)

    def __len__(self) -> int:
        return len(self.src)

    def lanes_of(self, i: int) -> I:
        """Lane indices of option ``i``, in path order."""
        return self.lane_idx[self.lane_ptr[i] : self.lane_ptr[i + 1]]

    def unit_cost(self, skus: SkuData) -> F:
        """Per-unit cost of every option for every SKU given, shape ``(n_options, n_skus)``."""
        return vector_costs(self.vec, skus.weight_kg, skus.volume_m3, skus.value, skus.own_duty)

    def pair(self) -> I:
        """A pair id per option (same ``(src, dst)`` → same id)."""
        if len(self.src) == 0:
            return np.zeros(0, dtype=np.int64)
        width = int(self.dst.max()) + 1
        return self.src * width + self.dst

    def pareto_mask(self, skus: SkuData, cost: F | None = None) -> npt.NDArray[np.bool_]:
        """``(n_options, n_skus)``: is the option (cost, hours)-Pareto for that SKU."""
        c = self.unit_cost(skus) if cost is None else cost
        return sku_pareto_mask(c, self.hours, self.pair())


@enum.unique
class LaneDim(enum.IntEnum):
    """A lane capacity's dimension: the column of :attr:`NetworkData.lane_caps`."""

    KG = 0
    M3 = 1
    UNITS = 2

    @property
    def unit(self) -> str:
        """The unit of a load in this dimension (``kg``, ``m3``, ``units``)."""
        return ("kg", "m3", "units")[self]


@dataclass(frozen=True, slots=True)
class NetworkData:
    """Everything the optimiser needs, as frozen arrays (see module docstring)."""

    name: str
    horizon_days: float
    service: Service
    origins: tuple[str, ...]
    warehouses: tuple[str, ...]
    zones: tuple[str, ...]
    skus: tuple[str, ...]
    zone_country: tuple[str, ...]
    duty_countries: tuple[str, ...]
    # warehouses
    wh_fixed_cost: F
    wh_status: tuple[WarehouseStatus, ...]
    wh_storage_m3: F  # inf where unlimited
    wh_throughput_per_day: F  # inf where unlimited
    wh_holding_per_m3_day: F
    wh_handling_per_unit: F
    wh_processing_hours: F
    wh_bonded: npt.NDArray[np.bool_]
    sku: SkuData
    # demand (sparse COO over sku x zone); indices in the narrowest exact dtype (stored so by
    # __post_init__ whatever dtype is given): form keys with network.indices.flat_key, in int64
    dem_sku: Index
    dem_zone: Index
    dem_units: F
    # lanes used by some option
    lanes: tuple[str, ...]
    lane_mode: tuple[str, ...]
    lane_cap_kg: F  # per day, inf where none
    lane_cap_m3: F
    lane_cap_units: F
    inbound: PathOptions
    outbound: PathOptions
    direct: PathOptions
    truncated: bool = False
    compile_seconds: float = 0.0
    meta: dict[str, float] = field(default_factory=dict)
    # lane time randomness (DESIGN §10): mean hours and coefficient of variation per lane of
    # ``lanes``; empty arrays (the default) mean every lane's hours are fixed
    lane_hours: F = field(default_factory=lambda: np.zeros(0))
    lane_time_cv: F = field(default_factory=lambda: np.zeros(0))
    # -- format v1.1 state (empty for a v1 document) ------------------------------------------
    # inventory lots: SKU, warehouse, units, day available at the warehouse (0 on hand),
    # in transit or on hand
    inv_sku: I = field(default_factory=lambda: np.zeros(0, np.int64))
    inv_wh: I = field(default_factory=lambda: np.zeros(0, np.int64))
    inv_units: F = field(default_factory=lambda: np.zeros(0))
    inv_day: F = field(default_factory=lambda: np.zeros(0))
    inv_transit: npt.NDArray[np.bool_] = field(default_factory=lambda: np.zeros(0, bool))
    #: transfer options warehouse → warehouse (src/dst index ``warehouses``), one lane each
    transfer: PathOptions | None = None
    #: returns handling cost per unit per warehouse, NaN where it takes no returns
    wh_returns_cost: F | None = None
    #: country of each warehouse
    wh_country: tuple[str, ...] = ()
    #: returns rate and resellable share per (SKU, zone country of ``ret_countries``)
    ret_countries: tuple[str, ...] = ()
    ret_rate: F | None = None
    ret_resell: F | None = None
    #: options whose duty looks wrong (a border crossed without a duty lane, or one country's
    #: duty charged twice), one line each; see :func:`customs_warnings`
    customs_warnings: tuple[str, ...] = ()
    #: a previous plan: stocking levels per (SKU, warehouse) and warehouse use (0/1)
    prev_sku: I | None = None
    prev_wh: I | None = None
    prev_units: F | None = None
    prev_open: F | None = None

    @property
    def has_previous(self) -> bool:
        """A previous plan is attached (stability terms apply)."""
        return self.prev_open is not None

    @property
    def has_state(self) -> bool:
        """Any v1.1 state: inventory, transfer lanes, returns or a previous plan."""
        return bool(
            len(self.inv_sku)
            or (self.transfer is not None and len(self.transfer))
            or (self.ret_rate is not None and np.any(self.ret_rate > 0))
            or self.has_previous
        )

    def without_state(self) -> NetworkData:
        """The same network without any v1.1 state (inventory, transfers, returns, previous)."""
        import dataclasses

        return dataclasses.replace(
            self,
            inv_sku=np.zeros(0, np.int64),
            inv_wh=np.zeros(0, np.int64),
            inv_units=np.zeros(0),
            inv_day=np.zeros(0),
            inv_transit=np.zeros(0, bool),
            transfer=None,
            ret_rate=None,
            ret_resell=None,
            prev_sku=None,
            prev_wh=None,
            prev_units=None,
            prev_open=None,
        )

    def returns_of(self, sku: I, zone: I) -> tuple[F, F]:
        """Returns rate and resellable share for SKU and zone index arrays (0 where none)."""
        if self.ret_rate is None or not len(self.ret_countries):
            return np.zeros(len(sku)), np.zeros(len(sku))
        ci = {c: i for i, c in enumerate(self.ret_countries)}
        zc = np.array([ci.get(c, -1) for c in self.zone_country], np.int64)
        c = zc[zone] if len(zone) else np.zeros(0, np.int64)
        ok = c >= 0
        rate = np.where(ok, self.ret_rate[sku, np.maximum(c, 0)], 0.0)
        resell = (
            np.where(ok, self.ret_resell[sku, np.maximum(c, 0)], 0.0)
            if self.ret_resell is not None
            else np.zeros(len(sku))
        )
        return rate, resell

    def __post_init__(self) -> None:
        w = len(self.warehouses)
        for name in (
            "wh_fixed_cost",
            "wh_storage_m3",
            "wh_throughput_per_day",
            "wh_holding_per_m3_day",
            "wh_handling_per_unit",
            "wh_processing_hours",
            "wh_bonded",
        ):
            if getattr(self, name).shape != (w,):
                raise ValueError(f"{name} must have one entry per warehouse")
        if not (len(self.dem_sku) == len(self.dem_zone) == len(self.dem_units)):
            raise ValueError("demand arrays disagree in length")
        # frozen: set the narrowed arrays through object.__setattr__ (no copy if already narrow)
        object.__setattr__(self, "dem_sku", as_index(self.dem_sku, len(self.skus)))
        object.__setattr__(self, "dem_zone", as_index(self.dem_zone, len(self.zones)))
        if len(self.dem_sku) and (
            self.dem_sku.max() >= len(self.skus) or self.dem_zone.max() >= len(self.zones)
        ):
            raise IndexError("demand refers to an unknown SKU or zone index")
        if np.any(self.dem_units < 0):
            raise ValueError("negative demand")
        for opts, ns, nd, what in (
            (self.inbound, len(self.origins), w, "inbound"),
            (self.outbound, w, len(self.zones), "outbound"),
            (self.direct, len(self.origins), len(self.zones), "direct"),
        ):
            if len(opts) and (opts.src.max() >= ns or opts.dst.max() >= nd):
                raise IndexError(f"{what} option refers to an unknown node index")
            if len(opts.lane_idx) and opts.lane_idx.max() >= len(self.lanes):
                raise IndexError(f"{what} option refers to an unknown lane index")
        for name in ("lane_hours", "lane_time_cv"):
            arr = getattr(self, name)
            if len(arr) and arr.shape != (len(self.lanes),):
                raise ValueError(f"{name} must be empty or have one entry per lane")
            if np.any(~np.isfinite(arr)) or np.any(arr < 0):
                raise ValueError(f"{name} must be finite and non-negative")
        _ro(
            self.lane_hours,
            self.lane_time_cv,
            self.wh_fixed_cost,
            self.wh_storage_m3,
            self.wh_throughput_per_day,
            self.wh_holding_per_m3_day,
            self.wh_handling_per_unit,
            self.wh_processing_hours,
            self.wh_bonded,
            self.dem_sku,
            self.dem_zone,
            self.dem_units,
            self.lane_cap_kg,
            self.lane_cap_m3,
            self.lane_cap_units,
        )

    @property
    def has_time_risk(self) -> bool:
        """Some lane's hours are random (``time_cv > 0``)."""
        return bool(len(self.lane_time_cv) and np.any(self.lane_time_cv > 0))

    @property
    def lane_caps(self) -> F:
        """Lane capacities per day, shape ``(lanes, 3)``, columns in :class:`LaneDim` order
        (``inf`` where none)."""
        return np.stack([self.lane_cap_kg, self.lane_cap_m3, self.lane_cap_units], axis=1)

    @property
    def wh_usable(self) -> npt.NDArray[np.bool_]:
        """Per warehouse: the plan may use it (its status is not ``closed``)."""
        return np.array([s is not WarehouseStatus.CLOSED for s in self.wh_status], dtype=bool)

    @property
    def wh_kept_open(self) -> npt.NDArray[np.bool_]:
        """Per warehouse: the plan must keep it open (its status is ``open``)."""
        return np.array([s is WarehouseStatus.OPEN for s in self.wh_status], dtype=bool)

    @property
    def total_demand(self) -> float:
        """Units demanded over the horizon."""
        return float(self.dem_units.sum())

    def unreachable_zones(self) -> list[str]:
        """Zones with demand that no direct path nor any stocked warehouse can reach."""
        fed = np.zeros(len(self.warehouses), dtype=bool)
        fed[self.inbound.dst] = True
        fed &= self.wh_usable
        ok = np.zeros(len(self.zones), dtype=bool)
        ok[self.direct.dst] = True
        if len(self.outbound):
            ok[self.outbound.dst[fed[self.outbound.src]]] = True
        has = np.zeros(len(self.zones), dtype=bool)
        has[self.dem_zone[self.dem_units > 0]] = True
        return [self.zones[i] for i in np.flatnonzero(has & ~ok)]


def _sku_data(s: Scenario, countries: tuple[str, ...]) -> SkuData:
    sk = s.skus
    value = np.array([k.value for k in sk], float)
    rate = s.service.capital_cost_rate_per_year / 365.0
    hold = np.array(
        [
            k.holding_cost_per_unit_day
            if k.holding_cost_per_unit_day is not None
            else k.value * rate
            for k in sk
        ],
        float,
    )
    own = np.full((len(sk), len(countries)), np.nan)
    cidx = {c: i for i, c in enumerate(countries)}
    for i, k in enumerate(sk):
        for c, r in k.duty_rates.items():
            if c in cidx:
                own[i, cidx[c]] = r
    return SkuData(
        np.array([k.weight_kg for k in sk], float),
        np.array([k.volume_m3 for k in sk], float),
        value,
        np.array([k.demand_cv for k in sk], float),
        hold,
        own,
    )


def _collect(
    results: list[tuple[int, dict[str, list[ParetoPath]]]],
    dst_index: dict[str, int],
    lane_index: dict[str, int],
    ndims: int,
) -> PathOptions:
    src: list[int] = []
    dst: list[int] = []
    vec: list[F] = []
    ptr = [0]
    idx: list[int] = []
    for s_i, by_target in results:
        for t, paths in by_target.items():
            for p in paths:
                src.append(s_i)
                dst.append(dst_index[t])
                vec.append(p.vec)
                for ln in p.lanes:
                    idx.append(lane_index.setdefault(ln, len(lane_index)))
                ptr.append(len(idx))
    v = np.asarray(vec, float).reshape(len(vec), ndims)
    return PathOptions(
        np.asarray(src, np.int64),
        np.asarray(dst, np.int64),
        v[:, 0].copy(),
        v,
        np.asarray(ptr, np.int64),
        np.asarray(idx, np.int64),
    )


def compile_network(
    scenario: Scenario, G: nx.MultiDiGraph | None = None, *, max_labels: int = 64
) -> NetworkData:
    """Build (if needed) the lane graph, search Pareto paths and freeze arrays.

    Parameters
    ----------
    scenario
        A validated scenario.
    G
        Its lane graph, if already built.
    max_labels
        Cap on Pareto labels per node in each search.
    """
    t0 = time.perf_counter()
    if G is None:
        G = build_graph(scenario)
    t_graph = time.perf_counter() - t0
    countries = duty_countries(G)
    ndims = BASE_DIMS + 2 * len(countries)
    origins = tuple(n.id for n in scenario.nodes_of("origin"))
    whs = scenario.nodes_of("warehouse")
    warehouses = tuple(w.id for w in whs)
    zones_n = scenario.nodes_of("zone")
    zones = tuple(z.id for z in zones_n)
    w_index = {w: i for i, w in enumerate(warehouses)}
    z_index = {z: i for i, z in enumerate(zones)}
    lane_index: dict[str, int] = {}
    truncated = False

    def run(
        sources: tuple[str, ...], target_kind: str
    ) -> list[tuple[int, dict[str, list[ParetoPath]]]]:
        nonlocal truncated
        out = []
        for i, src in enumerate(sources):
            r = pareto_paths(
                G, src, target_kind=target_kind, max_labels=max_labels, countries=countries
            )
            truncated |= r.truncated
            out.append((i, r.paths))
        return out

    t1 = time.perf_counter()
    inbound = _collect(run(origins, "warehouse"), w_index, lane_index, ndims)
    outbound = _collect(run(warehouses, "zone"), z_index, lane_index, ndims)
    direct = _collect(run(origins, "zone"), z_index, lane_index, ndims)
    t_paths = time.perf_counter() - t1
    transfer = _transfer_options(G, warehouses, w_index, lane_index, countries, ndims)

    lanes = tuple(lane_index)
    attrs = {k: d for _, _, k, d in G.edges(keys=True, data=True) if k in lane_index}

    def cap(key: str) -> F:
        return np.array(
            [math.inf if attrs[ln][key] is None else attrs[ln][key] for ln in lanes], float
        )

    table = scenario.demand
    dem_sku = as_index(
        pd.Index([k.id for k in scenario.skus]).get_indexer(table.sku), len(scenario.skus)
    )
    dem_zone = as_index(pd.Index(zones).get_indexer(table.zone), len(zones))
    if (dem_sku < 0).any() or (dem_zone < 0).any():
        raise ValueError("demand refers to an unknown SKU or zone (scenario not validated?)")
    inf = math.inf
    # capacities that cannot bind are unlimited: a warehouse ships at most the whole demand and
    # a unit crosses a lane at most twice (inbound and outbound path) over the horizon; solvers
    # reject the huge coefficients (HiGHS: |a| >= 1e15) such capacities would put in a row
    dem_units = np.array(table.units, dtype=np.float64)
    H = float(scenario.horizon_days)
    d_tot = float(dem_units.sum())
    sku_w = np.array([k.weight_kg for k in scenario.skus], float)
    sku_v = np.array([k.volume_m3 for k in scenario.skus], float)
    d_kg = float(dem_units @ sku_w[dem_sku]) if len(dem_sku) else 0.0
    d_m3 = float(dem_units @ sku_v[dem_sku]) if len(dem_sku) else 0.0

    def loose(c: F, most: float) -> F:
        with np.errstate(over="ignore"):  # a capacity near 1e308: inf, loose either way
            return np.where((c * H > most * (1 + 1e-9)) | (c >= HUGE_CAPACITY), inf, c)

    data = NetworkData(
        name=scenario.name,
        horizon_days=scenario.horizon_days,
        service=scenario.service,
        origins=origins,
        warehouses=warehouses,
        zones=zones,
        skus=tuple(k.id for k in scenario.skus),
        zone_country=tuple(z.country for z in zones_n),
        duty_countries=countries,
        wh_fixed_cost=np.array([w.fixed_cost for w in whs], float),
        wh_status=tuple(WarehouseStatus(w.status) for w in whs),
        wh_storage_m3=loose(
            np.array([inf if w.storage_m3 is None else w.storage_m3 for w in whs], float), inf
        ),
        wh_throughput_per_day=loose(
            np.array(
                [
                    inf if w.throughput_units_per_day is None else w.throughput_units_per_day
                    for w in whs
                ],
                float,
            ),
            d_tot,
        ),
        wh_holding_per_m3_day=np.array([w.holding_cost_per_m3_day for w in whs], float),
        wh_handling_per_unit=np.array([w.handling_cost_per_unit for w in whs], float),
        wh_processing_hours=np.array([w.processing_hours for w in whs], float),
        wh_bonded=np.array([w.bonded for w in whs], bool),
        sku=_sku_data(scenario, countries),
        dem_sku=dem_sku,
        dem_zone=dem_zone,
        dem_units=dem_units,
        lanes=lanes,
        lane_mode=tuple(attrs[ln][A.MODE] for ln in lanes),
        lane_cap_kg=loose(cap(A.CAPACITY_KG), 2 * d_kg),
        lane_cap_m3=loose(cap(A.CAPACITY_M3), 2 * d_m3),
        lane_cap_units=loose(cap(A.CAPACITY_UNITS), 2 * d_tot),
        inbound=inbound,
        outbound=outbound,
        direct=direct,
        truncated=truncated,
        compile_seconds=time.perf_counter() - t0,
        meta={"graph_seconds": t_graph, "paths_seconds": t_paths},
        lane_hours=np.array([attrs[ln][A.HOURS] for ln in lanes], float),
        lane_time_cv=np.array([attrs[ln].get(A.TIME_CV, 0.0) for ln in lanes], float),
        transfer=transfer,
        customs_warnings=customs_warnings(
            countries,
            {n.id: n.country for n in scenario.nodes},
            frozenset(w.id for w in whs if w.bonded),
            [
                ("inbound", inbound, origins, warehouses),
                ("outbound", outbound, warehouses, zones),
                ("direct", direct, origins, zones),
                ("transfer", transfer, warehouses, warehouses),
            ],
            lanes,
        ),
        **_state_arrays(scenario, warehouses, zones_n),
    )
    return data


#: At most this many lines of :func:`customs_warnings` name an option; a last line counts the rest.
MAX_CUSTOMS_WARNINGS = 20


def customs_warnings(
    countries: tuple[str, ...],
    country_of: dict[str, str],
    bonded: frozenset[str],
    kinds: list[tuple[str, PathOptions, tuple[str, ...], tuple[str, ...]]],
    lanes: tuple[str, ...],
) -> tuple[str, ...]:
    """Options whose duty a planner should not trust, one line each (the format allows them).

    - **No customs**: goods not yet imported into the destination's country (they leave an
      origin in another country, or a bonded warehouse) reach a non-bonded warehouse or a zone
      there, and no lane of the path has a ``duty_rate`` into that country, so no duty is
      charged, not even the SKU's own ``duty_rates``. A lane with ``duty_rate: 0`` clears.
      (An ordinary warehouse's goods crossing a border, outbound or by transfer, are not
      reported: in a customs union such as the EU they are already imported.)
    - **Duty twice**: a path with two duty lanes into one country pays its duty twice.

    Parameters
    ----------
    countries
        The duty dimensions of the options' vectors (:func:`network.paths.duty_countries`).
    country_of
        Country of every node id.
    bonded
        Ids of bonded warehouses.
    kinds
        ``(name, options, source ids, destination ids)`` per option kind.
    lanes
        Lane ids indexed by the options' ``lane_idx``.
    """
    cidx = {c: i for i, c in enumerate(countries)}
    out: list[str] = []
    more = 0  # flagged options past the lines written (a large network may have thousands)
    for name, opts, src_ids, dst_ids in kinds:
        if not len(opts):
            continue
        n = opts.vec[:, BASE_DIMS::2]  # duty lanes per country
        src_c = np.array([country_of[x] for x in src_ids], dtype=object)[opts.src]
        dst_c = np.array([country_of[x] for x in dst_ids], dtype=object)[opts.dst]
        from_bond = np.array([x in bonded for x in src_ids], bool)[opts.src]
        to_bond = np.array([x in bonded for x in dst_ids], bool)[opts.dst]
        # not yet imported into the destination's country: an origin abroad, or out of bond
        from_origin = name in ("inbound", "direct")
        abroad = np.asarray(src_c != dst_c, bool) if from_origin else np.zeros(len(opts), bool)
        unimported = from_bond | abroad
        ci = np.array([cidx.get(c, -1) for c in dst_c], np.int64)
        cleared = np.zeros(len(opts), bool)
        if n.shape[1]:  # no duty country: nothing is cleared anywhere
            cleared = (ci >= 0) & (n[np.arange(len(opts)), np.maximum(ci, 0)] > 0.5)
        gap: npt.NDArray[np.bool_] = unimported & ~to_bond & ~cleared
        twice: npt.NDArray[np.bool_] = np.any(n > 1.5, axis=1)
        flagged = np.flatnonzero(gap | twice)
        room = max(0, MAX_CUSTOMS_WARNINGS - len(out))
        more += max(0, len(flagged) - room)
        for i in flagged[:room].tolist():
            src, dst, c = src_ids[opts.src[i]], dst_ids[opts.dst[i]], dst_c[i]
            head = f"{name} {src} -> {dst} (lanes {', '.join(lanes[j] for j in opts.lanes_of(i))})"
            if gap[i]:
                came = "out of bond" if from_bond[i] else f"from {src_c[i]}"
                out.append(
                    f"{head}: enters {c} {came} through no customs: no lane of the path has a "
                    f"duty_rate into {c}, so no duty is charged (give the lane that clears a "
                    "duty_rate, 0 if none is due)"
                )
            if twice[i]:
                dup = ", ".join(countries[j] for j in np.flatnonzero(n[i] > 1.5))
                out.append(
                    f"{head}: pays the duty of {dup} twice (two lanes of the path have a "
                    "duty_rate into it)"
                )
    if more:
        out.append(f"... and {more} more option(s) like these")
    return tuple(out)


def _transfer_options(
    G: nx.MultiDiGraph,
    warehouses: tuple[str, ...],
    w_index: dict[str, int],
    lane_index: dict[str, int],
    countries: tuple[str, ...],
    ndims: int,
) -> PathOptions:
    """One option per ``transfer`` lane between two warehouses (hours: the lane's)."""
    dim = {c: i for i, c in enumerate(countries)}
    src: list[int] = []
    dst: list[int] = []
    vec: list[F] = []
    idx: list[int] = []
    for u, v, k, d in G.edges(keys=True, data=True):
        if d.get(A.MODE) != "transfer" or u not in w_index or v not in w_index:
            continue
        src.append(w_index[u])
        dst.append(w_index[v])
        vec.append(lane_vector(G, v, d, dim, ndims))
        idx.append(lane_index.setdefault(k, len(lane_index)))
    del warehouses
    vv = np.asarray(vec, float).reshape(len(vec), ndims)
    return PathOptions(
        np.asarray(src, np.int64),
        np.asarray(dst, np.int64),
        vv[:, 0].copy(),
        vv,
        np.arange(len(src) + 1, dtype=np.int64),
        np.asarray(idx, np.int64),
    )


def _state_arrays(
    scenario: Scenario, warehouses: tuple[str, ...], zones_n: list[Any]
) -> dict[str, Any]:
    """Inventory lots, returns rates and returns handling costs as arrays (format v1.1)."""
    sku_ix = {k.id: i for i, k in enumerate(scenario.skus)}
    w_ix = {w: i for i, w in enumerate(warehouses)}
    inv = scenario.inventory
    lot_sku: list[int] = []
    lot_wh: list[int] = []
    lot_units: list[float] = []
    lot_day: list[float] = []
    lot_tr: list[bool] = []
    for r in inv:
        if r.on_hand > 0:
            lot_sku.append(sku_ix[r.sku])
            lot_wh.append(w_ix[r.warehouse])
            lot_units.append(r.on_hand)
            lot_day.append(0.0)
            lot_tr.append(False)
        if r.in_transit > 0:
            lot_sku.append(sku_ix[r.sku])
            lot_wh.append(w_ix[r.warehouse])
            lot_units.append(r.in_transit)
            lot_day.append(float(r.arrives_in_hours or 0.0) / 24.0)
            lot_tr.append(True)
    whs = scenario.nodes_of("warehouse")
    ret_cost = np.array(
        [
            np.nan if w.returns_handling_cost_per_unit is None else w.returns_handling_cost_per_unit
            for w in whs
        ],
        float,
    )
    countries = tuple(sorted({z.country for z in zones_n}))
    K, C = len(scenario.skus), len(countries)
    rate = np.zeros((K, C))
    resell = np.zeros((K, C))
    ci = {c: i for i, c in enumerate(countries)}
    cats = np.array([k.category or "" for k in scenario.skus], dtype=object)
    # rules without a category first, so that a category's own rule overwrites them
    for rule in sorted(scenario.returns, key=lambda r: r.category is not None):
        if rule.country not in ci:
            continue
        m = np.ones(K, bool) if rule.category is None else cats == rule.category
        rate[m, ci[rule.country]] = rule.rate
        resell[m, ci[rule.country]] = rule.resellable_share
    return {
        "inv_sku": np.asarray(lot_sku, np.int64),
        "inv_wh": np.asarray(lot_wh, np.int64),
        "inv_units": np.asarray(lot_units, float),
        "inv_day": np.asarray(lot_day, float),
        "inv_transit": np.asarray(lot_tr, bool),
        "wh_returns_cost": ret_cost,
        "wh_country": tuple(w.country for w in whs),
        "ret_countries": countries,
        "ret_rate": rate,
        "ret_resell": resell,
    }
