"""The planner's console: server-rendered pages (Jinja2) at ``/`` with a little JavaScript.

Sign-in takes the tenant's API key and keeps it in an ``HttpOnly``, ``SameSite=Strict`` cookie
(``Secure`` over HTTPS); it is never put in a URL, a page or a log. Every form carries a CSRF
token that must equal the one in a second ``HttpOnly`` cookie (double submit), and a cross-site
``Origin`` is refused, so a form on another site cannot post here. Pages show only the signed-in
tenant's objects (404 otherwise); every value from a scenario or a CSV is escaped by the
templates (autoescape) or set as text by the scripts. The browser loads nothing from the
internet: Leaflet and the country outlines are served by the app (see ``api/static/vendor``).

Pages: networks (upload, versions, forecast upload with inline line-numbered errors that keep
what was sent), plans (list with live status and progress, cancel), one plan (its own status and
the evaluation's warnings, KPIs, map, stock and fulfilment tables with sort and filter,
diagnosis, downloads), a simulation's or what-if's result, and the comparison of two plans.
The pages' data (``*.json``) answer 401 without a session, so the scripts can ask the user to
sign in again; pages redirect to the sign-in form with ``next`` (a same-site path).
"""

from __future__ import annotations

import datetime as dt
import hmac
import json
import logging
import math
import secrets
import uuid
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlencode, urlsplit

from fastapi import APIRouter, FastAPI, HTTPException, Query, Request, status
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from starlette.concurrency import run_in_threadpool

from api.artifacts import KINDS
from api.auth import authenticate
from api.risk_jobs import is_risk_result, plan_request_sql

__all__ = ["CSP", "KEY_COOKIE", "compare_plans", "router"]

logger = logging.getLogger(__name__)

HERE = Path(__file__).parent
templates = Jinja2Templates(directory=str(HERE / "templates"))


def _num(v: Any, digits: int = 0) -> str:
    if v is None:
        return "–"
    try:
        return f"{float(v):,.{digits}f}"
    except (TypeError, ValueError):
        return str(v)


def _pct(v: Any, digits: int = 1) -> str:
    return "–" if v is None else f"{100.0 * float(v):.{digits}f} %"


def _share(v: Any, digits: int = 1) -> str:
    """An on-time share rounded toward zero, so that a share below its target never reads as
    reaching it (0.9499 is "94.9 %", not "95.0 %" beside a 95 % target marked missed).

    >>> _share(0.9499), _share(0.95), _share(0.29), _share(None)
    ('94.9 %', '95.0 %', '29.0 %', '–')
    """
    if v is None:
        return "–"
    scale = 10.0**digits
    # the small term keeps a share of exactly 0.29 (28.999999999999996 in floating point) at 29.0
    return f"{math.floor(100.0 * float(v) * scale + 1e-7) / scale:.{digits}f} %"


def _target(v: Any) -> str:
    """A target share as it was set, not rounded to whole percent (0.875 is "87.5 %", not
    "88 %", which a plan at 87.6 % on time would seem to miss)."""
    if v is None:
        return "–"
    return f"{100.0 * float(v):.2f}".rstrip("0").rstrip(".") + " %"


def _signed(v: Any, digits: int = 0) -> str:
    if v is None:
        return "–"
    x = round(float(v), digits)
    return f"{x + 0.0:+,.{digits}f}" if x != 0 else f"{0.0:+.{digits}f}"  # never "-0.00"


templates.env.filters.update(num=_num, pct=_pct, share=_share, signed=_signed, target=_target)
router = APIRouter(include_in_schema=False)

KEY_COOKIE = "tradelane_key"
CSRF_COOKIE = "tradelane_csrf"
CSP = (
    "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; "
    "script-src 'self'; connect-src 'self'; frame-ancestors 'none'; form-action 'self'; "
    "base-uri 'none'; object-src 'none'"
)
_SEC = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
    "Cache-Control": "no-store",
}
_TERMINAL = ("succeeded", "failed", "cancelled")
MAX_VERSION = 2**31 - 1
"""The largest network version (the database column is a 32-bit integer)."""


class SignInRequired(Exception):
    """The page needs a signed-in tenant (answered by a redirect to the sign-in page)."""


# -- sign-in, CSRF -------------------------------------------------------------------------


def _tenant(request: Request) -> str | None:
    key = request.cookies.get(KEY_COOKIE)
    if not key:
        return None
    who = authenticate(f"Bearer {key}", request.app.state.settings.keys)
    return who.tenant if who is not None else None


def _require(request: Request) -> str:
    tenant = _tenant(request)
    if tenant is None:
        raise SignInRequired
    return tenant


def _csrf(request: Request) -> str:
    """The CSRF token of this browser (made on first use, set by :func:`_page`)."""
    tok = request.cookies.get(CSRF_COOKIE) or getattr(request.state, "csrf", None)
    if not tok:
        tok = request.state.csrf = secrets.token_urlsafe(32)
    return tok


def _secure(request: Request) -> bool:
    return request.url.scheme == "https"


