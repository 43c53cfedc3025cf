"""Shock files (DESIGN §10): what changes in a what-if, and applying it to a scenario.

A shock is a document (YAML or JSON)::

    name: red-sea
    description: ...            # optional, free text
    source: DOMAIN.md §4.5      # optional, where the figures come from
    changes:
      - {lanes: {mode: sea}, cost_multiplier: 1.35, add_hours: 240}
      - {lanes: {id: PKG-KUL-customs}, closed: true}
      - {demand: {country: MY, category: 3c}, multiplier: 3.0}
      - {warehouse: WH-PEN, closed: true}

Selectors:

- ``lanes``: ``id``, ``mode``, ``carrier``, ``from`` / ``to`` (the country of the lane's first
  / last node). Each value is a string or a list of strings (any of them); several keys must
  all match. Explicit lanes and rate cards are both matched: a rate card by its ``id``,
  ``mode``, ``carrier``, ``to`` = its country and ``from`` = its country or one of its
  ``from_countries``; a change to a rate card applies to every lane it generates.
- ``demand``: ``sku``, ``category`` (the SKU's), ``country`` (the zone's), ``zone``.

Effects: ``cost_multiplier`` multiplies a lane's freight rates (``cost_per_unit``, ``_kg``,
``_m3``, ``_km``; duty is a tax and is not multiplied); ``add_hours`` adds to its transit hours
(a rate card's ``base_hours``); ``closed: true`` removes it. ``multiplier`` scales the matched
demand rows. Multipliers are at most ``MAX_MULTIPLIER`` (1,000) and ``add_hours`` at most
``MAX_ADD_HOURS`` (8,760, a year) either way. ``{warehouse: ID, closed: true}`` sets the
warehouse's status to ``closed`` and closes the ``transfer`` lanes from and to it: the
warehouse is lost with its stock, so a re-plan cannot move tonight's lots out of it (the held
plan does not either). Changes apply in order (two multipliers on one lane multiply).

Errors are :class:`network.scenario.ScenarioError` problems naming the item: an unknown key or
selector, a bad value, a selector that matches nothing (each selector key is also checked on its
own, so the one that matches nothing is named), an unknown warehouse.
"""

from __future__ import annotations

import dataclasses
import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from network.scenario import (
    TOO_DEEP,
    Problem,
    Scenario,
    ScenarioError,
    load_yaml,
    parse_scenario,
)

__all__ = [
    "DEMAND_KEYS",
    "LANE_KEYS",
    "AppliedShock",
    "DemandChange",
    "LaneChange",
    "Shock",
    "WarehouseClosure",
    "apply_shock",
    "load_shock",
    "parse_shock",
]

LANE_KEYS = ("id", "mode", "carrier", "from", "to")
DEMAND_KEYS = ("sku", "category", "country", "zone")
COST_FIELDS = ("cost_per_unit", "cost_per_kg", "cost_per_m3", "cost_per_km")
MAX_MULTIPLIER = 1000.0
"""The largest ``cost_multiplier`` or demand ``multiplier`` (a thousandfold is beyond any
disruption; larger values overflowed the plan's costs into an internal error)."""
MAX_ADD_HOURS = 8760.0
"""The largest ``add_hours`` either way: a year."""

Selector = tuple[tuple[str, tuple[str, ...]], ...]


@dataclass(frozen=True, slots=True)
class LaneChange:
    """Lanes and rate cards matched by ``selector``: costs × ``cost_multiplier``, hours +
    ``add_hours``, removed when ``closed``."""

    selector: Selector
    cost_multiplier: float = 1.0
    add_hours: float = 0.0
    closed: bool = False


@dataclass(frozen=True, slots=True)
class DemandChange:
    """Demand rows matched by ``selector``: units × ``multiplier``."""

    selector: Selector
    multiplier: float


@dataclass(frozen=True, slots=True)
class WarehouseClosure:
    """A warehouse lost: its status becomes ``closed``."""

    warehouse: str


Change = LaneChange | DemandChange | WarehouseClosure


@dataclass(frozen=True, slots=True)
class Shock:
    """A named list of changes."""

    name: str
    changes: tuple[Change, ...] = ()
    description: str = ""
    source: str = ""
    origin: str = field(default="", compare=False)
    """Where the shock was read from (``"red-sea.yaml: "``), put before the items its
    problems name; not part of the shock itself."""

    def to_json(self) -> dict[str, Any]:
        """The shock as a document (the file's structure)."""
        out: list[dict[str, Any]] = []
        for c in self.changes:
            if isinstance(c, LaneChange):
                d: dict[str, Any] = {"lanes": _sel_json(c.selector)}
                if c.cost_multiplier != 1.0:
                    d["cost_multiplier"] = c.cost_multiplier
                if c.add_hours:
                    d["add_hours"] = c.add_hours
                if c.closed:
                    d["closed"] = True
            elif isinstance(c, DemandChange):
                d = {"demand": _sel_json(c.selector), "multiplier": c.multiplier}
            else:
                d = {"warehouse": c.warehouse, "closed": True}
            out.append(d)
        doc: dict[str, Any] = {"name": self.name, "changes": out}
        if self.description:
            doc["description"] = self.description
        if self.source:
            doc["source"] = self.source
        return doc


