"""``/v1/plans`` through a TestClient: jobs, tenants, limits and error codes."""

from __future__ import annotations

import copy
import io
import json
import logging
import time
from contextlib import redirect_stderr
from pathlib import Path
from typing import Any

import pytest

from api.cli import main as cli_main
from tests.api.conftest import KEYS, auth, wait_for


def _post(client, scenario: dict[str, Any], tenant: str = "acme", **extra: Any):
    return client.post("/v1/plans", json={"scenario": scenario, **extra}, headers=auth(tenant))


def _done(client, job_id: str, tenant: str = "acme", timeout: float = 20.0) -> dict[str, Any]:
    def poll() -> dict[str, Any] | None:
        body = client.get(f"/v1/plans/{job_id}", headers=auth(tenant)).json()
        return body if body["status"] in ("succeeded", "failed", "cancelled") else None

    return wait_for(poll, timeout=timeout)


def test_submit_then_fetch_plan(client, scenario) -> None:
    """POST answers 202 queued with a Location; the job then succeeds and GET returns the plan."""
    r = _post(client, scenario, time_limit_s=5, seed=3)
    assert r.status_code == 202
    body = r.json()
    assert body["status"] == "queued" and r.headers["Location"] == f"/v1/plans/{body['id']}"
    done = _done(client, body["id"])
    assert done["status"] == "succeeded" and done["error"] is None
    assert done["plan"]["scenario"] == "tiny" and done["plan"]["seed"] == 3
    assert done["plan"]["objective"] == sum(d["units"] for d in scenario["demand"])
    assert done["attempts"] == 1 and done["time_limit_s"] == 5


def test_default_time_limit_applies(client, scenario) -> None:
    """Without time_limit_s the server's default is recorded on the job."""
    job = _post(client, scenario).json()
    assert client.get(f"/v1/plans/{job['id']}", headers=auth()).json()["time_limit_s"] == 10


@pytest.mark.parametrize(
    "headers",
    [
        {},  # no header
        {"Authorization": "Bearer wrong-key-0123456789"},  # unknown key
        {"Authorization": f"Basic {KEYS['acme']}"},  # wrong scheme
        {"Authorization": "Bearer "},  # empty token
    ],
)
def test_unauthenticated_is_401(client, scenario, headers) -> None:
    """Every /v1 endpoint refuses requests without a valid bearer key, with WWW-Authenticate."""
    for method, url in (
        ("GET", "/v1/plans"),
        ("POST", "/v1/plans"),
        ("GET", "/v1/plans/x"),
        ("DELETE", "/v1/plans/x"),
        ("POST", "/v1/routes"),
    ):
        r = client.request(
            method, url, headers=headers, json={"scenario": scenario} if method == "POST" else None
        )
        assert r.status_code == 401, (method, url)
        assert r.headers["WWW-Authenticate"] == "Bearer"
        assert r.json() == {"detail": "missing or invalid API key"}


def test_tenants_cannot_see_or_cancel_each_other(client, scenario) -> None:
    """Another tenant's job is 404 on GET and DELETE (not 403), absent from its list, and intact."""
    mine = _post(client, scenario).json()["id"]
    for method in ("GET", "DELETE"):
        r = client.request(method, f"/v1/plans/{mine}", headers=auth("beta"))
        assert r.status_code == 404
    assert client.get("/v1/plans", headers=auth("beta")).json()["count"] == 0
    assert client.get(f"/v1/plans/{mine}", headers=auth()).json()["status"] != "cancelled"


@pytest.mark.parametrize(
    "job_id",
    [
        "00000000-0000-0000-0000-000000000000",  # well-formed, unknown
        "not-a-uuid",  # never reaches the database
        "x" * 300,  # long
    ],
)
def test_unknown_ids_are_404(client, job_id) -> None:
    """Unknown or malformed ids are 404 on GET and DELETE."""
    assert client.get(f"/v1/plans/{job_id}", headers=auth()).status_code == 404
    assert client.delete(f"/v1/plans/{job_id}", headers=auth()).status_code == 404


