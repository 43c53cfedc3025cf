"""The job store on a real database: SQLite always, PostgreSQL when the CI provides one."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import pytest
import sqlalchemy as sa

from api.store import Base, IdempotencyConflictError, JobStore, make_engine, migrate


@pytest.fixture
def store(db_url: str) -> Iterator[JobStore]:
    """A migrated, empty store."""
    engine = make_engine(db_url)
    migrate(engine)
    yield JobStore(engine)
    engine.dispose()


def _submit(store: JobStore, tenant: str = "acme", key: str | None = None, body: int = 1):
    return store.submit(
        tenant=tenant, scenario_name="s", request={"b": body}, time_limit_s=5, idempotency_key=key
    )


def test_migrations_match_models_and_rerun(store: JobStore) -> None:
    """Upgrading twice is a no-op and the migrated schema equals the ORM models (no drift)."""
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    migrate(store.engine)
    with store.engine.connect() as c:
        diff = compare_metadata(MigrationContext.configure(c), Base.metadata)
        version = c.execute(sa.text("SELECT version_num FROM alembic_version")).scalar()
    assert diff == []
    assert version == "0001"


def test_submit_get_list_are_per_tenant(store: JobStore) -> None:
    """A job is visible to its tenant only; listing is newest first and paginated."""
    ids = [_submit(store, body=i)[0].id for i in range(5)]
    other = _submit(store, tenant="beta")[0].id
    assert store.get("acme", ids[0]).status == "queued"
    assert store.get("beta", ids[0]) is None
    assert store.get("acme", other) is None
    page, total = store.list("acme", limit=2, offset=1)
    assert total == 5
    assert [r.id for r in page] == [ids[3], ids[2]]
    assert store.list("beta")[1] == 1
    assert store.list("acme", status="running")[1] == 0


def test_idempotency_key_replays_and_conflicts(store: JobStore) -> None:
    """Same key and body return the first job; another body is a conflict; keys are per tenant."""
    first, created = _submit(store, key="k-1")
    again, created2 = _submit(store, key="k-1")
    assert created and not created2 and again.id == first.id
    with pytest.raises(IdempotencyConflictError, match="k-1"):
        _submit(store, key="k-1", body=2)
    theirs, created3 = _submit(store, tenant="beta", key="k-1")
    assert created3 and theirs.id != first.id
    assert store.list("acme")[1] == 1


def test_claim_is_exclusive_and_fifo(store: JobStore) -> None:
    """Queued jobs are claimed oldest first, each once; a cancelled job is never claimed."""
    a, b, c = (_submit(store, body=i)[0] for i in range(3))
    store.cancel("acme", b.id)
    got = store.claim(5)
    assert [j.id for j in got] == [a.id, c.id]
    assert all(j.status == "running" and j.attempts == 1 for j in got)
    assert store.claim(5) == []


def test_cancel_wins_over_a_late_result(store: JobStore) -> None:
    """A result arriving after a cancel is dropped; the job stays cancelled."""
    job = _submit(store)[0]
    store.claim(1)
    assert store.cancel("acme", job.id).status == "cancelled"
    assert store.finish(job.id, result={"x": 1}) is False
    rec = store.get("acme", job.id)
    assert rec.status == "cancelled" and rec.result is None


def test_finish_and_fail_only_from_running(store: JobStore) -> None:
    """finish/fail move running jobs only; a queued job cannot jump to succeeded."""
    job = _submit(store)[0]
    assert store.finish(job.id, result={"x": 1}) is False
    store.claim(1)
    assert store.finish(job.id, result={"objective": 1.5, "stock": [{"sku": "A"}]})
    rec = store.get("acme", job.id)
    assert rec.status == "succeeded" and rec.result["stock"] == [{"sku": "A"}]
    assert rec.finished_at is not None and rec.finished_at.tzinfo is not None
    assert store.fail(job.id, error="late") is False


def test_recover_requeues_then_fails_with_reason(store: JobStore) -> None:
    """Running jobs of a dead server are re-queued until max_attempts, then failed with a reason."""
    job = _submit(store)[0]
    store.claim(1)
    assert store.recover(max_attempts=2) == ([job.id], [])
    assert store.get("acme", job.id).status == "queued"
    store.claim(1)
    assert store.recover(max_attempts=2) == ([], [job.id])
    rec = store.get("acme", job.id)
    assert rec.status == "failed" and "2 attempt" in rec.error


def test_release_does_not_count_the_attempt(store: JobStore) -> None:
    """An orderly shutdown puts running jobs back without using up an attempt."""
    job = _submit(store)[0]
    store.claim(1)
    store.release([job.id])
    rec = store.get("acme", job.id)
    assert rec.status == "queued" and rec.attempts == 0


def test_nightly_history(store: JobStore) -> None:
    """Nightly plans are stored per date (re-runs replace) and the previous success is found."""
    d1, d2, d3 = dt.date(2026, 1, 1), dt.date(2026, 1, 2), dt.date(2026, 1, 3)
    store.save_nightly(scenario="s", run_date=d1, status="succeeded", plan={"v": 1})
    store.save_nightly(scenario="s", run_date=d2, status="failed", plan=None, error="x")
    store.save_nightly(scenario="s", run_date=d3, status="succeeded", plan={"v": 2})
    store.save_nightly(scenario="s", run_date=d3, status="succeeded", plan={"v": 3})
    assert [r.plan for r in store.nightly("s")] == [{"v": 1}, None, {"v": 3}]
    prev = store.previous_nightly("s", d3)
    assert prev is not None and prev.run_date == d1 and prev.plan == {"v": 1}
    assert store.previous_nightly("s", d1) is None
    assert store.previous_nightly("other", d3) is None
