"""The durable job store: SQLAlchemy 2 over SQLite (default) or PostgreSQL.

Jobs move ``queued → running → succeeded | failed | cancelled``. Every transition is one
conditional ``UPDATE ... WHERE status = <expected>`` in its own transaction, so two actors (the
job runner and a cancelling request, or two runners) can never both win: a cancelled job is
never overwritten by a late result, and a queued job is claimed once.

Durability: a job is committed before ``POST /v1/plans`` answers 202. If the server dies, the
jobs it left ``running`` are found by :meth:`JobStore.recover` at the next start-up and re-queued,
or marked ``failed`` with the reason once they have been started ``max_attempts`` times (a job
that kills its server every time must not loop forever). Recovery assumes one server process per
database (the runner of a second live server would see its running jobs re-queued).

The schema is created and upgraded by Alembic (``api/migrations``), never by ``create_all``.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import json
import logging
import uuid
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, defer, mapped_column

__all__ = [
    "STATUSES",
    "TERMINAL",
    "Base",
    "IdempotencyConflictError",
    "Job",
    "JobRecord",
    "JobStore",
    "NightlyPlan",
    "NightlyRecord",
    "make_engine",
    "migrate",
    "request_hash",
]

logger = logging.getLogger(__name__)

STATUSES = ("queued", "running", "succeeded", "failed", "cancelled")
TERMINAL = frozenset({"succeeded", "failed", "cancelled"})
MIGRATIONS = Path(__file__).parent / "migrations"


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _utc(t: dt.datetime | None) -> dt.datetime | None:
    """SQLite hands back naive datetimes; every stored time is UTC."""
    if t is None or t.tzinfo is not None:
        return t
    return t.replace(tzinfo=dt.UTC)


class Base(DeclarativeBase):
    """Declarative base of the store's tables (the Alembic migrations are the source of truth)."""


class Job(Base):
    """One submitted plan job of one tenant."""

    __tablename__ = "jobs"
    __table_args__ = (
        sa.UniqueConstraint("tenant", "idempotency_key", name="uq_jobs_tenant_idempotency_key"),
        sa.Index("ix_jobs_status_created", "status", "created_at"),
        sa.Index("ix_jobs_tenant_created", "tenant", "created_at"),
    )

    id: Mapped[str] = mapped_column(sa.String(36), primary_key=True)
    tenant: Mapped[str] = mapped_column(sa.String(64))
    kind: Mapped[str] = mapped_column(sa.String(16), default="plan")
    status: Mapped[str] = mapped_column(sa.String(16))
    scenario_name: Mapped[str] = mapped_column(sa.String(200))
    request: Mapped[dict[str, Any]] = mapped_column(sa.JSON)
    request_hash: Mapped[str] = mapped_column(sa.String(64))
    idempotency_key: Mapped[str | None] = mapped_column(sa.String(200), nullable=True)
    time_limit_s: Mapped[float] = mapped_column(sa.Float)
    seed: Mapped[int] = mapped_column(sa.Integer, default=0)
    result: Mapped[dict[str, Any] | None] = mapped_column(sa.JSON, nullable=True)
    error: Mapped[str | None] = mapped_column(sa.Text, nullable=True)
    attempts: Mapped[int] = mapped_column(sa.Integer, default=0)
    created_at: Mapped[dt.datetime] = mapped_column(sa.DateTime(timezone=True))
    updated_at: Mapped[dt.datetime] = mapped_column(sa.DateTime(timezone=True))
    started_at: Mapped[dt.datetime | None] = mapped_column(
        sa.DateTime(timezone=True), nullable=True
    )
    finished_at: Mapped[dt.datetime | None] = mapped_column(
        sa.DateTime(timezone=True), nullable=True
    )


class NightlyPlan(Base):
    """The plan of one configured scenario on one run date (the nightly run's history)."""

    __tablename__ = "nightly_plans"
    __table_args__ = (sa.UniqueConstraint("scenario", "run_date", name="uq_nightly_scenario_date"),)

    id: Mapped[int] = mapped_column(sa.Integer, primary_key=True, autoincrement=True)
    scenario: Mapped[str] = mapped_column(sa.String(200))
    run_date: Mapped[dt.date] = mapped_column(sa.Date)
    status: Mapped[str] = mapped_column(sa.String(16))
    plan: Mapped[dict[str, Any] | None] = mapped_column(sa.JSON, nullable=True)
    error: Mapped[str | None] = mapped_column(sa.Text, nullable=True)
    created_at: Mapped[dt.datetime] = mapped_column(sa.DateTime(timezone=True))


