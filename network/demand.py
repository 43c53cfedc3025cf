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
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple, overload

import numpy as np
import numpy.typing as npt
import pandas as pd

__all__ = ["MAX_PROBLEMS", "DemandRecord", "DemandTable", "RowLocations", "read_demand_csv"]

MAX_PROBLEMS = 1000  # rows reported per check before summarising the rest


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
            probs.append((where(i), f"Input should be a valid dictionary (got {r!r})"))
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
                probs.append((f"{here}.{key}", f"Input should be a non-empty string (got {v!r})"))
                bad = True
        u = r.get("units")
        if "units" not in r:
            probs.append((f"{here}.units", "Field required"))
            bad = True
        else:
            try:
                if isinstance(u, bool) or not isinstance(u, int | float | str):
                    raise TypeError
                uf = float(u)
            except (TypeError, ValueError):
                probs.append((f"{here}.units", f"Input should be a valid number (got {u!r})"))
                bad = True
            else:
                if not math.isfinite(uf):
                    probs.append((f"{here}.units", f"Input should be a finite number (got {u!r})"))
                    bad = True
                elif uf < 0:
                    probs.append(
                        (f"{here}.units", f"Input should be greater than or equal to 0 (got {u!r})")
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


def read_demand_csv(
    text: str, name: str = "demand.csv"
) -> tuple[DemandTable, npt.NDArray[np.int64], list[tuple[str, str]]]:
    """Parse ``sku,zone,units`` CSV text into a table, its rows' line numbers, and problems.

    Blank lines and lines starting with ``#`` are skipped. Problems name the CSV line.
    """
    if '"' not in text:
        # fast path: no quoting, so one physical line is one row
        phys = text.splitlines()
        keep = [i for i, ln in enumerate(phys) if ln.strip() and not ln.lstrip().startswith("#")]
        rows_l: list[tuple[int, list[str] | None]] = [(i + 1, None) for i in keep]
        text_rows = [phys[i] for i in keep]
    else:
        reader = csv.reader(io.StringIO(text))
        parsed = [(reader.line_num, r) for r in reader]
        parsed = [
            (ln, r)
            for ln, r in parsed
            if any(c.strip() for c in r) and not r[0].lstrip().startswith("#")
        ]
        rows_l = [(ln, r) for ln, r in parsed]
        text_rows = None
    if not rows_l:
        return (
            DemandTable.empty(),
            np.zeros(0, np.int64),
            [(name, "empty file: expected a header sku,zone,units")],
        )
    hline = rows_l[0][0]
    header_cells = text_rows[0].split(",") if text_rows is not None else rows_l[0][1] or []
    header = [c.strip().lower() for c in header_cells]
    missing = [c for c in ("sku", "zone", "units") if c not in header]
    if missing:
        return (
            DemandTable.empty(),
            np.zeros(0, np.int64),
            [(f"{name} line {hline}", f"header must name sku,zone,units; missing {missing}")],
        )
    n = len(rows_l) - 1
    lines = np.fromiter((ln for ln, _ in rows_l[1:]), dtype=np.int64, count=n)
    if text_rows is not None:
        body_text = text_rows[1:]
        width = np.fromiter((t.count(",") + 1 for t in body_text), dtype=np.int64, count=n)
    else:
        body = [r or [] for _, r in rows_l[1:]]
        width = np.fromiter((len(r) for r in body), dtype=np.int64, count=n)
    probs: list[tuple[str, str]] = []
    wrong = np.flatnonzero(width != len(header))
    probs += _capped(
        wrong,
        lambda i: (f"{name} line {lines[i]}", f"expected {len(header)} fields, got {width[i]}"),
        "a wrong field count",
    )
    ok = np.flatnonzero(width == len(header))
    cols = {c: header.index(c) for c in ("sku", "zone", "units")}
    if not len(ok):
        df = pd.DataFrame({i: pd.Series([], dtype=object) for i in range(len(header))})
    elif text_rows is not None:
        df = pd.read_csv(
            io.StringIO("\n".join([body_text[i] for i in ok])),
            header=None,
            dtype=str,
            keep_default_na=False,
            engine="c",
            skip_blank_lines=False,
        )
    else:
        df = pd.DataFrame([body[i] for i in ok])
    spaced = " " in text or "\t" in text

    def col(c: str) -> pd.Series:
        v = df[cols[c]].astype(object)
        return v.str.strip() if spaced else v

    sku, zone, raw_units = col("sku"), col("zone"), col("units")
    units = pd.to_numeric(raw_units, errors="coerce").to_numpy(dtype=np.float64)
    lines_ok = lines[ok]
    nan = np.flatnonzero(np.isnan(units) | np.isinf(units))
    ru = raw_units.to_numpy()
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
    empty = np.flatnonzero((sku.to_numpy() == "") | (zone.to_numpy() == ""))
    probs += _capped(
        empty, lambda i: (f"{name} line {lines_ok[i]}", "empty sku or zone"), "empty ids"
    )
    good = np.isfinite(units) & (units >= 0) & (sku.to_numpy() != "") & (zone.to_numpy() != "")
    table = DemandTable(
        sku.to_numpy(dtype=object)[good], zone.to_numpy(dtype=object)[good], units[good]
    )
    return table, lines_ok[good], probs
