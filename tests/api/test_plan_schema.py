"""The plan over HTTP: its OpenAPI schema is the typed plan's, its JSON the stored plan's."""

from __future__ import annotations

import json

from api.convert import job_to_public
from api.main import create_app
from optimizer.solver import Status
from tests.api.conftest import auth, make_settings, wait_for
from tests.api.solvers import fake_plan


def test_openapi_describes_the_plan_field(tmp_path) -> None:
    """``GET /v1/plans/{id}`` documents ``plan`` as the Plan schema (rows, cost, service,
    status enum), not as an open object."""
    app = create_app(make_settings(f"sqlite:///{tmp_path / 'o.db'}"), run_jobs=False)
    spec = app.openapi()
    schemas = spec["components"]["schemas"]
    plan_ref = {"$ref": "#/components/schemas/Plan"}
    assert plan_ref in schemas["PlanPublic"]["properties"]["plan"]["anyOf"]
    plan = schemas["Plan"]
    assert {"scenario", "status", "objective", "bound", "gap", "solve_seconds"} <= set(
        plan["required"]
    )
    assert set(plan["properties"]) >= {
        "cost",
        "service",
        "warehouses",
        "stock",
        "replenishment",
        "fulfilment",
        "stats",
        "notes",
    }
    ful = schemas["FulfilmentRow"]
    assert set(ful["required"]) == {"sku", "zone", "source", "lanes", "units", "hours", "on_time"}
    assert schemas["Status"]["enum"] == [s.value for s in Status]
    assert {"optimal", "feasible", "no_solution"} <= set(schemas["Status"]["enum"])
    assert "lost_sale_penalty" in schemas["CostBreakdown"]["properties"]


def test_plan_over_http_is_the_solvers_json_exactly(client, scenario) -> None:
    """The plan a job returns is the solver's document key for key and number for number
    (integers stay integers, absent keys stay absent: no nulls added)."""
    r = client.post("/v1/plans", json={"scenario": scenario, "seed": 2}, headers=auth("acme"))
    job_id = r.json()["id"]

    def poll():  # type: ignore[no-untyped-def]
        body = client.get(f"/v1/plans/{job_id}", headers=auth("acme")).json()
        return body if body["status"] == "succeeded" else None

    body = wait_for(poll, timeout=20.0)
    want = fake_plan({"scenario": scenario}, time_limit_s=1.0, seed=2)
    assert json.dumps(body["plan"], sort_keys=True) == json.dumps(want, sort_keys=True)
    assert "replenishment" not in body["plan"]  # the fake solver lists none: still absent


class _Rec:
    """A stored job whose result is not a plan."""

    def __init__(self) -> None:
        self.id = "00000000-0000-0000-0000-000000000000"
        self.status = "succeeded"
        self.result = {"scenario": "s", "status": "optimal"}  # no objective ...


def test_a_stored_result_that_is_no_plan_is_a_clear_500() -> None:
    """A custom solver's answer that is not a §7 plan gives a 500 naming the field, not a
    stack trace."""
    import pytest
    from fastapi import HTTPException

    with pytest.raises(HTTPException) as e:
        job_to_public(_Rec())  # type: ignore[arg-type]
    assert e.value.status_code == 500 and "objective: missing" in str(e.value.detail)
