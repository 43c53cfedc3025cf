"""Service settings (pydantic-settings), read from ``TRADELANE_*`` environment variables.

Every setting has a safe default for a single machine; invalid values fail at start-up with a
message naming the variable. Secrets (the API keys) are never logged: ``Settings`` keeps them in
a ``SecretStr`` and its ``repr`` hides them.
"""

from __future__ import annotations

import re
from functools import cached_property

from pydantic import Field, SecretStr, ValidationInfo, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

__all__ = ["Settings", "normalise_database_url", "parse_api_keys"]

_TENANT = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")


def parse_api_keys(text: str) -> dict[str, str]:
    """Parse ``tenant:key,tenant:key`` into ``{key: tenant}``.

    Raises
    ------
    ValueError
        For a malformed pair, an invalid tenant name, a key shorter than 8 characters or a key
        listed twice. Messages name the pair by position, never the key itself.
    """
    out: dict[str, str] = {}
    for i, pair in enumerate(p.strip() for p in text.split(",")):
        if not pair:
            continue
        tenant, sep, key = pair.partition(":")
        tenant, key = tenant.strip(), key.strip()
        if not sep or not tenant or not key:
            raise ValueError(f"pair {i + 1}: expected 'tenant:key'")
        if not _TENANT.match(tenant):
            raise ValueError(f"pair {i + 1}: tenant {tenant!r} must match {_TENANT.pattern}")
        if len(key) < 8:
            raise ValueError(f"pair {i + 1} (tenant {tenant!r}): key shorter than 8 characters")
        if key in out:
            raise ValueError(f"pair {i + 1} (tenant {tenant!r}): key already used")
        out[key] = tenant
    return out


def normalise_database_url(url: str) -> str:
    """Use the psycopg 3 driver for plain ``postgresql://`` URLs (psycopg2 is not a dependency)."""
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


class Settings(BaseSettings):
    """Settings of the planner service and the nightly run.

    Attributes
    ----------
    database_url
        SQLAlchemy URL of the job store (``TRADELANE_DATABASE_URL``); SQLite file by default,
        ``postgresql://user@host/db`` for PostgreSQL (driven by psycopg 3).
    api_keys
        ``tenant:key`` pairs, comma-separated (``TRADELANE_API_KEYS``). With none, every
        request to ``/v1`` is refused with 401.
    workers
        Solver processes running at once (``TRADELANE_WORKERS``).
    solver
        ``module:function`` that plans one job (``TRADELANE_SOLVER``); see ``api.worker``.
    router
        ``module:function`` that solves one routing request (``TRADELANE_ROUTER``).
    max_attempts
        A running job whose lease expired (its server died) is re-queued until it has been
        started this many times, then marked ``failed`` with the reason.
    lease_s, heartbeat_s
        A server claims a job for ``lease_s`` seconds (``TRADELANE_LEASE_S``, default 30) and
        renews the lease every ``heartbeat_s`` (``TRADELANE_HEARTBEAT_S``, default 10, at most
        half the lease) while the solve runs; every ``heartbeat_s`` it also re-queues the jobs
        whose lease has expired (their server is gone). A job of a killed server is thus picked
        up by another server about ``lease_s`` after its last renewal. A server that cannot
        renew a lease (database unreachable) stops that solve once three quarters of the lease
        have passed, before anyone else may take the job.
    default_time_limit_s, max_time_limit_s
        Solver time limit when the request gives none, and the largest one accepted.
    kill_grace_s
        A solve still running this long after its time limit is killed and the job failed.
    max_body_bytes
        Larger request bodies are refused with 413.
    rate_per_s, rate_burst
        Token bucket per API key, kept in each server process (see :mod:`api.auth`): with ``N``
        servers behind one address a key may make up to ``N`` times as many requests.
    routes_time_limit_s
        Largest time limit of a synchronous ``POST /v1/routes`` solve.
    poll_interval_s
        How often the job runner looks for queued jobs and cancellations.
    max_queued
        The most jobs queued in the database (``TRADELANE_MAX_QUEUED``, default 1000, all
        tenants and servers of the database together); beyond it a new job is refused with 503
        and ``Retry-After``.
    """

    model_config = SettingsConfigDict(
        env_prefix="TRADELANE_", env_ignore_empty=True, extra="ignore"
    )

    database_url: str = "sqlite:///./tradelane.db"
    api_keys: SecretStr = SecretStr("")
    workers: int = Field(default=1, ge=1, le=64)
    solver: str = "api.worker:plan_job"
    router: str = "api.worker:route_job"
    max_attempts: int = Field(default=3, ge=1, le=100)
    lease_s: float = Field(default=30.0, gt=0, le=3600)
    heartbeat_s: float = Field(default=10.0, gt=0, le=1800)
    default_time_limit_s: float = Field(default=60.0, gt=0)
    max_time_limit_s: float = Field(default=3600.0, gt=0)
    kill_grace_s: float = Field(default=30.0, ge=0)
    max_body_bytes: int = Field(default=5_000_000, ge=1024)
    rate_per_s: float = Field(default=20.0, gt=0)
    rate_burst: int = Field(default=60, ge=1)
    routes_time_limit_s: float = Field(default=30.0, gt=0)
    poll_interval_s: float = Field(default=0.2, gt=0, le=10)
    max_queued: int = Field(default=1000, ge=1)

    @field_validator("database_url")
    @classmethod
    def _url(cls, v: str) -> str:
        return normalise_database_url(v.strip())

    @field_validator("heartbeat_s")
    @classmethod
    def _heartbeat(cls, v: float, info: ValidationInfo) -> float:
        lease = info.data.get("lease_s")
        if lease is not None and v > lease / 2:
            raise ValueError(
                f"must be at most half of TRADELANE_LEASE_S ({lease:g} s), got {v:g} s"
            )
        return v

    @field_validator("api_keys")
    @classmethod
    def _keys(cls, v: SecretStr) -> SecretStr:
        parse_api_keys(v.get_secret_value())  # fail fast, naming the pair
        return v

    @field_validator("solver", "router")
    @classmethod
    def _dotted(cls, v: str) -> str:
        mod, sep, fn = v.partition(":")
        if not sep or not mod or not fn.isidentifier():
            raise ValueError(f"expected 'module:function', got {v!r}")
        return v

    @model_validator(mode="after")
    def _time_limits(self) -> Settings:
        if self.default_time_limit_s > self.max_time_limit_s:
            raise ValueError(
                f"TRADELANE_DEFAULT_TIME_LIMIT_S ({self.default_time_limit_s:g} s) is above "
                f"TRADELANE_MAX_TIME_LIMIT_S ({self.max_time_limit_s:g} s): every request "
                "without a time limit would be refused"
            )
        return self

    @cached_property
    def keys(self) -> dict[str, str]:
        """``{key: tenant}`` from ``api_keys``."""
        return parse_api_keys(self.api_keys.get_secret_value())
