"""The solve functions of risk jobs (``POST /v1/plans/{id}/simulate`` and ``/whatif``).

:func:`api.worker.plan_job` hands requests with ``"task": "simulate"`` or ``"whatif"`` here;
they run in the job runner's solver processes like plans. The checks of which stored jobs are
risk jobs live here too (:func:`is_risk_request`, :func:`plan_request_sql`,
:func:`is_risk_result`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import sqlalchemy as sa
    from sqlalchemy.orm import QueryableAttribute

    from optimizer.progress import PhaseReport

__all__ = ["RISK_TASKS", "is_risk_request", "is_risk_result", "plan_request_sql", "risk_job"]

RISK_TASKS = ("simulate", "whatif")
"""The ``task`` of a risk job's request; a plan job's request has none."""

SIM_SHARE = 0.95
"""The share of a simulate job's time limit its runs may take (the rest: parsing the
scenario and plan before, storing the document after)."""


def is_risk_request(request: Mapping[str, Any] | None) -> bool:
    """Whether a job's request is a simulate or what-if request (not a plan request)."""
    return (request or {}).get("task") in RISK_TASKS


def plan_request_sql(request: QueryableAttribute[Any]) -> sa.ColumnElement[bool]:
    """:func:`is_risk_request` negated, in SQL, on a JSON ``request`` column (the console's
    lists read no request bodies)."""
    import sqlalchemy as sa

    task = request["task"].as_string()
    return sa.or_(task.is_(None), task.not_in(RISK_TASKS))


def is_risk_result(result: Any) -> bool:
    """Whether a job's result is a simulate or what-if document: it names the plan it was
    made from (``source_plan``); a plan does not."""
    return isinstance(result, dict) and "source_plan" in result


def risk_job(
    request: dict[str, Any],
    *,
    time_limit_s: float,
    seed: int = 0,
    progress: PhaseReport | None = None,
) -> dict[str, Any]:
    """Run a simulate or what-if request; returns ``sim.json`` or ``whatif.json``; both tell
    ``progress`` their steps (``GET /v1/plans/{id}`` shows them, as a plan's): a simulation
    its runs done, a what-if its steps. A simulation stops its runs in time to end within
    ``time_limit_s`` (``status`` ``"time_limit"`` and the runs done in its document).

    Raises
    ------
    ValueError
        For an unknown task (a bug: the routes only store the two known ones).
    """
    import time

    from network.compile import compile_network
    from network.scenario import parse_scenario
    from optimizer.plan.document import Plan

    # a what-if's time limit covers the job (the hold and the re-plan), not the re-plan alone:
    # the runner stops a job that overruns its limit
    started = time.perf_counter()
    scenario = parse_scenario(request["scenario"])
    task = request.get("task")
    if task == "simulate":
        from optimizer.risk.simulate import SimParams, simulate_plan

        params = SimParams(runs=int(request["runs"]), seed=int(request["seed"]))
        plan = Plan.from_json(request["plan"])
        # the runs stop in time for the job to end within its limit (whole batches; the
        # document says how many ran), rather than the runner stopping the job with nothing
        doc = simulate_plan(
            compile_network(scenario),
            plan,
            params,
            deadline=started + SIM_SHARE * float(time_limit_s),
            progress=progress,
        ).to_json()
        doc["source_plan"] = request.get("source")
        return doc
    if task == "whatif":
        from optimizer.allocation.params import AllocationParams
        from optimizer.risk.shock import parse_shock
        from optimizer.risk.whatif import whatif, whatif_markdown

        params_a = AllocationParams(time_limit=float(time_limit_s), seed=seed)
        base = Plan.from_json(request["plan"])
        prev = request.get("previous_plan")  # the base plan's own (POST /v1/plans)
        res = whatif(
            scenario,
            base,
            parse_shock(request["shock"]),
            params_a,
            started=started,
            previous=Plan.from_json(prev) if prev is not None else None,
            progress=progress,
        )
        doc = res.to_json()
        doc["source_plan"] = request.get("source")
        doc["markdown"] = whatif_markdown(doc)
        doc["plans"] = {"hold": res.hold.plan.to_json(), "replan": res.replan.to_json()}
        return doc
    raise ValueError(f"unknown task {task!r}")
