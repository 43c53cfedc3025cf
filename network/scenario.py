"""Scenario format v1: schema, loading and validation.

A scenario is one document (JSON or YAML, same structure) describing the network (nodes, lanes,
rate cards), the SKUs and the demand forecast. Demand may also come as a CSV file
(``sku,zone,units``) beside a network file; a directory holding ``network.(json|yaml|yml)`` or
``scenario.(json|yaml|yml)`` plus ``demand.csv`` is read as one scenario.

Every rule of the format is enforced here, and *all* problems are collected before raising, so
a planner sees every mistake at once. Each problem names the offending item: its field path,
its id and, for CSV rows, the line number. Beyond DESIGN §3's list: a key written twice in one
mapping is an error naming both lines (JSON and YAML readers would keep the last silently), a
rate card may not have mode ``transfer`` (its lanes end at zones), ``true``/``false`` where a
number belongs is an error naming the field (``(got True)``; it was read as 1/0), and unknown
keys are kept and reported as warnings (:func:`unknown_fields`), as are a positive
``handling_hours`` on a node that is no origin and ``processing_hours`` on a node that is no
warehouse (no path counts them there).

Units: money in the scenario's ``currency``, weights kg, volumes m³, times hours, distances km.

Extensions to v1 (all optional, all backwards compatible):

- ``service.min_on_time_share_by_country``: per-country on-time targets.
- ``service.capital_cost_rate_per_year`` (default 0.12, invented): the cost of capital tied
  up in stock, charged on pipeline and on-hand units at ``value × rate / 365`` per unit-day,
  unless the SKU gives ``holding_cost_per_unit_day``.
- ``lanes[].distance_km``: the km that ``cost_per_km`` multiplies on an explicit lane
  (default: the geodesic distance between its end nodes).
- ``rate_cards[].from_countries``: countries whose warehouses the card also serves
  (cross-border last mile from a bonded hub); ``rate_cards[].duty_rate`` is charged only on
  lanes that leave a bonded warehouse (goods from an ordinary warehouse are already imported).
- capacities on rate cards apply to each lane the card generates.
- ``lanes[].time_cv`` and ``rate_cards[].time_cv`` (≥ 0, default 0, DESIGN §10): the lane's
  hours are lognormal with mean ``transit_hours + clearance_hours`` (a card's lanes: their
  hours) and this coefficient of variation; lanes are independent, node hours fixed.
- ``service.promise_probability`` (0 < p ≤ 1, default absent, DESIGN §10): an option is on
  time only if P(order-to-door hours ≤ promise) ≥ p; absent, the rule is mean hours ≤ promise.

Format v1.1, tonight's state (all optional; see :mod:`network.state` for every rule):
``inventory`` (on hand and in transit per SKU and warehouse), ``returns`` (return rate and
resellable share per country and category), ``nodes[].returns_handling_cost_per_unit`` (the
warehouse takes returns), ``service.stability_penalty_per_unit`` (with a previous plan),
and ``transfer`` lanes (warehouse → warehouse) that the model now uses.

>>> s = Scenario.model_validate(
...     {"name": "t", "nodes": [], "lanes": [], "skus": [], "demand": []})
>>> s.horizon_days
28.0
"""

from __future__ import annotations

import enum
import json
import logging
import math
import re
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal

import numpy as np
import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PlainSerializer,
    PlainValidator,
    ValidationError,
    WithJsonSchema,
    field_validator,
)

from network.demand import (
    DemandTable,
    RowLocations,
    check_records,
    check_references,
    ignored_columns,
    ignored_keys,
)
from network.demand import read_demand_csv as _read_demand_csv
from network.state import FormatModel, InventoryRow, ReturnsRule, state_problems

log = logging.getLogger(__name__)

__all__ = [
    "MODES",
    "NODE_KINDS",
    "DemandRow",
    "DemandTable",
    "Lane",
    "Node",
    "Problem",
    "RateCard",
    "Scenario",
    "ScenarioError",
    "Service",
    "Sku",
    "demand_keys_warning",
    "load_scenario",
    "load_yaml",
    "parse_scenario",
    "read_demand_csv",
]