def _sel_json(sel: Selector) -> dict[str, Any]:
    return {k: (v[0] if len(v) == 1 else list(v)) for k, v in sel}


# -- parsing ---------------------------------------------------------------------------------


def _number(
    v: Any, where: str, probs: list[Problem], *, lo: float | None = 0.0, hi: float
) -> float | None:
    finite = isinstance(v, int) or (isinstance(v, float) and math.isfinite(v))
    if isinstance(v, bool) or not finite:
        probs.append(Problem(where, f"expected a finite number, got {v!r:.60}"))
        return None
    if lo is not None and v < lo:
        probs.append(Problem(where, f"must be ≥ {lo:g}, got {v!r:.60}"))
        return None
    if abs(v) > hi:
        probs.append(
            Problem(where, f"must be {'≤' if lo is not None else 'within ±'} {hi:g}, got {v!r:.60}")
        )
        return None
    return float(v)


def _selector(v: Any, keys: tuple[str, ...], where: str, probs: list[Problem]) -> Selector | None:
    if not isinstance(v, dict) or not v:
        probs.append(Problem(where, f"expected a mapping of selectors ({', '.join(keys)})"))
        return None
    out = []
    ok = True
    for k, x in v.items():
        if k not in keys:
            probs.append(
                Problem(f"{where}.{k}", f"unknown selector (expected one of {', '.join(keys)})")
            )
            ok = False
            continue
        vals = x if isinstance(x, list) else [x]
        if not vals or not all(isinstance(s, str) and s for s in vals):
            probs.append(
                Problem(f"{where}.{k}", f"expected a string or a list of strings, got {x!r}")
            )
            ok = False
            continue
        out.append((str(k), tuple(vals)))
    return tuple(out) if ok else None


def parse_shock(raw: Any, *, source: str = "") -> Shock:
    """Validate a decoded shock document.

    Raises
    ------
    ScenarioError
        With every problem, each naming the item (``changes[2].lanes.carrier`` ...).
    """
    probs: list[Problem] = []
    if not isinstance(raw, dict):
        raise ScenarioError([Problem(source.rstrip(": ") or "shock", "a shock is a mapping")])
    for k in raw:
        if k not in ("name", "changes", "description", "source"):
            probs.append(
                Problem(f"{source}{k}", "unknown key (expected name, changes, description, source)")
            )
    name = raw.get("name")
    if not isinstance(name, str) or not name:
        probs.append(Problem(f"{source}name", "a shock needs a name"))
    changes_raw = raw.get("changes", [])
    if changes_raw is None:
        changes_raw = []
    if not isinstance(changes_raw, list):
        probs.append(Problem(f"{source}changes", "expected a list"))
        changes_raw = []
    changes: list[Change] = []
    for i, c in enumerate(changes_raw):
        where = f"{source}changes[{i}]"
        if not isinstance(c, dict):
            probs.append(Problem(where, "expected a mapping"))
            continue
        if "lanes" in c:
            allowed = {"lanes", "cost_multiplier", "add_hours", "closed"}
            sel = _selector(c["lanes"], LANE_KEYS, f"{where}.lanes", probs)
            mult = _number(
                c.get("cost_multiplier", 1.0),
                f"{where}.cost_multiplier",
                probs,
                hi=MAX_MULTIPLIER,
            )
            add = _number(
                c.get("add_hours", 0.0), f"{where}.add_hours", probs, lo=None, hi=MAX_ADD_HOURS
            )
            closed = c.get("closed", False)
            if not isinstance(closed, bool):
                probs.append(Problem(f"{where}.closed", f"expected true or false, got {closed!r}"))
            if not ({"cost_multiplier", "add_hours", "closed"} & set(c)):
                probs.append(
                    Problem(
                        where,
                        "a lane change needs an effect: cost_multiplier, add_hours or closed: true",
                    )
                )
            elif (
                sel is not None
                and mult is not None
                and add is not None
                and isinstance(closed, bool)
            ):
                changes.append(LaneChange(sel, mult, add, closed))
        elif "demand" in c:
            allowed = {"demand", "multiplier"}
            sel = _selector(c["demand"], DEMAND_KEYS, f"{where}.demand", probs)
            if "multiplier" not in c:
                probs.append(Problem(f"{where}.multiplier", "a demand change needs a multiplier"))
                mult = None
            else:
                mult = _number(c["multiplier"], f"{where}.multiplier", probs, hi=MAX_MULTIPLIER)
            if sel is not None and mult is not None:
                changes.append(DemandChange(sel, mult))
        elif "warehouse" in c:
            allowed = {"warehouse", "closed"}
            wid = c["warehouse"]
            if not isinstance(wid, str) or not wid:
                probs.append(Problem(f"{where}.warehouse", f"expected a warehouse id, got {wid!r}"))
            elif c.get("closed") is not True:
                probs.append(Problem(f"{where}.closed", "a warehouse change is `closed: true`"))
            else:
                changes.append(WarehouseClosure(wid))
        else:
            probs.append(Problem(where, "a change has `lanes`, `demand` or `warehouse`"))
            continue
        for k in c:
            if k not in allowed:
                probs.append(
                    Problem(f"{where}.{k}", f"unknown key (expected {', '.join(sorted(allowed))})")
                )
    if probs:
        raise ScenarioError(probs)
    desc = raw.get("description", "")
    src = raw.get("source", "")
    return Shock(str(name), tuple(changes), str(desc or ""), str(src or ""))


