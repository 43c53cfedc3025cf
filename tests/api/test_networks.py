"""``/v1/networks`` (stored, versioned networks), forecasts planned on them, the files of a plan
(``/v1/plans/{id}/<file>``), ``progress`` in ``GET /v1/plans/{id}``, strict types and ``Allow``."""

from __future__ import annotations

import copy
import csv
import io
import json
from typing import Any

import pytest
import yaml

from tests.api.conftest import auth, wait_for

CSV = "sku,zone,units\nSKU-A,Z-KUL,1800\nSKU-A,Z-JHB,700\nSKU-B,Z-PEN,400\n"


def _network(scenario: dict[str, Any]) -> dict[str, Any]:
    doc = copy.deepcopy(scenario)
    doc.pop("demand")
    return doc


def _put(client, name: str, doc: Any, tenant: str = "acme", **kw: Any):
    return client.put(f"/v1/networks/{name}", json=doc, headers=auth(tenant), **kw)


def _forecast(
    client, name: str, body: str, tenant: str = "acme", media: str = "text/csv", **params: Any
):
    return client.post(
        f"/v1/networks/{name}/forecasts",
        content=body.encode(),
        headers={**auth(tenant), "Content-Type": media},
        params=params,
    )


def _done(client, job_id: str, tenant: str = "acme") -> dict[str, Any]:
    def poll() -> dict[str, Any] | None:
        body = client.get(f"/v1/plans/{job_id}", headers=auth(tenant)).json()
        return body if body["status"] in ("succeeded", "failed", "cancelled") else None

    return wait_for(poll, timeout=30)


@pytest.fixture
def stored(client, scenario) -> dict[str, Any]:
    """The tiny network stored as ``tiny`` (version 1) for tenant acme."""
    r = _put(client, "tiny", _network(scenario))
    assert r.status_code == 201, r.text
    return _network(scenario)


def test_put_keeps_versions_and_get_returns_them(client, scenario) -> None:
    """PUT stores version 1, the same document again stores nothing (200), a changed one is
    version 2; GET gives the latest or a named version with its document; the list names it."""
    doc = _network(scenario)
    r1 = _put(client, "tiny", doc)
    assert r1.status_code == 201 and r1.json()["version"] == 1
    assert r1.json()["counts"]["warehouses"] == 2 and r1.json()["counts"]["skus"] == 2
    assert _put(client, "tiny", doc).status_code == 200
    doc2 = copy.deepcopy(doc)
    doc2["nodes"][2]["fixed_cost"] = 1.0
    r2 = _put(client, "tiny", doc2)
    assert r2.status_code == 201 and r2.json()["version"] == 2
    got = client.get("/v1/networks/tiny", headers=auth()).json()
    assert got["version"] == 2 and [v["version"] for v in got["versions"]] == [1, 2]
    assert got["document"]["nodes"][2]["fixed_cost"] == 1.0
    old = client.get("/v1/networks/tiny", params={"version": 1}, headers=auth()).json()
    assert old["document"] == doc
    listed = client.get("/v1/networks", headers=auth()).json()
    assert listed["count"] == 1 and listed["data"][0] == {
        "name": "tiny",
        "version": 2,
        "updated_at": listed["data"][0]["updated_at"],
    }


def test_put_accepts_yaml(client, scenario) -> None:
    """A network sent as YAML is stored like its JSON twin."""
    r = client.put(
        "/v1/networks/tiny-yaml",
        content=yaml.safe_dump(_network(scenario)).encode(),
        headers={**auth(), "Content-Type": "application/yaml"},
    )
    assert r.status_code == 201, r.text
    got = client.get("/v1/networks/tiny-yaml", headers=auth()).json()
    assert got["document"] == _network(scenario)


