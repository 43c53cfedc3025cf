"""The job runner: solves run in separate processes, a bounded number at a time.

A dispatcher thread in the server process polls the store (:class:`api.store.JobStore`): it
claims queued jobs under a lease while a worker slot is free, starts one solver process per job,
collects results through a pipe and writes them back (only while it still holds the lease).
Each tick (``poll_interval_s``) it also

- kills the process of a job that is no longer ``running`` under its lease (cancelled by a
  DELETE on any server, or re-queued by another server's sweep after the lease expired);
- kills a solve still running ``kill_grace_s`` after its time limit and fails the job;
- fails a job whose process died without an answer (crash, out of memory), naming the exit code;

and every ``heartbeat_s`` it renews the leases of its running jobs and sweeps the database for
jobs whose lease has expired (their server died), re-queueing them or failing them after
``max_attempts``. Several servers may run on one PostgreSQL database this way; a job runs on
one server at a time. If a lease is not renewed in time (database unreachable, or this server
so loaded that its runner thread is not scheduled), the solve is stopped once three quarters
of the lease have passed since the last renewal, before any other server may take the job
over: by the runner's next tick, and independently by a watchdog thread in the solver process
itself (the deadline is shared memory the runner moves on at each renewal; exit code
``LEASE_EXIT``), after which the job is handed back to the queue.

Solver processes come from a ``forkserver`` context (a clean parent that has already imported
this module and the models, see ``PRELOAD``), so a solve can neither stall the API's event loop
nor inherit its threads. A solver process exits as soon as the API server is gone (a watchdog
thread on the server's pid, plus ``PR_SET_PDEATHSIG`` for its own parent, the fork server), and
the fork server exits when the server's end of its pipe closes: a server killed with SIGKILL
leaves no orphan solves behind.

The solve function is a setting (``TRADELANE_SOLVER=module:function``) with the signature of
:func:`plan_job`; tests point it at small deterministic functions.
"""

from __future__ import annotations

import contextlib
import ctypes
import dataclasses
import importlib
import inspect
import json
import logging
import math
import multiprocessing as mp
import multiprocessing.connection
import os
import signal
import socket
import sys
import threading
import time
import uuid
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from optimizer.progress import PhaseReport

from api.risk_jobs import is_risk_request
from api.store import JobRecord, JobStore

__all__ = [
    "FailureLog",
    "JobRunner",
    "SolverUnavailableError",
    "plan_job",
    "resolve",
    "route_job",
    "run_isolated",
    "runner_id",
]

logger = logging.getLogger(__name__)

SolveFn = Callable[..., dict[str, Any]]
LEASE_EXIT = 75  # exit code of a solver process that stopped because its lease ran out
PRELOAD = (
    "api.worker",
    "network.scenario",
    "optimizer.plan.planning",
    "optimizer.routing",
    "api.convert",
)


class SolverUnavailableError(RuntimeError):
    """The model a request needs is not part of this installation."""


def resolve(path: str) -> SolveFn:
    """Import ``module:function``.

    Raises
    ------
    ValueError
        If the path is malformed or names nothing callable.
    """
    mod_name, _, fn_name = path.partition(":")
    try:
        fn = getattr(importlib.import_module(mod_name), fn_name)
    except (ImportError, AttributeError) as e:
        raise ValueError(f"cannot load solver {path!r}: {e}") from None
    if not callable(fn):
        raise ValueError(f"solver {path!r} is not callable")
    return fn  # type: ignore[no-any-return]


def plan_job(
    request: dict[str, Any],
    *,
    time_limit_s: float,
    seed: int = 0,
    progress: PhaseReport | None = None,
) -> dict[str, Any]:
    """The default solve: plan the request's scenario with the allocation model.

    Parameters
    ----------
    request
        The stored request: ``{"scenario": {...format v1 or v1.1...}, ...}``, optionally
        ``"previous_plan"`` (a plan document: stability against it).
    time_limit_s
        Solver time limit in seconds.
    seed
        Solver seed.
    progress
        Called with a short phase description as the solve advances (see
        :func:`api.progress.phase_report`).

    Returns
    -------
    dict
        The plan (DESIGN §7 ``plan.json``).
    """
    from network.scenario import parse_scenario

    if is_risk_request(request):  # POST /v1/plans/{id}/simulate|whatif
        from api.risk_jobs import risk_job

        return risk_job(request, time_limit_s=time_limit_s, seed=seed, progress=progress)
    try:
        from optimizer.allocation.params import AllocationParams
        from optimizer.plan.document import Plan
        from optimizer.plan.planning import plan_scenario
    except ImportError as e:
        raise SolverUnavailableError(f"the allocation model is not available: {e}") from None
    scenario = parse_scenario(request["scenario"])
    params = AllocationParams(time_limit=float(time_limit_s), seed=seed)
    prev = request.get("previous_plan")
    previous = Plan.from_json(prev) if prev is not None else None
    outcome = plan_scenario(scenario, params, progress=progress, previous=previous)
    return outcome.plan.to_json()


