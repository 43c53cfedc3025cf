"""FastAPI dependencies: settings, store, runner and the authenticated tenant.

Routes declare what they need with the ``Annotated`` aliases (``TenantDep``, ``StoreDep``, …);
the objects themselves live on ``app.state`` (built by :func:`api.main.create_app`).
"""

from __future__ import annotations

import json
import logging
import math
from collections.abc import Callable, Coroutine
from typing import Annotated, Any

from fastapi import Depends, HTTPException, Request, Response, Security, status
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from api.auth import Principal, RateLimiter, authenticate
from api.config import Settings
from api.network_store import NetworkStore
from api.store import JobStore
from api.worker import JobRunner

__all__ = [
    "JSONBodyRoute",
    "NetworksDep",
    "PrincipalDep",
    "RunnerDep",
    "SettingsDep",
    "StoreDep",
    "TenantDep",
    "invalid_json",
    "no_unknown_query",
]

logger = logging.getLogger(__name__)

bearer = HTTPBearer(
    auto_error=False,
    description="`Authorization: Bearer <key>`; keys are "
    "configured per tenant in TRADELANE_API_KEYS.",
)


def get_settings(request: Request) -> Settings:
    """The app's settings."""
    return request.app.state.settings  # type: ignore[no-any-return]


def get_store(request: Request) -> JobStore:
    """The app's job store."""
    return request.app.state.store  # type: ignore[no-any-return]


def get_networks(request: Request) -> NetworkStore:
    """The app's store of networks, plan artifacts and progress."""
    return request.app.state.networks  # type: ignore[no-any-return]


def get_runner(request: Request) -> JobRunner | None:
    """The app's job runner (None when the app was built without one)."""
    return request.app.state.runner  # type: ignore[no-any-return]


def get_principal(
    request: Request,
    creds: Annotated[HTTPAuthorizationCredentials | None, Security(bearer)],
) -> Principal:
    """Authenticate the bearer key and charge one token of its rate limit.

    Raises
    ------
    HTTPException
        401 without a valid key, 429 when the key's bucket is empty.
    """
    settings: Settings = request.app.state.settings
    header = f"Bearer {creds.credentials}" if creds is not None else None
    who = authenticate(header, settings.keys)
    if who is None:
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED,
            "missing or invalid API key",
            headers={"WWW-Authenticate": "Bearer"},
        )
    limiter: RateLimiter = request.app.state.limiter
    wait = limiter.acquire(who.key_id)
    if wait > 0:
        logger.info("rate limit hit by tenant %s (key %s)", who.tenant, who.key_id)
        raise HTTPException(
            status.HTTP_429_TOO_MANY_REQUESTS,
            "rate limit exceeded",
            headers={"Retry-After": str(max(1, math.ceil(wait)))},
        )
    return who


def no_unknown_query(request: Request) -> None:
    """Refuse query parameters the route does not declare (422), as its OpenAPI document says.

    A misspelt ``?limt=5`` silently ignored would answer a question nobody asked.
    """
    if not request.query_params:
        return
    from fastapi.exceptions import RequestValidationError

    route = request.scope.get("route")
    template = getattr(route, "path_format", None) or getattr(route, "path", None)
    op = request.app.openapi().get("paths", {}).get(template, {}).get(request.method.lower())
    if op is None:  # not part of the documented API (the console's pages declare their own)
        return
    known = {p["name"] for p in op.get("parameters", []) if p.get("in") == "query"}
    unknown = [k for k in request.query_params if k not in known]
    if unknown:
        raise RequestValidationError(
            [
                {
                    "loc": ("query", k[:50]),
                    "type": "extra_forbidden",
                    "msg": "unknown query parameter",
                }
                for k in dict.fromkeys(unknown)
            ]
        )


def get_tenant(who: Annotated[Principal, Depends(get_principal)]) -> str:
    """The authenticated tenant's name."""
    return who.tenant


SettingsDep = Annotated[Settings, Depends(get_settings)]
StoreDep = Annotated[JobStore, Depends(get_store)]
NetworksDep = Annotated[NetworkStore, Depends(get_networks)]
RunnerDep = Annotated[JobRunner | None, Depends(get_runner)]
PrincipalDep = Annotated[Principal, Depends(get_principal)]
TenantDep = Annotated[str, Depends(get_tenant)]


def invalid_json(e: json.JSONDecodeError) -> HTTPException:
    """The 400 of a body that is not JSON, naming the line and column."""
    return HTTPException(
        status.HTTP_400_BAD_REQUEST, f"invalid JSON at line {e.lineno} column {e.colno}: {e.msg}"
    )


def is_json_media(content_type: str | None) -> bool:
    """``application/json`` or ``application/*+json`` (parameters such as charset aside)."""
    media = (content_type or "").split(";")[0].strip().lower()
    return media == "application/json" or (
        media.startswith("application/") and media.endswith("+json")
    )


def _body_error(msg: str) -> RequestValidationError:
    """A 422 on the whole body (``loc ["body"]``), shaped like every other 422."""
    return RequestValidationError([{"type": "value_error", "loc": ("body",), "msg": msg}])


class JSONBodyRoute(APIRoute):
    """A route whose body is a JSON object, answering bad bodies as the networks routes do.

    FastAPI parses the body before it resolves the dependencies, so a malformed body was a 422
    with a character offset (``["body", 14]``) even without an API key, and a body of another
    media type a 422 "Input should be a valid dictionary". Here the key is checked first (401,
    429), then the media type (a body without ``Content-Type`` is refused too), then the JSON
    itself. Both stay 422s with the ``body`` field, as DESIGN §8 promises for bad input on these
    routes (the networks routes, added later, answer 415 and 400), and now say what is wrong:
    ``send the body as application/json (got text/plain)``, ``invalid JSON at line 1 column 2:
    ...``.
    """

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def checked(request: Request) -> Response:
            try:
                return await handler(request)
            except RequestValidationError as exc:
                bad = next((e for e in exc.errors() if e.get("type") == "json_invalid"), None)
                if bad is not None and isinstance(exc.body, str):
                    # raised before the dependencies ran: the key first
                    get_principal(request, await bearer(request))
                    pos = bad["loc"][1] if len(bad["loc"]) > 1 else 0
                    msg = str((bad.get("ctx") or {}).get("error", "invalid JSON"))
                    e = json.JSONDecodeError(msg, exc.body, int(pos))
                    raise _body_error(
                        f"invalid JSON at line {e.lineno} column {e.colno}: {e.msg}"
                    ) from None
                whole_body = all(tuple(e.get("loc", ())) == ("body",) for e in exc.errors())
                if (
                    whole_body
                    and request.method in ("POST", "PUT", "PATCH")
                    and not is_json_media(request.headers.get("content-type"))
                ):  # the body as a whole could not be read (the key was checked): field errors
                    # of a body that parsed keep their path (DESIGN §8)
                    got = request.headers.get("content-type", "")[:100] or "no Content-Type"
                    raise _body_error(f"send the body as application/json (got {got})") from None
                raise
            except HTTPException as exc:
                if exc.status_code == 400 and exc.detail == "There was an error parsing the body":
                    get_principal(request, await bearer(request))  # the key first
                    raise HTTPException(
                        status.HTTP_400_BAD_REQUEST, "body is not UTF-8 JSON"
                    ) from None
                raise

        return checked
