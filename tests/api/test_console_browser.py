"""The console in a real browser: Debian's Chromium driven by Playwright, against a real
``tradelane serve`` on loopback (the fast fake solver plans).

The flow of a planner: sign in, plan a forecast CSV on a stored network, watch the job finish,
read the plan (the map drew its features, the tables hold the plan's rows, sort and filter),
download the GeoJSON, compare two plans, sign out; a bad CSV shows its line number; another
tenant's plan URL is 404; an id with markup renders as text; the page works at phone width
and from the keyboard. Screenshots of each page go to ``out/console/`` (CI keeps them).

Chromium comes from the system (``/usr/bin/chromium``, installed by ``.ci/run``); Playwright is
pointed at it and never downloads a browser. Without Chromium the tests skip, except in CI
(``CI=true``), where they fail.
"""

from __future__ import annotations

import copy
import json
import os
import re
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import expect

from tests.api.conftest import KEYS, auth, wait_for
from tests.api.server import ROOT, Server, free_port

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
SHOTS = ROOT / "out" / "console"
CSV = "sku,zone,units\nSKU-A,Z-KUL,1800\nSKU-A,Z-JHB,700\nSKU-B,Z-PEN,400\n"
CSV2 = "sku,zone,units\nSKU-A,Z-KUL,900\nSKU-B,Z-JHB,700\nSKU-B,Z-PEN,400\n"
XSS = "<script>window.__xss=1</script>"


def _chromium_or_skip() -> str:
    if Path(CHROMIUM).exists():
        return CHROMIUM
    if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
        pytest.fail(f"CI: no Chromium at {CHROMIUM} (.ci/run installs Debian's chromium)")
    pytest.skip(f"no Chromium at {CHROMIUM}")


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """A real server with the fake solver, networks ``tiny`` and ``xss`` stored for acme."""
    _chromium_or_skip()
    tmp = tmp_path_factory.mktemp("console")
    srv = Server(f"sqlite:///{tmp / 'console.db'}", free_port(), tmp / "server.log")
    srv.start()
    base = json.loads((ROOT / "tests" / "data" / "tiny-my.json").read_text())
    doc = copy.deepcopy(base)
    doc.pop("demand")
    slow = {
        **doc,
        "x_test": {
            "phases": [
                "compiling the lane network",
                "warehouse set 1: best 2,950, bound 2,800",
                "warehouse set 2: best 2,900, bound 2,900",
            ],
            "phase_s": 0.7,
        },
    }
    r = httpx.put(f"{srv.url}/v1/networks/tiny", json=slow, headers=auth(), timeout=30)
    assert r.status_code == 201, r.text
    xss = copy.deepcopy(doc)
    for n in xss["nodes"]:
        if n["id"] == "WH-KUL":  # the fake solver stocks the first warehouse
            n["id"] = XSS
    for lane in xss["lanes"]:
        for k in ("from", "to"):
            if lane[k] == "WH-KUL":
                lane[k] = XSS
    assert (
        httpx.put(f"{srv.url}/v1/networks/xss", json=xss, headers=auth(), timeout=30).status_code
        == 201
    )
    try:
        yield srv
    finally:
        srv.stop()


