"""The solve functions of risk jobs (``POST /v1/plans/{id}/simulate`` and ``/whatif``).

:func:`api.worker.plan_job` hands requests with ``"task": "simulate"`` or ``"whatif"`` here;
they run in the job runner's solver processes like plans.
"""

from __future__ import annotations

from typing import Any

__all__ = ["risk_job"]


def risk_job(request: dict[str, Any], *, time_limit_s: float, seed: int = 0) -> dict[str, Any]:
    """Run a simulate or what-if request; returns ``sim.json`` or ``whatif.json``.

    Raises
    ------
    ValueError
        For an unknown task (a bug: the routes only store the two known ones).
    """
    from network.compile import compile_network
    from network.scenario import parse_scenario
    from optimizer.plan.document import Plan

    scenario = parse_scenario(request["scenario"])
    task = request.get("task")
    if task == "simulate":
        from optimizer.risk.simulate import SimParams, simulate_plan

        params = SimParams(runs=int(request["runs"]), seed=int(request["seed"]))
        plan = Plan.from_json(request["plan"])
        doc = simulate_plan(compile_network(scenario), plan, params).to_json()
        doc["source_plan"] = request.get("source")
        return doc
    if task == "whatif":
        from optimizer.allocation.params import AllocationParams
        from optimizer.risk.shock import parse_shock
        from optimizer.risk.whatif import whatif, whatif_markdown

        params_a = AllocationParams(time_limit=float(time_limit_s), seed=seed)
        base = Plan.from_json(request["plan"])
        res = whatif(scenario, base, parse_shock(request["shock"]), params_a)
        doc = res.to_json()
        doc["source_plan"] = request.get("source")
        doc["markdown"] = whatif_markdown(doc)
        doc["plans"] = {"hold": res.hold.plan.to_json(), "replan": res.replan.to_json()}
        return doc
    raise ValueError(f"unknown task {task!r}")
