"""The nightly run: re-plan every configured scenario, store the plans, diff against last night.

Configuration (TOML)::

    # nightly.toml
    database_url = "sqlite:///./tradelane.db"   # optional: default TRADELANE_DATABASE_URL
    out_dir = "nightly"                          # reports in out_dir/<run date>/<scenario>/
    time_limit_s = 300                           # per scenario
    seed = 0
    workers = 2                                  # optional: scenarios solved at once (1)
    dask = "tcp://scheduler:8786"                # optional: a Dask cluster, or "local"

    [[scenario]]                                 # a scenario file or directory
    name = "sea-72h"                             # the key plans are stored under
    path = "datasets/sea-72h"                    # relative to this file
    demand = "forecasts/sea.csv"                 # optional demand CSV
    inventory = "stock/sea.csv"                  # optional: tonight's stock (format v1.1)
    time_limit_s = 450                           # optional: this scenario's own limit

    [[scenario]]                                 # a stored forecast: the tenant's latest
    name = "acme-me"                             # POST /v1/plans of that scenario name
    tenant = "acme"
    scenario = "me-72h"

Scenarios are fanned out to the executor of :mod:`optimizer.executor` (``workers = N`` at
once on local processes, or ``dask = "ADDRESS"`` / ``"local"`` on a Dask cluster; default one
at a time here), each with its own time limit. Locally each scenario is solved in its own
process (killed ``kill_grace_s`` after its time limit; on Dask the worker runs the solve and
the limit is the solver's own) with the configured solve function (``TRADELANE_SOLVER``, the
allocation model by default), with tonight's state (format v1.1): the stored inventory (the
source's ``inventory`` CSV, else an ``inventory.csv`` in a scenario directory, else the
document's own ``inventory``) and the previous night's plan of the same key as the previous
plan (stability). Its plan is stored with the run date (a re-run of the same date
replaces it; a re-run that fails keeps a plan that succeeded for that date) and compared with
the latest earlier successful plan of the same key: stock changes per SKU × warehouse,
warehouses opened and closed, cost and on-time share deltas, and tonight's orders and
transfers, written as ``diff.json`` and ``diff.md``.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import logging
import math
import sys
import time
import tomllib
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Literal, TypedDict

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, ValidationError, model_validator
from sqlalchemy.exc import SQLAlchemyError

from api.store import JobStore, first_line

__all__ = [
    "NightlyConfig",
    "NightlyConfigError",
    "ScenarioOutcome",
    "diff_markdown",
    "diff_plans",
    "read_config",
    "run_nightly",
]

logger = logging.getLogger(__name__)


class NightlyConfigError(ValueError):
    """A bad nightly configuration; ``lines`` has one message per problem, naming the item."""

    def __init__(self, lines: list[str]):
        self.lines = lines
        super().__init__("\n".join(lines))


class ScenarioSource(BaseModel):
    """One configured scenario: a file/directory, or a tenant's stored forecast."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=200, pattern=r"^[A-Za-z0-9_.-]+$")
    path: str | None = None
    demand: str | None = None
    inventory: str | None = None
    tenant: str | None = None
    scenario: str | None = None
    time_limit_s: float | None = Field(default=None, gt=0)

    @model_validator(mode="after")
    def _one_source(self) -> ScenarioSource:
        if (self.path is None) == (self.tenant is None):
            raise ValueError(
                "give either 'path' (a scenario file) or 'tenant' and 'scenario' "
                "(a stored forecast)"
            )
        if self.tenant is not None and not self.scenario:
            raise ValueError("a stored forecast needs 'scenario' (the scenario name)")
        if self.demand is not None and self.path is None:
            raise ValueError("'demand' goes with 'path'")
        if self.inventory is not None and self.path is None:
            raise ValueError("'inventory' goes with 'path'")
        return self


