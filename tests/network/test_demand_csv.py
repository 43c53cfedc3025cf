"""The columnar demand CSV reader: rows, line numbers and problems as a line-by-line reader
would give them, for every layout (quotes, CRLF, blank and comment lines, padding)."""

from __future__ import annotations

import csv
import io

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from network.demand import MAX_PROBLEMS, read_demand_csv

_ID = st.text(alphabet="ABCXYZ-#09 ,\"'é", min_size=1, max_size=8).filter(
    lambda s: bool(s.strip()) and not s.strip().startswith("#")
)
_UNITS = st.one_of(
    st.integers(0, 10**6).map(str),
    st.floats(0, 1e9, allow_nan=False).map(repr),
)
_FILLER = st.sampled_from(["", "   ", "\t", "# a comment", "  # x, y, z", "#"])


def _cell(s: str, quote: bool) -> str:
    if quote or any(c in s for c in ',"'):
        return '"' + s.replace('"', '""') + '"'
    return s


@settings(max_examples=150, deadline=None)
@given(
    rows=st.lists(st.tuples(_ID, _ID, _UNITS, st.booleans()), max_size=12),
    filler=st.lists(st.tuples(st.integers(0, 12), _FILLER), max_size=5),
    crlf=st.booleans(),
    final_newline=st.booleans(),
)
def test_rows_and_line_numbers_match_the_file(
    rows: list[tuple[str, str, str, bool]],
    filler: list[tuple[int, str]],
    crlf: bool,
    final_newline: bool,
) -> None:
    """Every data row comes back (ids stripped, units exact) with the line it is on, whatever
    blank and comment lines, quoting and line ends surround it."""
    lines = ["sku,zone,units"]
    expect: list[tuple[str, str, float, int]] = []
    at = {i: [f for j, f in filler if j == i] for i in range(len(rows) + 1)}
    for i, (k, z, u, q) in enumerate(rows):
        lines += at[i]
        lines.append(",".join([_cell(k, q), _cell(z, False), _cell(u, q)]))
        expect.append((k.strip(), z.strip(), float(u), len(lines)))
    lines += at[len(rows)]
    nl = "\r\n" if crlf else "\n"
    text = nl.join(lines) + (nl if final_newline else "")
    table, line_no, probs = read_demand_csv(text)
    assert probs == []
    assert [(r.sku, r.zone, r.units) for r in table] == [e[:3] for e in expect]
    assert line_no.tolist() == [e[3] for e in expect]


def test_quoted_field_over_two_lines_is_named_by_its_last_line() -> None:
    """A quoted field holding a newline: the row is one record, numbered as the csv module
    numbers it (the line it ends on); the lines after it keep their own numbers."""
    text = 'sku,zone,units\n"SKU\nA",Z-KUL,1\nSKU-B,Z-KUL,x\n'
    table, lines, probs = read_demand_csv(text)
    assert [tuple(r) for r in table] == [("SKU\nA", "Z-KUL", 1.0)]
    assert lines.tolist() == [3]
    assert probs == [("demand.csv line 4.units", "not a number: 'x'")]
    reader = csv.reader(io.StringIO(text))
    assert [reader.line_num for _ in reader] == [1, 3, 4]


def test_wrong_field_counts_are_named_per_line_and_capped() -> None:
    """Rows with too few or too many fields (a row of commas is not blank) are each named by
    line, at most MAX_PROBLEMS of them; the good rows around them are still read."""
    bad = MAX_PROBLEMS + 5
    body = ["SKU-A,Z-KUL"] * bad + [",", "SKU-B,Z-KUL,2", "SKU-C,Z-KUL,3,4"]
    table, lines, probs = read_demand_csv("sku,zone,units\n" + "\n".join(body))
    assert [tuple(r) for r in table] == [("SKU-B", "Z-KUL", 2.0)]
    assert lines.tolist() == [bad + 3]
    assert probs[0] == ("demand.csv line 2", "expected 3 fields, got 2")
    assert probs[MAX_PROBLEMS - 1] == (
        f"demand.csv line {MAX_PROBLEMS + 1}",
        "expected 3 fields, got 2",
    )
    assert probs[MAX_PROBLEMS] == ("demand", "… and 7 more rows with a wrong field count")
    assert len(probs) == MAX_PROBLEMS + 1


def test_bad_units_keep_their_text_in_the_message() -> None:
    """Non-numeric, infinite and empty units are reported with the text written in the file."""
    text = "sku,zone,units\nA,Z,1\nB,Z, lots \nC,Z,inf\nD,Z,\nE,Z,-2\n"
    table, lines, probs = read_demand_csv(text)
    assert [tuple(r) for r in table] == [("A", "Z", 1.0)]
    assert lines.tolist() == [2]
    assert probs == [
        ("demand.csv line 3.units", "not a number: 'lots'"),
        ("demand.csv line 4.units", "not a number: 'inf'"),
        ("demand.csv line 5.units", "not a number: ''"),
        ("demand.csv line 6.units", "Input should be greater than or equal to 0 (got -2)"),
    ]


def test_units_parse_exactly_as_python_floats() -> None:
    """Units are the same doubles Python's float() gives (the C parser rounds correctly)."""
    rng = np.random.default_rng(3)
    vals = [repr(float(x)) for x in rng.random(2000) * 10.0 ** rng.integers(-6, 9, 2000)]
    vals += [f"{x:.17g}" for x in rng.random(500)] + ["0.1", "1E5", "3.14159265358979323846"]
    text = "sku,zone,units\n" + "".join(f"S{i},Z,{v}\n" for i, v in enumerate(vals))
    table, _, probs = read_demand_csv(text)
    assert probs == []
    assert table.units.tolist() == [float(v) for v in vals]


def test_header_after_comments_and_extra_columns() -> None:
    """The header is the first line that is neither blank nor a comment; extra columns are
    allowed and ignored; a quote inside an unquoted field is read as the csv module reads it."""
    text = '# made by hand\n\n zone , extra , SKU , Units \nZ-KUL,?,SKU"1,4\n'
    table, lines, probs = read_demand_csv(text)
    assert probs == []
    assert [tuple(r) for r in table] == [('SKU"1', "Z-KUL", 4.0)]
    assert lines.tolist() == [4]


def test_extra_columns_in_any_order() -> None:
    """Columns beyond sku, zone, units are ignored wherever they stand, on both the in-place
    and the filtered parse (a comment line among the rows)."""
    text = "extra,units,sku,zone,more\nq,1,A,Z,x\nq,2,B,Y,y\n"
    for t in (text, text.replace("q,2,", "# skip me\nq,2,")):
        table, lines, probs = read_demand_csv(t)
        assert probs == []
        assert [tuple(r) for r in table] == [("A", "Z", 1.0), ("B", "Y", 2.0)]
        assert lines.tolist() == ([2, 3] if t == text else [2, 4])


def test_a_byte_order_mark_and_implausible_units_are_handled() -> None:
    """A spreadsheet's byte-order mark is not part of the first column's name; units above
    1e12 (a typo, or 1e300 that broke the solver's numerics) are named by line."""
    table, lines, probs = read_demand_csv("\ufeffsku,zone,units\nA,Z,1\nB,Z,1e300\n")
    assert [tuple(r) for r in table] == [("A", "Z", 1.0)] and lines.tolist() == [2]
    assert probs == [("demand.csv line 3.units", "Input should be at most 1e+12 (got 1e+300)")]