MODES = ("sea", "rail", "air", "truck", "express", "customs", "last_mile", "transfer")
NODE_KINDS = ("origin", "gateway", "warehouse", "zone")

Mode = Literal["sea", "rail", "air", "truck", "express", "customs", "last_mile", "transfer"]
NodeKind = Literal["origin", "gateway", "warehouse", "zone"]


@enum.unique
class WarehouseStatus(enum.StrEnum):
    """A warehouse's state in a scenario (the JSON keeps the lower-case strings).

    ``candidate``: the plan may use it or not; ``open``: already running, the plan must keep
    it; ``closed``: unusable (no stock, no flows).
    """

    CANDIDATE = "candidate"
    OPEN = "open"
    CLOSED = "closed"


NonNeg = Field(default=0.0, ge=0)


@dataclass(frozen=True, slots=True)
class Problem:
    """One thing wrong with a scenario: where (field path, id, line) and what."""

    where: str
    message: str

    def __str__(self) -> str:
        return f"{self.where}: {self.message}"


class ScenarioError(ValueError):
    """A scenario breaks one or more rules of format v1; ``problems`` lists every one."""

    def __init__(self, problems: list[Problem]):
        self.problems = list(problems)
        super().__init__("\n".join(str(p) for p in self.problems))


class _Base(FormatModel):
    # Unknown keys are kept (and reported as warnings by ``unknown_fields``), not rejected:
    # newer writers may add optional fields, and a typo should be visible, not fatal.
    # Numbers must be finite: ``Infinity`` in a cost or weight would reach the solver as an
    # infinite coefficient (fields where infinity means "no limit" say so themselves); and
    # ``true``/``false`` is not a number (FormatModel).
    pass


class Service(_Base):
    """Service targets and penalties."""

    promise_hours: float = Field(default=72.0, ge=0)
    min_on_time_share: float = Field(default=0.95, ge=0, le=1)
    min_on_time_share_by_country: dict[str, float] = Field(default_factory=dict)
    late_penalty_per_unit: float = Field(default=4.0, ge=0)
    lost_sale_penalty_per_unit: float = Field(default=60.0, ge=0)
    review_period_days: float = Field(default=7.0, ge=0)
    safety_z: float = Field(default=1.65, ge=0)
    capital_cost_rate_per_year: float = Field(default=0.12, ge=0)
    promise_probability: float | None = Field(default=None, gt=0, le=1, allow_inf_nan=False)
    # format v1.1 (network.state): stability against a previous plan
    stability_penalty_per_unit: float = Field(default=0.0, ge=0)

    @field_validator("min_on_time_share_by_country")
    @classmethod
    def _shares(cls, v: dict[str, float]) -> dict[str, float]:
        bad = [f"{c}={s}" for c, s in v.items() if not (0 <= s <= 1)]
        if bad:
            raise ValueError(f"shares must lie in [0, 1], got {', '.join(bad)}")
        return v


class Node(_Base):
    """An origin, gateway (port, airport, border), warehouse or demand zone."""

    id: str = Field(min_length=1)
    kind: NodeKind
    lat: float = Field(ge=-90, le=90)
    lon: float = Field(ge=-180, le=180)
    country: str = Field(min_length=2, max_length=3)
    name: str | None = None
    # origins
    handling_hours: float = NonNeg
    # warehouses
    fixed_cost: float = NonNeg
    status: WarehouseStatus = WarehouseStatus.CANDIDATE
    storage_m3: float | None = Field(default=None, ge=0)
    throughput_units_per_day: float | None = Field(default=None, ge=0)
    holding_cost_per_m3_day: float = NonNeg
    handling_cost_per_unit: float = NonNeg
    processing_hours: float = NonNeg
    bonded: bool = False
    # format v1.1 (network.state): the warehouse takes returns at this cost per unit
    returns_handling_cost_per_unit: float | None = Field(default=None, ge=0)