@pytest.mark.parametrize(
    ("change", "field"),
    [
        (lambda d: d["lanes"][0].__setitem__("to", "NOWHERE"), "lanes[0]"),  # dangling lane
        # a bool for a number: the loader names it as `tradelane validate` does
        (lambda d: d["nodes"][2].__setitem__("lat", True), "nodes[2] (id 'WH-KUL').lat"),
        (lambda d: d.__setitem__("demand", []), "body"),  # a network has no demand
    ],
)
def test_put_rejects_bad_networks_naming_the_item(client, scenario, change, field) -> None:
    """A network that breaks the format or the schema's strict types is 422 naming the item."""
    doc = _network(scenario)
    change(doc)
    r = _put(client, "bad", doc)
    assert r.status_code == 422, r.text
    assert any(
        field in d["field"].replace("[", ".").replace("]", "") or field in d["field"]
        for d in r.json()["detail"]
    ), r.json()
    assert client.get("/v1/networks/bad", headers=auth()).status_code == 404


def test_put_bad_media_and_bodies(client, scenario) -> None:
    """Another media type is 415; a body that is not JSON is 400; a bad name is 422."""
    r = client.put(
        "/v1/networks/tiny", content=b"a,b", headers={**auth(), "Content-Type": "text/csv"}
    )
    assert r.status_code == 415
    r = client.put(
        "/v1/networks/tiny",
        content=b"{nope",
        headers={**auth(), "Content-Type": "application/json"},
    )
    assert r.status_code == 400 and "line 1" in r.json()["detail"]
    assert _put(client, "-bad name", _network(scenario)).status_code == 422


def test_networks_are_per_tenant(client, stored) -> None:
    """Another tenant neither lists, reads nor plans on acme's network (404)."""
    assert client.get("/v1/networks", headers=auth("beta")).json()["count"] == 0
    assert client.get("/v1/networks/tiny", headers=auth("beta")).status_code == 404
    assert _forecast(client, "tiny", CSV, tenant="beta").status_code == 404


def test_forecast_csv_plans_on_the_stored_version(client, stored) -> None:
    """A CSV forecast is queued (202, Location), plans the network's demand and records the
    network version it used; the listing shows it too."""
    r = _forecast(client, "tiny", CSV, time_limit_s=5, seed=2)
    assert r.status_code == 202, r.text
    job = r.json()
    assert r.headers["Location"] == f"/v1/plans/{job['id']}"
    done = _done(client, job["id"])
    assert done["status"] == "succeeded"
    assert done["plan"]["objective"] == 1800 + 700 + 400 and done["seed"] == 2
    assert done["network"] == {"name": "tiny", "version": 1}
    listed = client.get("/v1/plans", headers=auth()).json()["data"]
    assert listed[0]["network"] == {"name": "tiny", "version": 1}


def test_a_forecast_with_a_limit_shorter_than_it_keeps_is_422(
    client, stored, monkeypatch: pytest.MonkeyPatch
) -> None:
    """As POST /v1/plans: a limit shorter than the SKU-block path's floor (forced onto this
    tiny network) is refused before the job is queued, naming the shortest; it was queued and
    failed in the worker."""
    from optimizer.plan import planning

    monkeypatch.setattr(planning, "BLOCK_MIN_SKUS", 1)
    monkeypatch.setattr(planning, "SHORTEST_S_PER_ROW", 1.0)
    shortest = planning.SHORTEST_FIXED_S + 3  # the three rows of CSV
    r = _forecast(client, "tiny", CSV, time_limit_s=shortest - 0.5)
    assert r.status_code == 422, r.text
    d = r.json()["detail"][0]
    assert d["field"] == "query: time_limit_s" and f"about {shortest:g} s" in d["msg"], d
    assert client.get("/v1/plans", headers=auth()).json()["count"] == 0
    assert _forecast(client, "tiny", CSV, time_limit_s=shortest).status_code == 202


