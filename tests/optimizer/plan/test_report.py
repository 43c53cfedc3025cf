"""``report.html`` (:mod:`optimizer.plan.report`): self-contained, escaped, with the plan's
figures."""

from __future__ import annotations

import re

from optimizer.plan.document import Plan
from optimizer.plan.report import report_html


def _plan(wh: str = "WH-1") -> dict:
    return {
        "scenario": "s<1>",
        "status": "optimal",
        "objective": 1500.0,
        "bound": 1490.0,
        "gap": 0.0067,
        "solve_seconds": 2.0,
        "currency": "USD",
        "cost": {"fixed": 1000.0, "outbound": 500.0, "duty": 0.0},
        "service": {
            "on_time_share": 0.96,
            "units_late": 4,
            "units_lost": 0,
            "target": 0.95,
            "by_country": {"MY": {"on_time_share": 0.96, "units_late": 4, "units_lost": 0}},
        },
        "warehouses": [
            {
                "id": wh,
                "open": True,
                "storage_used_m3": 50.0,
                "storage_m3": 200.0,
                "throughput_used_per_day": 10.0,
                "throughput_units_per_day": 40.0,
            }
        ],
        "stock": [{"sku": f"SKU-{i}", "warehouse": wh, "units": i} for i in range(50)],
        "diagnosis": {
            "target": 0.95,
            "target_met": True,
            "zones_missing_promise": 1,
            "misses": [
                {
                    "zone": "Z-<b>",
                    "units_late": 4,
                    "units_lost": 0,
                    "reason": "cost",
                    "fastest": {"hours": 80.0, "source": wh},
                }
            ],
        },
        "notes": ["a note & more"],
    }


def test_report_shows_kpis_utilisation_and_top_stock() -> None:
    """Total cost, gap, on-time share, utilisation (25 % storage) and the 30 largest stock lines
    (largest first) are on the page."""
    html = report_html(Plan.from_json(_plan()))
    assert "1,500" in html and "0.670 %" in html and "96.0 %" in html
    assert "25.0 %" in html  # 50 of 200 m3
    rows = re.findall(r"<td>SKU-(\d+)</td>", html)
    assert rows[:3] == ["49", "48", "47"] and len(rows) == 30


def test_report_escapes_every_plan_value() -> None:
    """Ids with markup render as text: no tag from the plan reaches the page."""
    html = report_html(Plan.from_json(_plan(wh="<script>alert(1)</script>")))
    assert "<script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "Z-&lt;b&gt;" in html and "s&lt;1&gt;" in html and "a note &amp; more" in html


def test_report_is_self_contained() -> None:
    """No external resource: no script, link or remote URL; the map is a data URI."""
    html = report_html(Plan.from_json(_plan()), map_png=b"\x89PNG\r\n\x1a\nxx")
    assert 'src="data:image/png;base64,' in html
    assert not re.search(r"""(src|href)=["']?(https?:)?//""", html)
    assert "<link" not in html and "<script" not in html


def test_report_never_prints_negative_zero() -> None:
    """A difference that rounds to zero prints as 0, not -0 (naive − ours of a tiny term)."""
    plan = _plan()
    plan["baseline"] = {
        "objective": 1500.0,
        "saving": 0.0,
        "saving_share": 0.0,
        "cost": {"fixed": 1000.0, "outbound": 499.9999999},
    }
    html = report_html(Plan.from_json(plan))
    assert "Against the naive planner" in html
    assert ">-0<" not in html and ">0<" in html