class NightlyConfig(BaseModel):
    """The whole nightly configuration."""

    model_config = ConfigDict(extra="forbid")

    database_url: str | None = None
    out_dir: str = "nightly"
    time_limit_s: float = Field(default=300.0, gt=0)
    seed: int = Field(default=0, ge=0)
    workers: int = Field(default=1, ge=1)
    dask: str | None = None
    scenario: list[ScenarioSource] = Field(min_length=1)
    _base: Path = PrivateAttr(default=Path("."))

    @property
    def base(self) -> Path:
        """The folder relative paths are resolved against (the config file's)."""
        return self._base

    @model_validator(mode="after")
    def _unique(self) -> NightlyConfig:
        names = [s.name for s in self.scenario]
        dup = sorted({n for n in names if names.count(n) > 1})
        if dup:
            raise ValueError(f"scenario names must be unique; repeated: {', '.join(dup)}")
        return self


def read_config(path: str | Path) -> NightlyConfig:
    """Read and check a nightly TOML file.

    Raises
    ------
    NightlyConfigError
        If it cannot be read or parsed, or breaks a rule (every problem listed).
    """
    p = Path(path)
    try:
        doc = tomllib.loads(p.read_text(encoding="utf-8"))
    except OSError as e:
        raise NightlyConfigError([f"{p}: cannot read: {e.strerror or e}"]) from None
    except tomllib.TOMLDecodeError as e:
        raise NightlyConfigError([f"{p}: not valid TOML: {e}"]) from None
    try:
        cfg = NightlyConfig.model_validate(doc)
    except ValidationError as e:
        lines = []
        for err in e.errors(include_url=False):
            loc = "".join(f"[{x}]" if isinstance(x, int) else f".{x}" for x in err["loc"])
            lines.append(f"{p.name}: {loc.lstrip('.') or 'config'}: {err['msg']}")
        raise NightlyConfigError(lines) from None
    cfg._base = p.resolve().parent
    return cfg


@dataclasses.dataclass(frozen=True, slots=True)
class ScenarioOutcome:
    """What the nightly run did with one scenario."""

    name: str
    status: str
    error: str | None
    out_dir: Path | None
    diff: dict[str, Any] | None
    #: the scenario's own input was bad (it could not be loaded), not the run
    bad_input: bool = False
    #: the plan's status (``optimal``, ``feasible``, ...) and its solve's seconds, when planned
    plan_status: str | None = None
    seconds: float | None = None


# -- the diff ------------------------------------------------------------------------------


class StockChange(TypedDict):
    """One SKU × warehouse whose stock units changed between two plans."""

    sku: str
    warehouse: str
    before: float
    after: float
    delta: float


def _num(x: Any) -> float | None:
    if isinstance(x, int) and not -sys.float_info.max <= x <= sys.float_info.max:
        return None  # an integer past a float (JSON writes any size)
    return float(x) if isinstance(x, int | float) and math.isfinite(x) else None


def _delta(a: Any, b: Any) -> dict[str, float | None]:
    a, b = _num(a), _num(b)
    return {"before": a, "after": b, "delta": (b - a) if a is not None and b is not None else None}


