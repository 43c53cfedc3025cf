"""Run benchmark tasks, each in its own process, and record one JSON line per solve.

A *task* is one (instance, solver configuration, seed, time limit). ``run_suite`` runs tasks up
to ``jobs`` at a time; each task is a child process (``python -m benchmarks.suite.worker``) with

- a memory limit: ``RLIMIT_AS`` set by the child on itself, plus the parent killing it when its
  resident memory (polled with psutil) exceeds the limit -> status ``memout``;
- a wall-clock limit: the solver is given ``time_limit`` seconds; the parent kills the child's
  process group at ``time_limit + grace`` -> status ``timeout``;
- crash isolation: a child that dies without writing its result (signal, abort, ``os._exit``)
  gives a ``crash`` row with the exit code/signal and the tail of its stderr.

The suite goes on after every failure. The output file is updated as each solve finishes: a
``results.json`` is a JSON list of rows, rewritten atomically (temporary file + rename) so it is
valid JSON at every moment, even after a kill; a ``results.jsonl`` gets one JSON object per line,
appended. A re-run with the same output skips tasks whose key (``Task.key``) is already there,
which resumes an interrupted run. ``read_rows`` reads both.

Row fields (``ROW_FIELDS``): ``instance, family, solver, config, params, seed, time_limit, cost,
best_known, gap_pct, feasible, seconds, peak_mb, status, error, samples, info, path``.
``feasible`` is the family's independent evaluator's verdict, ``cost`` its recomputed cost,
``gap_pct = 100 (cost - best_known) / best_known`` for feasible rows with a best-known value.
``status`` is one of ``STATUSES``.
"""

from __future__ import annotations

import contextlib
import json
import logging
import math
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
import tomllib
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

from benchmarks.suite.spec import Family

log = logging.getLogger(__name__)

__all__ = [
    "ROW_FIELDS",
    "STATUSES",
    "BenchError",
    "Config",
    "Task",
    "build_tasks",
    "check_instances",
    "load_config",
    "read_rows",
    "rows_of",
    "run_suite",
    "run_task",
]

ROW_FIELDS = (
    "instance",
    "family",
    "solver",
    "config",
    "params",
    "seed",
    "time_limit",
    "cost",
    "best_known",
    "gap_pct",
    "feasible",
    "seconds",
    "peak_mb",
    "status",
    "error",
    "samples",
    "info",
    "path",
)
STATUSES = ("ok", "infeasible", "no_solution", "error", "crash", "timeout", "memout")

_REPO = Path(__file__).resolve().parents[2]


BENCH_KEYS = ("name", "solver")
"""The keys of a configuration's ``[bench]`` table."""


class BenchError(ValueError):
    """Bad benchmark input (configuration file, instance folder, limits)."""


@dataclass(frozen=True)
class Config:
    """A solver configuration: which solver and its parameters.

    Attributes
    ----------
    name : str
        Label in result rows and reports (default: the TOML file's stem).
    solver : str
        Solver name in the family (``None`` resolves to the family's default solver).
    params : dict
        Parameters passed to the solver (the ``[routing]`` / ``[allocation]`` table).
    """

    name: str
    solver: str | None = None
    params: dict[str, Any] = field(default_factory=dict)


