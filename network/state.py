"""Format v1.1, tonight's state: inventory on hand and in transit, returns rules.

These keys extend scenario format v1 (:mod:`network.scenario`); every one is optional, and a v1
document stays valid and plans exactly as before.

```yaml
inventory:                        # tonight's position, already paid for
  - {sku: SKU-A, warehouse: WH-PEN, on_hand: 5000}
  - {sku: SKU-A, warehouse: WH-KUL, in_transit: 800, arrives_in_hours: 120}
returns:                          # share of delivered units that come back
  - {country: MY, category: apparel, rate: 0.18, resellable_share: 0.7}
nodes:
  - {id: WH-KUL, kind: warehouse, ..., returns_handling_cost_per_unit: 0.8}
service:
  stability_penalty_per_unit: 0.5  # with a previous plan: per unit of stock level moved
```

- ``inventory[]``: ``on_hand`` units sitting in ``warehouse`` tonight; ``in_transit`` units on
  their way to it, arriving after ``arrives_in_hours`` (required with ``in_transit``, an error
  without it unless it is 0). Several rows may name the same SKU and warehouse (several
  shipments on the water). Inventory may also come as CSV
  (``sku,warehouse,on_hand,in_transit,arrives_in_hours``, empty cells = 0 / none), see
  :func:`read_inventory_csv`.
- ``returns[]``: of the units delivered to ``country`` (of ``category``, or of every SKU when
  ``category`` is absent), the share ``rate`` comes back; of those, ``resellable_share`` can be
  sold again. A rule with a category wins over the country's rule without one; two rules for
  the same country and category are an error.
- ``nodes[].returns_handling_cost_per_unit`` on a warehouse: it takes returns, at this cost per
  returned unit (absent: it does not take returns).
- Lanes of mode ``transfer`` (already in v1) join two warehouses; the v1.1 model uses them to
  move tonight's inventory.
- Tonight's units take storage at their warehouse (on hand; in transit once they arrive within
  the horizon) until the plan uses or transfers them: with the stocking levels and the resold
  surplus they fit ``storage_m3``, or, at a warehouse that its inventory alone overfills, that
  inventory's volume (the plan keeps it and says so).
- ``service.stability_penalty_per_unit``: with a previous plan given, the cost of each unit of
  stocking level moved away from it.

Validation names every bad item (``inventory[3] (sku 'A', warehouse 'WH-1').warehouse: unknown
warehouse 'WH-1'``), together with every v1 problem.
"""

from __future__ import annotations

import csv
import functools
import io
import math
from collections import Counter
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

from network.demand import MAX_UNITS

__all__ = ["FormatModel", "InventoryRow", "ReturnsRule", "read_inventory_csv", "state_problems"]

MAX_HOURS = 1e5
"""Latest ``arrives_in_hours`` a shipment in transit may give (about eleven years): beyond it the
figure is a typo or a unit mix-up, as ``MAX_UNITS`` is for units."""

INVENTORY_COLUMNS = ("sku", "warehouse", "on_hand", "in_transit", "arrives_in_hours")


class _Boolean:
    """``true``/``false`` found where a number belongs: fails the number check, shown as is."""

    __slots__ = ("value",)

    def __init__(self, value: bool):
        self.value = value

    def __repr__(self) -> str:
        return repr(self.value)


@functools.cache
def _number_fields(model: type[BaseModel]) -> dict[str, bool]:
    """A model's number fields by key: ``False`` for a number, ``True`` for a mapping of them."""
    out: dict[str, bool] = {}
    for name, field in model.model_fields.items():
        ann = field.annotation
        args = getattr(ann, "__args__", ())
        if getattr(ann, "__origin__", None) is dict and args[1:] == (float,):
            out[field.alias or name] = True
        elif ann is float or float in args:
            out[field.alias or name] = False
    return out