def test_forecast_json_rows_and_version_choice(client, stored) -> None:
    """The JSON demand list works too, and ``version`` picks an older network."""
    doc2 = copy.deepcopy(stored)
    doc2["nodes"][2]["fixed_cost"] = 5.0
    assert _put(client, "tiny", doc2).json()["version"] == 2
    rows = [{"sku": "SKU-A", "zone": "Z-KUL", "units": 10}]
    r = client.post("/v1/networks/tiny/forecasts", json=rows, params={"version": 1}, headers=auth())
    assert r.status_code == 202, r.text
    done = _done(client, r.json()["id"])
    assert done["network"] == {"name": "tiny", "version": 1} and done["plan"]["objective"] == 10
    assert (
        client.post(
            "/v1/networks/tiny/forecasts", json=rows, params={"version": 9}, headers=auth()
        ).status_code
        == 404
    )


@pytest.mark.parametrize(
    ("body", "needle"),
    [
        ("sku,zone,units\nSKU-A,Z-KUL,12\nSKU-A,Z-JHB,abc\n", ("line 3", "units", "'abc'")),
        ("sku,zone,units\nSKU-A,Z-KUL,12\n\nSKU-X,Z-JHB,3\n", ("line 4", "sku", "SKU-X")),
        ("sku,zone,units\nSKU-A,Z-NOPE,1\n", ("line 2", "zone", "Z-NOPE")),
        ("sku,zone,units\nSKU-A,Z-KUL,-4\n", ("line 2", "units", "")),
        ("sku,zone,units\nSKU-A,Z-KUL\n", ("line 2", "", "")),  # short row
        ("sku,zone\nSKU-A,Z-KUL\n", ("line 1", "", "units")),  # missing column
    ],
)
def test_bad_csv_rows_are_422_naming_line_column_value(client, stored, body, needle) -> None:
    """Each bad CSV row is reported with its line number, the column and the offending value."""
    r = _forecast(client, "tiny", body)
    assert r.status_code == 422, r.text
    text = json.dumps(r.json())
    for part in needle:
        assert part in text, (part, r.json())
    assert client.get("/v1/plans", headers=auth()).json()["count"] == 0


def test_forecast_bad_json_rows_and_media(client, stored) -> None:
    """A JSON row with ``units: true`` is 422 (strict types); another media type is 415."""
    r = client.post(
        "/v1/networks/tiny/forecasts",
        json=[{"sku": "SKU-A", "zone": "Z-KUL", "units": True}],
        headers=auth(),
    )
    assert r.status_code == 422
    r = _forecast(client, "tiny", CSV, media="text/plain")
    assert r.status_code == 415


def test_a_json_forecast_that_is_not_a_list_is_422_without_echoing_it(client, stored) -> None:
    """A JSON object (a whole ``{"demand": [...]}``) is a 422 saying a list is expected and
    pointing at its ``demand`` list; the message repeated the whole body back."""
    rows = [{"sku": "SKU-A", "zone": f"Z-{i}", "units": i} for i in range(200)]
    r = client.post("/v1/networks/tiny/forecasts", json={"demand": rows}, headers=auth())
    assert r.status_code == 422, r.text
    (err,) = r.json()["detail"]
    assert err["loc"] == ["body"] and "got an object" in err["msg"] and "'demand'" in err["msg"]
    assert len(r.text) < 500, r.text
    r = client.post("/v1/networks/tiny/forecasts", json=3, headers=auth())
    assert r.status_code == 422 and "got a number" in r.json()["detail"][0]["msg"]


def test_forecast_over_the_size_limit_is_413(client_factory, scenario) -> None:
    """A forecast body over ``max_body_bytes`` is refused with 413 before it is parsed."""
    c = client_factory(max_body_bytes=4096)
    assert _put(c, "tiny", _network(scenario)).status_code == 201
    big = "sku,zone,units\n" + "SKU-A,Z-KUL,1\n" * 1000
    assert _forecast(c, "tiny", big).status_code == 413


