"""Columnar demand: the forecast as arrays, validated without one Python object per row.

A tier-L scenario has ~700,000 demand rows and XL millions; one pydantic model per row costs
tens of seconds. :class:`DemandTable` keeps three arrays (``sku``, ``zone``, ``units``) and still
behaves as a read-only sequence of ``(sku, zone, units)`` records, so ``for d in s.demand:
d.sku`` works. Row checks (types, non-negative finite units, known SKU and zone, duplicates)
are vectorised with numpy/pandas and every problem still names its row: ``demand[7]`` for
inline rows, ``demand.csv line 9`` for CSV rows.

>>> t = DemandTable.from_records([{"sku": "A", "zone": "Z", "units": 3}])
>>> [tuple(r) for r in t], len(t)
([('A', 'Z', 3.0)], 1)
"""

from __future__ import annotations

import csv
import io
import math
import sys
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple, overload

import numpy as np
import numpy.typing as npt
import pandas as pd

__all__ = ["MAX_PROBLEMS", "DemandRecord", "DemandTable", "RowLocations", "read_demand_csv"]

MAX_PROBLEMS = 1000  # rows reported per check before summarising the rest

F = npt.NDArray[np.float64]
B = npt.NDArray[np.bool_]


class DemandRecord(NamedTuple):
    """One demand row: units of ``sku`` in ``zone`` over the horizon."""

    sku: str
    zone: str
    units: float


class DemandTable(Sequence[DemandRecord]):
    """Read-only columnar demand (see module docstring)."""

    __slots__ = ("sku", "units", "zone")

    def __init__(self, sku: npt.ArrayLike, zone: npt.ArrayLike, units: npt.ArrayLike):
        s = np.asarray(sku, dtype=object).reshape(-1)
        z = np.asarray(zone, dtype=object).reshape(-1)
        u = np.asarray(units, dtype=np.float64).reshape(-1)
        if not (len(s) == len(z) == len(u)):
            raise ValueError("demand columns differ in length")
        for a in (s, z, u):
            a.flags.writeable = False
        self.sku, self.zone, self.units = s, z, u

    @classmethod
    def empty(cls) -> DemandTable:
        """A table with no rows."""
        return cls([], [], [])

    @classmethod
    def from_records(cls, rows: Sequence[Any]) -> DemandTable:
        """Build from mappings or records **already checked** (see :func:`check_records`)."""
        if not rows:
            return cls.empty()
        if isinstance(rows[0], dict):
            return cls(
                [r["sku"] for r in rows],
                [r["zone"] for r in rows],
                [float(r["units"]) for r in rows],
            )
        return cls([r.sku for r in rows], [r.zone for r in rows], [float(r.units) for r in rows])

    def __len__(self) -> int:
        return len(self.units)

    @overload
    def __getitem__(self, i: int) -> DemandRecord: ...
    @overload
    def __getitem__(self, i: slice) -> DemandTable: ...
    def __getitem__(self, i: int | slice) -> DemandRecord | DemandTable:
        if isinstance(i, slice):
            return DemandTable(self.sku[i], self.zone[i], self.units[i])
        return DemandRecord(self.sku[i], self.zone[i], float(self.units[i]))

    def __iter__(self) -> Iterator[DemandRecord]:
        for s, z, u in zip(self.sku.tolist(), self.zone.tolist(), self.units.tolist(), strict=True):
            yield DemandRecord(s, z, u)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, DemandTable):
            return NotImplemented
        return (
            len(self) == len(other)
            and bool(np.array_equal(self.units, other.units))
            and bool((self.sku == other.sku).all())
            and bool((self.zone == other.zone).all())
        )

    def __hash__(self) -> int:  # pragma: no cover - tables are compared, not hashed
        return hash((len(self), float(self.units.sum())))

    def __repr__(self) -> str:
        return f"DemandTable({len(self)} rows, {float(self.units.sum()):g} units)"

    def concat(self, other: DemandTable) -> DemandTable:
        """Rows of ``self`` then ``other``."""
        return DemandTable(
            np.r_[self.sku, other.sku], np.r_[self.zone, other.zone], np.r_[self.units, other.units]
        )

    def to_records(self) -> list[dict[str, Any]]:
        """The rows as v1 ``{"sku", "zone", "units"}`` mappings."""
        return [
            {"sku": s, "zone": z, "units": u}
            for s, z, u in zip(
                self.sku.tolist(), self.zone.tolist(), self.units.tolist(), strict=True
            )
        ]


