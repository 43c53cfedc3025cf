"""The job store on a real database: SQLite always, PostgreSQL when the CI provides one."""

from __future__ import annotations

import datetime as dt
import threading
import time
from collections.abc import Iterator

import pytest
import sqlalchemy as sa

import api.network_store  # noqa: F401  (the console's tables are part of the schema)
from api.store import (
    MIGRATIONS,
    Base,
    IdempotencyConflictError,
    JobStore,
    QueueFullError,
    make_engine,
    migrate,
)

OWNER = "test-runner"


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


def _claim(store: JobStore, n: int = 1, owner: str = OWNER, lease_s: float = 60):
    return store.claim(n, owner=owner, lease_s=lease_s)


def test_migrations_match_models_and_rerun(store: JobStore) -> None:
    """Upgrading twice is a no-op, the chain has one head and the migrated schema equals the
    ORM models (no drift)."""
    from alembic.autogenerate import compare_metadata
    from alembic.config import Config
    from alembic.migration import MigrationContext
    from alembic.script import ScriptDirectory

    migrate(store.engine)
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    heads = ScriptDirectory.from_config(cfg).get_heads()
    with store.engine.connect() as c:
        diff = compare_metadata(MigrationContext.configure(c), Base.metadata)
        version = c.execute(sa.text("SELECT version_num FROM alembic_version")).scalar()
    assert diff == []
    assert len(heads) == 1 and version == heads[0]


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
    assert [j.id for j in _claim(store, 1, owner="first")] == [a.id]  # never more than n
    store.release([a.id], owner="first")
    got = _claim(store, 5)
    assert [j.id for j in got] == [a.id, c.id]
    assert all(j.status == "running" and j.attempts == 1 for j in got)
    assert all(j.lease_owner == OWNER and j.lease_expires_at is not None for j in got)
    assert all(j.request == {"b": i} for j, i in zip(got, (0, 2), strict=True))
    assert _claim(store, 5, owner="other") == []


def test_cancel_wins_over_a_late_result(store: JobStore) -> None:
    """A result arriving after a cancel is dropped; the job stays cancelled."""
    job = _submit(store)[0]
    _claim(store)
    assert store.cancel("acme", job.id).status == "cancelled"
    assert store.finish(job.id, result={"x": 1}, owner=OWNER, attempt=1) is False
    assert store.renew([job.id], owner=OWNER, lease_s=60) == set()
    rec = store.get("acme", job.id)
    assert rec.status == "cancelled" and rec.result is None


def test_finish_and_fail_only_from_running(store: JobStore) -> None:
    """finish/fail move running jobs only; a queued job cannot jump to succeeded."""
    job = _submit(store)[0]
    assert store.finish(job.id, result={"x": 1}) is False
    _claim(store)
    assert store.finish(
        job.id, result={"objective": 1.5, "stock": [{"sku": "A"}]}, owner=OWNER, attempt=1
    )
    rec = store.get("acme", job.id)
    assert rec.status == "succeeded" and rec.result["stock"] == [{"sku": "A"}]
    assert rec.finished_at is not None and rec.finished_at.tzinfo is not None
    assert store.fail(job.id, error="late") is False


def test_sweep_requeues_expired_leases_then_fails_with_reason(store: JobStore) -> None:
    """A running job whose lease expired (dead server) is re-queued until max_attempts, then
    failed with a reason; a job with a live lease is never touched by a sweep."""
    job = _submit(store)[0]
    live = _submit(store, body=2)[0]
    _claim(store, lease_s=0.2)
    _claim(store, owner="alive", lease_s=60)
    assert store.sweep(max_attempts=2) == ([], [])  # nothing has expired yet
    time.sleep(0.3)
    assert store.sweep(max_attempts=2) == ([job.id], [])
    rec = store.get("acme", job.id)
    assert rec.status == "queued" and rec.lease_owner is None and rec.attempts == 1
    assert [j.id for j in _claim(store, 5, owner="next", lease_s=0.2)] == [job.id]
    time.sleep(0.3)
    assert store.sweep(max_attempts=2) == ([], [job.id])
    rec = store.get("acme", job.id)
    assert rec.status == "failed" and "giving up after 2 attempt" in rec.error
    assert "lease expired" in rec.error
    other = store.get("acme", live.id)
    assert other.status == "running" and other.lease_owner == "alive"


def test_renewal_keeps_a_lease_alive(store: JobStore) -> None:
    """Renewing before expiry keeps the job; only its owner can renew it."""
    job = _submit(store)[0]
    first = _claim(store, lease_s=0.5)[0]
    for _ in range(3):
        time.sleep(0.25)
        assert store.renew([job.id], owner=OWNER, lease_s=0.5) == {job.id}
        assert store.renew([job.id], owner="intruder", lease_s=0.5) == set()
        assert store.sweep(max_attempts=3) == ([], [])
    rec = store.get("acme", job.id)
    assert rec.status == "running" and rec.lease_expires_at > first.lease_expires_at