@dataclasses.dataclass(frozen=True, slots=True)
class JobRecord:
    """A snapshot of one job row (safe to use after its session is closed)."""

    id: str
    tenant: str
    status: str
    scenario_name: str
    request: dict[str, Any] | None
    time_limit_s: float
    seed: int
    result: dict[str, Any] | None
    error: str | None
    attempts: int
    created_at: dt.datetime
    updated_at: dt.datetime
    started_at: dt.datetime | None
    finished_at: dt.datetime | None
    idempotency_key: str | None

    @classmethod
    def of(cls, j: Job, *, with_request: bool = True) -> JobRecord:
        """Snapshot a row; without ``with_request`` the (large) request body is left out."""
        created, updated = _utc(j.created_at), _utc(j.updated_at)
        assert created is not None and updated is not None
        return cls(
            id=j.id,
            tenant=j.tenant,
            status=j.status,
            scenario_name=j.scenario_name,
            request=j.request if with_request else None,
            time_limit_s=j.time_limit_s,
            seed=j.seed,
            result=j.result,
            error=j.error,
            attempts=j.attempts,
            created_at=created,
            updated_at=updated,
            started_at=_utc(j.started_at),
            finished_at=_utc(j.finished_at),
            idempotency_key=j.idempotency_key,
        )


@dataclasses.dataclass(frozen=True, slots=True)
class NightlyRecord:
    """A snapshot of one stored nightly plan."""

    scenario: str
    run_date: dt.date
    status: str
    plan: dict[str, Any] | None
    error: str | None


class IdempotencyConflictError(Exception):
    """An idempotency key was reused with a different request body."""

    def __init__(self, key: str, job_id: str):
        self.key = key
        self.job_id = job_id
        super().__init__(f"Idempotency-Key {key!r} was used for job {job_id} with a different body")


def _summary(j: Job) -> JobRecord:
    """A snapshot without the request and the result (for listings)."""
    created, updated = _utc(j.created_at), _utc(j.updated_at)
    assert created is not None and updated is not None
    return JobRecord(
        id=j.id,
        tenant=j.tenant,
        status=j.status,
        scenario_name=j.scenario_name,
        request=None,
        time_limit_s=j.time_limit_s,
        seed=j.seed,
        result=None,
        error=j.error,
        attempts=j.attempts,
        created_at=created,
        updated_at=updated,
        started_at=_utc(j.started_at),
        finished_at=_utc(j.finished_at),
        idempotency_key=j.idempotency_key,
    )


def request_hash(request: dict[str, Any]) -> str:
    """A stable hash of a request body (key order does not matter)."""
    blob = json.dumps(request, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(blob.encode()).hexdigest()


def make_engine(url: str) -> Engine:
    """An engine for ``url``; SQLite gets WAL, a busy timeout and cross-thread use.

    Notes
    -----
    The API's request threads and the job runner's thread share the engine. SQLite serialises
    writers; WAL lets readers proceed during a write and ``busy_timeout`` makes a writer wait
    instead of failing with "database is locked".
    """
    if url.startswith("sqlite"):
        engine = sa.create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})

        @event.listens_for(engine, "connect")
        def _pragmas(dbapi_conn: Any, _record: Any) -> None:
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA busy_timeout=30000")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.close()

        return engine
    return sa.create_engine(url, pool_pre_ping=True)


def migrate(engine: Engine) -> None:
    """Upgrade the database schema to the newest Alembic revision."""
    from alembic import command
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "head")


