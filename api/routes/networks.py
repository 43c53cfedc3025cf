"""``/v1/networks``: a tenant's stored networks (versioned) and forecasts planned on them."""

from __future__ import annotations

import json
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Path, Query, Request, Response, status
from fastapi.exceptions import RequestValidationError

from api.convert import where_loc
from api.deps import TenantDep, invalid_json
from api.documents import check_document, check_json_values, check_plan_limit, parse_checked
from api.network_schemas import NetworkPublic, NetworksPublic, NetworkSummary, NetworkVersionPublic
from api.network_store import NetworkRecord
from api.schemas import ErrorResponse, PlanAccepted
from network.scenario import TOO_DEEP, Scenario
from optimizer.limits import MAX_SEED

router = APIRouter(prefix="/v1/networks", tags=["networks"])

NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$"
NetworkName = Annotated[
    str,
    Path(
        pattern=NAME_PATTERN,
        max_length=100,
        description="The network's name (letters, digits, `_.-`).",
    ),
]
CSV_NAME = "forecast.csv"
_JSON = ("application/json",)
_YAML = ("application/yaml", "application/x-yaml", "text/yaml")
_CSV = ("text/csv",)

_ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"model": ErrorResponse, "description": "malformed body (not UTF-8, JSON or YAML)"},
    401: {"model": ErrorResponse},
    413: {"model": ErrorResponse},
    415: {"model": ErrorResponse, "description": "unsupported Content-Type"},
    422: {
        "model": ErrorResponse,
        "description": "the document or rows break the format; one "
        "entry per problem, naming the item or line",
    },
    429: {"model": ErrorResponse},
}
_NOT_FOUND: dict[int | str, dict[str, Any]] = {
    404: {"model": ErrorResponse, "description": "no such network for this tenant"}
}

_NETWORK_BODY = {
    "required": True,
    "content": {
        "application/json": {"schema": {"$ref": "#/components/schemas/Network"}},
        "application/yaml": {
            "schema": {"type": "string", "description": "The same document in YAML."}
        },
    },
}
_FORECAST_BODY = {
    "required": True,
    "content": {
        "text/csv": {
            "schema": {
                "type": "string",
                "description": "`sku,zone,units` with a header line; `#` lines are comments.",
            },
            "example": "sku,zone,units\nSKU-1,Z-MY-KUL,100\n",
        },
        "application/json": {
            "schema": {
                "type": "array",
                "minItems": 1,
                "items": {"$ref": "#/components/schemas/DemandRow"},
            }
        },
    },
}


def _media(request: Request) -> str:
    return request.headers.get("content-type", "").split(";")[0].strip().lower()


async def _text(request: Request) -> str:
    try:
        return (await request.body()).decode("utf-8")
    except UnicodeDecodeError:
        raise HTTPException(status.HTTP_400_BAD_REQUEST, "body is not UTF-8") from None


