"""The plan document of DESIGN §7 as frozen, typed records.

:class:`Plan` and its rows are stdlib ``@dataclass(frozen=True, slots=True)`` records, so the
service can publish their JSON schema (pydantic reads stdlib dataclasses) while the optimiser
stays free of pydantic. :meth:`Plan.to_json` and :meth:`Plan.from_json` are the only places a
``dict`` appears; every other module reads fields.

The JSON is exactly DESIGN §7's (extend, never break), with these rules:

- A field **without a default** is always written (``objective``, ``bound`` and ``gap`` may be
  ``null``). A field whose default is ``None`` is **left out** of the JSON when it is ``None``:
  the document did not give it (a partial plan written by hand for ``tradelane route`` lists
  only ``fulfilment``; a plan without a solution has ``cost: {}``). So a document read by
  :meth:`Plan.from_json` is written back by :meth:`Plan.to_json` with the same keys.
- Numbers are kept as read (an ``int`` stays an ``int``), so a round trip is byte-for-byte.
- ``stats``, ``diagnosis`` and ``baseline`` are open objects (JSON values kept as they are);
  ``notes`` is a list of strings. Unknown keys anywhere else are refused, naming the field,
  as are values of the wrong type: :class:`PlanFormatError` (a ``ValueError``).
"""

from __future__ import annotations

import enum
import json
import math
import sys
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, fields
from typing import Any, TypeVar

from network.scenario import WarehouseStatus
from optimizer.exceptions import OptimiserError
from optimizer.solver.status import Status

__all__ = [
    "CostBreakdown",
    "CountryService",
    "FulfilmentRow",
    "InventoryLotRow",
    "LostRow",
    "OrderRow",
    "Plan",
    "PlanEvaluation",
    "PlanFormatError",
    "ReplenishmentRow",
    "ReturnRow",
    "ServiceSummary",
    "StockRow",
    "SurplusRow",
    "TransferRow",
    "WarehouseRow",
    "plan_rows",
]


class PlanFormatError(OptimiserError, ValueError):
    """A plan document that is not DESIGN §7's (the message names the field)."""


# -- reading helpers ---------------------------------------------------------------------------

_Rec = TypeVar("_Rec")


#: how far below zero a plan's units may be and still be read: LP round-off, not a shortage
UNITS_ROUNDOFF = 1e-6