def load_config(path: Path, family: Family) -> Config:
    """Read a configuration TOML.

    Layout: an optional ``[bench]`` table (``name``, ``solver``), and the parameters in a
    ``[routing]`` or ``[allocation]`` table (by family kind) or at the top level. Every key
    is used or refused: an unknown ``[bench]`` key, a key beside the parameter table, a table
    of the other kind only, or parameters for a solver other than ours (the peers run with
    their defaults) are errors. The same file
    is accepted by ``RoutingParams.from_toml`` / ``AllocationParams.from_toml``, which read the
    same table.

    Raises
    ------
    BenchError
        Unreadable or invalid TOML, a key that would be ignored (see above), a solver the
        family does not have, a parameter our solver does not take or a bad value
        (``Family.check_params``).
    """
    try:
        doc = tomllib.loads(Path(path).read_text(encoding="utf-8"))
    except OSError as e:
        raise BenchError(f"--config {path}: cannot read: {e.strerror}") from None
    except UnicodeDecodeError as e:
        raise BenchError(
            f"--config {path}: not UTF-8 text ({e.reason} at byte {e.start})"
        ) from None
    except tomllib.TOMLDecodeError as e:
        raise BenchError(f"--config {path}: not valid TOML: {e}") from None
    meta = doc.pop("bench", {})
    if not isinstance(meta, dict):
        raise BenchError(f"--config {path}: [bench] must be a table")
    unknown = sorted(set(meta) - set(BENCH_KEYS))
    if unknown:
        raise BenchError(
            f"--config {path}: [bench] unknown key(s) {', '.join(unknown)}; "
            f"known: {', '.join(BENCH_KEYS)}"
        )
    kind = family.kind
    other = {"routing": "allocation", "allocation": "routing"}[kind]
    if kind in doc:
        # one file may hold both tables (plan and route read one each); anything else
        # beside the table would never be read
        stray = sorted(k for k in doc if k not in (kind, other))
        if stray:
            raise BenchError(
                f"--config {path}: {', '.join(stray)} outside the [{kind}] table "
                f"(parameters go in [{kind}]; [bench] takes {', '.join(BENCH_KEYS)})"
            )
    elif isinstance(doc.get(other), dict):
        raise BenchError(
            f"--config {path}: a [{other}] table but no [{kind}] table; "
            f"the {family.name} family reads [{kind}]"
        )
    params = doc.get(kind, doc)
    if not isinstance(params, dict):
        raise BenchError(f"--config {path}: [{kind}] must be a table")
    solver = meta.get("solver", family.default_solver)
    if solver not in family.solvers:
        raise BenchError(
            f"--config {path}: solver {solver!r} is not one of the "
            f"{family.name} solvers ({', '.join(sorted(family.solvers))})"
        )
    if solver != family.default_solver and params:
        raise BenchError(
            f"--config {path}: solver {solver!r} takes no parameters "
            f"({', '.join(sorted(params))}); it runs with its defaults, only "
            f"{family.default_solver!r} reads [{kind}]"
        )
    if solver == family.default_solver and family.check_params is not None:
        try:
            family.check_params(params)
        except (ValueError, TypeError) as e:
            raise BenchError(f"--config {path}: [{family.kind}] {e}") from None
    return Config(name=str(meta.get("name", Path(path).stem)), solver=solver, params=dict(params))


@dataclass(frozen=True)
class Task:
    """One solve: an instance, a configuration, a seed and a time limit."""

    family: str
    path: str
    instance: str
    solver: str
    config: str
    params: dict[str, Any]
    seed: int
    time_limit: float
    best_known: float | None = None

    def key(self) -> tuple[str, str, str, str, int, float]:
        """Identity used to skip solves already recorded (resume)."""
        return (
            self.instance,
            self.family,
            self.solver,
            self.config,
            self.seed,
            float(self.time_limit),
        )


def row_key(row: dict[str, Any]) -> tuple[str, str, str, str, int, float]:
    """``Task.key`` of a recorded row."""
    return (
        row["instance"],
        row["family"],
        row["solver"],
        row["config"],
        int(row["seed"]),
        float(row["time_limit"]),
    )


def check_instances(family: Family, instances: Sequence[Path]) -> None:
    """Raise BenchError naming the first file the family's ``check_instance`` refuses."""
    if family.check_instance is None:
        return
    for path in instances:
        try:
            family.check_instance(Path(path))
        except ValueError as e:
            raise BenchError(f"--instances: {e}") from None
        except OSError as e:
            raise BenchError(f"--instances: {path}: cannot read: {e.strerror or e}") from None


