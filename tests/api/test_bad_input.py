"""Bad input through a TestClient: every case is a 4xx naming the offending item, never a 500.

Each test covers one class of bad input found by an audit of the HTTP API (risk jobs asked for
plan files, malformed or mistyped bodies, documents JSON cannot hold, form values out of range,
forecast rows with several problems).
"""

from __future__ import annotations

import copy
from typing import Any

import pytest

from api.artifacts import KINDS
from tests.api.conftest import auth, wait_for


def _succeeded(client, job_id: str) -> dict[str, Any]:
    def poll() -> dict[str, Any] | None:
        body = client.get(f"/v1/plans/{job_id}", headers=auth()).json()
        return body if body["status"] in ("succeeded", "failed", "cancelled") else None

    body = wait_for(poll, timeout=30)
    assert body["status"] == "succeeded", body["error"]
    return body  # type: ignore[no-any-return]


def _plan(client, scenario: dict[str, Any]) -> str:
    job = client.post("/v1/plans", json={"scenario": scenario}, headers=auth()).json()["id"]
    _succeeded(client, job)
    return job  # type: ignore[no-any-return]


@pytest.fixture
def risk_jobs(client, scenario) -> dict[str, str]:
    """A succeeded plan, a succeeded simulate job and a what-if job on it (the fake solver answers
    them with plan-shaped documents), and a job whose stored document is a simulation's."""
    plan = _plan(client, scenario)
    sim = client.post(f"/v1/plans/{plan}/simulate", json={"runs": 10}, headers=auth())
    assert sim.status_code == 202, sim.text
    shock = {"name": "wh", "changes": [{"warehouse": "WH-PEN", "closed": True}]}
    wi = client.post(f"/v1/plans/{plan}/whatif", json={"shock": shock}, headers=auth())
    assert wi.status_code == 202, wi.text
    sc = copy.deepcopy(scenario)
    sc["x_test"] = {"result": {"source_plan": plan, "runs": 3, "on_time_share": {"mean": 1}}}
    doc = client.post("/v1/plans", json={"scenario": sc}, headers=auth()).json()["id"]
    jobs = {"plan": plan, "simulate": sim.json()["id"], "what-if": wi.json()["id"], "doc": doc}
    for job in jobs.values():
        _succeeded(client, job)
    return jobs


def test_files_of_risk_jobs_are_404_naming_the_job_and_kind(client, risk_jobs) -> None:
    """A simulate or what-if job has no plan files: every kind is a 404 that says what the job
    is and names it and the kind (not a 500, not a header-only CSV); the console's file route
    says the same."""
    cases = [
        (risk_jobs["simulate"], "simulate"),
        (risk_jobs["what-if"], "what-if"),
        (risk_jobs["doc"], "simulate"),  # known only by its document (it names a source plan)
    ]
    for job, what in cases:
        for kind in KINDS:
            r = client.get(f"/v1/plans/{job}/{kind}", headers=auth())
            assert r.status_code == 404, (job, kind, r.text)
            msg = r.json()["detail"]
            assert f"{what} job" in msg and job in msg and kind in msg, msg
    assert client.get(f"/v1/plans/{risk_jobs['plan']}/stock.csv", headers=auth()).status_code == 200


def test_console_files_of_a_risk_job_are_404(client, risk_jobs) -> None:
    """The console's download route refuses a risk job's files the same way (an HTML 404)."""
    from tests.api.test_console import _sign_in

    _sign_in(client)
    r = client.get(f"/plans/{risk_jobs['doc']}/files/map.png")
    assert r.status_code == 404 and "simulate job" in r.text
    r = client.get(f"/plans/{risk_jobs['simulate']}/files/stock.csv")
    assert r.status_code == 404 and "simulate job" in r.text


