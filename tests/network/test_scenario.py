"""Scenario format v1: loading, and every rule enforced with an error naming the item."""

from __future__ import annotations

import copy
import json
import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from network.scenario import Scenario, ScenarioError, load_scenario, parse_scenario, unknown_fields


@pytest.fixture(scope="module")
def tiny(data_dir: Path) -> dict:
    """The contract example, as a raw document."""
    return json.loads((data_dir / "tiny-my.json").read_text())


def test_contract_example_loads(data_dir: Path) -> None:
    """The shared example scenario loads as it is, with every section populated."""
    s = load_scenario(data_dir / "tiny-my.json")
    assert s.name == "tiny"
    assert [n.kind for n in s.nodes].count("warehouse") == 2
    assert s.lanes[0].from_ == "CN-SZX"
    assert s.skus[1].duty_rates == {"MY": 0.1}
    assert sum(d.units for d in s.demand) == 3750
    assert unknown_fields(s) == []


def test_yaml_and_json_are_the_same(tmp_path: Path, tiny: dict) -> None:
    """A YAML document with the same structure gives the same scenario as the JSON one."""
    p = tmp_path / "s.yaml"
    p.write_text(yaml.safe_dump(tiny))
    assert load_scenario(p) == Scenario.model_validate(tiny)


def test_directory_with_demand_csv(tmp_path: Path, tiny: dict) -> None:
    """A directory holding network.json + demand.csv is one scenario; CSV rows become demand."""
    net = {k: v for k, v in tiny.items() if k != "demand"}
    (tmp_path / "network.json").write_text(json.dumps(net))
    rows = "\n".join(f"{d['sku']},{d['zone']},{d['units']}" for d in tiny["demand"])
    (tmp_path / "demand.csv").write_text("sku,zone,units\n" + rows + "\n")
    s = load_scenario(tmp_path)
    assert s == Scenario.model_validate(tiny)


def _mutate(doc: dict, path: str, value: object) -> dict:
    """Copy ``doc`` and set a dotted path (``nodes.2.fixed_cost``); ``...=DEL`` deletes."""
    out = copy.deepcopy(doc)
    *head, last = path.split(".")
    node = out
    for part in head:
        node = node[int(part)] if part.isdigit() else node[part]
    key = int(last) if last.isdigit() else last
    if value == "DEL":
        del node[key]
    elif value == "APPEND":
        node[key].append(copy.deepcopy(node[key][0]))
    else:
        node[key] = value
    return out


