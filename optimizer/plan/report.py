"""``report.html``: one self-contained page about a plan (for the nightly e-mail or a browser).

The page needs no network: CSS is inline, charts are inline SVG and the map is the plan's PNG as
a ``data:`` URI. It shows the KPIs (total cost and cost by term, on-time share overall and by
country, gap and bound, the naive baseline when it was run), the map, the warehouses with their
utilisation, the largest stock lines and the diagnosis (zones that miss the promise and why,
binding capacities, notes). Every value taken from the plan is HTML-escaped, so an id such as
``<script>`` shows as text.
"""

from __future__ import annotations

import base64
import datetime as dt
import math
from html import escape
from typing import Any

from optimizer.plan.document import Plan, ServiceSummary

__all__ = ["report_html"]

_CSS = """
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:0;color:#1d2733;
background:#f5f7fa}
main{max-width:1100px;margin:0 auto;padding:16px}
h1{font-size:22px;margin:8px 0}h2{font-size:17px;margin:24px 0 8px}
.kpis{display:grid;grid-template-columns:repeat(auto-fit,minmax(160px,1fr));gap:10px}
.kpi{background:#fff;border:1px solid #d8dee6;border-radius:6px;padding:10px}
.kpi b{display:block;font-size:20px}.kpi span{color:#5a6776;font-size:12px}
table{border-collapse:collapse;width:100%;background:#fff;font-size:13px}
th,td{border-bottom:1px solid #e3e8ee;padding:4px 8px;text-align:left}
td.n,th.n{text-align:right;font-variant-numeric:tabular-nums}
.bar{background:#dbe6f3;height:10px;border-radius:2px}.bar i{display:block;height:10px;
background:#2f6db5;border-radius:2px}
.bad{color:#b3261e}.ok{color:#1e7b34}img{max-width:100%;height:auto;border:1px solid #d8dee6}
.grid2{display:grid;grid-template-columns:1fr 1fr;gap:16px}
@media (max-width:700px){.grid2{grid-template-columns:1fr}}
footer{color:#5a6776;font-size:12px;margin:24px 0}
"""


def _f(v: Any, fmt: str = ",.0f", none: str = "–") -> str:
    if v is None or (isinstance(v, float) and not math.isfinite(v)):
        return none
    try:
        text = format(float(v), fmt)
        # a value that rounds to zero prints without a sign ("0", not "-0")
        return text[1:] if text.startswith("-") and not text.strip("-0.,") else text
    except (TypeError, ValueError):
        return escape(str(v))


def _pct(v: Any, digits: int = 1) -> str:
    return _f(None if v is None else 100.0 * float(v), f".{digits}f", "–") + (
        "" if v is None else " %"
    )


def _bar(share: float) -> str:
    w = max(0.0, min(1.0, share)) * 100
    return f'<div class="bar" aria-hidden="true"><i style="width:{w:.1f}%"></i></div>'


def _cost_svg(cost: dict[str, float]) -> str:
    """A horizontal bar chart of cost by term (inline SVG)."""
    items = [(k, float(v)) for k, v in cost.items() if v and float(v) > 0]
    if not items:
        return ""
    items.sort(key=lambda kv: -kv[1])
    top = items[0][1]
    row, width, label_w = 22, 640, 150
    h = row * len(items) + 6
    parts = [
        (
            f'<svg role="img" aria-label="cost by term" viewBox="0 0 {width + 120} {h}" '
            f'width="100%" style="max-width:{width + 120}px" xmlns="http://www.w3.org/2000/svg">'
        )
    ]
    for i, (k, v) in enumerate(items):
        y = 3 + i * row
        w = (width - label_w) * v / top
        parts.append(
            f'<text x="0" y="{y + 14}" font-size="12">{escape(k)}</text>'
            f'<rect x="{label_w}" y="{y + 3}" width="{w:.1f}" height="14" fill="#2f6db5"/>'
            f'<text x="{label_w + w + 6:.1f}" y="{y + 14}" font-size="12">{_f(v)}</text>'
        )
    parts.append("</svg>")
    return "".join(parts)


def _table(head: list[tuple[str, bool]], rows: list[list[str]], caption: str) -> str:
    th = "".join(f'<th scope="col"{" class=n" if n else ""}>{escape(h)}</th>' for h, n in head)
    body = "".join(
        "<tr>"
        + "".join(f"<td{' class=n' if head[i][1] else ''}>{c}</td>" for i, c in enumerate(r))
        + "</tr>"
        for r in rows
    )
    return (
        f'<table><caption class="sr" style="text-align:left;color:#5a6776">'
        f"{escape(caption)}</caption><thead><tr>{th}</tr></thead><tbody>{body}</tbody></table>"
    )