def diff_plans(before: dict[str, Any] | None, after: dict[str, Any]) -> dict[str, Any]:
    """Compare two plans (DESIGN §7 documents).

    Returns
    -------
    dict
        ``stock``: one entry per SKU × warehouse whose units changed (``before``/``after``/
        ``delta``; a missing row counts as 0), largest change first; ``orders`` and
        ``transfers``: tonight's bookings of the new plan (format v1.1); ``warehouses_opened`` and
        ``warehouses_closed``; ``objective``, ``cost`` (per component) and ``on_time_share``
        as before/after/delta. With no earlier plan, ``first_run`` is true and every stock row
        counts as a change from 0.
    """
    prev = before or {}

    def stock(p: dict[str, Any]) -> dict[tuple[str, str], float]:
        out: dict[tuple[str, str], float] = {}
        for row in p.get("stock") or []:
            key = (str(row.get("sku")), str(row.get("warehouse")))
            out[key] = out.get(key, 0.0) + float(row.get("units") or 0.0)
        return out

    def opened(p: dict[str, Any]) -> set[str]:
        return {str(w["id"]) for w in p.get("warehouses") or [] if w.get("open")}

    s0, s1 = stock(prev), stock(after)
    changes: list[StockChange] = [
        {
            "sku": k[0],
            "warehouse": k[1],
            "before": s0.get(k, 0.0),
            "after": s1.get(k, 0.0),
            "delta": s1.get(k, 0.0) - s0.get(k, 0.0),
        }
        for k in sorted(set(s0) | set(s1))
        if s0.get(k, 0.0) != s1.get(k, 0.0)
    ]
    changes.sort(key=lambda c: -abs(c["delta"]))
    orders = [
        {k: r.get(k) for k in ("sku", "warehouse", "units", "lanes")}
        for r in after.get("orders") or []
    ]
    transfers = [
        {k: r.get(k) for k in ("sku", "from", "to", "lane", "units", "hours")}
        for r in after.get("transfers") or []
    ]
    o0, o1 = opened(prev), opened(after)
    c0, c1 = prev.get("cost") or {}, after.get("cost") or {}
    return {
        "first_run": before is None,
        "status": {"before": prev.get("status"), "after": after.get("status")},
        "objective": _delta(prev.get("objective"), after.get("objective")),
        "cost": {k: _delta(c0.get(k), c1.get(k)) for k in sorted(set(c0) | set(c1))},
        "on_time_share": _delta(
            (prev.get("service") or {}).get("on_time_share"),
            (after.get("service") or {}).get("on_time_share"),
        ),
        "warehouses_opened": sorted(o1 - o0),
        "warehouses_closed": sorted(o0 - o1),
        "stock": changes,
        "stock_units": {"before": sum(s0.values()), "after": sum(s1.values())},
        "orders": orders,
        "transfers": transfers,
    }


def diff_markdown(
    name: str,
    run_date: dt.date,
    prev_date: dt.date | None,
    diff: dict[str, Any],
    *,
    max_rows: int = 50,
) -> str:
    """A short Markdown report of :func:`diff_plans`."""

    def f(x: float | None, fmt: str = ",.2f") -> str:
        return "–" if x is None else format(x, fmt)

    def sign(x: float | None, fmt: str = "+,.2f") -> str:
        return "–" if x is None else format(x, fmt)

    since = f"against {prev_date.isoformat()}" if prev_date else "first run: nothing to compare"
    obj, ots = diff["objective"], diff["on_time_share"]
    lines = [
        f"# {name}: nightly plan {run_date.isoformat()} ({since})",
        "",
        "| measure | before | after | change |",
        "| --- | ---: | ---: | ---: |",
        f"| total cost | {f(obj['before'])} | {f(obj['after'])} | {sign(obj['delta'])} |",
        (
            f"| on-time share | {f(ots['before'], '.2%')} | {f(ots['after'], '.2%')} | "
            f"{sign(None if ots['delta'] is None else ots['delta'] * 100, '+.2f')} pp |"
        ),
    ]
    for k, v in diff["cost"].items():
        lines.append(f"| cost: {k} | {f(v['before'])} | {f(v['after'])} | {sign(v['delta'])} |")
    lines += [
        "",
        f"Warehouses opened: {', '.join(diff['warehouses_opened']) or 'none'}  ",
        f"Warehouses closed: {', '.join(diff['warehouses_closed']) or 'none'}",
        "",
    ]
    ch = diff["stock"]
    lines.append(f"## Stock changes ({len(ch)} SKU × warehouse)")
    if ch:
        lines += [
            "",
            "| SKU | warehouse | before | after | change |",
            "| --- | --- | ---: | ---: | ---: |",
        ]
        lines += [
            f"| {c['sku']} | {c['warehouse']} | {c['before']:,.0f} | {c['after']:,.0f} | "
            f"{c['delta']:+,.0f} |"
            for c in ch[:max_rows]
        ]
        if len(ch) > max_rows:
            lines.append(f"\n… {len(ch) - max_rows} more in diff.json")
    else:
        lines += ["", "No stock level changed."]
    orders = diff.get("orders") or []
    lines += ["", f"## Orders to book tonight ({len(orders)})"]
    if orders:
        lines += ["", "| SKU | warehouse | units | lanes |", "| --- | --- | ---: | --- |"]
        lines += [
            f"| {o['sku']} | {o['warehouse']} | {o['units']:,.0f} | "
            f"{' > '.join(o['lanes'] or [])} |"
            for o in orders[:max_rows]
        ]
        if len(orders) > max_rows:
            lines.append(f"\n… {len(orders) - max_rows} more in diff.json")
    else:
        lines += ["", "No order."]
    transfers = diff.get("transfers") or []
    lines += ["", f"## Transfers ({len(transfers)})"]
    if transfers:
        lines += [
            "",
            "| SKU | from | to | lane | units | hours |",
            "| --- | --- | --- | --- | ---: | ---: |",
        ]
        lines += [
            f"| {t['sku']} | {t['from']} | {t['to']} | {t['lane']} | {t['units']:,.0f} | "
            f"{t['hours']:,.1f} |"
            for t in transfers[:max_rows]
        ]
        if len(transfers) > max_rows:
            lines.append(f"\n… {len(transfers) - max_rows} more in diff.json")
    else:
        lines += ["", "No transfer."]
    return "\n".join(lines) + "\n"