def load_shock(path: str | Path) -> Shock:
    """Read a shock file (``.yaml``/``.yml``/``.json``).

    Raises
    ------
    ScenarioError
        If the file cannot be read or decoded, or the shock is invalid (items named).
    """
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
        raise ScenarioError([Problem(str(p), f"cannot read: {e}")]) from None
    try:
        raw = json.loads(text) if p.suffix.lower() == ".json" else load_yaml(text)
    except (json.JSONDecodeError, yaml.YAMLError) as e:
        raise ScenarioError([Problem(p.name, f"cannot decode: {e}")]) from None
    except RecursionError:
        raise ScenarioError([Problem(p.name, TOO_DEEP)]) from None
    shock = parse_shock(raw, source=f"{p.name}: ")
    return dataclasses.replace(shock, origin=f"{p.name}: ")


# -- applying --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class AppliedShock:
    """The shocked scenario and what each change matched."""

    scenario: Scenario
    shock: Shock
    closed_lanes: tuple[str, ...] = ()
    closed_cards: tuple[str, ...] = ()
    closed_warehouses: tuple[str, ...] = ()
    matched: tuple[dict[str, Any], ...] = field(default_factory=tuple)


def _lane_matches(sel: Selector, ln: dict[str, Any], country: dict[str, str]) -> list[bool]:
    """Per selector key: does explicit lane ``ln`` match it."""
    out = []
    for k, vals in sel:
        if k == "id":
            v = ln.get("id")
        elif k == "from":
            v = country.get(ln.get("from", ""))
        elif k == "to":
            v = country.get(ln.get("to", ""))
        else:
            v = ln.get(k)
        out.append(v in vals)
    return out


def _card_matches(sel: Selector, card: dict[str, Any]) -> list[bool]:
    out = []
    for k, vals in sel:
        if k == "from":
            out.append(
                any(c in vals for c in [card.get("country"), *card.get("from_countries", [])])
            )
        elif k == "to":
            out.append(card.get("country") in vals)
        elif k == "mode":
            out.append(card.get("mode", "last_mile") in vals)
        else:
            out.append(card.get(k) in vals)
    return out


