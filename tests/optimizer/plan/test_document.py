"""Tests of the typed plan document (optimizer/plan/document.py): JSON round trips byte for
byte, extra keys in open objects survive, bad input is refused naming the field."""

from __future__ import annotations

import copy
import json
import math
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from network.scenario import load_scenario
from optimizer.allocation.params import AllocationParams
from optimizer.plan.document import (
    CostBreakdown,
    FulfilmentRow,
    Plan,
    PlanFormatError,
    ReplenishmentRow,
    StockRow,
    WarehouseRow,
    _Obj,
)
from optimizer.plan.planning import plan_scenario
from optimizer.solver import Status

DATA = Path(__file__).resolve().parents[2] / "data"


def _doc(plan: Any) -> dict[str, Any]:
    """A plan as a JSON document, whatever form ``plan_scenario`` returns it in."""
    return plan.to_json() if isinstance(plan, Plan) else plan


def _canon(doc: Any) -> str:
    return json.dumps(doc, sort_keys=True, allow_nan=False)


@pytest.fixture(scope="module")
def fresh_plan() -> dict[str, Any]:
    """A freshly planned tiny scenario (with the naive baseline and a diagnosis)."""
    out = plan_scenario(
        load_scenario(DATA / "tiny-my.json"), AllocationParams(time_limit=30, baseline="naive")
    )
    return _doc(out.plan)


def test_hand_written_partial_plan_round_trips_byte_for_byte() -> None:
    """tests/data/vrp/plan-tiny/plan.json (only the header and ``fulfilment``, integer units)
    is written back with the same keys and the same numbers (1800 stays 1800, not 1800.0)."""
    text = (DATA / "vrp" / "plan-tiny" / "plan.json").read_text()
    doc = json.loads(text)
    plan = Plan.from_json(doc)
    assert plan.cost is None and plan.warehouses is None
    assert plan.fulfilment is not None and plan.fulfilment[0].lanes
    assert _canon(plan.to_json()) == _canon(doc)


def test_fresh_plan_round_trips_byte_for_byte(fresh_plan: dict[str, Any]) -> None:
    """A plan of a tiny scenario, with every extra (stats, diagnosis, baseline, evaluation),
    survives from_json/to_json unchanged."""
    assert {"stats", "diagnosis", "baseline", "evaluation", "notes"} <= set(fresh_plan)
    plan = Plan.from_json(fresh_plan)
    assert plan.status is Status.OPTIMAL
    assert plan.cost is not None
    assert plan.objective == pytest.approx(plan.cost.total, rel=1e-12)
    assert _canon(plan.to_json()) == _canon(fresh_plan)
    # and the second trip is a fixed point
    assert Plan.from_json(plan.to_json()) == plan


def test_extra_keys_in_stats_and_notes_survive(fresh_plan: dict[str, Any]) -> None:
    """Open objects keep keys this version does not know; notes are kept in order."""
    doc = copy.deepcopy(fresh_plan)
    doc["stats"]["from_a_newer_solver"] = {"rounds": [1, 2, 3], "ok": True}
    doc["stats"]["never_reached"] = None
    doc["notes"] = [*doc["notes"], "a note from elsewhere", "and another"]
    doc["diagnosis"]["x_extra"] = "kept"
    back = Plan.from_json(doc).to_json()
    assert back["stats"]["from_a_newer_solver"] == {"rounds": [1, 2, 3], "ok": True}
    assert back["notes"][-2:] == ["a note from elsewhere", "and another"]
    assert _canon(back) == _canon(doc)