async def _form(request: Request) -> Any:
    """The posted form, after the CSRF and origin checks (403 when they fail)."""
    origin = request.headers.get("origin")
    if origin and origin != "null":
        expected = f"{request.url.scheme}://{request.headers.get('host', '')}"
        if origin.rstrip("/") != expected:
            raise HTTPException(status.HTTP_403_FORBIDDEN, "cross-site form refused")
    if request.headers.get("sec-fetch-site") == "cross-site":
        raise HTTPException(status.HTTP_403_FORBIDDEN, "cross-site form refused")
    max_part = int(request.app.state.settings.max_body_bytes)
    form = await request.form(max_part_size=max_part)
    sent = str(form.get("csrf", ""))
    cookie = request.cookies.get(CSRF_COOKIE, "")
    if not cookie or not sent or not hmac.compare_digest(sent.encode(), cookie.encode()):
        raise HTTPException(
            status.HTTP_403_FORBIDDEN,
            "invalid or missing CSRF token; reload the page and try again",
        )
    return form


def _page(request: Request, template: str, ctx: dict[str, Any], *, code: int = 200) -> HTMLResponse:
    tenant = _tenant(request)
    resp = templates.TemplateResponse(
        request,
        template,
        {"tenant": tenant, "csrf": _csrf(request), "title": ctx.get("title", "tradelane"), **ctx},
        status_code=code,
        headers=_SEC,
    )
    if request.cookies.get(CSRF_COOKIE) != _csrf(request):
        resp.set_cookie(
            CSRF_COOKIE,
            _csrf(request),
            httponly=True,
            samesite="strict",
            secure=_secure(request),
            path="/",
        )
    return resp


def _redirect(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=status.HTTP_303_SEE_OTHER, headers=_SEC)


def not_found(what: str) -> HTTPException:
    return HTTPException(status.HTTP_404_NOT_FOUND, f"{what} not found")


def install(app: FastAPI) -> None:
    """Mount the console: its pages, static files and its error pages."""
    from fastapi.staticfiles import StaticFiles

    app.include_router(router)
    app.mount("/static", StaticFiles(directory=str(HERE / "static")), name="static")

    @app.exception_handler(SignInRequired)
    async def _signin(request: Request, _: SignInRequired) -> Response:
        # the pages' data (``*.json``, fetched by the scripts) say 401, which a script can
        # tell from a page; a page goes to the sign-in form, and back to itself after it
        if request.url.path.endswith(".json"):
            return JSONResponse(
                {"detail": "not signed in (the session may have expired): sign in again"},
                status_code=status.HTTP_401_UNAUTHORIZED,
                headers=_SEC,
            )
        back = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        if request.method != "GET" or back in ("/", "/plans") or not safe_next(back):
            return _redirect("/login")
        return _redirect(f"/login?{urlencode({'next': back})}")


def safe_next(path: str) -> bool:
    """Whether ``path`` may be gone to after sign-in: a path on this site, nothing else (no
    scheme, no host, no ``//`` or backslash that a browser would read as another host)."""
    if not path.startswith("/") or path.startswith(("//", "/login")) or len(path) > 2000:
        return False
    if "\\" in path or not path.isprintable():
        return False
    parts = urlsplit(path)
    return not parts.scheme and not parts.netloc


API_PATHS = ("/v1/", "/healthz", "/openapi", "/docs", "/redoc")
"""Path prefixes of the JSON API; every other path is the console's."""


def _is_console(request: Request) -> bool:
    return not request.url.path.startswith(API_PATHS)


def error_page(request: Request, code: int, detail: Any) -> HTMLResponse | None:
    """An HTML error page for console paths (None for the JSON API's paths)."""
    if not _is_console(request):
        return None
    msg = detail if isinstance(detail, str) else "the request could not be processed"
    return _page(
        request, "error.html", {"title": f"{code}", "code": code, "message": msg}, code=code
    )


# -- sign in / out -------------------------------------------------------------------------


@router.get("/", response_class=HTMLResponse)
def home(request: Request) -> Response:
    """The plans page once signed in, else the sign-in page."""
    return _redirect("/plans" if _tenant(request) else "/login")


@router.get("/login", response_class=HTMLResponse)
def login_page(request: Request, nxt: Annotated[str, Query(alias="next")] = "") -> HTMLResponse:
    """The sign-in form (``next``: the console path to go to after it; one that may not be
    gone to, too long included, is dropped: the form still shows)."""
    return _page(request, "login.html", {"title": "Sign in", "next": nxt if safe_next(nxt) else ""})


