"""Write a plan: ``plan.json`` (DESIGN §7), ``plan.geojson`` (nodes and flows), ``map.png``,
``report.html``.

The map is drawn offline with matplotlib's Agg backend (no tiles, no network) over the country
outlines packaged with ``network.outlines``: warehouses
sized by stock, demand zones, origins, and flows coloured by mode. Flows are aggregated over
SKUs per (source, destination, lane sequence) so the files stay small; each GeoJSON flow keeps
its units, hours and on-time flag, and its geometry follows the lanes' nodes. Tonight's
transfers between warehouses (format v1.1) are flows of kind ``transfer`` and mode
``transfer``, drawn dash-dotted over the other flows (``TRANSFER_STYLE``).
"""

from __future__ import annotations

import json
import math
from collections import defaultdict
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO

if TYPE_CHECKING:
    from optimizer.plan.document import Plan
    from optimizer.plan.planning import PlanOutcome

__all__ = [
    "MODE_COLOURS",
    "TRANSFER_STYLE",
    "draw_map",
    "flows_geojson",
    "inventory_line_problems",
    "map_figure",
    "read_inventory_rows",
    "write_plan",
    "write_plan_json",
]

#: Plans with more rows (fulfilment, replenishment, stock) are written as compact JSON.
PRETTY_MAX_ROWS = 20_000

MODE_COLOURS = {
    "sea": "#1f77b4",
    "rail": "#8c564b",
    "air": "#d62728",
    "truck": "#7f7f7f",
    "express": "#9467bd",
    "customs": "#17becf",
    "last_mile": "#2ca02c",
    "transfer": "#bcbd22",
}
#: matplotlib line style of transfers between warehouses (other flows: solid, late dashed).
TRANSFER_STYLE = "-."


def _lane_path(
    lane_ids: list[str], geo: dict[str, Any], src: str, dst: str
) -> tuple[list[str], list[str]]:
    """Node ids along a lane sequence and the lanes' modes."""
    lanes = geo.get("lanes", {})
    nodes = [src]
    modes = []
    for ln in lane_ids:
        if ln in lanes:
            _f, t, mode = lanes[ln]
        else:  # rate-card lane CARD:WAREHOUSE:ZONE
            parts = ln.split(":")
            t = parts[-1] if len(parts) == 3 else dst
            mode = geo.get("cards", {}).get(parts[0], "last_mile")
        nodes.append(t)
        modes.append(mode)
    if nodes[-1] != dst:
        nodes.append(dst)
    return nodes, modes


def _main_mode(modes: list[str]) -> str:
    for m in ("air", "express", "sea", "rail", "truck", "last_mile"):
        if m in modes:
            return m
    return modes[0] if modes else "last_mile"


def flows_geojson(plan: Plan, geo: dict[str, Any]) -> dict[str, Any]:
    """A GeoJSON FeatureCollection of the plan's nodes and (SKU-aggregated) flows."""
    nodes = geo.get("nodes", {})
    stock_by_wh: dict[str, float] = defaultdict(float)
    for s in plan.stock or ():
        stock_by_wh[s.warehouse] += s.units
    open_wh = {w.id: w for w in plan.warehouses or ()}
    feats: list[dict[str, Any]] = []
    for nid, n in nodes.items():
        props: dict[str, Any] = {"id": nid, "kind": n["kind"], "country": n["country"]}
        if n["kind"] == "warehouse" and nid in open_wh:
            w = open_wh[nid]
            props.update(
                {
                    "open": w.open,
                    "stock_units": stock_by_wh.get(nid, 0.0),
                    "storage_used_m3": w.storage_used_m3,
                    "throughput_used_per_day": w.throughput_used_per_day,
                }
            )
        feats.append(
            {
                "type": "Feature",
                "geometry": {"type": "Point", "coordinates": [n["lon"], n["lat"]]},
                "properties": props,
            }
        )
    agg: dict[tuple[str, str, str, tuple[str, ...]], dict[str, Any]] = {}
    # (kind, source, destination, lanes, units, hours, on time) of every flow row
    rows: list[tuple[str, str | None, str, tuple[str, ...], float, float | None, bool | None]]
    rows = [
        ("replenishment", r.origin, r.warehouse, r.lanes, r.units, r.lead_time_hours, None)
        for r in plan.replenishment or ()
    ]
    rows += [
        ("fulfilment", r.source, r.zone, r.lanes, r.units, r.hours, r.on_time)
        for r in plan.fulfilment or ()
    ]
    # tonight's transfers between warehouses (one lane each)
    rows += [
        ("transfer", r.from_, r.to, (r.lane,), r.units, r.hours, None) for r in plan.transfers or ()
    ]
    for kind, src, dst, lanes, units, hours, on_time in rows:
        if src is None:
            continue
        key = (kind, src, dst, lanes)
        a = agg.get(key)
        if a is None:
            path, modes = _lane_path(list(lanes), geo, src, dst)
            a = agg[key] = {
                "kind": kind,
                "source": src,
                "destination": dst,
                "lanes": list(lanes),
                "mode": "transfer" if kind == "transfer" else _main_mode(modes),
                "units": 0.0,
                "skus": 0,
                "path": path,
                "hours": hours,
                "on_time": on_time,
            }
        a["units"] += float(units)
        a["skus"] += 1
    for a in agg.values():
        coords = [[nodes[p]["lon"], nodes[p]["lat"]] for p in a.pop("path") if p in nodes]
        if len(coords) < 2:
            continue
        feats.append(
            {
                "type": "Feature",
                "geometry": {"type": "LineString", "coordinates": coords},
                "properties": a,
            }
        )
    return {"type": "FeatureCollection", "features": feats}


