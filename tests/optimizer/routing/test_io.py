"""Tests of ``optimizer.routing.io``: Solomon and VRPLIB readers, solution files and JSON."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import vrplib

from optimizer.routing import RoutingError, RoutingParams, evaluate_routes, solve_routes
from optimizer.routing.io import (
    read_instance,
    read_solomon,
    read_solution,
    read_vrplib,
    solution_to_dict,
    write_solution,
)


def test_solomon_reader_fields(data_dir) -> None:
    """C101: 100 clients, 25 vehicles of 200, depot due 1236, customer 1's data, exact distance."""
    inst = read_solomon(data_dir / "vrp" / "C101.txt")
    assert (inst.name, inst.num_clients, inst.num_depots) == ("C101", 100, 1)
    vt = inst.vehicle_types[0]
    assert (vt.count, vt.capacity, vt.shift_end) == (25, (200.0,), 1236.0)
    assert inst.client_ids[0] == 1
    assert (inst.demand[0, 0], inst.tw_early[0], inst.tw_late[0], inst.service[0]) == (
        10.0,
        912.0,
        967.0,
        90.0,
    )
    # depot (40, 50) to customer 1 (45, 68): unrounded Euclidean
    assert inst.distance[0, 1] == pytest.approx(np.hypot(5, 18))
    assert inst.distance_convention == "exact"
    assert np.isinf(inst.drop_penalty).all()  # every client mandatory


def test_cvrplib_reader_uses_tsplib_rounding(data_dir) -> None:
    """X-n101-k25: integer (nint) distances, capacity 206, ids = node id - 1."""
    inst = read_vrplib(data_dir / "vrp" / "X-n101-k25.vrp")
    assert inst.num_clients == 100 and inst.vehicle_types[0].capacity == (206.0,)
    assert np.all(inst.distance == np.round(inst.distance))
    assert inst.distance[0, 1] == 554.0  # 554.11 rounded
    assert inst.client_ids == tuple(range(1, 101))


def test_vrplib_round_trip(tmp_path) -> None:
    """An instance written with vrplib.write_instance reads back with the same data."""
    xy = np.array([[0, 0], [3, 4], [6, 8], [0, 5]])
    path = tmp_path / "tiny.vrp"
    vrplib.write_instance(
        path,
        {
            "NAME": "tiny",
            "TYPE": "CVRP",
            "DIMENSION": 4,
            "EDGE_WEIGHT_TYPE": "EUC_2D",
            "CAPACITY": 10,
            "NODE_COORD_SECTION": xy,
            "DEMAND_SECTION": np.array([0, 3, 4, 5]),
            "DEPOT_SECTION": np.array([1, -1]),
        },
    )
    inst = read_instance(path)
    assert inst.name == "tiny" and inst.num_clients == 3
    assert inst.demand[:, 0].tolist() == [3.0, 4.0, 5.0]
    assert inst.distance[0, 1] == 5.0 and inst.distance[0, 2] == 10.0
    np.testing.assert_array_equal(inst.coords, xy)


@pytest.mark.parametrize(
    ("ewt", "expected"),
    [
        ("EUC_2D", [7.0, 3.0]),
        ("EXACT_2D", [6.5, 3.2]),
        ("FLOOR_2D", [6.0, 3.0]),
        ("CEIL_2D", [7.0, 4.0]),
    ],
)
def test_vrplib_edge_weight_types_round_as_tsplib_says(tmp_path, ewt, expected) -> None:
    """TSPLIB's four planar types: depot to (6.5, 0) and to (0, 3.2) (FLOOR_2D and CEIL_2D
    were read as nearest-integer rounding before), and the evaluator agrees."""
    path = tmp_path / "t.vrp"
    vrplib.write_instance(
        path,
        {
            "NAME": "t",
            "TYPE": "CVRP",
            "DIMENSION": 3,
            "EDGE_WEIGHT_TYPE": ewt,
            "CAPACITY": 10,
            "NODE_COORD_SECTION": np.array([[0, 0], [6.5, 0], [0, 3.2]]),
            "DEMAND_SECTION": np.array([0, 1, 1]),
            "DEPOT_SECTION": np.array([1, -1]),
        },
    )
    inst = read_vrplib(path)
    assert inst.distance[0, 1:].tolist() == expected
    ev = evaluate_routes(inst, [[0], [1]], convention=inst.distance_convention)
    assert ev.distance == pytest.approx(2 * sum(expected))


