"""``tradelane nightly --config nightly.toml``: re-plan every configured scenario and diff it
against the previous night (see ``api/nightly.py`` for the configuration)."""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import os
import shutil
import signal
import sys
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path

from api.commands._common import InputError, check_database_url, check_out_dir

#: the longest Unix socket path this allows under its temporary folder (Linux: 107 bytes)
UNIX_PATH_MAX = 100
#: exit code after SIGTERM, as a shell reports a command killed by it
EXIT_TERMINATED = 128 + int(signal.SIGTERM)


class _Terminated(BaseException):
    """SIGTERM arrived (not an ``Exception``: nothing on the way may take it for a failure)."""


@contextlib.contextmanager
def _sigterm_raises() -> Iterator[None]:
    """Turn SIGTERM into :class:`_Terminated` while planning, so the ``finally`` blocks on the
    way out run: the executor stops its worker processes (and so their solves) instead of
    leaving them behind, which the default SIGTERM (the process just ends) did."""
    if threading.current_thread() is not threading.main_thread():
        yield  # signal handlers belong to the main thread
        return

    def stop(_signum: int, _frame: object) -> None:
        raise _Terminated

    before = signal.signal(signal.SIGTERM, stop)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, before)


@contextlib.contextmanager
def _private_tmp() -> Iterator[None]:
    """The worker processes' temporary files in a folder of this run, removed at its end: a
    worker stopped on SIGTERM cannot remove its own (multiprocessing's ``pymp-*`` folders
    with a fork server's socket were left in the temporary folder by every stopped night).
    Skipped where the folder's path would make the socket's too long for a Unix socket (about
    100 characters: ``…/pymp-XXXXXXXX/listener-XXXXXXXX``)."""
    tmp = tempfile.mkdtemp(prefix="tl-")
    if len(tmp) + len("/pymp-xxxxxxxx/listener-xxxxxxxx") > UNIX_PATH_MAX:
        os.rmdir(tmp)
        yield
        return
    before = os.environ.get("TMPDIR")
    os.environ["TMPDIR"] = tmp
    try:
        yield
    finally:
        if before is None:
            os.environ.pop("TMPDIR", None)
        else:
            os.environ["TMPDIR"] = before
        shutil.rmtree(tmp, ignore_errors=True)


def _ids(ids: list[str], show: int = 6) -> str:
    """Warehouse ids for one line: ``-`` for none, the first ``show`` and how many more.

    >>> _ids([]), _ids(["WH-A", "WH-B"]), _ids([f"W{i}" for i in range(9)], show=3)
    ('-', 'WH-A, WH-B', 'W0, W1, W2 and 6 more')
    """
    if not ids:
        return "-"
    more = f" and {len(ids) - show} more" if len(ids) > show else ""
    return ", ".join(ids[:show]) + more


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "nightly",
        help="re-plan every configured scenario, store the plans and "
        "write a diff against the previous night",
    )
    p.add_argument("--config", required=True, metavar="TOML", help="the nightly configuration")
    p.add_argument(
        "--date", metavar="YYYY-MM-DD", help="run date the plans are stored under (default: today)"
    )
    p.add_argument("--out", metavar="DIR", help="report folder (default: the config's out_dir)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from pydantic import ValidationError

    from api.config import Settings
    from api.nightly import NightlyConfigError, read_config, run_nightly
    from api.store import JobStore, make_engine, migrate

    try:
        cfg = read_config(args.config)
    except NightlyConfigError as e:
        raise InputError(*e.lines) from None
    try:
        run_date = dt.date.fromisoformat(args.date) if args.date else dt.date.today()
    except ValueError:
        raise InputError(f"--date: expected YYYY-MM-DD, got {args.date!r}") from None
    try:
        settings = Settings(database_url=cfg.database_url) if cfg.database_url else Settings()
    except ValidationError as e:
        raise InputError(
            *(
                f"TRADELANE_{'_'.join(map(str, err['loc'])).upper()}: {err['msg']}"
                for err in e.errors(include_url=False)
            )
        ) from None
    from api.worker import resolve

    try:
        resolve(settings.solver)  # as serve does: a setting, not every scenario's failure
    except ValueError as e:
        raise InputError(f"TRADELANE_SOLVER: {e}") from None
    check_database_url(
        settings.database_url,
        f"{args.config}: database_url" if cfg.database_url else "TRADELANE_DATABASE_URL",
    )
    root = Path(args.out) if args.out else cfg.base / cfg.out_dir
    check_out_dir(root / run_date.isoformat(), "--out" if args.out else f"{args.config}: out_dir")
    engine = make_engine(settings.database_url)
    try:
        with _sigterm_raises(), _private_tmp():
            migrate(engine)
            outcomes = run_nightly(
                cfg,
                store=JobStore(engine),
                solver=settings.solver,
                run_date=run_date,
                out_dir=args.out,
                kill_grace_s=settings.kill_grace_s,
            )
    except _Terminated:
        # the solves were stopped on the way out (their processes too); what was stored is kept
        print(
            f"nightly {run_date.isoformat()}: stopped by SIGTERM; the scenarios not yet "
            "reported above are not planned",
            file=sys.stderr,
        )
        return EXIT_TERMINATED
    finally:
        engine.dispose()
    failed = bad_input = 0
    for o in outcomes:
        if o.status != "succeeded" or o.diff is None:
            failed += 1
            bad_input += o.bad_input
            print(f"{o.name}: FAILED: {o.error}")
            continue
        d = o.diff
        obj = d["objective"]["delta"]
        since = d["previous_run_date"] or "no previous run"
        took = "" if o.seconds is None else f" in {o.seconds:.2f} s"
        print(
            f"{o.name}: planned ({o.plan_status or 'status unknown'}{took}); vs {since}: cost "
            f"{'n/a' if obj is None else f'{obj:+,.2f}'}, "
            f"{len(d['stock'])} stock change(s), opened {_ids(d['warehouses_opened'])}, "
            f"closed {_ids(d['warehouses_closed'])} -> {o.out_dir}"
        )
    print(f"nightly {run_date.isoformat()}: {len(outcomes) - failed} planned, {failed} failed")
    # 2 when every failure was a scenario's bad input, as for the other commands
    return 0 if not failed else 2 if bad_input == failed else 1
