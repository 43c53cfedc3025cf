"""``/v1/plans``: submit, read, list and cancel plan jobs (one tenant's own only)."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Header, HTTPException, Query, Response, status
from fastapi.exceptions import RequestValidationError

from api.convert import job_to_public, job_to_summary
from api.deps import JSONBodyRoute, NetworksDep, SettingsDep, StoreDep, TenantDep
from api.documents import check_json_values, check_plan_limit, parse_checked
from api.risk_jobs import is_risk_request, is_risk_result
from api.schemas import ErrorResponse, JobStatus, PlanAccepted, PlanCreate, PlanPublic, PlansPublic

router = APIRouter(prefix="/v1/plans", tags=["plans"], route_class=JSONBodyRoute)

# FastAPI's ``responses`` argument: status code -> OpenAPI response object
_Responses = dict[int | str, dict[str, Any]]

_ERRORS: _Responses = {
    400: {"model": ErrorResponse, "description": "malformed body (not UTF-8 JSON)"},
    401: {"model": ErrorResponse},
    413: {"model": ErrorResponse},
    422: {"model": ErrorResponse},
    429: {"model": ErrorResponse},
}
_NOT_FOUND: _Responses = {
    404: {"model": ErrorResponse, "description": "no such job for this tenant"}
}

IdempotencyKey = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        min_length=1,
        max_length=200,
        pattern=r"^[\x21-\x7e]+$",
        description="Retry-safe submission: the same key and body return the first job.",
    ),
]


def not_found(job_id: str) -> HTTPException:
    return HTTPException(status.HTTP_404_NOT_FOUND, f"plan {job_id!r} not found")


def risk_task(rec: Any) -> str | None:
    """``"simulate"`` or ``"what-if"`` for a risk job, None for a plan job.

    A risk job is known by its request's ``task`` (when the request was loaded) or by its
    document, which names the plan it was made from (``source_plan``).
    """
    if is_risk_request(rec.request):
        return "simulate" if rec.request["task"] == "simulate" else "what-if"
    if is_risk_result(rec.result):
        return "what-if" if "replan" in rec.result else "simulate"
    return None


def parse_job_id(job_id: str) -> str:
    """Ids are UUIDs; anything else cannot exist (and never reaches the database)."""
    try:
        return str(uuid.UUID(job_id))
    except ValueError:
        raise not_found(job_id[:80]) from None


_LINKS = {
    "GetPlan": {"operationId": "get_plan", "parameters": {"job_id": "$response.body#/id"}},
    "CancelPlan": {"operationId": "cancel_plan", "parameters": {"job_id": "$response.body#/id"}},
}


@router.post(
    "",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=PlanAccepted,
    operation_id="create_plan",
    responses={
        **_ERRORS,
        202: {"description": "queued", "links": _LINKS},
        409: {"model": ErrorResponse, "description": "idempotency key reused with another body"},
    },
)
def create_plan(
    body: PlanCreate,
    tenant: TenantDep,
    store: StoreDep,
    settings: SettingsDep,
    response: Response,
    idempotency_key: IdempotencyKey = None,
) -> PlanAccepted:
    """Queue a plan of the scenario; poll ``GET /v1/plans/{id}`` for the result.

    The scenario is validated first (422 lists every problem, as ``tradelane validate`` does).
    """
    check_json_values(body.scenario, loc=("body", "scenario"))  # NaN, lone surrogates
    # ScenarioError -> 422, one entry per problem, then the schema's strict types
    scenario = parse_checked(body.scenario, "scenario", loc=("body", "scenario"))
    limit = body.time_limit_s if body.time_limit_s is not None else settings.default_time_limit_s
    if limit > settings.max_time_limit_s:
        raise RequestValidationError(
            [
                {
                    "loc": ("body", "time_limit_s"),
                    "type": "less_than_equal",
                    "msg": f"Input should be less than or equal to {settings.max_time_limit_s:g} "
                    "(the server's maximum)",
                }
            ]
        )
    check_plan_limit(
        scenario, limit, ("body", "time_limit_s"), previous=body.previous_plan_id is not None
    )
    request: dict[str, Any] = {"scenario": body.scenario, "time_limit_s": limit, "seed": body.seed}
    if body.previous_plan_id is not None:
        prev = store.get(tenant, body.previous_plan_id, with_request=True)
        why = None
        if prev is None or prev.status != "succeeded" or prev.result is None:
            why = f"no succeeded plan {body.previous_plan_id!r} of this tenant"
        elif (task := risk_task(prev)) is not None:
            why = f"job {prev.id!r} is a {task} job, not a plan"
        if prev is None or why is not None:
            raise RequestValidationError(
                [{"loc": ("body", "previous_plan_id"), "type": "value_error", "msg": why}]
            )
        request["previous_plan"] = prev.result
    from network.demand import ignored_keys
    from network.scenario import demand_keys_warning, unknown_fields

    warnings = unknown_fields(scenario)
    if keys := ignored_keys(body.scenario.get("demand")):
        warnings.append(f"scenario.demand: {demand_keys_warning(keys)}")
    rec, created = store.submit(
        tenant=tenant,
        scenario_name=scenario.name,
        request=request,
        time_limit_s=limit,
        seed=body.seed,
        idempotency_key=idempotency_key,
        warnings=warnings,
    )
    response.headers["Location"] = f"/v1/plans/{rec.id}"
    if not created:
        response.headers["Idempotent-Replayed"] = "true"
    # unknown keys are kept and planned without, as the CLI does; the answer (and the job,
    # for GET /v1/plans/{id}) says which; a replayed submission answers the first one's
    return PlanAccepted(
        id=rec.id,
        status=rec.status,  # type: ignore[arg-type]
        warnings=list(rec.warnings),
    )


@router.get("", response_model=PlansPublic, responses=_ERRORS, operation_id="list_plans")
def list_plans(
    tenant: TenantDep,
    store: StoreDep,
    networks: NetworksDep,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    offset: Annotated[int, Query(ge=0, le=2**31 - 1)] = 0,
    status_: Annotated[JobStatus | None, Query(alias="status")] = None,
) -> PlansPublic:
    """The tenant's plan jobs, newest first, ``limit`` per page from ``offset``."""
    rows, total = store.list(tenant, limit=limit, offset=offset, status=status_)
    src = networks.sources(tenant, [r.id for r in rows])
    return PlansPublic(
        data=[job_to_summary(r, src.get(r.id)) for r in rows],
        count=total,
        limit=limit,
        offset=offset,
    )


