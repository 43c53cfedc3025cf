"""Readers for standard VRP instances (Solomon, VRPLIB/CVRPLIB) and solution writers.

Readers go through the ``vrplib`` package and return a ``RoutingInstance`` in the instance's own
units and numbering:

- **Solomon** (VRPTW text format): unrounded Euclidean distances, travel time = distance,
  service must start within ``[ready, due]``, the vehicle must be back at the depot by the
  depot's due date; fleet = ``NUMBER`` vehicles of ``CAPACITY``; every client mandatory.
  Client ids are the file's customer numbers (1..n in the published files); a number used
  twice is refused.
- **VRPLIB/CVRPLIB** (``.vrp``): ``EUC_2D`` distances with TSPLIB rounding (``nint``) as in the
  CVRPLIB best-known values (``EXACT_2D`` unrounded, ``FLOOR_2D`` and ``CEIL_2D`` rounded down
  and up, as TSPLIB defines them); explicit ``EDGE_WEIGHT_SECTION`` matrices are used as given. The
  number of vehicles is free (one vehicle per client is made available) unless the file has a
  ``VEHICLES`` field. Client ids are node ids minus one (depot 0), as in CVRPLIB ``.sol`` files.
  Time windows and service times (VRPTW in VRPLIB format) are read when present. A
  ``DISTANCE`` field (the distance-constrained instances of Christofides et al. and Golden et
  al.) bounds each route's length, service times included, as the maximum route duration
  (travel time = distance). Other fields and sections that would change the problem
  (backhauls, pickups, prizes, per-vehicle limits) are refused, naming them.

``read_instance`` dispatches on the file's content. ``read_solution`` reads a VRPLIB ``.sol`` or a
SINTEF solution file (``Route k : ...``) into client-id lists. ``solution_to_dict`` /
``write_solution`` produce the DESIGN §7 JSON.
"""

from __future__ import annotations

import json
import math
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from optimizer.routing.evaluate import distance_matrix
from optimizer.routing.instance import RoutingError, RoutingInstance, VehicleType

if TYPE_CHECKING:
    from optimizer.routing.result import RoutingResult

__all__ = [
    "read_instance",
    "read_solomon",
    "read_solution",
    "read_vrplib",
    "routes_to_indices",
    "solution_to_dict",
    "write_solution",
]


_SOLOMON_COLUMNS = ("customer", "x", "y", "demand", "ready time", "due date", "service time")
_VRPLIB_ROWS = {
    "NODE_COORD_SECTION": 3,
    "DEMAND_SECTION": None,  # id and one demand per dimension
    "TIME_WINDOW_SECTION": 3,
    "SERVICE_TIME_SECTION": 2,
}
_SECTION = re.compile(r"^[A-Z_]+_SECTION\b|^EOF\b")
#: The VRPLIB fields and sections ``read_vrplib`` reads, or that do not change the problem
#: (names, comments, display data, formats); any other (a backhaul, pickup, prize or release
#: section, a per-vehicle limit) would be solved as another problem without it, so it is refused.
_VRPLIB_KEYS = frozenset(
    {
        "name",
        "comment",
        "type",
        "dimension",
        "capacity",
        "vehicles",
        "distance",
        "service_time",
        "edge_weight_type",
        "edge_weight_format",
        "edge_weight",
        "node_coord_type",
        "node_coord",
        "display_data_type",
        "display_data",
        "demand",
        "depot",
        "time_window",
    }
)


def _number(tok: str) -> float | None:
    try:
        return float(tok)
    except ValueError:
        return None