@router.post("/login", response_class=HTMLResponse)
async def login(request: Request) -> Response:
    """Check the key; on success keep it in an HttpOnly cookie and go to the plans (or to
    ``next``, a path on this site)."""
    form = await _form(request)
    key = str(form.get("key", "")).strip()
    nxt = str(form.get("next", ""))
    nxt = nxt if safe_next(nxt) else ""
    who = authenticate(f"Bearer {key}", request.app.state.settings.keys) if key else None
    if who is None:
        logger.info("console sign-in refused")
        return _page(
            request,
            "login.html",
            {"title": "Sign in", "error": "That API key is not valid.", "next": nxt},
            code=401,
        )
    logger.info("console sign-in: tenant %s (key %s)", who.tenant, who.key_id)
    resp = _redirect(nxt or "/plans")
    resp.set_cookie(
        KEY_COOKIE,
        key,
        httponly=True,
        samesite="strict",
        secure=_secure(request),
        path="/",
        max_age=12 * 3600,
    )
    resp.set_cookie(
        CSRF_COOKIE,
        secrets.token_urlsafe(32),
        httponly=True,
        samesite="strict",
        secure=_secure(request),
        path="/",
    )
    return resp


@router.post("/logout")
async def logout(request: Request) -> Response:
    """Forget the key (and the CSRF token)."""
    await _form(request)
    resp = _redirect("/login")
    resp.delete_cookie(KEY_COOKIE, path="/")
    resp.delete_cookie(CSRF_COOKIE, path="/")
    return resp


# -- networks and forecasts ----------------------------------------------------------------


def _errors(exc: Exception) -> list[str]:
    """One line per problem of a 4xx (the API's 422 detail), for showing inline."""
    if isinstance(exc, RequestValidationError):
        out = []
        for e in exc.errors():
            loc = [str(x) for x in e.get("loc", ()) if x != "body"]
            field = e.get("field") or ".".join(loc)  # the item's id, where the 422 names it
            out.append(f"{field}: {e.get('msg')}" if field else str(e.get("msg")))
        return out
    if isinstance(exc, HTTPException):
        return [str(exc.detail)]
    from network.scenario import ScenarioError

    if isinstance(exc, ScenarioError):
        return [str(p) for p in exc.problems]
    return [str(exc)]


@router.get("/networks", response_class=HTMLResponse)
def networks_page(request: Request) -> HTMLResponse:
    """The tenant's networks and the upload form."""
    tenant = _require(request)
    rows, _ = request.app.state.networks.list(tenant, limit=200)
    return _page(request, "networks.html", {"title": "Networks", "networks": rows})


@router.post("/networks", response_class=HTMLResponse)
async def upload_network(request: Request) -> Response:
    """Store an uploaded network file (JSON or YAML) under a name."""
    tenant = _require(request)
    form = await _form(request)
    name = str(form.get("name", "")).strip()
    upload = form.get("file")
    errors: list[str] = []
    import re

    from api.routes.networks import NAME_PATTERN, store_network

    if not re.match(NAME_PATTERN, name):
        errors.append(
            "name: letters, digits and _.- only (at most 100), starting with a letter or digit"
        )
    raw = await upload.read() if upload is not None and hasattr(upload, "read") else b""
    if not raw:
        errors.append("file: choose a network file (JSON or YAML)")
    doc: Any = None
    if not errors:
        try:
            text = raw.decode("utf-8-sig")
            fname = str(getattr(upload, "filename", "") or "")
            if fname.endswith((".yaml", ".yml")):
                from network.scenario import load_yaml

                doc = load_yaml(text)
            else:
                doc = json.loads(text)
        except (UnicodeDecodeError, ValueError) as e:
            errors.append(f"file: cannot read it: {e}"[:300])
        except RecursionError:
            from network.scenario import TOO_DEEP

            errors.append(f"file: {TOO_DEEP}")
        except Exception as e:
            errors.append(f"file: invalid YAML: {e}"[:300])
    # a whole scenario: the network part is stored, its demand offered as a forecast
    demand = doc.pop("demand", None) if isinstance(doc, dict) else None
    if not errors:
        try:
            rec, _ = await run_in_threadpool(store_network, request, tenant, name, doc)
            if demand is None:
                return _redirect(f"/networks/{rec.name}")
            ctx = _network_ctx(request, tenant, rec.name, rec.version)
            rows = _demand_csv(demand)
            ctx["typed"] = {"csv": rows}
            n = len(demand) if isinstance(demand, list) else 0
            ctx["notice"] = f"The file's {n} demand rows are not part of the network. " + (
                "They are in the forecast box below: plan them from there."
                if rows
                else "Plan them as a forecast below (a CSV of sku,zone,units)."
            )
            return _page(request, "network.html", ctx)
        except (RequestValidationError, HTTPException) as e:
            errors = _errors(e)
    rows, _ = request.app.state.networks.list(tenant, limit=200)
    return _page(
        request,
        "networks.html",
        {"title": "Networks", "networks": rows, "errors": errors, "name": name},
        code=422,
    )


def _demand_csv(demand: Any) -> str:
    """v1 demand rows as forecast CSV text ("" when they are not plain sku, zone, units)."""
    import csv
    import io

    if not isinstance(demand, list) or not demand:
        return ""
    out = io.StringIO()
    w = csv.writer(out, lineterminator="\n")
    w.writerow(("sku", "zone", "units"))
    for row in demand:
        if not isinstance(row, dict) or set(row) != {"sku", "zone", "units"}:
            return ""
        w.writerow((row["sku"], row["zone"], row["units"]))
    text = out.getvalue()
    return text if len(text) <= MAX_ECHO_CHARS else ""