def test_solomon_round_trip(tmp_path, data_dir) -> None:
    """Writing C101's data back in Solomon layout and re-reading gives identical arrays."""
    a = read_solomon(data_dir / "vrp" / "C101.txt")
    lines = [
        "C101X",
        "",
        "VEHICLE",
        "NUMBER     CAPACITY",
        "  25         200",
        "",
        "CUSTOMER",
        "CUST NO.  XCOORD.   YCOORD.    DEMAND   READY TIME  DUE DATE   SERVICE   TIME",
        "",
    ]
    lines.append(f"0 {a.coords[0, 0]:g} {a.coords[0, 1]:g} 0 0 1236 0")
    for c in range(a.num_clients):
        x, y = a.coords[c + 1]
        lines.append(
            f"{c + 1} {x:g} {y:g} {a.demand[c, 0]:g} {a.tw_early[c]:g} "
            f"{a.tw_late[c]:g} {a.service[c]:g}"
        )
    p = tmp_path / "C101X.txt"
    p.write_text("\n".join(lines) + "\n")
    b = read_instance(p)
    for f in ("distance", "demand", "tw_early", "tw_late", "service"):
        np.testing.assert_array_equal(getattr(a, f), getattr(b, f))


def test_solution_json_round_trip(tmp_path, data_dir) -> None:
    """The DESIGN §7 JSON has the contract keys; its routes read back to the same solution."""
    inst = read_solomon(data_dir / "vrp" / "C101.txt")
    res = solve_routes(inst, RoutingParams(time_limit_s=None, solution_limit=50))
    d = solution_to_dict(inst, res, best_known=827.3)
    for key in ("instance", "cost", "vehicles", "routes", "feasible", "solve_seconds"):
        assert key in d
    out = tmp_path / "sol.json"
    write_solution(out, d)
    back = json.loads(out.read_text())
    assert back["routes"] == res.client_routes
    assert back["feasible"] is True and back["vehicles"] == len(back["routes"])
    assert sorted(c for r in back["routes"] for c in r) == list(range(1, 101))
    assert back["gap_percent"] == pytest.approx(100 * (res.cost / 827.3 - 1), abs=1e-3)


def test_sintef_and_vrplib_solution_files(data_dir) -> None:
    """Both solution formats parse to client-id routes covering every client once."""
    for name, n in (("c1_2_1.sol", 200), ("X-n101-k25.sol", 100)):
        routes = read_solution(data_dir / "vrp" / name)
        assert sorted(c for r in routes for c in r) == list(range(1, n + 1))


@pytest.mark.parametrize(
    ("content", "match"),
    [
        ("hello world\n", "neither a Solomon nor a VRPLIB"),  # unknown format
        (
            (
                "NAME : x\nTYPE : CVRP\nDIMENSION : 3\nEDGE_WEIGHT_TYPE : GEO\n"
                "NODE_COORD_SECTION\n1 0 0\n2 1 1\n3 2 2\nDEMAND_SECTION\n1 0\n2 1\n3 1\n"
                "DEPOT_SECTION\n1\n-1\nEOF\n"
            ),
            "GEO",
        ),  # unsupported edge weights
    ],
)
def test_bad_instance_files_are_rejected(tmp_path, content: str, match: str) -> None:
    """Unreadable or unsupported files raise RoutingError naming the file and the problem."""
    p = tmp_path / "bad.txt"
    p.write_text(content)
    with pytest.raises(RoutingError, match=match):
        read_instance(p)
    with pytest.raises(RoutingError, match="no such file"):
        read_instance(tmp_path / "missing.vrp")