def _warehouses(plan: Plan) -> str:
    stock: dict[str, float] = {}
    for s in plan.stock or ():
        stock[s.warehouse] = stock.get(s.warehouse, 0.0) + float(s.units)
    rows = []
    for w in sorted(plan.warehouses or (), key=lambda w: (not w.open, w.id)):
        cap_s, cap_t = w.storage_m3, w.throughput_units_per_day
        # an unlimited capacity (inf) has no utilisation
        us = w.storage_used_m3 / cap_s if cap_s and math.isfinite(cap_s) else None
        ut = w.throughput_used_per_day / cap_t if cap_t and math.isfinite(cap_t) else None
        rows.append(
            [
                escape(str(w.id)),
                "open" if w.open else "closed",
                _f(stock.get(w.id, 0.0)),
                _f(w.storage_used_m3, ",.1f"),
                _pct(us) + (_bar(us) if us is not None else ""),
                _f(w.throughput_used_per_day, ",.0f"),
                _pct(ut) + (_bar(ut) if ut is not None else ""),
            ]
        )
    return _table(
        [
            ("warehouse", False),
            ("state", False),
            ("stock units", True),
            ("storage m³", True),
            ("storage used", True),
            ("units/day", True),
            ("throughput used", True),
        ],
        rows,
        "Warehouses and their utilisation",
    )


def _diagnosis(plan: Plan) -> str:
    d = plan.diagnosis or {}
    out = []
    target = d.get("target")
    if target is not None:
        met = d.get("target_met")
        out.append(
            f"<p>Target on-time share {_pct(target, 0)}: "
            f'<b class="{"ok" if met else "bad"}">{"met" if met else "missed"}</b>; '
            f"{int(d.get('zones_missing_promise') or 0)} zone(s) miss the promise.</p>"
        )
    misses = d.get("misses") or []
    if misses:
        rows = []
        for m in misses[:20]:
            f = m.get("fastest") or {}
            rows.append(
                [
                    escape(str(m.get("zone"))),
                    _f(m.get("units_late")),
                    _f(m.get("units_lost")),
                    escape(str(m.get("reason", ""))),
                    _f(f.get("hours"), ".1f")
                    + (f" from {escape(str(f['source']))}" if f.get("source") else ""),
                ]
            )
        out.append(
            _table(
                [
                    ("zone", False),
                    ("late units", True),
                    ("lost units", True),
                    ("reason", False),
                    ("fastest path (h)", False),
                ],
                rows,
                "Zones that miss the promise",
            )
        )
    binding = d.get("binding_capacities") or []
    if binding:
        out.append(
            "<h3>Binding capacities</h3><ul>"
            + "".join(
                f"<li>{escape(str(b.get('kind')))} of {escape(str(b.get('id')))}: "
                f"{_f(b.get('used'), ',.1f')} of {_f(b.get('capacity'), ',.1f')}</li>"
                for b in binding[:20]
            )
            + "</ul>"
        )
    unreachable = d.get("unreachable_zones") or []
    if unreachable:
        out.append(
            "<p>Zones no path reaches: "
            + ", ".join(escape(str(z)) for z in unreachable[:50])
            + "</p>"
        )
    notes = plan.notes or ()
    if notes:
        out.append(
            "<h3>Notes</h3><ul>" + "".join(f"<li>{escape(str(n))}</li>" for n in notes) + "</ul>"
        )
    viol = plan.evaluation.violations if plan.evaluation is not None else ()
    if viol:
        out.append(
            f'<p class="bad">The independent evaluator found {len(viol)} rule break(s), '
            f"e.g. {escape(str(viol[0]))}</p>"
        )
    return "".join(out) or "<p>Nothing to report.</p>"