class Lane(_Base):
    """An explicit lane between two nodes (one carrier, one mode)."""

    id: str = Field(min_length=1)
    from_: str = Field(alias="from", min_length=1)
    to: str = Field(min_length=1)
    mode: Mode
    carrier: str | None = None
    transit_hours: float = NonNeg
    clearance_hours: float = NonNeg
    cost_per_unit: float = NonNeg
    cost_per_kg: float = NonNeg
    cost_per_m3: float = NonNeg
    cost_per_km: float = NonNeg
    distance_km: float | None = Field(default=None, ge=0)
    duty_rate: float | None = Field(default=None, ge=0)
    capacity_kg_per_day: float | None = Field(default=None, ge=0)
    capacity_m3_per_day: float | None = Field(default=None, ge=0)
    capacity_units_per_day: float | None = Field(default=None, ge=0)
    time_cv: float = Field(default=0.0, ge=0, allow_inf_nan=False)

    @property
    def hours(self) -> float:
        """Lane time: transit plus clearance."""
        return self.transit_hours + self.clearance_hours


class RateCard(_Base):
    """A rule that generates one last-mile lane per warehouse and zone of its country."""

    id: str = Field(min_length=1)
    mode: Mode = "last_mile"
    country: str = Field(min_length=2, max_length=3)
    from_countries: list[str] = Field(default_factory=list)
    carrier: str | None = None
    base_hours: float = NonNeg
    km_per_hour: float = Field(gt=0)
    circuity: float = Field(default=1.0, ge=1)
    max_km: float = Field(default=math.inf, ge=0, allow_inf_nan=True)
    cost_per_unit: float = NonNeg
    cost_per_kg: float = NonNeg
    cost_per_m3: float = NonNeg
    cost_per_km: float = NonNeg
    duty_rate: float | None = Field(default=None, ge=0)
    capacity_kg_per_day: float | None = Field(default=None, ge=0)
    capacity_m3_per_day: float | None = Field(default=None, ge=0)
    capacity_units_per_day: float | None = Field(default=None, ge=0)
    time_cv: float = Field(default=0.0, ge=0, allow_inf_nan=False)


class Sku(_Base):
    """A stock-keeping unit: physical size, value and demand variability."""

    id: str = Field(min_length=1)
    weight_kg: float = Field(ge=0)
    volume_m3: float = Field(ge=0)
    value: float = Field(ge=0)
    category: str | None = None
    demand_cv: float = NonNeg
    duty_rates: dict[str, float] = Field(default_factory=dict)
    holding_cost_per_unit_day: float | None = Field(default=None, ge=0)

    @field_validator("duty_rates")
    @classmethod
    def _rates(cls, v: dict[str, float]) -> dict[str, float]:
        bad = [f"{c}={r}" for c, r in v.items() if not (r >= 0 and math.isfinite(r))]
        if bad:
            raise ValueError(f"duty rates must be non-negative, got {', '.join(bad)}")
        return v


class DemandRow(_Base):
    """Forecast units of one SKU in one zone over the horizon."""

    sku: str = Field(min_length=1)
    zone: str = Field(min_length=1)
    units: float = Field(ge=0, allow_inf_nan=False)


def _coerce_demand(v: Any) -> DemandTable:
    """Pydantic hook: accept a DemandTable as is, or check a list of v1 demand mappings."""
    if isinstance(v, DemandTable):
        return v
    table, _, probs = check_records(v, RowLocations(""))
    if probs:
        raise ValueError(
            "; ".join(f"{w}: {m}" for w, m in probs[:5])
            + (f"; … {len(probs) - 5} more" if len(probs) > 5 else "")
        )
    return table


DemandField = Annotated[
    DemandTable,
    PlainValidator(_coerce_demand),
    PlainSerializer(lambda t: t.to_records(), return_type=list),
    WithJsonSchema({"type": "array", "items": DemandRow.model_json_schema()}),
]