def _check_solomon_text(path: Path, text: str) -> list[int] | None:
    """Every customer row holds seven whole numbers, and the fleet line two; returns the
    customer numbers in file order (None without a column header: the parser names that).

    The parser (``numpy.genfromtxt`` with integers) reads ``42.5`` or ``x`` as -1 without a
    word, so a typo would silently give another instance: this check names the line first.
    It drops the customer numbers too, so a number used twice is named here.
    """
    lines = text.splitlines()
    # the column header ("CUST NO. XCOORD. ..."): the last line starting with CUST (the
    # section title CUSTOMER comes before it; data rows start with a number)
    heads = [i for i, ln in enumerate(lines) if ln.strip().upper().startswith("CUST")]
    head = heads[-1] if heads else None
    if head is None:
        return None  # the parser's own check names the missing section
    fleet = next(
        (i for i, ln in enumerate(lines[:head]) if ln.strip().upper().startswith("NUMBER")), None
    )
    rows: list[tuple[int, tuple[str, ...], list[str]]] = []
    if fleet is not None:
        nxt = next((i for i in range(fleet + 1, head) if lines[i].split()), None)
        if nxt is not None:
            rows.append((nxt, ("vehicle number", "capacity"), lines[nxt].split()))
    data = [i for i in range(head + 1, len(lines)) if lines[i].split()]
    if not data:
        raise RoutingError(f"{path}:{head + 1}: no customer rows after the column header")
    rows += [(i, _SOLOMON_COLUMNS, lines[i].split()) for i in data]
    for i, names, toks in rows:
        if len(toks) != len(names):
            raise RoutingError(
                f"{path}:{i + 1}: expected {len(names)} numbers ({', '.join(names)}), "
                f"got {len(toks)}: {lines[i].strip()!r}"
            )
        for name, tok in zip(names, toks, strict=True):
            v = _number(tok)
            if v is None or not math.isfinite(v):
                raise RoutingError(f"{path}:{i + 1}: {name} {tok!r:.60} is not a number")
            if not v.is_integer():
                raise RoutingError(
                    f"{path}:{i + 1}: {name} {tok!r} is not a whole number (the Solomon "
                    "format holds integers)"
                )
            if name == "vehicle number" and v < 1:
                raise RoutingError(
                    f"{path}:{i + 1}: vehicle number {tok} (NUMBER): the fleet needs at least "
                    "one vehicle"
                )
            if name in ("capacity", "demand", "ready time", "due date", "service time") and v < 0:
                raise RoutingError(f"{path}:{i + 1}: {name} {tok} is negative")
    numbers: dict[int, int] = {}  # customer number -> its line
    for i in data:
        number = int(float(lines[i].split()[0]))
        if number in numbers:
            raise RoutingError(
                f"{path}:{i + 1}: customer number {number} is used twice (first on line "
                f"{numbers[number] + 1})"
            )
        numbers[number] = i
    return list(numbers)


