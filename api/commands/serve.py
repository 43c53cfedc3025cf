"""``tradelane serve``: run the planner service (FastAPI under uvicorn)."""

from __future__ import annotations

import argparse

from api.commands._common import InputError


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser(
        "serve",
        help="run the HTTP planner service (OpenAPI at /docs)",
        description="Settings come from TRADELANE_* variables: "
        "TRADELANE_DATABASE_URL, TRADELANE_API_KEYS (tenant:key,...), "
        "TRADELANE_WORKERS, ... (see api/config.py). Several servers may share one PostgreSQL "
        "database (jobs are leased: TRADELANE_LEASE_S, TRADELANE_HEARTBEAT_S); an SQLite file "
        "takes one server process.",
    )
    p.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    p.add_argument("--port", type=int, default=8000, help="port (default 8000)")
    p.add_argument(
        "--workers",
        type=int,
        metavar="N",
        help="solver processes at once (default TRADELANE_WORKERS or 1)",
    )
    p.add_argument(
        "--log-level", default="info", choices=["critical", "error", "warning", "info", "debug"]
    )
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import uvicorn
    from pydantic import ValidationError

    from api.config import Settings
    from api.main import create_app

    if not 0 < args.port < 65536:
        raise InputError(f"--port: must be in 1..65535, got {args.port}")
    try:
        settings = Settings(**({"workers": args.workers} if args.workers is not None else {}))
    except ValidationError as e:
        raise InputError(
            *(
                f"TRADELANE_{'_'.join(map(str, err['loc'])).upper()}: {err['msg']}"
                for err in e.errors(include_url=False)
            )
        ) from None
    if not settings.keys:
        import logging

        logging.getLogger(__name__).warning(
            "TRADELANE_API_KEYS is empty: every /v1 request will be refused with 401"
        )
    uvicorn.run(
        create_app(settings),
        host=args.host,
        port=args.port,
        log_level=args.log_level,
        timeout_graceful_shutdown=10,
    )
    return 0
