"""``GET /healthz``: is the database usable, the job runner alive, and how long is the queue?"""

from __future__ import annotations

import logging

from fastapi import APIRouter, Response

from api.deps import RunnerDep, SettingsDep, StoreDep
from api.schemas import HealthReport
from api.store import DatabaseUnavailableError

router = APIRouter(tags=["health"])
logger = logging.getLogger(__name__)


@router.get(
    "/healthz",
    response_model=HealthReport,
    operation_id="health",
    responses={503: {"model": HealthReport, "description": "database or runner down"}},
)
def health(
    store: StoreDep, runner: RunnerDep, settings: SettingsDep, response: Response
) -> HealthReport:
    """Liveness and readiness: 200 when the database is usable and the runner runs, else 503.

    The database check writes nothing but takes SQLite's write lock for an instant (see
    :meth:`api.store.JobStore.probe`), so a database file that was moved away or that another
    process keeps locked makes the service ``degraded``, with the reason.
    """
    reasons: list[str] = []
    queued: int | None = None
    try:
        queued = store.probe(timeout_s=1.0)
        db = "ok"
    except DatabaseUnavailableError as e:
        logger.warning("health check: database unavailable: %s", e)
        reasons.append(f"database: {e}")
        db = "unavailable"
    run_ok = runner is not None and runner.alive
    if not run_ok:
        reasons.append("job runner stopped")
    h = HealthReport(
        status="ok" if not reasons else "degraded",
        database=db,  # type: ignore[arg-type]
        runner="ok" if run_ok else "stopped",
        workers=settings.workers,
        busy=runner.busy if runner is not None else 0,
        reason="; ".join(reasons) or None,
        queued=queued,
    )
    if h.status != "ok":
        response.status_code = 503
    return h