def _check_vrplib_text(path: Path, text: str) -> None:
    """Rows of the coordinate, demand, window and service sections are whole rows of numbers,
    one per node (1, 2, ... in order) when ``DIMENSION`` is given, and numeric header fields
    are numbers: the parser would otherwise solve the rows a cut-off file still has, give one
    node's data to another, or stop on a numpy error."""
    lines = text.splitlines()
    dim: int | None = None
    numeric = ("DIMENSION", "CAPACITY", "VEHICLES", "SERVICE_TIME", "DISTANCE")
    section: str | None = None
    counts: dict[str, tuple[int, int]] = {}  # section -> (rows, line of its header)
    for i, raw in enumerate(lines):
        ln = raw.strip()
        if not ln:
            continue
        if _SECTION.match(ln):
            section = ln.split()[0]
            counts.setdefault(section, (0, i + 1))
            continue
        if section is None:
            key, sep, value = ln.partition(":")
            key = key.strip().upper()
            if sep and key in numeric:
                v = _number(value.strip())
                if v is None or not math.isfinite(v):
                    raise RoutingError(
                        f"{path}:{i + 1}: {key} {value.strip()!r:.60} is not a number"
                    )
                if key in ("CAPACITY", "SERVICE_TIME", "DISTANCE") and v < 0:
                    raise RoutingError(f"{path}:{i + 1}: {key} {value.strip()} is negative")
                if key == "VEHICLES" and (v < 1 or not v.is_integer()):
                    raise RoutingError(
                        f"{path}:{i + 1}: VEHICLES {value.strip()} is not a vehicle count "
                        "(1 or more)"
                    )
                if key == "DIMENSION":
                    if not v.is_integer() or v < 2:
                        raise RoutingError(
                            f"{path}:{i + 1}: DIMENSION {value.strip()!r} is not a node count"
                        )
                    dim = int(v)
            continue
        if section not in _VRPLIB_ROWS:
            continue
        toks = ln.split()
        want = _VRPLIB_ROWS[section]
        if (want is not None and len(toks) != want) or len(toks) < 2:
            raise RoutingError(
                f"{path}:{i + 1}: a {section} row needs "
                f"{want if want is not None else 'at least 2'} fields (node id and values), "
                f"got {ln!r}"
            )
        bad = next((t for t in toks if _number(t) is None or not math.isfinite(float(t))), None)
        if bad is not None:
            raise RoutingError(f"{path}:{i + 1}: {bad!r:.60} in {section} is not a number")
        rows, at = counts[section]
        # the parser takes the rows in file order and drops their node ids: a section in
        # another order would give one node's demand or window to another
        if float(toks[0]) != rows + 1:
            raise RoutingError(
                f"{path}:{i + 1}: {section} lists node {toks[0]} where node {rows + 1} comes "
                "(each section lists the nodes 1, 2, ... in order)"
            )
        counts[section] = (rows + 1, at)
    if dim is not None:
        for name, (rows, at) in counts.items():
            if name in _VRPLIB_ROWS and rows != dim:
                raise RoutingError(
                    f"{path}:{at}: {name} has {rows} rows but DIMENSION is {dim} (a cut-off file?)"
                )


def _not_a_file(path: Path) -> str:
    """Why ``path`` cannot be read as an instance file (it is not a regular file)."""
    if path.is_dir():
        return "is a folder, not an instance file"
    return "no such file" if not path.exists() else "not a regular file"


def _read(path: Path, fmt: str) -> dict[str, Any]:
    import vrplib

    if not path.is_file():
        raise RoutingError(f"{path}: {_not_a_file(path)}")
    try:
        text = path.read_text()
    except (OSError, UnicodeDecodeError) as e:
        raise RoutingError(f"{path}: cannot read the file ({e})") from None
    customers = None
    if fmt == "solomon":
        customers = _check_solomon_text(path, text)
    else:
        _check_vrplib_text(path, text)
    try:
        data: dict[str, Any] = vrplib.read_instance(
            str(path), instance_format=fmt, compute_edge_weights=False
        )
    except Exception as e:  # vrplib raises assorted errors on malformed files
        raise RoutingError(
            f"{path}: not a readable {fmt} instance ({type(e).__name__}: {e})"
        ) from None
    if customers is not None:
        data["customer"] = customers  # the parser keeps no customer numbers
    return data


def _need(data: dict[str, Any], key: str, path: Path) -> Any:
    if key not in data:
        raise RoutingError(f"{path}: missing {key!r} section")
    return data[key]