def build_tasks(
    family: Family,
    family_spec: str,
    instances: Sequence[Path],
    *,
    configs: Sequence[Config],
    seeds: Iterable[int],
    time_limits: Sequence[float],
    peers: bool = True,
) -> list[Task]:
    """The cross product instance x (configs + peers) x seed x time limit.

    Peers run with their default parameters, once per instance, seed and time limit.

    Raises
    ------
    BenchError
        An instance file the family's ``check_instance`` refuses (naming the file and item).
    """
    seeds = list(seeds)
    cfgs = list(configs) or [Config("default", family.default_solver)]
    if peers:
        cfgs += [Config(p, p) for p in family.peers]
    tasks = []
    check_instances(family, instances)
    for path in instances:
        bks = family.best_known(path)
        for tl in time_limits:
            for cfg in cfgs:
                for seed in seeds:
                    tasks.append(
                        Task(
                            family=family_spec,
                            path=str(path),
                            instance=family.instance_name(path),
                            solver=cfg.solver or family.default_solver,
                            config=cfg.name,
                            params=dict(cfg.params),
                            seed=seed,
                            time_limit=float(tl),
                            best_known=bks,
                        )
                    )
    return tasks


# the fields every recorded row has: ``Task.key`` (resume) and the status (reports)
KEY_FIELDS = ("instance", "family", "solver", "config", "seed", "time_limit", "status")
_TEXT_FIELDS = ("instance", "family", "solver", "config", "status", "path", "error")
_OPTIONAL = ("path", "error")
_NUMBER_FIELDS = ("cost", "best_known", "gap_pct", "seconds", "peak_mb")
# how every row line written by this module starts (``_record`` puts ``instance`` first)
_ROW_START = '{"instance": '


def _check_row(row: Any, where: str) -> dict[str, Any]:
    """``row`` if it is a results row, else BenchError naming ``where`` (file:line)."""
    if not isinstance(row, dict):
        raise BenchError(f"{where}: not a results row (a JSON {type(row).__name__}, not an object)")
    missing = [k for k in KEY_FIELDS if k not in row]
    if missing:
        raise BenchError(f"{where}: not a results row (no {', '.join(missing)})")
    if isinstance(row["seed"], bool) or not isinstance(row["seed"], int):
        raise BenchError(f"{where}: seed {row['seed']!r} is not an integer")
    tl = row["time_limit"]
    if isinstance(tl, bool) or not isinstance(tl, int | float):
        raise BenchError(f"{where}: time_limit {tl!r} is not a number")
    # the report formats, sums and sorts these: a wrong type was an internal error there
    for k in _TEXT_FIELDS:
        if k in row and not isinstance(row[k], str) and not (k in _OPTIONAL and row[k] is None):
            raise BenchError(f"{where}: {k} {row[k]!r} is not a string")
    for k in _NUMBER_FIELDS:
        v = row.get(k)
        if v is not None and (isinstance(v, bool) or not isinstance(v, int | float)):
            raise BenchError(f"{where}: {k} {v!r} is not a number")
    for k in ("feasible",):
        v = row.get(k)
        if v is not None and not isinstance(v, bool):
            raise BenchError(f"{where}: {k} {v!r} is not true, false or null")
    for k in ("info", "params"):
        v = row.get(k)
        if v is not None and not isinstance(v, dict):
            raise BenchError(f"{where}: {k} {v!r} is not an object")
    samples = row.get("samples")
    if samples is not None and not (
        isinstance(samples, list)
        and all(
            isinstance(p, list)
            and len(p) == 2
            and all(isinstance(x, int | float) and not isinstance(x, bool) for x in p)
            for p in samples
        )
    ):
        raise BenchError(f"{where}: samples is not a list of [seconds, cost] pairs")
    return row