def route_job(request: dict[str, Any], *, time_limit_s: float, seed: int = 0) -> dict[str, Any]:
    """The default routing solve (``POST /v1/routes``), run in a separate process."""
    try:
        from api.convert import route_request_to_instance, route_result_to_dict
        from optimizer.routing import solve_routes
    except ImportError as e:
        raise SolverUnavailableError(f"the routing model is not available: {e}") from None
    instance, params = route_request_to_instance(request, time_limit_s=time_limit_s, seed=seed)
    return route_result_to_dict(solve_routes(instance, params), instance)


# -- the solver process ------------------------------------------------------------------------


def _die_with_parent() -> None:
    """Linux: have the kernel SIGKILL this process when its parent (the fork server) dies."""
    if sys.platform.startswith("linux"):
        with contextlib.suppress(OSError):  # no libc by that name
            ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG


def _start_time(pid: int) -> str | None:
    """A process's start time (Linux ``/proc``), to tell it from a later process with its pid."""
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().rpartition(")")[2].split()[19]
    except (OSError, IndexError):
        return None


def _watch_server(pid: int, every_s: float = 0.5) -> None:
    """Exit this solver process as soon as the API server ``pid`` is gone.

    The solver's parent is the fork server, not the API server, so the kernel's parent-death
    signal alone does not cover a server killed with SIGKILL: this daemon thread does.
    """
    born = _start_time(pid)

    def watch() -> None:
        while True:
            time.sleep(every_s)
            try:
                os.kill(pid, 0)
            except ProcessLookupError:
                os._exit(70)
            except PermissionError:
                pass
            if born is not None and _start_time(pid) != born:
                os._exit(70)

    threading.Thread(target=watch, name="tradelane-watch-server", daemon=True).start()


def _release_fork_server() -> None:
    """Close this process's copy of the fork server's "alive" pipe.

    multiprocessing hands every child the write end of the pipe whose EOF tells the fork server
    that its client is gone; while a solve holds it, a dead API server leaves the fork server
    (and so the solve's parent-death signal) waiting. Without it, the server's death closes the
    pipe, the fork server exits and the kernel kills the solve even if it is deep in C code.
    """
    try:
        from multiprocessing import forkserver

        fs = forkserver._forkserver  # type: ignore[attr-defined]
        fd = getattr(fs, "_forkserver_alive_fd", None)
        if fd is not None:
            os.close(fd)
            fs._forkserver_alive_fd = None  # type: ignore[attr-defined]
    except (ImportError, AttributeError, OSError):  # pragma: no cover - other Pythons
        pass


def _jsonable(obj: Any) -> Any:
    """Round-trip through JSON so the result stores in any database (numpy scalars included);
    non-finite numbers become null.

    ``json.dumps`` writes a non-finite float as ``NaN``/``Infinity``/``-Infinity`` and
    ``json.loads`` hands exactly those tokens to ``parse_constant``, which reads them as null,
    so no second walk copies the decoded result (for sea-72h's 8.6 MiB plan at a 10 s limit
    that walk took the peak from 43 to 50 MiB and the time from 0.41 to 0.54 s).
    """

    def default(o: Any) -> Any:
        if hasattr(o, "tolist"):
            return o.tolist()
        if hasattr(o, "item"):
            return o.item()
        return str(o)

    return json.loads(json.dumps(obj, default=default), parse_constant=lambda _token: None)


def _watch_lease(lease_until: Any, every_s: float = 0.1) -> None:
    """Exit this solver process (code :data:`LEASE_EXIT`) once ``lease_until.value`` (a
    ``time.monotonic()`` instant in shared memory, moved on by the runner at each renewal) is
    past: a solve never outlives its lease, even if the server's runner thread is starved."""

    def watch() -> None:
        while True:
            time.sleep(every_s)
            if time.monotonic() > lease_until.value:
                os._exit(LEASE_EXIT)

    threading.Thread(target=watch, name="tradelane-watch-lease", daemon=True).start()