def report_html(
    plan: Plan,
    *,
    map_png: bytes | None = None,
    top_stock: int = 30,
    generated: dt.datetime | None = None,
) -> str:
    """The report page of a plan (DESIGN §7 document) as one self-contained HTML string.

    Parameters
    ----------
    plan
        The plan.
    map_png
        The plan's map (``map.png`` bytes), embedded as a data URI; omitted when None.
    top_stock
        How many of the largest stock lines to list.
    generated
        The time printed in the footer (default: now, UTC).
    """
    cur = escape(plan.currency or "")
    name = escape(plan.scenario or "plan")
    svc = plan.service or ServiceSummary()
    cost = plan.cost.terms() if plan.cost is not None else {}
    opened = plan.open_warehouses
    kpi = [
        ("total cost" + (f" ({cur})" if cur else ""), _f(plan.objective)),
        ("status", escape(str(plan.status))),
        ("gap to bound", _pct(plan.gap, 3)),
        ("lower bound", _f(plan.bound)),
        ("on time", _pct(svc.on_time_share)),
        ("target", _pct(svc.target, 0)),
        ("units late", _f(svc.units_late)),
        ("units lost", _f(svc.units_lost)),
        ("warehouses open", str(len(opened))),
        ("solve time", _f(plan.solve_seconds, ",.1f") + " s"),
    ]
    base = plan.baseline
    if base:
        kpi.append(
            (
                "vs naive planner",
                f"saves {_f(base.get('saving'))} ({_pct(base.get('saving_share'))})",
            )
        )
    parts = [
        (
            f'<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
            f'<meta name="viewport" content="width=device-width,initial-scale=1">'
            f"<title>{name}: plan report</title><style>{_CSS}</style></head><body><main>"
        ),
        f"<h1>Plan report: {name}</h1>",
        '<section aria-label="key figures"><div class="kpis">'
        + "".join(f'<div class="kpi"><span>{escape(k)}</span><b>{v}</b></div>' for k, v in kpi)
        + "</div></section>",
    ]
    parts.append(
        '<div class="grid2"><section><h2>Cost by term</h2>'
        + _cost_svg(cost)
        + _table(
            [("term", False), ("cost", True), ("share", True)],
            [
                [escape(k), _f(v), _pct(v / sum(cost.values()) if sum(cost.values()) else None)]
                for k, v in sorted(cost.items(), key=lambda kv: -kv[1])
                if v
            ],
            "Cost by term",
        )
        + "</section>"
    )
    by_c = svc.by_country or {}
    parts.append(
        "<section><h2>On time by country</h2>"
        + _table(
            [
                ("country", False),
                ("on time", True),
                ("", False),
                ("late units", True),
                ("lost units", True),
            ],
            [
                [
                    escape(str(c)),
                    _pct(v.on_time_share),
                    _bar(float(v.on_time_share or 0)),
                    _f(v.units_late),
                    _f(v.units_lost),
                ]
                for c, v in sorted(by_c.items())
            ],
            "On-time share by country",
        )
        + "</section></div>"
    )
    if base:
        rows = [
            [escape(k), _f(cost.get(k, 0.0)), _f(v), _f(float(v) - cost.get(k, 0.0))]
            for k, v in (base.get("cost") or {}).items()
            if v or cost.get(k)
        ]
        parts.append(
            "<section><h2>Against the naive planner</h2><p>Naive: cost "
            f"{_f(base.get('objective'))}, on time {_pct(base.get('on_time_share'))}, "
            f"{int(base.get('warehouses_open') or 0)} warehouse(s), "
            f"{int(base.get('violations') or 0)} rule break(s).</p>"
            + _table(
                [("term", False), ("ours", True), ("naive", True), ("naive − ours", True)],
                rows,
                "Cost against the naive planner",
            )
            + "</section>"
        )
    if map_png:
        b64 = base64.b64encode(map_png).decode("ascii")
        parts.append(
            f'<section><h2>Map</h2><img alt="map of warehouses, zones and flows of '
            f'{name}" src="data:image/png;base64,{b64}"></section>'
        )
    parts.append("<section><h2>Warehouses</h2>" + _warehouses(plan) + "</section>")
    stock = sorted(plan.stock or (), key=lambda s: -float(s.units))[:top_stock]
    parts.append(
        f"<section><h2>Largest stock lines (top {len(stock)} of "
        f"{len(plan.stock or ())})</h2>"
        + _table(
            [("SKU", False), ("warehouse", False), ("units", True)],
            [[escape(s.sku), escape(s.warehouse), _f(s.units)] for s in stock],
            "Largest stock lines",
        )
        + "</section>"
    )
    parts.append("<section><h2>Diagnosis</h2>" + _diagnosis(plan) + "</section>")
    when = (generated or dt.datetime.now(dt.UTC)).strftime("%Y-%m-%d %H:%M UTC")
    parts.append(
        f"<footer>tradelane plan report, {escape(when)}; seed "
        f"{escape('' if plan.seed is None else str(plan.seed))}, solver "
        f"{escape(plan.solver or '')}.</footer></main></body></html>"
    )
    return "\n".join(parts)
