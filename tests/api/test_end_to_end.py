"""One real end-to-end plan: the default solver (the allocation model) on tiny-my.json."""

from __future__ import annotations

import math
from typing import Any

import pytest

from tests.api.conftest import auth, wait_for


def test_real_plan_of_tiny_scenario(client_factory, scenario: dict[str, Any]) -> None:
    """POST the tiny scenario to a server running the real allocation model: the job succeeds
    and the plan follows DESIGN §7 (objective = sum of the cost parts, every demand unit on
    time, late or lost)."""
    client = client_factory(solver="api.worker:plan_job")
    job = client.post(
        "/v1/plans", json={"scenario": scenario, "time_limit_s": 30}, headers=auth()
    ).json()["id"]

    def done() -> dict[str, Any] | None:
        b = client.get(f"/v1/plans/{job}", headers=auth()).json()
        return b if b["status"] not in ("queued", "running") else None

    body = wait_for(done, timeout=90, every=0.2)
    assert body["status"] == "succeeded", body["error"]
    plan = body["plan"]
    assert plan["scenario"] == scenario["name"]
    assert plan["status"] in ("optimal", "feasible")
    assert plan["objective"] == pytest.approx(sum(plan["cost"].values()), rel=1e-6)
    s = plan["service"]
    total = sum(d["units"] for d in scenario["demand"])
    assert s["units_on_time"] + s["units_late"] + s["units_lost"] == pytest.approx(total, rel=1e-6)
    assert 0 <= s["on_time_share"] <= 1 and math.isfinite(plan["objective"])
    assert {w["id"] for w in plan["warehouses"]} <= {n["id"] for n in scenario["nodes"]}