_VRP = (
    "NAME : x\nTYPE : CVRP\nDIMENSION : 3\nEDGE_WEIGHT_TYPE : EUC_2D\nCAPACITY : 10\n"
    "NODE_COORD_SECTION\n1 0 0\n2 1 1\n3 2 2\nDEMAND_SECTION\n1 0\n2 1\n3 1\n"
    "DEPOT_SECTION\n1\n-1\nEOF\n"
)


@pytest.mark.parametrize(
    ("old", "new", "match"),
    [
        ("3 2 2\n", "", r":6: NODE_COORD_SECTION has 2 rows but DIMENSION is 3"),  # cut off
        ("DIMENSION : 3", "DIMENSION : 30", "NODE_COORD_SECTION has 3 rows but DIMENSION is 30"),
        ("2 1 1\n", "2 1\n", r":8: a NODE_COORD_SECTION row needs 3 fields"),
        ("3 1\nDEPOT", "3 x\nDEPOT", r":13: 'x' in DEMAND_SECTION is not a number"),
        ("CAPACITY : 10", "CAPACITY : abc", r":5: CAPACITY 'abc' is not a number"),
        ("CAPACITY : 10\n", "", "TYPE CVRP but no CAPACITY field"),
        ("DEMAND_SECTION\n1 0\n2 1\n3 1\n", "", "missing 'demand' section"),
    ],
)
def test_broken_vrplib_files_are_refused_not_solved_as_another_instance(
    tmp_path, old: str, new: str, match: str
) -> None:
    """A cut-off, miscounted or misspelt VRPLIB file names its line, where the parser would
    solve the rows left (or an uncapacitated problem) or stop on a numpy error."""
    assert read_instance(_write(tmp_path, "ok.vrp", _VRP)).num_clients == 2
    assert old in _VRP
    with pytest.raises(RoutingError, match=match):
        read_instance(_write(tmp_path, "bad.vrp", _VRP.replace(old, new, 1)))


def _write(tmp_path, name: str, text: str):
    p = tmp_path / name
    p.write_text(text)
    return p


@pytest.mark.parametrize(
    ("old", "new", "match"),
    [
        (" 40 ", " 42.5 ", r":10: x '42.5' is not a whole number"),  # the parser read -1
        (" 40 ", " x ", r":10: x 'x' is not a number"),
        ("     90   \n", "\n", r":11: expected 7 numbers"),
    ],
)
def test_broken_solomon_rows_are_refused(tmp_path, data_dir, old: str, new: str, match: str):
    """A decimal or a word in a Solomon row used to be read as -1 (the parser's integer
    columns) and another instance solved: now the line is named."""
    text = (data_dir / "vrp" / "C101.txt").read_text()
    lines = text.splitlines(keepends=True)
    head = next(i for i, ln in enumerate(lines) if ln.strip().startswith("CUST NO"))
    first = head + 1 + next(k for k, ln in enumerate(lines[head + 1 :]) if ln.split())
    # line numbers in the matches are 1-based: C101's depot row is line 10, client 1 line 11
    assert first + 1 == 10
    row = first if "x '" in match else first + 1
    assert old in lines[row]
    lines[row] = lines[row].replace(old, new, 1)
    with pytest.raises(RoutingError, match=match):
        read_instance(_write(tmp_path, "C101.txt", "".join(lines)))
    with pytest.raises(RoutingError, match="no customer rows"):
        read_instance(_write(tmp_path, "head.txt", "".join(lines[: head + 1])))