def read_solomon(path: str | Path, *, convention: str = "exact") -> RoutingInstance:
    """Read a Solomon (or Gehring & Homberger) VRPTW file.

    Parameters
    ----------
    path : str or Path
    convention : {"exact", "trunc1", "nint"}
        Distance convention; ``exact`` (unrounded, the default) is the classic one.

    Returns
    -------
    RoutingInstance
        Depot = location 0; clients keep their customer numbers as ids (1..n in the
        published files).

    Raises
    ------
    RoutingError
        Unreadable file or inconsistent data (naming the file and item).
    """
    path = Path(path)
    d = _read(path, "solomon")
    xy = np.asarray(_need(d, "node_coord", path), dtype=float)
    tw = np.asarray(_need(d, "time_window", path), dtype=float)
    dem = np.asarray(_need(d, "demand", path), dtype=float)
    svc = np.asarray(_need(d, "service_time", path), dtype=float)
    n = len(xy)
    if not (len(tw) == len(dem) == len(svc) == n) or n < 2:
        raise RoutingError(f"{path}: coordinate, demand, window and service columns disagree")
    dist = distance_matrix(xy, convention)
    # the file's own customer numbers (1..n in the published files, but a file of some of a
    # set's customers keeps theirs), the depot's first
    numbers = list(d.get("customer") or range(n))
    if len(numbers) != n:
        raise RoutingError(f"{path}: {len(numbers)} customer rows but {n} coordinates")
    fleet = VehicleType(
        count=int(_need(d, "vehicles", path)),
        capacity=(float(_need(d, "capacity", path)),),
        shift_start=float(tw[0, 0]),
        shift_end=float(tw[0, 1]),
        name="vehicle",
    )
    return RoutingInstance.build(
        str(d.get("name") or path.stem),
        dist,
        num_depots=1,
        vehicle_types=(fleet,),
        demand=dem[1:],
        service=svc[1:],
        tw_early=tw[1:, 0],
        tw_late=tw[1:, 1],
        client_ids=numbers[1:],
        depot_ids=numbers[:1],
        coords=xy,
        distance_convention=convention,
        meta={"format": "solomon", "path": str(path)},
    )


def read_vrplib(path: str | Path, *, convention: str | None = None) -> RoutingInstance:
    """Read a VRPLIB (CVRPLIB) instance.

    Parameters
    ----------
    path : str or Path
    convention : {"nint", "exact", "trunc1", "floor", "ceil"}, optional
        For coordinate instances; default by ``EDGE_WEIGHT_TYPE``: ``nint`` for ``EUC_2D``
        (TSPLIB rounding, the CVRPLIB convention), ``exact`` for ``EXACT_2D``, ``floor`` for
        ``FLOOR_2D``, ``ceil`` for ``CEIL_2D``.

    Returns
    -------
    RoutingInstance
        Depot(s) first; client ids are node ids minus one.

    Raises
    ------
    RoutingError
        Unreadable file, missing sections, or more than one depot given in a way not supported.
    """
    path = Path(path)
    d = _read(path, "vrplib")
    # vrplib keys a field or a section by its lower-case name, without "_SECTION" (a section
    # is an array, a field a number or a word)
    unknown = [
        k.upper() + ("_SECTION" if isinstance(v, np.ndarray) else "")
        for k, v in d.items()
        if k not in _VRPLIB_KEYS
    ]
    if unknown:
        raise RoutingError(
            f"{path}: {', '.join(unknown)} not supported (the instance would be solved "
            "without it, as another problem)"
        )
    conv = convention or "nint"
    xy = None
    if "edge_weight" in d and d.get("edge_weight_type", "EXPLICIT") == "EXPLICIT":
        dist = np.asarray(d["edge_weight"], dtype=float)
        conv = "matrix"
    else:
        xy = np.asarray(_need(d, "node_coord", path), dtype=float)
        ewt = str(d.get("edge_weight_type", "EUC_2D")).upper()
        if ewt not in ("EUC_2D", "EXACT_2D", "FLOOR_2D", "CEIL_2D"):
            raise RoutingError(f"{path}: EDGE_WEIGHT_TYPE {ewt!r} not supported")
        if convention is None:
            conv = {"EXACT_2D": "exact", "FLOOR_2D": "floor", "CEIL_2D": "ceil"}.get(ewt, conv)
        dist = distance_matrix(xy, conv)
    n = dist.shape[0]
    depots = np.atleast_1d(np.asarray(d.get("depot", [0]), dtype=int))
    if len(depots) != 1 or depots[0] != 0:
        # vrplib already makes ids 0-based; we support the usual single depot at node 0
        raise RoutingError(
            f"{path}: only a single depot at the first node is supported, got {depots.tolist()}"
        )
    kind = str(d.get("type", "CVRP")).upper()
    if "CVRP" in kind or "VRPTW" in kind:
        # a capacitated instance without its capacity or demands would be solved as another
        # (uncapacitated) problem
        _need(d, "demand", path)
        if "capacity" not in d:
            raise RoutingError(f"{path}: TYPE {kind} but no CAPACITY field")
    dem = np.asarray(d.get("demand", np.zeros(n)), dtype=float)
    if dem.ndim == 1:
        dem = dem[:, None]
    cap = d.get("capacity", np.inf)
    caps = tuple(float(c) for c in np.atleast_1d(cap))
    count = int(d.get("vehicles", n - 1))
    tw = d.get("time_window")
    svc = d.get("service_time")
    shift_end = float(np.asarray(tw)[0, 1]) if tw is not None else np.inf
    shift_start = float(np.asarray(tw)[0, 0]) if tw is not None else 0.0
    # DISTANCE: the longest route, its service times included (travel time = distance)
    max_length = float(d["distance"]) if "distance" in d else np.inf
    fleet = VehicleType(
        count=count,
        capacity=caps,
        shift_start=shift_start,
        shift_end=shift_end,
        max_duration=max_length,
        name="vehicle",
    )
    svc_arr = None
    if svc is not None:
        s = np.asarray(svc, dtype=float)
        svc_arr = (np.full(n, float(s)) if s.ndim == 0 else s)[1:]
    return RoutingInstance.build(
        str(d.get("name") or path.stem),
        dist,
        num_depots=1,
        vehicle_types=(fleet,),
        demand=dem[1:],
        service=svc_arr,
        tw_early=None if tw is None else np.asarray(tw, float)[1:, 0],
        tw_late=None if tw is None else np.asarray(tw, float)[1:, 1],
        client_ids=list(range(1, n)),
        depot_ids=[0],
        coords=xy,
        dimension_names=("demand",) if dem.shape[1] == 1 else None,
        distance_convention=conv,
        meta={"format": "vrplib", "path": str(path)},
    )