def test_list_is_paginated_newest_first(client_factory, scenario) -> None:
    """GET /v1/plans pages with limit/offset, counts all, filters by status."""
    client = client_factory(run_jobs=False)
    ids = []
    for i in range(5):
        sc = {**scenario, "name": f"s{i}"}
        ids.append(_post(client, sc).json()["id"])
    page = client.get("/v1/plans?limit=2&offset=1", headers=auth()).json()
    assert page["count"] == 5 and page["limit"] == 2 and page["offset"] == 1
    assert [j["id"] for j in page["data"]] == [ids[3], ids[2]]
    assert "plan" not in page["data"][0]
    assert client.get("/v1/plans?status=running", headers=auth()).json()["count"] == 0
    assert client.get("/v1/plans?limit=0", headers=auth()).status_code == 422
    assert client.get("/v1/plans?status=bogus", headers=auth()).status_code == 422


def test_schema_errors_are_422_with_field_path(client, scenario) -> None:
    """Pydantic errors name the field: body.time_limit_s, a missing scenario, an unknown key;
    a body that is not JSON is a 422 on ``body`` naming the line and column."""
    r = _post(client, scenario, time_limit_s=-1)
    assert r.status_code == 422
    assert r.json()["detail"][0]["field"] == "time_limit_s"
    assert r.json()["detail"][0]["loc"] == ["body", "time_limit_s"]
    r = client.post("/v1/plans", json={"time_limit_s": 5}, headers=auth())
    assert [d["field"] for d in r.json()["detail"]] == ["scenario"]
    r = _post(client, scenario, colour="red")
    assert r.status_code == 422 and r.json()["detail"][0]["field"] == "colour"
    r = client.post(
        "/v1/plans", content=b"{not json", headers={**auth(), "Content-Type": "application/json"}
    )
    assert r.status_code == 422  # DESIGN §8: bad input is a 422
    assert r.json()["detail"][0]["field"] == "body"
    assert "line 1 column 2" in r.json()["detail"][0]["msg"]
    r = _post(client, scenario, time_limit_s=601)  # over the server's maximum
    assert r.status_code == 422 and r.json()["detail"][0]["field"] == "time_limit_s"
    assert "600" in r.json()["detail"][0]["msg"]


def test_scenario_problems_match_the_cli(client, scenario, tmp_path: Path) -> None:
    """A semantically bad scenario gets 422 with one entry per problem, in the CLI's words."""
    bad = copy.deepcopy(scenario)
    bad["lanes"][0]["to"] = "NOWHERE"
    bad["demand"].append(dict(bad["demand"][0]))  # duplicate demand row
    bad["nodes"][2]["lat"] = 123  # out of range
    r = _post(client, bad)
    assert r.status_code == 422
    api = [f"{d['field'].removeprefix('scenario.')}: {d['msg']}" for d in r.json()["detail"]]
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(bad))
    err = io.StringIO()
    with redirect_stderr(err):
        assert cli_main(["validate", str(path)]) == 2
    # The CLI names the file ("bad.json: ") where the API has none; the rest is identical.
    cli = [
        ln.removeprefix("error: ").replace("bad.json: ", "")
        for ln in err.getvalue().splitlines()
        if ln.startswith("error: ")
    ]
    assert len(api) == 3
    assert api == cli


def test_body_over_limit_is_413(client_factory, scenario) -> None:
    """A body over max_body_bytes is refused with 413, declared or streamed (chunked)."""
    client = client_factory(max_body_bytes=2048)
    big = {"scenario": {**scenario, "pad": "x" * 5000}}
    r = client.post("/v1/plans", json=big, headers=auth())
    assert r.status_code == 413 and "2048" in r.json()["detail"]

    def chunks():
        data = json.dumps(big).encode()
        for i in range(0, len(data), 1000):
            yield data[i : i + 1000]

    r = client.post(
        "/v1/plans", content=chunks(), headers={**auth(), "Content-Type": "application/json"}
    )
    assert r.status_code == 413
    assert client.get("/v1/plans", headers=auth()).json()["count"] == 0