class FormatModel(BaseModel):
    """Base of every record of the scenario format (v1 and v1.1).

    Unknown keys are kept (:func:`network.scenario.unknown_fields` reports them as warnings);
    numbers must be finite, and ``true``/``false`` is not a number (pydantic would read it as
    1/0: a share of ``true`` became a 100 % target), as demand rows and the service's schema
    check already say.
    """

    model_config = ConfigDict(
        extra="allow", populate_by_name=True, frozen=True, allow_inf_nan=False
    )

    @model_validator(mode="before")
    @classmethod
    def _no_bool_numbers(cls, data: Any) -> Any:
        # one pass over the keys per record (a field validator costs a call per field: +40 %
        # on 100,000 SKUs); the field's own check then names it, "(got True)"
        if not isinstance(data, dict):
            return data
        fields = _number_fields(cls)
        out = None
        for key, v in data.items():
            mapping = fields.get(key)
            if mapping is None:
                continue
            if not mapping and isinstance(v, bool):
                out = out if out is not None else dict(data)
                out[key] = _Boolean(v)
            elif mapping and isinstance(v, dict) and any(isinstance(x, bool) for x in v.values()):
                out = out if out is not None else dict(data)
                out[key] = {k: _Boolean(x) if isinstance(x, bool) else x for k, x in v.items()}
        return data if out is None else out


class InventoryRow(FormatModel):
    """Tonight's stock of one SKU at one warehouse: on hand and/or one shipment in transit."""

    sku: str = Field(min_length=1)
    warehouse: str = Field(min_length=1)
    on_hand: float = Field(default=0.0, ge=0, le=MAX_UNITS, allow_inf_nan=False)
    in_transit: float = Field(default=0.0, ge=0, le=MAX_UNITS, allow_inf_nan=False)
    arrives_in_hours: float | None = Field(default=None, ge=0, le=MAX_HOURS, allow_inf_nan=False)


class ReturnsRule(FormatModel):
    """The share of units delivered to a country that comes back, and how much is resold."""

    country: str = Field(min_length=2, max_length=3)
    category: str | None = None
    rate: float = Field(ge=0, le=1)
    resellable_share: float = Field(default=0.0, ge=0, le=1)


def _items(raw: dict[str, Any], key: str) -> list[dict[str, Any]]:
    v = raw.get(key)
    if not isinstance(v, list):
        return []
    return [x if isinstance(x, dict) else {} for x in v]


def _num(v: Any) -> float | None:
    if not isinstance(v, int | float) or isinstance(v, bool):
        return None
    try:
        return float(v)
    except OverflowError:  # an integer past a float (JSON writes any size): out of range
        return math.inf if v > 0 else -math.inf


