"""Stored networks, the network version each plan used, plan artifacts and solve progress.

The tables live in the same database as the jobs (:mod:`api.store`) and are created by the
Alembic migration ``0002``. Every query is scoped by tenant where a tenant owns the row;
artifacts and progress belong to a job, whose tenant the caller has already checked.

- ``networks``: one row per (tenant, name, version). ``PUT`` of a document equal to the latest
  version stores nothing new; any other document becomes the next version. Old versions are kept.
- ``plan_networks``: which network version a forecast's plan job was built from.
- ``plan_artifacts``: files derived from a succeeded plan (GeoJSON, PNG map, HTML report, CSVs),
  made on first request and kept (a plan never changes once it has succeeded).
- ``job_progress``: the latest progress report of a running solve (phase, elapsed seconds, best
  objective and bound so far), written by the job runner.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import json
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, Session, mapped_column

from api.store import Base

__all__ = [
    "Artifact",
    "JobProgress",
    "NetworkRecord",
    "NetworkStore",
    "NetworkVersion",
    "PlanArtifact",
    "PlanNetwork",
    "ProgressRecord",
    "StoredNetwork",
]


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _utc(t: dt.datetime) -> dt.datetime:
    return t if t.tzinfo is not None else t.replace(tzinfo=dt.UTC)


def document_hash(doc: dict[str, Any]) -> str:
    """A stable hash of a network document (key order does not matter)."""
    blob = json.dumps(doc, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(blob.encode()).hexdigest()


class StoredNetwork(Base):
    """One version of one tenant's network document (format v1 without ``demand``)."""

    __tablename__ = "networks"
    __table_args__ = (
        sa.UniqueConstraint("tenant", "name", "version", name="uq_networks_tenant_name_version"),
    )

    id: Mapped[int] = mapped_column(sa.Integer, primary_key=True, autoincrement=True)
    tenant: Mapped[str] = mapped_column(sa.String(64))
    name: Mapped[str] = mapped_column(sa.String(100))
    version: Mapped[int] = mapped_column(sa.Integer)
    document: Mapped[dict[str, Any]] = mapped_column(sa.JSON)
    document_hash: Mapped[str] = mapped_column(sa.String(64))
    created_at: Mapped[dt.datetime] = mapped_column(sa.DateTime(timezone=True))


class PlanNetwork(Base):
    """The network version a plan job was built from."""

    __tablename__ = "plan_networks"
    __table_args__ = (sa.Index("ix_plan_networks_tenant_network", "tenant", "network"),)

    job_id: Mapped[str] = mapped_column(sa.String(36), primary_key=True)
    tenant: Mapped[str] = mapped_column(sa.String(64))
    network: Mapped[str] = mapped_column(sa.String(100))
    version: Mapped[int] = mapped_column(sa.Integer)


class PlanArtifact(Base):
    """A file derived from a succeeded plan."""

    __tablename__ = "plan_artifacts"

    job_id: Mapped[str] = mapped_column(sa.String(36), primary_key=True)
    kind: Mapped[str] = mapped_column(sa.String(32), primary_key=True)
    media_type: Mapped[str] = mapped_column(sa.String(64))
    content: Mapped[bytes] = mapped_column(sa.LargeBinary)
    created_at: Mapped[dt.datetime] = mapped_column(sa.DateTime(timezone=True))


class JobProgress(Base):
    """The latest progress report of a job's solve."""

    __tablename__ = "job_progress"

    job_id: Mapped[str] = mapped_column(sa.String(36), primary_key=True)
    phase: Mapped[str] = mapped_column(sa.String(200))
    elapsed_s: Mapped[float] = mapped_column(sa.Float)
    best_objective: Mapped[float | None] = mapped_column(sa.Float, nullable=True)
    bound: Mapped[float | None] = mapped_column(sa.Float, nullable=True)
    updated_at: Mapped[dt.datetime] = mapped_column(sa.DateTime(timezone=True))