class Scenario(_Base):
    """A whole scenario, format v1. ``demand`` is a columnar :class:`DemandTable`."""

    model_config = ConfigDict(
        extra="allow",
        populate_by_name=True,
        frozen=True,
        arbitrary_types_allowed=True,
        allow_inf_nan=False,
    )

    name: str = Field(min_length=1)
    currency: str = "USD"
    horizon_days: float = Field(default=28.0, gt=0)
    service: Service = Field(default_factory=Service)
    nodes: list[Node]
    lanes: list[Lane] = Field(default_factory=list)
    rate_cards: list[RateCard] = Field(default_factory=list)
    skus: list[Sku]
    demand: DemandField = Field(default_factory=DemandTable.empty)
    # format v1.1 (network.state): tonight's inventory and the returns rules
    inventory: list[InventoryRow] = Field(default_factory=list)
    returns: list[ReturnsRule] = Field(default_factory=list)

    # -- lookups ---------------------------------------------------------------------------
    def node(self, node_id: str) -> Node:
        """The node with id ``node_id`` (KeyError if there is none)."""
        for n in self.nodes:
            if n.id == node_id:
                return n
        raise KeyError(node_id)

    def nodes_of(self, kind: str) -> list[Node]:
        """Nodes of one kind, in document order."""
        return [n for n in self.nodes if n.kind == kind]

    def to_document(self) -> dict[str, Any]:
        """The scenario as a plain v1 document (``from`` spelled as in the format)."""
        return self.model_dump(by_alias=True, exclude_none=True, mode="json")


# -- validation ----------------------------------------------------------------------------


def _where(loc: tuple[Any, ...], raw: Any) -> str:
    """Render a pydantic location as ``nodes[2] (id 'WH-1').fixed_cost``."""
    parts: list[str] = []
    node: Any = raw
    for item in loc:
        if isinstance(item, int):
            parts[-1] = f"{parts[-1]}[{item}]" if parts else f"[{item}]"
            if isinstance(node, list) and 0 <= item < len(node):
                node = node[item]
                if isinstance(node, dict) and isinstance(node.get("id"), str):
                    parts[-1] += f" (id {node['id']!r})"
                elif isinstance(node, dict) and "sku" in node and "zone" in node:
                    parts[-1] += f" (sku {node.get('sku')!r}, zone {node.get('zone')!r})"
                elif isinstance(node, dict) and "sku" in node and "warehouse" in node:
                    parts[-1] += f" (sku {node.get('sku')!r}, warehouse {node.get('warehouse')!r})"
                elif isinstance(node, dict) and "country" in node and "rate" in node:
                    parts[-1] += f" (country {node.get('country')!r})"
            else:
                node = None
        else:
            parts.append(str(item))
            node = node.get(item) if isinstance(node, dict) else None
    return ".".join(parts) or "scenario"


def _pydantic_problems(err: ValidationError, raw: Any, source: str) -> list[Problem]:
    out = []
    for e in err.errors(include_url=False):
        msg = e["msg"]
        if e["type"] not in ("missing",) and "input" in e:
            got = e["input"]
            if not isinstance(got, dict | list):
                msg = f"{msg} (got {got!r:.60})"
        where = _where(tuple(e["loc"]), raw)
        out.append(Problem(f"{source}{where}", msg))
    return out


def _items(raw: dict[str, Any], key: str) -> list[dict[str, Any]]:
    """The mappings of a top-level list (non-mappings become empty dicts, already reported)."""
    v = raw.get(key)
    if not isinstance(v, list):
        return []
    return [x if isinstance(x, dict) else {} for x in v]


#: Node hours a path counts on one kind of node only: (key, that kind, the other kind that
#: has hours, and a hint for it).
_NODE_HOURS: tuple[tuple[str, str, str, str], ...] = (
    ("handling_hours", "origin", "warehouse", "a warehouse's own hours are processing_hours"),
    ("processing_hours", "warehouse", "origin", "an origin's own hours are handling_hours"),
)