def test_plan_files_media_types_and_contents(client, stored) -> None:
    """Every file of a succeeded plan comes with its media type; the CSVs have a header and the
    plan's rows; the GeoJSON has the network's nodes and the flows; the report is one page
    with no external reference."""
    job = _forecast(client, "tiny", CSV).json()["id"]
    plan = _done(client, job)["plan"]
    base = f"/v1/plans/{job}"
    r = client.get(f"{base}/plan.geojson", headers=auth())
    assert r.status_code == 200 and r.headers["content-type"] == "application/geo+json"
    gj = r.json()
    kinds = [f["geometry"]["type"] for f in gj["features"]]
    assert kinds.count("Point") == len(stored["nodes"]) and "LineString" in kinds
    r = client.get(f"{base}/map.png", headers=auth())
    assert r.status_code == 200 and r.headers["content-type"] == "image/png"
    assert r.content[:8] == b"\x89PNG\r\n\x1a\n"
    r = client.get(f"{base}/report.html", headers=auth())
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
    assert "data:image/png;base64," in r.text and "http://" not in r.text.replace(
        "http://www.w3.org/2000/svg", ""
    )
    assert "default-src 'none'" in r.headers["content-security-policy"]
    r = client.get(f"{base}/stock.csv", headers=auth())
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(r.text)))
    assert r.text.startswith("sku,warehouse,units")
    assert [(x["sku"], float(x["units"])) for x in rows] == [
        (s["sku"], float(s["units"])) for s in plan["stock"]
    ]
    r = client.get(f"{base}/fulfilment.csv", headers=auth())
    rows = list(csv.DictReader(io.StringIO(r.text)))
    assert len(rows) == len(plan["fulfilment"]) and rows[0]["zone"] == "Z-KUL"
    # served again from the database, byte for byte
    assert client.get(f"{base}/fulfilment.csv", headers=auth()).content == r.content
    for kind, header in (
        ("orders.csv", "sku,warehouse,units,lanes"),
        ("transfers.csv", "sku,from,to,lane,units,hours"),
    ):
        r = client.get(f"{base}/{kind}", headers=auth())
        assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
        assert r.text.splitlines()[0] == header
        assert len(r.text.splitlines()) == 1 + len(plan.get(kind.split(".")[0]) or [])
    assert client.app.state.networks.artifact(job, "map.png") is not None


def test_plan_file_is_read_once_per_request(client, stored) -> None:
    """A stored file is read from the database once per download (it was read twice: once to
    see whether it existed, once to serve it); the first download, which makes it, reads it
    only to find it missing (and again under the build lock); every download answers the same
    bytes and headers."""
    import sqlalchemy as sa

    job = _forecast(client, "tiny", CSV).json()["id"]
    _done(client, job)
    reads: list[str] = []

    def count(_conn, _cursor, statement, *_args) -> None:
        if "plan_artifacts" in statement and statement.lstrip().upper().startswith("SELECT"):
            reads.append(statement)

    engine = client.app.state.networks.engine
    sa.event.listen(engine, "before_cursor_execute", count)
    try:
        answers = []
        for n_reads in (2, 1, 1):
            reads.clear()
            r = client.get(f"/v1/plans/{job}/stock.csv", headers=auth())
            assert r.status_code == 200
            assert len(reads) == n_reads, reads
            answers.append((r.content, dict(r.headers)))
    finally:
        sa.event.remove(engine, "before_cursor_execute", count)
    assert answers[0] == answers[1] == answers[2]
    content, headers = answers[0]
    assert content.startswith(b"sku,warehouse,units")
    assert headers["content-type"] == "text/csv; charset=utf-8"
    assert headers["content-disposition"] == f'attachment; filename="tiny-{job[:8]}-stock.csv"'
    assert headers["x-content-type-options"] == "nosniff"