# -- the run -------------------------------------------------------------------------------


def _load_document(src: ScenarioSource, cfg: NightlyConfig, store: JobStore) -> dict[str, Any]:
    """The scenario document of one source (validated); raises with a reason."""
    if src.path is not None:
        from network.scenario import load_scenario

        path = cfg.base / src.path
        demand = (cfg.base / src.demand) if src.demand else None
        s = load_scenario(path, demand=demand)
        inv = cfg.base / src.inventory if src.inventory else None
        if inv is None and path.is_dir() and (path / "inventory.csv").is_file():
            inv = path / "inventory.csv"
        if inv is not None:
            from network.scenario import ScenarioError, parse_scenario
            from optimizer.plan.io import inventory_line_problems, read_inventory_rows

            doc = s.to_document()
            doc["inventory"], lines = read_inventory_rows(
                inv.read_text(encoding="utf-8-sig"), inv.name
            )
            try:
                parse_scenario(doc, source=f"{inv.name} (inventory): ")
            except ScenarioError as e:
                raise ScenarioError(inventory_line_problems(e.problems, lines)) from None
            return doc
        return s.to_document()
    from network.scenario import parse_scenario

    rec = store.latest_request(src.tenant or "", src.scenario or "")
    if rec is None:
        raise LookupError(f"no stored forecast {src.scenario!r} for tenant {src.tenant!r}")
    assert rec.request is not None
    stored: dict[str, Any] = rec.request["scenario"]  # a stored request's scenario, checked here
    parse_scenario(stored)
    return stored


NIGHT_MARGIN_S = 60.0
"""Seconds per scenario, beyond its time limit and the kill grace, before a night stops waiting
for a solve that does not come back (a Dask worker or scheduler that stopped answering)."""

_Item = tuple[float, dict[str, Any], dict[str, Any] | None]  # time limit, scenario, last plan
# A solve's outcome as it comes back from the executor: the plan, or the reason it failed.
_Solved = tuple[Literal["ok"], dict[str, Any]] | tuple[Literal["error"], str]


def _solve_one(shared: tuple[str, int, float, bool], item: _Item) -> _Solved:
    """One scenario's solve on the executor: ``("ok", plan)`` or ``("error", reason)``."""
    solver, seed, grace, in_process = shared
    limit, doc, prev_plan = item
    request: dict[str, Any] = {"scenario": doc, "time_limit_s": limit, "seed": seed}
    if prev_plan is not None:  # last night's plan: stability against it (format v1.1)
        request["previous_plan"] = prev_plan
    try:
        if in_process:  # a Dask worker: its processes may not start children
            from api.worker import resolve

            return ("ok", resolve(solver)(request, time_limit_s=limit, seed=seed))
        from api.worker import run_isolated

        plan = run_isolated(solver, request, time_limit_s=limit, seed=seed, timeout_s=limit + grace)
        return ("ok", plan)
    except Exception as e:
        problems = getattr(e, "problems", None)
        return (
            "error",
            "; ".join(map(str, problems)) if problems else (str(e) or type(e).__name__),
        )