def _semantic_problems(raw: dict[str, Any], source: str) -> list[Problem]:
    """Cross-references: unique ids, lanes on known nodes (demand: see network.demand).

    Works on the raw document so that these problems are reported together with schema
    errors; fields with the wrong type are skipped here (the schema check names them).
    """
    probs: list[Problem] = []

    def sid(x: Any) -> str | None:
        return x if isinstance(x, str) else None

    def dup(items: list[dict[str, Any]], what: str) -> None:
        counts = Counter(sid(i.get("id")) for i in items)
        for i, it in enumerate(items):
            k = sid(it.get("id"))
            if k is not None and counts[k] > 1:
                probs.append(
                    Problem(f"{source}{what}[{i}] (id {k!r})", f"duplicate {what[:-1]} id")
                )

    nodes, lanes = _items(raw, "nodes"), _items(raw, "lanes")
    skus = _items(raw, "skus")
    dup(nodes, "nodes")
    dup(lanes, "lanes")
    dup(_items(raw, "rate_cards"), "rate_cards")
    dup(skus, "skus")

    kinds = {sid(n.get("id")): n.get("kind") for n in nodes if sid(n.get("id")) is not None}
    for i, lane in enumerate(lanes):
        lid, src, dst = sid(lane.get("id")), sid(lane.get("from")), sid(lane.get("to"))
        where = f"{source}lanes[{i}]" + (f" (id {lid!r})" if lid is not None else "")
        for end, ref in (("from", src), ("to", dst)):
            if ref is not None and ref not in kinds:
                probs.append(Problem(f"{where}.{end}", f"unknown node {ref!r}"))
        if src is not None and src == dst:
            probs.append(Problem(where, "lane starts and ends at the same node"))
        if kinds.get(dst) == "origin":
            probs.append(Problem(f"{where}.to", f"lanes may not enter origin {dst!r}"))
        if kinds.get(src) == "zone":
            probs.append(Problem(f"{where}.from", f"lanes may not leave zone {src!r}"))
        if (
            lane.get("mode") == "transfer"
            and src in kinds
            and dst in kinds
            and not (kinds.get(src) == "warehouse" and kinds.get(dst) == "warehouse")
        ):
            probs.append(Problem(f"{where}.mode", "a transfer lane joins two warehouses"))
        if lid is not None and ":" in lid:
            probs.append(Problem(f"{where}.id", "':' is reserved for rate-card lane ids"))

    for i, card in enumerate(_items(raw, "rate_cards")):
        if card.get("mode") == "transfer":
            cid = sid(card.get("id"))
            where = f"{source}rate_cards[{i}]" + (f" (id {cid!r})" if cid is not None else "")
            probs.append(
                Problem(
                    f"{where}.mode",
                    "a transfer lane joins two warehouses; a rate card's lanes run to zones",
                )
            )

    countries = {n.get("country") for n in nodes}
    service = raw.get("service")
    by_c = service.get("min_on_time_share_by_country") if isinstance(service, dict) else None
    if isinstance(by_c, dict):
        for c in by_c:
            if c not in countries:
                probs.append(
                    Problem(
                        f"{source}service.min_on_time_share_by_country.{c}",
                        f"no node in country {c!r}",
                    )
                )
    probs += [Problem(w, m) for w, m in state_problems(raw, source)]
    return probs