def test_rate_limit_per_key_is_429(client_factory) -> None:
    """After the burst a key gets 429 with Retry-After; another tenant's key is unaffected."""
    client = client_factory(rate_per_s=0.01, rate_burst=3)
    codes = [client.get("/v1/plans", headers=auth()).status_code for _ in range(5)]
    assert codes == [200, 200, 200, 429, 429]
    r = client.get("/v1/plans", headers=auth())
    assert int(r.headers["Retry-After"]) >= 1
    assert client.get("/v1/plans", headers=auth("beta")).status_code == 200


def test_idempotent_submission(client_factory, scenario) -> None:
    """The same Idempotency-Key and body return the first job; another body is 409."""
    client = client_factory(run_jobs=False)
    h = {**auth(), "Idempotency-Key": "order-42"}
    a = client.post("/v1/plans", json={"scenario": scenario}, headers=h)
    b = client.post("/v1/plans", json={"scenario": scenario}, headers=h)
    assert a.status_code == b.status_code == 202
    assert a.json()["id"] == b.json()["id"] and b.headers["Idempotent-Replayed"] == "true"
    c = client.post("/v1/plans", json={"scenario": scenario, "seed": 9}, headers=h)
    assert c.status_code == 409
    assert client.get("/v1/plans", headers=auth()).json()["count"] == 1


def test_cancel_queued_running_and_finished(client, scenario) -> None:
    """DELETE cancels a queued job and a running one (its solver stops); a finished job is 409."""
    slow = {**scenario, "x_test": {"sleep_s": 30}}
    running = _post(client, slow).json()["id"]
    queued = _post(client, slow).json()["id"]
    wait_for(
        lambda: client.get(f"/v1/plans/{running}", headers=auth()).json()["status"] == "running"
    )
    runner = client.app.state.runner
    wait_for(lambda: runner.busy == 1)  # the DB says running just before the process starts
    r = client.delete(f"/v1/plans/{queued}", headers=auth())
    assert r.status_code == 200 and r.json()["status"] == "cancelled"
    proc = next(iter(runner._running.values())).proc
    r = client.delete(f"/v1/plans/{running}", headers=auth())
    assert r.status_code == 200 and r.json()["status"] == "cancelled"
    wait_for(lambda: not proc.is_alive() and runner.busy == 0, timeout=10)
    done = _post(client, scenario).json()["id"]
    assert _done(client, done)["status"] == "succeeded"
    assert client.delete(f"/v1/plans/{done}", headers=auth()).status_code == 409
    assert client.get(f"/v1/plans/{running}", headers=auth()).json()["status"] == "cancelled"


def test_failures_are_reported_with_a_reason(client, scenario) -> None:
    """A solver error, a crashed solver process and an overrun each fail the job with a reason."""
    err = _post(client, {**scenario, "x_test": {"fail": "no feasible plan"}}).json()["id"]
    crash = _post(client, {**scenario, "x_test": {"crash": 7}}).json()["id"]
    a, b = _done(client, err), _done(client, crash)
    assert a["status"] == "failed" and a["error"] == "ValueError: no feasible plan"
    assert b["status"] == "failed" and "exited with code 7" in b["error"]
    assert a["plan"] is None


def test_overrun_is_killed_after_the_grace(client_factory, scenario) -> None:
    """A solve still running kill_grace_s after its time limit is stopped and the job failed."""
    client = client_factory(kill_grace_s=0.5)
    job = _post(client, {**scenario, "x_test": {"sleep_s": 60}}, time_limit_s=0.5).json()["id"]
    t0 = time.monotonic()
    done = _done(client, job, timeout=60)
    assert done["status"] == "failed" and "time limit exceeded" in done["error"]
    # Far below the 60 s sleep, with room for a slow fork-server start on a loaded machine.
    assert time.monotonic() - t0 < 40