def read_instance(path: str | Path) -> RoutingInstance:
    """Read a Solomon or VRPLIB file, detecting the format from its content.

    Raises
    ------
    RoutingError
        The file does not exist or is in neither format.
    """
    path = Path(path)
    if not path.is_file():
        raise RoutingError(f"{path}: {_not_a_file(path)}")
    head = path.read_text(errors="replace")[:2000]
    if re.search(r"^\s*VEHICLE\s*$", head, re.M) and re.search(r"^\s*CUSTOMER\s*$", head, re.M):
        return read_solomon(path)
    if re.search(r"^\s*(NAME|DIMENSION|TYPE)\s*:", head, re.M):
        return read_vrplib(path)
    raise RoutingError(f"{path}: neither a Solomon nor a VRPLIB instance")


def read_solution(path: str | Path) -> list[list[int]]:
    """Routes (client ids) from a VRPLIB ``.sol`` or a SINTEF solution file.

    Raises
    ------
    RoutingError
        No route line found.
    """
    path = Path(path)
    routes = []
    for line in path.read_text(errors="replace").splitlines():
        m = re.match(r"\s*Route\s*#?\s*\d+\s*:\s*(.*)$", line, re.I)
        if m:
            routes.append([int(x) for x in m.group(1).split()])
    if not routes:
        raise RoutingError(f"{path}: no 'Route' lines found")
    return routes


def routes_to_indices(instance: RoutingInstance, routes: list[list[Any]]) -> list[list[int]]:
    """Map routes of client ids to 0-based client indices.

    Raises
    ------
    RoutingError
        An id that is not a client of the instance.
    """
    pos = {cid: i for i, cid in enumerate(instance.client_ids)}
    out = []
    for k, r in enumerate(routes):
        row = []
        for cid in r:
            if cid not in pos:
                raise RoutingError(f"route {k}: {cid!r} is not a client of {instance.name}")
            row.append(pos[cid])
        out.append(row)
    return out


