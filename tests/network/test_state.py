"""Format v1.1 keys of the scenario: inventory, returns, returns handling, stability."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from network.scenario import ScenarioError, load_scenario, parse_scenario
from network.state import read_inventory_csv

DATA = Path(__file__).resolve().parents[1] / "data"


def v11() -> dict[str, Any]:
    """The shared v1.1 example document."""
    doc: dict[str, Any] = json.loads((DATA / "tiny-my-v11.json").read_text())
    return doc


def problems(doc: dict[str, Any]) -> list[str]:
    with pytest.raises(ScenarioError) as e:
        parse_scenario(doc)
    return [str(p) for p in e.value.problems]


def test_example_loads_with_every_key() -> None:
    s = load_scenario(DATA / "tiny-my-v11.json")
    assert s.service.stability_penalty_per_unit == 0.5
    assert s.node("WH-KUL").returns_handling_cost_per_unit == 0.6
    assert s.node("WH-PEN").returns_handling_cost_per_unit is None
    assert [(r.sku, r.warehouse, r.on_hand, r.in_transit) for r in s.inventory] == [
        ("SKU-A", "WH-PEN", 2400.0, 0.0),
        ("SKU-B", "WH-KUL", 0.0, 300.0),
    ]
    assert s.inventory[1].arrives_in_hours == 96.0
    assert [(r.country, r.category, r.rate) for r in s.returns] == [
        ("MY", "apparel", 0.18),
        ("MY", None, 0.05),
    ]


def test_v1_document_has_no_state() -> None:
    s = load_scenario(DATA / "tiny-my.json")
    assert s.inventory == [] and s.returns == []
    assert s.service.stability_penalty_per_unit == 0.0


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        # unknown SKU
        (
            lambda d: d["inventory"][0].update(sku="NOPE"),
            "inventory[0] (sku 'NOPE', warehouse 'WH-PEN').sku: unknown SKU 'NOPE'",
        ),
        # unknown warehouse
        (
            lambda d: d["inventory"][0].update(warehouse="WH-X"),
            "inventory[0] (sku 'SKU-A', warehouse 'WH-X').warehouse: unknown warehouse 'WH-X'",
        ),
        # a zone is no warehouse
        (lambda d: d["inventory"][0].update(warehouse="Z-KUL"), "is a zone, not a warehouse"),
        # negative units
        (
            lambda d: d["inventory"][0].update(on_hand=-5),
            "'WH-PEN').on_hand: Input should be greater than or equal to 0",
        ),
        # arrives_in_hours without in_transit
        (
            lambda d: d["inventory"][0].update(arrives_in_hours=12),
            "inventory[0] (sku 'SKU-A', warehouse 'WH-PEN').arrives_in_hours: given without in_",
        ),
        # in_transit without arrives_in_hours
        (
            lambda d: d["inventory"][1].pop("arrives_in_hours"),
            "'WH-KUL').arrives_in_hours: in_transit units need arrives_in_hours",
        ),
        # a transfer lane that does not join two warehouses
        (
            lambda d: d["lanes"][4].update(to="Z-KUL"),
            "lanes[4] (id 'PEN-KUL-transfer').mode: a transfer lane joins two warehouses",
        ),
        # a rate outside [0, 1]
        (
            lambda d: d["returns"][0].update(rate=1.5),
            "returns[0] (country 'MY').rate: Input should be less than or equal to 1",
        ),
        (
            lambda d: d["returns"][1].update(resellable_share=-0.1),
            "returns[1] (country 'MY').resellable_share",
        ),
        # unknown country, duplicate rule
        (
            lambda d: d["returns"][1].update(country="TH"),
            "returns[1] (country 'TH').country: no node in country 'TH'",
        ),
        (
            lambda d: d["returns"][1].update(category="apparel"),
            "duplicate returns rule for 'MY', category 'apparel'",
        ),
        # returns handling on a zone, negative penalty
        (
            lambda d: d["nodes"][4].update(returns_handling_cost_per_unit=1.0),
            "only a warehouse takes returns",
        ),
        (
            lambda d: d["service"].update(stability_penalty_per_unit=-1),
            "service.stability_penalty_per_unit",
        ),
        # true/false where a number belongs (read as 1/0 before)
        (
            lambda d: d["inventory"][0].update(on_hand=True),
            "'WH-PEN').on_hand: Input should be a valid number (got True)",
        ),
        (
            lambda d: d["returns"][0].update(rate=True),
            "returns[0] (country 'MY').rate: Input should be a valid number (got True)",
        ),
        (
            lambda d: d["nodes"][2].update(returns_handling_cost_per_unit=True),
            "returns_handling_cost_per_unit: Input should be a valid number (got True)",
        ),
    ],
)
def test_bad_state_items_are_named(change: Any, expected: str) -> None:
    doc = copy.deepcopy(v11())
    change(doc)
    got = problems(doc)
    assert any(expected in p for p in got), got


def test_every_bad_item_is_reported_at_once() -> None:
    doc = copy.deepcopy(v11())
    doc["inventory"].append({"sku": "X", "warehouse": "Y", "on_hand": 1})
    doc["inventory"].append({"sku": "SKU-A", "warehouse": "WH-KUL", "on_hand": -1})
    doc["returns"][0]["rate"] = 2
    got = problems(doc)
    assert sum("inventory[2]" in p for p in got) == 2
    assert any("inventory[3]" in p for p in got)
    assert any("returns[0]" in p for p in got)


def test_inventory_csv() -> None:
    rows = read_inventory_csv(
        "sku,warehouse,on_hand,in_transit,arrives_in_hours\nSKU-A,WH-PEN,10,,\nSKU-B,WH-KUL,,5,48\n"
    )
    assert rows == [
        {"sku": "SKU-A", "warehouse": "WH-PEN", "on_hand": 10.0},
        {"sku": "SKU-B", "warehouse": "WH-KUL", "in_transit": 5.0, "arrives_in_hours": 48.0},
    ]
    with pytest.raises(ValueError, match=r"inv\.csv line 3: on_hand 'x' is not a number"):
        read_inventory_csv("sku,warehouse,on_hand\nA,W,1\nA,W,x\n", "inv.csv")
    with pytest.raises(ValueError, match="missing column"):
        read_inventory_csv("sku,on_hand\nA,1\n")


def test_inventory_csv_names_the_file_line_of_a_bad_row() -> None:
    """An extra field (was an AttributeError), a byte-order mark (was "missing column sku")
    and blank lines before a bad row (the line was counted without them)."""
    with pytest.raises(ValueError, match=r"inv\.csv line 2: 4 fields, the header names 3"):
        read_inventory_csv("sku,warehouse,on_hand\nSKU-A,WH-PEN,100,999\n", "inv.csv")
    with pytest.raises(ValueError, match=r"inv\.csv line 4: on_hand 'x' is not a number"):
        read_inventory_csv("\ufeffsku,warehouse,on_hand\n\n\nA,W,x\n", "inv.csv")
    assert read_inventory_csv("\ufeffsku,warehouse,on_hand\nA,W,5\n") == [
        {"sku": "A", "warehouse": "W", "on_hand": 5.0}
    ]


def test_inventory_csv_with_every_cell_filled() -> None:
    """A CSV that fills every cell (``0`` in transit arriving in ``0`` h on an on-hand row, as
    spreadsheets export it) loads as the same lots as one with those cells left empty; it was
    refused ("arrives_in_hours: given without in_transit units"), and `tradelane plan
    --inventory` exited 2. An arrival given for no units at a later hour stays an error."""
    filled = read_inventory_csv(
        "sku,warehouse,on_hand,in_transit,arrives_in_hours\n"
        "SKU-A,WH-PEN,2400,0,0\nSKU-B,WH-KUL,0,300,96\n"
    )
    empty = read_inventory_csv(
        "sku,warehouse,on_hand,in_transit,arrives_in_hours\nSKU-A,WH-PEN,2400,,\nSKU-B,WH-KUL,,300,96\n"
    )
    lots = []
    for rows in (filled, empty):
        doc = v11()
        doc["inventory"] = rows
        s = parse_scenario(doc)
        lots.append([(r.sku, r.warehouse, r.on_hand, r.in_transit) for r in s.inventory])
    assert lots[0] == lots[1] == [("SKU-A", "WH-PEN", 2400.0, 0.0), ("SKU-B", "WH-KUL", 0.0, 300.0)]
    doc = v11()
    doc["inventory"] = [
        {
            "sku": "SKU-A",
            "warehouse": "WH-PEN",
            "on_hand": 5,
            "in_transit": 0,
            "arrives_in_hours": 12,
        }
    ]
    where = "inventory[0] (sku 'SKU-A', warehouse 'WH-PEN').arrives_in_hours"
    assert problems(doc) == [f"{where}: given without in_transit units"]
