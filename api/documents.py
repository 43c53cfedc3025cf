"""The published JSON schemas of the scenario and network documents, and their enforcement.

The OpenAPI document describes a scenario (``Scenario``), a stored network (``Network``: a
scenario without ``demand``) and a demand row (``DemandRow``) with the schema generated from the
format's own models (:mod:`network.scenario`), so the API publishes exactly what the loader reads.
Requests are checked against the published schema first (:func:`check_document`, strict JSON
types: ``true`` is not a number), then by :func:`network.scenario.parse_scenario` for the rules a
schema cannot state (references, duplicates), each problem a 422 entry naming the item.
"""

from __future__ import annotations

import contextlib
import copy
import datetime as dt
import math
from collections.abc import Iterator
from functools import lru_cache
from typing import Any

from fastapi.exceptions import RequestValidationError

__all__ = ["check_document", "check_json_values", "components", "document_schema"]

_REF = "#/components/schemas/{model}"


@lru_cache(maxsize=1)
def _scenario_schema() -> dict[str, Any]:
    from network.scenario import DemandRow, Scenario

    s = Scenario.model_json_schema(by_alias=True, mode="validation")
    s["description"] = (
        "A scenario in format v1 (DESIGN §3): the network (nodes, lanes, rate "
        "cards, SKUs, service) and the demand forecast. Unknown keys are kept."
    )
    row = DemandRow.model_json_schema(by_alias=True)
    s["$defs"]["DemandRow"] = row
    s["properties"]["demand"] = {
        "type": "array",
        "items": {"$ref": "#/$defs/DemandRow"},
        "description": "Units of one SKU in one zone over the horizon.",
    }
    for d in s["$defs"].values():  # JSON has no Infinity: no default is better than a wrong one
        for p in d.get("properties", {}).values():
            if p.get("default") in (float("inf"), float("-inf")):
                del p["default"]
    return s


@lru_cache(maxsize=4)
def document_schema(kind: str) -> dict[str, Any]:
    """A self-contained JSON schema (``$defs`` inside) of ``scenario``, ``network`` or
    ``demand`` (a list of demand rows)."""
    s = copy.deepcopy(_scenario_schema())
    if kind == "scenario":
        return s
    if kind == "network":
        s["title"] = "Network"
        s["description"] = (
            "A network in format v1: a scenario without `demand` (the demand "
            "comes with each forecast). Unknown keys are kept."
        )
        del s["properties"]["demand"]
        s["not"] = {"required": ["demand"]}
        return s
    if kind == "demand":
        return {
            "type": "array",
            "items": {"$ref": "#/$defs/DemandRow"},
            "minItems": 1,
            "$defs": {"DemandRow": s["$defs"]["DemandRow"]},
        }
    raise ValueError(f"kind={kind!r} not understood.")


def _as_component(s: dict[str, Any]) -> dict[str, Any]:
    """``#/$defs/X`` references rewritten to OpenAPI components."""

    def fix(o: Any) -> Any:
        if isinstance(o, dict):
            return {
                k: (
                    v.replace("#/$defs/", "#/components/schemas/")
                    if k == "$ref" and isinstance(v, str)
                    else fix(v)
                )
                for k, v in o.items()
                if k != "$defs"
            }
        if isinstance(o, list):
            return [fix(v) for v in o]
        return o

    return fix(s)  # type: ignore[no-any-return]


def components() -> dict[str, Any]:
    """The OpenAPI components ``Scenario``, ``Network``, ``DemandRow`` and their parts."""
    sc = document_schema("scenario")
    out = {name: _as_component(d) for name, d in sc["$defs"].items()}
    out["Scenario"] = _as_component(sc)
    out["Network"] = _as_component(document_schema("network"))
    return out


@lru_cache(maxsize=4)
def _validator(kind: str) -> Any:
    import jsonschema_rs

    return jsonschema_rs.validator_for(document_schema(kind))


def check_document(doc: Any, kind: str, *, loc: tuple[str, ...], limit: int = 50) -> None:
    """Raise a 422 (``RequestValidationError``) listing where ``doc`` breaks the ``kind`` schema.

    Parameters
    ----------
    doc
        The decoded document.
    kind
        ``scenario``, ``network`` or ``demand``.
    loc
        Where the document sits in the request (``("body", "scenario")``).
    limit
        At most this many problems are listed.
    """
    errors = []
    for e in _validator(kind).iter_errors(doc):
        path = tuple(e.instance_path)
        if kind == "network" and not path and type(e.kind).__name__ == "Not":
            if not isinstance(doc, dict):  # a scalar or a list: its type error says it all
                continue
            msg = "a network has no `demand`: send the forecast to /v1/networks/{name}/forecasts"
        else:  # messages quote the offending value: keep them short
            msg = e.message if len(e.message) <= 300 else e.message[:297] + "..."
        errors.append({"loc": (*loc, *path), "type": "schema", "msg": msg})
        if len(errors) >= limit:
            break
    if errors:
        raise RequestValidationError(errors)


MAX_VALUES = 2_000_000
"""Most values (scalars and containers) a document may hold once YAML aliases are expanded."""
MAX_DEPTH = 100
"""Deepest nesting of lists and objects a document may have."""


def _not_json(v: Any) -> str | None:
    """Why the scalar ``v`` cannot be stored as JSON (None when it can)."""
    if v is None or isinstance(v, bool | int):
        return None
    if isinstance(v, str):
        try:
            v.encode("utf-8")
        except UnicodeEncodeError as e:
            bad = v[e.start]
            return f"not valid Unicode: a lone surrogate {bad!r} at character {e.start}"
        return None
    if isinstance(v, float):
        return (
            None if math.isfinite(v) else f"{v} is not a JSON number (JSON has no NaN or Infinity)"
        )
    if isinstance(v, dt.date | dt.datetime | dt.time):
        return f"a YAML date or time is not a JSON value: quote it ({v.isoformat()!r})"
    if isinstance(v, bytes | bytearray):
        return "binary data (!!binary) is not a JSON value: send it as a string"
    if isinstance(v, set | frozenset):
        return "a set (!!set) is not a JSON value: send a list"
    return f"a {type(v).__name__} is not a JSON value"