def _num(x: float) -> float | None:
    return None if not np.isfinite(x) else round(float(x), 6)


def solution_to_dict(
    instance: RoutingInstance,
    result: RoutingResult,
    *,
    best_known: float | None = None,
) -> dict[str, Any]:
    """The DESIGN §7 route JSON, plus optional extras.

    Keys: ``instance``, ``cost``, ``vehicles``, ``routes`` (client ids), ``feasible``,
    ``solve_seconds``; extras ``status``, ``seed``, ``time_limit_s`` and ``solution_limit``
    (the run's stops, null when not set), ``distance``, ``dropped`` (orders handed to a
    parcel carrier with their cost and ``due``, their promise deadline on the routing clock:
    what the carrier has left, negative when already missed, null without one),
    ``drop_cost``, ``time_unit`` and ``clock`` (the unit and origin of every time below, when
    the instance states them in its ``meta``, as a plan's day does: hours since dispatch),
    ``route_details`` (per route: vehicle type, depot, distance, ``depart`` and ``return``
    (leaving the depot, back after the last leg), duration
    (``return - depart``), cost, and ``stops``: each client's ``eta`` (arrival),
    ``start`` (service start) and ``slack``, the hours from the start to its promise deadline,
    negative when the promise is already missed, null without a deadline), ``violations``,
    ``path`` (``ils``, ``lns`` or ``decomposition``), and ``best_known``/``gap_percent`` when a
    best-known value is given.
    """
    ids = instance.client_ids
    out: dict[str, Any] = {
        "instance": instance.name,
        "cost": _num(result.cost),
        "vehicles": result.num_vehicles,
        "routes": [[_jsonable(ids[c]) for c in r.clients] for r in result.routes],
        "feasible": result.feasible,
        "solve_seconds": round(result.solve_seconds, 3),
        "status": result.status.value,
        "seed": result.seed,
        # the stop the run was given, to re-run it (None: no such limit)
        **(
            {
                "time_limit_s": result.params.time_limit_s,
                "solution_limit": result.params.solution_limit,
            }
            if result.params is not None
            else {}
        ),
        "distance": _num(result.distance),
        "dropped": [
            {
                "client": _jsonable(ids[c]),
                "carrier_cost": _num(instance.drop_penalty[c]),
                "due": _num(instance.due[c]),
            }
            for c in result.dropped
        ],
        "drop_cost": _num(result.drop_cost),
        **{k: instance.meta[k] for k in ("time_unit", "clock") if k in instance.meta},
        "route_details": [
            {
                "vehicle_type": instance.vehicle_types[r.vehicle_type].name or r.vehicle_type,
                "depot": _jsonable(
                    instance.depot_ids[instance.vehicle_types[r.vehicle_type].start_depot]
                ),
                "distance": _num(r.distance),
                "depart": _num(r.departure),
                "return": _num(r.return_time),
                "duration": _num(r.duration),
                "cost": _num(r.cost),
                "stops": [
                    {
                        "client": _jsonable(ids[c]),
                        "eta": _num(a),
                        "start": _num(b),
                        "slack": _num(sl),
                    }
                    for c, a, b, sl in zip(r.clients, r.arrivals, r.starts, r.slack, strict=True)
                ],
            }
            for r in result.routes
        ],
        "violations": list(result.violations),
        "path": result.path,
    }
    if best_known is not None and np.isfinite(result.cost):
        out["best_known"] = best_known
        out["gap_percent"] = round(100.0 * (result.cost - best_known) / best_known, 4)
    return out


def _jsonable(x: Any) -> Any:
    if isinstance(x, np.integer):
        return int(x)
    if isinstance(x, np.floating):
        return float(x)
    return x


def write_solution(path: str | Path, data: dict[str, Any]) -> None:
    """Write a solution dict (``solution_to_dict``) as JSON."""
    Path(path).write_text(json.dumps(data, indent=2) + "\n")
