"""Small deterministic solve functions for the job-machinery tests (``TRADELANE_SOLVER``).

``fake_plan`` reads an optional ``x_test`` object from the scenario (unknown fields are kept by
the format): ``{"sleep_s": 3}`` sleeps first, ``{"fail": "why"}`` raises ``ValueError(why)``,
``{"crash": 3}`` exits the process with that code, ``{"record": {"dir": D, "token": T}}``
appends a ``start <pid> <time>`` line to the file ``D/T`` when the solve starts and an
``end <pid> <time>`` line when it returns (the multi-server tests count runs with it),
``{"phases": ["a", {"phase": "b", "best": 2.0, "bound": 1.0}], "phase_s": 0.3}`` reports those
progress phases (a text, or a text with its figures), one every ``phase_s`` seconds, before
answering; ``{"result": {...}}`` answers that document instead of a plan. The plan it returns
is a DESIGN §7-shaped dict computed from the scenario: every warehouse that is not ``closed``
is open, each SKU is stocked at the first open warehouse with its total demand (and each
demand row served from it), and ``objective`` is the total demand. ``x_test.stock_factor``
scales the stock (to make the nightly diff non-trivial).
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from typing import Any


def fake_plan(
    request: dict[str, Any],
    *,
    time_limit_s: float,
    seed: int = 0,
    progress: Callable[..., None] | None = None,
) -> dict[str, Any]:
    """A plan-shaped answer after the behaviour ``x_test`` asks for."""
    sc = request["scenario"]
    t = sc.get("x_test") or {}
    record = t.get("record")
    if record:
        _record(record, "start")
    for phase in t.get("phases", []):  # report progress, then wait a little
        if progress is not None and isinstance(phase, dict):
            progress(str(phase["phase"]), best=phase.get("best"), bound=phase.get("bound"))
        elif progress is not None:
            progress(str(phase))
        time.sleep(float(t.get("phase_s", 0.3)))
    if t.get("sleep_s"):
        time.sleep(float(t["sleep_s"]))
    if t.get("fail"):
        raise ValueError(str(t["fail"]))
    if t.get("crash") is not None:
        os._exit(int(t["crash"]))
    if t.get("result") is not None:  # answer this document instead of a plan
        return dict(t["result"])
    factor = float(t.get("stock_factor", 1.0))
    if record:
        _record(record, "end")
    closed = set(t.get("closed", []))
    whs = [
        n["id"]
        for n in sc["nodes"]
        if n["kind"] == "warehouse" and n.get("status") != "closed" and n["id"] not in closed
    ]
    demand: dict[str, float] = {}
    for row in sc.get("demand", []):
        demand[row["sku"]] = demand.get(row["sku"], 0.0) + float(row["units"])
    total = sum(demand.values())
    return {
        "scenario": sc["name"],
        "status": "optimal",
        "objective": total * factor,
        "bound": total * factor,
        "gap": 0.0,
        "solve_seconds": 0.01,
        "seed": seed,
        "cost": {"fixed": 0.0, "inbound": total * factor},
        "service": {
            "on_time_share": 0.9 if factor > 1 else 0.95,
            "units_on_time": total,
            "units_late": 0,
            "units_lost": 0,
        },
        "warehouses": [
            {"id": w, "open": True, "storage_used_m3": 0.0, "throughput_used_per_day": 0.0}
            for w in whs
        ],
        "stock": [
            {"sku": k, "warehouse": whs[0], "units": round(u * factor)} for k, u in demand.items()
        ]
        if whs
        else [],
        "fulfilment": [
            {
                "sku": r["sku"],
                "zone": r["zone"],
                "source": whs[0],
                "lanes": [],
                "units": float(r["units"]),
                "hours": 24.0,
                "on_time": True,
            }
            for r in sc.get("demand", [])
        ]
        if whs
        else [],
    }


def _record(record: dict[str, str], what: str) -> None:
    """Append one line to the run record (``O_APPEND``: lines of concurrent runs never mix)."""
    line = f"{what} {os.getpid()} {time.time():.6f}\n".encode()
    fd = os.open(
        os.path.join(record["dir"], record["token"]), os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644
    )
    try:
        os.write(fd, line)
    finally:
        os.close(fd)


def read_runs(path: str | os.PathLike[str]) -> list[tuple[str, int, float]]:
    """The ``(what, pid, time)`` lines of one run record (empty if the job never started)."""
    try:
        with open(path) as fh:
            return [(w, int(pid), float(t)) for w, pid, t in (ln.split() for ln in fh)]
    except FileNotFoundError:
        return []


def unavailable(request: dict[str, Any], *, time_limit_s: float, seed: int = 0) -> dict[str, Any]:
    """A router whose model is missing from the installation."""
    from api.worker import SolverUnavailableError

    raise SolverUnavailableError("the routing model is not available: test")


def rejects(request: dict[str, Any], *, time_limit_s: float, seed: int = 0) -> dict[str, Any]:
    """A router that refuses its input (as ``RoutingError``, a ``ValueError``, does)."""
    raise ValueError(f"client {request['orders'][0]['id']!r}: not understood")


def slow_router(request: dict[str, Any], *, time_limit_s: float, seed: int = 0) -> dict[str, Any]:
    """A router that overruns any sensible limit."""
    time.sleep(60)
    return {}


def explodes(request: dict[str, Any], *, time_limit_s: float, seed: int = 0) -> dict[str, Any]:
    """A router with a bug."""
    raise RuntimeError("secret internals")
