"""The durable job store: SQLAlchemy 2 over SQLite (default) or PostgreSQL.

Jobs move ``queued → running → succeeded | failed | cancelled``. Every transition is one
conditional ``UPDATE ... WHERE status = <expected>`` in its own transaction, so two actors (the
job runner and a cancelling request, or two runners) can never both win: a cancelled job is
never overwritten by a late result, and a queued job is claimed once.

Leases (several servers on one PostgreSQL database)
---------------------------------------------------
A runner claims queued jobs with ``SELECT ... FOR UPDATE SKIP LOCKED`` and a conditional
``UPDATE ... RETURNING`` in one transaction: concurrent claimers skip each other's rows instead
of waiting, and each job goes to one of them. A claim records the runner's ``lease_owner`` id and
``lease_expires_at``; the runner renews the lease (:meth:`JobStore.renew`) on a heartbeat while
the solve runs. Every live runner sweeps periodically (:meth:`JobStore.sweep`): a ``running``
job whose lease has expired (its server died or lost the database) is re-queued, or marked
``failed`` with the reason once it has been started ``max_attempts`` times (a job that kills
its server every time must not loop forever). Nothing happens to running jobs at start-up: a
new server does not take over the jobs of live ones.

The end of a solve (:meth:`JobStore.finish`, :meth:`JobStore.fail`) and an orderly
:meth:`JobStore.release` are conditional on the lease (same owner, same attempt), so a runner
that lost its lease (swept, maybe re-claimed by another server) can never overwrite the job.
Lease times are read from the database's clock on PostgreSQL (``statement_timestamp()``), so
servers on several machines need not agree on the time; on SQLite (one process, see below) the
process's UTC clock is used.

SQLite keeps the one-process rule: it serialises every writer across processes and must not be
shared between machines, so run a single ``tradelane serve`` per SQLite file (the service says
so at start-up); leases and sweeps work there too, for that one process.

Durability: a job is committed before ``POST /v1/plans`` answers 202.

The schema is created and upgraded by Alembic (``api/migrations``), never by ``create_all``.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import json
import logging
import re
import uuid
from collections.abc import Iterable, Mapping, Sequence
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
    "DatabaseUnavailableError",
    "IdempotencyConflictError",
    "Job",
    "JobRecord",
    "JobStore",
    "NightlyPlan",
    "NightlyRecord",
    "QueueFullError",
    "first_line",
    "make_engine",
    "mask_url",
    "migrate",
    "request_hash",
]

logger = logging.getLogger(__name__)

STATUSES = ("queued", "running", "succeeded", "failed", "cancelled")
TERMINAL = frozenset({"succeeded", "failed", "cancelled"})
MIGRATIONS = Path(__file__).parent / "migrations"
_DATETIME = sa.DateTime(timezone=True)


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
        sa.Index("ix_jobs_status_lease", "status", "lease_expires_at"),
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
    lease_owner: Mapped[str | None] = mapped_column(sa.String(100), nullable=True)
    lease_expires_at: Mapped[dt.datetime | None] = mapped_column(
        sa.DateTime(timezone=True), nullable=True
    )
    #: what the submission held that planning ignores (``PlanAccepted.warnings``)
    warnings: Mapped[list[str] | None] = mapped_column(sa.JSON, nullable=True)


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
    lease_owner: str | None = None
    lease_expires_at: dt.datetime | None = None
    warnings: tuple[str, ...] = ()

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
            lease_owner=j.lease_owner,
            lease_expires_at=_utc(j.lease_expires_at),
            warnings=tuple(j.warnings or ()),
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
        lease_owner=j.lease_owner,
        lease_expires_at=_utc(j.lease_expires_at),
        warnings=tuple(j.warnings or ()),
    )


def request_hash(request: dict[str, Any]) -> str:
    """A stable hash of a request body (key order does not matter)."""
    blob = json.dumps(request, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(blob.encode()).hexdigest()


SQLITE_BUSY_TIMEOUT_S = 5.0
"""How long an SQLite statement waits for another writer's lock before failing (the request
then gets a 503, not a hang)."""

PG_CONNECT_TIMEOUT_S = 5
"""How long opening a PostgreSQL connection may take (libpq's ``connect_timeout``, whole
seconds, at least 2) unless the URL sets its own: a server that accepts the connection but
never answers gives a 503 (``/healthz`` included), not a hang."""

MIGRATION_LOCK = 0x7472_6164_656C  # pg_advisory_lock key of migrate() ("tradel")
QUEUE_LOCK = 0x7472_6164_6C71  # pg_advisory_xact_lock key of bounded submissions ("tradlq")


class DatabaseUnavailableError(Exception):
    """The database cannot be used now (gone, replaced, locked or unreachable)."""


class QueueFullError(Exception):
    """The job queue holds the most queued jobs allowed (``TRADELANE_MAX_QUEUED``)."""

    def __init__(self, limit: int):
        self.limit = limit
        super().__init__(f"the job queue is full ({limit} queued jobs); retry later")


def mask_url(url: str) -> str:
    """``url`` with its password replaced by ``***`` (for messages and logs)."""
    try:
        return sa.engine.make_url(url).render_as_string(hide_password=True)
    except Exception:  # not a URL SQLAlchemy can parse: mask ``//user:password@`` by hand
        return re.sub(r"(//[^/:@]*:)[^@/]*@", r"\1***@", url)


def sqlite_path(engine: Engine) -> Path | None:
    """The file of an SQLite engine (None for other databases and in-memory SQLite)."""
    db = engine.url.database
    if engine.dialect.name != "sqlite" or not db or db == ":memory:" or db.startswith("file:"):
        return None
    return Path(db)


def make_engine(url: str) -> Engine:
    """An engine for ``url``; SQLite gets WAL, a busy timeout and cross-thread use.

    Notes
    -----
    The API's request threads and the job runner's thread share the engine. SQLite serialises
    writers; WAL lets readers proceed during a write and ``busy_timeout``
    (:data:`SQLITE_BUSY_TIMEOUT_S`) makes a writer wait that long instead of failing at once
    with "database is locked". Every SQLite connection handed out checks that the file at the
    URL's path is still the file it opened: a moved or deleted database raises
    :class:`DatabaseUnavailableError` instead of writing into an unlinked file. PostgreSQL
    connections time out after :data:`PG_CONNECT_TIMEOUT_S` unless the URL says otherwise. SQL
    parameters (tenants' request bodies) never appear in logged errors (``hide_parameters``).
    """
    if not url.startswith("sqlite"):
        args: dict[str, Any] = {}
        parsed = sa.engine.make_url(url)
        if parsed.get_backend_name() == "postgresql" and "connect_timeout" not in parsed.query:
            args["connect_timeout"] = PG_CONNECT_TIMEOUT_S
        return sa.create_engine(url, pool_pre_ping=True, hide_parameters=True, connect_args=args)
    engine = sa.create_engine(
        url,
        connect_args={"check_same_thread": False, "timeout": SQLITE_BUSY_TIMEOUT_S},
        hide_parameters=True,
    )
    path = sqlite_path(engine)

    @event.listens_for(engine, "connect")
    def _pragmas(dbapi_conn: Any, record: Any) -> None:
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute(f"PRAGMA busy_timeout={int(SQLITE_BUSY_TIMEOUT_S * 1000)}")
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.close()
        if path is not None:
            record.info["inode"] = _inode(path)

    @event.listens_for(engine, "checkout")
    def _same_file(_dbapi_conn: Any, record: Any, _proxy: Any) -> None:
        if path is not None and _inode(path) != record.info.get("inode"):
            raise DatabaseUnavailableError(
                f"the SQLite file {str(path)!r} was moved, deleted or replaced; "
                "restore it or restart the server"
            )

    return engine


def first_line(e: BaseException, *, limit: int | None = 300) -> str:
    """The first line of a database error (the driver's own message when SQLAlchemy wraps
    one, without SQLAlchemy's background link), at most ``limit`` characters; the exception's
    type name when it has no message."""
    orig = getattr(e, "orig", None) or e
    return (str(orig).strip().splitlines() or [type(orig).__name__])[0][:limit]


def _inode(path: Path) -> tuple[int, int] | None:
    try:
        st = path.stat()
    except OSError:
        return None
    return (st.st_dev, st.st_ino)


def migrate(engine: Engine) -> None:
    """Upgrade the database schema to the newest Alembic revision.

    On PostgreSQL the upgrade holds an advisory lock (:data:`MIGRATION_LOCK`) for its
    transaction, so servers starting together on a new database migrate one after the other
    (the later ones find the schema current) instead of racing to create the same tables.
    """
    from alembic import command
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    with engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(sa.text("SELECT pg_advisory_xact_lock(:k)"), {"k": MIGRATION_LOCK})
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "head")


# (``list`` is also a method of JobStore: inside the class, annotations use these aliases.)
_Records = list[JobRecord]
_Ids = list[str]


class JobStore:
    """Jobs and nightly plans in one database.

    Parameters
    ----------
    engine
        From :func:`make_engine`; the schema must be migrated (:func:`migrate`).
    max_queued
        :meth:`submit` refuses a new job (:class:`QueueFullError`) while this many jobs are
        queued in the database (None: no bound). The count and the insert are atomic
        (:meth:`_insert_queued`), so concurrent submissions never pass the bound.
    """

    def __init__(self, engine: Engine, *, max_queued: int | None = None):
        self.engine = engine
        self.max_queued = max_queued

    def probe(self, *, timeout_s: float = 1.0) -> int:
        """Check that the database is usable now; returns the number of queued jobs.

        SQLite: the file must still be at its path, and a fresh connection to it (never
        creating it) must get the write lock within ``timeout_s`` (``BEGIN IMMEDIATE``, rolled
        back at once) and read the jobs table. ``SELECT 1`` would pass on a moved file or one
        another process holds locked, while every write fails. PostgreSQL: the count itself, under
        a ``statement_timeout`` of ``timeout_s`` (a locked table or a stuck server is reported
        as unavailable after that long, not waited for).

        Raises
        ------
        DatabaseUnavailableError
            Naming the reason.
        """
        path = sqlite_path(self.engine)
        if path is None:
            try:
                return self._count_queued(timeout_s)
            except sa.exc.SQLAlchemyError as e:
                raise DatabaseUnavailableError(first_line(e)) from None
        import sqlite3

        if not path.is_file():
            raise DatabaseUnavailableError(f"the SQLite file {str(path)!r} is missing")
        try:
            con = sqlite3.connect(
                f"{path.resolve().as_uri()}?mode=rw",
                uri=True,
                timeout=timeout_s,
                isolation_level=None,
            )
            try:
                con.execute("BEGIN IMMEDIATE")
                row = con.execute("SELECT count(*) FROM jobs WHERE status = 'queued'").fetchone()
                con.execute("ROLLBACK")
            finally:
                con.close()
        except sqlite3.Error as e:
            raise DatabaseUnavailableError(f"SQLite file {str(path)!r}: {e}") from None
        return int(row[0])

    def _count_queued(self, timeout_s: float) -> int:
        """The queued count in a transaction whose statements PostgreSQL cancels after
        ``timeout_s`` (``statement_timeout``, local to the transaction): a lock held on the
        jobs table or a stuck server makes the health check fail fast instead of hanging."""
        with self.engine.connect() as conn, conn.begin():
            if conn.dialect.name == "postgresql":
                ms = str(max(1, round(timeout_s * 1000)))
                conn.execute(sa.select(sa.func.set_config("statement_timeout", ms, True)))
            return int(
                conn.scalar(
                    sa.select(sa.func.count()).select_from(Job).where(Job.status == "queued")
                )
                or 0
            )

    def queued(self) -> int:
        """Number of queued jobs (all tenants)."""
        with Session(self.engine) as s:
            return int(
                s.scalar(sa.select(sa.func.count()).select_from(Job).where(Job.status == "queued"))
                or 0
            )

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
        warnings: Sequence[str] = (),
    ) -> tuple[JobRecord, bool]:
        """Store a new queued job; returns ``(job, created)``. ``warnings``: what the
        submission held that planning ignores, kept with the job (``GET /v1/plans/{id}``).

        With an ``idempotency_key`` already used by this tenant, the existing job is returned
        (``created`` False) and nothing new is queued.

        Raises
        ------
        IdempotencyConflictError
            If the key was used with a different request body.
        QueueFullError
            If ``max_queued`` jobs are queued already.
        """
        digest = request_hash(request)
        if idempotency_key is not None:
            found = self._by_key(tenant, idempotency_key)
            if found is not None:
                return self._replay(found, digest), False
        now = _now()
        values: dict[str, Any] = {
            "id": str(uuid.uuid4()),
            "tenant": tenant,
            "kind": "plan",
            "status": "queued",
            "scenario_name": scenario_name[:200],
            "request": request,
            "request_hash": digest,
            "idempotency_key": idempotency_key,
            "time_limit_s": float(time_limit_s),
            "seed": seed,
            "attempts": 0,
            "created_at": now,
            "updated_at": now,
            "warnings": list(warnings) or None,
        }
        try:
            with self.engine.begin() as conn:
                if not self._insert_queued(conn, values):
                    raise QueueFullError(self.max_queued or 0)
        except IntegrityError:
            # Two submissions with the same key raced; the other one won.
            found = self._by_key(tenant, idempotency_key) if idempotency_key else None
            if found is None:
                raise
            return self._replay(found, digest), False
        rec = JobRecord(
            id=values["id"],
            tenant=tenant,
            status="queued",
            scenario_name=values["scenario_name"],
            request=request,
            time_limit_s=values["time_limit_s"],
            seed=seed,
            result=None,
            error=None,
            attempts=0,
            created_at=now,
            updated_at=now,
            started_at=None,
            finished_at=None,
            idempotency_key=idempotency_key,
            warnings=tuple(warnings),
        )
        logger.info("job %s queued for tenant %s", rec.id, tenant)
        return rec, True

    def _insert_queued(self, conn: sa.Connection, values: dict[str, Any]) -> bool:
        """Insert a queued job unless ``max_queued`` jobs are queued; False if the queue is full.

        The count and the insert are one statement, ``INSERT INTO jobs (...) SELECT ... WHERE
        (SELECT count(*) ... 'queued') < max_queued``: SQLite runs a statement under its
        database-wide write lock, so concurrent submissions cannot both see room for one job.
        PostgreSQL's statement reads a snapshot without blocking other inserts, so there the
        statement first takes a transaction-scoped advisory lock (:data:`QUEUE_LOCK`, released
        by the commit): bounded submissions run the statement one at a time, each seeing the
        jobs the ones before it committed.
        """
        if self.max_queued is None:
            conn.execute(sa.insert(Job).values(**values))
            return True
        if conn.dialect.name == "postgresql":
            conn.execute(sa.text("SELECT pg_advisory_xact_lock(:k)"), {"k": QUEUE_LOCK})
        queued = (
            sa.select(sa.func.count())
            .select_from(Job)
            .where(Job.status == "queued")
            .scalar_subquery()
        )
        cols = list(values)
        types = Job.__table__.c
        row = sa.select(*(sa.literal(values[c], types[c].type) for c in cols)).where(
            queued < self.max_queued
        )
        stmt = sa.insert(Job).from_select(cols, row).returning(Job.id)
        return conn.execute(stmt).first() is not None

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

    # -- the runner's side: claims and leases ----------------------------------------------
    @property
    def is_sqlite(self) -> bool:
        """Whether the store is an SQLite file (one server process only)."""
        return self.engine.dialect.name == "sqlite"

    def _at(self, offset_s: float = 0.0) -> sa.ColumnElement[dt.datetime]:
        """ "Now" (+ ``offset_s``) as SQL: the database's clock on PostgreSQL, ours on SQLite."""
        if self.is_sqlite:
            return sa.literal(_now() + dt.timedelta(seconds=offset_s), _DATETIME)
        now = sa.func.statement_timestamp(type_=_DATETIME)
        return now + sa.literal(dt.timedelta(seconds=offset_s), sa.Interval()) if offset_s else now

    def claim(self, n: int, *, owner: str, lease_s: float) -> _Records:
        """Move up to ``n`` queued jobs (oldest first) to ``running`` under a lease of ``owner``.

        One transaction: ``SELECT ... FOR UPDATE SKIP LOCKED LIMIT n`` locks up to ``n`` queued
        rows no other claimer holds (PostgreSQL; SQLite has no row locks and ignores the
        clause), then ``UPDATE ... WHERE status = 'queued' RETURNING`` takes them. Concurrent
        claimers never wait for each other and never get the same job. (Not one ``UPDATE ...
        WHERE id IN (SELECT ... SKIP LOCKED LIMIT n)``: PostgreSQL may run that subquery again
        for each row and take more than ``n``.) Each claim counts one attempt and sets
        ``lease_expires_at`` to now + ``lease_s``.

        Returns
        -------
        list of JobRecord
            The jobs won, oldest first (with their request).
        """
        if n <= 0:
            return []
        now = _now()
        with Session(self.engine) as s, s.begin():
            ids = s.scalars(
                sa.select(Job.id)
                .where(Job.status == "queued")
                .order_by(Job.created_at, Job.id)
                .limit(n)
                .with_for_update(skip_locked=True)
            ).all()
            if not ids:
                return []
            rows = s.scalars(
                sa.update(Job)
                .where(Job.id.in_(ids), Job.status == "queued")
                .values(
                    status="running",
                    attempts=Job.attempts + 1,
                    started_at=now,
                    updated_at=now,
                    lease_owner=owner,
                    lease_expires_at=self._at(lease_s),
                )
                .returning(Job)
                .execution_options(synchronize_session=False)
            ).all()
            out = [JobRecord.of(j) for j in rows]
        out.sort(key=lambda r: (r.created_at, r.id))
        for r in out:
            logger.info("job %s claimed by %s (attempt %d)", r.id, owner, r.attempts)
        return out

    def renew(self, ids: Iterable[str], *, owner: str, lease_s: float) -> set[str]:
        """Extend ``owner``'s leases on ``ids`` to now + ``lease_s``; returns the ids renewed.

        A job left out of the answer is no longer ``owner``'s to run: cancelled, or its lease
        expired and a sweep re-queued it (maybe another server runs it now). The runner stops
        those solves.
        """
        ids = list(ids)
        if not ids:
            return set()
        with Session(self.engine) as s, s.begin():
            got = s.scalars(
                sa.update(Job)
                .where(Job.id.in_(ids), Job.status == "running", Job.lease_owner == owner)
                .values(lease_expires_at=self._at(lease_s))
                .returning(Job.id)
                .execution_options(synchronize_session=False)
            ).all()
        return set(got)

    def held(self, leases: Mapping[str, int], *, owner: str) -> set[str]:
        """Which of ``{job id: attempt}`` are still running under ``owner``'s lease (a read)."""
        if not leases:
            return set()
        with Session(self.engine) as s:
            rows = s.execute(
                sa.select(Job.id, Job.attempts).where(
                    Job.id.in_(list(leases)), Job.status == "running", Job.lease_owner == owner
                )
            ).all()
        return {r.id for r in rows if leases[r.id] == r.attempts}

    def finish(
        self,
        job_id: str,
        *,
        result: dict[str, Any],
        owner: str | None = None,
        attempt: int | None = None,
    ) -> bool:
        """Store the plan of a running job; False if it is no longer running or no longer
        ``owner``'s (attempt ``attempt``): cancelled, or its lease was lost."""
        return self._end(
            job_id, status="succeeded", result=result, error=None, owner=owner, attempt=attempt
        )

    def fail(
        self, job_id: str, *, error: str, owner: str | None = None, attempt: int | None = None
    ) -> bool:
        """Mark a running job failed with a reason; False if it is no longer running or no
        longer ``owner``'s (attempt ``attempt``)."""
        return self._end(
            job_id, status="failed", result=None, error=error, owner=owner, attempt=attempt
        )

    def _end(
        self,
        job_id: str,
        *,
        status: str,
        result: dict[str, Any] | None,
        error: str | None,
        owner: str | None,
        attempt: int | None,
    ) -> bool:
        now = _now()
        cond = [Job.id == job_id, Job.status == "running"]
        if owner is not None:
            cond.append(Job.lease_owner == owner)
        if attempt is not None:
            cond.append(Job.attempts == attempt)
        with Session(self.engine) as s, s.begin():
            row = s.execute(
                sa.update(Job)
                .where(*cond)
                .values(
                    status=status,
                    result=result,
                    error=error,
                    updated_at=now,
                    finished_at=now,
                    lease_expires_at=None,
                )
                .returning(Job.scenario_name, Job.started_at, Job.attempts)
                .execution_options(synchronize_session=False)
            ).first()
        if row is None:
            return False
        # what an operator needs from one line: the job, its scenario, how long it ran and why
        # it failed (the reason was only in the database)
        started = _utc(row.started_at)
        took = f"{(now - started).total_seconds():.1f} s" if started is not None else "?"
        why = (error or "").strip().splitlines()
        logger.log(
            logging.INFO if status == "succeeded" else logging.WARNING,
            "job %s %s (scenario %s, attempt %d, %s since its start)%s",
            job_id,
            status,
            row.scenario_name,
            row.attempts,
            took,
            f": {why[0][:300]}" if why else "",
        )
        return True

    def statuses(self, ids: Iterable[str]) -> dict[str, str]:
        """Current status of each of ``ids`` (missing ids are left out)."""
        ids = list(ids)
        if not ids:
            return {}
        with Session(self.engine) as s:
            rows = s.execute(sa.select(Job.id, Job.status).where(Job.id.in_(ids))).all()
            return {r.id: r.status for r in rows}

    def sweep(self, *, max_attempts: int) -> tuple[_Ids, _Ids]:
        """Handle running jobs whose lease has expired; returns ``(requeued, failed)`` ids.

        A job started fewer than ``max_attempts`` times goes back to ``queued`` (its lease
        cleared); the others are marked ``failed`` with the reason. A running job without a
        lease (left by a server of a version before leases) counts as expired. Each is one
        conditional ``UPDATE ... RETURNING``: a lease renewed meanwhile, or a job another
        sweeper got first, is left alone (PostgreSQL re-checks the condition on a row it
        waited for).
        """
        expired = sa.and_(
            Job.status == "running",
            sa.or_(Job.lease_expires_at.is_(None), Job.lease_expires_at < self._at()),
        )
        now = _now()
        reason = (
            f"the server running it stopped (its lease expired) during the solve "
            f"{max_attempts} time(s); giving up after {max_attempts} attempt(s)"
        )
        with Session(self.engine) as s, s.begin():
            failed = list(
                s.scalars(
                    sa.update(Job)
                    .where(expired, Job.attempts >= max_attempts)
                    .values(
                        status="failed",
                        updated_at=now,
                        finished_at=now,
                        lease_expires_at=None,
                        error=reason,
                    )
                    .returning(Job.id)
                    .execution_options(synchronize_session=False)
                ).all()
            )
        with Session(self.engine) as s, s.begin():
            requeued = list(
                s.scalars(
                    sa.update(Job)
                    .where(expired, Job.attempts < max_attempts)
                    .values(
                        status="queued",
                        updated_at=now,
                        started_at=None,
                        lease_owner=None,
                        lease_expires_at=None,
                    )
                    .returning(Job.id)
                    .execution_options(synchronize_session=False)
                ).all()
            )
        for i in requeued:
            logger.warning("job %s: its lease expired (server gone): re-queued", i)
        for i in failed:
            logger.warning(
                "job %s: its lease expired (server gone): failed after %d attempts", i, max_attempts
            )
        return requeued, failed

    def release(self, ids: Iterable[str], *, owner: str) -> _Ids:
        """Put ``owner``'s running jobs back in the queue on an orderly shutdown (the attempt
        is not counted); returns the ids released (jobs no longer ``owner``'s are left)."""
        ids = list(ids)
        if not ids:
            return []
        with Session(self.engine) as s, s.begin():
            return list(
                s.scalars(
                    sa.update(Job)
                    .where(Job.id.in_(ids), Job.status == "running", Job.lease_owner == owner)
                    .values(
                        status="queued",
                        started_at=None,
                        updated_at=_now(),
                        lease_owner=None,
                        lease_expires_at=None,
                        attempts=sa.case((Job.attempts > 0, Job.attempts - 1), else_=0),
                    )
                    .returning(Job.id)
                    .execution_options(synchronize_session=False)
                ).all()
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
    ) -> bool:
        """Store (or replace) the outcome of ``scenario`` for ``run_date``.

        A failure never replaces a succeeded plan of the same date (a re-run that fails would
        otherwise delete the plan whose orders went out, and the next night would diff and
        keep stability against the night before): it is not stored and this returns False.
        """
        with Session(self.engine) as s, s.begin():
            same = (NightlyPlan.scenario == scenario, NightlyPlan.run_date == run_date)
            if status != "succeeded" and s.scalar(
                sa.select(NightlyPlan.id).where(*same, NightlyPlan.status == "succeeded")
            ):
                return False
            s.execute(sa.delete(NightlyPlan).where(*same))
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
        return True

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
