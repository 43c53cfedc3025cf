"""The FastAPI application factory and the error handling of the HTTP API.

``create_app(settings)`` wires settings, the job store (migrated with Alembic at start-up), the
job runner (solver processes, jobs claimed under leases) and the per-key rate limiter
(per process, see :mod:`api.auth`) onto ``app.state``. Several servers may share one
PostgreSQL database; an SQLite file belongs to one server process (a warning at start-up says
so). Errors map to HTTP in :func:`install_error_handlers`, in one place:

=========================================  ====  ==================================================
error                                      code  body
=========================================  ====  ==================================================
schema error (pydantic)                    422   ``detail``: one entry per error, ``loc``/``field``
``ScenarioError`` (format v1 rules)        422   one entry per problem, the CLI's words
``RequestProblemsError`` (references)     422   one entry per problem, naming the item
idempotency key reused, other body         409   message
``HTTPException`` (401, 404, 413, 429…)    as is message
``QueueFullError`` (``TRADELANE_MAX_QUEUED``) 503 message, ``Retry-After``
database unusable (``OperationalError``,   503   ``"database unavailable"``, ``Retry-After``
locked or moved SQLite file, PostgreSQL          (logged once, one line with the reason)
down)
anything else                              500   ``"internal error"`` (logged once with its
                                                 traceback, never sent)
=========================================  ====  ==================================================
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI, HTTPException, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.middleware.gzip import GZipMiddleware
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.auth import RateLimiter
from api.config import Settings
from api.network_store import NetworkStore
from api.store import (
    DatabaseUnavailableError,
    IdempotencyConflictError,
    JobStore,
    QueueFullError,
    first_line,
    make_engine,
    migrate,
)
from api.worker import JobRunner

__all__ = [
    "BodySizeLimit",
    "InternalErrors",
    "create_app",
    "install_error_handlers",
    "unknown_path_detail",
]

logger = logging.getLogger(__name__)


class BodySizeLimit:
    """ASGI middleware: refuse request bodies over ``max_bytes`` with 413.

    A declared ``Content-Length`` over the limit is refused before anything is read; a chunked
    body is counted as it streams and refused once it passes the limit.
    """

    def __init__(self, app: ASGIApp, max_bytes: int):
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        for name, value in scope.get("headers", ()):
            if name == b"content-length":
                try:
                    declared = int(value)
                except ValueError:
                    declared = -1
                if declared < 0 or declared > self.max_bytes:
                    code = 413 if declared > self.max_bytes else 400
                    msg = (
                        f"request body over {self.max_bytes} bytes"
                        if code == 413
                        else "invalid Content-Length"
                    )
                    await self._refuse(scope, receive, send, code, msg)
                    return
        seen = 0

        async def counted() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.max_bytes:
                    raise HTTPException(413, f"request body over {self.max_bytes} bytes")
            return message

        await self.app(scope, counted, send)

    @staticmethod
    async def _refuse(scope: Scope, receive: Receive, send: Send, code: int, msg: str) -> None:
        """Answer ``code``: an HTML page on the console's paths, JSON on the API's."""
        from api.console import error_page

        page = error_page(Request(scope, receive), code, msg) if "app" in scope else None
        resp = page if page is not None else JSONResponse({"detail": msg}, status_code=code)
        await resp(scope, receive, send)


class InternalErrors:
    """ASGI middleware: answer an unhandled exception with a 500 ``"internal error"`` and log
    it once, with its traceback.

    Starlette's own last-resort handler answers too but then re-raises, so the server logged
    every 500 a second time ("Exception in ASGI application").
    """

    def __init__(self, app: ASGIApp):
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def tracked(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, receive, tracked)
        except Exception as exc:
            logger.error(
                "internal error on %s %s: %s",
                scope.get("method", ""),
                scope.get("path", ""),
                type(exc).__name__,
                exc_info=exc,
            )
            if not started:  # else the client sees the response cut short
                resp: Response = JSONResponse({"detail": "internal error"}, status_code=500)
                from api.console import API_PATHS

                if not str(scope.get("path", "")).startswith(API_PATHS):
                    # a console page: a plain page (not the templates, which may be what
                    # failed), without the error's text
                    resp = HTMLResponse(INTERNAL_ERROR_PAGE, status_code=500)
                await resp(scope, receive, send)


INTERNAL_ERROR_PAGE = (
    '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>500 | tradelane</title>'
    "</head><body><h1>500</h1><p>Something went wrong on the server; it has been logged. "
    'Try again, or go back to <a href="/plans">the plans</a>.</p></body></html>'
)
"""The console's answer to an unexpected error (plain HTML: the templates may be what failed)."""