def read_rows(path: Path) -> list[dict[str, Any]]:
    """Rows of a results file: JSON Lines, or a JSON list (both accepted).

    A missing or empty file has no rows. Anything else that is not a results file is refused,
    so that a run never writes its results over some other file.

    Raises
    ------
    BenchError
        The file cannot be read, is not JSON / JSON Lines, or a row is not a results row
        (message: ``file:line``). The one exception is a JSON Lines row cut short by a kill
        while it was written (a line that starts as rows do but is not whole JSON): it is
        skipped with a warning.
    """
    path = Path(path)
    if not path.exists():
        return []
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
        raise BenchError(f"{path}: cannot read: {getattr(e, 'strerror', None) or e}") from None
    if text.lstrip().startswith("["):
        # a JSON list is rewritten atomically (``_write_list``): it is whole or it is not ours
        try:
            doc = json.loads(text)
        except json.JSONDecodeError as e:
            raise BenchError(f"{path}:{e.lineno}: not valid JSON: {e.msg}") from None
        except RecursionError:
            from network.scenario import TOO_DEEP

            raise BenchError(f"{path}: not a results file ({TOO_DEEP})") from None
        if not isinstance(doc, list):
            raise BenchError(f"{path}: not a results file (not a JSON list)")
        where = _list_item_places(path, text, len(doc))
        return [_check_row(r, w) for r, w in zip(doc, where, strict=True)]
    rows = []
    lines = text.splitlines()
    last = max((n for n, ln in enumerate(lines, 1) if ln.strip()), default=0)
    for n, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except RecursionError:
            from network.scenario import TOO_DEEP

            raise BenchError(f"{path}:{n}: not a results file ({TOO_DEEP})") from None
        except json.JSONDecodeError:
            stripped = line.strip()
            cut = stripped.startswith(_ROW_START) or (n == last and _ROW_START.startswith(stripped))
            if not cut:
                raise BenchError(
                    f"{path}:{n}: not a results file (not a JSON row; "
                    "results are a JSON list or one JSON object per line)"
                ) from None
            log.warning("%s:%d: a row cut short (an interrupted write); ignored", path, n)
            continue
        rows.append(_check_row(row, f"{path}:{n}"))
    return rows


def _list_item_places(path: Path, text: str, count: int) -> list[str]:
    """Where each item of a JSON list is, for messages: ``file:line`` when the items are one per
    line (as ``_write_list`` writes them), else ``file: row N``."""
    starts = [n for n, ln in enumerate(text.splitlines(), 1) if ln.lstrip().startswith("{")]
    if len(starts) == count:
        return [f"{path}:{n}" for n in starts]
    return [f"{path}: row {i}" for i in range(1, count + 1)]


def _params_json(params: Any) -> str:
    """Parameters as compared for resume: canonical JSON (as recorded in a results file)."""
    return json.dumps(json.loads(json.dumps(params or {})), sort_keys=True)


def rows_of(out: Path, tasks: Sequence[Task]) -> list[dict[str, Any]]:
    """The recorded rows of ``tasks`` in the results file ``out`` (run now or earlier), one per
    task, in the order of ``tasks``; tasks without a row are left out."""
    by_key = {row_key(r): r for r in read_rows(out)}
    return [by_key[t.key()] for t in tasks if t.key() in by_key]


def _gap(cost: float | None, bks: float | None, feasible: bool) -> float | None:
    if not feasible or cost is None or bks is None or not math.isfinite(cost) or bks == 0:
        return None
    return 100.0 * (cost - bks) / abs(bks)


def _rss_mb(proc: Any) -> float:
    """Resident memory of a psutil process and its children, MB (0 when it is gone)."""
    import psutil

    total = 0
    try:
        procs = [proc, *proc.children(recursive=True)]
    except psutil.Error:
        return 0.0
    for p in procs:
        with contextlib.suppress(psutil.Error):
            total += p.memory_info().rss
    return total / 2**20


def _tail(path: Path, n: int = 3) -> str:
    try:
        lines = [ln for ln in path.read_text(errors="replace").splitlines() if ln.strip()]
    except OSError:
        return ""
    return " | ".join(lines[-n:])[-500:]


def _describe_exit(code: int) -> str:
    if code < 0:
        try:
            return f"killed by signal {signal.Signals(-code).name}"
        except ValueError:
            return f"killed by signal {-code}"
    return f"exit code {code}"


_LIVE: set[subprocess.Popen[bytes]] = set()
_LIVE_LOCK = threading.Lock()


def _kill(proc: subprocess.Popen[bytes]) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)