def unknown_fields(s: Scenario) -> list[str]:
    """Keys the format does not define (kept, but probably typos): one warning line each."""
    out: list[str] = []

    def walk(obj: BaseModel, where: str) -> None:
        for key in obj.model_extra or {}:
            out.append(f"{where}.{key}: unknown field (ignored)")

    walk(s, "scenario")
    walk(s.service, "service")
    for name in ("nodes", "lanes", "rate_cards", "skus"):
        for i, it in enumerate(getattr(s, name)):
            walk(it, f"{name}[{i}] (id {it.id!r})")
    # a lane between two warehouses is read only as a transfer lane (format v1.1)
    kind_of = {n.id: n.kind for n in s.nodes}
    for i, lane in enumerate(s.lanes):
        ends = (kind_of.get(lane.from_), kind_of.get(lane.to))
        if ends == ("warehouse", "warehouse") and lane.mode != "transfer":
            out.append(
                f"lanes[{i}] (id {lane.id!r}).mode: a {lane.mode} lane between two warehouses is "
                "used by no path (only transfer lanes join warehouses)"
            )
    # a SKU's duty rate for a country no node is in is never used (a typo such as "my")
    countries = {n.country for n in s.nodes}
    for i, sku in enumerate(s.skus):
        for c in sorted(set(sku.duty_rates) - countries):
            out.append(
                f"skus[{i}] (id {sku.id!r}).duty_rates.{c}: no node is in country {c!r} "
                "(ignored; the lanes' duty_rate applies)"
            )
    # node hours on a kind of node whose hours no path reads: a warehouse's "handling_hours"
    # is ignored, so its outbound paths would look faster (and on time) than meant. A warning,
    # like any key a node does not use (DESIGN §3 keeps such documents valid)
    for i, node in enumerate(s.nodes):
        for key, owner, other, hint in _NODE_HOURS:
            v = float(getattr(node, key) or 0.0)
            if node.kind != owner and v > 0:
                msg = f"only {owner} nodes spend {key}; no path counts it at this {node.kind}"
                msg += f" ({v:g} h ignored)" + (f"; {hint}" if node.kind == other else "")
                out.append(f"nodes[{i}] (id {node.id!r}).{key}: {msg}")
    for i, row in enumerate(s.inventory):
        walk(row, f"inventory[{i}]")
    for i, rule in enumerate(s.returns):
        walk(rule, f"returns[{i}]")
    return out


def parse_scenario(
    raw: Any,
    *,
    source: str = "",
    csv_demand: tuple[DemandTable, Any, str] | None = None,
) -> Scenario:
    """Validate a decoded document against format v1.

    Parameters
    ----------
    raw
        The decoded JSON/YAML document.
    source
        A prefix for problem locations (a file name followed by ``: ``), may be empty.
    csv_demand
        Demand read from CSV, appended to the document's inline rows:
        ``(table, line numbers per row, csv file name)``.

    Raises
    ------
    ScenarioError
        With every problem found, each naming the item (field path, id, CSV line).
    """
    if not isinstance(raw, dict):
        raise ScenarioError(
            [
                Problem(
                    source.rstrip(": ") or "scenario",
                    f"a scenario is a mapping, got {type(raw).__name__}",
                )
            ]
        )
    inline = raw.get("demand")
    n_inline = len(inline) if isinstance(inline, list) else 0
    where = RowLocations(
        source,
        n_inline,
        csv_demand[2] if csv_demand else None,
        csv_demand[1] if csv_demand else None,
    )
    table, ids, dprobs = check_records(inline if inline is not None else [], where)
    if csv_demand is not None:
        table = table.concat(csv_demand[0])
        ids = np.r_[ids, n_inline + np.arange(len(csv_demand[0]))]
    schema: list[Problem] = []
    s: Scenario | None = None
    try:
        s = Scenario.model_validate({**raw, "demand": table})
    except ValidationError as err:
        schema = _pydantic_problems(err, raw, source)
    kinds: dict[str, Any] = {
        nid: n.get("kind") for n in _items(raw, "nodes") if isinstance(nid := n.get("id"), str)
    }
    skus: set[str] = {kid for k in _items(raw, "skus") if isinstance(kid := k.get("id"), str)}
    dprobs += check_references(table, where, skus=skus, kinds=kinds, row_ids=ids)
    probs = schema + _semantic_problems(raw, source) + [Problem(w, m) for w, m in dprobs]
    if probs or s is None:
        raise ScenarioError(probs)
    return s