class _Obj:
    """A JSON object being read: typed getters that name the field path on error.

    Each getter takes ``required``; an optional field that is absent reads as ``None``.
    """

    __slots__ = ("_where", "d", "seen")

    def __init__(self, d: Any, where: str | tuple[str, int]) -> None:
        # ``where`` is a path, or (a list's path, an index) rendered only for an error: a
        # plan of a million rows would otherwise format a million paths it never shows
        self.d = d
        self._where = where
        self.seen: set[str] = set()
        if type(d) is not dict and not isinstance(d, Mapping):
            raise PlanFormatError(f"{self.where or 'plan'}: expected an object, got {d!r:.60}")

    @property
    def where(self) -> str:
        w = self._where
        return w if isinstance(w, str) else f"{w[0]}[{w[1]}]"

    def path(self, key: str) -> str:
        where = self.where
        return f"{where}.{key}" if where else key

    def _bad(self, key: str, what: str, v: Any) -> PlanFormatError:
        return PlanFormatError(f"{self.path(key)}: expected {what}, got {v!r:.60}")

    def _get(self, key: str, required: bool) -> tuple[bool, Any]:
        self.seen.add(key)
        if key not in self.d:
            if required:
                raise PlanFormatError(f"{self.path(key)}: missing")
            return False, None
        return True, self.d[key]

    def num(self, key: str, *, required: bool = True, null: bool = False) -> Any:
        """A number (kept as read: int or float); ``null`` allows JSON null (read as None)."""
        present, v = self._get(key, required)
        if not present or (v is None and null):
            return None
        if isinstance(v, bool) or not isinstance(v, int | float):
            raise self._bad(key, "a number", v)
        if isinstance(v, int) and not -sys.float_info.max <= v <= sys.float_info.max:
            # JSON writes integers of any size; past a float's range every sum overflows
            raise self._bad(key, "a number within a float's range", v)
        return v

    def units(self, key: str, *, required: bool = True) -> Any:
        """A number of units: finite and not negative (beyond solver round-off)."""
        v = self.num(key, required=required)
        if v is not None and not (math.isfinite(v) and v >= -UNITS_ROUNDOFF):
            raise self._bad(key, "units >= 0", v)
        return v

    def cap(self, key: str) -> Any:
        """An optional capacity: absent is None, null is unlimited (``math.inf``)."""
        present, v = self._get(key, False)
        if not present:
            return None
        return math.inf if v is None else self.num(key)

    def string(self, key: str, *, required: bool = True, null: bool = False) -> Any:
        present, v = self._get(key, required)
        if not present or (v is None and null):
            return None
        if not isinstance(v, str):
            raise self._bad(key, "a string", v)
        return v

    def choice(self, key: str, kind: type[enum.StrEnum], *, required: bool = False) -> Any:
        """One of an enum's values (absent: None unless required)."""
        v = self.string(key, required=required)
        if v is None:
            return None
        try:
            return kind(v)
        except ValueError:
            allowed = ", ".join(m.value for m in kind)
            raise PlanFormatError(f"{self.path(key)}: {v!r} is not one of {allowed}") from None

    def boolean(self, key: str, *, required: bool = True) -> Any:
        present, v = self._get(key, required)
        if not present:
            return None
        if not isinstance(v, bool):
            raise self._bad(key, "true or false", v)
        return v

    def integer(self, key: str, *, required: bool = True) -> Any:
        present, v = self._get(key, required)
        if not present:
            return None
        if isinstance(v, bool) or not isinstance(v, int):
            raise self._bad(key, "an integer", v)
        return v

    def strings(self, key: str, *, required: bool = True) -> Any:
        present, v = self._get(key, required)
        if not present:
            return None
        if not isinstance(v, list):
            raise self._bad(key, "a list", v)
        for i, s in enumerate(v):
            if not isinstance(s, str):
                raise self._bad(f"{key}[{i}]", "a string", s)
        return tuple(v)

    def obj(self, key: str, *, required: bool = True) -> _Obj | None:
        present, v = self._get(key, required)
        if not present:
            return None
        return _Obj(v, self.path(key))

    def open_obj(self, key: str) -> dict[str, Any] | None:
        """An open object, kept as it is (absent: None)."""
        present, v = self._get(key, False)
        if not present:
            return None
        if not isinstance(v, Mapping):
            raise self._bad(key, "an object", v)
        return dict(v)

    def rows(
        self,
        key: str,
        read: Callable[[_Obj], _Rec],
        *,
        required: bool = False,
        fast: Callable[[Any], _Rec | None] | None = None,
    ) -> Any:
        """A list of records, each read by ``fast`` when it takes the row (module's fast
        path), else by ``read`` (absent: None)."""
        present, v = self._get(key, required)
        if not present:
            return None
        if not isinstance(v, list):
            raise self._bad(key, "a list", v)
        at = self.path(key)
        if fast is None:
            return tuple(read(_Obj(r, (at, i))) for i, r in enumerate(v))
        out = []
        for i, r in enumerate(v):
            row = fast(r)
            out.append(row if row is not None else read(_Obj(r, (at, i))))
        return tuple(out)

    def done(self) -> None:
        """Refuse keys no field reads."""
        for k in self.d:
            if k not in self.seen:
                raise PlanFormatError(f"{self.path(str(k))}: unknown field")