def _network_ctx(
    request: Request, tenant: str, name: str, version: int | None = None
) -> dict[str, Any]:
    from api.routes.networks import counts

    store = request.app.state.networks
    rec = store.get(tenant, name, version)
    if rec is None:
        known = store.versions(tenant, name) if version is not None else ()
        if known:
            listed = ", ".join(str(v.version) for v in known)
            raise HTTPException(
                status.HTTP_404_NOT_FOUND,
                f"network {name!r} has no version {version} (versions: {listed})",
            )
        raise not_found(f"network {name!r}")
    settings = request.app.state.settings
    return {
        "title": f"Network {name}",
        "network": rec,
        "latest": max(v.version for v in rec.versions),
        "counts": counts(rec.document),
        "default_limit": settings.default_time_limit_s,
        "max_limit": settings.max_time_limit_s,
        "typed": {},
    }


@router.get("/networks/{name}", response_class=HTMLResponse)
def network_page(
    request: Request, name: str, version: Annotated[int | None, Query(ge=1, le=MAX_VERSION)] = None
) -> HTMLResponse:
    """One network: its versions, its size and the forecast upload form."""
    tenant = _require(request)
    return _page(request, "network.html", _network_ctx(request, tenant, name, version))


MAX_SHOWN_ERRORS = 50
"""Problems listed on a page; the rest are counted (a bad file can have thousands)."""

MAX_ECHO_CHARS = 200_000
"""An uploaded forecast with errors comes back in the text box up to this size."""


def _capped(errors: list[str], most: int = MAX_SHOWN_ERRORS) -> list[str]:
    """The first ``most`` problems, then one line counting the ones left out."""
    if len(errors) <= most:
        return errors
    return [*errors[:most], f"… and {len(errors) - most:,} more problems not shown"]


def _limit_error(settings: Any) -> str:
    return (
        f"Time limit: a number of seconds from 1 to {settings.max_time_limit_s:,g} "
        "(the server's maximum)"
    )


@router.post("/networks/{name}/forecasts", response_class=HTMLResponse)
async def upload_forecast(request: Request, name: str) -> Response:
    """Queue the plan of an uploaded forecast CSV; bad rows are listed on the page.

    On any error the page comes back with what was sent: the network version chosen, the time
    limit typed and the rows (pasted, or the uploaded file's text) to fix in place.
    """
    tenant = _require(request)
    form = await _form(request)
    from api.routes.networks import submit_forecast

    settings = request.app.state.settings
    upload = form.get("file")
    body = await upload.read() if upload is not None and hasattr(upload, "read") else b""
    if not body:
        body = str(form.get("csv", "")).encode()
    errors: list[str] = []
    limit: float | None = None
    version: int | None = None
    typed_limit = str(form.get("time_limit_s", "")).strip()
    try:
        limit = float(typed_limit) if typed_limit else None
        if limit is not None and not 1 <= limit <= settings.max_time_limit_s:
            raise ValueError
    except ValueError:
        errors.append(_limit_error(settings))
    try:
        version = int(form["version"]) if form.get("version") else None
        if version is not None and not 1 <= version <= MAX_VERSION:
            raise ValueError
    except ValueError:
        version = None
        errors.append(f"version: a whole number from 1 to {MAX_VERSION}")
    if not body.strip():
        errors.append("forecast: choose a CSV file (sku,zone,units) or paste the rows")
    if not errors:
        try:
            rec, _ = await run_in_threadpool(
                submit_forecast,
                request,
                tenant,
                name,
                body,
                "text/csv",
                version=version,
                time_limit_s=limit,
                seed=0,
            )
            return _redirect(f"/plans/{rec.id}")
        except (RequestValidationError, HTTPException) as e:
            if isinstance(e, HTTPException) and e.status_code == 404:
                if version is None:
                    raise  # no such network
                # no such version: the form again with the typed rows and the versions there are
                errors = [f"version: {name!r} has no version {version}"]
            else:
                errors = _errors(e)
    try:
        ctx = _network_ctx(request, tenant, name, version)
    except HTTPException:  # no such version (the forecast was not sent): show the latest
        ctx = _network_ctx(request, tenant, name, None)
    text = body.decode("utf-8-sig", errors="replace")
    ctx["typed"] = {
        "csv": text if len(text) <= MAX_ECHO_CHARS else "",
        "from_file": bool(upload is not None and getattr(upload, "filename", "")),
        "time_limit_s": typed_limit,
    }
    return _page(request, "network.html", {**ctx, "errors": _capped(errors)}, code=422)


# -- plans ---------------------------------------------------------------------------------


def _job(request: Request, tenant: str, job_id: str) -> Any:
    try:
        jid = str(uuid.UUID(job_id))
    except ValueError:
        raise not_found("plan") from None
    rec = request.app.state.store.get(tenant, jid)
    if rec is None:
        raise not_found("plan")
    return rec


