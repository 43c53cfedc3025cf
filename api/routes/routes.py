"""``POST /v1/routes``: solve one day's last-mile routing, synchronously, in a solver process."""

from __future__ import annotations

import logging
import re
import threading

from fastapi import APIRouter, HTTPException, Request, status
from fastapi.exceptions import RequestValidationError

from api.convert import RequestProblemsError, route_problems
from api.deps import JSONBodyRoute, SettingsDep, TenantDep
from api.schemas import ErrorResponse, RouteCreate, RoutesPublic
from api.worker import SolverUnavailableError, run_isolated

router = APIRouter(prefix="/v1/routes", tags=["routes"], route_class=JSONBodyRoute)
logger = logging.getLogger(__name__)


def _slots(request: Request, n: int) -> threading.BoundedSemaphore:
    sem = getattr(request.app.state, "route_slots", None)
    if sem is None:
        sem = request.app.state.route_slots = threading.BoundedSemaphore(n)
    return sem  # type: ignore[no-any-return]


def _refusal(body: RouteCreate, msg: str) -> RequestValidationError:
    """The solver's refusal of a request as a 422 with a field path, as every other bad input:
    ``time_limit_s`` for a limit too short, else the order the message names (``orders[k]``),
    else ``orders``. The instance's internal name is left out of the message."""
    msg = msg.removeprefix("api-request: ")
    loc: tuple[str | int, ...] = ("body", "orders")
    if "time limit" in msg:
        loc = ("body", "time_limit_s")
    else:
        named = re.search(r"client '([^']*)'", msg)
        ids = [o.id for o in body.orders]
        if named and named.group(1) in ids:
            loc = ("body", "orders", ids.index(named.group(1)))
    return RequestValidationError([{"loc": loc, "type": "value_error", "msg": msg}])


@router.post(
    "",
    response_model=RoutesPublic,
    operation_id="solve_routes",
    responses={s: {"model": ErrorResponse} for s in (400, 401, 413, 422, 429, 503, 504)},
)
def solve_routes(
    body: RouteCreate, tenant: TenantDep, settings: SettingsDep, request: Request
) -> RoutesPublic:
    """Route the orders from the depots with the fleet; orders that fit no route go to a parcel
    carrier at ``parcel_cost`` (never silently dropped). At most ``routes_time_limit_s``."""
    problems = route_problems(body)
    if problems:
        raise RequestProblemsError(problems)
    if body.time_limit_s > settings.routes_time_limit_s:
        raise RequestValidationError(
            [
                {
                    "loc": ("body", "time_limit_s"),
                    "type": "less_than_equal",
                    "msg": "Input should be less than or equal to "
                    f"{settings.routes_time_limit_s:g} "
                    "(synchronous routing limit)",
                }
            ]
        )
    sem = _slots(request, settings.workers)
    if not sem.acquire(timeout=5):
        raise HTTPException(
            status.HTTP_503_SERVICE_UNAVAILABLE,
            "all routing slots busy",
            headers={"Retry-After": "5"},
        )
    try:
        out = run_isolated(
            settings.router,
            body.model_dump(),
            time_limit_s=body.time_limit_s,
            seed=body.seed,
            timeout_s=body.time_limit_s + settings.kill_grace_s,
        )
    except SolverUnavailableError as e:
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, str(e)) from None
    except TimeoutError:
        raise HTTPException(
            status.HTTP_504_GATEWAY_TIMEOUT, "routing did not answer in time"
        ) from None
    except RuntimeError as e:
        kind, _, msg = str(e).partition(": ")
        if kind in ("RoutingError", "ValueError"):
            raise _refusal(body, msg or kind) from None
        logger.error("routing failed for tenant %s: %s", tenant, e)
        raise HTTPException(status.HTTP_500_INTERNAL_SERVER_ERROR, "routing failed") from None
    finally:
        sem.release()
    return RoutesPublic.model_validate(out)