def test_pool_is_bounded(client_factory, scenario) -> None:
    """With workers=1 at most one job runs at a time; all finish in submission order."""
    client = client_factory(workers=1)
    ids = [_post(client, {**scenario, "x_test": {"sleep_s": 0.4}}).json()["id"] for _ in range(3)]
    most = 0
    end = time.monotonic() + 30
    while time.monotonic() < end:
        # One query counts the running jobs atomically (per-job GETs could straddle a hand-over).
        running = client.get("/v1/plans?status=running", headers=auth()).json()["count"]
        most = max(most, running, client.app.state.runner.busy)
        states = [client.get(f"/v1/plans/{i}", headers=auth()).json() for i in ids]
        if all(s["status"] == "succeeded" for s in states):
            break
        time.sleep(0.05)
    assert most == 1
    assert all(s["status"] == "succeeded" for s in states)
    starts = [s["started_at"] for s in states]
    assert starts == sorted(starts)


def test_restart_requeues_a_running_job_once_its_lease_expires(client_factory, scenario) -> None:
    """A job left 'running' by a dead server is not taken at start-up: it is re-queued once its
    lease has expired (by the live server's sweep) and solved, attempt 2."""
    idle = client_factory(run_jobs=False)
    job = _post(idle, scenario).json()["id"]
    store = idle.app.state.store
    # As if a server had started it with a 6-s lease, then died (long enough that starting the
    # live server below, slow on a loaded machine, cannot use it up before the check)
    dead_lease = 6.0
    assert [j.id for j in store.claim(1, owner="dead", lease_s=dead_lease)] == [job]
    t0 = time.monotonic()
    live = client_factory(lease_s=1.0, heartbeat_s=0.2)
    time.sleep(1.0)
    rec = store.get("acme", job)
    assert time.monotonic() - t0 < dead_lease, "the live server took the whole lease to start"
    assert rec.status == "running" and rec.lease_owner == "dead"  # its lease still holds
    done = _done(live, job)
    assert done["status"] == "succeeded" and done["attempts"] == 2
    assert time.monotonic() - t0 >= dead_lease
    assert store.get("acme", job).lease_owner == live.app.state.runner.owner


def test_internal_errors_hide_details(client_factory, caplog) -> None:
    """An unexpected exception is a 500 with a generic body: no traceback, no message text."""
    from api.deps import get_store

    client = client_factory(raise_server_exceptions=False)

    def broken():
        raise RuntimeError("secret database password in message")

    client.app.dependency_overrides[get_store] = broken
    with caplog.at_level(logging.ERROR):
        r = client.get("/v1/plans", headers=auth())
    assert r.status_code == 500 and r.json() == {"detail": "internal error"}
    assert "Traceback" not in r.text and "secret" not in r.text


def test_logs_do_not_contain_keys(client, scenario, caplog) -> None:
    """No log record of a request cycle (auth, rate limit, job run) contains an API key."""
    with caplog.at_level(logging.DEBUG):
        job = _post(client, scenario).json()["id"]
        _done(client, job)
        client.get("/v1/plans", headers={"Authorization": "Bearer wrong-key-99999999"})
    text = "\n".join(r.getMessage() for r in caplog.records)
    assert "job" in text  # the job's life was logged ...
    for key in (*KEYS.values(), "wrong-key-99999999"):
        assert key not in text  # ... without any key


def test_health_and_docs(client) -> None:
    """/healthz reports the database and runner; OpenAPI and /docs are served."""
    h = client.get("/healthz").json()
    assert h == {
        "status": "ok",
        "database": "ok",
        "runner": "ok",
        "workers": 1,
        "busy": 0,
        "reason": None,
        "queued": 0,
    }
    assert client.get("/docs").status_code == 200
    spec = client.get("/openapi.json").json()
    assert {"/v1/plans", "/v1/plans/{job_id}", "/v1/routes", "/healthz"} <= set(spec["paths"])
    assert "HTTPBearer" in spec["components"]["securitySchemes"]