# -- reading files -------------------------------------------------------------------------

NETWORK_NAMES = ("network", "scenario")
SUFFIXES = (".json", ".yaml", ".yml")


class _YamlLoader(yaml.SafeLoader):  # type: ignore[misc]
    """YAML 1.1's safe loader that also reads ``1e300`` and ``2E-3`` as numbers (YAML 1.2
    and JSON do; 1.1 needs a dot, so ``multiplier: 1e3`` was the string '1e3')."""


_YamlLoader.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(r"^[-+]?[0-9][0-9_]*[eE][-+]?[0-9]+$"),
    list("-+0123456789"),
)

_MERGE = "tag:yaml.org,2002:merge"


def _duplicate_key(node: yaml.MappingNode) -> tuple[Any, yaml.Node, int] | None:
    """The first key written twice in one mapping (``<<`` merges aside): the key, the node of
    its second occurrence and the line of its first."""
    first: dict[tuple[str, str], int] = {}
    for key_node, _ in node.value:
        if not isinstance(key_node, yaml.ScalarNode) or key_node.tag == _MERGE:
            continue
        key = (key_node.tag, key_node.value)  # 1 and "1" are two keys
        if key in first:
            return key_node.value, key_node, first[key]
        first[key] = key_node.start_mark.line + 1
    return None


def _mapping_without_duplicates(loader: _YamlLoader, node: yaml.MappingNode) -> Any:
    # PyYAML keeps the last of two equal keys without a word: a YAML document that repeats
    # `lanes:` loses every lane written above
    dup = _duplicate_key(node)
    if dup is not None:
        key, key_node, line = dup
        raise yaml.constructor.ConstructorError(
            None, None, f"duplicate key {key!r} (first at line {line})", key_node.start_mark
        )
    return loader.construct_yaml_map(node)


_YamlLoader.add_constructor("tag:yaml.org,2002:map", _mapping_without_duplicates)


class _DuplicateKeyError(ValueError):
    """A JSON object with one key twice (json keeps the last value without a word)."""