BAD_CASES = [
    # a lane pointing at a node that does not exist
    ("lanes.0.to", "NOWHERE", "lanes[0] (id 'SZX-PKG-sea').to", "unknown node 'NOWHERE'"),
    # a lane from a node that does not exist
    ("lanes.1.from", "GHOST", "lanes[1] (id 'PKG-KUL-customs').from", "unknown node 'GHOST'"),
    # two nodes sharing one id
    ("nodes.3.id", "WH-KUL", "nodes[3] (id 'WH-KUL')", "duplicate node id"),
    # two lanes sharing one id
    ("lanes.1.id", "SZX-PKG-sea", "lanes[1] (id 'SZX-PKG-sea')", "duplicate lane id"),
    # two SKUs sharing one id
    ("skus.1.id", "SKU-A", "skus[1] (id 'SKU-A')", "duplicate sku id"),
    # negative fixed cost
    ("nodes.2.fixed_cost", -1, "nodes[2] (id 'WH-KUL').fixed_cost", "greater than or equal to 0"),
    # negative lane cost
    (
        "lanes.0.cost_per_m3",
        -38.0,
        "lanes[0] (id 'SZX-PKG-sea').cost_per_m3",
        "greater than or equal",
    ),
    # negative transit time
    (
        "lanes.0.transit_hours",
        -1,
        "lanes[0] (id 'SZX-PKG-sea').transit_hours",
        "greater than or equal",
    ),
    # negative capacity
    ("nodes.2.storage_m3", -5, "nodes[2] (id 'WH-KUL').storage_m3", "greater than or equal"),
    # share above 1
    ("service.min_on_time_share", 1.2, "service.min_on_time_share", "less than or equal to 1"),
    # share below 0
    ("service.min_on_time_share", -0.1, "service.min_on_time_share", "greater than or equal to 0"),
    # a mode outside the v1 list
    ("lanes.0.mode", "teleport", "lanes[0] (id 'SZX-PKG-sea').mode", "'sea'"),
    # a node kind outside the v1 list
    ("nodes.0.kind", "factory", "nodes[0] (id 'CN-SZX').kind", "'origin'"),
    # wrong type: text where a number belongs
    ("nodes.2.fixed_cost", "lots", "nodes[2] (id 'WH-KUL').fixed_cost", "valid number"),
    # wrong type: a list where a mapping belongs
    ("service", [1, 2], "service", "valid dictionary"),
    # latitude out of range
    ("nodes.4.lat", 95, "nodes[4] (id 'Z-KUL').lat", "less than or equal to 90"),
    # a required field missing
    ("skus.0.weight_kg", "DEL", "skus[0] (id 'SKU-A').weight_kg", "Field required"),
    # demand on an unknown SKU
    ("demand.0.sku", "SKU-Z", "demand[0].sku", "unknown SKU 'SKU-Z'"),
    # demand on an unknown zone
    ("demand.0.zone", "Z-NOPE", "demand[0].zone", "unknown zone 'Z-NOPE'"),
    # demand on a node that is not a zone
    ("demand.0.zone", "WH-KUL", "demand[0].zone", "is a warehouse, not a zone"),
    # negative demand
    ("demand.0.units", -3, "demand[0] (sku 'SKU-A', zone 'Z-KUL').units", "greater than or equal"),
    # duplicate demand row: an error, not a silent sum
    ("demand", "APPEND", "demand[5]", "duplicate demand for sku 'SKU-A' zone 'Z-KUL'"),
    # negative duty rate on a SKU
    ("skus.1.duty_rates", {"MY": -0.1}, "skus[1] (id 'SKU-B').duty_rates", "non-negative"),
    # zero horizon
    ("horizon_days", 0, "horizon_days", "greater than 0"),
    # a lane that loops on one node
    ("lanes.0.to", "CN-SZX", "lanes[0] (id 'SZX-PKG-sea')", "same node"),
    # a lane leaving a demand zone
    ("lanes.3.from", "Z-PEN", "lanes[3] (id 'SZX-KUL-express').from", "may not leave zone"),
    # per-country target in a country with no node
    (
        "service.min_on_time_share_by_country",
        {"XX": 0.9},
        "service.min_on_time_share_by_country.XX",
        "no node in country",
    ),
    # per-country target above 1
    (
        "service.min_on_time_share_by_country",
        {"MY": 1.5},
        "service.min_on_time_share_by_country",
        "[0, 1]",
    ),
    # rate card with zero speed
    ("rate_cards.0.km_per_hour", 0, "rate_cards[0] (id 'MY-std').km_per_hour", "greater than 0"),
    # infinite numbers (JSON's Infinity): they reached the solver as infinite coefficients
    ("nodes.2.fixed_cost", float("inf"), "nodes[2] (id 'WH-KUL').fixed_cost", "finite number"),
    ("skus.0.weight_kg", float("inf"), "skus[0] (id 'SKU-A').weight_kg", "finite number"),
    (
        "lanes.0.transit_hours",
        float("inf"),
        "lanes[0] (id 'SZX-PKG-sea').transit_hours",
        "finite number",
    ),
    # implausibly large demand (the plan came back infeasible, naming nothing)
    ("demand.0.units", 1e300, "demand[0] (sku 'SKU-A', zone 'Z-KUL').units", "at most 1e+12"),
    # a rate card of mode transfer: its lanes run warehouse -> zone, and a transfer lane joins
    # two warehouses (the card's lanes were listed as transfers into zones)
    (
        "rate_cards.0.mode",
        "transfer",
        "rate_cards[0] (id 'MY-std').mode",
        "a transfer lane joins two warehouses",
    ),
    # true/false where a number belongs: read as 1/0 (a share of true was a 100 % target);
    # demand rows already refused them, and so does the service's schema check
    ("service.min_on_time_share", True, "service.min_on_time_share", "valid number"),
    ("nodes.2.fixed_cost", False, "nodes[2] (id 'WH-KUL').fixed_cost", "valid number"),
    ("lanes.1.duty_rate", True, "lanes[1] (id 'PKG-KUL-customs').duty_rate", "valid number"),
    ("rate_cards.0.max_km", True, "rate_cards[0] (id 'MY-std').max_km", "valid number"),
    ("skus.1.duty_rates", {"MY": True}, "skus[1] (id 'SKU-B').duty_rates.MY", "(got True)"),
    (
        "service.min_on_time_share_by_country",
        {"MY": True},
        "service.min_on_time_share_by_country.MY",
        "valid number (got True)",
    ),
    ("horizon_days", True, "horizon_days", "valid number"),
]