def test_plan_without_a_solution_round_trips() -> None:
    """The no-solution document (null objective, ``cost: {}``, ``service: {}``, empty rows)
    keeps its empty objects and lists."""
    doc = {
        "scenario": "s",
        "status": "no_solution",
        "objective": None,
        "bound": None,
        "gap": None,
        "solve_seconds": 1.5,
        "cost": {},
        "service": {},
        "warehouses": [],
        "stock": [],
        "replenishment": [],
        "fulfilment": [],
        "lost": [],
        "promise_hours": 72.0,
        "notes": ["no plan within the time limit of 3 s"],
        "seed": 0,
    }
    plan = Plan.from_json(doc)
    assert plan.cost == CostBreakdown() and plan.cost.terms() == {}
    assert plan.warehouses == ()
    assert _canon(plan.to_json()) == _canon(doc)


def _non_finite_plan() -> Plan:
    """A plan with an infinite bound and a NaN stat (both written as null)."""
    return Plan(
        scenario="s",
        status=Status.FEASIBLE,
        objective=1.0,
        bound=-math.inf,
        gap=None,
        solve_seconds=0.1,
        stats={"lagrange_first": math.nan, "n_vars": 3},
    )


@pytest.mark.parametrize("chunk", [1, 2, 3, 1000])
def test_streamed_json_is_the_documents_compact_text(
    fresh_plan: dict[str, Any], chunk: int
) -> None:
    """``Plan.iter_json`` (how large plans are written) gives exactly the text of
    ``json.dumps(to_json())``: whatever the chunk, with rows split across chunks, non-finite
    numbers as null and optional fields left out; the text reads back as the plan (the file
    written from it: ``test_a_large_plan_is_streamed_compact_and_whole``)."""
    plan = Plan.from_json(fresh_plan)
    assert plan.fulfilment is not None and len(plan.fulfilment) > 3
    made = _non_finite_plan()
    for p in (plan, made):
        text = "".join(p.iter_json(chunk=chunk))
        assert text == json.dumps(p.to_json(), allow_nan=False)
        assert Plan.from_json(json.loads(text)) == Plan.from_json(p.to_json())


def test_unlimited_capacity_is_inf_and_written_as_null() -> None:
    """A warehouse capacity given as null reads as math.inf and is written back as null; a
    non-finite stat is written as null (strict JSON)."""
    row = {
        "id": "W",
        "open": True,
        "storage_used_m3": 1,
        "throughput_used_per_day": 2.5,
        "status": "candidate",
        "storage_m3": None,
        "throughput_units_per_day": 100.0,
    }
    doc = {
        "scenario": "s",
        "status": "feasible",
        "objective": 1.0,
        "bound": None,
        "gap": None,
        "solve_seconds": 0.1,
        "warehouses": [row],
    }
    plan = Plan.from_json(doc)
    assert plan.warehouses is not None
    assert math.isinf(plan.warehouses[0].storage_m3 or 0.0)
    assert plan.to_json()["warehouses"][0] == row
    made = _non_finite_plan()
    assert made.to_json()["bound"] is None
    assert made.to_json()["stats"] == {"lagrange_first": None, "n_vars": 3}
    json.dumps(made.to_json(), allow_nan=False)


def test_typed_rows_are_frozen() -> None:
    """Records cannot be changed in place (change means dataclasses.replace)."""
    r = FulfilmentRow("K", "Z", "W", ("a",), 1.0, 2.0, True)
    with pytest.raises(AttributeError):
        r.units = 3.0  # type: ignore[misc]
    w = WarehouseRow("W", True, 0.0, 0.0)
    assert (
        "status"
        not in Plan(
            scenario="s",
            status=Status.OPTIMAL,
            objective=0.0,
            bound=0.0,
            gap=0.0,
            solve_seconds=0.0,
            warehouses=(w,),
        ).to_json()["warehouses"][0]
    )


def _base() -> dict[str, Any]:
    return json.loads((DATA / "vrp" / "plan-tiny" / "plan.json").read_text())


def _set(doc: dict[str, Any], path: tuple[Any, ...], value: Any) -> dict[str, Any]:
    d = doc
    for k in path[:-1]:
        d = d[k]
    if value is _DELETE:
        del d[path[-1]]
    else:
        d[path[-1]] = value
    return doc


_DELETE = object()