@pytest.fixture(scope="module")
def browser(server: Server) -> Iterator[Any]:
    """Debian's Chromium under Playwright (no browser download)."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=_chromium_or_skip(), headless=True, args=ARGS)
        try:
            yield b
        finally:
            b.close()


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    """A fresh browser context (no cookies) at 1280x800."""
    ctx = browser.new_context(viewport={"width": 1280, "height": 800}, accept_downloads=True)
    pg = ctx.new_page()
    pg.set_default_timeout(30_000)
    try:
        yield pg
    finally:
        ctx.close()


def _shot(page: Any, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def _sign_in(page: Any, server: Server, tenant: str = "acme") -> None:
    page.goto(f"{server.url}/login")
    page.get_by_label("API key of your organisation").fill(KEYS[tenant])
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{server.url}/plans")


def _plan_forecast(
    page: Any, server: Server, csv_text: str, tmp_path: Path, network: str = "tiny"
) -> str:
    page.goto(f"{server.url}/networks/{network}")
    f = tmp_path / "forecast.csv"
    f.write_text(csv_text)
    page.get_by_label("Forecast CSV file").set_input_files(str(f))
    page.get_by_label("Time limit (seconds)").fill("5")
    page.get_by_role("button", name="Plan this forecast").click()
    page.wait_for_url(f"{server.url}/plans/*")
    return str(page.url.rsplit("/", 1)[1])


def _wait_succeeded(page: Any) -> None:
    # (no wait_for_function: the console's CSP forbids the eval it needs)
    expect(page.locator("#plan-status")).to_have_text("succeeded", timeout=40_000)
    page.locator("#map").wait_for(timeout=40_000)


def test_planner_flow(page: Any, server: Server, tmp_path: Path) -> None:
    """Sign in, plan a CSV forecast on a stored network and watch it finish, read the plan (map
    features, table rows equal to the plan's, sort, filter), download the GeoJSON, compare two
    plans, sign out."""
    _sign_in(page, server)
    _shot(page, "01-plans-empty")
    page.goto(f"{server.url}/networks")
    assert page.get_by_role("link", name="tiny").is_visible()
    _shot(page, "02-networks")
    job = _plan_forecast(page, server, CSV, tmp_path)
    expect(page.locator("#phase")).to_contain_text(
        re.compile("warehouse set|compiling"), timeout=20_000
    )
    _shot(page, "03-plan-running")
    _wait_succeeded(page)
    page.wait_for_selector("#map[data-features]")
    plan = httpx.get(f"{server.url}/v1/plans/{job}", headers=auth(), timeout=30).json()["plan"]
    n_nodes = 7
    assert int(page.get_attribute("#map", "data-points")) == n_nodes
    assert int(page.get_attribute("#map", "data-lines")) >= 1
    assert page.locator("#map path.leaflet-interactive").count() >= n_nodes
    assert page.locator("#map svg path").count() > 100  # country outlines drawn too
    page.wait_for_selector("#stock[data-rows]")
    page.wait_for_selector("#fulfilment[data-rows]")
    assert int(page.get_attribute("#stock", "data-rows")) == len(plan["stock"])
    assert int(page.get_attribute("#fulfilment", "data-rows")) == len(plan["fulfilment"])
    cells = page.locator("#stock-table tbody tr td:first-child").all_text_contents()
    assert sorted(cells) == sorted(s["sku"] for s in plan["stock"])
    page.get_by_label("Filter rows").nth(1).fill("Z-PEN")
    expect(page.locator("#fulfilment")).to_have_attribute("data-shown", "1")
    page.locator("#stock-table th button", has_text="units").click()
    assert page.get_attribute("#stock-table th:nth-child(3)", "aria-sort") == "descending"
    first = page.locator("#stock-table tbody tr:first-child td:nth-child(3)").text_content()
    assert first.replace(",", "") == str(max(int(s["units"]) for s in plan["stock"]))
    _shot(page, "04-plan")
    with page.expect_download() as dl:
        page.locator("#dl-plan-geojson").click()
    gj = json.loads(Path(dl.value.path()).read_text())
    assert gj["type"] == "FeatureCollection" and len(gj["features"]) >= n_nodes
    page.set_viewport_size({"width": 390, "height": 844})
    page.reload()
    page.wait_for_selector("#map[data-features]")
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 400, f"page is {width} px wide at phone width"
    _shot(page, "05-plan-phone")
    page.goto(f"{server.url}/plans")  # its table's screen-reader-only header stays inside
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 400, f"the plans page is {width} px wide at phone width"
    page.set_viewport_size({"width": 1280, "height": 800})
    # a second plan, then the comparison
    job2 = _plan_forecast(page, server, CSV2, tmp_path)
    _wait_succeeded(page)
    page.goto(f"{server.url}/compare?a={job}&b={job2}")
    assert page.locator("#d-cost").text_content().strip() == "-900"
    assert page.locator("#cmp-stock tbody tr").count() >= 1
    _shot(page, "06-compare")
    page.goto(f"{server.url}/plans")
    assert page.locator("#plans tbody tr").count() == 2
    _shot(page, "07-plans")
    page.get_by_role("button", name="Sign out").click()
    page.wait_for_url(f"{server.url}/login")
    assert page.context.cookies() == [] or all(
        c["name"] != "tradelane_key" for c in page.context.cookies()
    )


def test_bad_csv_shows_the_line_number(page: Any, server: Server, tmp_path: Path) -> None:
    """A forecast with a bad row is not planned; the page names its line, column and value."""
    _sign_in(page, server)
    page.goto(f"{server.url}/networks/tiny")
    f = tmp_path / "bad.csv"
    f.write_text("sku,zone,units\nSKU-A,Z-KUL,10\nSKU-A,Z-JHB,lots\n")
    page.get_by_label("Forecast CSV file").set_input_files(str(f))
    page.get_by_role("button", name="Plan this forecast").click()
    err = page.locator("#forecast-errors")
    err.wait_for()
    assert "line 3" in err.text_content() and "'lots'" in err.text_content()
    _shot(page, "08-forecast-error")


def test_other_tenants_plan_is_404(page: Any, server: Server) -> None:
    """Beta, signed in, gets 404 for acme's plan page."""
    r = httpx.post(
        f"{server.url}/v1/networks/tiny/forecasts",
        content=CSV.encode(),
        headers={**auth(), "Content-Type": "text/csv"},
        timeout=30,
    )
    job = r.json()["id"]
    _sign_in(page, server, "beta")
    resp = page.goto(f"{server.url}/plans/{job}")
    assert resp is not None and resp.status == 404
    _shot(page, "09-other-tenant-404")


def test_markup_in_ids_renders_as_text(page: Any, server: Server, tmp_path: Path) -> None:
    """A warehouse id ``<script>…`` shows as text in the tables and tooltips; it never runs."""
    _sign_in(page, server)
    _plan_forecast(page, server, CSV, tmp_path, network="xss")
    _wait_succeeded(page)
    page.wait_for_selector("#map[data-features]")
    page.wait_for_selector("#stock[data-rows]")
    assert page.evaluate("window.__xss") is None
    assert XSS in page.locator("#warehouses").text_content()
    assert XSS in page.locator("#stock-table").text_content()
    _shot(page, "10-xss-as-text")


def test_keyboard_reaches_the_controls(page: Any, server: Server) -> None:
    """From the top of a page, Tab reaches the skip link first, then the navigation; every
    form control on the network page has a label."""
    _sign_in(page, server)
    page.goto(f"{server.url}/networks/tiny")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent") == "Skip to content"
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent") == "tradelane"
    unlabelled = page.evaluate("""Array.from(document.querySelectorAll(
        'input:not([type=hidden]), select, textarea')).filter(e => !e.labels.length).length""")
    assert unlabelled == 0


def test_live_status_ticks_and_notices_an_ended_session(
    page: Any, server: Server, tmp_path: Path
) -> None:
    """While a plan runs, "elapsed" ticks every second and best / bound show; when the session
    ends the page says so with a sign-in link, which leads back to the plan."""
    doc = json.loads((ROOT / "tests" / "data" / "tiny-my.json").read_text())
    doc.pop("demand")
    doc["x_test"] = {
        "phases": [{"phase": "warehouse set 1", "best": 2950, "bound": 2800}, "polishing"],
        "phase_s": 3,
    }
    r = httpx.put(f"{server.url}/v1/networks/slow", json=doc, headers=auth(), timeout=30)
    assert r.status_code in (200, 201), r.text
    _sign_in(page, server)
    job = _plan_forecast(page, server, CSV, tmp_path, network="slow")
    expect(page.locator("#best")).to_have_text("2,950", timeout=20_000)
    expect(page.locator("#bound")).to_have_text("2,800")
    before = page.locator("#elapsed").text_content()
    page.wait_for_timeout(1_300)
    after = page.locator("#elapsed").text_content()
    assert re.fullmatch(r"\d+ s", after or "") and after != before, (before, after)
    page.context.clear_cookies()
    expect(page.locator("#signed-out")).to_be_visible(timeout=10_000)
    page.locator("#signed-out a").click()
    page.get_by_label("API key of your organisation").fill(KEYS["acme"])
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{server.url}/plans/{job}")
    _wait_succeeded(page)


def test_a_plan_that_fails_while_watched_shows_why(
    page: Any, server: Server, tmp_path: Path
) -> None:
    """A plan that fails while its page is open shows the job's error without a reload by hand
    (the page only turned its badge to "failed"), and no longer offers to cancel it."""
    doc = json.loads((ROOT / "tests" / "data" / "tiny-my.json").read_text())
    doc.pop("demand")
    doc["x_test"] = {"phases": ["warehouse set 1"], "phase_s": 2, "fail": "solver gave up"}
    r = httpx.put(f"{server.url}/v1/networks/failing", json=doc, headers=auth(), timeout=30)
    assert r.status_code in (200, 201), r.text
    _sign_in(page, server)
    _plan_forecast(page, server, CSV, tmp_path, network="failing")
    expect(page.locator("#phase")).to_have_text("warehouse set 1", timeout=20_000)
    expect(page.locator("#plan-status")).to_have_text("failed", timeout=20_000)
    expect(page.locator("#live")).to_contain_text("solver gave up", timeout=10_000)
    expect(page.get_by_role("button", name="Cancel this plan")).to_have_count(0)
    _shot(page, "11-plan-failed")


def test_chromium_is_present_in_ci() -> None:
    """In CI the browser tests must run: Chromium is installed there."""
    if os.environ.get("CI", "").lower() not in ("1", "true", "yes"):
        pytest.skip("only checked in CI")
    assert Path(CHROMIUM).exists() and shutil.which(CHROMIUM)


_ = wait_for  # (shared helpers)