def _accepts_progress(fn: SolveFn) -> bool:
    """Whether a solve function takes the ``progress`` keyword."""
    try:
        params = inspect.signature(fn).parameters
    except (TypeError, ValueError):  # pragma: no cover - builtins
        return False
    return "progress" in params or any(p.kind is p.VAR_KEYWORD for p in params.values())


def _progress_sender(
    conn: multiprocessing.connection.Connection, every_s: float = 0.25
) -> PhaseReport:
    """A progress callback (:class:`optimizer.progress.PhaseReport`) that sends
    ``("progress", report)`` to the runner.

    Reports are at most one per ``every_s`` seconds, except that a new phase name is always sent
    (a numbered iteration of the same phase is not a new phase).
    """
    from api.progress import phase_report

    t0 = time.monotonic()
    last_t, last_kind = -math.inf, ""

    def say(phase: str, /, *, best: float | None = None, bound: float | None = None) -> None:
        nonlocal last_t, last_kind
        now = time.monotonic()
        report = phase_report(phase, best=best, bound=bound)
        if now - last_t < every_s and report["kind"] == last_kind:
            return
        last_t, last_kind = now, str(report["kind"])
        report["elapsed_s"] = now - t0
        # the runner may be gone: the watchdog then ends this process
        with contextlib.suppress(OSError, ValueError):
            conn.send(("progress", report))

    return say


def _child_main(
    solver: str,
    request: dict[str, Any],
    time_limit_s: float,
    seed: int,
    conn: multiprocessing.connection.Connection,
    server_pid: int | None = None,
    lease_until: Any = None,
) -> None:
    """Entry point of a solver process: solve, send ``("ok", result)`` or ``("error", msg)``."""
    _die_with_parent()
    _release_fork_server()
    if server_pid is not None:
        _watch_server(server_pid)
    if lease_until is not None:
        _watch_lease(lease_until)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C goes to the server, which stops us
    try:
        fn = resolve(solver)
        extra: dict[str, Any] = {}
        if _accepts_progress(fn):
            extra["progress"] = _progress_sender(conn)
        result = _jsonable(fn(request, time_limit_s=time_limit_s, seed=seed, **extra))
        msg: tuple[str, Any] = ("ok", result)
    except Exception as e:
        problems = getattr(e, "problems", None)
        if problems:
            text = "; ".join(str(p) for p in problems)
        else:
            text = str(e) or type(e).__name__
        msg = ("error", f"{type(e).__name__}: {text}"[:4000])
    conn.send(msg)
    conn.close()


def _noop() -> None:
    """A process that does nothing (to wait for the fork server to be ready)."""


def _context() -> mp.context.ForkServerContext | mp.context.SpawnContext:
    if "forkserver" in mp.get_all_start_methods():
        ctx = mp.get_context("forkserver")
        # Import the models once in the fork server, so each solve starts in milliseconds
        # instead of re-importing numpy and OR-Tools (missing modules are skipped).
        ctx.set_forkserver_preload(list(PRELOAD))
        return ctx
    return mp.get_context("spawn")  # pragma: no cover - not Linux


class FailureLog:
    """Log a repeating failure without flooding: the first with its traceback, then one line
    at most every ``every_s`` seconds with the count, and one line when it recovers.

    With the database down, the runner's tick fails at every poll (five times a second); a
    traceback each time buried everything else in the log.
    """

    def __init__(
        self, what: str, *, every_s: float = 30.0, clock: Callable[[], float] = time.monotonic
    ):
        self.what = what
        self.every_s = every_s
        self.clock = clock
        self.failures = 0
        self._since = 0.0
        self._reported = 0.0
        self._unreported = 0

    def failed(self, exc: BaseException) -> None:
        """Record one failure (call from the ``except`` block)."""
        now = self.clock()
        self.failures += 1
        if self.failures == 1:
            self._since = self._reported = now
            logger.error("%s failed; retrying", self.what, exc_info=exc)
            return
        self._unreported += 1
        if now - self._reported >= self.every_s:
            logger.error(
                "%s still failing: %d more failure(s) in the last %.0f s (%s: %s)",
                self.what,
                self._unreported,
                now - self._reported,
                type(exc).__name__,
                str(exc).strip().splitlines()[0][:200] if str(exc).strip() else "",
            )
            self._reported, self._unreported = now, 0

    def ok(self) -> None:
        """Record a success: one line if it ends a run of failures."""
        if self.failures:
            logger.warning(
                "%s recovered after %d failure(s) in %.0f s",
                self.what,
                self.failures,
                self.clock() - self._since,
            )
            self.failures = self._unreported = 0