def _summary(request: Request, tenant: str, recs: list[Any]) -> list[dict[str, Any]]:
    ids = [r.id for r in recs]
    src = request.app.state.networks.sources(tenant, ids)
    prog = request.app.state.networks.progress(ids)
    now = dt.datetime.now(dt.UTC)
    out = []
    for r in recs:
        p = prog.get(r.id)
        started = r.started_at if r.status == "running" else None
        out.append(
            {
                "id": r.id,
                "status": r.status,
                # seconds since the job started (the page ticks on from it between polls)
                "running_s": None
                if started is None
                else round(max(0.0, (now - started).total_seconds()), 1),
                "scenario": r.scenario_name,
                "error": r.error,
                "created_at": r.created_at.strftime("%Y-%m-%d %H:%M:%S"),
                "network": src.get(r.id),
                "progress": None
                if p is None
                else {
                    "phase": p.phase,
                    "elapsed_s": round(p.elapsed_s, 1),
                    "best_objective": p.best_objective,
                    "bound": p.bound,
                },
            }
        )
    return out


@router.get("/plans", response_class=HTMLResponse)
def plans_page(request: Request) -> HTMLResponse:
    """The tenant's plan jobs with live status and progress."""
    tenant = _require(request)
    recs, total = request.app.state.store.list(tenant, limit=100)
    return _page(
        request,
        "plans.html",
        {"title": "Plans", "plans": _summary(request, tenant, recs), "total": total},
    )


@router.get("/plans.json")
def plans_json(request: Request) -> JSONResponse:
    """The plans list as data, for the page's live refresh."""
    tenant = _require(request)
    recs, _ = request.app.state.store.list(tenant, limit=100)
    return JSONResponse(_summary(request, tenant, recs), headers=_SEC)


@router.post("/plans/{job_id}/cancel")
async def cancel(request: Request, job_id: str) -> Response:
    """Cancel a queued or running plan."""
    tenant = _require(request)
    form = await _form(request)
    rec = _job(request, tenant, job_id)
    request.app.state.store.cancel(tenant, rec.id)
    nxt = str(form.get("next", ""))
    return _redirect(nxt if safe_next(nxt) else f"/plans/{rec.id}")


def _kpis(plan: dict[str, Any]) -> dict[str, Any]:
    svc = plan.get("service") or {}
    return {
        "objective": plan.get("objective"),
        "bound": plan.get("bound"),
        "gap": plan.get("gap"),
        "status": plan.get("status"),
        "on_time": svc.get("on_time_share"),
        "target": svc.get("target"),
        "late": svc.get("units_late"),
        "lost": svc.get("units_lost"),
        "open": sum(1 for w in plan.get("warehouses", []) if w.get("open")),
        "solve_s": plan.get("solve_seconds"),
        "currency": plan.get("currency", ""),
    }


PLAN_STATUS = {
    "optimal": ("optimal", "proven best within the solver's gap", "ok"),
    "feasible": ("feasible", "keeps every rule; not proven best", "ok"),
    "time_limit": (
        "time limit",
        "stopped by the time limit with only a fallback plan that breaks some rules",
        "bad",
    ),
    "infeasible": ("infeasible", "no plan keeps every rule", "bad"),
    "no_solution": ("no solution", "the solver found no plan in time", "bad"),
    "error": ("error", "the solver failed", "bad"),
}
"""Label, meaning and tone of each plan status (:class:`optimizer.solver.Status`)."""

MAX_LISTED = 10
"""Violations or shortfalls listed in a plan's warning (the rest are counted)."""


def _plan_status(plan: dict[str, Any]) -> dict[str, str]:
    st = str(plan.get("status") or "unknown")
    label, meaning, tone = PLAN_STATUS.get(st, (st.replace("_", " "), "", "bad"))
    return {"code": st, "label": label, "meaning": meaning, "tone": tone}


def _warning(plan: dict[str, Any]) -> dict[str, Any] | None:
    """What the independent evaluation found wrong with a plan (None when nothing)."""
    ev = plan.get("evaluation")
    if not isinstance(ev, dict):
        return None
    violations = [str(v) for v in ev.get("violations") or []]
    shortfalls = [str(v) for v in ev.get("shortfalls") or []]
    feasible = ev.get("feasible") is not False
    if feasible and not shortfalls:
        return None
    return {
        "feasible": feasible,
        "violations": violations[:MAX_LISTED],
        "n_violations": len(violations),
        "shortfalls": shortfalls[:MAX_LISTED],
        "n_shortfalls": len(shortfalls),
        "fallback": plan.get("status") == "time_limit",
        "strategy": plan.get("strategy"),
    }


#: The plan page lists at most this many of a job's warnings (the API answers them all).
MAX_IGNORED_SHOWN = 20