@pytest.mark.parametrize(
    ("path", "value", "match"),
    [
        (("status",), "great", r"status: 'great' is not one of optimal"),  # unknown status
        (("scenario",), _DELETE, r"^scenario: missing"),  # a required key
        (("objective",), "12", r"^objective: expected a number, got '12'"),  # string number
        (("solve_seconds",), None, r"^solve_seconds: expected a number"),  # not nullable
        (("fulfilment", 0, "units"), True, r"fulfilment\[0\]\.units: expected a number"),
        (("fulfilment", 0, "lanes"), "L1", r"fulfilment\[0\]\.lanes: expected a list"),
        (("fulfilment", 0, "lanes", 0), 3, r"fulfilment\[0\]\.lanes\[0\]: expected a string"),
        (("fulfilment", 0, "on_time"), "yes", r"fulfilment\[0\]\.on_time: expected true or"),
        (("fulfilment", 0, "p_late"), 0.1, r"fulfilment\[0\]\.p_late: unknown field"),
        (("fulfilment", 0, "zone"), _DELETE, r"fulfilment\[0\]\.zone: missing"),
        (("fulfilment",), {}, r"^fulfilment: expected a list"),
        (("cost",), {"fixed": "a lot"}, r"^cost\.fixed: expected a number"),
        (("cost",), {"fixd": 1.0}, r"^cost\.fixd: unknown field"),
        (("service",), {"by_country": {"MY": {}}}, r"service\.by_country\.MY\.on_time_share"),
        (("stats",), [1], r"^stats: expected an object"),
        (("notes",), ["ok", 2], r"^notes\[1\]: expected a string"),
        (("seed",), 1.5, r"^seed: expected an integer"),
        (("warehouses",), [{"id": "W", "open": 1}], r"warehouses\[0\]\.open: expected true"),
        (("surprise",), 1, r"^surprise: unknown field"),  # top-level typo
    ],
)
def test_from_json_refuses_bad_input_naming_the_field(
    path: tuple[Any, ...], value: Any, match: str
) -> None:
    """Each bad document is refused with PlanFormatError (a ValueError) naming the field."""
    doc = _set(_base(), path, value)
    with pytest.raises(PlanFormatError, match=match):
        Plan.from_json(doc)


def test_from_json_refuses_a_non_object() -> None:
    """A list or a string is no plan."""
    with pytest.raises(PlanFormatError, match="expected an object"):
        Plan.from_json([])
    assert issubclass(PlanFormatError, ValueError)


def test_warehouse_status_is_an_enum_with_the_format_strings(fresh_plan: dict[str, Any]) -> None:
    """WarehouseStatus members are the format's strings (JSON unchanged); a plan row reads its
    status as the enum, and an unknown status is refused naming the field."""
    from network.scenario import WarehouseStatus

    assert [s.value for s in WarehouseStatus] == ["candidate", "open", "closed"]
    assert json.dumps(WarehouseStatus.OPEN) == '"open"'
    plan = Plan.from_json(fresh_plan)
    assert plan.warehouses is not None
    assert all(isinstance(w.status, WarehouseStatus) for w in plan.warehouses)
    doc = copy.deepcopy(fresh_plan)
    doc["warehouses"][0]["status"] = "mothballed"
    with pytest.raises(PlanFormatError, match=r"warehouses\[0\]\.status: 'mothballed' is not one"):
        Plan.from_json(doc)


def test_compiled_warehouse_masks_follow_the_status() -> None:
    """``wh_usable``/``wh_kept_open`` are the statuses as boolean masks (closed: unusable;
    open: kept open)."""
    from network.compile import compile_network
    from network.scenario import WarehouseStatus, load_scenario

    s = load_scenario(DATA / "tiny-my.json")
    doc = s.to_document()
    whs = [n for n in doc["nodes"] if n["kind"] == "warehouse"]
    assert len(whs) >= 2
    whs[0]["status"], whs[1]["status"] = "closed", "open"
    from network.scenario import parse_scenario

    data = compile_network(parse_scenario(doc))
    i0, i1 = data.warehouses.index(whs[0]["id"]), data.warehouses.index(whs[1]["id"])
    assert data.wh_status[i0] is WarehouseStatus.CLOSED
    assert not data.wh_usable[i0] and data.wh_usable[i1]
    assert data.wh_kept_open[i1] and not data.wh_kept_open[i0]
    assert data.wh_usable.sum() == len(data.warehouses) - 1