def run_task(
    task: Task, *, memory_mb: float | None = 4096, grace: float | None = None, poll_s: float = 0.05
) -> dict[str, Any]:
    """Run one task in a child process and return its complete row.

    Parameters
    ----------
    task : Task
    memory_mb : float or None
        Memory limit of the child (address space and polled resident memory); None = none.
    grace : float or None
        Seconds past ``time_limit`` before the child is killed (process start, reading,
        evaluation). Default ``max(10, 0.5 * time_limit)``.
    poll_s : float
        Polling interval for the child's memory and the deadline.
    """
    import psutil

    grace = max(10.0, 0.5 * task.time_limit) if grace is None else grace
    load0 = os.getloadavg()[0]
    deadline_s = task.time_limit + grace
    row: dict[str, Any] = {
        "instance": task.instance,
        "family": task.family,
        "solver": task.solver,
        "config": task.config,
        "params": task.params,
        "seed": task.seed,
        "time_limit": task.time_limit,
        "cost": None,
        "best_known": task.best_known,
        "gap_pct": None,
        "feasible": False,
        "seconds": None,
        "peak_mb": None,
        "status": None,
        "error": None,
        "samples": [],
        "info": {},
        "path": task.path,
    }
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(
        p for p in (str(_REPO), os.getcwd(), env.get("PYTHONPATH", "")) if p
    )
    with tempfile.TemporaryDirectory(prefix="tradelane-bench-") as tmp:
        tdir = Path(tmp)
        (tdir / "task.json").write_text(
            json.dumps(
                {
                    "family": task.family,
                    "path": task.path,
                    "solver": task.solver,
                    "params": task.params,
                    "seed": task.seed,
                    "time_limit": task.time_limit,
                    "memory_mb": memory_mb,
                }
            )
        )
        result = tdir / "result.json"
        err_path = tdir / "stderr.txt"
        t0 = time.perf_counter()
        with open(err_path, "wb") as err, open(os.devnull, "wb") as devnull:
            proc = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "benchmarks.suite.worker",
                    str(tdir / "task.json"),
                    str(result),
                ],
                stdin=subprocess.DEVNULL,
                stdout=devnull,
                stderr=err,
                env=env,
                start_new_session=True,
            )
        with _LIVE_LOCK:
            _LIVE.add(proc)
        peak = 0.0
        killed: str | None = None
        try:
            ps = psutil.Process(proc.pid)
            while proc.poll() is None:
                rss = _rss_mb(ps)
                peak = max(peak, rss)
                if memory_mb and rss > memory_mb:
                    killed = "memout"
                    _kill(proc)
                elif time.perf_counter() - t0 > deadline_s:
                    killed = "timeout"
                    _kill(proc)
                if killed:
                    proc.wait()
                    break
                time.sleep(poll_s)
        except psutil.NoSuchProcess:
            proc.wait()
        finally:
            with _LIVE_LOCK:
                _LIVE.discard(proc)
        elapsed = time.perf_counter() - t0
        code = proc.returncode
        if killed == "timeout":
            row.update(
                status="timeout",
                seconds=elapsed,
                peak_mb=peak,
                error=f"killed after {elapsed:.1f} s (time limit {task.time_limit:g} s "
                f"+ grace {grace:g} s)",
            )
        elif killed == "memout":
            row.update(
                status="memout",
                seconds=elapsed,
                peak_mb=peak,
                error=f"killed: resident memory over {memory_mb:g} MB",
            )
        elif result.exists():
            child = json.loads(result.read_text())
            row.update(child)
            row["peak_mb"] = max(float(child.get("peak_mb") or 0.0), peak)
        else:
            tail = _tail(err_path)
            row.update(
                status="crash",
                seconds=elapsed,
                peak_mb=peak,
                error=f"solver process died ({_describe_exit(code)}) without a result"
                + (f": {tail}" if tail else ""),
            )
    row["gap_pct"] = _gap(row["cost"], row["best_known"], bool(row["feasible"]))
    # how busy the machine was: time-limited results depend on it
    row["info"] = {
        **(row.get("info") or {}),
        "load_1min_at_start": round(load0, 2),
        "cpus": os.cpu_count(),
    }
    return row


def _record(row: dict[str, Any]) -> dict[str, Any]:
    return {k: row.get(k) for k in ROW_FIELDS}


def _append_line(out: Path, row: dict[str, Any]) -> None:
    """JSON Lines: append one line (after dropping a line cut short by a kill, so that only
    the last line of a results file can ever be partial)."""
    with open(out, "ab+") as fh:
        end = fh.seek(0, os.SEEK_END)
        if end > 0:
            fh.seek(end - 1)
            if fh.read(1) != b"\n":
                fh.truncate(_last_line_start(fh, end))
        fh.write((json.dumps(_record(row)) + "\n").encode("utf-8"))
        fh.flush()
        os.fsync(fh.fileno())


