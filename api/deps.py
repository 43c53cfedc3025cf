"""FastAPI dependencies: settings, store, runner and the authenticated tenant.

Routes declare what they need with the ``Annotated`` aliases (``TenantDep``, ``StoreDep``, …);
the objects themselves live on ``app.state`` (built by :func:`api.main.create_app`).
"""

from __future__ import annotations

import logging
import math
from typing import Annotated

from fastapi import Depends, HTTPException, Request, Security, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from api.auth import Principal, RateLimiter, authenticate
from api.config import Settings
from api.network_store import NetworkStore
from api.store import JobStore
from api.worker import JobRunner

__all__ = [
    "NetworksDep",
    "PrincipalDep",
    "RunnerDep",
    "SettingsDep",
    "StoreDep",
    "TenantDep",
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