@router.get("/plans/{job_id}", response_class=HTMLResponse)
def plan_page(request: Request, job_id: str) -> HTMLResponse:
    """One plan: KPIs, map, tables, diagnosis and downloads (or its progress while running)."""
    tenant = _require(request)
    rec = _job(request, tenant, job_id)
    risk = rec.status == "succeeded" and is_risk_result(rec.result)
    plan = rec.result if rec.status == "succeeded" and not risk else None
    summary = _summary(request, tenant, [rec])[0]
    ctx: dict[str, Any] = {
        "title": f"Plan {rec.scenario_name}",
        "job": summary,
        "plan": plan,
        "risk_of": rec.result.get("source_plan") if risk and rec.result else None,
        "risk": _risk_summary(rec.result) if risk else None,
        "others": [o for o in _plan_choices(request, tenant) if o["id"] != rec.id],
        # what the submission held that planning ignores (the 202's warnings, kept by the job)
        "ignored": list(rec.warnings[:MAX_IGNORED_SHOWN]),
        "n_ignored": len(rec.warnings),
    }
    if plan is not None:
        from optimizer.plan.io import MODE_COLOURS

        ctx.update(
            kpis=_kpis(plan),
            plan_status=_plan_status(plan),
            warning=_warning(plan),
            strategy=plan.get("strategy"),
            cost=sorted(
                (  # a term that shows as 0.00 (2.3e-11 of a penalty) is no row
                    (k, v)
                    for k, v in (plan.get("cost") or {}).items()
                    if isinstance(v, int | float) and round(v, 2) != 0
                ),
                key=lambda kv: -kv[1],
            ),
            by_country=sorted(((plan.get("service") or {}).get("by_country") or {}).items()),
            warehouses=_warehouse_rows(plan),
            diagnosis=plan.get("diagnosis") or {},
            notes=plan.get("notes") or [],
            files=list(KINDS),
            modes=MODE_COLOURS,
        )
    return _page(request, "plan.html", ctx)


def _matched_text(m: Any) -> str:
    """One ``shock.matched`` entry of ``whatif.json`` (``optimizer.risk.shock.apply_shock``:
    ``{change, lanes, rate_cards}``, ``{change, demand_rows, units_before}`` or ``{change,
    warehouse, lanes}``) in words, not as the mapping's Python text."""
    if not isinstance(m, dict):
        return str(m)

    def ids(label: str, xs: list[Any]) -> str:
        more = f" and {len(xs) - 5} more" if len(xs) > 5 else ""
        return f"{label} {', '.join(str(x) for x in xs[:5])}{more}"

    parts = []
    if m.get("warehouse"):
        parts.append(f"warehouse {m['warehouse']}")
    if m.get("lanes"):
        parts.append(ids("lanes" if len(m["lanes"]) > 1 else "lane", list(m["lanes"])))
    if m.get("rate_cards"):
        cards = list(m["rate_cards"])
        parts.append(ids("rate cards" if len(cards) > 1 else "rate card", cards))
    if m.get("demand_rows") is not None:
        parts.append(f"{int(m['demand_rows']):,} demand row(s)")
    return "; ".join(parts) or str(m)


def _risk_summary(doc: dict[str, Any]) -> dict[str, Any]:
    """The figures of a simulate (``sim.json``) or what-if (``whatif.json``) document."""
    if isinstance(doc.get("base"), dict) and isinstance(doc.get("hold"), dict):
        sides = []
        for key, label in (("base", "base plan"), ("hold", "held plan"), ("replan", "re-plan")):
            d = doc.get(key) or {}
            svc = d.get("service") or {}
            sides.append(
                {
                    "label": label,
                    "status": d.get("status"),
                    "objective": d.get("objective"),
                    "on_time": svc.get("on_time_share"),
                    "fill": svc.get("fill_rate"),
                    "feasible": d.get("feasible"),
                }
            )
        shock = doc.get("shock") or {}
        return {
            "kind": "whatif",
            "sides": sides,
            "matched": [_matched_text(m) for m in shock.get("matched") or []],
            "notes": [str(n) for n in doc.get("notes") or []],
        }

    def interval(key: str) -> dict[str, Any]:
        v = doc.get(key) or {}
        ci = v.get("ci95") or [None, None]
        return {"mean": v.get("mean"), "lo": ci[0], "hi": ci[1]}

    def quantiles(key: str) -> dict[str, Any]:
        v = doc.get(key) or {}
        return {q: v.get(q) for q in ("mean", "p5", "p50", "p95")}

    return {
        "kind": "simulate",
        "runs": doc.get("runs"),
        "runs_requested": doc.get("runs_requested"),
        "stopped": doc.get("status") == "time_limit",
        "on_time": interval("on_time_share"),
        "fill": interval("fill_rate"),
        "plan_on_time": doc.get("plan_on_time_share"),
        "stockout": quantiles("stockout_units"),
        "cost": quantiles("cost"),
        "plan_cost": (doc.get("cost") or {}).get("plan"),
    }