# -- rows read from one field list ------------------------------------------------------------
# A plan's large row lists (fulfilment, replenishment, stock: a million rows at tier L) are
# each described once, as (key, kind, required) per field in the dataclass's order. The typed
# getters of :class:`_Obj` read a row from it (:func:`_read_fields`, naming what is wrong), and
# a checker per kind reads it faster when it is a plain dict whose values all have the exact
# types the fields take (:func:`_fast_reader`); any other row (a missing or unknown key, a
# null, a bool for a number, units below zero or not finite, a huge integer) goes the getters'
# way. Both give the same row (a property test says so).

_Fields = tuple[tuple[str, str, bool], ...]
_BAD = object()


def _fast_str(v: Any) -> Any:
    return v if type(v) is str else _BAD


def _fast_num(v: Any) -> Any:
    return v if type(v) is float or (type(v) is int and -(1 << 53) < v < 1 << 53) else _BAD


def _fast_units(v: Any) -> Any:
    if type(v) is float:
        return v if math.isfinite(v) and v >= -UNITS_ROUNDOFF else _BAD
    return v if type(v) is int and 0 <= v < 1 << 53 else _BAD


def _fast_strs(v: Any) -> Any:
    return tuple(v) if type(v) is list and all(type(x) is str for x in v) else _BAD


def _fast_bool(v: Any) -> Any:
    return v if type(v) is bool else _BAD


#: The fast checker of each kind of field (the name of its :class:`_Obj` getter).
_FAST_CHECKS: dict[str, Callable[[Any], Any]] = {
    "string": _fast_str,
    "num": _fast_num,
    "units": _fast_units,
    "strings": _fast_strs,
    "boolean": _fast_bool,
}


def _read_fields(cls: type[_Rec], o: _Obj, spec: _Fields) -> _Rec:
    """A ``cls`` row read by the typed getters, one per field of ``spec``, in its order."""
    out = cls(*(getattr(o, kind)(key, required=req) for key, kind, req in spec))
    o.done()
    return out


def _fast_reader(cls: type[_Rec], spec: _Fields) -> Callable[[Any], _Rec | None]:
    """A reader of ``cls`` rows by the checkers of ``spec`` that returns None for any row it
    does not take as it is (an optional key that is absent reads as None)."""
    names = tuple(f.name for f in fields(cls))  # type: ignore[arg-type]
    if names != tuple(k for k, _, _ in spec):
        raise AssertionError(f"{cls.__name__}: fields {names} are not those of its spec")
    keys = frozenset(names)
    required = frozenset(k for k, _, r in spec if r)
    checks = tuple((key, _FAST_CHECKS[kind]) for key, kind, _ in spec)

    def read(r: Any) -> _Rec | None:
        if type(r) is not dict or not (required <= r.keys() <= keys):
            return None
        vals = []
        for key, check in checks:
            if key in r:
                v = check(r[key])
                if v is _BAD:
                    return None
                vals.append(v)
            else:
                vals.append(None)
        return cls(*vals)

    return read


#: Per record class: (field name, JSON key, left out when None) of each field, in order.
_FIELDS: dict[type, tuple[tuple[str, str, bool], ...]] = {}


def _fields_of(cls: type) -> tuple[tuple[str, str, bool], ...]:
    spec = _FIELDS.get(cls)
    if spec is None:
        spec = tuple((f.name, _key(f.name), f.default is None) for f in fields(cls))
        _FIELDS[cls] = spec
    return spec


def _dump(rec: Any) -> dict[str, Any]:
    """A record as JSON: fields with a ``None`` default are left out when ``None``."""
    out: dict[str, Any] = {}
    finite = math.isfinite
    for name, key, optional in _fields_of(type(rec)):
        v = getattr(rec, name)
        t = type(v)
        # the plain types inline (a plan has tens of thousands of rows of them)
        if v is None:
            if not optional:
                out[key] = None
        elif t is str or t is int or t is bool:
            out[key] = v
        elif t is float:
            out[key] = v if finite(v) else None
        else:
            out[key] = _value(v)
    return out


def _key(name: str) -> str:
    """The JSON key of a field: ``from_`` (a Python keyword) is written ``from``."""
    return name[:-1] if name.endswith("_") else name


