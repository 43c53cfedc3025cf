"""Tonight's transfers between warehouses on the plan's map: GeoJSON flows of kind
``transfer`` and a dash-dotted line in map.png (and the console draws them from the GeoJSON)."""

from __future__ import annotations

import io
import json
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from matplotlib.collections import LineCollection
from matplotlib.colors import to_rgb
from matplotlib.image import imread

from network.scenario import parse_scenario
from optimizer.allocation.params import AllocationParams
from optimizer.plan.document import Plan
from optimizer.plan.io import (
    MODE_COLOURS,
    TRANSFER_STYLE,
    draw_map,
    flows_geojson,
    map_figure,
    write_plan,
)
from optimizer.plan.planning import PlanOutcome, plan_scenario
from tests.helpers import stranded_doc

ROOT = Path(__file__).resolve().parents[3]


@pytest.fixture(scope="module")
def stranded() -> PlanOutcome:
    """Golden case (a): 780 units move WH-A -> WH-B on lane A-B."""
    return plan_scenario(parse_scenario(stranded_doc(0.5)), AllocationParams(relative_gap=0))


def _plan(out: PlanOutcome) -> Plan:
    return out.plan


def _transfer_lines(gj: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        f
        for f in gj["features"]
        if f["geometry"]["type"] == "LineString" and f["properties"]["kind"] == "transfer"
    ]


def test_transfers_are_geojson_lines_between_the_warehouses(stranded: PlanOutcome) -> None:
    plan = _plan(stranded)
    assert plan.transfers is not None
    assert sum(t.units for t in plan.transfers) == pytest.approx(780.0)
    gj = flows_geojson(plan, stranded.geo)
    lines = _transfer_lines(gj)
    assert len(lines) == 1
    p = lines[0]["properties"]
    assert (p["source"], p["destination"], p["lanes"], p["mode"]) == (
        "WH-A",
        "WH-B",
        ["A-B"],
        "transfer",
    )
    assert p["units"] == pytest.approx(780.0)
    assert p["hours"] == pytest.approx(10.0)
    nodes = stranded.geo["nodes"]
    assert lines[0]["geometry"]["coordinates"] == [
        [nodes["WH-A"]["lon"], nodes["WH-A"]["lat"]],
        [nodes["WH-B"]["lon"], nodes["WH-B"]["lat"]],
    ]
    # a plan without transfers has no such line
    bare = replace(plan, transfers=None)
    assert _transfer_lines(flows_geojson(bare, stranded.geo)) == []


def test_map_draws_transfers_dash_dotted_in_their_colour(stranded: PlanOutcome) -> None:
    plan = _plan(stranded)
    gj = flows_geojson(plan, stranded.geo)
    ax = map_figure(plan, gj).axes[0]
    coll = [
        c
        for c in ax.collections
        if isinstance(c, LineCollection) and c.get_label() == f"transfer {TRANSFER_STYLE}"
    ]
    assert len(coll) == 1
    c = coll[0]
    assert np.allclose(c.get_colors()[0][:3], to_rgb(MODE_COLOURS["transfer"]))
    # a dash pattern (offset, [on, off, on, off]): dash-dot, unlike solid or dashed flows
    _offset, dashes = c.get_linestyle()[0]
    assert dashes is not None and len(dashes) == 4
    assert np.allclose(c.get_segments()[0], gj_coords(gj))
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert "transfer between warehouses" in legend


def gj_coords(gj: dict[str, Any]) -> list[list[float]]:
    return list(_transfer_lines(gj)[0]["geometry"]["coordinates"])


def _olive_pixels(plan: Plan, geo: dict[str, Any]) -> int:
    buf = io.BytesIO()
    draw_map(plan, flows_geojson(plan, geo), buf)
    buf.seek(0)
    img = imread(buf, format="png")[:, :, :3]
    # the transfer colour at alpha 0.9 over the sea background
    want = 0.9 * np.array(to_rgb(MODE_COLOURS["transfer"])) + 0.1 * np.array(to_rgb("#f7fbff"))
    return int((np.abs(img - want).max(axis=2) < 0.05).sum())


def test_map_png_shows_the_transfer(stranded: PlanOutcome) -> None:
    plan = _plan(stranded)
    without = replace(plan, transfers=())
    assert _olive_pixels(plan, stranded.geo) > 50
    assert _olive_pixels(without, stranded.geo) == 0


def test_written_geojson_and_console_style_transfers(stranded: PlanOutcome, tmp_path: Path) -> None:
    files = write_plan(stranded, tmp_path)
    gj = json.loads(files["geojson"].read_text())
    assert len(_transfer_lines(gj)) == 1
    js = (ROOT / "api" / "static" / "console.js").read_text(encoding="utf-8")
    # the console's map styles flows from the GeoJSON: transfers get their own dash pattern
    assert 'f.properties.kind === "transfer"' in js
    assert 'transfer: "#bcbd22"' in js