def _decode_json(text: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError as e:
        raise invalid_json(e) from None
    except RecursionError:
        raise HTTPException(status.HTTP_400_BAD_REQUEST, f"invalid JSON: {TOO_DEEP}") from None


def _problems(exc: Any, *, csv: bool = False) -> RequestValidationError:
    """A ``ScenarioError`` as a 422 with one entry per problem (``field`` names the item/line)."""
    out = []
    for p in exc.problems:
        where = str(p.where)
        if csv and where.startswith(CSV_NAME):
            where = where[len(CSV_NAME) :].strip()  # "line 3.units"
        out.append(
            {
                "loc": ("body", *(where_loc(where) or where.split("."))) if where else ("body",),
                "type": "value",
                "msg": p.message,
                "field": where,
            }
        )
    return RequestValidationError(out)


def counts(doc: dict[str, Any]) -> dict[str, int]:
    """Sizes of a network document: nodes by kind, lanes, rate cards, SKUs."""
    out = dict.fromkeys(("origin", "gateway", "warehouse", "zone"), 0)
    for n in doc.get("nodes", []):
        if isinstance(n, dict) and n.get("kind") in out:
            out[str(n["kind"])] += 1
    out = {f"{k}s": v for k, v in out.items()}
    for k in ("lanes", "rate_cards", "skus"):
        out[k] = len(doc.get(k) or [])
    return out


def _public(rec: NetworkRecord, *, with_document: bool) -> NetworkPublic:
    return NetworkPublic(
        name=rec.name,
        version=rec.version,
        created_at=rec.created_at,
        counts=counts(rec.document),
        versions=[
            NetworkVersionPublic(version=v.version, created_at=v.created_at, sha256=v.document_hash)
            for v in rec.versions
        ],
        document=rec.document if with_document else None,
    )


def parse_network(doc: Any) -> dict[str, Any]:
    """Check a network document (schema, then format rules); returns it unchanged."""
    from network.scenario import ScenarioError

    check_json_values(doc, loc=("body",))  # a value JSON cannot hold is never stored
    if not isinstance(doc, dict):
        check_document(doc, "network", loc=("body",))
    try:  # the loader's words first (as the CLI says them), then the schema's strict types
        parse_checked({**doc, "demand": []}, "scenario", loc=("body",))
    except ScenarioError as e:
        raise _problems(e) from None
    check_document(doc, "network", loc=("body",))  # `demand` itself is refused here
    return doc  # type: ignore[no-any-return]


def store_network(request: Request, tenant: str, name: str, doc: Any) -> tuple[NetworkRecord, bool]:
    """Validate and store a network version (shared by the API and the console)."""
    return request.app.state.networks.put(tenant, name, parse_network(doc))  # type: ignore[no-any-return]


@router.put(
    "/{name}",
    response_model=NetworkPublic,
    operation_id="put_network",
    openapi_extra={"requestBody": _NETWORK_BODY},
    responses={
        **_ERRORS,
        201: {"model": NetworkPublic, "description": "a new version"},
        200: {"description": "the same document as the latest version: nothing stored"},
    },
)
async def put_network(
    name: NetworkName, request: Request, response: Response, tenant: TenantDep
) -> NetworkPublic:
    """Store a network (format v1 without `demand`, JSON or YAML) as its next version.

    Old versions are kept; a document equal to the latest version is not stored again (200).
    """
    media = _media(request)
    text = await _text(request)
    if media in _JSON or media == "":
        doc = _decode_json(text)
    elif media in _YAML:
        import yaml

        from network.scenario import load_yaml

        try:
            doc = load_yaml(text)
        except yaml.YAMLError as e:
            raise HTTPException(status.HTTP_400_BAD_REQUEST, f"invalid YAML: {e}"[:300]) from None
        except RecursionError:
            raise HTTPException(status.HTTP_400_BAD_REQUEST, f"invalid YAML: {TOO_DEEP}") from None
    else:
        raise HTTPException(
            status.HTTP_415_UNSUPPORTED_MEDIA_TYPE,
            "send the network as application/json or application/yaml",
        )
    from starlette.concurrency import run_in_threadpool

    rec, created = await run_in_threadpool(store_network, request, tenant, name, doc)
    response.status_code = status.HTTP_201_CREATED if created else status.HTTP_200_OK
    response.headers["Location"] = f"/v1/networks/{name}?version={rec.version}"
    return _public(rec, with_document=False)


@router.get(
    "",
    response_model=NetworksPublic,
    operation_id="list_networks",
    responses={k: v for k, v in _ERRORS.items() if k in (401, 422, 429)},
)
def list_networks(
    tenant: TenantDep,
    request: Request,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    offset: Annotated[int, Query(ge=0, le=2**31 - 1)] = 0,
) -> NetworksPublic:
    """The tenant's networks by name, each with its latest version."""
    rows, total = request.app.state.networks.list(tenant, limit=limit, offset=offset)
    return NetworksPublic(
        data=[NetworkSummary(name=n, version=v, updated_at=t) for n, v, t in rows],
        count=total,
        limit=limit,
        offset=offset,
    )


@router.get(
    "/{name}",
    response_model=NetworkPublic,
    operation_id="get_network",
    responses={**{k: v for k, v in _ERRORS.items() if k in (401, 422, 429)}, **_NOT_FOUND},
)
def get_network(
    name: NetworkName,
    tenant: TenantDep,
    request: Request,
    version: Annotated[int | None, Query(ge=1, le=2**31 - 1)] = None,
) -> NetworkPublic:
    """One network at `version` (default: the latest), with its document and every version."""
    rec = request.app.state.networks.get(tenant, name, version)
    if rec is None:
        raise HTTPException(
            status.HTTP_404_NOT_FOUND,
            f"network {name!r}" + (f" version {version}" if version else "") + " not found",
        )
    return _public(rec, with_document=True)


def forecast_scenario(
    network: dict[str, Any], body: bytes | str, media: str
) -> tuple[dict[str, Any], Scenario, list[str]]:
    """The scenario of a forecast on a network (the document, the parsed scenario and what
    the readers drop: CSV columns or JSON keys other than sku, zone and units): CSV text or a
    JSON list of demand rows.

    Raises
    ------
    RequestValidationError
        422 for bad rows, each naming the CSV line (``line N.units``) and the value, or the
        JSON row (``demand[i].sku``).
    HTTPException
        400 for a body that is not UTF-8 or JSON, 415 for another media type.
    """
    from network.demand import ignored_columns, ignored_keys, read_demand_csv
    from network.scenario import Problem, ScenarioError, demand_keys_warning, parse_scenario

    warnings: list[str] = []

    if isinstance(body, bytes):
        try:
            body = body.decode("utf-8-sig")
        except UnicodeDecodeError:
            raise HTTPException(status.HTTP_400_BAD_REQUEST, "body is not UTF-8") from None
    if media in _CSV:
        # every problem at once, as `tradelane validate` lists them: the rows' own (units,
        # field count) first, then the loader's on the good rows (unknown SKU or zone)
        table, lines, probs = read_demand_csv(body, CSV_NAME, keep_bad_units=True)
        first = [Problem(w, m) for w, m in probs]
        try:
            s = parse_scenario({**network, "demand": []}, csv_demand=(table, lines, CSV_NAME))
        except ScenarioError as e:
            raise _problems(ScenarioError(first + e.problems), csv=True) from None
        if first:
            raise _problems(ScenarioError(first), csv=True)
        if extra := ignored_columns(body[:65536]):  # the header is on the first lines
            warnings.append(f"{CSV_NAME}: {demand_keys_warning(extra, what='column(s)')}")
        if not len(s.demand):
            raise RequestValidationError(
                [
                    {
                        "loc": ("body",),
                        "type": "value",
                        "field": "body",
                        "msg": "no demand rows after the header",
                    }
                ]
            )
    elif media in _JSON:
        rows = _decode_json(body)
        if not isinstance(rows, list):
            # the schema's own message would repeat the whole body back
            got = {dict: "an object", str: "a string", type(None): "null"}.get(
                type(rows), "a number" if isinstance(rows, int | float) else type(rows).__name__
            )
            hint = " (send its 'demand' list itself)" if isinstance(rows, dict) else ""
            raise RequestValidationError(
                [
                    {
                        "loc": ("body",),
                        "type": "list_type",
                        "field": "body",
                        "msg": "expected a JSON list of demand rows {sku, zone, units}, got "
                        f"{got}{hint}",
                    }
                ]
            )
        check_json_values(rows, loc=("body",))
        check_document(rows, "demand", loc=("body",))  # rows of the wrong types never reach
        try:  # the loader
            s = parse_scenario({**network, "demand": rows})
        except ScenarioError as e:
            raise _problems(e) from None
        if keys := ignored_keys(rows):
            warnings.append(f"body: {demand_keys_warning(keys)}")
    else:
        raise HTTPException(
            status.HTTP_415_UNSUPPORTED_MEDIA_TYPE,
            "send the forecast as text/csv or application/json",
        )
    return {**network, "demand": s.demand.to_records()}, s, warnings


@router.post(
    "/{name}/forecasts",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=PlanAccepted,
    operation_id="plan_forecast",
    openapi_extra={"requestBody": _FORECAST_BODY},
    responses={**_ERRORS, **_NOT_FOUND, 202: {"description": "queued"}},
)
async def plan_forecast(
    name: NetworkName,
    request: Request,
    response: Response,
    tenant: TenantDep,
    version: Annotated[
        int | None, Query(ge=1, le=2**31 - 1, description="Network version (default: latest).")
    ] = None,
    time_limit_s: Annotated[
        float | None,
        Query(
            gt=0,
            le=86_400,
            allow_inf_nan=False,
            description="Time limit of the plan in seconds (default: the server's; as for "
            "POST /v1/plans: above the server's maximum or shorter than a large catalogue's "
            "SKU-block path can keep is a 422).",
        ),
    ] = None,
    seed: Annotated[int, Query(ge=0, le=MAX_SEED, description="Solver seed.")] = 0,
) -> PlanAccepted:
    """Plan a demand forecast on a stored network: `sku,zone,units` CSV or JSON demand rows.

    Answers 202 with the plan job (poll `GET /v1/plans/{id}`); bad rows give 422 naming the CSV
    line, the column and the value. The job records the network version it used.
    """
    from starlette.concurrency import run_in_threadpool

    body = await request.body()
    rec, warnings = await run_in_threadpool(
        submit_forecast,
        request,
        tenant,
        name,
        body,
        _media(request),
        version=version,
        time_limit_s=time_limit_s,
        seed=seed,
    )
    response.headers["Location"] = f"/v1/plans/{rec.id}"
    return PlanAccepted(id=rec.id, status=rec.status, warnings=warnings)  # type: ignore[arg-type]


def submit_forecast(
    request: Request,
    tenant: str,
    name: str,
    body: bytes | str,
    media: str,
    *,
    version: int | None,
    time_limit_s: float | None,
    seed: int,
) -> tuple[Any, list[str]]:
    """Queue the plan of a forecast on the tenant's network (shared by the API and console):
    the job and the warnings of :func:`forecast_scenario`."""
    settings = request.app.state.settings
    net = request.app.state.networks.get(tenant, name, version)
    if net is None:
        raise HTTPException(
            status.HTTP_404_NOT_FOUND,
            f"network {name!r}" + (f" version {version}" if version else "") + " not found",
        )
    scenario, parsed, warnings = forecast_scenario(net.document, body, media)
    limit = time_limit_s if time_limit_s is not None else settings.default_time_limit_s
    if limit > settings.max_time_limit_s:
        raise RequestValidationError(
            [
                {
                    "loc": ("query", "time_limit_s"),
                    "type": "less_than_equal",
                    "msg": f"Input should be less than or equal to {settings.max_time_limit_s:g} "
                    "(the server's maximum)",
                }
            ]
        )
    # refused here as POST /v1/plans refuses it, not failed later in the worker
    check_plan_limit(parsed, limit, ("query", "time_limit_s"))
    req = {
        "scenario": scenario,
        "time_limit_s": limit,
        "seed": seed,
        "network": {"name": name, "version": net.version},
    }
    rec, _ = request.app.state.store.submit(
        tenant=tenant,
        scenario_name=str(scenario.get("name", name)),
        request=req,
        time_limit_s=limit,
        seed=seed,
        warnings=warnings,
    )
    request.app.state.networks.record_source(
        job_id=rec.id, tenant=tenant, network=name, version=net.version
    )
    return rec, warnings