def _value(v: Any) -> Any:
    t = type(v)
    # the plain types first (a plan has tens of thousands of rows of them)
    if t is str or t is int or t is bool or v is None:
        return v
    if t is float:
        # JSON has no inf/nan: an unlimited capacity or unreached figure is null
        return v if math.isfinite(v) else None
    if t is tuple:
        return [x if type(x) is str else _value(x) for x in v]
    if hasattr(v, "__dataclass_fields__"):
        return _dump(v)
    if isinstance(v, tuple):
        return [_value(x) for x in v]
    if isinstance(v, Mapping):
        return {k: _value(x) for k, x in v.items()}
    if isinstance(v, enum.Enum):
        return v.value
    if isinstance(v, float) and not math.isfinite(v):
        return None
    return v


# -- records -----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class CostBreakdown:
    """The cost terms of DESIGN §7 (scenario currency over the horizon).

    A term is ``None`` when the document does not give it (a plan without a solution has
    ``cost: {}``); a plan made by :func:`optimizer.plan.planning.plan_scenario` gives all nine
    and the three of format v1.1 (DESIGN §10: ``transfer``, ``returns``, ``stability``; zero
    without tonight's state).
    """

    fixed: float | None = None
    inbound: float | None = None
    duty: float | None = None
    holding: float | None = None
    handling: float | None = None
    outbound: float | None = None
    direct: float | None = None
    late_penalty: float | None = None
    lost_sale_penalty: float | None = None
    # format v1.1 (DESIGN §10)
    transfer: float | None = None
    returns: float | None = None
    stability: float | None = None

    def terms(self) -> dict[str, float]:
        """The terms given, by name, in DESIGN §7's order."""
        return {
            f.name: getattr(self, f.name) for f in fields(self) if getattr(self, f.name) is not None
        }

    @property
    def total(self) -> float:
        """The sum of the terms given."""
        return float(sum(self.terms().values()))

    @classmethod
    def _read(cls, o: _Obj) -> CostBreakdown:
        out = cls(**{f.name: o.num(f.name, required=False) for f in fields(cls)})
        o.done()
        return out


@dataclass(frozen=True, slots=True)
class CountryService:
    """Service in one country (``service.by_country``)."""

    on_time_share: float
    units_on_time: float | None = None
    units_late: float | None = None
    units_lost: float | None = None
    demand: float | None = None
    target: float | None = None

    @classmethod
    def _read(cls, o: _Obj) -> CountryService:
        out = cls(
            on_time_share=o.num("on_time_share"),
            units_on_time=o.num("units_on_time", required=False),
            units_late=o.num("units_late", required=False),
            units_lost=o.num("units_lost", required=False),
            demand=o.num("demand", required=False),
            target=o.num("target", required=False),
        )
        o.done()
        return out


@dataclass(frozen=True, slots=True)
class ServiceSummary:
    """Service over all demand; ``target`` is the scenario's on-time target.

    Every field is ``None`` in a plan without a solution (``service: {}``).
    """

    on_time_share: float | None = None
    units_on_time: float | None = None
    units_late: float | None = None
    units_lost: float | None = None
    by_country: Mapping[str, CountryService] | None = None
    target: float | None = None

    @classmethod
    def _read(cls, o: _Obj) -> ServiceSummary:
        bc = o.obj("by_country", required=False)
        by_country = None
        if bc is not None:
            by_country = {}
            for c in bc.d:
                sub = bc.obj(str(c))
                assert sub is not None
                by_country[str(c)] = CountryService._read(sub)
        out = cls(
            on_time_share=o.num("on_time_share", required=False),
            units_on_time=o.num("units_on_time", required=False),
            units_late=o.num("units_late", required=False),
            units_lost=o.num("units_lost", required=False),
            by_country=by_country,
            target=o.num("target", required=False),
        )
        o.done()
        return out


