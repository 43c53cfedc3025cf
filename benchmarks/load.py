"""Load and durability benchmark of the planner service (loopback only, bounded).

Starts ``tradelane serve`` on 127.0.0.1 with a temporary SQLite database, keeps its worker
busy with real plan jobs (the allocation model on ``tests/data/tiny-my.json``), and measures:

1. latency (p50/p99) of ``GET /v1/plans/{id}`` and ``POST /v1/plans`` at a few request rates,
   sent open-loop (requests leave on schedule whether or not earlier ones have answered);
2. durability: repeated ``kill -9`` of the whole server process group while jobs are queued
   and solving, each followed by a restart; at the end every job that was ever answered 202
   must exist and be finished (succeeded, or failed with a reason). Lost = vanished or stuck.

Usage::

    python benchmarks/load.py                       # rates 5,20,50 req/s, 10 s each, 5 kills
    python benchmarks/load.py --rates 10,40 --seconds 5 --kills 3 --json out/load.json

Figures depend on the machine; quote medians of several runs and say whether it was shared.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import random
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[1]
TENANT, KEY = "bench", "bench-key-0123456789"
HEADERS = {"Authorization": f"Bearer {KEY}"}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def serve_argv(port: int) -> list[str]:
    """The command of a ``tradelane serve`` on loopback at ``port`` (this interpreter)."""
    return [
        sys.executable,
        "-m",
        "api.cli",
        "serve",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--log-level",
        "warning",
    ]


class Server:
    """``python -m api.cli serve`` in its own process group on loopback."""

    def __init__(self, db_url: str, log: Path, solver: str, max_attempts: int):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = log
        self.env = {
            **os.environ,
            "PYTHONPATH": str(ROOT),
            "TRADELANE_DATABASE_URL": db_url,
            "TRADELANE_API_KEYS": f"{TENANT}:{KEY}",
            "TRADELANE_SOLVER": solver,
            "TRADELANE_RATE_PER_S": "100000",
            "TRADELANE_RATE_BURST": "100000",
            "TRADELANE_MAX_ATTEMPTS": str(max_attempts),
            "TRADELANE_WORKERS": "1",
        }
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 90) -> float:
        t0 = time.monotonic()
        with open(self.log, "ab") as fh:
            self.proc = subprocess.Popen(
                serve_argv(self.port),
                cwd=ROOT,
                env=self.env,
                stdout=fh,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        while time.monotonic() - t0 < timeout:
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited: see {self.log}")
            try:
                if httpx.get(f"{self.url}/healthz", timeout=1).status_code == 200:
                    return time.monotonic() - t0
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        raise RuntimeError(f"server not up within {timeout} s")

    def kill9(self) -> None:
        assert self.proc is not None
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait(timeout=10)

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.terminate()
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.proc.wait(timeout=20)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait(timeout=10)


def pct(xs: list[float], q: float) -> float:
    """The q-quantile (0..1) of xs, in the same unit; nan if empty."""
    if not xs:
        return float("nan")
    s = sorted(xs)
    return s[min(len(s) - 1, max(0, round(q * (len(s) - 1))))]


def measure(
    server: Server,
    scenario: dict[str, Any],
    rate: float,
    seconds: float,
    job_ids: list[str],
    time_limit: float,
) -> dict[str, Any]:
    """Open-loop load at ``rate`` req/s for ``seconds``: alternate GET and POST."""
    n = int(rate * seconds)
    lat: dict[str, list[float]] = {"GET": [], "POST": []}
    codes: dict[str, dict[int, int]] = {"GET": {}, "POST": {}}
    client = httpx.Client(
        base_url=server.url, headers=HEADERS, timeout=30, limits=httpx.Limits(max_connections=64)
    )

    def one(i: int) -> None:
        method = "POST" if i % 2 else "GET"
        t = time.perf_counter()
        try:
            if method == "GET":
                r = client.get(f"/v1/plans/{random.choice(job_ids)}")
            else:
                r = client.post(
                    "/v1/plans", json={"scenario": scenario, "time_limit_s": time_limit}
                )
            code = r.status_code
        except httpx.HTTPError:
            code = -1
        lat[method].append((time.perf_counter() - t) * 1000)
        codes[method][code] = codes[method].get(code, 0) + 1

    busy = []
    start = time.perf_counter()
    with ThreadPoolExecutor(max_workers=32) as pool:
        futs = []
        for i in range(n):
            delay = start + i / rate - time.perf_counter()
            if delay > 0:
                time.sleep(delay)
            futs.append(pool.submit(one, i))
            if i % max(1, int(rate)) == 0:
                with contextlib.suppress(httpx.HTTPError):
                    busy.append(httpx.get(f"{server.url}/healthz", timeout=5).json()["busy"])
        for f in futs:
            f.result()
    client.close()
    return {
        "rate": rate,
        "seconds": seconds,
        "requests": n,
        "achieved_rate": n / (time.perf_counter() - start),
        "solving_share": sum(1 for b in busy if b) / max(1, len(busy)),
        **{f"{m.lower()}_p50_ms": pct(lat[m], 0.5) for m in lat},
        **{f"{m.lower()}_p99_ms": pct(lat[m], 0.99) for m in lat},
        "codes": {m: {str(k): v for k, v in c.items()} for m, c in codes.items()},
    }


def cancel_all(server: Server) -> None:
    """Cancel every queued or running job (so the next phase starts idle)."""
    with httpx.Client(base_url=server.url, headers=HEADERS, timeout=30) as c:
        for status in ("queued", "running"):
            while True:
                page = c.get("/v1/plans", params={"status": status, "limit": 200}).json()
                if not page["data"]:
                    break
                for j in page["data"]:
                    c.delete(f"/v1/plans/{j['id']}")


def durability(
    server: Server, scenario: dict[str, Any], kills: int, time_limit: float, drain_s: float
) -> dict[str, Any]:
    """Kill -9 the server ``kills`` times while submitting and solving; count lost jobs."""
    accepted: list[str] = []
    restarts: list[float] = []
    rng = random.Random(0)
    for _ in range(kills):
        with httpx.Client(base_url=server.url, headers=HEADERS, timeout=10) as c:
            deadline = time.monotonic() + rng.uniform(1.0, 3.0)
            while time.monotonic() < deadline:  # submit right up to the kill
                r = c.post("/v1/plans", json={"scenario": scenario, "time_limit_s": time_limit})
                if r.status_code == 202:
                    accepted.append(r.json()["id"])
                time.sleep(0.2)
        server.kill9()
        restarts.append(server.start())
    # drain: every accepted job must reach a final state
    final: dict[str, dict[str, Any]] = {}
    end = time.monotonic() + drain_s
    with httpx.Client(base_url=server.url, headers=HEADERS, timeout=10) as c:
        while time.monotonic() < end and len(final) < len(accepted):
            for i in accepted:
                if i in final:
                    continue
                r = c.get(f"/v1/plans/{i}")
                if r.status_code == 404:
                    final[i] = {"status": "vanished"}
                elif r.json()["status"] in ("succeeded", "failed", "cancelled"):
                    final[i] = r.json()
            time.sleep(0.5)
        for i in accepted:
            if i not in final:
                r = c.get(f"/v1/plans/{i}")
                final[i] = r.json() if r.status_code == 200 else {"status": "vanished"}
    status = [f["status"] for f in final.values()]
    lost = sum(s in ("vanished", "queued", "running") for s in status)
    failed_without_reason = sum(
        1 for f in final.values() if f["status"] == "failed" and not f.get("error")
    )
    return {
        "kills": kills,
        "accepted": len(accepted),
        "lost": lost,
        "succeeded": status.count("succeeded"),
        "failed": status.count("failed"),
        "failed_without_reason": failed_without_reason,
        "max_attempts_seen": max((f.get("attempts", 0) for f in final.values()), default=0),
        "restart_seconds_median": statistics.median(restarts) if restarts else None,
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rates", default="5,20,50", help="request rates, req/s (default 5,20,50)")
    ap.add_argument("--seconds", type=float, default=10.0, help="seconds per rate (default 10)")
    ap.add_argument("--kills", type=int, default=5, help="kill -9 restarts (default 5)")
    ap.add_argument("--time-limit", type=float, default=10.0, help="solver limit per job, s")
    ap.add_argument("--scenario", default=str(ROOT / "tests/data/tiny-my.json"))
    ap.add_argument(
        "--solver",
        default="api.worker:plan_job",
        help="TRADELANE_SOLVER of the server (default: the allocation model)",
    )
    ap.add_argument("--drain", type=float, default=300.0, help="max seconds to wait at the end")
    ap.add_argument("--json", metavar="FILE", help="also write the figures as JSON")
    args = ap.parse_args(argv)
    rates = [float(r) for r in args.rates.split(",") if r.strip()]
    if (
        not rates
        or any(r <= 0 or r > 500 for r in rates)
        or not 0 < args.seconds <= 120
        or not 0 <= args.kills <= 50
    ):
        print("error: rates in (0, 500], --seconds in (0, 120], --kills in 0..50", file=sys.stderr)
        return 2
    scenario = json.loads(Path(args.scenario).read_text())
    tmp = Path(tempfile.mkdtemp(prefix="tradelane-load-"))
    db = f"sqlite:///{tmp / 'load.db'}"
    server = Server(db, tmp / "server.log", args.solver, max_attempts=args.kills + 2)
    out: dict[str, Any] = {
        "machine": {"cpus": os.cpu_count(), "load_avg_1m": os.getloadavg()[0]},
        "solver": args.solver,
        "scenario": scenario.get("name"),
    }
    try:
        out["startup_seconds"] = server.start()
        with httpx.Client(base_url=server.url, headers=HEADERS, timeout=30) as c:
            seed_jobs = [
                c.post(
                    "/v1/plans", json={"scenario": scenario, "time_limit_s": args.time_limit}
                ).json()["id"]
                for _ in range(4)
            ]
        t0 = time.monotonic()  # warm-up: measure only once a solve is under way
        while time.monotonic() - t0 < 120:
            if httpx.get(f"{server.url}/healthz", timeout=5).json()["busy"]:
                break
            time.sleep(0.1)
        out["latency"] = []
        for rate in rates:
            res = measure(server, scenario, rate, args.seconds, seed_jobs, args.time_limit)
            out["latency"].append(res)
            print(
                f"rate {rate:6.1f} req/s ({res['requests']} req, solving "
                f"{res['solving_share']:.0%} of the time): "
                f"GET p50 {res['get_p50_ms']:.1f} ms p99 {res['get_p99_ms']:.1f} ms | "
                f"POST p50 {res['post_p50_ms']:.1f} ms p99 {res['post_p99_ms']:.1f} ms | "
                f"codes {res['codes']}",
                flush=True,
            )
        cancel_all(server)
        if args.kills:
            d = durability(server, scenario, args.kills, min(args.time_limit, 5.0), args.drain)
            out["durability"] = d
            print(
                f"kill -9 x{d['kills']}: {d['accepted']} jobs accepted, {d['lost']} lost, "
                f"{d['succeeded']} succeeded, {d['failed']} failed "
                f"({d['failed_without_reason']} without a reason), max attempts "
                f"{d['max_attempts_seen']}, restart {d['restart_seconds_median']:.1f} s median",
                flush=True,
            )
    finally:
        server.stop()
    out["machine"]["load_avg_1m_end"] = os.getloadavg()[0]
    m = out["machine"]
    print(
        f"machine: {m['cpus']} CPUs, load average {m['load_avg_1m']:.1f}"
        f" at start, {out['machine']['load_avg_1m_end']:.1f} at end (shared machine)"
    )
    if args.json:
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).write_text(json.dumps(out, indent=1))
    return 1 if out.get("durability", {}).get("lost") else 0


if __name__ == "__main__":
    sys.exit(main())