# node hours on a kind of node whose hours no path counts: a warehouse's "handling_hours" was
# ignored without a word, so its outbound paths looked 12 h faster (and on time) than meant
NODE_HOURS_CASES = [
    (
        "nodes.2.handling_hours",
        12,
        "nodes[2] (id 'WH-KUL').handling_hours",
        "a warehouse's own hours are processing_hours",
    ),
    (
        "nodes.0.processing_hours",
        18,
        "nodes[0] (id 'CN-SZX').processing_hours",
        "an origin's own hours are handling_hours",
    ),
    ("nodes.1.processing_hours", 24, "nodes[1] (id 'MY-PKG').processing_hours", "this gateway"),
    ("nodes.4.handling_hours", 2, "nodes[4] (id 'Z-KUL').handling_hours", "this zone"),
]


@pytest.mark.parametrize(("path", "value", "where", "message"), NODE_HOURS_CASES)
def test_node_hours_no_path_counts_are_a_warning(
    tiny: dict, path: str, value: Any, where: str, message: str
) -> None:
    """Hours on a kind of node that does not spend them: the document stays valid (DESIGN §3
    keeps keys a node does not use), and a warning names the node, the field and the hours."""
    s = parse_scenario(_mutate(tiny, path, value))
    said = [w for w in unknown_fields(s) if w.startswith(where)]
    assert len(said) == 1 and message in said[0] and f"{value:g} h ignored" in said[0], said
    assert not any(w.startswith(where) for w in unknown_fields(parse_scenario(tiny)))


@pytest.mark.parametrize(
    ("path", "value", "where", "message"), BAD_CASES, ids=[f"{c[0]}={c[1]!r}" for c in BAD_CASES]
)
def test_bad_input_names_the_item(
    tiny: dict, path: str, value: object, where: str, message: str
) -> None:
    """Each malformed document raises ScenarioError with a line naming the offending item."""
    doc = _mutate(tiny, path, value)
    with pytest.raises(ScenarioError) as exc:
        parse_scenario(doc, source="s.json: ")
    lines = [str(p) for p in exc.value.problems]
    assert any(ln.startswith(f"s.json: {where}") and message in ln for ln in lines), lines


def test_zero_node_hours_on_any_kind_are_fine(tiny: dict) -> None:
    """A scenario written back in full lists every node field, 0 where unused: still valid."""
    s = parse_scenario(tiny)
    doc = s.to_document()
    assert doc["nodes"][0]["processing_hours"] == 0.0
    assert doc["nodes"][2]["handling_hours"] == 0.0
    assert parse_scenario(doc) == s


def test_all_problems_reported_at_once(tiny: dict) -> None:
    """Several independent mistakes are all listed, one line each."""
    doc = _mutate(tiny, "lanes.0.to", "X1")
    doc = _mutate(doc, "lanes.1.to", "X2")
    doc = _mutate(doc, "demand.0.sku", "NOPE")
    doc = _mutate(doc, "nodes.2.fixed_cost", -1)  # a schema error beside the reference errors
    with pytest.raises(ScenarioError) as exc:
        parse_scenario(doc)
    assert len(exc.value.problems) == 4
    assert len(str(exc.value).splitlines()) == 4


def test_unknown_fields_are_warnings(tiny: dict) -> None:
    """A misspelt key is kept and reported as a warning, not silently dropped or fatal."""
    s = parse_scenario(_mutate(tiny, "nodes.2.fixd_cost", 5))
    assert unknown_fields(s) == ["nodes[2] (id 'WH-KUL').fixd_cost: unknown field (ignored)"]


CSV_CASES = [
    # a row with too few fields
    ("sku,zone,units\nSKU-A,Z-KUL\n", "demand.csv line 2", "expected 3 fields, got 2"),
    # a non-numeric unit count
    (
        "sku,zone,units\nSKU-A,Z-KUL,12\nSKU-A,Z-JHB,many\n",
        "demand.csv line 3.units",
        "not a number",
    ),
    # a header without the units column
    ("sku,zone,qty\nSKU-A,Z-KUL,1\n", "demand.csv line 1", "missing ['units']"),
    # an empty file
    ("", "demand.csv", "empty file"),
    # unknown SKU: named by its CSV line
    (
        "sku,zone,units\nSKU-A,Z-KUL,1\nSKU-Q,Z-KUL,1\n",
        "demand.csv line 3.sku",
        "unknown SKU 'SKU-Q'",
    ),
    # negative units: named by its CSV line
    ("sku,zone,units\n\nSKU-A,Z-KUL,-4\n", "demand.csv line 3.units", "greater than or equal to 0"),
    # duplicate rows: the second is named, with the first's line
    (
        "sku,zone,units\nSKU-A,Z-KUL,1\nSKU-A,Z-KUL,2\n",
        "demand.csv line 3",
        "(first at demand.csv line 2)",
    ),
]


