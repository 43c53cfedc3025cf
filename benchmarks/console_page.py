"""Page weight and load time of the console's plan page, and screenshots, on a real plan.

Starts ``tradelane serve`` on loopback (temporary SQLite, the real planner), stores the
scenario's network, plans its ``demand.csv`` and a second forecast (every row's units × 1.1),
then opens the plan page in Debian's Chromium (Playwright, fresh context each run so nothing is
cached) and measures, over ``--runs`` loads: the bytes the page transferred (HTML, CSS, JS,
outlines, GeoJSON, table rows) and the time from navigation to the map drawn and both tables
filled. Saves ``OUT/<name>-plan.png``, ``OUT/<name>-plan-phone.png`` and ``OUT/<name>-compare.png``.

Usage::

    python benchmarks/console_page.py datasets/sea-72h --time-limit 60 --runs 5 --out out/console
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

from benchmarks import load

ROOT = Path(__file__).resolve().parents[1]
KEY = "bench-key-0123456789"
CHROMIUM = os.environ.get("TRADELANE_CHROMIUM", "/usr/bin/chromium")
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def auth() -> dict[str, str]:
    return {"Authorization": f"Bearer {KEY}"}


class Server(load.Server):
    """``tradelane serve`` (:class:`benchmarks.load.Server`) with the real planner, this
    benchmark's key and limits large enough for a sea-72h forecast."""

    def __init__(self, db_url: str, log: Path) -> None:
        super().__init__(db_url, log, solver="api.worker:plan_job", max_attempts=3)
        self.env.update(
            {
                "TRADELANE_API_KEYS": f"bench:{KEY}",
                "TRADELANE_MAX_BODY_BYTES": "50000000",
                "TRADELANE_MAX_TIME_LIMIT_S": "3600",
            }
        )

    def start(self, timeout: float = 60) -> float:
        try:
            return super().start(timeout)
        except RuntimeError as e:
            raise SystemExit(f"server did not start ({e}): {self.log.read_text()[-2000:]}") from e


def _plan(srv: Server, name: str, body: bytes, limit: float) -> str:
    r = httpx.post(
        f"{srv.url}/v1/networks/{name}/forecasts",
        content=body,
        params={"time_limit_s": limit},
        headers={**auth(), "Content-Type": "text/csv"},
        timeout=120,
    )
    r.raise_for_status()
    job = str(r.json()["id"])
    end = time.monotonic() + 10 * limit + 120
    while time.monotonic() < end:
        st = httpx.get(f"{srv.url}/v1/plans/{job}", headers=auth(), timeout=60).json()
        if st["status"] in ("succeeded", "failed", "cancelled"):
            if st["status"] != "succeeded":
                raise SystemExit(f"plan {job} {st['status']}: {st['error']}")
            return job
        time.sleep(1)
    raise SystemExit(f"plan {job} did not finish")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("scenario", help="a dataset folder with network.json and demand.csv")
    ap.add_argument("--time-limit", type=float, default=60.0)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--out", default="out/console")
    args = ap.parse_args(argv)
    folder = Path(args.scenario)
    name = folder.name
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix="tradelane-console-"))
    srv = Server(f"sqlite:///{tmp / 'c.db'}", tmp / "server.log")
    srv.start()
    try:
        net = json.loads((folder / "network.json").read_text())
        net.pop("demand", None)
        r = httpx.put(f"{srv.url}/v1/networks/{name}", json=net, headers=auth(), timeout=120)
        r.raise_for_status()
        demand = (folder / "demand.csv").read_bytes()
        t0 = time.monotonic()
        job_a = _plan(srv, name, demand, args.time_limit)
        print(f"plan A {job_a}: {time.monotonic() - t0:.0f} s")
        rows = list(csv.DictReader(io.StringIO(demand.decode())))
        buf = io.StringIO()
        w = csv.writer(buf, lineterminator="\n")
        w.writerow(["sku", "zone", "units"])
        for row in rows:
            w.writerow([row["sku"], row["zone"], round(float(row["units"]) * 1.1, 3)])
        job_b = _plan(srv, name, buf.getvalue().encode(), args.time_limit)
        print(f"plan B {job_b} (units x 1.1)")
        from playwright.sync_api import sync_playwright

        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
            weights, times = [], []
            for i in range(args.runs):
                ctx = browser.new_context(viewport={"width": 1280, "height": 800})
                page = ctx.new_page()
                page.goto(f"{srv.url}/login")
                page.get_by_label("API key of your organisation").fill(KEY)
                page.get_by_role("button", name="Sign in").click()
                page.wait_for_url(f"{srv.url}/plans")
                sizes: list[int] = []

                def count(rq: Any, sizes: list[int] = sizes) -> None:
                    sz = rq.sizes()
                    sizes.append(sz["responseBodySize"] + sz["responseHeadersSize"])

                page.on("requestfinished", count)
                t = time.perf_counter()
                page.goto(f"{srv.url}/plans/{job_a}")
                page.wait_for_selector("#map[data-features]", timeout=120_000)
                page.wait_for_selector("#stock[data-rows]", timeout=120_000)
                page.wait_for_selector("#fulfilment[data-rows]", timeout=120_000)
                times.append(time.perf_counter() - t)
                page.wait_for_load_state("networkidle")
                weights.append(sum(sizes))
                if i == 0:
                    page.screenshot(path=str(out / f"{name}-plan.png"), full_page=True)
                    page.screenshot(path=str(out / f"{name}-plan-viewport.png"))
                    feats = page.get_attribute("#map", "data-features")
                    nrows = (
                        page.get_attribute("#stock", "data-rows"),
                        page.get_attribute("#fulfilment", "data-rows"),
                    )
                    page.set_viewport_size({"width": 390, "height": 844})
                    page.screenshot(path=str(out / f"{name}-plan-phone.png"))
                    page.goto(f"{srv.url}/compare?a={job_a}&b={job_b}")
                    page.set_viewport_size({"width": 1280, "height": 800})
                    page.screenshot(path=str(out / f"{name}-compare.png"), full_page=True)
                ctx.close()
            browser.close()
    finally:
        srv.stop()
    print(f"map features {feats}, stock rows {nrows[0]}, fulfilment rows {nrows[1]}")
    print(
        f"plan page weight: median {statistics.median(weights) / 1e6:.2f} MB over {args.runs} "
        f"cold loads (min {min(weights) / 1e6:.2f}, max {max(weights) / 1e6:.2f})"
    )
    print(
        f"plan page load to map + tables: median {statistics.median(times):.2f} s "
        f"(min {min(times):.2f}, max {max(times):.2f}) on loopback, shared machine"
    )
    print(f"screenshots in {out}/")
    return 0


if __name__ == "__main__":
    sys.exit(main())