def check_json_values(doc: Any, *, loc: tuple[str, ...], limit: int = 50) -> None:
    """Raise a 422 (``RequestValidationError``) listing every value of ``doc`` that JSON cannot
    hold, each entry naming its path.

    A YAML document can hold dates, binary data, sets, keys that are not strings (``1:``,
    ``NO:`` read as false) and recursive aliases; Python's JSON reader accepts ``NaN``,
    ``Infinity`` and strings with lone surrogates (``"\\ud800"``). None of these can be stored
    and answered as JSON, under known and unknown keys alike, so they are refused at ingest
    (the message says how to write the value instead: a date as a quoted string).

    Parameters
    ----------
    doc
        The decoded document.
    loc
        Where the document sits in the request (``("body",)``).
    limit
        At most this many problems are listed.
    """
    errors: list[dict[str, Any]] = []
    seen = 0

    def add(path: tuple[Any, ...], msg: str) -> None:
        errors.append({"loc": (*loc, *path), "type": "json_value", "msg": msg})

    def walk(v: Any, path: tuple[Any, ...], on_path: frozenset[int]) -> bool:
        nonlocal seen
        seen += 1
        if len(errors) >= limit:
            return False
        if seen > MAX_VALUES:
            add((), f"the document holds over {MAX_VALUES:,} values (YAML aliases expanded)")
            return False
        if isinstance(v, dict | list):
            if id(v) in on_path:
                add(path, "a YAML alias refers to its own parent: JSON cannot hold a cycle")
                return True
            if len(path) >= MAX_DEPTH:
                add(path, f"nested deeper than {MAX_DEPTH} levels")
                return True
            inner = on_path | {id(v)}
            items = v.items() if isinstance(v, dict) else enumerate(v)
            for k, x in items:
                if isinstance(v, dict) and not isinstance(k, str):
                    add((*path, str(k)), f"a key must be a string, not {k!r}: quote it")
                    continue
                if isinstance(k, str) and (why := _not_json(k)) is not None:
                    add((*path, k.encode("utf-8", "backslashreplace").decode()), f"key: {why}")
                    continue
                if not walk(x, (*path, k), inner):
                    return False
            return True
        why = _not_json(v)
        if why is not None:
            add(path, why)
        return True

    walk(doc, (), frozenset())
    if errors:
        raise RequestValidationError(errors)


def parse_checked(doc: Any, kind: str, *, loc: tuple[str, ...], **parse_kw: Any) -> Any:
    """:func:`network.scenario.parse_scenario` of ``doc``, then :func:`check_document`.

    The loader's problems come first and in its own words (what ``tradelane validate`` says);
    the schema check then refuses what the loader would coerce (a number in quotes). A
    document of such wrong types that the loader cannot even read (``"country": {}``) is
    answered by the schema check's 422.

    Raises
    ------
    ScenarioError
        The loader's problems.
    RequestValidationError
        The schema's problems.
    """
    from network.scenario import ScenarioError, parse_scenario

    try:
        parsed = parse_scenario(doc, **parse_kw)
    except ScenarioError:
        raise
    except Exception:
        check_document(doc, kind, loc=loc)
        raise
    check_document(doc, kind, loc=loc)
    return parsed


@contextlib.contextmanager
def _limit_422(loc: tuple[str, ...]) -> Iterator[None]:
    """A :class:`~optimizer.exceptions.TimeLimitError` inside becomes a 422 at ``loc``."""
    from optimizer.exceptions import TimeLimitError

    try:
        yield
    except TimeLimitError as e:
        raise RequestValidationError([{"loc": loc, "type": "value_error", "msg": str(e)}]) from None


def check_simulate_limit(plan: Any, limit: float, loc: tuple[str, ...]) -> None:
    """A 422 at ``loc`` naming the shortest limit when ``limit`` is shorter than a simulation
    of ``plan`` (its JSON document) can keep
    (:func:`optimizer.risk.simulate.check_simulate_limit`), before any job is queued."""
    from optimizer.plan.document import plan_rows
    from optimizer.risk import simulate

    with _limit_422(loc):
        simulate.check_simulate_limit(limit, plan_rows(plan))


def check_plan_limit(
    scenario: Any,
    limit: float,
    loc: tuple[str, ...],
    *,
    whatif_of: Any = None,
    previous: bool = False,
) -> None:
    """A 422 at ``loc`` naming the shortest limit when ``limit`` is shorter than the scenario
    can keep (:func:`optimizer.plan.planning.check_time_limit`: the SKU-block path of a large
    catalogue), before any job is queued. With ``whatif_of`` (the base plan's JSON document),
    the limit of a what-if on the shocked ``scenario``
    (:func:`optimizer.risk.whatif.check_whatif_limit`: the re-plan's floor and the work that
    grows with the base plan's rows)."""
    from optimizer.allocation.params import AllocationParams
    from optimizer.plan.planning import check_time_limit

    params = AllocationParams(time_limit=limit)
    with _limit_422(loc):
        if whatif_of is None:
            check_time_limit(scenario, params, previous=previous)
        else:
            from optimizer.plan.document import plan_rows
            from optimizer.risk.whatif import check_whatif_limit

            check_whatif_limit(scenario, plan_rows(whatif_of), params, previous=previous)