def test_vrplib_distance_field_bounds_each_route(tmp_path) -> None:
    """A ``DISTANCE`` field (Christofides' distance-constrained CVRPs) bounds each route's
    length plus its service times: it was ignored, and one 40-km route of three 2-unit stops
    (46 > 35) came back feasible. Here any two clients on one route make 38.1, so the optimum
    is three out-and-back routes: 20 + 20 + 28 = 68."""
    path = tmp_path / "dcvrp.vrp"
    path.write_text(
        "NAME : dcvrp\nTYPE : CVRP\nDIMENSION : 4\nCAPACITY : 10\nDISTANCE : 35\n"
        "SERVICE_TIME : 2\nEDGE_WEIGHT_TYPE : EUC_2D\nNODE_COORD_SECTION\n"
        "1 0 0\n2 10 0\n3 0 10\n4 10 10\nDEMAND_SECTION\n1 0\n2 3\n3 3\n4 3\n"
        "DEPOT_SECTION\n1\n-1\nEOF\n"
    )
    inst = read_vrplib(path)
    assert inst.vehicle_types[0].max_duration == 35.0
    assert inst.service.tolist() == [2.0, 2.0, 2.0]
    one_route = evaluate_routes(inst, [[0, 2, 1]])
    assert not one_route.feasible and "max_duration 35" in one_route.violations[0]
    res = solve_routes(inst, RoutingParams(time_limit_s=None, solution_limit=50))
    assert res.feasible and res.cost == pytest.approx(68.0)
    assert sorted(len(r.clients) for r in res.routes) == [1, 1, 1]
    assert all(r.duration <= 35.0 for r in res.routes)


@pytest.mark.parametrize(
    "extra, named",
    [
        ("BACKHAUL_SECTION\n3\n-1\n", "BACKHAUL_SECTION"),  # a VRP with backhauls
        ("VEHICLES_MAX_DISTANCE : 5\n", "VEHICLES_MAX_DISTANCE"),  # a per-vehicle limit
        ("PRIZE_SECTION\n1 0\n2 4\n3 9\n", "PRIZE_SECTION"),  # a prize-collecting VRP
    ],
)
def test_vrplib_fields_that_change_the_problem_are_refused(tmp_path, extra, named) -> None:
    """A VRPLIB field or section the reader does not model is a RoutingError naming it (each
    was ignored: the file was solved as a plain CVRP); names, comments and display data are
    still read."""
    head = (
        "NAME : x\nCOMMENT : test\nTYPE : CVRP\nDIMENSION : 3\nCAPACITY : 10\n"
        "EDGE_WEIGHT_TYPE : EUC_2D\nNODE_COORD_TYPE : TWOD_COORDS\n"
    )
    body = "NODE_COORD_SECTION\n1 0 0\n2 1 1\n3 2 2\nDEMAND_SECTION\n1 0\n2 5\n3 2\n"
    tail = "DEPOT_SECTION\n1\n-1\nEOF\n"
    path = tmp_path / "x.vrp"
    path.write_text(head + body + tail)
    assert read_vrplib(path).num_clients == 2
    # a field goes in the header, a section after the others
    path.write_text(head + extra + body + tail if ":" in extra else head + body + extra + tail)
    with pytest.raises(RoutingError, match=rf"x\.vrp: {named} not supported"):
        read_vrplib(path)


def test_solomon_client_ids_are_the_file_s_customer_numbers(tmp_path, data_dir) -> None:
    """A Solomon file of some of a set's customers keeps their numbers as client ids (they
    were renumbered 1..n, so the routes named other customers), and a number used twice is a
    RoutingError naming both lines."""
    src = (data_dir / "bench" / "solomon" / "C101-12.txt").read_text().splitlines()
    keep = [ln for ln in src if ln.split()[:1] not in (["3"], ["4"])]
    path = tmp_path / "subset.txt"
    path.write_text("\n".join(keep) + "\n")
    inst = read_solomon(path)
    assert inst.client_ids == (1, 2, *range(5, 13)) and inst.depot_ids == (0,)
    # customer 5 keeps its own data (ready time 15 in C101-12)
    assert inst.tw_early[inst.client_ids.index(5)] == 15.0
    res = solve_routes(inst, RoutingParams(time_limit_s=None, solution_limit=10))
    assert sorted(c for r in res.client_routes for c in r) == [1, 2, *range(5, 13)]
    dup = [ln if ln.split()[:1] != ["5"] else ln.replace("    5 ", "    3 ", 1) for ln in src]
    path.write_text("\n".join(dup) + "\n")
    with pytest.raises(RoutingError, match=r"subset\.txt:\d+: customer number 3 is used twice"):
        read_solomon(path)