def test_previous_plan_id_of_a_risk_job_is_422(client, scenario, risk_jobs) -> None:
    """previous_plan_id must name a plan job: a simulate or what-if job is a 422 naming the
    field and saying what the job is, before any job is queued."""
    for what in ("simulate", "what-if", "doc"):
        job = risk_jobs[what]
        r = client.post(
            "/v1/plans", json={"scenario": scenario, "previous_plan_id": job}, headers=auth()
        )
        assert r.status_code == 422, r.text
        (entry,) = r.json()["detail"]
        assert entry["field"] == "previous_plan_id" and job in entry["msg"]
        assert "not a plan" in entry["msg"]
    ok = client.post(
        "/v1/plans",
        json={"scenario": scenario, "previous_plan_id": risk_jobs["plan"]},
        headers=auth(),
    )
    assert ok.status_code == 202


@pytest.mark.parametrize(
    "kind",
    [
        "sim.json",  # a simulate job's document is its `result`, not a file
        "foo.csv",  # no such file
        "STOCK.csv",  # kinds are case-sensitive
    ],
)
def test_unknown_file_kind_is_404_listing_the_kinds(client, kind) -> None:
    """An unknown file name under a plan is a 404 that names it and lists the valid kinds."""
    r = client.get(f"/v1/plans/00000000-0000-0000-0000-000000000000/{kind}", headers=auth())
    assert r.status_code == 404
    msg = r.json()["detail"]
    assert repr(kind) in msg and all(k in msg for k in KINDS), msg


def test_get_of_a_post_only_subpath_stays_405(client) -> None:
    """``GET /v1/plans/{id}/simulate`` is still a 405 naming POST (the path exists)."""
    r = client.get("/v1/plans/00000000-0000-0000-0000-000000000000/simulate", headers=auth())
    assert r.status_code == 405 and "POST" in r.headers["Allow"]


_ZERO = "00000000-0000-0000-0000-000000000000"
_JSON_ROUTES = [
    "/v1/plans",
    "/v1/routes",
    f"/v1/plans/{_ZERO}/simulate",
    f"/v1/plans/{_ZERO}/whatif",
]


@pytest.mark.parametrize("url", _JSON_ROUTES)
@pytest.mark.parametrize(
    ("body", "where"),
    [
        (b'{"scenario": x}', "line 1 column 14"),  # not a value
        (b'{\n  "runs": 10,\n}', "line 3 column 1"),  # a trailing comma
    ],
)
def test_malformed_json_is_422_with_line_and_column(client, url, body, where) -> None:
    """A body that is not JSON is a 422 on ``body`` (DESIGN §8: bad input is a 422) naming the
    line and column, not a character offset; without a key it is a 401 first."""
    headers = {"Content-Type": "application/json"}
    r = client.post(url, content=body, headers={**auth(), **headers})
    assert r.status_code == 422, r.text
    (d,) = r.json()["detail"]
    assert d["field"] == "body" and d["loc"] == ["body"]
    assert d["msg"].startswith(f"invalid JSON at line {where.split()[1]} column ")
    assert where in d["msg"]
    r = client.post(url, content=body, headers=headers)
    assert r.status_code == 401 and r.json() == {"detail": "missing or invalid API key"}


@pytest.mark.parametrize("url", _JSON_ROUTES)
@pytest.mark.parametrize(
    "content_type",
    [
        "text/plain",  # a JSON text sent as plain text
        "application/x-www-form-urlencoded",  # form data
        None,  # no Content-Type header at all
    ],
)
def test_other_media_types_are_422_naming_json(client, url, content_type) -> None:
    """A body of another media type is a 422 on ``body`` naming application/json (not "Input
    should be a valid dictionary"), after the key is checked (401 without one)."""
    headers = {"Content-Type": content_type} if content_type else {}
    r = client.post(url, content=b'{"runs": 10}', headers={**auth(), **headers})
    assert r.status_code == 422, r.text
    (d,) = r.json()["detail"]
    assert d["field"] == "body" and "send the body as application/json" in d["msg"]
    r = client.post(url, content=b'{"runs": 10}', headers=headers)
    assert r.status_code == 401


def test_json_media_types_with_parameters_are_accepted(client, scenario) -> None:
    """``application/json; charset=utf-8`` is JSON (the 422 is for other media types)."""
    import json

    r = client.post(
        "/v1/plans",
        content=json.dumps({"scenario": scenario}).encode(),
        headers={**auth(), "Content-Type": "application/json; charset=utf-8"},
    )
    assert r.status_code == 202, r.text