DB_RETRY_AFTER_S = 5
"""``Retry-After`` of a 503 when the database is unavailable or the queue full."""


def _field(loc: tuple[Any, ...] | list[Any]) -> str:
    """``("body", "scenario", "nodes", 2, "lat")`` -> ``scenario.nodes[2].lat``."""
    parts: list[str] = []
    for item in loc[1:] if loc and loc[0] in ("body", "query", "path", "header") else loc:
        if isinstance(item, int) and parts:
            parts[-1] += f"[{item}]"
        else:
            parts.append(str(item))
    where = loc[0] if loc and loc[0] in ("query", "path", "header") else None
    text = ".".join(parts) or "body"
    return f"{where}: {text}" if where else text


def install_error_handlers(app: FastAPI) -> None:
    """Map every error to a JSON response without a stack trace (see the module docstring)."""
    from sqlalchemy.exc import OperationalError

    from api.console import error_page
    from api.convert import RequestProblemsError, problem_detail
    from network.scenario import ScenarioError

    @app.exception_handler(RequestValidationError)
    async def _schema(request: Request, exc: RequestValidationError) -> Response:
        said = "; ".join(
            f"{e.get('field') or _field(tuple(e.get('loc', ())))}: {e.get('msg')}"
            for e in exc.errors()
        )
        page = error_page(request, 422, f"the request was not understood: {said}"[:500])
        if page is not None:  # a console page, naming the bad parameter
            return page
        detail = [
            {
                "loc": list(e.get("loc", ())),
                # a field the error names itself (a scenario problem: the item's id too)
                "field": str(e.get("field") or _field(tuple(e.get("loc", ())))),
                "msg": str(e.get("msg", "invalid")),
            }
            for e in exc.errors()
        ]
        return JSONResponse({"detail": detail}, status_code=422)

    @app.exception_handler(ScenarioError)
    async def _scenario(_: Request, exc: ScenarioError) -> JSONResponse:
        return JSONResponse({"detail": [problem_detail(p) for p in exc.problems]}, status_code=422)

    @app.exception_handler(RequestProblemsError)
    async def _problems(_: Request, exc: RequestProblemsError) -> JSONResponse:
        return JSONResponse({"detail": exc.detail}, status_code=422)

    @app.exception_handler(IdempotencyConflictError)
    async def _conflict(_: Request, exc: IdempotencyConflictError) -> JSONResponse:
        return JSONResponse({"detail": str(exc)}, status_code=409)

    @app.exception_handler(QueueFullError)
    async def _full(_: Request, exc: QueueFullError) -> JSONResponse:
        logger.warning("job refused: the queue is full (%d queued jobs)", exc.limit)
        return JSONResponse(
            {"detail": str(exc)},
            status_code=503,
            headers={"Retry-After": str(DB_RETRY_AFTER_S)},
        )

    async def _unavailable(request: Request, exc: Exception) -> Response:
        reason = first_line(exc)
        logger.error("database unavailable on %s %s: %s", request.method, request.url.path, reason)
        page = error_page(request, 503, "the database is unavailable; retry in a few seconds")
        if page is not None:  # a console page: a page, not the API's JSON
            page.headers["Retry-After"] = str(DB_RETRY_AFTER_S)
            return page
        return JSONResponse(
            {"detail": "database unavailable; retry later"},
            status_code=503,
            headers={"Retry-After": str(DB_RETRY_AFTER_S)},
        )

    app.add_exception_handler(OperationalError, _unavailable)
    app.add_exception_handler(DatabaseUnavailableError, _unavailable)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> Response:
        page = error_page(request, exc.status_code, exc.detail)
        if page is not None:  # a console page
            return page
        headers = dict(getattr(exc, "headers", None) or {})
        detail = exc.detail
        if exc.status_code == 404 and detail == "Not Found":  # no route: say what is there
            detail = unknown_path_detail(request) or detail
        if exc.status_code == 405:
            # Starlette names the methods of the first route that matched the path only; a path
            # served by several routes (GET and DELETE /v1/plans/{id}) allows them all.
            headers["Allow"] = ", ".join(allowed_methods(request.app, request.url.path))
        return JSONResponse(
            {"detail": detail}, status_code=exc.status_code, headers=headers or None
        )


