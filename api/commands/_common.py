"""Helpers shared by CLI subcommands."""

from __future__ import annotations

import argparse
import errno
import math
import sys
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from network.scenario import Scenario
    from optimizer.plan.document import Plan


class InputError(Exception):
    """Bad command-line input: one message line per problem; the CLI exits with 2."""

    def __init__(self, *lines: str):
        self.lines = list(lines)
        super().__init__("\n".join(lines))


def check_seconds(value: float | None, flag: str, *, absent: str) -> float | None:
    """``value`` of a seconds option (None: not given); InputError for one that is not a
    finite number > 0 (``absent`` says what leaving the option out does)."""
    if value is not None and not (math.isfinite(value) and value > 0):
        raise InputError(
            f"{flag}: {value!r} not understood; expected a finite number of seconds > 0 "
            f"(leave the option out for {absent})"
        )
    return value


def add_scenario_args(p: argparse.ArgumentParser) -> None:
    """``SCENARIO`` (file or directory) and ``--demand CSV``."""
    p.add_argument(
        "scenario",
        metavar="SCENARIO",
        help="scenario .json/.yaml, or a directory with network.* + demand.csv",
    )
    p.add_argument("--demand", metavar="CSV", help="demand CSV (sku,zone,units) to use")


def load(args: argparse.Namespace) -> Scenario:
    """Load the scenario named on the command line (raises ScenarioError on bad input).

    With ``--inventory CSV`` (format v1.1) the CSV's rows replace the document's
    ``inventory`` and the whole scenario is validated again, each bad row named.
    """
    from network.scenario import load_scenario

    s = load_scenario(Path(args.scenario), demand=args.demand)
    inv = getattr(args, "inventory", None)
    if inv is None:
        return s
    return with_inventory(s, Path(inv))


def with_inventory(s: Scenario, path: Path) -> Scenario:
    """The scenario with its inventory replaced by the rows of an inventory CSV."""
    from network.scenario import ScenarioError, parse_scenario
    from optimizer.plan.io import inventory_line_problems, read_inventory_rows

    try:
        # utf-8-sig: a spreadsheet's byte-order mark is not part of the first column's name
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as e:
        raise InputError(f"--inventory: cannot read {str(path)!r}: {e}") from None
    try:
        rows, lines = read_inventory_rows(text, path.name)
    except ValueError as e:
        raise InputError(*(f"--inventory: {line}" for line in str(e).splitlines())) from None
    doc = s.to_document()
    doc["inventory"] = rows
    try:
        return parse_scenario(doc, source=f"{path.name} (inventory): ")
    except ScenarioError as e:
        # the rows' problems name the CSV line, not the row's index
        raise ScenarioError(inventory_line_problems(e.problems, lines)) from None