@dataclass(frozen=True, slots=True)
class RowLocations:
    """Where each demand row came from: ``inline`` rows of the document, then CSV lines."""

    source: str  # prefix for the document, e.g. "network.json: "
    inline: int = 0
    csv_name: str | None = None
    csv_lines: npt.NDArray[np.int64] | None = None

    def __call__(self, i: int) -> str:
        if i < self.inline or self.csv_lines is None:
            return f"{self.source}demand[{i}]"
        return f"{self.csv_name} line {int(self.csv_lines[i - self.inline])}"


def _capped(locs: npt.NDArray[np.int64], make: Any, what: str) -> list[tuple[str, str]]:
    out = [make(int(i)) for i in locs[:MAX_PROBLEMS]]
    if len(locs) > MAX_PROBLEMS:
        out.append(("demand", f"… and {len(locs) - MAX_PROBLEMS} more rows with {what}"))
    return out


DEMAND_COLUMNS = ("sku", "zone", "units")
"""The columns (CSV) and keys (JSON rows) of demand the readers take; others are dropped."""
MAX_UNITS = 1e12
"""Largest demand units one row may hold: a trillion units of one SKU in one zone over a
horizon is a typo or a unit mix-up (the solvers' numerics break down far below 1e300)."""


def check_records(
    rows: Any, where: RowLocations
) -> tuple[DemandTable, npt.NDArray[np.int64], list[tuple[str, str]]]:
    """Type-check inline demand rows; return the good rows' table, their row numbers, problems.

    Problems are ``(location, message)`` pairs. Rows with problems are kept out of the table.
    """
    none = np.zeros(0, np.int64)
    if rows is None:
        return DemandTable.empty(), none, []
    if not isinstance(rows, list):
        return (
            DemandTable.empty(),
            none,
            [(f"{where.source}demand", "Input should be a valid list")],
        )
    kept: list[int] = []
    probs: list[tuple[str, str]] = []
    sku: list[str] = []
    zone: list[str] = []
    units: list[float] = []
    for i, r in enumerate(rows):
        if not isinstance(r, dict):
            probs.append((where(i), f"Input should be a valid dictionary (got {r!r:.60})"))
            continue
        bad = False
        here = where(i)
        if isinstance(r.get("sku"), str) and isinstance(r.get("zone"), str):
            here += f" (sku {r['sku']!r}, zone {r['zone']!r})"
        for key in ("sku", "zone"):
            v = r.get(key)
            if key not in r:
                probs.append((f"{here}.{key}", "Field required"))
                bad = True
            elif not isinstance(v, str) or not v:
                probs.append(
                    (f"{here}.{key}", f"Input should be a non-empty string (got {v!r:.60})")
                )
                bad = True
        u = r.get("units")
        if "units" not in r:
            probs.append((f"{here}.units", "Field required"))
            bad = True
        else:
            try:
                if isinstance(u, bool) or not isinstance(u, int | float | str):
                    raise TypeError
                try:
                    uf = float(u)
                except OverflowError:  # an integer past a float (JSON writes any size)
                    uf = (1 if isinstance(u, int) and u > 0 else -1) * sys.float_info.max
            except (TypeError, ValueError):
                probs.append((f"{here}.units", f"Input should be a valid number (got {u!r:.60})"))
                bad = True
            else:
                if not math.isfinite(uf):
                    probs.append(
                        (f"{here}.units", f"Input should be a finite number (got {u!r:.60})")
                    )
                    bad = True
                elif uf < 0:
                    probs.append(
                        (
                            f"{here}.units",
                            f"Input should be greater than or equal to 0 (got {u!r:.60})",
                        )
                    )
                    bad = True
                elif uf > MAX_UNITS:
                    probs.append(
                        (f"{here}.units", f"Input should be at most {MAX_UNITS:g} (got {u!r:.60})")
                    )
                    bad = True
        if not bad:
            kept.append(i)
            sku.append(r["sku"])
            zone.append(r["zone"])
            units.append(uf)
    return DemandTable(sku, zone, units), np.asarray(kept, np.int64), probs


