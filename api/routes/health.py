"""``GET /healthz``: is the database reachable and the job runner alive?"""

from __future__ import annotations

import logging

import sqlalchemy as sa
from fastapi import APIRouter, Response

from api.deps import RunnerDep, SettingsDep, StoreDep
from api.schemas import Health

router = APIRouter(tags=["health"])
logger = logging.getLogger(__name__)


@router.get(
    "/healthz",
    response_model=Health,
    operation_id="health",
    responses={503: {"model": Health, "description": "database or runner down"}},
)
def health(store: StoreDep, runner: RunnerDep, settings: SettingsDep, response: Response) -> Health:
    """Liveness and readiness: 200 when the database answers and the runner runs, else 503."""
    try:
        with store.engine.connect() as c:
            c.execute(sa.text("SELECT 1"))
        db = "ok"
    except Exception:
        logger.warning("health check: database unavailable")
        db = "unavailable"
    run_ok = runner is not None and runner.alive
    h = Health(
        status="ok" if db == "ok" and run_ok else "degraded",
        database=db,  # type: ignore[arg-type]
        runner="ok" if run_ok else "stopped",
        workers=settings.workers,
        busy=runner.busy if runner is not None else 0,
    )
    if h.status != "ok":
        response.status_code = 503
    return h