def state_problems(raw: dict[str, Any], source: str = "") -> list[tuple[str, str]]:
    """Cross-reference problems of the v1.1 keys, as ``(where, message)`` pairs.

    Types and ranges are checked by the schema; this checks references (SKU, warehouse,
    country), ``arrives_in_hours`` against ``in_transit``, duplicate returns rules and
    ``returns_handling_cost_per_unit`` on nodes that are no warehouse.
    """
    probs: list[tuple[str, str]] = []
    nodes = _items(raw, "nodes")
    kinds = {n.get("id"): n.get("kind") for n in nodes if isinstance(n.get("id"), str)}
    skus = {k.get("id") for k in _items(raw, "skus") if isinstance(k.get("id"), str)}
    countries = {n.get("country") for n in nodes}
    for i, n in enumerate(nodes):
        if "returns_handling_cost_per_unit" in n and n.get("kind") != "warehouse":
            probs.append(
                (
                    f"{source}nodes[{i}] (id {n.get('id')!r}).returns_handling_cost_per_unit",
                    "only a warehouse takes returns",
                )
            )
    for i, row in enumerate(_items(raw, "inventory")):
        sku, wh = row.get("sku"), row.get("warehouse")
        where = f"{source}inventory[{i}] (sku {sku!r}, warehouse {wh!r})"
        if isinstance(sku, str) and sku not in skus:
            probs.append((f"{where}.sku", f"unknown SKU {sku!r}"))
        if isinstance(wh, str):
            if wh not in kinds:
                probs.append((f"{where}.warehouse", f"unknown warehouse {wh!r}"))
            elif kinds[wh] != "warehouse":
                probs.append((f"{where}.warehouse", f"{wh!r} is a {kinds[wh]}, not a warehouse"))
        transit = _num(row.get("in_transit"))
        arrives = row.get("arrives_in_hours")
        # an arrival of 0 h for no units in transit says nothing (a CSV row `A,WH,100,0,0`
        # of a spreadsheet that fills every cell); a later one without units is a slip
        if arrives is not None and not transit and _num(arrives) != 0:
            probs.append((f"{where}.arrives_in_hours", "given without in_transit units"))
        if transit and arrives is None:
            probs.append((f"{where}.arrives_in_hours", "in_transit units need arrives_in_hours"))
        if "on_hand" not in row and "in_transit" not in row:
            probs.append((where, "neither on_hand nor in_transit given"))
    rules = _items(raw, "returns")
    seen = Counter((r.get("country"), r.get("category")) for r in rules)
    for i, r in enumerate(rules):
        where = f"{source}returns[{i}] (country {r.get('country')!r})"
        c = r.get("country")
        if isinstance(c, str) and c not in countries:
            probs.append((f"{where}.country", f"no node in country {c!r}"))
        if seen[(c, r.get("category"))] > 1:
            cat = r.get("category")
            what = f"duplicate returns rule for {c!r}" + (f", category {cat!r}" if cat else "")
            probs.append((where, what))
    return probs


def read_inventory_csv(text: str, name: str = "inventory.csv") -> list[dict[str, Any]]:
    """Parse inventory CSV into ``inventory`` rows (validated later with the scenario).

    Columns ``sku,warehouse`` and at least one of ``on_hand``, ``in_transit`` (plus
    ``arrives_in_hours`` with ``in_transit``); empty cells are absent values.

    Raises
    ------
    ValueError
        For a missing column or a cell that is no number, naming the CSV line.
    """
    reader = csv.DictReader(io.StringIO(text.removeprefix("\ufeff")))
    cols = [c.strip() for c in (reader.fieldnames or [])]
    probs: list[str] = []
    missing = [c for c in ("sku", "warehouse") if c not in cols]
    if missing or not ({"on_hand", "in_transit"} & set(cols)):
        need = missing or ["on_hand or in_transit"]
        raise ValueError(f"{name} line 1: missing column(s) {', '.join(need)}")
    unknown = [c for c in cols if c not in INVENTORY_COLUMNS]
    if unknown:
        raise ValueError(f"{name} line 1: unknown column(s) {', '.join(unknown)}")
    rows: list[dict[str, Any]] = []
    for raw in reader:
        line = reader.line_num  # the CSV line (blank lines are skipped, not counted out)
        if None in raw:  # more fields than the header names
            probs.append(
                f"{name} line {line}: {len(cols) + len(raw[None])} fields, the header names "
                f"{len(cols)}"
            )
            continue
        rec = {(k or "").strip(): (v or "").strip() for k, v in raw.items()}
        row: dict[str, Any] = {"sku": rec.get("sku", ""), "warehouse": rec.get("warehouse", "")}
        for c in ("on_hand", "in_transit", "arrives_in_hours"):
            cell = rec.get(c, "")
            if cell == "":
                continue
            try:
                v = float(cell)
            except ValueError:
                probs.append(f"{name} line {line}: {c} {cell!r} is not a number")
                continue
            if not math.isfinite(v):
                probs.append(f"{name} line {line}: {c} {cell!r} is not finite")
                continue
            row[c] = v
        rows.append(row)
    if probs:
        raise ValueError("\n".join(probs))
    return rows