@dataclasses.dataclass(frozen=True, slots=True)
class NetworkVersion:
    """One stored version of a network (without its document)."""

    version: int
    created_at: dt.datetime
    document_hash: str


@dataclasses.dataclass(frozen=True, slots=True)
class NetworkRecord:
    """A network: its name, the version shown, its document and every version kept."""

    name: str
    version: int
    created_at: dt.datetime
    document: dict[str, Any]
    versions: tuple[NetworkVersion, ...]


@dataclasses.dataclass(frozen=True, slots=True)
class Artifact:
    """A stored plan file."""

    kind: str
    media_type: str
    content: bytes


@dataclasses.dataclass(frozen=True, slots=True)
class ProgressRecord:
    """A solve's latest progress report."""

    phase: str
    elapsed_s: float
    best_objective: float | None
    bound: float | None
    updated_at: dt.datetime


class NetworkStore:
    """Networks, plan sources, artifacts and progress over one engine (schema migrated)."""

    def __init__(self, engine: sa.Engine):
        self.engine = engine

    # -- networks ---------------------------------------------------------------------------
    def put(self, tenant: str, name: str, document: dict[str, Any]) -> tuple[NetworkRecord, bool]:
        """Store ``document`` as the next version of ``name``; returns ``(network, created)``.

        A document equal to the latest version is not stored again (``created`` False).
        """
        digest = document_hash(document)
        for _ in range(3):  # two PUTs racing for the same version: the loser retries
            with Session(self.engine) as s:
                latest = s.scalars(
                    sa.select(StoredNetwork)
                    .where(StoredNetwork.tenant == tenant, StoredNetwork.name == name)
                    .order_by(StoredNetwork.version.desc())
                ).first()
                if latest is not None and latest.document_hash == digest:
                    rec = self.get(tenant, name, latest.version)
                    assert rec is not None
                    return rec, False
                version = 1 if latest is None else latest.version + 1
            try:
                with Session(self.engine) as s, s.begin():
                    s.add(
                        StoredNetwork(
                            tenant=tenant,
                            name=name,
                            version=version,
                            document=document,
                            document_hash=digest,
                            created_at=_now(),
                        )
                    )
            except IntegrityError:
                continue
            rec = self.get(tenant, name, version)
            assert rec is not None
            return rec, True
        raise RuntimeError(f"network {name!r}: concurrent updates, try again")

    def versions(self, tenant: str, name: str) -> tuple[NetworkVersion, ...]:
        """Every version of the tenant's network ``name``, oldest first (empty if none)."""
        with Session(self.engine) as s:
            rows = s.execute(
                sa.select(
                    StoredNetwork.version, StoredNetwork.created_at, StoredNetwork.document_hash
                )
                .where(StoredNetwork.tenant == tenant, StoredNetwork.name == name)
                .order_by(StoredNetwork.version)
            ).all()
        return tuple(NetworkVersion(r.version, _utc(r.created_at), r.document_hash) for r in rows)

    def get(self, tenant: str, name: str, version: int | None = None) -> NetworkRecord | None:
        """The tenant's network ``name`` at ``version`` (default: the latest), or None."""
        q = sa.select(StoredNetwork).where(
            StoredNetwork.tenant == tenant, StoredNetwork.name == name
        )
        q = (
            q.where(StoredNetwork.version == version)
            if version is not None
            else q.order_by(StoredNetwork.version.desc())
        )
        with Session(self.engine) as s:
            row = s.scalars(q).first()
            if row is None:
                return None
            doc, ver, created = row.document, row.version, _utc(row.created_at)
        return NetworkRecord(
            name=name,
            version=ver,
            created_at=created,
            document=doc,
            versions=self.versions(tenant, name),
        )

    def list(
        self, tenant: str, *, limit: int = 50, offset: int = 0
    ) -> tuple[list[tuple[str, int, dt.datetime]], int]:
        """The tenant's networks by name: ``(name, latest version, updated)`` and the count."""
        agg = (
            sa.select(
                StoredNetwork.name,
                sa.func.max(StoredNetwork.version).label("latest"),
                sa.func.max(StoredNetwork.created_at).label("updated"),
            )
            .where(StoredNetwork.tenant == tenant)
            .group_by(StoredNetwork.name)
        )
        with Session(self.engine) as s:
            total = s.scalar(sa.select(sa.func.count()).select_from(agg.subquery())) or 0
            rows = s.execute(agg.order_by(StoredNetwork.name).limit(limit).offset(offset)).all()
        return [(r.name, int(r.latest), _utc(r.updated)) for r in rows], int(total)

    # -- which network a plan used ----------------------------------------------------------
    def record_source(self, *, job_id: str, tenant: str, network: str, version: int) -> None:
        """Remember that job ``job_id`` plans network ``network`` at ``version``."""
        with Session(self.engine) as s, s.begin():
            if s.get(PlanNetwork, job_id) is None:
                s.add(PlanNetwork(job_id=job_id, tenant=tenant, network=network, version=version))

    def sources(self, tenant: str, job_ids: Sequence[str]) -> dict[str, tuple[str, int]]:
        """``{job id: (network, version)}`` for those of ``job_ids`` made from a network."""
        if not job_ids:
            return {}
        with Session(self.engine) as s:
            rows = s.execute(
                sa.select(PlanNetwork).where(
                    PlanNetwork.tenant == tenant, PlanNetwork.job_id.in_(job_ids)
                )
            ).all()
            return {r[0].job_id: (r[0].network, r[0].version) for r in rows}

    # -- artifacts --------------------------------------------------------------------------
    def artifact(self, job_id: str, kind: str) -> Artifact | None:
        """A stored artifact of a job, or None."""
        with Session(self.engine) as s:
            a = s.get(PlanArtifact, (job_id, kind))
            return Artifact(a.kind, a.media_type, a.content) if a is not None else None

    def save_artifact(self, job_id: str, kind: str, media_type: str, content: bytes) -> None:
        """Store an artifact (a concurrent writer of the same one wins; both are equal)."""
        try:
            with Session(self.engine) as s, s.begin():
                s.add(
                    PlanArtifact(
                        job_id=job_id,
                        kind=kind,
                        media_type=media_type,
                        content=content,
                        created_at=_now(),
                    )
                )
        except IntegrityError:
            pass

    # -- progress ---------------------------------------------------------------------------
    def save_progress(
        self,
        job_id: str,
        *,
        phase: str,
        elapsed_s: float,
        best_objective: float | None,
        bound: float | None,
    ) -> None:
        """Replace the job's progress report."""
        now = _now()
        with Session(self.engine) as s, s.begin():
            p = s.get(JobProgress, job_id)
            if p is None:
                s.add(
                    JobProgress(
                        job_id=job_id,
                        phase=phase[:200],
                        elapsed_s=elapsed_s,
                        best_objective=best_objective,
                        bound=bound,
                        updated_at=now,
                    )
                )
            else:
                p.phase, p.elapsed_s, p.updated_at = phase[:200], elapsed_s, now
                if best_objective is not None:
                    p.best_objective = best_objective
                if bound is not None:
                    p.bound = bound

    def progress(self, job_ids: Sequence[str]) -> dict[str, ProgressRecord]:
        """The latest progress of each of ``job_ids`` that reported any."""
        if not job_ids:
            return {}
        with Session(self.engine) as s:
            rows = s.scalars(sa.select(JobProgress).where(JobProgress.job_id.in_(job_ids))).all()
            return {
                p.job_id: ProgressRecord(
                    p.phase, p.elapsed_s, p.best_objective, p.bound, _utc(p.updated_at)
                )
                for p in rows
            }