def _write_files(folder: Path, files: dict[str, str]) -> None:
    """Write ``name -> text`` into ``folder`` (created), each under a temporary name first and
    renamed when every one is whole; on failure the temporaries are removed."""
    folder.mkdir(parents=True, exist_ok=True)
    tmps = {name: folder / f".{name}.part" for name in files}
    try:
        for name, text in files.items():
            tmps[name].write_text(text, encoding="utf-8")
        for name, tmp in tmps.items():
            tmp.replace(folder / name)
    finally:
        for tmp in tmps.values():
            tmp.unlink(missing_ok=True)


def run_nightly(
    cfg: NightlyConfig,
    *,
    store: JobStore,
    solver: str,
    run_date: dt.date,
    out_dir: Path | None = None,
    kill_grace_s: float = 30.0,
) -> list[ScenarioOutcome]:
    """Plan every scenario of ``cfg``, store the plans and write the diffs.

    A scenario that cannot be loaded or solved is stored as ``failed`` with the reason and does
    not stop the others.

    Returns
    -------
    list of ScenarioOutcome
        One per configured scenario, in order.
    """
    from optimizer.executor import make_executor

    root = Path(out_dir) if out_dir is not None else cfg.base / cfg.out_dir
    day_dir = root / run_date.isoformat()
    outcomes = []
    # documents are read here (the store is this process's); the solves fan out
    # a solve to run, or why the scenario could not be loaded (its input, or the database)
    loaded: list[_Item | str | _DbFailure] = []
    for src in cfg.scenario:
        limit = src.time_limit_s or cfg.time_limit_s
        try:
            # last night's plan: stability against it (format v1.1)
            last = store.previous_nightly(src.name, run_date)
        except SQLAlchemyError as e:
            loaded.append(_db_failure("read last night's plan", e))
            continue
        try:
            doc = _load_document(src, cfg, store)
            prev_plan = last.plan if last is not None and last.plan else None
            loaded.append((limit, doc, prev_plan))
        except Exception as e:
            problems = getattr(e, "problems", None)
            loaded.append(
                "; ".join(map(str, problems)) if problems else (str(e) or type(e).__name__)
            )
    runner = make_executor(cfg.dask, workers=cfg.workers)
    try:
        todo = [item for item in loaded if not isinstance(item, str | _DbFailure)]
        logger.info(
            "nightly %s: solving %d of %d scenario(s) on %s (%d worker(s))",
            run_date.isoformat(),
            len(todo),
            len(loaded),
            runner.kind,
            cfg.workers,
        )
        shared = (solver, cfg.seed, kill_grace_s, runner.kind == "dask")
        # a night ends even when a Dask worker or scheduler stops answering: the solves one
        # after the other, each to its limit and the kill grace, plus a margin per scenario
        deadline = time.perf_counter() + sum(
            item[0] + kill_grace_s + NIGHT_MARGIN_S for item in todo
        )
        # None: the task failed or was not done in time (the executor logged why)
        solved: Iterator[_Solved | None] = iter(
            runner.map(_solve_one, shared, todo, deadline=deadline)
        )
    finally:
        runner.close()
    for src, item in zip(cfg.scenario, loaded, strict=True):
        got: _Solved
        if isinstance(item, str):
            got = ("error", item)
            bad_input = True
        elif isinstance(item, _DbFailure):
            got, bad_input = ("error", item.reason), False
        else:
            bad_input = False
            got = next(solved) or (
                "error",
                (
                    "the executor returned no result for this scenario (it failed, or was not "
                    "done when the night's time was up: its limit and the kill grace per scenario)"
                ),
            )
        if got[0] != "ok":
            reason = got[1]
            # the caller reports it (once); the log has it for runs without one
            logger.info("nightly %s: %s", src.name, reason)
            outcomes.append(_failed(store, src.name, run_date, reason, bad_input=bad_input))
            continue
        plan = got[1]
        # the latest earlier plan (this date's own is never one)
        try:
            prev = store.previous_nightly(src.name, run_date)
        except SQLAlchemyError as e:
            reason = _db_failure("read the previous plan", e).reason
            outcomes.append(ScenarioOutcome(src.name, "failed", reason, None, None))
            continue
        diff = diff_plans(prev.plan if prev else None, plan)
        diff["run_date"] = run_date.isoformat()
        diff["previous_run_date"] = prev.run_date.isoformat() if prev else None
        d = day_dir / src.name
        files = {
            "plan.json": json.dumps(plan, indent=1),
            "diff.json": json.dumps(diff, indent=1),
            "diff.md": diff_markdown(src.name, run_date, prev.run_date if prev else None, diff),
        }
        try:
            _write_files(d, files)
        except OSError as e:
            # the report is written before the plan is stored: no plan stored as succeeded
            # without its report
            reason = f"cannot write the report in {str(d)!r}: {e.strerror or e}"
            outcomes.append(_failed(store, src.name, run_date, reason))
            continue
        stored = _save(store, scenario=src.name, run_date=run_date, status="succeeded", plan=plan)
        if stored is not None:
            # the report is written, the plan is not stored: the next night diffs against the
            # last stored one, so this counts as a failure (exit 1) and says so
            outcomes.append(
                ScenarioOutcome(
                    src.name, "failed", f"report written to {str(d)!r} but {stored}", None, None
                )
            )
            continue
        seconds = _num(plan.get("solve_seconds"))
        logger.info(
            "nightly %s: planned (%s, solved in %s s)",
            src.name,
            plan.get("status"),
            "?" if seconds is None else f"{seconds:.2f}",
        )
        outcomes.append(
            ScenarioOutcome(
                src.name,
                "succeeded",
                None,
                d,
                diff,
                plan_status=None if plan.get("status") is None else str(plan["status"]),
                seconds=seconds,
            )
        )
    return outcomes


