"""``POST /v1/plans/{id}/simulate`` and ``/whatif``: risk jobs on a plan, end to end."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tests.api.conftest import auth, wait_for

DATA = Path(__file__).parent.parent / "data"


def _done(client: Any, job: str) -> dict[str, Any]:
    def check() -> dict[str, Any] | None:
        b = client.get(f"/v1/plans/{job}", headers=auth()).json()
        return b if b["status"] not in ("queued", "running") else None

    return wait_for(check, timeout=180, every=0.2)  # type: ignore[no-any-return]


def test_simulate_and_whatif_jobs_on_a_real_plan(client_factory, monkeypatch: Any) -> None:
    """A real plan of the tiny v1.1 scenario, then a simulation job and a what-if job on it:
    both succeed with the documents of the CLI; a shock selector matching nothing is a 422
    naming it; another tenant gets 404; a plan that has not succeeded gets 409."""
    client = client_factory(solver="api.worker:plan_job")
    scenario = json.loads((DATA / "tiny-my-v11.json").read_text())
    r = client.post("/v1/plans", json={"scenario": scenario, "time_limit_s": 30}, headers=auth())
    plan_id = r.json()["id"]
    body = _done(client, plan_id)
    assert body["status"] == "succeeded", body["error"]

    r = client.post(f"/v1/plans/{plan_id}/simulate", json={"runs": 200, "seed": 3}, headers=auth())
    assert r.status_code == 202, r.text
    sim = _done(client, r.json()["id"])
    assert sim["status"] == "succeeded", sim["error"]
    assert sim["plan"] is None  # a risk job's document is its result, not a plan
    doc = sim["result"]
    assert doc["runs"] == 200 and doc["seed"] == 3 and doc["source_plan"] == plan_id
    assert doc["on_time_share"]["ci95"][0] <= doc["on_time_share"]["mean"]
    assert set(doc["cost"]) >= {"p5", "p50", "p95"}
    assert (doc["status"], doc["runs_requested"]) == ("complete", 200)

    # a limit shorter than a simulation's floor: 422 naming the shortest, nothing queued
    r = client.post(
        f"/v1/plans/{plan_id}/simulate", json={"runs": 5000, "time_limit_s": 1}, headers=auth()
    )
    assert r.status_code == 422 and "too short for a simulation" in r.text
    assert "time_limit_s" in r.text

    # a limit the runs cannot keep (the floor at 0 to reach it on a tiny plan): they stop
    # after the first whole batch, the job succeeds with the runs done, as a request for that
    # many runs with the seed gives them
    import optimizer.risk.simulate as simulate

    monkeypatch.setattr(simulate, "SIMULATE_FIXED_S", 0.0)
    r = client.post(
        f"/v1/plans/{plan_id}/simulate",
        json={"runs": 5000, "seed": 3, "time_limit_s": 0.001},
        headers=auth(),
    )
    assert r.status_code == 202, r.text
    cut = _done(client, r.json()["id"])
    assert cut["status"] == "succeeded", cut["error"]
    part = cut["result"]
    assert (part["status"], part["runs"], part["runs_requested"]) == ("time_limit", 1000, 5000)
    r = client.post(f"/v1/plans/{plan_id}/simulate", json={"runs": 1000, "seed": 3}, headers=auth())
    whole = _done(client, r.json()["id"])["result"]
    assert whole["status"] == "complete"
    assert part["on_time_share"] == whole["on_time_share"] and part["cost"] == whole["cost"]

    bad = {"name": "x", "changes": [{"lanes": {"carrier": "NOBODY"}, "closed": True}]}
    r = client.post(f"/v1/plans/{plan_id}/whatif", json={"shock": bad}, headers=auth())
    assert r.status_code == 422
    assert "changes[0].lanes.carrier" in r.text

    shock = {"name": "wh", "changes": [{"warehouse": "WH-PEN", "closed": True}]}
    r = client.post(
        f"/v1/plans/{plan_id}/whatif", json={"shock": shock, "time_limit_s": 30}, headers=auth()
    )
    assert r.status_code == 202, r.text
    wi = _done(client, r.json()["id"])
    assert wi["status"] == "succeeded", wi["error"]
    w = wi["result"]
    assert {"base", "hold", "replan", "diff"} <= set(w)
    assert "WH-PEN" not in {x["id"] for x in w["replan"]["warehouses"]}
    assert w["plans"]["replan"]["objective"] == w["replan"]["objective"]

    assert (
        client.post(
            f"/v1/plans/{plan_id}/simulate", json={"runs": 10}, headers=auth("beta")
        ).status_code
        == 404
    )
    # the first client's runner shares the database: stopped, or it may claim and finish the
    # pending plan before the simulate request (a race CI met once)
    client.app.state.runner.stop()
    pending = client_factory(solver="api.worker:plan_job", run_jobs=False)
    q = pending.post("/v1/plans", json={"scenario": scenario}, headers=auth()).json()["id"]
    assert pending.post(f"/v1/plans/{q}/simulate", json={}, headers=auth()).status_code == 409


def test_a_whatif_limit_shorter_than_the_whatif_keeps_is_422(
    client: Any, scenario: dict[str, Any], monkeypatch: Any
) -> None:
    """As POST /v1/plans: a time limit shorter than the what-if can keep is refused before the
    job is queued, naming the shortest; it was queued and failed in the worker. The floor is
    the re-plan's on the shocked scenario (the SKU-block floor, forced onto the tiny scenario:
    with SKU-A's demand at 0, its two SKU-B rows count, not all five) plus the work that grows
    with the base plan's rows (reading and holding it, writing both plans): that part was not
    counted, and a tier-L what-if given 60 s took 136 s."""
    from optimizer.plan import planning
    from optimizer.plan.document import plan_rows
    from optimizer.risk import whatif

    r = client.post("/v1/plans", json={"scenario": scenario, "time_limit_s": 5}, headers=auth())
    plan_id = r.json()["id"]
    assert _done(client, plan_id)["status"] == "succeeded"
    plan_doc = client.get(f"/v1/plans/{plan_id}", headers=auth()).json()["plan"]
    monkeypatch.setattr(planning, "BLOCK_MIN_SKUS", 1)
    monkeypatch.setattr(planning, "SHORTEST_S_PER_ROW", 1.0)
    monkeypatch.setattr(whatif, "WHATIF_S_PER_PLAN_ROW", 1.0)
    shock = {"name": "no-a", "changes": [{"demand": {"sku": "SKU-A"}, "multiplier": 0}]}
    rows_b = sum(1 for d in scenario["demand"] if d["sku"] == "SKU-B" and d["units"] > 0)
    rows = plan_rows(plan_doc)
    assert rows > 0
    shortest = planning.SHORTEST_FIXED_S + rows_b + rows
    body = {"shock": shock, "time_limit_s": shortest - 0.5}
    r = client.post(f"/v1/plans/{plan_id}/whatif", json=body, headers=auth())
    assert r.status_code == 422, r.text
    d = r.json()["detail"][0]
    assert d["loc"] == ["body", "time_limit_s"]
    assert "too short" in d["msg"] and f"about {shortest:g} s" in d["msg"], d
    assert client.get("/v1/plans", headers=auth()).json()["count"] == 1  # the plan only
    body["time_limit_s"] = shortest
    assert client.post(f"/v1/plans/{plan_id}/whatif", json=body, headers=auth()).status_code == 202
    assert client.get("/v1/plans", headers=auth()).json()["count"] == 2


def test_a_whatif_job_of_a_plan_made_against_a_previous_plan_keeps_it(
    client: Any, scenario: dict[str, Any]
) -> None:
    """The what-if job's request carries the previous plan its source plan was made against
    (``previous_plan_id``), so the job evaluates and re-plans against it as the plan was
    made (``api.risk_jobs``); it was left out."""
    first = client.post("/v1/plans", json={"scenario": scenario}, headers=auth()).json()["id"]
    assert _done(client, first)["status"] == "succeeded"
    body = {"scenario": scenario, "previous_plan_id": first}
    second = client.post("/v1/plans", json=body, headers=auth()).json()["id"]
    assert _done(client, second)["status"] == "succeeded"
    shock = {"name": "pen", "changes": [{"warehouse": "WH-PEN", "closed": True}]}
    r = client.post(f"/v1/plans/{second}/whatif", json={"shock": shock}, headers=auth())
    assert r.status_code == 202, r.text
    store = client.app.state.store
    rec = store.get("acme", r.json()["id"], with_request=True)
    assert rec.request["previous_plan"] == store.get("acme", first).result