def test_response_models_live_in_the_schema_modules(client) -> None:
    """Every response model of the HTTP routes is defined in a schema module (api.schemas,
    or api.network_schemas for the networks), none in a route module; /healthz's model keeps
    its OpenAPI name and fields."""
    from fastapi.routing import APIRoute

    from api.routes import artifacts, health, networks, plans, risk, routes

    found: dict[str, str] = {}
    for module in (artifacts, health, networks, plans, risk, routes):
        for route in module.router.routes:
            if not isinstance(route, APIRoute):
                continue
            models = [route.response_model, *(r.get("model") for r in route.responses.values())]
            for m in models:
                if isinstance(m, type):
                    found[m.__name__] = m.__module__
    assert found["HealthReport"] == "api.schemas"
    assert set(found.values()) <= {"api.schemas", "api.network_schemas"}, found
    spec = client.get("/openapi.json").json()
    ok = spec["paths"]["/healthz"]["get"]["responses"]["200"]["content"]["application/json"]
    assert ok["schema"] == {"$ref": "#/components/schemas/HealthReport"}
    fields = spec["components"]["schemas"]["HealthReport"]
    assert set(fields["properties"]) == {
        "status",
        "database",
        "runner",
        "workers",
        "busy",
        "reason",
        "queued",
    }
    assert set(fields["required"]) == {"status", "database", "runner", "workers", "busy"}


def test_health_without_runner_is_503(client_factory) -> None:
    """An app without a job runner reports itself degraded (503)."""
    client = client_factory(run_jobs=False)
    r = client.get("/healthz")
    assert r.status_code == 503 and r.json()["runner"] == "stopped"


def test_job_cycle_on_each_database(db_url: str, scenario) -> None:
    """The whole job cycle through HTTP on SQLite and on PostgreSQL (when the CI provides it):
    submit, idempotent replay, solve, cross-tenant 404, cancel of a running job."""
    from fastapi.testclient import TestClient

    from api.main import create_app
    from tests.api.conftest import make_settings

    with TestClient(create_app(make_settings(db_url))) as client:
        h = {**auth(), "Idempotency-Key": "pg-1"}
        first = client.post("/v1/plans", json={"scenario": scenario}, headers=h).json()["id"]
        again = client.post("/v1/plans", json={"scenario": scenario}, headers=h).json()["id"]
        assert first == again
        assert _done(client, first)["status"] == "succeeded"
        assert client.get(f"/v1/plans/{first}", headers=auth("beta")).status_code == 404
        slow = _post(client, {**scenario, "x_test": {"sleep_s": 30}}).json()["id"]
        wait_for(
            lambda: client.get(f"/v1/plans/{slow}", headers=auth()).json()["status"] == "running"
        )
        assert client.delete(f"/v1/plans/{slow}", headers=auth()).json()["status"] == "cancelled"
        wait_for(lambda: client.app.state.runner.busy == 0)
        page = client.get("/v1/plans", headers=auth()).json()
        assert page["count"] == 2 and {j["status"] for j in page["data"]} == {
            "succeeded",
            "cancelled",
        }


