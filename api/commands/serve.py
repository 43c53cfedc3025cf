"""``tradelane serve``: run the planner service (FastAPI under uvicorn).

Before the server starts, the settings, the port and the database are checked; each problem is
one line ``error: ...`` (a database URL's password masked) and the exit code is 2 for bad
configuration, 1 for a database that cannot be reached or a port that is taken.
"""

from __future__ import annotations

import argparse
import atexit
import logging
import signal
from typing import TYPE_CHECKING, Any

from api.commands._common import InputError, UnavailableError, check_database_url

if TYPE_CHECKING:
    from api.config import Settings


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser(
        "serve",
        help="run the HTTP planner service (OpenAPI at /docs)",
        description="Settings come from TRADELANE_* variables: "
        "TRADELANE_DATABASE_URL, TRADELANE_API_KEYS (tenant:key,...), "
        "TRADELANE_WORKERS, ... (see api/config.py). Several servers may share one PostgreSQL "
        "database (jobs are leased: TRADELANE_LEASE_S, TRADELANE_HEARTBEAT_S); an SQLite file "
        "takes one server process. Exit codes: 2 bad settings, 1 database unreachable or "
        "port taken.",
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
        "--log-level",
        default="info",
        choices=["critical", "error", "warning", "info", "debug"],
        help="level of the service's own log lines (jobs queued, started, finished) and of "
        "the HTTP server's (default info; -v still adds detail)",
    )
    p.add_argument(
        "--log-format",
        default="text",
        choices=["text", "json"],
        help="json: one JSON object per line (time, level, logger, message, exception), the "
        "HTTP server's lines included (default text)",
    )
    p.set_defaults(func=run)


def load_settings(args: argparse.Namespace) -> Settings:
    """The ``TRADELANE_*`` settings, with every problem as one line naming the variable.

    Raises
    ------
    InputError
        For an invalid value, a solver or router that cannot be imported.
    """
    from pydantic import ValidationError

    from api.config import Settings
    from api.worker import resolve

    try:
        settings = Settings(**({"workers": args.workers} if args.workers is not None else {}))
    except ValidationError as e:
        lines = []
        for err in e.errors(include_url=False):
            msg = str(err["msg"]).removeprefix("Value error, ")
            if err["loc"]:
                lines.append(f"TRADELANE_{'_'.join(map(str, err['loc'])).upper()}: {msg}")
            else:
                lines.append(msg)
        raise InputError(*lines) from None
    problems = []
    for name, path in (("SOLVER", settings.solver), ("ROUTER", settings.router)):
        try:
            resolve(path)
        except ValueError as e:
            problems.append(f"TRADELANE_{name}: {e}")
    if problems:
        raise InputError(*problems)
    return settings


def check_port(host: str, port: int) -> None:
    """Raise :class:`UnavailableError` if ``host:port`` cannot be bound (before migrating)."""
    import socket

    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except socket.gaierror as e:
        raise InputError(f"--host: cannot resolve {host!r}: {e.strerror}") from None
    family, kind, proto, _, addr = infos[0]
    with socket.socket(family, kind, proto) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as uvicorn binds
        try:
            s.bind(addr)
        except OSError as e:
            raise UnavailableError(
                f"--port: cannot listen on {host}:{port}: {e.strerror}"
            ) from None


def set_log_level(name: str) -> None:
    """Let the service's loggers (``api.*``) through at ``--log-level`` (or at ``-v``'s level
    when that is more verbose)."""
    level = getattr(logging, name.upper())
    root = logging.getLogger().getEffectiveLevel()
    logging.getLogger("api").setLevel(min(level, root))


class JsonFormatter(logging.Formatter):
    """One JSON object per record: ``time``, ``level``, ``logger``, ``message`` and, for an
    error with a traceback, ``exception``."""

    def format(self, record: logging.LogRecord) -> str:
        import json

        out = {
            "time": self.formatTime(record, "%Y-%m-%dT%H:%M:%S") + f".{int(record.msecs):03d}",
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        if record.exc_info:
            out["exception"] = self.formatException(record.exc_info)
        return json.dumps(out, ensure_ascii=False)


def use_json_logs() -> None:
    """Format every handler of the root logger as :class:`JsonFormatter`."""
    for handler in logging.getLogger().handlers:
        handler.setFormatter(JsonFormatter())


def _exit_handlers_then_die_of(sig: int, _frame: Any) -> None:
    """SIGTERM after uvicorn's graceful shutdown: uvicorn re-raises the signal with the
    handler it found, and with the default one the process died before its exit handlers ran
    (each stop of the service left the fork server's socket directory, ``pymp-*``, in the
    temporary folder, and the logs unflushed). Run them, then die of the signal as before, so
    that a supervisor still sees a stop by SIGTERM."""
    atexit._run_exitfuncs()
    signal.signal(sig, signal.SIG_DFL)
    signal.raise_signal(sig)


def run(args: argparse.Namespace) -> int:
    import uvicorn
    from uvicorn.config import LOGGING_CONFIG

    from api.main import create_app

    if not 0 < args.port < 65536:
        raise InputError(f"--port: must be in 1..65535, got {args.port}")
    set_log_level(args.log_level)
    if args.log_format == "json":
        use_json_logs()
    settings = load_settings(args)
    check_port(args.host, args.port)
    check_database_url(settings.database_url, "TRADELANE_DATABASE_URL", migrate=True)
    if not settings.keys:
        logging.getLogger(__name__).warning(
            "TRADELANE_API_KEYS is empty: every /v1 request will be refused with 401"
        )
    # (SIGINT's own handler raises KeyboardInterrupt: the exit handlers run)
    signal.signal(signal.SIGTERM, _exit_handlers_then_die_of)
    uvicorn.run(
        create_app(settings),
        host=args.host,
        port=args.port,
        log_level=args.log_level,
        # json: uvicorn's loggers go through the root logger's (JSON) handler
        log_config=None if args.log_format == "json" else LOGGING_CONFIG,
        timeout_graceful_shutdown=10,
    )
    return 0