def test_plan_files_404_401_and_other_tenants(client, scenario, stored) -> None:
    """Files are 404 before success and for another tenant, 401 without a key."""
    slow = copy.deepcopy(scenario)
    slow["x_test"] = {"sleep_s": 5}
    job = client.post("/v1/plans", json={"scenario": slow}, headers=auth()).json()["id"]
    assert client.get(f"/v1/plans/{job}/plan.geojson", headers=auth()).status_code == 404
    done = _forecast(client, "tiny", CSV).json()["id"]
    _done(client, done)
    kinds = ("plan.geojson", "map.png", "report.html", "stock.csv", "fulfilment.csv")
    for kind in (*kinds, "orders.csv", "transfers.csv"):
        assert client.get(f"/v1/plans/{done}/{kind}", headers=auth("beta")).status_code == 404
        assert client.get(f"/v1/plans/{done}/{kind}").status_code == 401
    assert client.get("/v1/plans/not-a-uuid/map.png", headers=auth()).status_code == 404


def test_progress_is_reported_while_running(client, scenario) -> None:
    """A running solve's phases reach ``progress`` in GET /v1/plans/{id}, with the best objective
    and bound the phase passed as numbers (not read from its text: the second phase's text
    says other figures); the last report stays after success."""
    sc = copy.deepcopy(scenario)
    sc["x_test"] = {
        "phases": [
            "compiling the lane network",
            {"phase": "warehouse set 1: best 1,234.5, bound 1,000", "best": 1234.5, "bound": 1000},
            {"phase": "warehouse set 2: best 9, bound 9", "best": 1200, "bound": 1100},
        ],
        "phase_s": 0.6,
    }
    job = client.post("/v1/plans", json={"scenario": sc}, headers=auth()).json()["id"]

    def seen() -> dict[str, Any] | None:
        p = client.get(f"/v1/plans/{job}", headers=auth()).json()["progress"]
        return p if p and p["best_objective"] is not None else None

    p = wait_for(seen, timeout=20)
    assert p["phase"].startswith("warehouse set") and p["bound"] in (1000.0, 1100.0)
    assert p["elapsed_s"] >= 0
    done = _done(client, job)
    assert done["status"] == "succeeded"
    assert done["progress"]["best_objective"] == 1200.0 and done["progress"]["bound"] == 1100.0


@pytest.mark.parametrize(
    "body",
    [
        {"seed": False},  # a boolean is not an integer
        {"seed": "1"},  # nor is a string
        {"time_limit_s": True},  # a boolean is not a number
    ],
)
def test_strict_types_on_routes(client, body) -> None:
    """``POST /v1/routes`` refuses JSON values of the wrong type instead of coercing them."""
    req = {
        "depots": [{"id": "D", "lat": 3.1, "lon": 101.7}],
        "orders": [{"id": "o1", "lat": 3.2, "lon": 101.6, "demand_kg": 1}],
        "fleet": [{"id": "v", "depot": "D", "capacity_kg": 100}],
        **body,
    }
    r = client.post("/v1/routes", json=req, headers=auth())
    assert r.status_code == 422, r.text
    assert r.json()["detail"][0]["field"] == next(iter(body))


def test_scenario_with_a_boolean_number_is_422(client, scenario) -> None:
    """``POST /v1/plans`` refuses ``lat: true`` naming the item in the loader's words (what
    ``tradelane validate`` says), as the published Scenario schema's strict types would."""
    scenario["nodes"][0]["lat"] = True
    r = client.post("/v1/plans", json={"scenario": scenario}, headers=auth())
    assert r.status_code == 422, r.text
    assert r.json()["detail"][0]["field"] == "scenario.nodes[0] (id 'CN-SZX').lat"
    assert r.json()["detail"][0]["msg"] == "Input should be a valid number (got True)"


