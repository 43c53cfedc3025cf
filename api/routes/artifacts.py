"""``GET /v1/plans/{id}/<file>``: the files of a succeeded plan (GeoJSON, map, report, CSVs)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, HTTPException, Request, Response, status

from api.artifacts import KINDS, build_once
from api.deps import TenantDep
from api.routes.plans import parse_job_id, risk_task
from api.schemas import ErrorResponse

router = APIRouter(prefix="/v1/plans", tags=["plans"])

_SCHEMAS: dict[str, dict[str, Any]] = {
    "plan.geojson": {
        "type": "object",
        "required": ["type", "features"],
        "properties": {
            "type": {"const": "FeatureCollection"},
            "features": {"type": "array", "items": {"type": "object"}},
        },
    },
    "map.png": {"type": "string", "format": "binary"},
    "report.html": {"type": "string"},
    "stock.csv": {"type": "string"},
    "fulfilment.csv": {"type": "string"},
    "orders.csv": {"type": "string"},
    "transfers.csv": {"type": "string"},
}
_WHAT = {
    "plan.geojson": "The plan's nodes and flows (flows summed over SKUs per path), GeoJSON.",
    "map.png": "The plan's map: country outlines, warehouses sized by stock, flows by mode.",
    "report.html": "A self-contained report page (no network needed): KPIs, map, warehouses, "
    "top stock lines, diagnosis.",
    "stock.csv": "Stock per SKU and warehouse (header first).",
    "fulfilment.csv": "Fulfilment rows: SKU, zone, source, lanes (joined by `>`), units, hours, "
    "on time (header first).",
    "orders.csv": "Tonight's replenishment bookings for a WMS: sku, warehouse, units (rounded "
    "up), lanes joined by `>` (header first; header only when nothing is ordered).",
    "transfers.csv": "Tonight's transfers between warehouses for a TMS: sku, from, to, lane, "
    "units (whole units; the rows of one lot never add up to more than it holds), hours "
    "(header first; header only when nothing moves).",
}
# The CSP of served files: no scripts, no network; images and styles inline only.
CSP = "default-src 'none'; img-src data:; style-src 'unsafe-inline'; sandbox"


def unknown_kind(kind: str) -> HTTPException:
    """The 404 of a file name that is no plan file (it names the valid ones)."""
    return HTTPException(
        status.HTTP_404_NOT_FOUND,
        f"no file {kind[:80]!r}: the files of a plan are {', '.join(KINDS)}",
    )


def serve_artifact(request: Request, tenant: str, job_id: str, kind: str) -> Response:
    """The artifact as a response.

    404 for another tenant's job, one not yet succeeded, or a simulate or what-if job (files
    exist for plan jobs only; such a job's document is the ``result`` of ``GET /v1/plans/{id}``).
    """
    store = request.app.state.store
    networks = request.app.state.networks
    jid = parse_job_id(job_id)
    rec = store.get(tenant, jid)
    if rec is None or rec.status != "succeeded" or rec.result is None:
        what = "not found" if rec is None else f"has no {kind} (status {rec.status})"
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"plan {job_id[:80]!r} {what}")
    full = None
    task = risk_task(rec)
    art = networks.artifact(jid, kind) if task is None else None  # read once, served below
    if task is None and art is None:  # not made yet: check the task
        full = store.get(tenant, jid, with_request=True)
        task = risk_task(full) if full is not None else None
    if task is not None:
        raise HTTPException(
            status.HTTP_404_NOT_FOUND,
            f"job {jid} is a {task} job: it has no {kind} (files are made for plan jobs "
            f"only; the {task} document is the result field of GET /v1/plans/{jid})",
        )

    def scenario() -> dict[str, Any]:
        got = full if full is not None else store.get(tenant, jid, with_request=True)
        return (got.request or {}).get("scenario", {}) if got is not None else {}

    if art is None:
        art = build_once(networks, jid, kind, rec.result, scenario)
    stem = "".join(c if c.isalnum() or c in "-_." else "_" for c in rec.scenario_name)[:60]
    headers = {"Content-Security-Policy": CSP, "X-Content-Type-Options": "nosniff"}
    if kind not in {"report.html", "map.png"}:
        headers["Content-Disposition"] = f'attachment; filename="{stem}-{jid[:8]}-{kind}"'
    return Response(art.content, media_type=art.media_type, headers=headers)


def _route(kind: str) -> None:
    media = KINDS[kind].split(";")[0]
    op = "get_plan_" + kind.replace(".", "_")

    def handler(job_id: str, tenant: TenantDep, request: Request) -> Response:
        return serve_artifact(request, tenant, job_id, kind)

    handler.__doc__ = (
        _WHAT[kind] + " 404 until the plan has succeeded, and for simulate and what-if jobs."
    )
    handler.__name__ = op
    router.add_api_route(
        f"/{{job_id}}/{kind}",
        handler,
        methods=["GET"],
        operation_id=op,
        response_class=Response,
        summary=f"The plan's {kind}",
        responses={
            200: {"description": _WHAT[kind], "content": {media: {"schema": _SCHEMAS[kind]}}},
            401: {"model": ErrorResponse},
            429: {"model": ErrorResponse},
            404: {
                "model": ErrorResponse,
                "description": "no such plan for this tenant, not succeeded (yet), or a "
                "simulate or what-if job (which has no files)",
            },
        },
    )


for _k in KINDS:
    _route(_k)