def test_a_lost_lease_cannot_write_the_result(store: JobStore) -> None:
    """After its lease expired and another runner re-claimed the job, the first runner can
    neither renew, nor finish, nor fail, nor release it; the second one finishes it."""
    job = _submit(store)[0]
    _claim(store, owner="A", lease_s=0.2)
    time.sleep(0.3)
    assert store.sweep(max_attempts=3) == ([job.id], [])
    assert store.held({job.id: 1}, owner="A") == set()
    again = _claim(store, owner="B", lease_s=60)[0]
    assert again.attempts == 2 and again.lease_owner == "B"
    assert store.renew([job.id], owner="A", lease_s=60) == set()
    assert store.finish(job.id, result={"from": "A"}, owner="A", attempt=1) is False
    assert store.fail(job.id, error="A", owner="A", attempt=1) is False
    assert store.release([job.id], owner="A") == []
    assert store.finish(job.id, result={"from": "B"}, owner="B", attempt=1) is False  # stale
    assert store.held({job.id: 2}, owner="B") == {job.id}
    assert store.finish(job.id, result={"from": "B"}, owner="B", attempt=2) is True
    rec = store.get("acme", job.id)
    assert rec.status == "succeeded" and rec.result == {"from": "B"} and rec.lease_owner == "B"


def test_concurrent_claimers_never_share_a_job(store: JobStore) -> None:
    """Eight threads claiming at once (SKIP LOCKED on PostgreSQL): every job is claimed by
    exactly one of them, once."""
    ids = {_submit(store, body=i)[0].id for i in range(60)}
    won: dict[str, list[str]] = {}
    sizes: list[int] = []
    lock = threading.Lock()

    def claimer(k: int) -> None:
        while True:
            got = _claim(store, 3, owner=f"r{k}")
            if not got:
                return
            with lock:
                sizes.append(len(got))
                for j in got:
                    won.setdefault(j.id, []).append(f"r{k}")

    threads = [threading.Thread(target=claimer, args=(k,)) for k in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert set(won) == ids and max(sizes) <= 3  # never more than asked for
    assert all(len(who) == 1 for who in won.values())
    for job_id, who in won.items():
        rec = store.get("acme", job_id)
        assert rec.attempts == 1 and rec.lease_owner == who[0]


def _submit_at_once(store: JobStore, n: int, tag: int) -> list[tuple[str, object]]:
    """``n`` threads call ``store.submit`` together (released by a barrier); each outcome is
    ``("created", job id)``, ``("full", limit)`` or ``("error", exception)``."""
    start = threading.Barrier(n)
    out: list[tuple[str, object]] = []
    lock = threading.Lock()

    def submit(k: int) -> None:
        start.wait(10)
        try:
            job, _ = store.submit(
                tenant="acme", scenario_name="s", request={"tag": tag, "k": k}, time_limit_s=5
            )
            got: tuple[str, object] = ("created", job.id)
        except QueueFullError as e:
            got = ("full", e.limit)
        except Exception as e:
            got = ("error", e)
        with lock:
            out.append(got)

    threads = [threading.Thread(target=submit, args=(k,)) for k in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    return out


def test_queue_bound_holds_under_concurrent_submissions(store: JobStore) -> None:
    """Sixteen threads submitting at once against TRADELANE_MAX_QUEUED=3, over several rounds:
    exactly 3 jobs are queued and every other submission is refused with QueueFullError (the
    count and the insert are one atomic step, not a check that several can pass together)."""
    bound, n_threads = 3, 16
    bounded = JobStore(store.engine, max_queued=bound)
    for round_ in range(4):
        out = _submit_at_once(bounded, n_threads, round_)
        assert [o for o in out if o[0] == "error"] == [], round_
        created = [job_id for what, job_id in out if what == "created"]
        assert len(created) == bound, round_
        assert sorted(out, key=lambda o: o[0] != "full")[: n_threads - bound] == [
            ("full", bound)
        ] * (n_threads - bound)
        assert store.queued() == bound
        for job_id in created:  # empty the queue for the next round
            assert store.cancel("acme", str(job_id)).status == "cancelled"


def test_release_does_not_count_the_attempt(store: JobStore) -> None:
    """An orderly shutdown puts its running jobs back without using up an attempt."""
    job = _submit(store)[0]
    _claim(store)
    assert store.release([job.id], owner=OWNER) == [job.id]
    rec = store.get("acme", job.id)
    assert rec.status == "queued" and rec.attempts == 0 and rec.lease_owner is None


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


def test_console_plan_choices_query_runs_on_every_database(store: JobStore) -> None:
    """The console's compare list reads fields of the stored JSON in SQL (JSON_EXTRACT on
    SQLite, ->> on PostgreSQL): only succeeded plan jobs, newest first, labelled with cost and
    a non-optimal status; simulate/what-if jobs (a ``task`` in the request, or a result naming
    its ``source_plan``) are left out."""
    from types import SimpleNamespace

    from api.console import _plan_choices

    def done(request: dict, result: dict) -> str:
        job, _ = store.submit(tenant="acme", scenario_name="tiny", request=request, time_limit_s=5)
        _claim(store)
        assert store.finish(job.id, result=result, owner=OWNER, attempt=1)
        return job.id

    first = done({"b": 1}, {"objective": 1234.5, "status": "optimal"})
    time.sleep(0.01)  # distinct creation times
    fallback = done({"b": 2}, {"objective": 99.0, "status": "time_limit"})
    done({"task": "simulate", "plan_id": first}, {"source_plan": first, "runs": 10})
    done({"b": 3}, {"source_plan": first})  # a hand-made risk document
    other, _ = store.submit(tenant="beta", scenario_name="x", request={"b": 9}, time_limit_s=5)
    request = SimpleNamespace(app=SimpleNamespace(state=SimpleNamespace(store=store)))
    got = _plan_choices(request, "acme")  # type: ignore[arg-type]
    assert [c["id"] for c in got] == [fallback, first]
    assert "cost 99" in got[0]["label"] and "time limit" in got[0]["label"]
    assert "cost 1,234" in got[1]["label"] and "optimal" not in got[1]["label"]
    assert other.id not in {c["id"] for c in got}