def test_vrplib_sections_out_of_node_order_are_refused(tmp_path) -> None:
    """A section that does not list nodes 1, 2, ... in order is a RoutingError naming its line:
    the parser drops the node ids, so DEMAND_SECTION rows 1, 3, 2 gave node 3's demand to
    node 2 and the other way round."""
    path = tmp_path / "order.vrp"
    path.write_text(
        "NAME : x\nTYPE : CVRP\nDIMENSION : 3\nCAPACITY : 10\nEDGE_WEIGHT_TYPE : EUC_2D\n"
        "NODE_COORD_SECTION\n1 0 0\n2 1 1\n3 2 2\nDEMAND_SECTION\n1 0\n3 2\n2 5\n"
        "DEPOT_SECTION\n1\n-1\nEOF\n"
    )
    with pytest.raises(RoutingError, match=r"order\.vrp:12: DEMAND_SECTION lists node 3 where"):
        read_vrplib(path)


@pytest.mark.parametrize(
    ("old", "new", "line", "match"),
    [
        ("  25         200", "  0         200", 5, r":5: vehicle number 0 \(NUMBER\): the fleet"),
        ("  25         200", "  25         -5", 5, r":5: capacity -5 is negative"),
        ("         10        912", "        -10        912", 11, r":11: demand -10 is negative"),
    ],
)
def test_solomon_fleet_and_signs_are_checked_on_their_line(
    tmp_path, data_dir, old: str, new: str, line: int, match: str
) -> None:
    """A fleet of 0 vehicles was reported as "client 1 is mandatory but its demand fits no
    vehicle", a negative demand as "got np.float64(-10.0)" without file or line."""
    text = (data_dir / "vrp" / "C101.txt").read_text()
    lines = text.splitlines(keepends=True)
    assert old in lines[line - 1]
    lines[line - 1] = lines[line - 1].replace(old, new, 1)
    with pytest.raises(RoutingError, match=match):
        read_instance(_write(tmp_path, "C101.txt", "".join(lines)))


@pytest.mark.parametrize(
    ("old", "new", "match"),
    [
        ("CAPACITY : 10", "CAPACITY : -5", r"bad.vrp:5: CAPACITY -5 is negative"),
        ("CAPACITY : 10", "CAPACITY : 10\nVEHICLES : 0", r"bad.vrp:6: VEHICLES 0 is not a"),
    ],
)
def test_vrplib_header_signs_are_checked_on_their_line(
    tmp_path, old: str, new: str, match: str
) -> None:
    """``CAPACITY : -5`` gave "vehicle type 'vehicle': capacity must be >= 0, got (-5.0,)",
    naming neither the file, the line nor the field."""
    with pytest.raises(RoutingError, match=match):
        read_instance(_write(tmp_path, "bad.vrp", _VRP.replace(old, new, 1)))


def test_a_folder_given_as_an_instance_is_named_as_a_folder(tmp_path) -> None:
    """``tradelane route DIR`` said "no such file" of a folder that exists."""
    with pytest.raises(RoutingError, match="is a folder, not an instance file"):
        read_instance(tmp_path)
    with pytest.raises(RoutingError, match="no such file"):
        read_instance(tmp_path / "missing.txt")


def test_a_solomon_number_past_a_float_is_shown_cut(tmp_path: Path, data_dir: Path) -> None:
    """A demand of 401 digits was refused with all 401 digits in the message."""
    lines = (data_dir / "vrp" / "C101.txt").read_text().splitlines()
    i = next(j for j, line in enumerate(lines) if line.strip().startswith("CUST NO")) + 3
    toks = lines[i].split()
    toks[3] = "1" + "0" * 400
    lines[i] = "  ".join(toks)
    f = tmp_path / "huge.txt"
    f.write_text("\n".join(lines) + "\n")
    with pytest.raises(RoutingError, match=rf":{i + 1}: demand '10+ is not a number") as e:
        read_solomon(f)
    assert len(str(e.value)) < 200