@pytest.mark.parametrize("task", ["simulate", "whatif"])
@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("runs", "10"),  # a string is no integer
        ("seed", "3"),
        ("time_limit_s", "3"),  # a string is no number
        ("seed", True),  # a boolean is no integer
        ("seed", 2.5),  # a fraction is no integer
    ],
)
def test_risk_bodies_are_strict(client, scenario, task, field, value) -> None:
    """Simulate and what-if bodies have strict types, like POST /v1/plans: 422 naming the
    field, nothing queued."""
    plan = _plan(client, scenario)
    if task == "whatif" and field == "runs":
        pytest.skip("a what-if has no runs")
    body: dict[str, Any] = {field: value}
    if task == "whatif":
        body["shock"] = {"name": "wh", "changes": [{"warehouse": "WH-PEN", "closed": True}]}
    r = client.post(f"/v1/plans/{plan}/{task}", json=body, headers=auth())
    assert r.status_code == 422, r.text
    assert [d["field"] for d in r.json()["detail"]] == [field]
    assert client.get("/v1/plans", headers=auth()).json()["count"] == 1


@pytest.mark.parametrize("literal", ["NaN", "Infinity", "-Infinity"])
@pytest.mark.parametrize("url", _JSON_ROUTES)
def test_time_limit_nan_is_422_must_be_finite(client, scenario, url, literal) -> None:
    """time_limit_s NaN or Infinity (JSON literals Python reads) is a 422 saying it must be a
    finite number, not "less than or equal to 86400"."""
    r = client.post(
        url,
        content=f'{{"time_limit_s": {literal}}}'.encode(),
        headers={**auth(), "Content-Type": "application/json"},
    )
    assert r.status_code == 422, r.text  # the body is checked before the plan is looked up
    entries = [d for d in r.json()["detail"] if d["field"] == "time_limit_s"]
    assert entries and "finite number" in entries[0]["msg"], r.text


def test_forecast_time_limit_nan_is_422_must_be_finite(client, scenario) -> None:
    """``?time_limit_s=nan`` on a forecast is a 422 saying it must be a finite number."""
    net = copy.deepcopy(scenario)
    net.pop("demand")
    assert client.put("/v1/networks/tiny", json=net, headers=auth()).status_code == 201
    for value in ("nan", "inf"):
        r = client.post(
            f"/v1/networks/tiny/forecasts?time_limit_s={value}",
            content=b"sku,zone,units\nSKU-A,Z-KUL,1\n",
            headers={**auth(), "Content-Type": "text/csv"},
        )
        assert r.status_code == 422, r.text
        (entry,) = r.json()["detail"]
        assert entry["field"] == "query: time_limit_s" and "finite number" in entry["msg"]


def _network_yaml(scenario: dict[str, Any], extra: str) -> bytes:
    import yaml

    net = copy.deepcopy(scenario)
    net.pop("demand")
    return (yaml.safe_dump(net, sort_keys=False) + extra).encode()


