"""Duty a planner can trust: paths that cross a border through no customs, or pay one
country's duty twice, are reported (``NetworkData.customs_warnings``, shown by ``validate``)."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest

from network.compile import compile_network
from network.scenario import parse_scenario


@pytest.fixture(scope="module")
def tiny(data_dir: Path) -> dict:
    """The contract example, as a raw document."""
    return json.loads((data_dir / "tiny-my.json").read_text())


def _warnings(doc: dict) -> tuple[str, ...]:
    return compile_network(parse_scenario(doc)).customs_warnings


def test_contract_example_has_none(tiny: dict) -> None:
    """Every path of tiny-my clears MY customs once."""
    assert _warnings(tiny) == ()


def test_lane_into_a_foreign_warehouse_without_duty(tiny: dict) -> None:
    """A sea lane straight from Shenzhen into a MY warehouse skips customs: it was the cheapest
    inbound option (no duty at all, not even SKU-B's own 10 %) and nobody was told."""
    doc = copy.deepcopy(tiny)
    doc["lanes"].append(
        {"id": "SEA-WH", "from": "CN-SZX", "to": "WH-KUL", "mode": "sea",
         "transit_hours": 170, "cost_per_m3": 38.0}
    )  # fmt: skip
    (w,) = _warnings(doc)
    assert w.startswith("inbound CN-SZX -> WH-KUL (lanes SEA-WH): enters MY from CN")
    assert "no duty is charged" in w
    # a duty_rate of 0 says the lane clears customs (duty-free apart from SKUs' own rates)
    doc["lanes"][-1]["duty_rate"] = 0.0
    assert _warnings(doc) == ()


def test_gateway_path_without_a_duty_lane(tiny: dict) -> None:
    """The border is crossed at the gateway, the last lane is domestic: still no customs."""
    doc = copy.deepcopy(tiny)
    for ln in doc["lanes"]:
        if ln["id"] == "PKG-PEN-customs":
            del ln["duty_rate"]
    (w,) = _warnings(doc)
    assert w.startswith("inbound CN-SZX -> WH-PEN (lanes SZX-PKG-sea, PKG-PEN-customs)")


def test_direct_line_without_duty(tiny: dict) -> None:
    doc = copy.deepcopy(tiny)
    del doc["lanes"][3]["duty_rate"]
    (w,) = _warnings(doc)
    assert w.startswith("direct CN-SZX -> Z-KUL (lanes SZX-KUL-express): enters MY from CN")


def test_out_of_bond_without_duty(tiny: dict) -> None:
    """A bonded warehouse's goods are not imported: a rate card without duty_rate releases them
    duty-free. With a duty_rate on the card, they pay."""
    doc = copy.deepcopy(tiny)
    doc["nodes"][3]["bonded"] = True  # WH-PEN
    ws = _warnings(doc)
    assert len(ws) == 3
    assert all(w.startswith("outbound WH-PEN -> Z-") and "out of bond" in w for w in ws)
    doc["rate_cards"][0]["duty_rate"] = 0.08
    assert _warnings(doc) == ()


def test_ordinary_warehouse_across_a_border_is_not_reported(tiny: dict) -> None:
    """Goods in an ordinary warehouse are imported; in a customs union (EU) they may cross
    into a member state without duty, so an outbound card from abroad is not reported."""
    doc = copy.deepcopy(tiny)
    doc["nodes"].append(
        {"id": "WH-SG", "kind": "warehouse", "lat": 1.33, "lon": 103.72, "country": "SG"}
    )
    doc["lanes"].append(
        {"id": "PKG-SG-customs", "from": "MY-PKG", "to": "WH-SG", "mode": "customs",
         "duty_rate": 0.0}
    )  # fmt: skip
    doc["rate_cards"][0]["from_countries"] = ["SG"]
    data = compile_network(parse_scenario(doc))
    assert any(data.warehouses[s] == "WH-SG" for s in data.outbound.src)
    assert data.customs_warnings == ()


def test_duty_twice(tiny: dict) -> None:
    """Duty on the sea lane into the MY port and again on the customs lane: paid twice."""
    doc = copy.deepcopy(tiny)
    doc["lanes"][0]["duty_rate"] = 0.08
    ws = _warnings(doc)
    assert len(ws) == 2
    assert all("pays the duty of MY twice" in w for w in ws)


def test_no_duty_lane_anywhere(tiny: dict) -> None:
    """Without a single duty lane (no duty dimension at all), every border crossing is reported."""
    doc = copy.deepcopy(tiny)
    for ln in doc["lanes"]:
        ln.pop("duty_rate", None)
    ws = _warnings(doc)
    assert [w.split(" (")[0] for w in ws] == [
        "inbound CN-SZX -> WH-KUL",
        "inbound CN-SZX -> WH-PEN",
        "direct CN-SZX -> Z-KUL",
    ]


def test_many_flagged_options_are_counted_not_listed(
    tiny: dict, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Past MAX_CUSTOMS_WARNINGS lines the rest of the options are counted in one last line."""
    import network.compile

    doc = copy.deepcopy(tiny)
    for ln in doc["lanes"]:
        ln.pop("duty_rate", None)  # every path into MY skips customs now
    every = _warnings(doc)
    assert len(every) >= 3 and not every[-1].startswith("...")
    monkeypatch.setattr(network.compile, "MAX_CUSTOMS_WARNINGS", 1)
    capped = _warnings(doc)
    assert capped == (every[0], f"... and {len(every) - 1} more option(s) like these")