@pytest.mark.parametrize(
    ("text", "where", "message"), CSV_CASES, ids=[c[1] + c[2] for c in CSV_CASES]
)
def test_bad_demand_csv_names_the_line(
    tmp_path: Path, tiny: dict, text: str, where: str, message: str
) -> None:
    """Bad CSV demand rows raise errors naming the CSV line (and the field)."""
    net = {k: v for k, v in tiny.items() if k != "demand"}
    (tmp_path / "network.json").write_text(json.dumps(net))
    (tmp_path / "demand.csv").write_text(text)
    with pytest.raises(ScenarioError) as exc:
        load_scenario(tmp_path)
    lines = [str(p) for p in exc.value.problems]
    assert any(ln.startswith(where) and message in ln for ln in lines), lines


def test_a_row_with_bad_units_still_has_its_ids_checked(tmp_path: Path, tiny: dict) -> None:
    """Every problem of a CSV in one pass: a row with bad units is also checked for an unknown
    SKU or zone (it used to be dropped first, so its unknown zone showed only on the next try)."""
    net = {k: v for k, v in tiny.items() if k != "demand"}
    (tmp_path / "network.json").write_text(json.dumps(net))
    (tmp_path / "demand.csv").write_text(
        "sku,zone,units\nSKU-A,Z-KUL,1\nSKU-Q,Z-KUL,1\nSKU-B,Z-XX,-1\n"
    )
    with pytest.raises(ScenarioError) as exc:
        load_scenario(tmp_path)
    lines = [str(p) for p in exc.value.problems]
    assert any(ln.startswith("demand.csv line 4.units") for ln in lines), lines
    assert any("line 3" in ln and "unknown SKU 'SKU-Q'" in ln for ln in lines), lines
    assert any("line 4" in ln and "unknown zone 'Z-XX'" in ln for ln in lines), lines


@pytest.mark.parametrize(
    ("name", "text", "message"),
    [
        # JSON syntax error: line and column given
        ("s.json", '{"name": "x",\n "nodes": [}', "s.json line 2 column 12: invalid JSON"),
        # YAML syntax error: line given
        ("s.yaml", "name: x\nnodes: [a\n b: c\n", "s.yaml line"),
        # a document that is not a mapping
        ("s.json", "[1, 2]", "a scenario is a mapping"),
        # unsupported extension
        ("s.txt", "{}", "expected a .json, .yaml or .yml file"),
        # a key given twice: the later value silently replaced the earlier one (a v1.1 snippet
        # pasted under a v1 document's own `lanes:` dropped every v1 lane)
        (
            "s.yaml",
            "name: x\nlanes:\n  - {id: a}\nskus: []\nlanes:\n  - {id: b}\n",
            "s.yaml line 5: invalid YAML: duplicate key 'lanes' (first at line 2)",
        ),
        (
            "s.yaml",
            "name: x\nnodes:\n  - id: W\n    fixed_cost: 1\n    fixed_cost: 2\n",
            "s.yaml line 5: invalid YAML: duplicate key 'fixed_cost' (first at line 4)",
        ),
        (
            "s.json",
            '{"name": "x",\n "nodes": [{"id": "W",\n   "id": "V"}]}',
            "s.json line 3: duplicate key 'id' (first at line 2)",
        ),
    ],
)
def test_unreadable_documents(tmp_path: Path, name: str, text: str, message: str) -> None:
    """Syntax errors and wrong file kinds are reported with their location."""
    p = tmp_path / name
    p.write_text(text)
    with pytest.raises(ScenarioError, match=re.escape(message)):
        load_scenario(p)


def test_missing_path() -> None:
    """A path that does not exist is a clear error, not a traceback."""
    with pytest.raises(ScenarioError, match="no such file or directory"):
        load_scenario("does/not/exist.json")