@dataclass(frozen=True, slots=True)
class WarehouseRow:
    """One warehouse: used (``open``) or not, and how much of it the plan uses.

    ``status`` (the scenario's), ``storage_m3`` and ``throughput_units_per_day`` are extras to
    §7; an unlimited capacity is ``math.inf``, written as ``null``. With tonight's state
    (format v1.1) ``storage_used_m3`` counts every unit on the warehouse's shelves: the
    stocking levels plus ``shelf_m3``, the volume of tonight's stock the plan leaves there
    (on hand, and in transit arriving within the horizon) and of the resold surplus kept there.
    """

    id: str
    open: bool
    storage_used_m3: float
    throughput_used_per_day: float
    status: WarehouseStatus | None = None
    storage_m3: float | None = None
    throughput_units_per_day: float | None = None
    shelf_m3: float | None = None

    @classmethod
    def _read(cls, o: _Obj) -> WarehouseRow:
        out = cls(
            id=o.string("id"),
            open=o.boolean("open"),
            storage_used_m3=o.num("storage_used_m3"),
            throughput_used_per_day=o.num("throughput_used_per_day"),
            status=o.choice("status", WarehouseStatus),
            storage_m3=o.cap("storage_m3"),
            throughput_units_per_day=o.cap("throughput_units_per_day"),
            shelf_m3=o.num("shelf_m3", required=False),
        )
        o.done()
        return out


def plan_rows(plan: Plan | Mapping[str, Any]) -> int:
    """The rows of a plan (or of its JSON document) that reading, holding and writing it grow
    with: its fulfilment, replenishment and stock rows."""
    if isinstance(plan, Mapping):
        return sum(len(plan.get(k) or ()) for k in ("fulfilment", "replenishment", "stock"))
    return sum(len(r or ()) for r in (plan.fulfilment, plan.replenishment, plan.stock))


#: The fields of the large row lists: (key, the :class:`_Obj` getter's name, required), in
#: each dataclass's order (:func:`_read_fields`, :func:`_fast_reader`).
_STOCK_FIELDS: _Fields = (
    ("sku", "string", True),
    ("warehouse", "string", True),
    ("units", "units", True),
    ("on_hand", "units", False),
    ("in_transit", "units", False),
)
_REPLENISHMENT_FIELDS: _Fields = (
    ("sku", "string", True),
    ("warehouse", "string", True),
    ("lanes", "strings", True),
    ("units", "units", True),
    ("origin", "string", False),
    ("lead_time_hours", "num", False),
)
_FULFILMENT_FIELDS: _Fields = (
    ("sku", "string", True),
    ("zone", "string", True),
    ("source", "string", True),
    ("lanes", "strings", True),
    ("units", "units", True),
    ("hours", "num", True),
    ("on_time", "boolean", True),
    ("p_on_time", "num", False),
    ("mode", "string", False),
)


@dataclass(frozen=True, slots=True)
class StockRow:
    """The stocking level of one SKU at one warehouse (whole units).

    ``on_hand`` and ``in_transit`` (format v1.1) are tonight's units there.
    """

    sku: str
    warehouse: str
    units: float
    on_hand: float | None = None
    in_transit: float | None = None

    @classmethod
    def _read(cls, o: _Obj) -> StockRow:
        return _read_fields(cls, o, _STOCK_FIELDS)


@dataclass(frozen=True, slots=True)
class ReplenishmentRow:
    """Units of one SKU shipped into a warehouse over the horizon, along ``lanes``.

    ``origin`` and ``lead_time_hours`` are extras to §7.
    """

    sku: str
    warehouse: str
    lanes: tuple[str, ...]
    units: float
    origin: str | None = None
    lead_time_hours: float | None = None

    @classmethod
    def _read(cls, o: _Obj) -> ReplenishmentRow:
        return _read_fields(cls, o, _REPLENISHMENT_FIELDS)