def _warehouse_rows(plan: dict[str, Any]) -> list[dict[str, Any]]:
    stock: dict[str, float] = {}
    for s in plan.get("stock", []):
        stock[s["warehouse"]] = stock.get(s["warehouse"], 0.0) + float(s["units"])
    out = []
    for w in sorted(plan.get("warehouses", []), key=lambda w: (not w.get("open"), w["id"])):
        cs, ct = w.get("storage_m3"), w.get("throughput_units_per_day")
        out.append(
            {
                "id": w["id"],
                "open": bool(w.get("open")),
                "stock": stock.get(w["id"], 0.0),
                "storage": (w.get("storage_used_m3") or 0.0) / cs if cs else None,
                "throughput": (w.get("throughput_used_per_day") or 0.0) / ct if ct else None,
            }
        )
    return out


@router.get("/plans/{job_id}/status.json")
def plan_status(request: Request, job_id: str) -> JSONResponse:
    """One plan's status and progress, for the page's live refresh."""
    tenant = _require(request)
    rec = _job(request, tenant, job_id)
    return JSONResponse(_summary(request, tenant, [rec])[0], headers=_SEC)


@router.get("/plans/{job_id}/result.json")
def risk_result(request: Request, job_id: str) -> Response:
    """A simulate or what-if job's document, downloaded with the session (a plan's files are
    under ``/plans/{id}/files/``)."""
    tenant = _require(request)
    rec = _job(request, tenant, job_id)
    if rec.status != "succeeded" or not is_risk_result(rec.result):
        raise not_found("result of this simulation or what-if")
    return Response(
        json.dumps(rec.result, allow_nan=False),
        media_type="application/json",
        headers={
            **_SEC,
            "Content-Disposition": f'attachment; filename="result-{rec.id[:8]}.json"',
        },
    )


_ROWS = {
    "stock": ("sku", "warehouse", "units"),
    "fulfilment": ("sku", "zone", "source", "mode", "lanes", "units", "hours", "on_time"),
}


@router.get("/plans/{job_id}/rows/{kind}.json")
def plan_rows(request: Request, job_id: str, kind: str) -> JSONResponse:
    """A plan's stock or fulfilment rows as ``{"columns", "rows"}`` (for the sortable tables)."""
    tenant = _require(request)
    rec = _job(request, tenant, job_id)
    if kind not in _ROWS or rec.status != "succeeded" or rec.result is None:
        raise not_found(f"{kind} of this plan")
    cols = _ROWS[kind]
    rows = [
        [(" > ".join(map(str, r.get(c) or [])) if c == "lanes" else r.get(c)) for c in cols]
        for r in rec.result.get(kind, [])
    ]
    return JSONResponse({"columns": cols, "rows": rows}, headers=_SEC)


@router.get("/plans/{job_id}/files/{kind}")
def plan_file(request: Request, job_id: str, kind: str) -> Response:
    """A plan's file (the same bytes as ``GET /v1/plans/{id}/<file>``)."""
    from api.routes.artifacts import serve_artifact, unknown_kind

    tenant = _require(request)
    if kind not in KINDS:
        raise unknown_kind(kind)
    return serve_artifact(request, tenant, job_id, kind)


@router.get("/outlines.geojson")
def outlines() -> Response:
    """The packaged country outlines (Natural Earth 1:110m) for the map."""
    from network.outlines import outlines_bytes

    return Response(
        outlines_bytes(),
        media_type="application/geo+json",
        headers={"Cache-Control": "public, max-age=86400"},
    )


def _plan_choices(request: Request, tenant: str, *, limit: int = 100) -> list[dict[str, Any]]:
    """The tenant's succeeded plan jobs, newest first, labelled to tell them apart (times in
    UTC, as on every console page).

    Simulate and what-if jobs are left out: their request names a ``task`` (or, for documents
    made by hand, their result names its ``source_plan``). Only the few fields of the label are
    read from the stored documents.
    """
    import sqlalchemy as sa

    from api.store import Job

    q = (
        sa.select(
            Job.id,
            Job.scenario_name,
            Job.created_at,
            Job.result["objective"].as_float(),
            Job.result["status"].as_string(),
            Job.result["currency"].as_string(),
        )
        .where(
            Job.tenant == tenant,
            Job.status == "succeeded",
            plan_request_sql(Job.request),
            Job.result["source_plan"].as_string().is_(None),
        )
        .order_by(Job.created_at.desc(), Job.id.desc())
        .limit(limit)
    )
    with request.app.state.store.engine.connect() as conn:
        rows = conn.execute(q).all()
    out = []
    for jid, name, created, objective, plan_status, currency in rows:
        when = created.astimezone(dt.UTC) if created.tzinfo else created
        parts = [name, when.strftime("%Y-%m-%d %H:%M:%S UTC")]
        if objective is not None:
            parts.append(f"cost {objective:,.0f}" + (f" {currency}" if currency else ""))
        if plan_status not in (None, "optimal", "feasible"):
            parts.append(str(plan_status).replace("_", " "))
        parts.append(jid[:8])
        out.append({"id": jid, "label": " · ".join(parts)})
    return out


# -- compare -------------------------------------------------------------------------------