def _last_line_start(fh: BinaryIO, end: int, chunk: int = 1 << 16) -> int:
    """Offset just after the last newline before ``end`` in a binary file (0: none)."""
    pos = end
    while pos > 0:
        start = max(0, pos - chunk)
        fh.seek(start)
        i = fh.read(pos - start).rfind(b"\n")
        if i >= 0:
            return start + i + 1
        pos = start
    return 0


def _write_list(out: Path, rows: list[dict[str, Any]]) -> None:
    """JSON list: rewrite the whole file atomically (temporary file + rename)."""
    tmp = out.with_name(out.name + ".tmp")
    with open(tmp, "w") as fh:
        fh.write("[\n" + ",\n".join(json.dumps(r) for r in rows) + "\n]\n")
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, out)


def run_suite(
    tasks: Sequence[Task],
    out: Path | None,
    *,
    jobs: int = 1,
    memory_mb: float | None = 4096,
    grace: float | None = None,
    on_row: Callable[[dict[str, Any], int, int], None] | None = None,
) -> list[dict[str, Any]]:
    """Run the tasks not yet recorded in ``out``, up to ``jobs`` at once.

    Parameters
    ----------
    tasks : sequence of Task
    out : Path or None
        Results file, updated as each solve finishes; tasks whose key is already there are
        skipped. A ``.jsonl`` name gets JSON Lines (one row appended per line); any other
        name a JSON list, rewritten atomically after each solve (always valid JSON).
        ``None``: keep rows in memory only.
    jobs : int
        Solves running at the same time (each is its own process).
    memory_mb, grace
        See ``run_task``.
    on_row : callable, optional
        ``on_row(row, done, total)`` after each solve (progress display).

    Returns
    -------
    list of dict
        The rows of the solves run now (not the skipped ones), in completion order
        (``rows_of`` gives every task's row, recorded earlier or now).

    Raises
    ------
    BenchError
        A task's key (instance, family, solver, configuration name, seed, time limit) is
        recorded in ``out`` with other parameters.
    """
    if jobs < 1:
        raise BenchError(f"--jobs must be at least 1, got {jobs}")
    existing = read_rows(out) if out is not None else []
    as_lines = out is not None and out.suffix == ".jsonl"
    recorded = [_record(r) for r in existing]
    done_params = {row_key(r): _params_json(r.get("params")) for r in existing}
    todo = []
    seen = set(done_params)
    for t in tasks:
        k = t.key()
        if k in done_params and done_params[k] != _params_json(t.params):
            # the same name with other parameters: skipping would report the old numbers
            # under the name, running would mix two configurations in one line of the report
            raise BenchError(
                f"{out}: configuration {t.config!r} ({t.solver}) on {t.instance} seed "
                f"{t.seed} at {t.time_limit:g} s is recorded with other parameters "
                f"({done_params[k]}, now {_params_json(t.params)}): give the configuration "
                "another [bench] name or use another --out"
            )
        if k not in seen:
            seen.add(k)
            todo.append(t)
    if len(todo) < len(tasks):
        log.info("resume: %d of %d solve(s) already recorded", len(tasks) - len(todo), len(tasks))
    rows: list[dict[str, Any]] = []
    lock = threading.Lock()
    pool = ThreadPoolExecutor(max_workers=jobs, thread_name_prefix="bench")
    try:
        futs = [pool.submit(run_task, t, memory_mb=memory_mb, grace=grace) for t in todo]
        for fut in as_completed(futs):
            row = fut.result()
            with lock:
                rows.append(row)
                if out is not None and as_lines:
                    _append_line(out, row)
                elif out is not None:
                    recorded.append(_record(row))
                    _write_list(out, recorded)
                if on_row is not None:
                    on_row(row, len(rows), len(todo))
    finally:
        pool.shutdown(wait=False, cancel_futures=True)
        with _LIVE_LOCK:
            for p in list(_LIVE):
                _kill(p)
    return rows