@router.get(
    "/{job_id}",
    response_model=PlanPublic,
    responses={**_ERRORS, **_NOT_FOUND},
    operation_id="get_plan",
)
def get_plan(job_id: str, tenant: TenantDep, store: StoreDep, networks: NetworksDep) -> PlanPublic:
    """One job: its status, and its plan once it has succeeded (or the error if it failed)."""
    rec = store.get(tenant, parse_job_id(job_id))
    if rec is None:
        raise not_found(job_id)
    return job_to_public(
        rec, networks.sources(tenant, [rec.id]).get(rec.id), networks.progress([rec.id]).get(rec.id)
    )


@router.delete(
    "/{job_id}",
    response_model=PlanPublic,
    operation_id="cancel_plan",
    responses={
        **_ERRORS,
        **_NOT_FOUND,
        409: {"model": ErrorResponse, "description": "job already finished"},
    },
)
def cancel_plan(job_id: str, tenant: TenantDep, store: StoreDep) -> PlanPublic:
    """Cancel a queued or running job (a running solve is stopped); 409 once it has finished."""
    rec = store.cancel(tenant, parse_job_id(job_id))
    if rec is None:
        raise not_found(job_id)
    if rec.status in ("succeeded", "failed"):
        raise HTTPException(status.HTTP_409_CONFLICT, f"plan {rec.id} already {rec.status}")
    return job_to_public(rec)
