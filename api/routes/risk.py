"""``POST /v1/plans/{id}/simulate`` and ``POST /v1/plans/{id}/whatif``: risk jobs on a plan.

Both queue a job like ``POST /v1/plans`` (202 ``{"id", "status"}``, poll ``GET /v1/plans/{id}``)
on a plan job of the same tenant that has succeeded. The new job's answer, in the ``result``
field of ``GET /v1/plans/{id}`` (its ``plan`` is null: the document is no plan), is the
``sim.json`` document of ``tradelane simulate`` or the ``whatif.json`` document of ``tradelane
whatif`` (plus the held and re-made plans under ``plans``). The work runs in the job runner's
solver processes (:func:`api.risk_jobs.risk_job`).
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, HTTPException, Response, status
from pydantic import BaseModel, ConfigDict, Field

from api.convert import RequestProblemsError, where_loc
from api.deps import JSONBodyRoute, SettingsDep, StoreDep, TenantDep
from api.documents import check_json_values, check_plan_limit, check_simulate_limit
from api.risk_jobs import is_risk_request
from api.routes.plans import not_found, parse_job_id
from api.schemas import ErrorResponse, PlanAccepted
from optimizer.limits import MAX_RUNS, MAX_SEED

router = APIRouter(prefix="/v1/plans", tags=["risk"], route_class=JSONBodyRoute)

_RESPONSES: dict[int | str, dict[str, Any]] = {
    400: {"model": ErrorResponse, "description": "malformed body (not UTF-8 JSON)"},
    401: {"model": ErrorResponse},
    404: {"model": ErrorResponse, "description": "no such plan job for this tenant"},
    409: {"model": ErrorResponse, "description": "the plan job has not succeeded"},
    413: {"model": ErrorResponse},
    422: {"model": ErrorResponse},
    429: {"model": ErrorResponse},
}


class SimulateCreate(BaseModel):
    """``POST /v1/plans/{id}/simulate``: Monte-Carlo runs of a plan."""

    model_config = ConfigDict(extra="forbid", strict=True, allow_inf_nan=False)

    runs: int = Field(default=10_000, ge=2, le=MAX_RUNS, description="Monte-Carlo runs.")
    seed: int = Field(default=0, ge=0, le=MAX_SEED, description="Random seed.")
    time_limit_s: float | None = Field(
        default=None,
        gt=0,
        le=86_400,
        description="Job time limit (default: the server's; at most its maximum, else 422). "
        "The runs take time in proportion to runs times the plan's rows; when they would not "
        "end within the limit they stop after the last whole batch that does (the "
        "document's batch: 1,000 runs, fewer on a large plan), and the document says status "
        '"time_limit", runs (those done: its figures are the first runs of the whole '
        "simulation, as a request for that many with this seed gives) and runs_requested. A "
        "limit shorter than one batch and the work that grows with the plan's rows (about "
        "2 s plus 2.7e-5 s a row) is a 422 naming the shortest.",
    )


class WhatIfCreate(BaseModel):
    """``POST /v1/plans/{id}/whatif``: a shock (DESIGN §10) to hold the plan under and
    re-plan for."""

    model_config = ConfigDict(extra="forbid", strict=True, allow_inf_nan=False)

    shock: dict[str, Any] = Field(
        description="A shock document (DESIGN §10), as a shock file of tradelane whatif: "
        "{name, description?, source?, changes: [...]}, each change one of {lanes: SELECTOR, "
        "cost_multiplier?, add_hours?, closed?} (SELECTOR by id, mode, carrier, from, to: "
        "countries; a string or a list), {demand: SELECTOR, multiplier} (by sku, category, "
        "country, zone) and {warehouse: ID, closed: true} (lost with its stock: its transfer "
        "lanes close too). Checked against the plan's scenario: a selector that matches "
        "nothing is a 422 naming it."
    )
    time_limit_s: float | None = Field(
        default=None,
        gt=0,
        le=86_400,
        description="Time limit of the job (default: the server's): the hold and the re-plan "
        "together, the re-plan getting what the hold leaves, as for POST /v1/plans; a limit "
        "shorter than the shocked scenario's re-plan can keep is a 422 naming the shortest.",
    )
    seed: int = Field(default=0, ge=0, le=MAX_SEED, description="Solver seed.")


def _source(store: Any, tenant: str, job_id: str) -> Any:
    rec = store.get(tenant, parse_job_id(job_id), with_request=True)
    if rec is None:
        raise not_found(job_id)
    if rec.status != "succeeded" or rec.result is None or rec.request is None:
        raise HTTPException(status.HTTP_409_CONFLICT, f"plan {rec.id} is {rec.status}")
    if "scenario" not in rec.request or is_risk_request(rec.request):
        raise HTTPException(status.HTTP_409_CONFLICT, f"job {rec.id} is not a plan")
    if rec.result.get("objective") is None:
        raise HTTPException(status.HTTP_409_CONFLICT, f"plan {rec.id} holds no solution")
    return rec


def _limit(settings: Any, asked: float | None) -> float:
    limit = asked if asked is not None else settings.default_time_limit_s
    if limit > settings.max_time_limit_s:
        raise RequestProblemsError(
            [
                {
                    "loc": ["body", "time_limit_s"],
                    "field": "time_limit_s",
                    "msg": f"must be at most {settings.max_time_limit_s:g} (the server's maximum)",
                }
            ]
        )
    return float(limit)


@router.post(
    "/{job_id}/simulate",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=PlanAccepted,
    operation_id="simulate_plan",
    responses=_RESPONSES,
)
def simulate_plan(
    job_id: str,
    body: SimulateCreate,
    tenant: TenantDep,
    store: StoreDep,
    settings: SettingsDep,
    response: Response,
) -> PlanAccepted:
    """Queue a Monte-Carlo simulation of a succeeded plan (result: ``sim.json``)."""
    rec = _source(store, tenant, job_id)
    limit = _limit(settings, body.time_limit_s)
    check_simulate_limit(rec.result, limit, ("body", "time_limit_s"))
    request = {
        "task": "simulate",
        "source": rec.id,
        "scenario": rec.request["scenario"],
        "plan": rec.result,
        "runs": body.runs,
        "seed": body.seed,
    }
    new, _ = store.submit(
        tenant=tenant,
        scenario_name=f"{rec.scenario_name} (simulate)",
        request=request,
        time_limit_s=limit,
        seed=body.seed,
    )
    response.headers["Location"] = f"/v1/plans/{new.id}"
    return PlanAccepted(id=new.id, status=new.status)  # type: ignore[arg-type]


@router.post(
    "/{job_id}/whatif",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=PlanAccepted,
    operation_id="whatif_plan",
    responses=_RESPONSES,
)
def whatif_plan(
    job_id: str,
    body: WhatIfCreate,
    tenant: TenantDep,
    store: StoreDep,
    settings: SettingsDep,
    response: Response,
) -> PlanAccepted:
    """Queue a what-if of a succeeded plan under a shock (result: ``whatif.json``).

    The shock is checked against the plan's scenario first: an unknown selector or one that
    matches nothing is a 422 naming it; so is a time limit shorter than the what-if can keep
    (the re-plan's floor on the shocked scenario and the work that grows with the plan's rows).
    """
    from network.scenario import Problem, ScenarioError, parse_scenario
    from optimizer.risk.shock import apply_shock, parse_shock

    check_json_values(body.shock, loc=("body", "shock"))
    rec = _source(store, tenant, job_id)
    limit = _limit(settings, body.time_limit_s)
    try:
        applied = apply_shock(parse_scenario(rec.request["scenario"]), parse_shock(body.shock))
    except ScenarioError as e:
        raise RequestProblemsError(
            [
                {
                    "loc": ["body", "shock", *(where_loc(p.where) or [p.where])],
                    "field": f"shock.{p.where}",
                    "msg": p.message,
                }
                for p in e.problems
                if isinstance(p, Problem)
            ]
        ) from None
    check_plan_limit(
        applied.scenario,
        limit,
        ("body", "time_limit_s"),
        whatif_of=rec.result,
        previous=rec.request.get("previous_plan") is not None,
    )
    request = {
        "task": "whatif",
        "source": rec.id,
        "scenario": rec.request["scenario"],
        "plan": rec.result,
        "shock": body.shock,
    }
    if rec.request.get("previous_plan") is not None:
        # the plan was made against a previous plan: so are its evaluation and the re-plan
        request["previous_plan"] = rec.request["previous_plan"]
    new, _ = store.submit(
        tenant=tenant,
        scenario_name=f"{rec.scenario_name} (whatif)",
        request=request,
        time_limit_s=limit,
        seed=body.seed,
    )
    response.headers["Location"] = f"/v1/plans/{new.id}"
    return PlanAccepted(id=new.id, status=new.status)  # type: ignore[arg-type]
