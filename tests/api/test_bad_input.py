"""Bad input through a TestClient: every case is a 4xx naming the offending item, never a 500.

Each test covers one class of bad input found by an audit of the HTTP API (risk jobs asked for
plan files, malformed or mistyped bodies, documents JSON cannot hold, form values out of range,
forecast rows with several problems).
"""

from __future__ import annotations

import copy
from typing import Any

import pytest

from api.artifacts import KINDS
from tests.api.conftest import auth, wait_for


def _succeeded(client, job_id: str) -> dict[str, Any]:
    def poll() -> dict[str, Any] | None:
        body = client.get(f"/v1/plans/{job_id}", headers=auth()).json()
        return body if body["status"] in ("succeeded", "failed", "cancelled") else None

    body = wait_for(poll, timeout=30)
    assert body["status"] == "succeeded", body["error"]
    return body  # type: ignore[no-any-return]


def _plan(client, scenario: dict[str, Any]) -> str:
    job = client.post("/v1/plans", json={"scenario": scenario}, headers=auth()).json()["id"]
    _succeeded(client, job)
    return job  # type: ignore[no-any-return]


@pytest.fixture
def risk_jobs(client, scenario) -> dict[str, str]:
    """A succeeded plan, a succeeded simulate job and a what-if job on it (the fake solver answers
    them with plan-shaped documents), and a job whose stored document is a simulation's."""
    plan = _plan(client, scenario)
    sim = client.post(f"/v1/plans/{plan}/simulate", json={"runs": 10}, headers=auth())
    assert sim.status_code == 202, sim.text
    shock = {"name": "wh", "changes": [{"warehouse": "WH-PEN", "closed": True}]}
    wi = client.post(f"/v1/plans/{plan}/whatif", json={"shock": shock}, headers=auth())
    assert wi.status_code == 202, wi.text
    sc = copy.deepcopy(scenario)
    sc["x_test"] = {"result": {"source_plan": plan, "runs": 3, "on_time_share": {"mean": 1}}}
    doc = client.post("/v1/plans", json={"scenario": sc}, headers=auth()).json()["id"]
    jobs = {"plan": plan, "simulate": sim.json()["id"], "what-if": wi.json()["id"], "doc": doc}
    for job in jobs.values():
        _succeeded(client, job)
    return jobs


def test_files_of_risk_jobs_are_404_naming_the_job_and_kind(client, risk_jobs) -> None:
    """A simulate or what-if job has no plan files: every kind is a 404 that says what the job
    is and names it and the kind (not a 500, not a header-only CSV); the console's file route
    says the same."""
    cases = [
        (risk_jobs["simulate"], "simulate"),
        (risk_jobs["what-if"], "what-if"),
        (risk_jobs["doc"], "simulate"),  # known only by its document (it names a source plan)
    ]
    for job, what in cases:
        for kind in KINDS:
            r = client.get(f"/v1/plans/{job}/{kind}", headers=auth())
            assert r.status_code == 404, (job, kind, r.text)
            msg = r.json()["detail"]
            assert f"{what} job" in msg and job in msg and kind in msg, msg
    assert client.get(f"/v1/plans/{risk_jobs['plan']}/stock.csv", headers=auth()).status_code == 200


def test_console_files_of_a_risk_job_are_404(client, risk_jobs) -> None:
    """The console's download route refuses a risk job's files the same way (an HTML 404)."""
    from tests.api.test_console import _sign_in

    _sign_in(client)
    r = client.get(f"/plans/{risk_jobs['doc']}/files/map.png")
    assert r.status_code == 404 and "simulate job" in r.text
    r = client.get(f"/plans/{risk_jobs['simulate']}/files/stock.csv")
    assert r.status_code == 404 and "simulate job" in r.text


def test_previous_plan_id_of_a_risk_job_is_422(client, scenario, risk_jobs) -> None:
    """previous_plan_id must name a plan job: a simulate or what-if job is a 422 naming the
    field and saying what the job is, before any job is queued."""
    for what in ("simulate", "what-if", "doc"):
        job = risk_jobs[what]
        r = client.post(
            "/v1/plans", json={"scenario": scenario, "previous_plan_id": job}, headers=auth()
        )
        assert r.status_code == 422, r.text
        (entry,) = r.json()["detail"]
        assert entry["field"] == "previous_plan_id" and job in entry["msg"]
        assert "not a plan" in entry["msg"]
    ok = client.post(
        "/v1/plans",
        json={"scenario": scenario, "previous_plan_id": risk_jobs["plan"]},
        headers=auth(),
    )
    assert ok.status_code == 202


@pytest.mark.parametrize(
    "kind",
    [
        "sim.json",  # a simulate job's document is its `result`, not a file
        "foo.csv",  # no such file
        "STOCK.csv",  # kinds are case-sensitive
    ],
)
def test_unknown_file_kind_is_404_listing_the_kinds(client, kind) -> None:
    """An unknown file name under a plan is a 404 that names it and lists the valid kinds."""
    r = client.get(f"/v1/plans/00000000-0000-0000-0000-000000000000/{kind}", headers=auth())
    assert r.status_code == 404
    msg = r.json()["detail"]
    assert repr(kind) in msg and all(k in msg for k in KINDS), msg


def test_get_of_a_post_only_subpath_stays_405(client) -> None:
    """``GET /v1/plans/{id}/simulate`` is still a 405 naming POST (the path exists)."""
    r = client.get("/v1/plans/00000000-0000-0000-0000-000000000000/simulate", headers=auth())
    assert r.status_code == 405 and "POST" in r.headers["Allow"]