@dataclass(frozen=True, slots=True)
class FulfilmentRow:
    """Units of one SKU delivered to a zone from ``source`` (a warehouse or, direct, an origin).

    ``mode`` (``"warehouse"`` or ``"direct"``) is an extra to §7. ``p_on_time`` (DESIGN §10)
    is the probability that the path's order-to-door hours keep the promise under random lane
    hours (1 or 0 when every lane's hours are fixed).
    """

    sku: str
    zone: str
    source: str
    lanes: tuple[str, ...]
    units: float
    hours: float
    on_time: bool
    p_on_time: float | None = None
    mode: str | None = None

    @classmethod
    def _read(cls, o: _Obj) -> FulfilmentRow:
        return _read_fields(cls, o, _FULFILMENT_FIELDS)


_FAST_STOCK = _fast_reader(StockRow, _STOCK_FIELDS)
_FAST_REPLENISHMENT = _fast_reader(ReplenishmentRow, _REPLENISHMENT_FIELDS)
_FAST_FULFILMENT = _fast_reader(FulfilmentRow, _FULFILMENT_FIELDS)


@dataclass(frozen=True, slots=True)
class LostRow:
    """Demand of one SKU in one zone the plan does not serve (a lost sale)."""

    sku: str
    zone: str
    units: float

    @classmethod
    def _read(cls, o: _Obj) -> LostRow:
        out = cls(sku=o.string("sku"), zone=o.string("zone"), units=o.num("units"))
        o.done()
        return out


@dataclass(frozen=True, slots=True)
class TransferRow:
    """Units of tonight's stock moved between two warehouses on a transfer lane (v1.1).

    ``lot`` (``on_hand`` or ``in_transit``) and ``available_in_hours`` (when the units are at
    ``to``) are extras.
    """

    sku: str
    from_: str
    to: str
    lane: str
    units: float
    hours: float
    lot: str | None = None
    available_in_hours: float | None = None

    @classmethod
    def _read(cls, o: _Obj) -> TransferRow:
        out = cls(
            sku=o.string("sku"),
            from_=o.string("from"),
            to=o.string("to"),
            lane=o.string("lane"),
            units=o.num("units"),
            hours=o.num("hours"),
            lot=o.string("lot", required=False),
            available_in_hours=o.num("available_in_hours", required=False),
        )
        o.done()
        return out


@dataclass(frozen=True, slots=True)
class OrderRow:
    """Tonight's replenishment booking (v1.1): order-up-to level minus inventory position."""

    sku: str
    warehouse: str
    lanes: tuple[str, ...]
    units: float

    @classmethod
    def _read(cls, o: _Obj) -> OrderRow:
        out = cls(
            sku=o.string("sku"),
            warehouse=o.string("warehouse"),
            lanes=o.strings("lanes"),
            units=o.num("units"),
        )
        o.done()
        return out


@dataclass(frozen=True, slots=True)
class ReturnRow:
    """Returned units of one SKU from one zone (v1.1), taken by ``warehouse`` (``None``,
    written ``null``: written off). ``sku``, ``zone``, ``lanes`` (the reverse last mile) and
    ``written_off`` are extras the evaluator reads."""

    country: str
    warehouse: str | None
    units: float
    resold_units: float
    sku: str | None = None
    zone: str | None = None
    lanes: tuple[str, ...] | None = None
    written_off: bool | None = None

    @classmethod
    def _read(cls, o: _Obj) -> ReturnRow:
        out = cls(
            country=o.string("country"),
            warehouse=o.string("warehouse", null=True),
            units=o.num("units"),
            resold_units=o.num("resold_units"),
            sku=o.string("sku", required=False),
            zone=o.string("zone", required=False),
            lanes=o.strings("lanes", required=False),
            written_off=o.boolean("written_off", required=False),
        )
        o.done()
        return out


@dataclass(frozen=True, slots=True)
class InventoryLotRow:
    """One lot of tonight's stock (v1.1) and what the plan does with it."""

    sku: str
    warehouse: str
    kind: str
    units: float
    arrives_in_hours: float | None  # null for units on hand
    used_here: float
    transferred: float
    left: float

    @classmethod
    def _read(cls, o: _Obj) -> InventoryLotRow:
        out = cls(
            sku=o.string("sku"),
            warehouse=o.string("warehouse"),
            kind=o.string("kind"),
            units=o.num("units"),
            arrives_in_hours=o.num("arrives_in_hours", null=True),
            used_here=o.num("used_here"),
            transferred=o.num("transferred"),
            left=o.num("left"),
        )
        o.done()
        return out