def test_directory_without_network_file_names_every_accepted_name(tmp_path: Path) -> None:
    """A directory with no network file says which names it looked for (all six)."""
    (tmp_path / "demand.csv").write_text("sku,zone,units\n")
    with pytest.raises(ScenarioError) as exc:
        load_scenario(tmp_path)
    msg = str(exc.value)
    for name in ("network", "scenario"):
        for suffix in (".json", ".yaml", ".yml"):
            assert f"{name}{suffix}" in msg, msg


@pytest.mark.parametrize(
    "text",
    [
        # plain rows (fast path)
        "sku,zone,units\nSKU-A,Z-KUL,5\nSKU-B,Z-PEN,2.5\n",
        # quoted fields and CRLF line ends (csv module path)
        'sku,zone,units\r\n"SKU-A","Z-KUL",5\r\n"SKU-B",Z-PEN,"2.5"\r\n',
        # padded cells, comment and blank lines, columns in another order
        "# forecast week 48\nunits , sku , zone\n\n 5 , SKU-A , Z-KUL\n2.5,SKU-B,Z-PEN\n",
    ],
)
def test_demand_csv_variants(tmp_path: Path, tiny: dict, text: str) -> None:
    """Quoted, padded, commented and reordered CSVs all give the same two demand rows."""
    net = {k: v for k, v in tiny.items() if k != "demand"}
    (tmp_path / "network.json").write_text(json.dumps(net))
    (tmp_path / "demand.csv").write_text(text)
    s = load_scenario(tmp_path)
    assert [tuple(d) for d in s.demand] == [("SKU-A", "Z-KUL", 5.0), ("SKU-B", "Z-PEN", 2.5)]


def test_many_bad_rows_are_summarised(tmp_path: Path, tiny: dict) -> None:
    """Thousands of bad rows give a bounded error list ending with a count of the rest."""
    net = {k: v for k, v in tiny.items() if k != "demand"}
    (tmp_path / "network.json").write_text(json.dumps(net))
    rows = "".join(f"SKU-X{i},Z-KUL,1\n" for i in range(3000))
    (tmp_path / "demand.csv").write_text("sku,zone,units\n" + rows)
    with pytest.raises(ScenarioError) as exc:
        load_scenario(tmp_path)
    probs = exc.value.problems
    assert str(probs[0]) == "demand.csv line 2.sku: unknown SKU 'SKU-X0'"
    assert "… and 2000 more rows with unknown SKUs" in str(probs[-1])
    assert len(probs) == 1001


def test_a_duty_rate_for_a_country_no_node_is_in_is_a_warning(tiny: dict) -> None:
    """``duty_rates: {"my": 0.1}`` (lower case) matched no node's country and was ignored
    without a word, the lane's rate charged instead: the key is named in a warning."""
    doc = copy.deepcopy(tiny)
    doc["skus"][0]["duty_rates"] = {"my": 0.1, "MY": 0.05}
    said = unknown_fields(parse_scenario(doc))
    sku = doc["skus"][0]["id"]
    want = (
        f"skus[0] (id {sku!r}).duty_rates.my: no node is in country 'my' "
        "(ignored; the lanes' duty_rate applies)"
    )
    assert said == [want]


def test_a_lane_between_warehouses_that_is_no_transfer_is_a_warning(tiny: dict) -> None:
    """A truck lane WH-KUL -> WH-PEN was accepted and used by no path (warehouses are joined
    only by transfer lanes): a warning names it; as a transfer lane it is fine."""
    from network.compile import compile_network

    doc = copy.deepcopy(tiny)
    doc["lanes"].append(
        {"id": "KUL-PEN-truck", "from": "WH-KUL", "to": "WH-PEN", "mode": "truck",
         "transit_hours": 5, "cost_per_unit": 0.2}
    )  # fmt: skip
    s = parse_scenario(doc)
    said = [w for w in unknown_fields(s) if "KUL-PEN-truck" in w]
    assert len(said) == 1 and "used by no path" in said[0], said
    data = compile_network(s)
    used = {
        data.lanes[j]
        for opts in (data.inbound, data.outbound, data.direct, data.transfer)
        for i in range(len(opts))
        for j in opts.lanes_of(i).tolist()
    }
    assert "KUL-PEN-truck" not in used and "PKG-KUL-customs" in used
    doc["lanes"][-1]["mode"] = "transfer"
    assert not [w for w in unknown_fields(parse_scenario(doc)) if "KUL-PEN-truck" in w]