def compare_plans(a: dict[str, Any], b: dict[str, Any], *, top: int = 50) -> dict[str, Any]:
    """Differences from plan ``a`` to plan ``b``: cost by term, on-time share (overall and by
    country), stock moved and warehouses opened or closed.

    ``stock_moved`` is half the sum of the absolute changes of stock per (SKU, warehouse)
    (units that sit somewhere else in ``b``), ``lines`` the largest changes. Money of plans in
    two different currencies is not subtracted: ``currency["same"]`` is False and the cost
    deltas are None (a plan without a currency is taken to share the other's).
    """
    cur_a, cur_b = a.get("currency") or None, b.get("currency") or None
    same = cur_a is None or cur_b is None or cur_a == cur_b
    ca, cb = a.get("cost") or {}, b.get("cost") or {}

    def term_delta(k: str) -> float | None:
        return float(cb.get(k, 0) or 0) - float(ca.get(k, 0) or 0) if same else None

    terms = sorted(set(ca) | set(cb), key=lambda k: (-abs(term_delta(k) or 0.0), k))
    cost = [
        {
            "term": k,
            "a": float(ca.get(k, 0) or 0),
            "b": float(cb.get(k, 0) or 0),
            "delta": term_delta(k),
        }
        for k in terms
        if ca.get(k) or cb.get(k)
    ]
    sa_, sb = a.get("service") or {}, b.get("service") or {}
    ba, bb = sa_.get("by_country") or {}, sb.get("by_country") or {}
    countries = [
        {
            "country": c,
            "a": (ba.get(c) or {}).get("on_time_share"),
            "b": (bb.get(c) or {}).get("on_time_share"),
        }
        for c in sorted(set(ba) | set(bb))
    ]
    for r in countries:
        r["delta"] = (r["b"] - r["a"]) if r["a"] is not None and r["b"] is not None else None
    sa: dict[tuple[str, str], float] = {}
    for s in a.get("stock", []):
        sa[(s["sku"], s["warehouse"])] = sa.get((s["sku"], s["warehouse"]), 0.0) + float(s["units"])
    sbd: dict[tuple[str, str], float] = {}
    for s in b.get("stock", []):
        key = (s["sku"], s["warehouse"])
        sbd[key] = sbd.get(key, 0.0) + float(s["units"])
    changes: list[dict[str, Any]] = [
        {
            "sku": k[0],
            "warehouse": k[1],
            "a": sa.get(k, 0.0),
            "b": sbd.get(k, 0.0),
            "delta": sbd.get(k, 0.0) - sa.get(k, 0.0),
        }
        for k in set(sa) | set(sbd)
    ]
    changes = [c for c in changes if abs(c["delta"]) > 1e-9]
    changes.sort(key=lambda c: (-abs(c["delta"]), c["sku"], c["warehouse"]))
    oa = {w["id"] for w in a.get("warehouses", []) if w.get("open")}
    ob = {w["id"] for w in b.get("warehouses", []) if w.get("open")}
    oa_, ob_ = a.get("objective"), b.get("objective")
    return {
        "currency": {"a": cur_a, "b": cur_b, "same": same, "shown": cur_a or cur_b or ""},
        "objective": {
            "a": oa_,
            "b": ob_,
            "delta": (ob_ - oa_) if same and oa_ is not None and ob_ is not None else None,
        },
        "on_time": {
            "a": sa_.get("on_time_share"),
            "b": sb.get("on_time_share"),
            "delta": (sb["on_time_share"] - sa_["on_time_share"])
            if sa_.get("on_time_share") is not None and sb.get("on_time_share") is not None
            else None,
        },
        "cost": cost,
        "countries": countries,
        "stock_moved": sum(abs(c["delta"]) for c in changes) / 2.0,
        "stock_lines_changed": len(changes),
        "stock_changes": changes[:top],
        "opened": sorted(ob - oa),
        "closed": sorted(oa - ob),
        "kept": sorted(oa & ob),
    }


@router.get("/compare", response_class=HTMLResponse)
def compare_page(request: Request, a: str = "", b: str = "") -> HTMLResponse:
    """Compare two succeeded plans (choose them on the page)."""
    tenant = _require(request)
    choices = _plan_choices(request, tenant)
    ctx: dict[str, Any] = {
        "title": "Compare plans",
        "choices": choices,  # by default the newest plan (B) against the one before (A)
        "a": a or (choices[1]["id"] if len(choices) > 1 else ""),
        "b": b or (choices[0]["id"] if choices else ""),
    }
    if a and b:
        ra, rb = _job(request, tenant, a), _job(request, tenant, b)
        if ra.status != "succeeded" or rb.status != "succeeded":
            raise not_found("succeeded plan")
        ra = request.app.state.store.get(tenant, ra.id)
        rb = request.app.state.store.get(tenant, rb.id)
        if is_risk_result(ra.result) or is_risk_result(rb.result):  # no plans to compare
            raise not_found("succeeded plan")
        ctx.update(
            diff=compare_plans(ra.result, rb.result),
            ja=_summary(request, tenant, [ra])[0],
            jb=_summary(request, tenant, [rb])[0],
        )
    return _page(request, "compare.html", ctx)