@dataclasses.dataclass(frozen=True, slots=True)
class _DbFailure:
    """A scenario the database kept from planning (not its input)."""

    reason: str


def _db_failure(doing: str, e: SQLAlchemyError) -> _DbFailure:
    reason = first_line(e, limit=None)
    logger.warning("nightly: cannot %s: %s", doing, reason)
    return _DbFailure(f"cannot {doing}: database error: {reason}")


def _failed(
    store: JobStore, name: str, run_date: dt.date, reason: str, *, bad_input: bool = False
) -> ScenarioOutcome:
    """Store a scenario's failure and its outcome (saying so if even that was not stored)."""
    stored = _save(store, scenario=name, run_date=run_date, status="failed", error=reason)
    return ScenarioOutcome(
        name,
        "failed",
        reason if stored is None else f"{reason}; {stored}",
        None,
        None,
        bad_input=bad_input,
    )


def _save(
    store: JobStore,
    *,
    scenario: str,
    run_date: dt.date,
    status: str,
    plan: dict[str, Any] | None = None,
    error: str | None = None,
) -> str | None:
    """Store one night's outcome; None when stored, else why not (a database error must not
    lose the other scenarios' plans, solved already; a failed re-run keeps the plan stored
    earlier for the same date)."""
    try:
        stored = store.save_nightly(
            scenario=scenario, run_date=run_date, status=status, plan=plan, error=error
        )
    except SQLAlchemyError as e:
        return f"the outcome was not stored ({_db_failure('store the outcome', e).reason})"
    if not stored:
        return f"the plan stored earlier for {run_date.isoformat()} is kept"
    return None