def check_references(
    table: DemandTable,
    where: RowLocations,
    *,
    skus: set[str],
    kinds: dict[str, Any],
    row_ids: npt.NDArray[np.int64] | None = None,
) -> list[tuple[str, str]]:
    """Vectorised cross-reference checks: known SKU, known zone that is a zone, no duplicates.

    ``row_ids`` maps table rows to their original row numbers (for locations) when rows with
    type errors were dropped.
    """
    n = len(table)
    if n == 0:
        return []
    ids = np.arange(n) if row_ids is None else row_ids
    df = pd.DataFrame({"sku": table.sku, "zone": table.zone})
    probs: list[tuple[str, str]] = []
    bad_sku = np.flatnonzero(~df["sku"].isin(skus).to_numpy())
    probs += _capped(
        bad_sku,
        lambda i: (f"{where(int(ids[i]))}.sku", f"unknown SKU {table.sku[i]!r}"),
        "unknown SKUs",
    )
    kind = df["zone"].map(kinds)
    unknown = np.flatnonzero(kind.isna().to_numpy())
    probs += _capped(
        unknown,
        lambda i: (f"{where(int(ids[i]))}.zone", f"unknown zone {table.zone[i]!r}"),
        "unknown zones",
    )
    k = kind.to_numpy()
    wrong = np.flatnonzero(kind.notna().to_numpy() & (k != "zone"))
    probs += _capped(
        wrong,
        lambda i: (f"{where(int(ids[i]))}.zone", f"{table.zone[i]!r} is a {k[i]}, not a zone"),
        "non-zones",
    )
    dup = df.duplicated(["sku", "zone"], keep="first").to_numpy()
    if dup.any():
        first = df.groupby(["sku", "zone"], sort=False).ngroup().to_numpy()
        first_row = np.full(first.max() + 1, -1, dtype=np.int64)
        order = np.arange(n)[::-1]
        first_row[first[order]] = order  # the smallest row index wins
        rows = np.flatnonzero(dup)
        probs += _capped(
            rows,
            lambda i: (
                where(int(ids[i])),
                (
                    f"duplicate demand for sku {table.sku[i]!r} zone {table.zone[i]!r} "
                    f"(first at {where(int(ids[first_row[first[i]]]))}); rows are not summed"
                ),
            ),
            "duplicates",
        )
    return probs


_NL, _QUOTE, _COMMA, _HASH, _SPACE = 10, 34, 44, 35, 32


@dataclass(frozen=True, slots=True)
class _Records:
    """The CSV's records as byte ranges ``start:stop`` of ``buf`` (``stop`` at the record's
    newline or the end), each record's CSV line number (the line it ends on, as the csv module
    counts), field count and kind."""

    raw: bytes
    buf: npt.NDArray[np.uint8]
    start: npt.NDArray[np.int64]
    stop: npt.NDArray[np.int64]
    line: npt.NDArray[np.int64]
    width: npt.NDArray[np.int64]
    skip: npt.NDArray[np.bool_]  # blank, or a comment (first non-space character ``#``)
    #: every quote opens or closes a quoted field (or escapes one), so quote parity splits
    #: records and fields as the csv module does
    quotes_ok: bool = True


def _outside_quotes(pos: npt.NDArray[np.int64], quotes: npt.NDArray[np.int64] | None) -> B:
    """Which byte positions lie outside quoted fields (an even number of quotes before them;
    an escaped ``""`` counts twice, so it keeps the parity)."""
    if quotes is None or not len(quotes):
        return np.ones(len(pos), dtype=bool)
    return np.asarray(np.searchsorted(quotes, pos) % 2 == 0)