def draw_map(plan: Plan, gj: dict[str, Any], path: Path | BinaryIO) -> None:
    """Draw the plan's map as a PNG (to a file path or a binary stream).

    Country outlines (``network.outlines``) under the plan's nodes and flows; the frame is the
    plan's extent with a margin. Drawn with the object API of matplotlib (no pyplot state), so it
    may run in any thread.
    """
    map_figure(plan, gj).savefig(path, format="png")


def map_figure(plan: Plan, gj: dict[str, Any]) -> Any:
    """The matplotlib ``Figure`` of :func:`draw_map` (one axes; flows as line collections
    labelled ``"MODE STYLE"``)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.collections import LineCollection, PolyCollection
    from matplotlib.figure import Figure
    from matplotlib.lines import Line2D

    from network.outlines import outline_rings

    fig = Figure(figsize=(10, 8), dpi=110)
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    coords = [
        c
        for f in gj["features"]
        for c in (
            [f["geometry"]["coordinates"]]
            if f["geometry"]["type"] == "Point"
            else f["geometry"]["coordinates"]
        )
    ]
    if coords:
        lons, lats = [c[0] for c in coords], [c[1] for c in coords]
        pad = max(2.0, 0.08 * max(max(lons) - min(lons), max(lats) - min(lats)))
        box = (min(lons) - pad, min(lats) - pad, max(lons) + pad, max(lats) + pad)
        ax.add_collection(
            PolyCollection(
                outline_rings(box),
                facecolors="#eef0f2",
                edgecolors="#9aa3ad",
                linewidths=0.5,
                zorder=0,
            )
        )
        ax.set_xlim(box[0], box[2])
        ax.set_ylim(box[1], box[3])
    used_modes = set()
    lines = [f for f in gj["features"] if f["geometry"]["type"] == "LineString"]
    umax = max((f["properties"]["units"] for f in lines), default=1.0) or 1.0
    # one collection per (mode, line style): a large plan has tens of thousands of flows;
    # transfers between warehouses dash-dotted and above the other flows
    groups: dict[tuple[str, str], tuple[list[Any], list[float]]] = defaultdict(lambda: ([], []))
    for f in lines:
        p = f["properties"]
        mode = p["mode"]
        used_modes.add(mode)
        if p.get("kind") == "transfer":
            style = TRANSFER_STYLE
        else:
            style = "-" if p.get("on_time", True) is not False else "--"
        segs, widths = groups[mode, style]
        segs.append(f["geometry"]["coordinates"])
        widths.append(0.4 + 2.5 * math.sqrt(p["units"] / umax))
    for (mode, style), (segs, widths) in groups.items():
        transfer = style == TRANSFER_STYLE
        ax.add_collection(
            LineCollection(
                segs,
                colors=MODE_COLOURS.get(mode, "#333333"),
                linewidths=[w + 1.0 for w in widths] if transfer else widths,
                alpha=0.9 if transfer else 0.55,
                zorder=2 if transfer else 1,
                linestyles=style,
                label=f"{mode} {style}",
            )
        )
    if lines and not coords:
        ax.autoscale_view()
    pts = [f for f in gj["features"] if f["geometry"]["type"] == "Point"]
    smax = max((f["properties"].get("stock_units", 0.0) for f in pts), default=1.0) or 1.0
    zones: list[tuple[float, float]] = []
    others: list[tuple[float, float]] = []
    for f in pts:
        lon, lat = f["geometry"]["coordinates"]
        p = f["properties"]
        if p["kind"] == "warehouse":
            size = 30 + 600 * math.sqrt(p.get("stock_units", 0.0) / smax)
            ax.scatter(
                [lon],
                [lat],
                s=size,
                c="#ff7f0e" if p.get("open") else "white",
                edgecolors="black",
                zorder=3,
                linewidths=0.8,
            )
            if p.get("open"):
                ax.annotate(
                    p["id"], (lon, lat), fontsize=6, xytext=(4, 4), textcoords="offset points"
                )
        elif p["kind"] == "zone":
            zones.append((lon, lat))
        elif p["kind"] == "origin":
            ax.scatter([lon], [lat], s=70, marker="s", c="#d62728", zorder=3)
            ax.annotate(p["id"], (lon, lat), fontsize=7, xytext=(4, 4), textcoords="offset points")
        else:
            others.append((lon, lat))
    # zones and gateways in one call each (a scatter call per point is slow on large maps)
    if zones:
        ax.scatter([p[0] for p in zones], [p[1] for p in zones], s=6, c="#444444", zorder=2)
    if others:
        ax.scatter(
            [p[0] for p in others],
            [p[1] for p in others],
            s=12,
            marker="^",
            c="#17becf",
            zorder=2,
        )
    handles = [
        Line2D(
            [0],
            [0],
            color=MODE_COLOURS.get(m, "#333"),
            lw=2,
            ls=TRANSFER_STYLE if m == "transfer" else "-",
            label="transfer between warehouses" if m == "transfer" else m,
        )
        for m in sorted(used_modes)
    ]
    handles += [
        Line2D(
            [0],
            [0],
            marker="o",
            ls="",
            mfc="#ff7f0e",
            mec="black",
            label="warehouse (size = stock)",
        ),
        Line2D([0], [0], marker="s", ls="", color="#d62728", label="origin"),
        Line2D([0], [0], marker="o", ls="", color="#444444", ms=3, label="zone"),
    ]
    ax.legend(handles=handles, loc="best", fontsize=7)
    svc = plan.service
    obj = plan.objective
    ax.set_title(
        f"{plan.scenario}: {plan.status}, cost {obj:,.0f}"
        if obj is not None
        else f"{plan.scenario}: no plan",
        fontsize=10,
    )
    if svc is not None and svc.on_time_share is not None:
        ax.text(
            0.01,
            0.01,
            f"on time {svc.on_time_share:.1%}",
            transform=ax.transAxes,
            fontsize=8,
        )
    ax.set_xlabel("longitude")
    ax.set_ylabel("latitude")
    ax.set_aspect("equal", adjustable="box" if coords else "datalim")
    ax.set_facecolor("#f7fbff")
    fig.tight_layout()
    return fig


_draw = draw_map  # write_plan's keyword ``draw_map`` shadows the function


def write_plan(
    outcome: PlanOutcome,
    out_dir: str | Path,
    *,
    draw_map: bool = True,
    deadline: float | None = None,
    map_note: str | None = None,
) -> dict[str, Path]:
    """Write ``plan.json``, ``plan.geojson``, ``map.png`` and ``report.html`` (a self-contained
    page, :mod:`optimizer.plan.report`) into ``out_dir`` (created).

    ``deadline`` (a ``time.perf_counter()`` value, the end of the caller's time limit): the map
    is left out when less than :data:`~optimizer.plan.planning.MAP_SECONDS` remain. A map left
    out (``draw_map`` false with a ``map_note``, or for the deadline) is said in the plan's
    notes.

    Returns
    -------
    dict
        File kind → path written.
    """
    import time

    from optimizer.plan.planning import MAP_SECONDS

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths = {"plan": out / "plan.json", "geojson": out / "plan.geojson"}
    plan = outcome.plan
    if draw_map and deadline is not None and deadline - time.perf_counter() < MAP_SECONDS:
        draw_map = False
        map_note = (
            f"map.png not drawn: {max(0.0, deadline - time.perf_counter()):.1f} s of the time "
            f"limit were left, drawing it takes about {MAP_SECONDS:g} s"
        )
    if not draw_map:
        (out / "map.png").unlink(missing_ok=True)  # not last run's map beside this plan
        if map_note:
            plan = replace(plan, notes=(*(plan.notes or ()), map_note))
    write_plan_json(plan, paths["plan"])
    gj = flows_geojson(plan, outcome.geo)
    paths["geojson"].write_text(json.dumps(gj, allow_nan=False) + "\n", encoding="utf-8")
    paths.update(write_state_csv(plan, out))
    if draw_map:
        paths["map"] = out / "map.png"
        _draw(plan, gj, paths["map"])
    from optimizer.plan.report import report_html

    paths["report"] = out / "report.html"
    png = paths["map"].read_bytes() if draw_map else None
    paths["report"].write_text(report_html(plan, map_png=png), encoding="utf-8")
    return paths


def write_plan_json(plan: Plan, path: str | Path) -> Path:
    """Write ``plan`` as its JSON document at ``path``: indented up to :data:`PRETTY_MAX_ROWS`
    rows (fulfilment, replenishment, stock), else compact and streamed a chunk of rows at a
    time (:meth:`Plan.iter_json`) into a temporary file renamed over ``path`` when whole.

    Indented JSON goes through the standard library's pure-Python encoder, several times slower
    than the compact C encoder on a tier-L plan's million rows (benchmarks/README.md, "What-if
    at tier L").
    """
    from optimizer.plan.document import plan_rows

    path = Path(path)
    if plan_rows(plan) <= PRETTY_MAX_ROWS:
        path.write_text(
            json.dumps(plan.to_json(), indent=1, allow_nan=False) + "\n", encoding="utf-8"
        )
        return path
    tmp = path.with_name(f".{path.name}.part")
    with tmp.open("w", encoding="utf-8") as f:
        f.writelines(plan.iter_json())
        f.write("\n")
    tmp.replace(path)
    return path


def _lot_key(sku: str, warehouse: str, kind: str | None, hours: float) -> tuple[Any, ...]:
    """A lot of tonight's stock: SKU, warehouse, ``on_hand``/``in_transit``, hours until it
    arrives (0 on hand), rounded as the plan's rows carry it."""
    transit = kind == "in_transit"
    return (sku, warehouse, transit, round(hours, 6) if transit else 0.0)


def transfer_units(plan: Plan) -> list[int]:
    """Whole units of each of the plan's transfers, as ``transfers.csv`` books them.

    A TMS books whole units (no one picks 0.14 of a unit), and every unit booked must be in
    the lot it is taken from: rounding each row on its own let two rows of one lot at .5
    (337.5 and 163.5 from a lot of 501 units) book 502. So the rows of one lot are rounded
    together: the lot's total is rounded (half up) but never above the whole units the lot
    holds (its ``inventory`` row, when the plan lists it), and shared out by largest
    remainder: each row is its units rounded down or up, and the rows sum to that total.
    """
    rows = plan.transfers or ()
    held: dict[tuple[Any, ...], float] = defaultdict(float)
    for irow in plan.inventory or ():
        key = _lot_key(irow.sku, irow.warehouse, irow.kind, float(irow.arrives_in_hours or 0.0))
        held[key] += float(irow.units)
    lots: dict[tuple[Any, ...], list[int]] = defaultdict(list)
    for i, t in enumerate(rows):
        arrives = float(t.available_in_hours or 0.0) - float(t.hours)
        lots[_lot_key(t.sku, t.from_, t.lot, arrives)].append(i)
    out = [0] * len(rows)
    for key, idx in lots.items():
        units = [max(0.0, float(rows[i].units)) for i in idx]
        total = math.floor(math.fsum(units) + 0.5)
        if key in held:
            total = min(total, math.floor(held[key] + 1e-9))
        base = [math.floor(u + 1e-9) for u in units]
        extra = total - sum(base)
        # the largest remainders get a unit more (ties: the first row)
        for n in sorted(range(len(idx)), key=lambda n: -(units[n] - base[n]))[: max(0, extra)]:
            base[n] += 1
        for i, b in zip(idx, base, strict=True):
            out[i] = b
    return out


def state_csv(plan: Plan) -> dict[str, bytes]:
    """``orders.csv`` (for a WMS) and ``transfers.csv`` (for a TMS) as bytes, header first.

    ``orders.csv``: ``sku,warehouse,units,lanes`` (lanes joined by ``>``), tonight's
    replenishment bookings, units rounded up; ``transfers.csv``:
    ``sku,from,to,lane,units,hours``, units in whole units, the rows of one lot rounded
    together so that they never book more than the lot holds (:func:`transfer_units`; the
    plan's flows are continuous). Both exist, possibly with the header only.
    """
    import csv
    import io

    orders, transfers = io.StringIO(), io.StringIO()
    w = csv.writer(orders, lineterminator="\r\n")
    w.writerow(["sku", "warehouse", "units", "lanes"])
    # an order is whole units already (the stocking level's shortfall, rounded up so that it
    # covers it) and draws on no lot: rounding up is what it means
    for r in plan.orders or ():
        w.writerow([r.sku, r.warehouse, math.ceil(r.units - 1e-9), ">".join(r.lanes)])
    w = csv.writer(transfers, lineterminator="\r\n")
    w.writerow(["sku", "from", "to", "lane", "units", "hours"])
    for t, units in zip(plan.transfers or (), transfer_units(plan), strict=True):
        w.writerow([t.sku, t.from_, t.to, t.lane, units, t.hours])
    return {
        "orders.csv": orders.getvalue().encode("utf-8"),
        "transfers.csv": transfers.getvalue().encode("utf-8"),
    }


def write_state_csv(plan: Plan, out: Path) -> dict[str, Path]:
    """Write :func:`state_csv`'s two files into ``out``."""
    files = state_csv(plan)
    paths = {"orders": out / "orders.csv", "transfers": out / "transfers.csv"}
    for key, path in paths.items():
        path.write_bytes(files[f"{key}.csv"])
    return paths


def read_inventory_rows(text: str, name: str) -> tuple[list[dict[str, Any]], list[int]]:
    """The ``inventory`` rows of an inventory CSV and the CSV line each came from.

    :func:`network.state.read_inventory_csv` parses the rows; before it, a UTF-8 byte-order
    mark is dropped (spreadsheet exports start with one) and every record is checked to have
    no more fields than the header (empty trailing cells are dropped), naming the line.

    Raises
    ------
    ValueError
        One line per problem, each naming the CSV line.
    """
    import csv
    import io

    from network.state import read_inventory_csv

    text = text.removeprefix("\ufeff")
    reader = csv.reader(io.StringIO(text))
    header = next(reader, None)
    if header is None:
        return read_inventory_csv(text, name), []
    records, lines, probs = [header], [], []
    for rec in reader:
        if not rec:
            continue  # a blank line, as csv.DictReader skips it
        while len(rec) > len(header) and not rec[-1].strip():
            rec = rec[:-1]
        if len(rec) > len(header):
            probs.append(
                f"{name} line {reader.line_num}: {len(rec)} fields, the header has {len(header)}"
            )
        records.append(rec)
        lines.append(reader.line_num)
    if probs:
        raise ValueError("\n".join(probs))
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\n").writerows(records)
    return read_inventory_csv(buf.getvalue(), name), lines


def inventory_line_problems(problems: list[Any], lines: list[int]) -> list[Any]:
    """Scenario problems with ``inventory[i]`` (an index into the CSV's rows) replaced by the
    CSV line ``i`` came from, as :func:`read_inventory_rows` gives it."""
    import re

    from network.scenario import Problem

    def line(m: re.Match[str]) -> str:
        i = int(m.group(1))
        return f"line {lines[i]}" if i < len(lines) else m.group(0)

    return [
        Problem(re.sub(r"inventory\[(\d+)\]", line, p.where), p.message)
        if isinstance(p, Problem)
        else p
        for p in problems
    ]