@pytest.mark.parametrize(
    ("extra", "field", "words"),
    [
        ("x_meta:\n  when: 2024-01-01\n", "x_meta.when", "quote it ('2024-01-01')"),  # a date
        ("x_meta:\n  at: 2024-01-01T10:00:00Z\n", "x_meta.at", "YAML date"),  # a timestamp
        ("x_meta:\n  blob: !!binary aGVsbG8=\n", "x_meta.blob", "!!binary"),  # bytes
        ("x_meta:\n  tags: !!set {a: null}\n", "x_meta.tags", "!!set"),  # a set
        ("x_meta:\n  1: one\n", "x_meta.1", "a key must be a string"),  # an integer key
        ("x_meta:\n  NO: 0.1\n", "x_meta.False", "a key must be a string"),  # YAML 1.1's `NO`
        ("x_meta:\n  ratio: .nan\n", "x_meta.ratio", "not a JSON number"),  # NaN
        ("x_loop: &a [*a]\n", "x_loop[0]", "cycle"),  # a recursive alias
    ],
)
def test_yaml_values_json_cannot_hold_are_422_naming_the_path(
    client, scenario, extra, field, words
) -> None:
    """A YAML network holding a value JSON cannot hold (date, binary, set, a key that is no
    string, NaN, a cycle) is a 422 naming its path and saying how to write it, not a 500 at
    storage; nothing is stored. The console's upload lists the same problem."""
    from tests.api.test_console import _sign_in

    body = _network_yaml(scenario, extra)
    r = client.put(
        "/v1/networks/tiny", content=body, headers={**auth(), "Content-Type": "application/yaml"}
    )
    assert r.status_code == 422, r.text
    (entry,) = r.json()["detail"]
    assert entry["field"] == field and words in entry["msg"], entry
    assert client.get("/v1/networks/tiny", headers=auth()).status_code == 404

    tok = _sign_in(client)
    r = client.post(
        "/networks",
        data={"name": "tiny", "csrf": tok},
        files={"file": ("net.yaml", body, "application/yaml")},
        follow_redirects=False,
    )
    assert r.status_code == 422 and words.split("(")[0].replace("'", "&#39;") in r.text


@pytest.mark.parametrize(
    ("raw", "field"),
    [
        ('"x_meta": "\\ud800x"', "x_meta"),  # a lone high surrogate in a value
        ('"x_meta": ["ok", "\\udc00"]', "x_meta[1]"),  # a lone low surrogate in a list
        ('"x_meta": {"\\ud800": 1}', "x_meta.\\ud800"),  # in a key
        ('"x_meta": NaN', "x_meta"),  # Python's JSON reader accepts NaN
    ],
)
def test_json_values_json_cannot_answer_are_422_at_ingest(client, scenario, raw, field) -> None:
    """A JSON network with a lone surrogate (or NaN) under an unknown key is refused at ingest
    with a 422 naming the path, instead of being stored and failing every GET with a 500."""
    import json

    net = copy.deepcopy(scenario)
    net.pop("demand")
    body = json.dumps(net)[:-1] + ", " + raw + "}"
    r = client.put(
        "/v1/networks/tiny",
        content=body.encode(),
        headers={**auth(), "Content-Type": "application/json"},
    )
    assert r.status_code == 422, r.text
    (entry,) = r.json()["detail"]
    assert entry["field"] == field, entry
    assert client.get("/v1/networks/tiny", headers=auth()).status_code == 404


def test_scenario_with_a_lone_surrogate_is_422(client, scenario) -> None:
    """A plan's scenario with a lone surrogate is refused at submission, naming the path."""
    import json

    body = json.dumps({"scenario": {**scenario, "x_note": "SUR"}}).replace("SUR", "\\ud800")
    r = client.post(
        "/v1/plans", content=body.encode(), headers={**auth(), "Content-Type": "application/json"}
    )
    assert r.status_code == 422, r.text
    assert [d["field"] for d in r.json()["detail"]] == ["scenario.x_note"]


@pytest.mark.parametrize(
    ("body", "words"),
    [
        (b"hello", "is not of type"),  # a scalar
        (b"- a\n- b\n", "is not of type"),  # a list
    ],
)
def test_yaml_scalar_or_list_network_has_one_problem(client, body, words) -> None:
    """A YAML body that is no mapping gets only its type error, not also the spurious "a
    network has no `demand`" entry."""
    r = client.put(
        "/v1/networks/tiny", content=body, headers={**auth(), "Content-Type": "application/yaml"}
    )
    assert r.status_code == 422
    (entry,) = r.json()["detail"]
    assert entry["field"] == "body" and words in entry["msg"]


@pytest.fixture
def network(client, scenario) -> str:
    """The tiny network stored as ``tiny``, through the console (signed in)."""
    from tests.api.test_console import _sign_in, _upload_network

    _sign_in(client)
    _upload_network(client, scenario)
    return "tiny"