def _records(raw: bytes) -> _Records:
    """Split CSV bytes into records, vectorised: newlines and commas are found with numpy, those
    inside quoted fields are left out by quote parity; line numbers come from the newlines'
    ranks. No Python object per row."""
    buf = np.frombuffer(raw, dtype=np.uint8)
    n = len(buf)
    if n == 0:
        z, one = np.zeros(1, np.int64), np.ones(1, np.int64)
        return _Records(raw, buf, z, z, one, one, np.ones(1, dtype=bool))
    quotes = np.flatnonzero(buf == _QUOTE) if b'"' in raw else None
    quotes_ok = quotes is None or _quotes_ok(buf, quotes)
    nl = np.flatnonzero(buf == _NL)
    out = _outside_quotes(nl, quotes)
    ends = nl[out]
    line = np.flatnonzero(out).astype(np.int64) + 1
    start = np.r_[0, ends + 1].astype(np.int64)
    stop = np.r_[ends, n].astype(np.int64)
    line = np.r_[line, len(nl) + 1]
    commas = np.flatnonzero(buf == _COMMA)
    commas = commas[_outside_quotes(commas, quotes)]
    width = np.searchsorted(commas, stop) - np.searchsorted(commas, start) + 1
    # first character that is not a space (bytes <= 32: blanks, tabs, control characters):
    # advance only the records still on a space, so the work is the leading spaces' length
    first = start.copy()
    on = np.flatnonzero((first < stop) & (buf[np.minimum(first, n - 1)] <= _SPACE))
    while len(on):
        first[on] += 1
        f = first[on]
        on = on[(f < stop[on]) & (buf[np.minimum(f, n - 1)] <= _SPACE)]
    blank = first >= stop
    comment = ~blank & (buf[np.minimum(first, n - 1)] == _HASH)
    return _Records(raw, buf, start, stop, line, width.astype(np.int64), blank | comment, quotes_ok)


def _quotes_ok(buf: npt.NDArray[np.uint8], quotes: npt.NDArray[np.int64]) -> bool:
    """Quotes come in pairs, each opening one at a field's start and each closing one at its
    end (``""`` inside a field is a closing and an opening quote side by side)."""
    if len(quotes) % 2:
        return False
    n = len(buf)
    bounds = np.array([_COMMA, _NL, _QUOTE], np.uint8)
    opening, closing = quotes[0::2], quotes[1::2]
    before = np.isin(buf[np.maximum(opening - 1, 0)], bounds) | (opening == 0)
    after = np.isin(buf[np.minimum(closing + 1, n - 1)], bounds) | (closing == n - 1)
    return bool(before.all() and after.all())


def ignored_keys(rows: Any) -> list[str]:
    """The keys of JSON demand rows other than ``sku``, ``zone`` and ``units``, sorted: the
    readers drop them, as they drop a CSV's other columns (:func:`ignored_columns`)."""
    if not isinstance(rows, list):
        return []
    seen: set[Any] = set()
    for r in rows:
        if isinstance(r, dict):
            seen.update(r.keys())
    return sorted(str(k) for k in seen.difference(DEMAND_COLUMNS))


def ignored_columns(text: str) -> list[str]:
    """The header cells of demand CSV ``text`` other than ``sku``, ``zone`` and ``units``: the
    readers drop them, so a column meant to count (``units_2027``, ``warehouse``) would be
    ignored without a word; the loaders warn of them."""
    for line in text.removeprefix("\ufeff").splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            row = next(csv.reader([line]), [])
            cells = [c.strip().lower() for c in row]
            return [c for c in cells if c not in DEMAND_COLUMNS]
    return []


def _header(raw: bytes, start: int, stop: int) -> list[str]:
    """The header record's cells, stripped and lower-cased (the csv module for its quoting)."""
    row = next(csv.reader([raw[start:stop].decode("utf-8")]), [])
    return [c.strip().lower() for c in row]


def _parse(
    rec: _Records,
    rows: npt.NDArray[np.int64],
    after: int,
    n_fields: int,
    use: list[int],
    units_col: int,
) -> pd.DataFrame | None:
    """The fields ``use`` of records ``rows`` with the pandas C parser; units as float64 where
    every value parses (else as text, for the caller to report). ``after``: the byte after the
    header, when ``rows`` are every record from there (parsed in place, no copy).

    ``None`` if the parser disagrees with the record split (quotes it cannot follow)."""
    buf = rec.buf
    if after >= 0:
        data = io.BytesIO(rec.raw)  # shares the bytes, no copy
    else:
        mark = np.zeros(len(buf) + 1, dtype=np.int8)
        mark[rec.start[rows]] += 1
        mark[np.minimum(rec.stop[rows] + 1, len(buf))] -= 1
        data = io.BytesIO(buf[np.cumsum(mark[:-1], dtype=np.int8) > 0].tobytes())
    names = list(range(n_fields))  # every field named: no column taken for an index

    def read(units: type) -> pd.DataFrame:
        data.seek(0 if after < 0 else after)
        return pd.read_csv(
            data,
            header=None,
            names=names,
            usecols=use,
            dtype={c: (units if c == units_col else object) for c in use},
            na_filter=False,
            skip_blank_lines=False,
            engine="c",
            encoding="utf-8",
        )

    try:
        try:
            df = read(np.float64)
            if not np.isfinite(df[units_col].to_numpy()).all():
                df = read(object)  # the raw text of the values to report
        except ValueError:
            df = read(object)
    except (pd.errors.ParserError, ValueError):
        return None
    return df if len(df) == len(rows) else None