@dataclasses.dataclass
class _Running:
    job: JobRecord
    proc: Any
    conn: multiprocessing.connection.Connection
    deadline: float
    lease_until: Any  # shared double: monotonic time after which the lease may be gone


def runner_id() -> str:
    """A unique id of this runner for its leases: ``host:pid:random``."""
    return f"{socket.gethostname()[:60]}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def _stop(proc: Any, grace: float = 2.0) -> None:
    """Terminate a process, then kill it if it ignores SIGTERM."""
    if proc.is_alive():
        proc.terminate()
        proc.join(grace)
    if proc.is_alive():
        proc.kill()
        proc.join(grace)


def run_isolated(
    solver: str, request: dict[str, Any], *, time_limit_s: float, seed: int = 0, timeout_s: float
) -> dict[str, Any]:
    """Run one solve in a fresh process and wait for it (for short synchronous requests).

    Raises
    ------
    SolverUnavailableError
        If the solver reports that its model is not installed.
    TimeoutError
        If no answer comes within ``timeout_s`` (the process is killed).
    RuntimeError
        If the solve fails; the message is the solver's.
    """
    ctx = _context()
    parent, child = ctx.Pipe(duplex=False)
    proc = ctx.Process(
        target=_child_main,
        daemon=True,
        args=(solver, request, time_limit_s, seed, child, os.getpid()),
    )
    proc.start()
    child.close()
    end = time.monotonic() + timeout_s
    try:
        kind = "progress"
        while kind == "progress":  # progress reports come before the answer: skip them
            if not parent.poll(max(0.0, end - time.monotonic())):
                raise TimeoutError(f"no answer within {timeout_s:g} s")
            try:
                kind, payload = parent.recv()
            except EOFError:
                raise RuntimeError(f"solver process exited with code {proc.exitcode}") from None
    finally:
        parent.close()
        _stop(proc)
    if kind == "ok":
        return payload  # type: ignore[no-any-return]
    if str(payload).startswith("SolverUnavailableError"):
        raise SolverUnavailableError(str(payload).partition(": ")[2])
    raise RuntimeError(payload)