def read_plan_file(path: str | Path, what: str) -> Plan:
    """A ``plan.json`` (or a folder holding one) as a typed plan; InputError names the file
    and, for a document that is no plan, the first bad field. ``what`` prefixes the messages
    (the option or argument the path came from)."""
    import json

    from optimizer.plan.document import Plan, PlanFormatError

    p = Path(path)
    if p.is_dir():
        p = p / "plan.json"
    try:
        doc = json.loads(p.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as e:
        raise InputError(f"{what}: cannot read {str(p)!r}: {e}") from None
    except json.JSONDecodeError as e:
        raise InputError(f"{what}: {p.name} line {e.lineno}: invalid JSON: {e.msg}") from None
    except RecursionError:
        from network.scenario import TOO_DEEP

        raise InputError(f"{what}: {p.name}: {TOO_DEEP}") from None
    try:
        return Plan.from_json(doc)
    except PlanFormatError as e:
        raise InputError(f"{what}: {p} is not a plan: {e}") from None


def require_lists(plan: Plan, path: str | Path, what: str, keys: tuple[str, ...]) -> Plan:
    """``plan`` if it has each of the ``keys`` lists, else InputError naming the first missing
    one (a plan that lacks them would read as empty: no stock, a 0 % fill rate)."""
    for key in keys:
        if getattr(plan, key) is None:
            raise InputError(f"{what}: {path} is not a plan: no {key!r} list")
    return plan


def read_previous(path: str) -> Plan:
    """A previous ``plan.json`` for ``--previous`` (InputError naming the problem)."""
    plan = read_plan_file(path, "--previous")
    return require_lists(plan, path, "--previous", ("stock", "warehouses"))


#: the lists a plan with a solution has (a plan is read for its stock, flows and sites)
PLAN_LISTS = ("stock", "warehouses", "fulfilment")


class OutputError(Exception):
    """An output that could not be written (disk full, permissions changed while solving): one
    line naming the path; the CLI exits with 1 (the input was fine)."""


def _nearest_existing(path: Path) -> Path:
    p = path.absolute()
    while not p.exists() and p != p.parent:
        p = p.parent
    return p


def _os_reason(e: OSError) -> str:
    return e.strerror or str(e)


def _check_writable_under(p: Path, flag: str, what: str) -> None:
    """InputError unless ``p`` can be created: its nearest existing ancestor is a folder in
    which a file can be made (tried, not inferred from permission bits)."""
    import tempfile

    anc = _nearest_existing(p)
    if not anc.is_dir():
        raise InputError(f"{flag}: cannot write {what!r}: {str(anc)!r} is not a directory")
    try:
        with tempfile.TemporaryFile(dir=anc):
            pass
    except OSError as e:
        # a folder that exists but takes no files (a virtual file system such as /proc)
        # answers ENOENT, which read as if the folder were missing
        why = (
            "no file can be created there"
            if e.errno == errno.ENOENT and anc.is_dir()
            else _os_reason(e)
        )
        raise InputError(f"{flag}: cannot write in {str(anc)!r}: {why}") from None


def check_out_dir(path: str | Path, flag: str) -> Path:
    """``path`` as an output folder, or InputError naming ``flag`` when it cannot be one (a
    file, under a file, or where no file can be created)."""
    p = Path(path)
    if p.exists() and not p.is_dir():
        raise InputError(f"{flag}: {str(p)!r} exists and is not a directory")
    _check_writable_under(p, flag, str(p))
    return p


def check_out_file(path: str | Path, flag: str) -> Path:
    """``path`` as an output file, or InputError naming ``flag`` when it cannot be one (a
    folder, under a file, or where no file can be created)."""
    import os

    p = Path(path)
    if p.is_dir():
        raise InputError(f"{flag}: {str(p)!r} is a directory, not a file")
    if p.exists() and not os.access(p, os.W_OK):
        raise InputError(f"{flag}: cannot write {str(p)!r}: permission denied")
    _check_writable_under(p.parent, flag, str(p))
    return p


class StagedOutput:
    """Output files written under temporary names beside their final place, moved there only
    once every one of them is whole.

    Opening one (before any long work) creates the output folder and a hidden staging folder in
    it, so an output that cannot be written is an InputError before a solve, not after it.
    Writers write into :attr:`stage`; :meth:`commit` moves the files to their final names
    (``os.replace``, atomic per file) and :meth:`discard` (also on leaving a ``with`` block
    without a commit) removes the staging folder and any folder opening created. A write that
    fails inside :meth:`writing` is one OutputError line naming the output.

    ``folder``: the output folder. ``file``: a single output file instead (``stage / name``
    is then where it is written).
    """

    def __init__(self, path: str | Path, flag: str, *, file: bool = False):
        import tempfile

        self.flag = flag
        self._file = file
        self.target = check_out_file(path, flag) if file else check_out_dir(path, flag)
        self.folder = self.target.parent if file else self.target
        self._created: list[Path] = []
        missing = []
        p = self.folder.absolute()
        while not p.exists():
            missing.append(p)
            p = p.parent
        try:
            for d in reversed(missing):
                d.mkdir()
                self._created.append(d)
            self.stage = Path(tempfile.mkdtemp(prefix=".tradelane-", dir=self.folder))
        except OSError as e:
            self._remove_created()
            raise InputError(
                f"{flag}: cannot write in {str(self.folder)!r}: {_os_reason(e)}"
            ) from None
        self._done = False

    @property
    def path(self) -> Path:
        """Where a single output file is written before :meth:`commit`."""
        return self.stage / self.target.name

    def __enter__(self) -> StagedOutput:
        return self

    def __exit__(self, *exc: object) -> None:
        self.discard()

    def writing(self) -> _Writing:
        """A ``with`` block whose OSError becomes one OutputError line."""
        return _Writing(self)

    def commit(self) -> list[Path]:
        """Move every staged file to its final name; returns the final paths."""
        import os

        pairs = []
        for src in sorted(self.stage.rglob("*")):
            if not src.is_dir():
                # only a single-file output is renamed to the target: an output folder named
                # like one of its files (`--out plan.json`) gets that file inside it
                if self._file and src == self.path:
                    dst = self.target
                else:
                    dst = self.folder / src.relative_to(self.stage)
                pairs.append((src, dst))
        # every final name is checked before the first move: all files or none
        for _src, dst in pairs:
            for q in (dst, *dst.parents):
                if q == self.folder:
                    break
                if q.is_dir() if q == dst else (q.exists() and not q.is_dir()):
                    kind = "a directory" if q == dst else "not a directory"
                    raise OutputError(
                        f"{self.flag}: cannot write {str(dst)!r}: {str(q)!r} is {kind}"
                    )
        moved = []
        with self.writing():
            for src, dst in pairs:
                dst.parent.mkdir(parents=True, exist_ok=True)
                os.replace(src, dst)
                moved.append(dst)
        self._done = True
        self.discard()
        return moved

    def discard(self) -> None:
        """Remove the staging folder (and, before a commit, the folders opening created)."""
        import shutil

        shutil.rmtree(self.stage, ignore_errors=True)
        if not self._done:
            self._remove_created()

    def _remove_created(self) -> None:
        for d in reversed(self._created):
            try:
                d.rmdir()
            except OSError:
                break
        self._created = []


class _Writing:
    def __init__(self, out: StagedOutput):
        self.out = out

    def __enter__(self) -> None:
        return None

    def __exit__(
        self, typ: type[BaseException] | None, e: BaseException | None, tb: object
    ) -> None:
        if isinstance(e, OSError):
            what = str(self.out.target)
            raise OutputError(f"{self.out.flag}: cannot write {what!r}: {_os_reason(e)}") from None


class UnavailableError(Exception):
    """A service the command needs is out of reach (a database server refusing connections):
    one line, exit 1 (the input was fine)."""


def check_database_url(url: str, what: str, *, migrate: bool = False) -> None:
    """Check that ``url`` is a database this process can open (and, with ``migrate``, bring
    its job-store schema up to date), or raise with one line naming ``what`` (an option or a
    configuration key). Messages never show the password.

    Raises
    ------
    InputError
        Bad input: an unknown scheme or driver, a malformed URL, an SQLite file whose folder
        is missing or not writable (SQLite keeps its -wal and -shm files next to the
        database) or that cannot be opened (not a database), a database that refuses the
        schema.
    UnavailableError
        A database server that cannot be reached or refuses the connection (an outage, not
        bad input).

    Notes
    -----
    Opening an SQLite URL creates its (empty) file, as its first use would.
    """
    import os

    import sqlalchemy
    from sqlalchemy.exc import (
        ArgumentError,
        DatabaseError,
        InterfaceError,
        NoSuchModuleError,
        OperationalError,
        SQLAlchemyError,
    )

    from api import store

    shown = store.mask_url(url)

    def reason(e: BaseException) -> str:
        return store.first_line(e, limit=None).replace(url, shown)

    try:
        engine = (
            store.make_engine(url)
            if migrate
            else sqlalchemy.create_engine(url, hide_parameters=True)
        )
    except (ArgumentError, NoSuchModuleError, ImportError, ValueError) as e:
        raise InputError(
            f"{what}: {shown!r} is not a database URL this can open (not a supported database "
            f"URL or driver: {reason(e)}); use sqlite:///path/to/file.db or "
            "postgresql://user@host/db"
        ) from None
    sqlite = engine.dialect.name == "sqlite"
    try:
        db = engine.url.database
        if sqlite and db and db != ":memory:" and not db.startswith("file:"):
            folder = Path(db).parent
            if not folder.exists():
                raise InputError(f"{what}: folder {str(folder)!r} of {shown!r} does not exist")
            if folder.is_dir() and not os.access(folder, os.W_OK | os.X_OK):
                raise InputError(
                    f"{what}: cannot write in folder {str(folder)!r} of {shown!r} "
                    "(SQLite keeps its -wal and -shm files next to the database)"
                )
        try:
            if migrate:
                store.migrate(engine)
            else:
                with engine.connect():
                    pass
        except (OperationalError, InterfaceError) as e:
            if sqlite:
                raise InputError(f"{what}: cannot open {shown!r}: {reason(e)}") from None
            raise UnavailableError(
                f"{what}: cannot reach {shown!r} (cannot connect: {reason(e)})"
            ) from None
        except DatabaseError as e:  # "file is not a database", a schema it refuses, ...
            raise InputError(f"{what}: cannot open {shown!r}: {reason(e)}") from None
        except SQLAlchemyError as e:
            if sqlite:
                raise InputError(f"{what}: cannot open {shown!r}: {reason(e)}") from None
            raise UnavailableError(f"{what}: cannot reach {shown!r}: {reason(e)}") from None
    finally:
        engine.dispose()


def with_progress(work: Any, limit: float, *, quiet: bool) -> Any:
    """Run ``work(say)`` while a rich status line on stderr shows the phase and elapsed time."""
    from optimizer.progress import quiet as quiet_report

    if quiet or not sys.stderr.isatty():
        return work(quiet_report)
    from rich.console import Console
    from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    console = Console(stderr=True)
    t0 = time.perf_counter()
    phase = ["starting"]
    total = limit if limit != float("inf") else None
    with Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        BarColumn(),
        TimeElapsedColumn(),
        console=console,
        transient=True,
    ) as prog:
        task = prog.add_task("starting", total=total)
        done = threading.Event()

        def tick() -> None:
            while not done.wait(0.2):
                prog.update(task, description=phase[0], completed=time.perf_counter() - t0)

        th = threading.Thread(target=tick, daemon=True)
        th.start()
        try:

            def say(text: str, /, *, best: float | None = None, bound: float | None = None) -> None:
                phase[0] = text if best is None else f"{text} (best {best:,.0f})"

            return work(say)
        finally:
            done.set()
            th.join()