def test_405_allow_lists_every_method_of_the_path(client) -> None:
    """A wrong method gets 405 with ``Allow`` naming every method documented for the path."""
    r = client.put("/v1/plans/00000000-0000-0000-0000-000000000000", headers=auth())
    assert r.status_code == 405
    allowed = {m.strip() for m in r.headers["Allow"].split(",")}
    assert {"GET", "DELETE"} <= allowed
    r = client.delete("/v1/networks/tiny", headers=auth())
    assert r.status_code == 405 and {"GET", "PUT"} <= {
        m.strip() for m in r.headers["Allow"].split(",")
    }


def test_openapi_describes_the_documents(client) -> None:
    """The OpenAPI document publishes Scenario, Network and DemandRow and refers to them."""
    doc = client.get("/openapi.json").json()
    schemas = doc["components"]["schemas"]
    assert {"Scenario", "Network", "DemandRow", "Node", "Lane"} <= set(schemas)
    assert schemas["Node"]["properties"]["lat"]["maximum"] == 90
    plan_create = schemas["PlanCreate"]["properties"]["scenario"]
    assert plan_create["allOf"] == [{"$ref": "#/components/schemas/Scenario"}]
    body = doc["paths"]["/v1/networks/{name}/forecasts"]["post"]["requestBody"]["content"]
    assert set(body) == {"text/csv", "application/json"}


def test_unknown_query_parameters_are_422(client) -> None:
    """A query parameter the route does not document is refused, not silently ignored."""
    r = client.get("/v1/plans", params={"limt": 5}, headers=auth())
    assert r.status_code == 422 and r.json()["detail"][0]["field"] == "query: limt"
    assert client.get("/v1/plans", params={"limit": 5}, headers=auth()).status_code == 200


def test_orders_and_transfers_csv_hold_tonights_bookings() -> None:
    """orders.csv rounds units up and joins lanes; transfers.csv rounds units; both as the CLI
    writes them beside plan.json."""
    from api.artifacts import build

    plan = {
        "scenario": "s",
        "status": "optimal",
        "objective": 1.0,
        "bound": 1.0,
        "gap": 0.0,
        "solve_seconds": 1.0,
        "orders": [{"sku": "A", "warehouse": "W1", "lanes": ["L1", "L2"], "units": 12.2}],
        "transfers": [
            {"sku": "A", "from": "W1", "to": "W2", "lane": "T", "units": 7.6, "hours": 10.0}
        ],
    }
    orders = build("orders.csv", plan, None).decode().splitlines()
    transfers = build("transfers.csv", plan, None).decode().splitlines()
    assert orders == ["sku,warehouse,units,lanes", "A,W1,13,L1>L2"]
    assert transfers == ["sku,from,to,lane,units,hours", "A,W1,W2,T,8,10.0"]


def test_a_forecast_says_which_csv_columns_it_ignores(client, stored) -> None:
    """A forecast CSV's columns other than sku, zone and units are dropped by the reader (a
    ``units_2027`` column meant to count); the 202 now names them, as the CLI's log does."""
    r = _forecast(client, "tiny", "sku,zone,units,units_2027\nSKU-A,Z-KUL,5,7\n")
    assert r.status_code == 202, r.text
    assert r.json()["warnings"] == [
        "forecast.csv: column(s) 'units_2027' ignored: demand is read from sku, zone and units only"
    ]
    got = client.get(f"/v1/plans/{r.json()['id']}", headers=auth()).json()
    assert got["warnings"] == r.json()["warnings"]  # kept by the job
    assert _forecast(client, "tiny", "sku,zone,units\nSKU-A,Z-KUL,5\n").json()["warnings"] == []
    rows = [{"sku": "SKU-A", "zone": "Z-KUL", "units": 5, "units_2027": 7, "week": 3}]
    r = _forecast(client, "tiny", json.dumps(rows), media="application/json")
    assert r.status_code == 202, r.text
    assert r.json()["warnings"] == [
        (
            "body: demand rows' key(s) 'units_2027', 'week' ignored: demand is read from sku, zone "
            "and units only"
        )
    ]