def test_solve_stats_keep_every_key_and_value() -> None:
    """SolveStats splits a phase's figures into named fields and ``extra``; to_json gives the
    same keys and values back (plan.json's ``stats`` is unchanged)."""
    from optimizer.allocation.result import SolveStats

    figures = {
        "build_s": 0.5,
        "n_vars": 10,
        "cols_x_all": 7,
        "fixed_y_aggregate_s": 0.1,
        "bound_from": "capacity",
        "incumbent_evals": 3,
        "fallback": True,
    }
    st = SolveStats.from_mapping(figures)
    assert st.build_s == 0.5 and st.n_vars == 10 and st.bound_from == "capacity" and st.fallback
    assert dict(st.extra) == {"cols_x_all": 7, "fixed_y_aggregate_s": 0.1, "incumbent_evals": 3}
    assert st.to_json() == figures
    assert SolveStats().to_json() == {}


def test_fresh_plan_stats_are_the_solvers(fresh_plan: dict[str, Any]) -> None:
    """plan.json's stats carry the solve's named figures (sizes, timings) and compile_s."""
    st = fresh_plan["stats"]
    assert {"build_s", "solve_s", "n_vars", "n_rows", "compile_s"} <= set(st)
    assert all(isinstance(st[k], int) for k in ("n_vars", "n_rows"))


# -- the rows' fast path -----------------------------------------------------------------------

_EDGE_VALUES: list[Any] = [
    None,
    True,
    False,
    0,
    1,
    -1,
    2.5,
    1 << 60,
    1 << 1100,
    -1e-7,
    -1e-5,
    1e308,
]
_EDGE_VALUES += [math.nan, math.inf, -math.inf, "", "x", [], ["a"], ["a", 1], [None], {}]
_ANY_VALUE = st.one_of(
    st.sampled_from(_EDGE_VALUES),  # each edge often, whatever the key
    st.integers(),
    st.floats(),
    st.text(max_size=3),
    st.lists(st.one_of(st.text(max_size=2), st.integers(), st.none()), max_size=3),
)

_ROW_CLASSES = {  # the class, its keys, how many of them (the first) are required
    "fulfilment": (FulfilmentRow, ["sku", "zone", "source", "lanes", "units", "hours",
                                   "on_time", "p_on_time", "mode"], 7),
    "replenishment": (ReplenishmentRow, ["sku", "warehouse", "lanes", "units", "origin",
                                         "lead_time_hours"], 4),
    "stock": (StockRow, ["sku", "warehouse", "units", "on_hand", "in_transit"], 3),
}  # fmt: skip


def _good_row(which: str) -> dict[str, Any]:
    """A row of each key the class reads, each of a type it takes."""
    _, keys, _ = _ROW_CLASSES[which]
    every = {
        "sku": "S",
        "zone": "Z",
        "source": "W",
        "warehouse": "W",
        "lanes": ["L1", "L2"],
        "units": 3.5,
        "hours": 40,
        "on_time": True,
        "p_on_time": 0.9,
        "mode": "warehouse",
        "origin": "O",
        "lead_time_hours": 100.0,
        "on_hand": 2,
        "in_transit": 0.0,
    }
    return {k: every[k] for k in keys}


def _typed_row(key: str, row: Any) -> Any:
    """The row as the typed getters alone read it (the fast path off), or the error."""
    cls = _ROW_CLASSES[key][0]
    try:
        return cls._read(_Obj(row, (key, 0)))  # type: ignore[attr-defined]
    except PlanFormatError as e:
        return e