@pytest.mark.parametrize(
    "version",
    [
        "1000000000000000000000000000000",  # over the database's integer
        "2147483648",  # one over the largest version
        "0",  # versions start at 1
        "-1",
        "1.5",  # not a whole number
    ],
)
def test_console_forecast_version_out_of_range_is_422(client, network, version) -> None:
    """The console's forecast form refuses a version outside 1..2**31-1 on the page (422),
    naming the field, instead of a 500 (integer overflow) or a 404 (no such version)."""
    from tests.api.test_console import _forecast

    r = _forecast(client, network, version=version)
    assert r.status_code == 422, r.text[:300]
    assert "version: a whole number from 1 to 2147483647" in r.text
    assert client.get("/v1/plans", headers=auth()).json()["count"] == 0


def test_console_network_page_version_out_of_range_is_422(client, network) -> None:
    """The network page's ``?version=`` over the database's integer is a 422, not a 500."""
    r = client.get(f"/networks/{network}?version=1000000000000000000000000000000")
    assert r.status_code == 422


def test_forecast_csv_reports_row_and_reference_problems_at_once(client, network) -> None:
    """A forecast with a bad unit on one line and an unknown SKU on another gets both in one
    422 (the CSV's own problems first, then the loader's), not one per attempt."""
    body = "sku,zone,units\nSKU-A,Z-KUL,1\nSKU-Q,Z-KUL,1\nSKU-B,Z-XX,-1\n"
    r = client.post(
        f"/v1/networks/{network}/forecasts",
        content=body.encode(),
        headers={**auth(), "Content-Type": "text/csv"},
    )
    assert r.status_code == 422
    fields = [d["field"] for d in r.json()["detail"]]
    assert fields[0] == "line 4.units"
    assert any(f.startswith("line 3") for f in fields), r.json()
    assert "SKU-Q" in r.text


def test_field_errors_keep_their_path_and_an_unread_body_names_the_media_type(
    client, scenario
) -> None:
    """The same body with a bad field: sent as JSON, the 422 names the field (DESIGN §8);
    without a Content-Type the body is not read at all, and the 422 on ``body`` says so."""
    import json

    body = json.dumps({"scenario": scenario, "time_limit_s": 99999}).encode()
    r = client.post(
        "/v1/plans", content=body, headers={**auth(), "Content-Type": "application/json"}
    )
    assert r.status_code == 422, r.text
    assert [d["loc"] for d in r.json()["detail"]] == [["body", "time_limit_s"]]
    r = client.post("/v1/plans", content=body, headers=auth())
    assert r.status_code == 422, r.text
    (d,) = r.json()["detail"]
    assert d["loc"] == ["body"] and "got no Content-Type" in d["msg"]


def test_scenario_problems_have_a_loc_path_of_keys_and_indices(client, scenario) -> None:
    """A format rule broken inside a posted scenario or network is a 422 whose ``loc`` is the
    field path as FastAPI gives it for schema errors (keys and list indices: DESIGN §8), with
    the CLI's words, the item's id included, in ``field``. ``loc`` held those words as one
    string (``["body", "scenario", "lanes[0] (id 'SZX-PKG-sea').to"]``), and a network's
    split them at the dots (``["body", "lanes[0] (id 'SZX-PKG-sea')", "to"]``)."""
    bad = copy.deepcopy(scenario)
    bad["lanes"][0]["to"] = "NOPE"
    bad["demand"].append(dict(bad["demand"][0]))
    r = client.post("/v1/plans", json={"scenario": bad}, headers=auth())
    assert r.status_code == 422, r.text
    lane, dup = r.json()["detail"]
    assert lane["loc"] == ["body", "scenario", "lanes", 0, "to"]
    assert lane["field"] == "scenario.lanes[0] (id 'SZX-PKG-sea').to"
    assert lane["msg"] == "unknown node 'NOPE'"
    assert dup["loc"] == ["body", "scenario", "demand", 5]
    network = {k: v for k, v in bad.items() if k != "demand"}
    r = client.put("/v1/networks/tiny", json=network, headers=auth())
    assert r.status_code == 422, r.text
    (d,) = r.json()["detail"]
    assert d["loc"] == ["body", "lanes", 0, "to"]
    assert d["field"] == "lanes[0] (id 'SZX-PKG-sea').to"