def read_demand_csv(
    text: str, name: str = "demand.csv", *, keep_bad_units: bool = False
) -> tuple[DemandTable, npt.NDArray[np.int64], list[tuple[str, str]]]:
    """Parse ``sku,zone,units`` CSV text into a table, its rows' line numbers, and problems.

    Blank lines and lines starting with ``#`` are skipped. Problems name the CSV line.
    ``keep_bad_units``: rows whose units are wrong stay in the table with ``nan`` units, so a
    caller that checks SKUs and zones next reports their unknown ids in the same pass (it must
    refuse the table when there are problems, as the scenario loader does).
    Columnar: records and their line numbers are found with numpy over the bytes, the fields
    parsed by the pandas C parser; only a file whose quoting the record split cannot follow
    (a quote inside an unquoted field, an unclosed quote) goes through the csv module row by
    row.
    """
    text = text.removeprefix("\ufeff")  # a byte-order mark (spreadsheet exports) is not a column
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    raw = text.encode("utf-8")
    rec = _records(raw)
    if not rec.quotes_ok:
        return _read_rows(text, name, keep_bad_units)
    kept = np.flatnonzero(~rec.skip)
    if not len(kept):
        return (
            DemandTable.empty(),
            np.zeros(0, np.int64),
            [(name, "empty file: expected a header sku,zone,units")],
        )
    h = int(kept[0])
    header = _header(raw, int(rec.start[h]), int(rec.stop[h]))
    hline = int(rec.line[h])
    missing = [c for c in DEMAND_COLUMNS if c not in header]
    if missing:
        return (
            DemandTable.empty(),
            np.zeros(0, np.int64),
            [(f"{name} line {hline}", f"header must name sku,zone,units; missing {missing}")],
        )
    body = kept[1:]
    lines = rec.line[body]
    width = rec.width[body]
    probs: list[tuple[str, str]] = []
    wrong = np.flatnonzero(width != len(header))
    probs += _capped(
        wrong,
        lambda i: (f"{name} line {lines[i]}", f"expected {len(header)} fields, got {width[i]}"),
        "a wrong field count",
    )
    ok = np.flatnonzero(width == len(header))
    cols = {c: header.index(c) for c in DEMAND_COLUMNS}
    if not len(ok):
        df = pd.DataFrame({i: pd.Series([], dtype=object) for i in cols.values()})
    else:
        rows = body[ok]
        # every record after the header is kept (bar the empty one after a last newline):
        # parse the bytes in place
        tail = int(rec.start[-1] == len(rec.buf))
        whole = len(rows) == len(rec.start) - h - 1 - tail
        parsed = _parse(
            rec,
            rows,
            int(rec.stop[h]) + 1 if whole else -1,
            len(header),
            sorted(cols.values()),
            cols["units"],
        )
        if parsed is None:
            return _read_rows(text, name, keep_bad_units)
        df = parsed
    spaced = " " in text or "\t" in text

    def col(c: str) -> pd.Series:
        v = df[cols[c]].astype(object)
        return v.str.strip() if spaced else v

    sku, zone, raw_units = col("sku"), col("zone"), None
    if df[cols["units"]].dtype == np.float64:
        units = df[cols["units"]].to_numpy(dtype=np.float64)
    else:
        raw_units = col("units")
        units = pd.to_numeric(raw_units, errors="coerce").to_numpy(dtype=np.float64)
    return _checked(name, sku, zone, units, raw_units, lines[ok], probs, keep_bad_units)