@settings(max_examples=600, deadline=None, derandomize=True)
@given(
    which=st.sampled_from(sorted(_ROW_CLASSES)),
    data=st.data(),
)
def test_the_fast_path_reads_each_row_as_the_typed_getters_do(which: str, data: Any) -> None:
    """A plan's large row lists are read by per-field checkers when a row is plain; any row
    they do not take goes the typed getters' way. On random rows (good values, nulls, bools,
    huge integers, NaN, negative units, unknown and missing keys) the plan read has the same
    rows as the getters give, and a row the getters refuse is refused naming it."""
    _, keys, n_required = _ROW_CLASSES[which]
    good = _good_row(which)
    # a good row with one or two keys changed: left out, or any value
    row = {k: good[k] for k in keys if data.draw(st.booleans(), label=f"{k} given")}
    row |= {k: good[k] for k in keys[:n_required]}
    for k in data.draw(st.lists(st.sampled_from(keys), min_size=1, max_size=2), label="changed"):
        if data.draw(st.booleans(), label=f"{k} left out"):
            row.pop(k, None)
        else:
            row[k] = data.draw(_ANY_VALUE, label=k)
    if data.draw(st.integers(0, 9), label="unknown key") == 0:
        row[data.draw(st.sampled_from(["extra", "units_x", "Sku"]), label="key")] = 1
    _check_read_as_the_getters_read(which, row, keys)


def _check_read_as_the_getters_read(which: str, row: dict[str, Any], keys: list[str]) -> None:
    expected = _typed_row(which, row)
    doc: dict[str, Any] = {"scenario": "s", "status": "feasible", "objective": None}
    doc |= {"bound": None, "gap": None, "solve_seconds": 1.0, which: [row]}
    try:
        got = Plan.from_json(doc)
    except PlanFormatError as e:
        assert isinstance(expected, PlanFormatError), f"refused {row!r}: {e}"
        assert str(e) == str(expected)  # the same words, naming the same row and key
        return
    assert not isinstance(expected, PlanFormatError), f"took {row!r}; the getters: {expected}"
    (read,) = getattr(got, which)
    assert read == expected
    assert [type(getattr(read, f)) for f in keys] == [type(getattr(expected, f)) for f in keys]


@pytest.mark.parametrize("which", sorted(_ROW_CLASSES))
def test_the_fast_path_reads_every_edge_value_of_every_key_as_the_getters_do(which: str) -> None:
    """Each key of a good row left out, or set to each edge value (nulls, bools, integers
    past a float, NaN, infinities, units just below zero, lists of other things), and one
    unknown key: the plan read has the row the typed getters give, or refuses it as they do."""
    _, keys, _ = _ROW_CLASSES[which]
    good = _good_row(which)
    cases = [{**good, "extra": 1}]
    for k in keys:
        cases.append({kk: v for kk, v in good.items() if kk != k})
        cases += [{**good, k: v} for v in _EDGE_VALUES]
    for row in cases:
        _check_read_as_the_getters_read(which, row, keys)


@pytest.mark.parametrize(
    ("rows", "field"),
    [("fulfilment", "hours"), ("fulfilment", "p_on_time"), ("fulfilment", "units")],
)
def test_an_integer_past_a_float_is_refused_naming_the_field(
    fresh_plan: dict[str, Any], rows: str, field: str
) -> None:
    """JSON writes integers of any size; a plan's ``hours: 1e400`` written out as digits was
    read, and the what-if then stopped on an OverflowError ("internal error")."""
    doc = copy.deepcopy(_doc(fresh_plan))
    doc[rows][0][field] = 10**400
    with pytest.raises(PlanFormatError, match=rf"^{rows}\[0\]\.{field}: expected .*float"):
        Plan.from_json(doc)
    doc[rows][0][field] = 10**300  # within a float's range: read
    assert getattr(getattr(Plan.from_json(doc), rows)[0], field) == 10**300