class JobStore:
    """Jobs and nightly plans in one database.

    Parameters
    ----------
    engine
        From :func:`make_engine`; the schema must be migrated (:func:`migrate`).
    """

    def __init__(self, engine: Engine):
        self.engine = engine

    # -- submission and queries ------------------------------------------------------------
    def submit(
        self,
        *,
        tenant: str,
        scenario_name: str,
        request: dict[str, Any],
        time_limit_s: float,
        seed: int = 0,
        idempotency_key: str | None = None,
    ) -> tuple[JobRecord, bool]:
        """Store a new queued job; returns ``(job, created)``.

        With an ``idempotency_key`` already used by this tenant, the existing job is returned
        (``created`` False) and nothing new is queued.

        Raises
        ------
        IdempotencyConflictError
            If the key was used with a different request body.
        """
        digest = request_hash(request)
        if idempotency_key is not None:
            found = self._by_key(tenant, idempotency_key)
            if found is not None:
                return self._replay(found, digest), False
        now = _now()
        job = Job(
            id=str(uuid.uuid4()),
            tenant=tenant,
            kind="plan",
            status="queued",
            scenario_name=scenario_name[:200],
            request=request,
            request_hash=digest,
            idempotency_key=idempotency_key,
            time_limit_s=float(time_limit_s),
            seed=seed,
            attempts=0,
            created_at=now,
            updated_at=now,
        )
        try:
            with Session(self.engine) as s, s.begin():
                s.add(job)
                s.flush()
                rec = JobRecord.of(job)
        except IntegrityError:
            # Two submissions with the same key raced; the other one won.
            found = self._by_key(tenant, idempotency_key) if idempotency_key else None
            if found is None:
                raise
            return self._replay(found, digest), False
        logger.info("job %s queued for tenant %s", rec.id, tenant)
        return rec, True

    def _by_key(self, tenant: str, key: str) -> tuple[JobRecord, str] | None:
        with Session(self.engine) as s:
            j = s.scalars(
                sa.select(Job).where(Job.tenant == tenant, Job.idempotency_key == key)
            ).first()
            return (JobRecord.of(j), j.request_hash) if j is not None else None

    @staticmethod
    def _replay(found: tuple[JobRecord, str], digest: str) -> JobRecord:
        rec, stored = found
        if stored != digest:
            raise IdempotencyConflictError(rec.idempotency_key or "", rec.id)
        return rec

    def get(self, tenant: str, job_id: str, *, with_request: bool = False) -> JobRecord | None:
        """The tenant's job ``job_id``, or None (also for another tenant's job).

        The request body (the whole scenario) is loaded only ``with_request``.
        """
        q = sa.select(Job).where(Job.id == job_id, Job.tenant == tenant)
        if not with_request:
            q = q.options(defer(Job.request))
        with Session(self.engine) as s:
            j = s.scalars(q).first()
            return JobRecord.of(j, with_request=with_request) if j is not None else None

    def list(
        self, tenant: str, *, limit: int = 50, offset: int = 0, status: str | None = None
    ) -> tuple[list[JobRecord], int]:
        """The tenant's jobs, newest first, and the total count (for pagination)."""
        cond = [Job.tenant == tenant] + ([Job.status == status] if status else [])
        with Session(self.engine) as s:
            total = s.scalar(sa.select(sa.func.count()).select_from(Job).where(*cond)) or 0
            rows = s.scalars(
                sa.select(Job)
                .where(*cond)
                .options(defer(Job.request), defer(Job.result))
                .order_by(Job.created_at.desc(), Job.id.desc())
                .limit(limit)
                .offset(offset)
            ).all()
            return [_summary(j) for j in rows], int(total)

    def cancel(self, tenant: str, job_id: str) -> JobRecord | None:
        """Cancel a queued or running job; a finished job is returned unchanged.

        Returns None if the tenant has no such job. The runner notices the status change and
        terminates the solver process of a running job.
        """
        now = _now()
        with Session(self.engine) as s, s.begin():
            s.execute(
                sa.update(Job)
                .where(
                    Job.id == job_id, Job.tenant == tenant, Job.status.in_(("queued", "running"))
                )
                .values(
                    status="cancelled",
                    error="cancelled by the client",
                    updated_at=now,
                    finished_at=now,
                )
            )
        return self.get(tenant, job_id)

    def latest_request(self, tenant: str, scenario_name: str) -> JobRecord | None:
        """The tenant's most recent job for a scenario name (a stored forecast)."""
        with Session(self.engine) as s:
            j = s.scalars(
                sa.select(Job)
                .where(Job.tenant == tenant, Job.scenario_name == scenario_name)
                .order_by(Job.created_at.desc(), Job.id.desc())
            ).first()
            return JobRecord.of(j) if j is not None else None

    # -- the runner's side -----------------------------------------------------------------
    def claim(self, n: int) -> list[JobRecord]:
        """Move up to ``n`` queued jobs (oldest first) to ``running``; returns those won."""
        out: list[JobRecord] = []
        if n <= 0:
            return out
        with Session(self.engine) as s:
            ids = s.scalars(
                sa.select(Job.id)
                .where(Job.status == "queued")
                .order_by(Job.created_at, Job.id)
                .limit(n)
            ).all()
        for job_id in ids:
            now = _now()
            with Session(self.engine) as s, s.begin():
                res = s.execute(
                    sa.update(Job)
                    .where(Job.id == job_id, Job.status == "queued")
                    .values(
                        status="running", attempts=Job.attempts + 1, started_at=now, updated_at=now
                    )
                )
                if res.rowcount != 1:  # type: ignore[attr-defined]
                    continue  # cancelled or claimed by someone else meanwhile
                j = s.get(Job, job_id)
                assert j is not None
                out.append(JobRecord.of(j))
        return out

    def finish(self, job_id: str, *, result: dict[str, Any]) -> bool:
        """Store the plan of a running job; False if it is no longer running (cancelled)."""
        return self._end(job_id, status="succeeded", result=result, error=None)

    def fail(self, job_id: str, *, error: str) -> bool:
        """Mark a running job failed with a reason; False if it is no longer running."""
        return self._end(job_id, status="failed", result=None, error=error)

    def _end(
        self, job_id: str, *, status: str, result: dict[str, Any] | None, error: str | None
    ) -> bool:
        now = _now()
        with Session(self.engine) as s, s.begin():
            res = s.execute(
                sa.update(Job)
                .where(Job.id == job_id, Job.status == "running")
                .values(status=status, result=result, error=error, updated_at=now, finished_at=now)
            )
            ok = res.rowcount == 1  # type: ignore[attr-defined]
        if ok:
            logger.info("job %s %s", job_id, status)
        return ok

    def statuses(self, ids: Iterable[str]) -> dict[str, str]:
        """Current status of each of ``ids`` (missing ids are left out)."""
        ids = list(ids)
        if not ids:
            return {}
        with Session(self.engine) as s:
            rows = s.execute(sa.select(Job.id, Job.status).where(Job.id.in_(ids))).all()
            return {r.id: r.status for r in rows}

    def recover(self, *, max_attempts: int) -> tuple[list[str], list[str]]:
        """Handle jobs left ``running`` by a dead server; returns ``(requeued, failed)`` ids.

        A job started fewer than ``max_attempts`` times goes back to ``queued``; the others
        are marked ``failed`` with the reason.
        """
        now = _now()
        with Session(self.engine) as s, s.begin():
            rows = s.execute(sa.select(Job.id, Job.attempts).where(Job.status == "running")).all()
            failed = [r.id for r in rows if r.attempts >= max_attempts]
            requeued = [r.id for r in rows if r.attempts < max_attempts]
            if failed:
                s.execute(
                    sa.update(Job)
                    .where(Job.id.in_(failed), Job.status == "running")
                    .values(
                        status="failed",
                        updated_at=now,
                        finished_at=now,
                        error=f"the server stopped during the solve {max_attempts} "
                        f"time(s); giving up after {max_attempts} attempt(s)",
                    )
                )
            if requeued:
                s.execute(
                    sa.update(Job)
                    .where(Job.id.in_(requeued), Job.status == "running")
                    .values(status="queued", updated_at=now, started_at=None)
                )
        for i in requeued:
            logger.warning("job %s was running when the server stopped: re-queued", i)
        for i in failed:
            logger.warning(
                "job %s was running when the server stopped: failed after %d attempts",
                i,
                max_attempts,
            )
        return requeued, failed

    def release(self, ids: Iterable[str]) -> None:
        """Put running jobs back in the queue on an orderly shutdown (attempt not counted)."""
        ids = list(ids)
        if not ids:
            return
        with Session(self.engine) as s, s.begin():
            s.execute(
                sa.update(Job)
                .where(Job.id.in_(ids), Job.status == "running")
                .values(
                    status="queued",
                    started_at=None,
                    updated_at=_now(),
                    attempts=sa.case((Job.attempts > 0, Job.attempts - 1), else_=0),
                )
            )

    # -- nightly plans ---------------------------------------------------------------------
    def save_nightly(
        self,
        *,
        scenario: str,
        run_date: dt.date,
        status: str,
        plan: dict[str, Any] | None,
        error: str | None = None,
    ) -> None:
        """Store (or replace) the plan of ``scenario`` for ``run_date``."""
        with Session(self.engine) as s, s.begin():
            s.execute(
                sa.delete(NightlyPlan).where(
                    NightlyPlan.scenario == scenario, NightlyPlan.run_date == run_date
                )
            )
            s.add(
                NightlyPlan(
                    scenario=scenario,
                    run_date=run_date,
                    status=status,
                    plan=plan,
                    error=error,
                    created_at=_now(),
                )
            )

    def previous_nightly(self, scenario: str, before: dt.date) -> NightlyRecord | None:
        """The latest successful plan of ``scenario`` stored for a date before ``before``."""
        with Session(self.engine) as s:
            r = s.scalars(
                sa.select(NightlyPlan)
                .where(
                    NightlyPlan.scenario == scenario,
                    NightlyPlan.run_date < before,
                    NightlyPlan.status == "succeeded",
                )
                .order_by(NightlyPlan.run_date.desc())
            ).first()
            return (
                NightlyRecord(r.scenario, r.run_date, r.status, r.plan, r.error)
                if r is not None
                else None
            )

    def nightly(self, scenario: str) -> Sequence[NightlyRecord]:
        """Every stored run of ``scenario``, oldest first."""
        with Session(self.engine) as s:
            rows = s.scalars(
                sa.select(NightlyPlan)
                .where(NightlyPlan.scenario == scenario)
                .order_by(NightlyPlan.run_date)
            ).all()
            return [NightlyRecord(r.scenario, r.run_date, r.status, r.plan, r.error) for r in rows]