def _checked(
    name: str,
    sku: pd.Series,
    zone: pd.Series,
    units: F,
    raw_units: pd.Series | None,
    lines_ok: npt.NDArray[np.int64],
    probs: list[tuple[str, str]],
    keep_bad_units: bool = False,
) -> tuple[DemandTable, npt.NDArray[np.int64], list[tuple[str, str]]]:
    """Row checks on parsed columns (units a number ≥ 0, ids not empty); the good rows' table."""
    nan = np.flatnonzero(np.isnan(units) | np.isinf(units))
    ru = raw_units.to_numpy() if raw_units is not None else units
    probs += _capped(
        nan,
        lambda i: (f"{name} line {lines_ok[i]}.units", f"not a number: {ru[i]!r}"),
        "non-numeric units",
    )
    neg = np.flatnonzero(units < 0)
    probs += _capped(
        neg,
        lambda i: (
            f"{name} line {lines_ok[i]}.units",
            f"Input should be greater than or equal to 0 (got {units[i]:g})",
        ),
        "negative units",
    )
    huge = np.flatnonzero(np.isfinite(units) & (units > MAX_UNITS))
    probs += _capped(
        huge,
        lambda i: (
            f"{name} line {lines_ok[i]}.units",
            f"Input should be at most {MAX_UNITS:g} (got {units[i]:g})",
        ),
        "implausibly large units",
    )
    sk, zn = sku.to_numpy(dtype=object), zone.to_numpy(dtype=object)
    empty = np.flatnonzero((sk == "") | (zn == ""))
    probs += _capped(
        empty, lambda i: (f"{name} line {lines_ok[i]}", "empty sku or zone"), "empty ids"
    )
    units_ok = np.isfinite(units) & (units >= 0) & (units <= MAX_UNITS)
    ids_ok = (sk != "") & (zn != "")
    if keep_bad_units:
        units = np.where(units_ok, units, np.nan)
        return DemandTable(sk[ids_ok], zn[ids_ok], units[ids_ok]), lines_ok[ids_ok], probs
    good = units_ok & ids_ok
    return DemandTable(sk[good], zn[good], units[good]), lines_ok[good], probs


def _read_rows(
    text: str, name: str, keep_bad_units: bool = False
) -> tuple[DemandTable, npt.NDArray[np.int64], list[tuple[str, str]]]:
    """Row-by-row reading with the csv module, for quoting the columnar split cannot follow."""
    reader = csv.reader(io.StringIO(text))
    parsed = [
        (reader.line_num, r)
        for r in reader
        if any(c.strip() for c in r) and not r[0].lstrip().startswith("#")
    ]
    header = [c.strip().lower() for c in parsed[0][1]] if parsed else []
    missing = [c for c in DEMAND_COLUMNS if c not in header]
    if missing:  # the columnar split saw a header; the csv module may not
        where = f"{name} line {parsed[0][0]}" if parsed else name
        return DemandTable.empty(), np.zeros(0, np.int64), [(where, f"no header: {missing}")]
    lines = np.fromiter((ln for ln, _ in parsed[1:]), dtype=np.int64, count=len(parsed) - 1)
    width = np.fromiter((len(r) for _, r in parsed[1:]), dtype=np.int64, count=len(parsed) - 1)
    probs: list[tuple[str, str]] = []
    probs += _capped(
        np.flatnonzero(width != len(header)),
        lambda i: (f"{name} line {lines[i]}", f"expected {len(header)} fields, got {width[i]}"),
        "a wrong field count",
    )
    ok = np.flatnonzero(width == len(header))
    cols = {c: header.index(c) for c in DEMAND_COLUMNS}
    good = [parsed[1 + i][1] for i in ok]
    sku = pd.Series([r[cols["sku"]].strip() for r in good], dtype=object)
    zone = pd.Series([r[cols["zone"]].strip() for r in good], dtype=object)
    raw_units = pd.Series([r[cols["units"]].strip() for r in good], dtype=object)
    units = pd.to_numeric(raw_units, errors="coerce").to_numpy(dtype=np.float64)
    return _checked(name, sku, zone, units, raw_units, lines[ok], probs, keep_bad_units)