class JobRunner:
    """Claims queued jobs and runs each in its own process, at most ``workers`` at a time.

    Parameters
    ----------
    store
        The job store.
    solver
        ``module:function`` of the solve (see :func:`plan_job`).
    workers
        Maximum number of solver processes at once.
    kill_grace_s
        Seconds after a job's time limit before its process is killed and the job failed.
    poll_interval_s
        Seconds between two looks at the store (new jobs, cancellations, lost leases).
    max_attempts
        A job whose lease expired is re-queued until it has been started this many times, then
        failed (see :meth:`JobStore.sweep`).
    lease_s, heartbeat_s
        Length of a lease, and how often the leases are renewed and expired ones swept.
    owner
        This runner's id in the leases (default :func:`runner_id`).
    on_progress
        Called with ``(job id, report)`` for the latest progress report a solve sent during a
        tick (a solve function that takes ``progress`` sends them, see :func:`plan_job`).
    """

    def __init__(
        self,
        store: JobStore,
        *,
        solver: str,
        workers: int = 1,
        kill_grace_s: float = 30.0,
        poll_interval_s: float = 0.2,
        max_attempts: int = 3,
        lease_s: float = 30.0,
        heartbeat_s: float = 10.0,
        owner: str | None = None,
        on_progress: Callable[[str, dict[str, Any]], None] | None = None,
    ):
        if not 0 < heartbeat_s <= lease_s / 2:
            raise ValueError(
                f"heartbeat_s={heartbeat_s!r} must be in (0, lease_s / 2], lease_s={lease_s!r}"
            )
        self.store = store
        self.solver = solver
        self.workers = workers
        self.kill_grace_s = kill_grace_s
        self.poll_interval_s = poll_interval_s
        self.max_attempts = max_attempts
        self.lease_s = lease_s
        self.heartbeat_s = heartbeat_s
        self.owner = owner or runner_id()
        self.on_progress = on_progress
        self._running: dict[str, _Running] = {}
        self._stop_event = threading.Event()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self._next_beat = 0.0
        self.last_tick: float = 0.0

    # -- lifecycle -------------------------------------------------------------------------
    def start(self) -> None:
        """Start the dispatcher thread (its first tick sweeps expired leases).

        Jobs other servers are running are left alone: a dead server's jobs are re-queued by
        the sweep once their lease expires, by whichever server is alive.
        """
        self._stop_event.clear()
        self._next_beat = 0.0
        self._thread = threading.Thread(target=self._loop, name="tradelane-jobs", daemon=True)
        self._thread.start()
        logger.info(
            "job runner %s: lease %g s, heartbeat %g s", self.owner, self.lease_s, self.heartbeat_s
        )

    def stop(self) -> None:
        """Stop the dispatcher and the running solves; their jobs go back to the queue."""
        self._stop_event.set()
        if self._thread is not None:
            self._thread.join(timeout=30)
        with self._lock:
            running = list(self._running.values())
            self._running.clear()
        for r in running:
            _stop(r.proc)
            r.conn.close()
        if running:
            ids = [r.job.id for r in running]
            try:
                back = self.store.release(ids, owner=self.owner)
            except Exception as exc:  # the database is down: the sweep re-queues them later
                logger.warning(
                    "shutdown: could not put %d running job(s) back in the queue (%s); they "
                    "are re-queued once their lease expires: %s",
                    len(ids),
                    type(exc).__name__,
                    ", ".join(ids),
                )
                return
            for job_id in back:
                logger.info("shutdown: job %s stopped and put back in the queue", job_id)

    @property
    def alive(self) -> bool:
        """Whether the dispatcher thread is running."""
        return self._thread is not None and self._thread.is_alive()

    @property
    def busy(self) -> int:
        """Number of solves in progress."""
        return len(self._running)

    # -- the loop --------------------------------------------------------------------------
    def _loop(self) -> None:
        if _context().get_start_method() == "forkserver":
            # Start the fork server (and its model imports) now, not with the first job, and
            # wait until it forks: a first launch would otherwise block for the imports while
            # the job's lease runs.
            try:
                warm = _context().Process(target=_noop, daemon=True)
                warm.start()
                warm.join(120)
            except OSError:  # pragma: no cover - started on demand instead
                logger.warning("could not pre-start the fork server")
        failures = FailureLog("job runner tick")
        while not self._stop_event.is_set():
            try:
                self.tick()
            except Exception as exc:
                failures.failed(exc)
            else:
                failures.ok()
            self._stop_event.wait(self.poll_interval_s)

    def tick(self) -> None:
        """One pass: stop solves whose lease may be gone, collect results, renew leases and
        sweep (every ``heartbeat_s``), enforce cancellations and deadlines, start new solves."""
        with self._lock:
            self._fence()  # first, and without the database: it may be what is failing
            self._collect()
            now = time.monotonic()
            if now >= self._next_beat:
                self._heartbeat()
                self.store.sweep(max_attempts=self.max_attempts)
                self._next_beat = now + self.heartbeat_s
            self._enforce()
            free = self.workers - len(self._running)
            if free > 0 and not self._stop_event.is_set():
                t0 = time.monotonic()
                for job in self.store.claim(free, owner=self.owner, lease_s=self.lease_s):
                    self._launch(job, lease_from=t0)
                if time.monotonic() - t0 > self.heartbeat_s:  # slow launches: renew now
                    self._heartbeat()
        self.last_tick = time.monotonic()

    def _lease_until(self, t0: float) -> float:
        """When to give up a solve whose lease was last granted at ``t0`` (before the request
        was sent, so the database's expiry is later): three quarters into the lease."""
        return t0 + 0.75 * self.lease_s

    def _drop(self, job_id: str) -> None:
        r = self._running.pop(job_id)
        _stop(r.proc)
        r.conn.close()

    def _fence(self) -> None:
        now = time.monotonic()
        fenced = [job_id for job_id, r in self._running.items() if now > r.lease_until.value]
        for job_id in fenced:
            logger.warning(
                "job %s: lease not renewed for %.1f s (database unreachable or "
                "server overloaded?): stopping its solve",
                job_id,
                now - self._running[job_id].lease_until.value + 0.75 * self.lease_s,
            )
            self._drop(job_id)
        if fenced:  # back to the queue at once if still ours (else the sweep does it)
            self.store.release(fenced, owner=self.owner)

    def _heartbeat(self) -> None:
        if not self._running:
            return
        t0 = time.monotonic()
        kept = self.store.renew(self._running, owner=self.owner, lease_s=self.lease_s)
        for job_id in kept:
            if job_id in self._running:
                self._running[job_id].lease_until.value = self._lease_until(t0)

    def _launch(self, job: JobRecord, *, lease_from: float) -> None:
        if job.id in self._running:  # re-claimed after we lost its lease: the old solve goes
            self._drop(job.id)
        ctx = _context()
        parent, child = ctx.Pipe(duplex=False)
        lease_until = ctx.Value("d", self._lease_until(lease_from), lock=False)
        proc = ctx.Process(
            target=_child_main,
            name=f"tradelane-solve-{job.id[:8]}",
            args=(
                self.solver,
                job.request,
                job.time_limit_s,
                job.seed,
                child,
                os.getpid(),
                lease_until,
            ),
            daemon=True,
        )
        proc.start()
        child.close()
        self._running[job.id] = _Running(
            job, proc, parent, time.monotonic() + job.time_limit_s + self.kill_grace_s, lease_until
        )
        logger.info("job %s started (attempt %d, pid %s)", job.id, job.attempts, proc.pid)

    def _receive(self, job_id: str, r: _Running, timeout: float = 0.0) -> tuple[str, Any] | None:
        """The solve's final message if one is waiting; progress reports on the way are passed
        to ``on_progress`` (the latest one only). Raises EOFError if the pipe closed."""
        latest: dict[str, Any] | None = None
        msg: tuple[str, Any] | None = None
        while r.conn.poll(timeout):
            got = r.conn.recv()
            if got[0] == "progress":
                latest = got[1]
                timeout = 0.0
                continue
            msg = got
            break
        if latest is not None and self.on_progress is not None:
            try:
                self.on_progress(job_id, latest)
            except Exception:
                logger.exception("could not store the progress of job %s", job_id)
        return msg

    def _collect(self) -> None:
        for job_id, r in list(self._running.items()):
            msg: tuple[str, Any] | None = None
            try:
                msg = self._receive(job_id, r)
                if msg is None:
                    if r.proc.is_alive():
                        continue
                    msg = self._receive(job_id, r, 0.05)  # answered just before exiting
            except (EOFError, OSError):
                msg = None
            r.proc.join(5)
            r.conn.close()
            del self._running[job_id]
            owner, attempt = self.owner, r.job.attempts
            if msg is None and r.proc.exitcode == LEASE_EXIT:
                # Not the job's fault: this server's runner could not renew in time. Hand the
                # job back at once if it is still ours (else the sweep has it already).
                logger.warning(
                    "job %s: its solve stopped itself at the end of its lease "
                    "(renewal late: server or database overloaded?)",
                    job_id,
                )
                self.store.release([job_id], owner=self.owner)
                continue
            if msg is not None and msg[0] == "ok":
                stored = self.store.finish(job_id, result=msg[1], owner=owner, attempt=attempt)
            elif msg is not None:
                stored = self.store.fail(job_id, error=str(msg[1]), owner=owner, attempt=attempt)
            else:
                stored = self.store.fail(
                    job_id,
                    error=f"the solver process exited with code {r.proc.exitcode} "
                    "without an answer (crashed or killed)",
                    owner=owner,
                    attempt=attempt,
                )
            if not stored:
                logger.info(
                    "job %s finished after it was cancelled or its lease was lost; result dropped",
                    job_id,
                )

    def _enforce(self) -> None:
        if not self._running:
            return
        held = self.store.held(
            {i: r.job.attempts for i, r in self._running.items()}, owner=self.owner
        )
        now = time.monotonic()
        for job_id, r in list(self._running.items()):
            if job_id not in held:
                logger.info(
                    "job %s is no longer running under this server's lease "
                    "(cancelled or taken over): stopping its solver",
                    job_id,
                )
                self._drop(job_id)
            elif now > r.deadline:
                self._drop(job_id)
                self.store.fail(
                    job_id,
                    owner=self.owner,
                    attempt=r.job.attempts,
                    error=(
                        f"time limit exceeded: no answer {self.kill_grace_s:g} s after the "
                        f"{r.job.time_limit_s:g} s limit; the solve was stopped"
                    ),
                )