def apply_shock(scenario: Scenario, shock: Shock, *, source: str | None = None) -> AppliedShock:
    """The scenario under the shock (validated again), and what each change matched.

    ``source`` (default: the file the shock was read from) goes before the items problems name.

    Raises
    ------
    ScenarioError
        If a selector (or one of its keys) matches nothing, a warehouse is unknown, a change's
        ``add_hours`` takes a lane's or rate card's hours below zero (named by the change), or
        the shocked scenario breaks another rule.
    """
    source = shock.origin if source is None else source
    doc = scenario.to_document()
    probs: list[Problem] = []
    country = {n["id"]: n["country"] for n in doc["nodes"]}
    kinds = {n["id"]: n["kind"] for n in doc["nodes"]}
    sku_cat = {k["id"]: k.get("category") for k in doc["skus"]}
    lanes = doc["lanes"]
    cards = doc.get("rate_cards", [])
    demand = doc.get("demand", [])
    closed_l: list[str] = []
    closed_c: list[str] = []
    closed_w: list[str] = []
    matched: list[dict[str, Any]] = []
    for i, ch in enumerate(shock.changes):
        where = f"{source}changes[{i}]"
        if isinstance(ch, LaneChange):
            lm = [_lane_matches(ch.selector, ln, country) for ln in lanes]
            cm = [_card_matches(ch.selector, c) for c in cards]
            hit_l = [ln for ln, m in zip(lanes, lm, strict=True) if all(m)]
            hit_c = [c for c, m in zip(cards, cm, strict=True) if all(m)]
            if not hit_l and not hit_c:
                alone = [
                    k
                    for j, (k, _v) in enumerate(ch.selector)
                    if not any(m[j] for m in lm) and not any(m[j] for m in cm)
                ]
                for k in alone:
                    v = dict(ch.selector)[k]
                    probs.append(
                        Problem(f"{where}.lanes.{k}", f"{_one(v)} matches no lane or rate card")
                    )
                if not alone:
                    probs.append(Problem(f"{where}.lanes", "matches no lane or rate card"))
                continue
            below = [
                (kind, x["id"], x.get(key, 0.0) + ch.add_hours)
                for kind, key, xs in (
                    ("lane", "transit_hours", hit_l),
                    ("rate card", "base_hours", hit_c),
                )
                for x in xs
                if x.get(key, 0.0) + ch.add_hours < 0
            ]
            if below:
                kind, xid, h = below[0]
                more = f" (and {len(below) - 1} more)" if len(below) > 1 else ""
                probs.append(
                    Problem(
                        f"{where}.add_hours",
                        f"{ch.add_hours:g} takes {kind} {xid!r} to {h:g} hours, below 0{more}",
                    )
                )
                continue
            for ln in hit_l:
                for f in COST_FIELDS:
                    ln[f] = ln.get(f, 0.0) * ch.cost_multiplier
                ln["transit_hours"] = ln.get("transit_hours", 0.0) + ch.add_hours
            for c in hit_c:
                for f in COST_FIELDS:
                    c[f] = c.get(f, 0.0) * ch.cost_multiplier
                c["base_hours"] = c.get("base_hours", 0.0) + ch.add_hours
            if ch.closed:
                closed_l += [ln["id"] for ln in hit_l]
                closed_c += [c["id"] for c in hit_c]
            matched.append(
                {
                    "change": i,
                    "lanes": [ln["id"] for ln in hit_l],
                    "rate_cards": [c["id"] for c in hit_c],
                }
            )
        elif isinstance(ch, DemandChange):
            n_hit = 0
            units = 0.0
            per_key = [0] * len(ch.selector)
            for row in demand:
                ok = []
                for k, vals in ch.selector:
                    if k == "sku":
                        got: str | None = row["sku"]
                    elif k == "zone":
                        got = row["zone"]
                    elif k == "category":
                        got = sku_cat.get(row["sku"])
                    else:
                        got = country.get(row["zone"])
                    ok.append(got in vals)
                for j, o in enumerate(ok):
                    per_key[j] += o
                if all(ok):
                    n_hit += 1
                    units += float(row["units"])
                    row["units"] = float(row["units"]) * ch.multiplier
            if not n_hit:
                alone = [k for j, (k, _v) in enumerate(ch.selector) if per_key[j] == 0]
                for k in alone:
                    probs.append(
                        Problem(
                            f"{where}.demand.{k}",
                            f"{_one(dict(ch.selector)[k])} matches no demand row",
                        )
                    )
                if not alone:
                    probs.append(Problem(f"{where}.demand", "matches no demand row"))
                continue
            matched.append({"change": i, "demand_rows": n_hit, "units_before": units})
        else:
            if kinds.get(ch.warehouse) != "warehouse":
                probs.append(Problem(f"{where}.warehouse", f"unknown warehouse {ch.warehouse!r}"))
                continue
            for n in doc["nodes"]:
                if n["id"] == ch.warehouse:
                    n["status"] = "closed"
            # lost with its stock: no transfer lane moves tonight's lots out of it (or in)
            moves = [
                ln["id"]
                for ln in lanes
                if ln.get("mode") == "transfer" and ch.warehouse in (ln["from"], ln["to"])
            ]
            closed_l += moves
            closed_w.append(ch.warehouse)
            matched.append({"change": i, "warehouse": ch.warehouse, "lanes": moves})
    if probs:
        raise ScenarioError(probs)
    doc["lanes"] = [ln for ln in lanes if ln["id"] not in set(closed_l)]
    doc["rate_cards"] = [c for c in cards if c["id"] not in set(closed_c)]
    try:
        shocked = parse_scenario(doc, source=f"{source}(scenario under the shock) ")
    except ScenarioError as e:
        raise ScenarioError(e.problems) from None
    return AppliedShock(
        shocked,
        shock,
        tuple(dict.fromkeys(closed_l)),
        tuple(dict.fromkeys(closed_c)),
        tuple(dict.fromkeys(closed_w)),
        tuple(matched),
    )


def _one(v: tuple[str, ...]) -> str:
    return repr(v[0]) if len(v) == 1 else repr(list(v))
