"""The ``tradelane`` command line.

Each subcommand lives in ``api/commands/<name>.py`` and exposes ``register(subparsers)``, which
adds its parser and sets ``func``. Heavy imports happen inside the command functions, so
``tradelane --help`` stays fast.

Exit codes: 0 success, 1 internal error (a bug: reported in one line, ``--debug`` for the
traceback) or an output that could not be written (one line naming it), 2 bad input (every
problem on its own line, naming the item), 130 interrupted, 141 standard output closed by its
reader (``tradelane paths … --json | head``: the command ends quietly, as one killed by
SIGPIPE would).
"""

from __future__ import annotations

import argparse
import importlib
import importlib.util
import logging
import os
import re
import select
import signal
import sys
import time
from collections.abc import Sequence
from typing import Any

from api.commands._common import InputError, OutputError, UnavailableError
from optimizer.exceptions import ExecutorError, TimeLimitError

COMMANDS = (
    "validate",
    "paths",
    "generate",
    "plan",
    "simulate",
    "whatif",
    "route",
    "bench",
    "serve",
    "nightly",
)


def _version() -> str:
    """The installed distribution's version (``unknown`` when run from a source tree that was
    never installed)."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("tradelane")
    except PackageNotFoundError:
        return "unknown"


def build_parser() -> argparse.ArgumentParser:
    """The top-level parser with every available subcommand registered."""
    parser = argparse.ArgumentParser(
        prog="tradelane",
        description="Cross-border fulfilment optimiser: stock, lanes, allocation and routes "
        "under a 72-hour promise.",
    )
    parser.add_argument("--debug", action="store_true", help="show tracebacks of internal errors")
    parser.add_argument("-v", "--verbose", action="count", default=0, help="more log output")
    parser.add_argument("--version", action="version", version=f"%(prog)s {_version()}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name in COMMANDS:
        if importlib.util.find_spec(f"api.commands.{name}") is None:
            continue
        importlib.import_module(f"api.commands.{name}").register(sub)
    return parser


def process_started() -> float:
    """``time.perf_counter()`` at this process's start (Python's own start and the imports
    before :func:`main` count against a time limit); now where the start time is unknown."""
    now = time.perf_counter()
    age = process_age()
    return now if age is None else now - max(age, 0.0)


def process_age() -> float | None:
    """Seconds since this process started (None where unknown).

    On Linux from ``/proc/self/stat``'s start time and the boot-time clock, both counted from
    the boot (to the clock tick, 10 ms). Elsewhere from psutil: its start time on Linux rests
    on a boot time rounded to the second and on the wall clock, which drifts from the boot
    clock (it made processes on a test machine 0.95 s older than they were).
    """
    try:
        with open("/proc/self/stat", "rb") as f:
            stat = f.read()
        # fields after the command name (in parentheses); the start time is field 22
        ticks = int(stat.rsplit(b")", 1)[1].split()[19])
        return time.clock_gettime(time.CLOCK_BOOTTIME) - ticks / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError, AttributeError):
        pass
    try:
        import psutil

        return time.time() - float(psutil.Process().create_time())
    except Exception:  # pragma: no cover - no process table (sandboxes)
        return None


_NEGATIVE = re.compile(r"^-[0-9.]")


def join_negative_values(argv: Sequence[str]) -> list[str]:
    """``--flag -1,2`` as ``--flag=-1,2``.

    argparse takes a value that starts with a dash for an option unless it is one plain
    negative number, so ``--time-limit -1,2`` or ``--best-known -1e3`` failed with "expected
    one argument" instead of reaching the flag's own check. No option name starts with a dash
    and a digit, so such a word after a long option is always that option's value.
    """
    out: list[str] = []
    for a in argv:
        if out and _NEGATIVE.match(a) and out[-1].startswith("--") and "=" not in out[-1]:
            out[-1] = f"{out[-1]}={a}"
        else:
            out.append(a)
    return out


#: Exit code when standard output's reader has gone: 128 + SIGPIPE, as a shell reports a
#: command killed by it (Python ignores SIGPIPE, so the write fails with EPIPE instead).
EXIT_PIPE_CLOSED = 128 + int(getattr(signal, "SIGPIPE", 13))


def stdout_reader_gone() -> bool:
    """Whether standard output is a pipe whose reading end is closed (a ``BrokenPipeError``
    from elsewhere, a socket or a worker's pipe, stays an internal error)."""
    try:
        fd = sys.stdout.fileno()
    except (AttributeError, OSError, ValueError):
        return False
    if not hasattr(select, "poll"):  # pragma: no cover - Windows: no poll, no SIGPIPE
        return True
    poller = select.poll()
    poller.register(fd, select.POLLOUT)
    try:
        return any(ev & (select.POLLERR | select.POLLHUP) for _, ev in poller.poll(0))
    except OSError:  # pragma: no cover
        return False


def _end_quietly() -> int:
    """Standard output's reader has gone: later writes (the interpreter's last flush among
    them) go to the null device, and nothing is said."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (AttributeError, OSError, ValueError):  # pragma: no cover - no file descriptor
        pass
    return EXIT_PIPE_CLOSED


def scenario_problems(e: BaseException) -> list[Any] | None:
    """The problems of ``e`` when it is a ``network.scenario.ScenarioError``, else None.

    This module does not import ``network.scenario`` (it imports pydantic and pandas): the worker
    processes that ``tradelane route`` and ``plan`` spawn re-import the command's main module,
    this one, and a 3-s routing limit ran out while they were still importing pandas. A
    command that can raise a ScenarioError has imported the module already.
    """
    scenario = sys.modules.get("network.scenario")
    if scenario is not None and isinstance(e, scenario.ScenarioError):
        return list(e.problems)
    return None


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; returns the exit code (also used as the console script)."""
    try:
        try:
            return _main(argv)
        finally:
            # output still buffered meets a closed pipe here rather than at the interpreter's
            # exit ("Exception ignored ... BrokenPipeError", exit 120)
            sys.stdout.flush()
    except BrokenPipeError:
        return _end_quietly()


def _main(argv: Sequence[str] | None) -> int:
    # a --time-limit covers the whole command: from the process's start when run as the
    # command, from this call when called from code with arguments
    started = process_started() if argv is None else time.perf_counter()
    parser = build_parser()
    args = parser.parse_args(join_negative_values(sys.argv[1:] if argv is None else argv))
    args.started = started
    logging.basicConfig(
        level=logging.WARNING - 10 * min(args.verbose, 2),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    if args.verbose < 2:
        # Dask's own INFO lines (every cancelled key, every slow event loop) drown the CLI's;
        # its warnings still show
        logging.getLogger("distributed").setLevel(logging.WARNING)
    try:
        code = args.func(args)
    except InputError as e:
        for line in e.lines:
            print(f"error: {line}", file=sys.stderr)
        return 2
    except TimeLimitError as e:
        # a limit shorter than the scenario can keep, from a command other than plan's check
        print(f"error: --time-limit: {e}", file=sys.stderr)
        return 2
    except (OutputError, ExecutorError, UnavailableError) as e:
        # the input was fine: the disk, the cluster or the database
        print(f"error: {e}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except Exception as e:
        problems = scenario_problems(e)
        if problems is not None:
            for p in problems:
                print(f"error: {p}", file=sys.stderr)
            print(f"{len(problems)} problem(s) found", file=sys.stderr)
            return 2
        if isinstance(e, BrokenPipeError) and stdout_reader_gone():
            raise  # main ends quietly
        if args.debug:
            raise
        print(
            f"internal error: {type(e).__name__}: {e} (run with --debug for details)",
            file=sys.stderr,
        )
        return 1
    return int(code or 0)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