@dataclass(frozen=True, slots=True)
class SurplusRow:
    """Resold returned units a warehouse does not need (kept on its shelf; v1.1)."""

    sku: str
    warehouse: str
    units: float

    @classmethod
    def _read(cls, o: _Obj) -> SurplusRow:
        out = cls(sku=o.string("sku"), warehouse=o.string("warehouse"), units=o.num("units"))
        o.done()
        return out


@dataclass(frozen=True, slots=True)
class PlanEvaluation:
    """What the independent evaluator found: broken rules and missed service targets."""

    feasible: bool
    violations: tuple[str, ...] = ()
    shortfalls: tuple[str, ...] = ()

    @classmethod
    def _read(cls, o: _Obj) -> PlanEvaluation:
        out = cls(
            feasible=o.boolean("feasible"),
            violations=o.strings("violations"),
            shortfalls=o.strings("shortfalls"),
        )
        o.done()
        return out


@dataclass(frozen=True, slots=True)
class Plan:
    """A plan (DESIGN §7 ``plan.json``).

    The first six fields are always written; ``objective``, ``bound`` and ``gap`` are ``None``
    (``null``) when unknown. Every later field is left out of the JSON when ``None`` (see the
    module docstring); a plan made by :func:`optimizer.plan.planning.plan_scenario` gives
    ``cost`` to ``stats`` (``evaluation``, ``diagnosis`` only with a solution; ``baseline`` only
    when asked for).

    Attributes
    ----------
    scenario, status, objective, bound, gap, solve_seconds
        The scenario's name, the solve's :class:`~optimizer.solver.Status`, the total cost (the
        sum of ``cost``), a proven lower bound, their relative gap and the wall-clock seconds.
    cost, service
        :class:`CostBreakdown` and :class:`ServiceSummary`.
    warehouses, stock, replenishment, fulfilment, lost
        The rows (tuples of :class:`WarehouseRow` ...).
    promise_hours, seed, currency, strategy, solver
        The delivery promise, the solver seed, the scenario currency, the strategy
        (``monolithic`` or ``decompose``) and the MIP solver used.
    notes
        Remarks for people (target lowered, fallback used ...).
    stats
        Solver statistics (sizes, phase timings); an open object.
    evaluation
        :class:`PlanEvaluation`, the independent evaluator's verdict.
    diagnosis, baseline
        Open objects: zones that miss the promise and why; the naive planner's figures.
    transfers, orders, returns, inventory, surplus
        Format v1.1 (DESIGN §10): :class:`TransferRow`, :class:`OrderRow`,
        :class:`ReturnRow`, :class:`InventoryLotRow`, :class:`SurplusRow`.
    """

    scenario: str
    status: Status
    objective: float | None
    bound: float | None
    gap: float | None
    solve_seconds: float
    cost: CostBreakdown | None = None
    service: ServiceSummary | None = None
    warehouses: tuple[WarehouseRow, ...] | None = None
    stock: tuple[StockRow, ...] | None = None
    replenishment: tuple[ReplenishmentRow, ...] | None = None
    fulfilment: tuple[FulfilmentRow, ...] | None = None
    lost: tuple[LostRow, ...] | None = None
    promise_hours: float | None = None
    # format v1.1 (DESIGN §10)
    transfers: tuple[TransferRow, ...] | None = None
    orders: tuple[OrderRow, ...] | None = None
    returns: tuple[ReturnRow, ...] | None = None
    inventory: tuple[InventoryLotRow, ...] | None = None
    surplus: tuple[SurplusRow, ...] | None = None
    seed: int | None = None
    currency: str | None = None
    strategy: str | None = None
    solver: str | None = None
    notes: tuple[str, ...] | None = None
    stats: Mapping[str, Any] | None = None
    evaluation: PlanEvaluation | None = None
    diagnosis: Mapping[str, Any] | None = None
    baseline: Mapping[str, Any] | None = None

    def to_json(self) -> dict[str, Any]:
        """The JSON document (a new ``dict``; ``json.dumps(..., allow_nan=False)`` accepts it)."""
        return _dump(self)

    def iter_json(self, chunk: int = 20_000) -> Iterator[str]:
        """The compact JSON text of :meth:`to_json` in pieces, ``chunk`` rows at a time.

        ``"".join(plan.iter_json())`` equals ``json.dumps(plan.to_json(), allow_nan=False)``
        character for character, but never holds more than ``chunk`` rows as ``dict`` objects
        or the whole text at once: a 100,000-SKU plan has millions of rows, and building their
        dictionaries and the text together took gigabytes on top of the plan itself.
        """
        enc = json.JSONEncoder(allow_nan=False)
        sep = "{"
        for name, key, optional in _fields_of(type(self)):
            v = getattr(self, name)
            if v is None and optional:
                continue
            yield f"{sep}{enc.encode(key)}: "
            sep = ", "
            if type(v) is not tuple or len(v) <= chunk:
                yield enc.encode(_value(v))
                continue
            yield "["
            for i in range(0, len(v), chunk):
                part = enc.encode(_value(v[i : i + chunk]))
                yield part[1:-1] if i == 0 else ", " + part[1:-1]
            yield "]"
        yield "{}" if sep == "{" else "}"

    @classmethod
    def from_json(cls, doc: Any) -> Plan:
        """Read a plan document; :class:`PlanFormatError` names the first bad field.

        Raises
        ------
        PlanFormatError
            A required key is missing, a value has the wrong type, the status is unknown or a
            key is not a field of the document (``stats``, ``diagnosis`` and ``baseline`` are
            open objects and take any key).
        """
        o = _Obj(doc, "")
        st = o.choice("status", Status, required=True)
        cost = o.obj("cost", required=False)
        service = o.obj("service", required=False)
        ev = o.obj("evaluation", required=False)
        out = cls(
            scenario=o.string("scenario"),
            status=st,
            objective=o.num("objective", null=True),
            bound=o.num("bound", null=True),
            gap=o.num("gap", null=True),
            solve_seconds=o.num("solve_seconds"),
            cost=None if cost is None else CostBreakdown._read(cost),
            service=None if service is None else ServiceSummary._read(service),
            warehouses=o.rows("warehouses", WarehouseRow._read),
            stock=o.rows("stock", StockRow._read, fast=_FAST_STOCK),
            replenishment=o.rows("replenishment", ReplenishmentRow._read, fast=_FAST_REPLENISHMENT),
            fulfilment=o.rows("fulfilment", FulfilmentRow._read, fast=_FAST_FULFILMENT),
            lost=o.rows("lost", LostRow._read),
            promise_hours=o.num("promise_hours", required=False),
            transfers=o.rows("transfers", TransferRow._read),
            orders=o.rows("orders", OrderRow._read),
            returns=o.rows("returns", ReturnRow._read),
            inventory=o.rows("inventory", InventoryLotRow._read),
            surplus=o.rows("surplus", SurplusRow._read),
            seed=o.integer("seed", required=False),
            currency=o.string("currency", required=False),
            strategy=o.string("strategy", required=False),
            solver=o.string("solver", required=False),
            notes=o.strings("notes", required=False),
            stats=o.open_obj("stats"),
            evaluation=None if ev is None else PlanEvaluation._read(ev),
            diagnosis=o.open_obj("diagnosis"),
            baseline=o.open_obj("baseline"),
        )
        o.done()
        return out

    @property
    def open_warehouses(self) -> list[str]:
        """Ids of the warehouses the plan uses."""
        return [w.id for w in self.warehouses or () if w.open]
