"""The ``validate`` and ``paths`` subcommands: summaries, JSON, and exit code 2 on bad input."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from api.cli import main


def test_validate_contract_example(data_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The shared example validates (exit 0) and the summary counts nodes, lanes and demand."""
    assert main(["validate", str(data_dir / "tiny-my.json")]) == 0
    out = capsys.readouterr().out
    assert "valid (format v1)" in out
    assert "1 origin, 1 gateway, 2 warehouse, 3 zone" in out
    assert "3,750 units in 5 rows" in out
    assert "unreachable zones: 0" in out


def test_validate_json(data_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """--json gives the same facts machine-readably, lanes counted by mode incl. rate-card lanes."""
    assert main(["validate", str(data_dir / "tiny-my.json"), "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["lanes"] == {"customs": 2, "express": 1, "last_mile": 6, "sea": 1}
    assert info["skus"] == 2 and info["demand_units"] == 3750


def test_validate_names_format_v11_and_counts_its_state(
    data_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A v1.1 document is reported as such (it said "format v1") with one line of counts of
    its inventory, returns rules, returns warehouses and stability penalty; --json too."""
    v11 = str(data_dir / "tiny-my-v11.json")
    assert main(["validate", v11]) == 0
    out = capsys.readouterr().out
    assert "valid (format v1.1)" in out
    assert (
        "  state:  2 inventory rows (2,400 units on hand, 300 in transit), 2 returns rules, "
        "1 warehouse taking returns, stability penalty 0.5 per unit\n" in out
    )
    assert main(["validate", v11, "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["format"] == "v1.1"
    assert info["state"] == {
        "inventory_rows": 2,
        "on_hand_units": 2400.0,
        "in_transit_units": 300.0,
        "returns_rules": 2,
        "returns_warehouses": 1,
        "stability_penalty_per_unit": 0.5,
    }


def test_validate_v1_written_in_full_is_still_v1(
    tmp_path: Path, data_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A v1 scenario written back with every default (as scenario.json beside a plan:
    ``inventory: []``, a zero stability penalty) is format v1, with no state line."""
    from network.scenario import load_scenario

    p = tmp_path / "s.json"
    p.write_text(json.dumps(load_scenario(data_dir / "tiny-my.json").to_document()))
    assert "inventory" in json.loads(p.read_text())
    assert main(["validate", str(p)]) == 0
    out = capsys.readouterr().out
    assert "valid (format v1)," in out and "state:" not in out
    assert main(["validate", str(p), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["format"] == "v1"


def test_validate_reports_unreachable_zone(
    tmp_path: Path, data_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A zone no path reaches is reported (not an error: exit 0)."""
    doc = json.loads((data_dir / "tiny-my.json").read_text())
    doc["nodes"].append({"id": "Z-FAR", "kind": "zone", "lat": 60.0, "lon": 10.0, "country": "NO"})
    doc["demand"].append({"sku": "SKU-A", "zone": "Z-FAR", "units": 5})
    p = tmp_path / "s.json"
    p.write_text(json.dumps(doc))
    assert main(["validate", str(p)]) == 0
    assert "unreachable zones: 1 (Z-FAR)" in capsys.readouterr().out


def test_validate_bad_input_exit_2(
    tmp_path: Path, data_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Every problem is printed on its own line naming the item, exit code 2, no traceback."""
    doc = json.loads((data_dir / "tiny-my.json").read_text())
    doc["lanes"][0]["to"] = "NOWHERE"
    doc["nodes"][2]["fixed_cost"] = -1
    p = tmp_path / "s.json"
    p.write_text(json.dumps(doc))
    assert main(["validate", str(p)]) == 2
    err = capsys.readouterr().err
    assert "error: s.json: lanes[0] (id 'SZX-PKG-sea').to: unknown node 'NOWHERE'" in err
    assert "error: s.json: nodes[2] (id 'WH-KUL').fixed_cost" in err
    assert "Traceback" not in err


def test_validate_refuses_true_for_a_number(
    tmp_path: Path, data_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """``cost_per_kg: true`` (YAML) is an error naming the field, as the service's 422 is; it was
    read as 1 and the scenario reported valid."""
    doc = json.loads((data_dir / "tiny-my.json").read_text())
    doc["lanes"][0]["cost_per_kg"] = True
    doc["nodes"][2]["fixed_cost"] = False
    p = tmp_path / "s.yaml"
    p.write_text(yaml.safe_dump(doc))
    assert main(["validate", str(p)]) == 2
    err = capsys.readouterr().err
    assert (
        "error: s.yaml: lanes[0] (id 'SZX-PKG-sea').cost_per_kg: "
        "Input should be a valid number (got True)" in err
    )
    assert "error: s.yaml: nodes[2] (id 'WH-KUL').fixed_cost: " in err and "(got False)" in err


def test_paths_lists_legs(data_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """paths prints each Pareto path with per-leg hours (clearance split) and per-leg cost."""
    assert (
        main(
            [
                "paths",
                str(data_dir / "tiny-my.json"),
                "--from",
                "CN-SZX",
                "--to",
                "WH-KUL",
                "--sku",
                "SKU-B",
                "--json",
            ]
        )
        == 0
    )
    res = json.loads(capsys.readouterr().out)
    assert len(res["paths"]) == 1
    p = res["paths"][0]
    assert p["lanes"] == ["SZX-PKG-sea", "PKG-KUL-customs"]
    assert [leg["clearance_hours"] for leg in p["legs"]] == [0, 8]
    assert p["hours"] == pytest.approx(18 + 168 + 6 + 8)
    assert sum(leg["cost"] for leg in p["legs"]) == pytest.approx(p["cost_per_unit"])


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        # an unknown source node
        (["--from", "NOPE", "--to", "Z-KUL"], "--from: unknown node 'NOPE'"),
        # an unknown SKU
        (["--from", "CN-SZX", "--to", "Z-KUL", "--sku", "SKU-Q"], "--sku: unknown SKU 'SKU-Q'"),
        # a label cap below one
        (["--from", "CN-SZX", "--to", "Z-KUL", "--max-labels", "0"], "--max-labels"),
    ],
)
def test_paths_bad_arguments(
    data_dir: Path, capsys: pytest.CaptureFixture[str], argv: list[str], message: str
) -> None:
    """Bad arguments to paths exit 2 with a message naming the argument."""
    assert main(["paths", str(data_dir / "tiny-my.json"), *argv]) == 2
    assert message in capsys.readouterr().err


def test_missing_file_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    """A scenario path that does not exist exits 2 with a one-line error."""
    assert main(["validate", "no/such/file.json"]) == 2
    assert "no such file or directory" in capsys.readouterr().err


def test_validate_warns_of_a_warehouse_tonights_stock_overfills(
    data_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A warehouse whose lots alone take more than its storage is a warning naming it and the
    excess, as ``plan`` notes it (only ``plan`` said so); the document stays valid."""
    doc = json.loads((data_dir / "tiny-my-v11.json").read_text())
    pen = next(n for n in doc["nodes"] if n["id"] == "WH-PEN")
    sku_a = next(k for k in doc["skus"] if k["id"] == "SKU-A")
    on_hand = sum(r["on_hand"] for r in doc["inventory"] if r["warehouse"] == "WH-PEN")
    pen["storage_m3"] = 0.5 * on_hand * sku_a["volume_m3"]
    f = tmp_path / "overfull.json"
    f.write_text(json.dumps(doc))
    assert main(["validate", str(f), "--json"]) == 0
    hits = [w for w in json.loads(capsys.readouterr().out)["warnings"] if "'WH-PEN'" in w]
    assert len(hits) == 1 and "above its storage" in hits[0], hits