def test_v11_keys_and_previous_plan_id(client, scenario) -> None:
    """Format v1.1: inventory and returns are accepted (bad rows are 422 naming the item);
    ``previous_plan_id`` must name a succeeded plan of the same tenant (else 422 naming the
    field), and then the stored request carries that plan."""
    wh = next(n["id"] for n in scenario["nodes"] if n["kind"] == "warehouse")
    sku = scenario["skus"][0]["id"]
    v11 = copy.deepcopy(scenario)
    v11["inventory"] = [{"sku": sku, "warehouse": wh, "on_hand": 10}]
    v11["returns"] = [{"country": "MY", "rate": 0.1, "resellable_share": 0.5}]
    r = _post(client, v11, time_limit_s=5)
    assert r.status_code == 202
    first = _done(client, r.json()["id"])
    assert first["status"] == "succeeded"
    bad = copy.deepcopy(v11)
    bad["inventory"][0]["warehouse"] = "NOPE"
    r = _post(client, bad, time_limit_s=5)
    assert r.status_code == 422
    assert any("unknown warehouse 'NOPE'" in d["msg"] for d in r.json()["detail"])
    r = _post(client, v11, time_limit_s=5, previous_plan_id="no-such-id")
    assert r.status_code == 422 and r.json()["detail"][0]["field"] == "previous_plan_id"
    r = _post(client, v11, time_limit_s=5, previous_plan_id=first["id"], tenant="beta")
    assert r.status_code == 422  # another tenant's plan is not found
    r = _post(client, v11, time_limit_s=5, previous_plan_id=first["id"])
    assert r.status_code == 202
    assert _done(client, r.json()["id"])["status"] == "succeeded"
    rec = client.app.state.store.get("acme", r.json()["id"], with_request=True)
    assert rec.request["previous_plan"] == first["plan"]


def test_a_time_limit_shorter_than_the_scenario_keeps_is_422(
    client, scenario, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A limit shorter than the SKU-block path's floor is refused before the job is queued,
    naming the shortest (``optimizer.plan.planning.shortest_limit``, forced onto this tiny
    scenario); a limit as long as it is queued."""
    from optimizer.plan import planning

    monkeypatch.setattr(planning, "BLOCK_MIN_SKUS", 1)
    monkeypatch.setattr(planning, "SHORTEST_S_PER_ROW", 1.0)
    rows = sum(1 for d in scenario["demand"] if d["units"] > 0)
    shortest = planning.SHORTEST_FIXED_S + rows
    r = _post(client, scenario, time_limit_s=shortest - 0.5)
    assert r.status_code == 422
    d = r.json()["detail"][0]
    assert d["loc"] == ["body", "time_limit_s"]
    assert "too short" in d["msg"] and f"about {shortest:g} s" in d["msg"]
    assert client.get("/v1/plans", headers=auth()).json()["count"] == 0
    assert _post(client, scenario, time_limit_s=shortest).status_code == 202


def test_a_submission_says_which_keys_planning_ignores(client, scenario) -> None:
    """Unknown keys are kept and planned without (as ``tradelane validate`` warns of them);
    the 202 said nothing of a typo such as ``fixed_cots``, so a planner could not know the
    warehouse's fixed cost was the default. The answer now lists them; a clean scenario none."""
    doc = copy.deepcopy(scenario)
    wh = next(n for n in doc["nodes"] if n["kind"] == "warehouse")
    wh["fixed_cots"] = 5.0
    doc["service"]["promise_hour"] = 48
    r = _post(client, doc)
    assert r.status_code == 202, r.text
    warnings = r.json()["warnings"]
    assert any("fixed_cots: unknown field (ignored)" in w and repr(wh["id"]) in w for w in warnings)
    assert any(w == "service.promise_hour: unknown field (ignored)" for w in warnings), warnings
    # the job keeps them: GET repeats them, and so does a replay of an idempotent submission
    assert client.get(f"/v1/plans/{r.json()['id']}", headers=auth()).json()["warnings"] == warnings
    key = {**auth(), "Idempotency-Key": "ignored-keys"}
    first = client.post("/v1/plans", json={"scenario": doc}, headers=key)
    again = client.post("/v1/plans", json={"scenario": doc}, headers=key)
    assert again.headers.get("Idempotent-Replayed") == "true"
    assert first.json()["warnings"] == again.json()["warnings"] == warnings
    doc["demand"][0]["units_2027"] = 9
    assert _post(client, doc).json()["warnings"][-1] == (
        "scenario.demand: demand rows' key(s) 'units_2027' ignored: demand is read from sku, "
        "zone and units only"
    )
    clean = _post(client, scenario).json()
    assert clean["warnings"] == []
    assert client.get(f"/v1/plans/{clean['id']}", headers=auth()).json()["warnings"] == []