def _unique_pairs(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out = dict(pairs)
    if len(out) != len(pairs):
        raise _DuplicateKeyError
    return out


def _json_duplicate(text: str, name: str) -> Problem:
    """Where a JSON document repeats a key (JSON is YAML: its node marks give the lines)."""
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError:
        root = None
    todo = [root] if root is not None else []
    while todo:
        node = todo.pop()
        if isinstance(node, yaml.MappingNode):
            dup = _duplicate_key(node)
            if dup is not None:
                key, key_node, line = dup
                return Problem(
                    f"{name} line {key_node.start_mark.line + 1}",
                    f"duplicate key {key!r} (first at line {line})",
                )
            todo.extend(v for pair in reversed(node.value) for v in reversed(pair))
        elif isinstance(node, yaml.SequenceNode):
            todo.extend(reversed(node.value))
    return Problem(name, "a key is given twice in one object")


TOO_DEEP = "nested too deeply to read (lists or objects inside each other beyond Python's limit)"
"""The problem of a JSON or YAML document whose nesting the decoders cannot follow (they raise
``RecursionError``): bad input, said as such by every loader of a file or a request body."""


def load_yaml(text: str) -> Any:
    """Decode YAML text as the loaders of scenarios and shocks do (``yaml.SafeLoader``, with
    exponent numbers without a dot read as floats).

    Raises
    ------
    yaml.YAMLError
        Malformed text.
    """
    return yaml.load(text, Loader=_YamlLoader)


def _decode(text: str, name: str) -> Any:
    if name.endswith(".json"):
        try:
            return json.loads(text, object_pairs_hook=_unique_pairs)
        except json.JSONDecodeError as e:
            raise ScenarioError(
                [Problem(f"{name} line {e.lineno} column {e.colno}", f"invalid JSON: {e.msg}")]
            ) from None
        except _DuplicateKeyError:
            raise ScenarioError([_json_duplicate(text, name)]) from None
        except RecursionError:
            raise ScenarioError([Problem(name, TOO_DEEP)]) from None
    try:
        return load_yaml(text)
    except RecursionError:
        raise ScenarioError([Problem(name, TOO_DEEP)]) from None
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        where = f"{name} line {mark.line + 1}" if mark is not None else name
        raise ScenarioError([Problem(where, f"invalid YAML: {getattr(e, 'problem', e)}")]) from None


def read_demand_csv(text: str, name: str = "demand.csv") -> tuple[DemandTable, Any]:
    """Parse ``sku,zone,units`` CSV text; return the table and each row's line number.

    Raises
    ------
    ScenarioError
        For a missing header column or malformed rows, each naming the CSV line.
    """
    table, lines, probs = _read_demand_csv(text, name)
    if probs:
        raise ScenarioError([Problem(w, m) for w, m in probs])
    return table, lines


def _find_network_file(d: Path) -> Path:
    for stem in NETWORK_NAMES:
        for suf in SUFFIXES:
            p = d / f"{stem}{suf}"
            if p.is_file():
                return p
    names = ", ".join(f"{stem}{suf}" for stem in NETWORK_NAMES for suf in SUFFIXES)
    raise ScenarioError([Problem(str(d), f"no network file here (looked for {names})")])


def load_scenario(path: str | Path, *, demand: str | Path | None = None) -> Scenario:
    """Read a scenario from a JSON/YAML file or a directory (network file + ``demand.csv``).

    Parameters
    ----------
    path
        A ``.json``/``.yaml``/``.yml`` file, or a directory holding ``network.*`` or
        ``scenario.*`` and optionally ``demand.csv``.
    demand
        A demand CSV to use beside the network file (replaces the directory's ``demand.csv``).

    Raises
    ------
    ScenarioError
        If the files cannot be read or the scenario breaks a rule (every problem listed).
    """
    p = Path(path)
    if not p.exists():
        raise ScenarioError([Problem(str(p), "no such file or directory")])
    net = _find_network_file(p) if p.is_dir() else p
    if net.suffix.lower() not in SUFFIXES:
        raise ScenarioError([Problem(str(net), "expected a .json, .yaml or .yml file")])
    try:
        text = net.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
        raise ScenarioError([Problem(str(net), f"cannot read: {e}")]) from None
    raw = _decode(text, net.name)
    csv_path = Path(demand) if demand is not None else (p / "demand.csv" if p.is_dir() else None)
    csv_demand = None
    if csv_path is not None and csv_path.exists():
        try:
            csv_text = csv_path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as e:
            raise ScenarioError([Problem(str(csv_path), f"cannot read: {e}")]) from None
        table, lines, csv_probs = _read_demand_csv(csv_text, csv_path.name, keep_bad_units=True)
        csv_demand = (table, lines, csv_path.name)
        extra = ignored_columns(csv_text)
        if extra and not csv_probs:
            log.warning("%s: %s", csv_path.name, demand_keys_warning(extra, what="column(s)"))
    elif demand is not None:
        raise ScenarioError([Problem(str(demand), "no such file")])
    else:
        csv_probs = []
    first = [Problem(w, m) for w, m in csv_probs]
    try:
        s = parse_scenario(raw, source=f"{net.name}: ", csv_demand=csv_demand)
    except ScenarioError as e:
        raise ScenarioError(first + e.problems) from None
    if first:
        raise ScenarioError(first)
    if csv_demand is None and isinstance(raw, dict) and (keys := ignored_keys(raw.get("demand"))):
        log.warning("%s: %s", net.name, demand_keys_warning(keys))
    return s


def demand_keys_warning(keys: list[str], *, what: str = "demand rows' key(s)") -> str:
    """The warning for demand keys (or CSV columns) the readers drop."""
    return (
        f"{what} {', '.join(repr(k) for k in keys)} ignored: demand is read from sku, zone and "
        "units only"
    )
