"""The console's pages through a TestClient: sign-in cookie, CSRF, tenants, escaping, uploads,
plan pages and the comparison (the browser tests in ``test_console_browser.py`` drive a real
Chromium through the same pages)."""

from __future__ import annotations

import copy
import re
from typing import Any

import pytest

from api.console import CSRF_COOKIE, KEY_COOKIE, compare_plans
from tests.api.conftest import KEYS, wait_for

CSV = "sku,zone,units\nSKU-A,Z-KUL,1800\nSKU-A,Z-JHB,700\nSKU-B,Z-PEN,400\n"


def _csrf(client) -> str:
    client.get("/login")
    return client.cookies[CSRF_COOKIE]


def _sign_in(client, tenant: str = "acme") -> str:
    tok = _csrf(client)
    r = client.post("/login", data={"key": KEYS[tenant], "csrf": tok}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/plans"
    return client.cookies[CSRF_COOKIE]


def _network_doc(scenario: dict[str, Any]) -> bytes:
    import json

    doc = copy.deepcopy(scenario)
    doc.pop("demand")
    return json.dumps(doc).encode()


def _upload_network(client, scenario, name: str = "tiny") -> None:
    tok = client.cookies[CSRF_COOKIE]
    r = client.post(
        "/networks",
        data={"name": name, "csrf": tok},
        files={"file": ("net.json", _network_doc(scenario), "application/json")},
        follow_redirects=False,
    )
    assert r.status_code == 303, r.text
    assert r.headers["location"] == f"/networks/{name}"


def _forecast(client, name: str = "tiny", csv: str = CSV, **extra: Any):
    tok = client.cookies[CSRF_COOKIE]
    return client.post(
        f"/networks/{name}/forecasts",
        data={"csrf": tok, **extra},
        files={"file": ("f.csv", csv.encode(), "text/csv")},
        follow_redirects=False,
    )


def _succeeded(client, job_id: str) -> None:
    wait_for(
        lambda: client.get(f"/plans/{job_id}/status.json").json()["status"] == "succeeded",
        timeout=30,
    )


def test_sign_in_keeps_the_key_in_an_httponly_strict_cookie(client) -> None:
    """A good key sets an HttpOnly, SameSite=Strict cookie and never appears in a page or URL;
    a bad key is refused with the form again; pages without the cookie redirect to sign-in."""
    assert client.get("/plans", follow_redirects=False).headers["location"] == "/login"
    tok = _csrf(client)
    bad = client.post("/login", data={"key": "wrong-key-000000", "csrf": tok})
    assert bad.status_code == 401 and "not valid" in bad.text
    r = client.post("/login", data={"key": KEYS["acme"], "csrf": tok}, follow_redirects=False)
    cookie = next(h for h in r.headers.get_list("set-cookie") if h.startswith(KEY_COOKIE))
    assert "httponly" in cookie.lower() and "samesite=strict" in cookie.lower()
    page = client.get("/plans")
    assert page.status_code == 200 and KEYS["acme"] not in page.text
    assert "script-src 'self'" in page.headers["content-security-policy"]
    tok = client.cookies[CSRF_COOKIE]
    out = client.post("/logout", data={"csrf": tok}, follow_redirects=False)
    assert out.status_code == 303 and out.headers["location"] == "/login"
    client.cookies.clear()
    assert client.get("/plans", follow_redirects=False).status_code == 303


@pytest.mark.parametrize(
    ("data", "headers"),
    [
        ({}, {}),  # no token
        ({"csrf": "forged"}, {}),  # wrong token
        ("ok", {"Origin": "https://evil.example"}),  # right token, other site
        ("ok", {"Sec-Fetch-Site": "cross-site"}),  # a browser says: cross-site
    ],
)
def test_forms_refuse_cross_site_posts(client, scenario, data, headers) -> None:
    """A form post without the CSRF token, with a wrong one or from another site is 403 and
    changes nothing."""
    tok = _sign_in(client)
    body = {"name": "x", "csrf": tok} if data == "ok" else {"name": "x", **data}
    r = client.post(
        "/networks",
        data=body,
        headers=headers,
        files={"file": ("n.json", _network_doc(scenario), "application/json")},
    )
    assert r.status_code == 403
    assert client.app.state.networks.get("acme", "x") is None


def test_upload_network_then_forecast_then_plan_page(client, scenario) -> None:
    """Upload a network, plan a CSV forecast, and the plan page shows KPIs, map hooks, table
    sources and downloads; the rows and files answer for the owner."""
    _sign_in(client)
    _upload_network(client, scenario)
    page = client.get("/networks/tiny")
    assert "version 1" in page.text and "2 warehouses" in page.text
    r = _forecast(client, time_limit_s="5")
    assert r.status_code == 303 and r.headers["location"].startswith("/plans/")
    job = r.headers["location"].rsplit("/", 1)[1]
    _succeeded(client, job)
    page = client.get(f"/plans/{job}").text
    assert 'id="map"' in page and f"/plans/{job}/files/plan.geojson" in page
    assert "2,900" in page  # the fake plan's cost: total demand
    # every marker the map draws is in its legend (unused warehouses and gateways were not)
    legend = page.split('class="legend"', 1)[1].split("</ul>", 1)[0]
    for what in ("warehouse (size = stock)", "warehouse not used", "zone", "origin", "gateway"):
        assert what in legend, what
    rows = client.get(f"/plans/{job}/rows/fulfilment.json").json()
    assert len(rows["rows"]) == 3 and rows["columns"][0] == "sku"
    gj = client.get(f"/plans/{job}/files/plan.geojson")
    assert gj.status_code == 200 and gj.headers["content-type"] == "application/geo+json"
    assert client.get("/outlines.geojson").json()["type"] == "FeatureCollection"
    assert "tiny" in client.get("/plans").text


def test_bad_forecast_csv_shows_the_line_inline(client, scenario) -> None:
    """A CSV with a bad row is not planned; the page lists the problem with its line number."""
    _sign_in(client)
    _upload_network(client, scenario)
    r = _forecast(client, csv="sku,zone,units\nSKU-A,Z-KUL,5\nSKU-A,Z-KUL,abc\n")
    assert r.status_code == 422
    assert re.search(r"line 3\W+units: not a number: &#39;abc&#39;", r.text), r.text
    assert client.app.state.store.list("acme")[1] == 0


def test_other_tenants_get_404(client, scenario) -> None:
    """Beta's session cannot see acme's network, plan, rows or files (404)."""
    _sign_in(client)
    _upload_network(client, scenario)
    job = _forecast(client).headers["location"].rsplit("/", 1)[1]
    _succeeded(client, job)
    client.cookies.clear()
    _sign_in(client, "beta")
    for url in (
        f"/plans/{job}",
        f"/plans/{job}/rows/stock.json",
        f"/plans/{job}/files/plan.geojson",
        f"/plans/{job}/status.json",
        "/networks/tiny",
        f"/compare?a={job}&b={job}",
    ):
        assert client.get(url).status_code == 404, url
    assert job not in client.get("/plans").text


def test_ids_with_markup_render_as_text(client, scenario) -> None:
    """A warehouse id like ``<script>…`` is escaped on the plan and compare pages."""
    bad = "<script>alert(1)</script>"
    sc = copy.deepcopy(scenario)
    for n in sc["nodes"]:
        if n["id"] == "WH-KUL":
            n["id"] = bad
    for lane in sc["lanes"]:
        for k in ("from", "to"):
            if lane[k] == "WH-KUL":
                lane[k] = bad
    _sign_in(client)
    _upload_network(client, sc, name="xss")
    job = _forecast(client, name="xss").headers["location"].rsplit("/", 1)[1]
    job2 = _forecast(client, name="xss", csv="sku,zone,units\nSKU-A,Z-KUL,5\n")
    job2 = job2.headers["location"].rsplit("/", 1)[1]
    _succeeded(client, job)
    _succeeded(client, job2)
    for url in (f"/plans/{job}", f"/compare?a={job}&b={job2}"):
        page = client.get(url).text
        assert bad not in page
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page, url


def test_upload_over_the_size_limit_is_413(client_factory, scenario) -> None:
    """The body size limit holds for console uploads too, answered with a console page (the
    JSON API's paths keep their JSON answer)."""
    c = client_factory(max_body_bytes=4096)
    _sign_in(c)
    r = _forecast(c, csv="sku,zone,units\n" + "SKU-A,Z-KUL,1\n" * 1000)
    assert r.status_code == 413
    assert r.headers["content-type"].startswith("text/html")
    assert "request body over 4096 bytes" in r.text and "<html" in r.text.lower()
    api = c.post("/v1/plans", content=b"x" * 5000, headers={"content-type": "application/json"})
    assert api.status_code == 413
    assert api.json() == {"detail": "request body over 4096 bytes"}


def test_a_risk_jobs_page_links_its_plan_and_compare_refuses_it(client, scenario) -> None:
    """A succeeded job whose document is a simulation's (it names its source plan) is shown as
    such, linking the plan, and is no plan to compare (404), not a server error."""
    from tests.api.conftest import auth

    _sign_in(client)
    plain = client.post("/v1/plans", json={"scenario": scenario}, headers=auth()).json()["id"]
    sc = copy.deepcopy(scenario)
    sc["x_test"] = {"result": {"source_plan": plain, "runs": 3, "on_time_share": {"mean": 1}}}
    risk = client.post("/v1/plans", json={"scenario": sc}, headers=auth()).json()["id"]
    _succeeded(client, plain)
    _succeeded(client, risk)
    page = client.get(f"/plans/{risk}")
    assert page.status_code == 200
    # the simulation's own figures, and the plan it was made from
    assert '<h2 id="riskh">Simulation</h2>' in page.text and "3 runs" in page.text
    assert f'Of plan <a href="/plans/{plain}">' in page.text
    assert client.get(f"/compare?a={plain}&b={risk}").status_code == 404
    assert client.get(f"/compare?a={plain}&b={plain}").status_code == 200
    assert "stopped at the time limit" not in page.text
    # a simulation its time limit stopped says how many of the runs asked it did
    sc["x_test"]["result"].update(runs=2000, runs_requested=10000, status="time_limit")
    cut = client.post("/v1/plans", json={"scenario": sc}, headers=auth()).json()["id"]
    _succeeded(client, cut)
    page = client.get(f"/plans/{cut}")
    assert "2,000 runs of the 10,000 asked (stopped at the time limit)" in page.text


def test_compare_plans_differences() -> None:
    """Deltas of cost and on-time share, stock moved (half the absolute change) and the
    warehouses opened and closed, on two hand-made plans."""
    a = {
        "objective": 100.0,
        "cost": {"fixed": 60.0, "outbound": 40.0},
        "service": {"on_time_share": 0.9, "by_country": {"MY": {"on_time_share": 0.9}}},
        "warehouses": [{"id": "W1", "open": True}, {"id": "W2", "open": False}],
        "stock": [{"sku": "A", "warehouse": "W1", "units": 10}],
    }
    b = {
        "objective": 90.0,
        "cost": {"fixed": 45.0, "outbound": 45.0},
        "service": {"on_time_share": 0.95, "by_country": {"MY": {"on_time_share": 0.95}}},
        "warehouses": [{"id": "W1", "open": False}, {"id": "W2", "open": True}],
        "stock": [{"sku": "A", "warehouse": "W2", "units": 10}],
    }
    d = compare_plans(a, b)
    assert d["objective"]["delta"] == -10.0
    assert d["on_time"]["delta"] == pytest.approx(0.05)
    assert d["stock_moved"] == 10.0 and d["stock_lines_changed"] == 2
    assert d["opened"] == ["W2"] and d["closed"] == ["W1"]
    assert [(c["term"], c["delta"]) for c in d["cost"]] == [("fixed", -15.0), ("outbound", 5.0)]
    assert d["countries"][0]["delta"] == pytest.approx(0.05)


def test_a_forecast_error_keeps_the_chosen_version_and_the_input(client, scenario) -> None:
    """After a bad forecast on version 1 of two, the page still shows version 1 (picker and
    heading), the pasted rows and the time limit typed; the fixed rows then plan version 1."""
    _sign_in(client)
    _upload_network(client, scenario)
    sc2 = copy.deepcopy(scenario)
    sc2["name"] = "tiny-2"
    _upload_network(client, sc2)
    assert "version 1" in client.get("/networks/tiny?version=1").text
    tok = client.cookies[CSRF_COOKIE]
    bad = "sku,zone,units\nSKU-A,Z-KUL,abc"
    r = client.post(
        "/networks/tiny/forecasts",
        data={"csrf": tok, "csv": bad, "version": "1", "time_limit_s": "7"},
        follow_redirects=False,
    )
    assert r.status_code == 422
    assert re.search(r'<option value="1" selected>', r.text), r.text
    assert "<small>version 1</small>" in r.text
    assert "SKU-A,Z-KUL,abc</textarea>" in r.text
    assert re.search(r'id="fc-limit"[^>]*value="7"', r.text)
    good = "sku,zone,units\nSKU-A,Z-KUL,5"
    r = client.post(
        "/networks/tiny/forecasts",
        data={"csrf": tok, "csv": good, "version": "1", "time_limit_s": "7"},
        follow_redirects=False,
    )
    assert r.status_code == 303
    job = r.headers["location"].rsplit("/", 1)[1]
    assert client.app.state.networks.sources("acme", [job])[job] == ("tiny", 1)


def test_a_forecast_for_a_version_that_does_not_exist_keeps_the_rows(client, scenario) -> None:
    """A forecast sent for version 5 of a network with one version (a stale page): the form
    again (422) with the typed rows and the error naming the version, not a 404 page that
    loses them; an unknown network is still 404."""
    _sign_in(client)
    _upload_network(client, scenario)
    tok = client.cookies[CSRF_COOKIE]
    rows = "sku,zone,units\nSKU-A,Z-KUL,5"
    r = client.post(
        "/networks/tiny/forecasts",
        data={"csrf": tok, "csv": rows, "version": "5", "time_limit_s": "7"},
        follow_redirects=False,
    )
    assert r.status_code == 422, r.text
    assert "has no version 5" in r.text
    assert "SKU-A,Z-KUL,5</textarea>" in r.text
    r = client.post(
        "/networks/nowhere/forecasts",
        data={"csrf": tok, "csv": rows, "version": "1"},
        follow_redirects=False,
    )
    assert r.status_code == 404


def test_an_uploaded_csv_with_errors_comes_back_as_text(client, scenario) -> None:
    """The rows of an uploaded file with errors are put in the text box to fix them there."""
    _sign_in(client)
    _upload_network(client, scenario)
    r = _forecast(client, csv="sku,zone,units\nSKU-A,Z-KUL,lots\n", time_limit_s="9")
    assert r.status_code == 422
    assert "SKU-A,Z-KUL,lots" in r.text.split('id="fc-text"', 1)[1].split("</textarea>")[0]
    assert re.search(r'id="fc-limit"[^>]*value="9"', r.text)


@pytest.mark.parametrize("limit", ["90000", "5000", "0", "abc"])
def test_time_limit_message_names_the_field_and_range(client_factory, scenario, limit) -> None:
    """The input's maximum is the server's; any value outside gives one message naming the
    field and the allowed range (not an internal field name)."""
    c = client_factory(max_time_limit_s=3600)
    _sign_in(c)
    _upload_network(c, scenario)
    assert re.search(r'id="fc-limit"[^>]*max="3600"', c.get("/networks/tiny").text)
    r = _forecast(c, time_limit_s=limit)
    assert r.status_code == 422
    errs = r.text.split('id="forecast-errors"', 1)[1].split("</div>", 1)[0]
    assert "Time limit: a number of seconds from 1 to 3,600" in errs
    assert "query." not in errs and errs.count("<li>") == 1


def test_unknown_network_version_lists_the_versions(client, scenario) -> None:
    """``?version=99`` says that version does not exist and names the versions there are."""
    _sign_in(client)
    _upload_network(client, scenario)
    r = client.get("/networks/tiny?version=99")
    assert r.status_code == 404
    assert "network &#39;tiny&#39; has no version 99 (versions: 1)" in r.text


def test_many_bad_rows_are_capped(client, scenario) -> None:
    """A CSV with thousands of bad rows lists the first 50 problems and how many more."""
    _sign_in(client)
    _upload_network(client, scenario)
    r = _forecast(client, csv="sku,zone,units\n" + "SKU-A,Z-KUL,x\n" * 2500)
    assert r.status_code == 422
    assert r.text.count("units: not a number") == 50
    assert re.search(r"… and [\d,]+ more problems not shown", r.text)


def _plan_with(client, scenario, **changes: Any) -> str:
    """A succeeded job whose plan is the fake solver's with ``changes`` applied."""
    from tests.api.conftest import auth

    first = client.post("/v1/plans", json={"scenario": scenario}, headers=auth()).json()["id"]
    _succeeded(client, first)
    doc = {**client.get(f"/v1/plans/{first}", headers=auth()).json()["plan"], **changes}
    sc = copy.deepcopy(scenario)
    sc["x_test"] = {"result": doc}
    job = client.post("/v1/plans", json={"scenario": sc}, headers=auth()).json()["id"]
    _succeeded(client, job)
    return str(job)


def test_a_fallback_plan_shows_its_status_and_what_it_breaks(client, scenario) -> None:
    """A plan stopped by the time limit whose evaluation is not feasible shows its own status
    (not only the job's "succeeded") and a warning listing the first violations and shortfalls
    with their counts; a cost term of 2.3e-11 is not listed as a 0 row."""
    _sign_in(client)
    violations = [f"warehouse WH-{i}: throughput at 230 % of capacity" for i in range(12)]
    job = _plan_with(
        client,
        scenario,
        status="time_limit",
        strategy="naive",
        evaluation={"feasible": False, "violations": violations, "shortfalls": ["MY: 80 %"]},
        diagnosis={"target": 0.9, "target_met": True, "zones_missing_promise": 0},
        cost={"fixed": 0.0, "inbound": 2900.0, "lost_sale_penalty": 2.3e-11},
    )
    page = client.get(f"/plans/{job}").text
    assert re.search(r'id="plan-solve-status"[^>]*>[^<]*time limit', page), page
    assert re.search(r"job[^<]*<span[^>]*id=\"plan-status\"[^>]*>succeeded", page)
    warn = page.split('id="plan-warning"', 1)[1].split("</section>", 1)[0]
    assert "breaks 12 rules" in warn and "WH-0: throughput at 230 %" in warn
    assert "WH-9:" in warn and "WH-10:" not in warn and "and 2 more" in warn
    assert "MY: 80 %" in warn and "naive" in page
    assert "lost_sale_penalty" not in page.split('id="costh"', 1)[1].split("</table>", 1)[0]
    ok = _plan_with(client, scenario, evaluation={"feasible": True})
    page = client.get(f"/plans/{ok}").text
    assert 'id="plan-warning"' not in page and "optimal" in page


def test_compare_lists_only_plans_with_labels_that_tell_them_apart(client, scenario) -> None:
    """Simulate and what-if jobs (newest) are not offered on /compare or the plan page's
    "Compare with"; the default choice compares two plans (not a 404); each entry shows its
    time, cost and short id."""
    from tests.api.conftest import auth

    _sign_in(client)
    _upload_network(client, scenario)
    a = _forecast(client).headers["location"].rsplit("/", 1)[1]
    b = _forecast(client, csv=CSV + "SKU-B,Z-KUL,100\n").headers["location"].rsplit("/", 1)[1]
    _succeeded(client, a)
    _succeeded(client, b)
    sc = copy.deepcopy(scenario)
    sc["x_test"] = {"result": {"source_plan": a, "runs": 3, "on_time_share": {"mean": 1}}}
    risk = client.post("/v1/plans", json={"scenario": sc}, headers=auth()).json()["id"]
    _succeeded(client, risk)
    page = client.get("/compare").text
    assert risk not in page
    options = re.findall(r'<option value="([^"]+)"[^>]*>([^<]*)</option>', page)
    assert [v for v, _ in options] == [b, a, b, a]
    assert "3,000" in options[0][1] and b[:8] in options[0][1]
    assert "2,900" in options[1][1] and a[:8] in options[1][1]
    chosen = re.findall(r'<option value="([^"]+)" selected>', page)
    assert chosen == [a, b]  # by default the newest plan (B) against the one before (A)
    assert client.get(f"/compare?a={a}&b={b}").status_code == 200
    page = client.get(f"/plans/{a}").text
    assert risk not in page.split('id="cmp-b"', 1)[1] and b in page.split('id="cmp-b"', 1)[1]


def test_signing_in_from_a_plan_link_returns_to_it(client) -> None:
    """A page asked for without a session goes to the sign-in form with ``next`` and back to
    that page after it; ``next`` outside the site is ignored; a page's data answers 401 (a
    script can tell), not a redirect."""
    job = "0b5a7f3e-1111-4222-8333-444455556666"
    r = client.get(f"/plans/{job}", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == f"/login?next=%2Fplans%2F{job}"
    data = client.get(f"/plans/{job}/status.json", follow_redirects=False)
    assert data.status_code == 401 and "sign in again" in data.json()["detail"]
    assert client.get("/plans.json", follow_redirects=False).status_code == 401
    assert f'name="next" value="/plans/{job}"' in client.get(f"/login?next=/plans/{job}").text
    tok = client.cookies[CSRF_COOKIE]
    for nxt, to in [
        (f"/plans/{job}", f"/plans/{job}"),
        ("//evil.example/x", "/plans"),
        ("https://evil.example/", "/plans"),
        ("/\\evil.example", "/plans"),
    ]:
        r = client.post(
            "/login", data={"key": KEYS["acme"], "csrf": tok, "next": nxt}, follow_redirects=False
        )
        assert r.headers["location"] == to, nxt
        tok = client.cookies[CSRF_COOKIE]


def test_running_job_reports_seconds_since_start(client, scenario) -> None:
    """status.json gives a running job's seconds since it started (the page ticks from it)."""
    from tests.api.conftest import auth

    _sign_in(client)
    sc = copy.deepcopy(scenario)
    sc["x_test"] = {"sleep_s": 2}
    job = client.post("/v1/plans", json={"scenario": sc}, headers=auth()).json()["id"]
    wait_for(lambda: client.get(f"/plans/{job}/status.json").json()["status"] == "running")
    first = client.get(f"/plans/{job}/status.json").json()["running_s"]
    wait_for(lambda: client.get(f"/plans/{job}/status.json").json()["running_s"] > first + 0.5)
    assert 'id="live"' in client.get(f"/plans/{job}").text
    _succeeded(client, job)
    assert client.get(f"/plans/{job}/status.json").json()["running_s"] is None


SIM = {
    "scenario": "tiny",
    "runs": 200,
    "seed": 0,
    "on_time_share": {"mean": 0.912, "ci95": [0.905, 0.919], "by_country": {}},
    "fill_rate": {"mean": 0.987, "ci95": [0.981, 0.993], "by_country": {}},
    "stockout_units": {"mean": 38.0, "p5": 0.0, "p50": 30.0, "p95": 110.0},
    "cost": {"mean": 3010.0, "p5": 2950.0, "p50": 3000.0, "p95": 3120.0, "plan": 2900.0},
    "plan_on_time_share": 0.95,
    "seconds": 1.2,
}


def _side(status: str, objective: float, share: float) -> dict[str, Any]:
    return {
        "status": status,
        "objective": objective,
        "service": {"on_time_share": share, "fill_rate": 1.0, "by_country": {}},
        "feasible": True,
    }


WHATIF = {
    "scenario": "tiny",
    "shock": {  # as optimizer.risk.shock.apply_shock reports them
        "matched": [
            {"change": 0, "warehouse": "WH-KUL", "lanes": []},
            {"change": 1, "lanes": ["SZX-PKG-sea"], "rate_cards": []},
            {"change": 2, "demand_rows": 3, "units_before": 3000.0},
        ],
        "closed_warehouses": ["WH-KUL"],
    },
    "base": _side("optimal", 2900.0, 0.95),
    "hold": {**_side("hold", 3400.0, 0.71), "rerouted_units": 120.0},
    "replan": _side("optimal", 3100.0, 0.93),
    "diff": {},
    "notes": ["WH-KUL closed"],
}


@pytest.mark.parametrize(
    ("doc", "shown"),
    [
        (SIM, ["91.2 %", "90.5 %", "91.9 %", "98.7 %", "110", "3,120", "200 runs"]),
        (
            WHATIF,
            [
                "2,900",
                "3,400",
                "3,100",
                "71.0 %",
                "93.0 %",
                # the shock's matches in words (the page showed the mappings' Python text)
                "shock on warehouse WH-KUL, lane SZX-PKG-sea, 3 demand row(s).",
            ],
        ),
    ],
)
def test_a_risk_jobs_page_shows_its_result(client, scenario, doc, shown) -> None:
    """A simulation's page shows its on-time share and fill rate with their intervals and the
    stockout and cost quantiles; a what-if's, the base, held and re-planned cost and on-time
    share; both offer the JSON document through the session (the API's URL needs a key)."""
    from tests.api.conftest import auth

    _sign_in(client)
    plain = client.post("/v1/plans", json={"scenario": scenario}, headers=auth()).json()["id"]
    sc = copy.deepcopy(scenario)
    sc["x_test"] = {"result": {**doc, "source_plan": plain}}
    risk = client.post("/v1/plans", json={"scenario": sc}, headers=auth()).json()["id"]
    _succeeded(client, risk)
    page = client.get(f"/plans/{risk}").text
    box = page.split('id="risk"', 1)[1].split("</section>", 1)[0]
    for text in shown:
        assert text in box, text
    assert "GET /v1/plans" not in page
    got = client.get(f"/plans/{risk}/result.json")
    assert got.status_code == 200 and got.json()["scenario"] == "tiny"
    assert "attachment" in got.headers["content-disposition"]
    assert client.get(f"/plans/{plain}/result.json").status_code == 404  # a plan has its files


def test_a_job_without_progress_says_so(client, scenario) -> None:
    """A finished job that never reported progress says "no progress reported", not "–"."""
    from tests.api.conftest import auth

    _sign_in(client)
    sc = copy.deepcopy(scenario)
    sc["x_test"] = {"fail": "boom"}
    job = client.post("/v1/plans", json={"scenario": sc}, headers=auth()).json()["id"]
    wait_for(lambda: client.get(f"/plans/{job}/status.json").json()["status"] == "failed")
    assert "no progress reported" in client.get(f"/plans/{job}").text


def test_long_names_wrap_and_screen_reader_text_takes_no_room(client, scenario) -> None:
    """A 100-character network name is in a heading that may wrap anywhere, and the
    screen-reader-only class has the clip and position rules that keep it out of the layout
    (the browser tests measure the page at phone width)."""
    _sign_in(client)
    long = "N" * 100
    _upload_network(client, scenario, name=long)
    assert f'<span class="id">{long}</span>' in client.get(f"/networks/{long}").text
    css = client.get("/static/console.css").text
    rules = dict(re.findall(r"(?m)^([^{}\n]+)\{([^}]*)\}", css))
    assert "overflow-wrap:anywhere" in rules["h1,h2,.id"]
    sr = rules[".sr"]
    for rule in ("position:absolute", "clip:rect(0 0 0 0)", "white-space:nowrap", "margin:-1px"):
        assert rule in sr, rule
    assert "position:relative" in rules["table.data"]


def test_a_scenario_with_demand_is_stored_as_network_and_forecast(client, scenario) -> None:
    """Uploading a whole scenario (with ``demand``) stores its network part and offers the
    demand as a forecast on the network's page, ready to plan; no API address is shown."""
    import json

    _sign_in(client)
    tok = client.cookies[CSRF_COOKIE]
    r = client.post(
        "/networks",
        data={"name": "whole", "csrf": tok},
        files={"file": ("sc.json", json.dumps(scenario).encode(), "application/json")},
    )
    assert r.status_code == 200, r.text
    stored = client.app.state.networks.get("acme", "whole")
    assert stored is not None and "demand" not in stored.document
    assert "/v1/" not in r.text and "5 demand rows" in r.text
    box = r.text.split('id="fc-text"', 1)[1].split("</textarea>", 1)[0]
    assert "sku,zone,units" in box and "SKU-A,Z-KUL,1800" in box
    text = box.split(">", 1)[1]
    r = client.post(
        "/networks/whole/forecasts", data={"csrf": tok, "csv": text}, follow_redirects=False
    )
    assert r.status_code == 303


def test_compare_does_not_subtract_costs_in_two_currencies(client, scenario) -> None:
    """Two plans in USD and EUR: the page says so and shows no cost delta (not EUR − USD), the
    cost table names each plan's currency; plans in one currency show it beside the delta, and
    the plan choices name the currency of their cost."""
    _sign_in(client)
    usd = _plan_with(client, scenario, currency="USD", objective=2900.0)
    eur = _plan_with(client, scenario, currency="EUR", objective=2500.0)
    d = compare_plans({"currency": "USD", "objective": 1.0}, {"currency": "EUR", "objective": 2.0})
    assert d["objective"]["delta"] is None and not d["currency"]["same"]
    page = client.get(f"/compare?a={usd}&b={eur}").text
    assert "Plan A is in USD and plan B in EUR" in page
    assert re.search(r'id="d-cost">–<', page), page
    cost = page.split('id="cmp-cost"', 1)[1].split("</table>", 1)[0]
    assert "A (USD)" in cost and "B (EUR)" in cost and "-400" not in cost
    assert "+0" not in cost and "–" in cost
    same = client.get(f"/compare?a={usd}&b={usd}").text
    assert 'id="currency-differs"' not in same
    assert re.search(r"total cost B − A USD</span><b id=\"d-cost\">\+0<", same), same
    assert "cost 2,900 USD" in same and "cost 2,500 EUR" in same


def test_the_diagnosis_names_zones_no_path_reaches(client, scenario) -> None:
    """A zone no path reaches is listed under the diagnosis (as in the report), its "fastest
    path" cell gives the diagnosis' note rather than "– h", and a list cut at 20 zones says
    it shows the zones with the most units late or lost."""
    _sign_in(client)
    far = {
        "zone": "Z-FAR",
        "units_late": 0.0,
        "units_lost": 100.0,
        "reason": "no path meets the promise",
        "fastest": {"source": None, "hours": None, "legs": [], "note": "no path reaches the zone"},
    }
    fastest = {"source": "WH-KUL", "hours": 80.4, "legs": []}
    near = [
        {
            "zone": f"Z-{i}",
            "units_late": 5.0,
            "units_lost": 0.0,
            "reason": "cost",
            "fastest": fastest,
        }
        for i in range(19)
    ]
    job = _plan_with(
        client,
        scenario,
        diagnosis={
            "target": 0.9,
            "target_met": False,
            "zones_missing_promise": 31,
            "misses": [far, *near],
            "binding_capacities": [],
            "unreachable_zones": ["Z-FAR"],
        },
    )
    diag = client.get(f"/plans/{job}").text.split('id="diagh"', 1)[1].split("</section>", 1)[0]
    assert re.search(r'id="unreachable">Zones no path reaches \(1\)[^<]*Z-FAR', diag), diag
    row = diag.split("<td>Z-FAR</td>", 1)[1].split("</tr>", 1)[0]
    assert "no path reaches the zone" in row and "– h" not in row
    assert "80.4 h from WH-KUL" in diag
    assert "The 20 zones with the most units late or lost" in diag


def test_an_on_time_target_is_shown_as_set(client, scenario) -> None:
    """A target of 87.5 % is shown as 87.5 % (it was rounded to "88 %", beside a plan at
    87.6 % on time that meets it); a whole target stays "90 %"."""
    _sign_in(client)
    service = {"on_time_share": 0.876, "units_on_time": 876, "units_late": 124, "units_lost": 0}
    job = _plan_with(
        client,
        scenario,
        service={**service, "target": 0.875},
        diagnosis={"target": 0.875, "target_met": True, "zones_missing_promise": 0},
    )
    page = client.get(f"/plans/{job}").text
    assert "Target on-time share 87.5 %" in page and "88 %" not in page
    assert re.search(r'id="kpi-target">87.5 %<', page), page
    job = _plan_with(client, scenario, service={**service, "target": 0.9})
    assert re.search(r'id="kpi-target">90 %<', client.get(f"/plans/{job}").text)


def test_an_on_time_share_below_its_target_never_reads_as_reaching_it(client, scenario) -> None:
    """0.9499 on time against a 95 % target marked missed: the share is "94.9 %" (it was
    "95.0 %", which reads as meeting the target), in the KPI and the by-country table."""
    _sign_in(client)
    service = {
        "on_time_share": 0.9499,
        "units_on_time": 9499,
        "units_late": 501,
        "units_lost": 0,
        "target": 0.95,
        "by_country": {"MY": {"on_time_share": 0.9499, "units_late": 501, "units_lost": 0}},
    }
    job = _plan_with(
        client,
        scenario,
        service=service,
        diagnosis={"target": 0.95, "target_met": False, "zones_missing_promise": 1},
    )
    page = client.get(f"/plans/{job}").text
    assert re.search(r'id="kpi-ontime">94.9 %<', page), page
    assert "95.0 %" not in page and '<td>MY</td><td class="n">94.9 %</td>' in page
    assert "missed" in page


@pytest.mark.parametrize(
    ("url", "said"),
    [
        ("/networks/tiny?version=abc", "query: version: Input should be a valid integer"),
        ("/networks/tiny?version=0", "query: version: Input should be greater than or equal to 1"),
    ],
)
def test_a_malformed_query_parameter_is_named(client, scenario, url, said) -> None:
    """A console page asked for with a bad query parameter says which one and why (it said
    only "the request was not understood")."""
    _sign_in(client)
    _upload_network(client, scenario)
    r = client.get(url)
    assert r.status_code == 422 and r.headers["content-type"].startswith("text/html")
    assert said in r.text, r.text


def test_a_too_long_next_still_shows_the_sign_in_form(client) -> None:
    """``/login?next=`` with a path over 2,000 characters shows the form without it (it was a
    422 page with no form)."""
    r = client.get("/login?next=/" + "a" * 2500)
    assert r.status_code == 200 and 'id="key"' in r.text and 'name="next"' not in r.text


def test_times_say_they_are_utc(client, scenario) -> None:
    """The console's times are UTC and say so (a planner in another time zone read them as
    local): the plans list, a plan page, the comparison and its choices, the network pages."""
    _sign_in(client)
    _upload_network(client, scenario)
    job = _forecast(client).headers["location"].rsplit("/", 1)[1]
    _succeeded(client, job)
    when = r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC"
    assert "Submitted (UTC)" in client.get("/plans").text
    assert re.search(rf"submitted {when}", client.get(f"/plans/{job}").text)
    page = client.get(f"/compare?a={job}&b={job}").text
    assert re.search(rf"\({when}\) → B", page) and re.search(rf"· {when} ·", page)
    assert "Updated (UTC)" in client.get("/networks").text
    assert "Stored (UTC)" in client.get("/networks/tiny").text


def test_the_plans_list_says_when_it_shows_only_the_newest(client_factory, scenario) -> None:
    """With more jobs than the list shows (100), the count says how many are shown."""
    from tests.api.conftest import auth

    c = client_factory(run_jobs=False)
    _sign_in(c)
    for _ in range(101):
        assert c.post("/v1/plans", json={"scenario": scenario}, headers=auth()).status_code == 202
    page = c.get("/plans").text
    assert "101 plan job(s), the newest 100 shown" in page
    assert page.count('<tr data-id="') == 100


def test_the_plan_page_says_what_the_forecast_held_that_planning_ignores(client, scenario) -> None:
    """A forecast CSV with a column the reader drops (``units_2027``): the upload redirects to
    the plan page, which used to say nothing of it (the API's 202 did); the page now lists it
    under "Planned without". A clean forecast's page has no such section."""
    _sign_in(client)
    _upload_network(client, scenario)
    r = _forecast(client, csv="sku,zone,units,units_2027\nSKU-A,Z-KUL,5,7\n")
    assert r.status_code == 303, r.text
    page = client.get(r.headers["location"]).text
    assert 'id="plan-ignored"' in page
    assert "column(s) &#39;units_2027&#39; ignored" in page, page
    clean = _forecast(client, csv="sku,zone,units\nSKU-A,Z-KUL,5\n")
    assert 'id="plan-ignored"' not in client.get(clean.headers["location"]).text