def create_app(settings: Settings | None = None, *, run_jobs: bool = True) -> FastAPI:
    """Build the planner service.

    Parameters
    ----------
    settings
        Defaults to ``Settings()`` (the ``TRADELANE_*`` environment).
    run_jobs
        Start the job runner (solver processes). Off, jobs are stored and wait in the queue.

    Returns
    -------
    FastAPI
        Start-up migrates the database and starts the runner (which re-queues the jobs whose
        lease has expired, on start-up and periodically); shutdown stops the runner and puts
        its running jobs back in the queue.
    """
    from api.routes import artifacts, health, networks, plans, risk, routes

    settings = settings or Settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        engine = make_engine(settings.database_url)
        migrate(engine)
        store = JobStore(engine, max_queued=settings.max_queued)
        if store.is_sqlite:
            logger.warning(
                "the job store is an SQLite file: run only one tradelane serve "
                "process on it; several servers need PostgreSQL "
                "(TRADELANE_DATABASE_URL=postgresql+psycopg://...)"
            )
        networks = NetworkStore(engine)

        def on_progress(job_id: str, report: dict[str, Any]) -> None:
            networks.save_progress(
                job_id,
                phase=str(report.get("phase", "")),
                elapsed_s=float(report.get("elapsed_s", 0.0)),
                best_objective=report.get("best_objective"),
                bound=report.get("bound"),
            )

        runner = (
            JobRunner(
                store,
                solver=settings.solver,
                workers=settings.workers,
                kill_grace_s=settings.kill_grace_s,
                poll_interval_s=settings.poll_interval_s,
                max_attempts=settings.max_attempts,
                lease_s=settings.lease_s,
                heartbeat_s=settings.heartbeat_s,
                on_progress=on_progress,
            )
            if run_jobs
            else None
        )
        app.state.store = store
        app.state.networks = networks
        app.state.runner = runner
        if runner is not None:
            runner.start()
        logger.info(
            "tradelane service ready: %d tenant key(s), %d worker(s)",
            len(settings.keys),
            settings.workers,
        )
        try:
            yield
        finally:
            if runner is not None:
                runner.stop()
            engine.dispose()

    from fastapi import Depends

    from api.deps import no_unknown_query

    app = FastAPI(
        dependencies=[Depends(no_unknown_query)],
        title="tradelane planner",
        version="1",
        summary="Plans stock, lanes and fulfilment under a 72-hour promise; routes last-mile "
        "deliveries.",
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.limiter = RateLimiter(settings.rate_per_s, settings.rate_burst)
    app.state.runner = None
    install_error_handlers(app)
    app.include_router(health.router)
    app.include_router(plans.router)
    app.include_router(artifacts.router)
    app.include_router(networks.router)
    app.include_router(risk.router)
    app.include_router(routes.router)
    from api import console

    console.install(app)
    app.add_middleware(BodySizeLimit, max_bytes=settings.max_body_bytes)
    # Responses over 1 kB are gzipped for clients that accept it (the plan page's rows and
    # GeoJSON shrink about tenfold).
    app.add_middleware(GZipMiddleware, minimum_size=1024, compresslevel=6)
    app.add_middleware(InternalErrors)  # outermost: catches what the others raise
    install_openapi(app)
    return app


def install_openapi(app: FastAPI) -> None:
    """Publish the document schemas (``Scenario``, ``Network``, ``DemandRow``) the request bodies
    refer to, in the generated OpenAPI document."""
    from fastapi.openapi.utils import get_openapi

    from api.documents import components

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            doc = get_openapi(
                title=app.title, version=app.version, summary=app.summary, routes=app.routes
            )
            doc.setdefault("components", {}).setdefault("schemas", {}).update(components())
            app.openapi_schema = doc
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


def unknown_path_detail(request: Request) -> str | None:
    """The message of a 404 for a path no route serves, where a better one than "Not Found"
    exists: a file of a plan (``/v1/plans/{id}/<file>``) that is no plan file lists the files."""
    import re

    m = re.fullmatch(r"/v1/plans/[^/]+/([^/]+)", request.url.path)
    if m is None or request.method not in ("GET", "HEAD"):
        return None
    from api.routes.artifacts import unknown_kind

    return str(unknown_kind(m.group(1)).detail)


def allowed_methods(app: Any, path: str) -> list[str]:
    """The methods the OpenAPI document lists for ``path`` (for the ``Allow`` header of a 405)."""
    import re

    methods: set[str] = set()
    for template, ops in app.openapi().get("paths", {}).items():
        pattern = "^" + re.sub(r"\\{[^/]+?\\}", "[^/]+", re.escape(template)) + "$"
        if re.match(pattern, path):
            methods |= {m.upper() for m in ops if m.upper() in _METHODS}
    return sorted(methods)


_METHODS = {"GET", "PUT", "POST", "DELETE", "PATCH", "OPTIONS", "HEAD"}
