"""Tests of ``optimizer.routing.decompose``: the decomposition reaches the optimum on tiny days,
keeps every constraint kind exact in its subproblems, repeats itself in the deterministic mode,
and its stops' times agree with the independent evaluator."""

from __future__ import annotations

import dataclasses
import math
import time

import numpy as np
import pytest

from optimizer.executor import InlineRunner
from optimizer.routing import (
    RoutingInstance,
    RoutingParams,
    RoutingResult,
    RoutingStatus,
    VehicleType,
    solve_routes,
)
from optimizer.routing import decompose as dec
from optimizer.routing.decompose import solve_decomposed, sub_instance
from optimizer.routing.evaluate import distance_matrix, evaluate_routes
from tests.helpers import brute_force, random_instance

# decomposition on every instance, subproblems in this process, short sub-solves
DEC = RoutingParams(
    time_limit_s=2.0, solution_limit=300, decompose="always", sub_clients=8, sub_time_s=0.5,
    workers=1,
)  # fmt: skip


def _check(inst: RoutingInstance, res: RoutingResult) -> None:
    """The result is feasible for the evaluator and its figures are the evaluator's."""
    assert res.status is RoutingStatus.FEASIBLE, res.violations
    assert res.path == "decomposition"
    ev = evaluate_routes(
        inst, [(r.vehicle_type, r.clients) for r in res.routes], dropped=res.dropped
    )
    assert ev.feasible, ev.violations
    assert res.cost == pytest.approx(ev.cost)


def _day(
    n: int,
    seed: int,
    *,
    dims: int = 1,
    windows: bool = False,
    fleet: tuple[VehicleType, ...] | None = None,
    num_depots: int = 1,
    penalty: np.ndarray | None = None,
) -> RoutingInstance:
    rng = np.random.default_rng(seed)
    xy = rng.uniform(0, 100, size=(num_depots + n, 2))
    xy[0] = 50.0
    kw: dict[str, object] = {}
    dist = distance_matrix(xy, "exact")
    if windows:
        # reachable windows: they open no earlier than the direct drive from depot 0
        early = np.maximum(rng.uniform(0, 200, size=n), dist[0, num_depots:]).round() + 1.0
        kw = {"tw_early": early, "tw_late": early + 30.0, "service": np.full(n, 5.0)}
    if penalty is not None:
        kw["drop_penalty"] = penalty
    return RoutingInstance.build(
        f"day{seed}",
        dist,
        num_depots=num_depots,
        vehicle_types=fleet or (VehicleType(count=n, capacity=(30.0,) * dims, shift_end=600.0),),
        demand=rng.integers(1, 10, size=(n, dims)).astype(float),
        coords=xy,
        distance_convention="exact",
        **kw,
    )


@pytest.mark.parametrize("seed", [1, 2, 3])
@pytest.mark.parametrize("windows", [False, True])
def test_tiny_days_reach_the_brute_force_optimum(seed: int, windows: bool) -> None:
    """6 clients in sectors of about 4: the assembled, improved day is the brute-force optimum."""
    inst = random_instance(seed, 6, windows=windows)
    # vehicles enough for both sectors' first solutions (the optimum uses at most 3)
    inst = dataclasses.replace(
        inst, vehicle_types=(dataclasses.replace(inst.vehicle_types[0], count=6),)
    )
    # a fixed number of batches (the time limit is only a bound), whatever the machine's load
    p = {
        **_kw(DEC),
        "sub_clients": 4,
        "time_limit_s": 30.0,
        "decompose_rounds": 4,
        "solution_limit": 50,
    }
    res = solve_routes(inst, RoutingParams(**p))
    _check(inst, res)
    assert res.subproblems > 2
    assert res.cost == pytest.approx(brute_force(inst), rel=1e-9)


def _kw(p: RoutingParams) -> dict[str, object]:
    return {f: getattr(p, f) for f in p.__dataclass_fields__}


def test_sub_instance_copies_every_constraint_exactly() -> None:
    """A subproblem has the clients' windows, demands (all dimensions), service, penalties, the
    depots and the vehicle types (limits, costs) of the day, with the counts it was given."""
    fleet = (
        VehicleType(count=3, capacity=(20.0, 5.0), start_depot=0, fixed_cost=10.0, name="van"),
        VehicleType(count=2, capacity=(40.0, 9.0), start_depot=1, end_depot=0, shift_end=300.0),
    )
    pen = np.where(np.arange(12) % 3 == 0, 50.0, math.inf)
    inst = _day(12, 5, dims=2, windows=True, fleet=fleet, num_depots=2, penalty=pen)
    cl = [7, 2, 9]
    s = sub_instance(inst, cl, [1, 2], "sub")
    sub = s.instance
    assert sub.num_depots == 2 and sub.num_clients == 3
    locs = [0, 1, 2 + 7, 2 + 2, 2 + 9]
    np.testing.assert_array_equal(sub.distance, inst.distance[np.ix_(locs, locs)])
    np.testing.assert_array_equal(sub.duration, inst.duration[np.ix_(locs, locs)])
    for name in ("tw_early", "tw_late", "service", "drop_penalty"):
        np.testing.assert_array_equal(getattr(sub, name), getattr(inst, name)[cl])
    np.testing.assert_array_equal(sub.demand, inst.demand[cl])
    assert [vt.count for vt in sub.vehicle_types] == [1, 2]
    for a, b in zip(sub.vehicle_types, inst.vehicle_types, strict=True):
        assert (a.capacity, a.start_depot, a.end, a.fixed_cost, a.shift_end) == (
            b.capacity,
            b.start_depot,
            b.end,
            b.fixed_cost,
            b.shift_end,
        )


def test_time_windows_survive_the_subproblems() -> None:
    """Tight windows: feasible, every service starts within its window, some vehicles wait."""
    inst = _day(40, 6, windows=True)
    res = solve_routes(inst, DEC)
    _check(inst, res)
    starts = {c: s for r in res.routes for c, s in zip(r.clients, r.starts, strict=True)}
    for c, s in starts.items():
        assert inst.tw_early[c] - 1e-9 <= s <= inst.tw_late[c] + 1e-9
    waits = [s - a for r in res.routes for a, s in zip(r.arrivals, r.starts, strict=True)]
    assert max(waits) > 0  # the windows bind


def test_two_capacity_dimensions_survive_the_subproblems() -> None:
    """The second dimension binds: routes planned on the first alone overload it."""
    fleet = (VehicleType(count=40, capacity=(60.0, 12.0)),)
    inst = _day(40, 7, dims=2, fleet=fleet)
    one_dim = RoutingInstance.build(
        "one",
        inst.distance,
        vehicle_types=(VehicleType(count=40, capacity=(60.0,)),),
        demand=inst.demand[:, :1],
        coords=inst.coords,
    )
    loose = solve_routes(one_dim, DEC)
    ev = evaluate_routes(inst, [(0, r.clients) for r in loose.routes])
    assert any("capacity" in v for v in ev.violations)  # the second dimension matters
    res = solve_routes(inst, DEC)
    _check(inst, res)
    for r in res.routes:
        assert np.all(inst.demand[list(r.clients)].sum(axis=0) <= np.array([60.0, 12.0]) + 1e-9)


def test_drops_keep_their_carrier_cost() -> None:
    """Far orders with a cheap carrier are dropped; the cost counts their carrier cost."""
    n = 40
    pen = np.full(n, math.inf)
    inst0 = _day(n, 8)
    far = np.argsort(-inst0.distance[0, 1:])[:4]  # the four farthest orders
    pen[far] = 1.0
    inst = _day(n, 8, penalty=pen)
    res = solve_routes(inst, DEC)
    _check(inst, res)
    assert set(res.dropped) == {int(c) for c in far}
    assert res.drop_cost == pytest.approx(4.0)
    assert res.cost == pytest.approx(sum(r.cost for r in res.routes) + 4.0)


def test_two_depots_survive_the_subproblems() -> None:
    """Two depots far apart with their own vans: every route stays at its depot's side."""
    rng = np.random.default_rng(9)
    left = rng.normal((10.0, 50.0), 5.0, size=(20, 2))
    right = rng.normal((90.0, 50.0), 5.0, size=(20, 2))
    xy = np.vstack([[10.0, 50.0], [90.0, 50.0], left, right])
    fleet = (
        VehicleType(count=6, capacity=(25.0,), start_depot=0, name="west"),
        VehicleType(count=6, capacity=(25.0,), start_depot=1, name="east"),
    )
    inst = RoutingInstance.build(
        "two-depots",
        distance_matrix(xy, "exact"),
        num_depots=2,
        vehicle_types=fleet,
        demand=rng.integers(1, 10, size=40).astype(float),
        coords=xy,
    )
    res = solve_routes(inst, DEC)
    _check(inst, res)
    for r in res.routes:
        side = {c < 20 for c in r.clients}
        assert side == {r.vehicle_type == 0}


def test_two_vehicle_types_survive_the_subproblems() -> None:
    """A few big trucks and small vans: the counts per type hold and both types are used."""
    fleet = (
        VehicleType(count=3, capacity=(80.0,), fixed_cost=30.0, name="truck"),
        VehicleType(count=10, capacity=(25.0,), fixed_cost=5.0, name="van"),
    )
    inst = _day(48, 10, fleet=fleet)
    res = solve_routes(inst, DEC)
    _check(inst, res)
    used = np.bincount([r.vehicle_type for r in res.routes], minlength=2)
    assert used[0] <= 3 and used[1] <= 10
    assert used[0] >= 1 and used[1] >= 1
    assert len({r.vehicle for r in res.routes}) == len(res.routes)


def test_deterministic_mode_repeats_exactly_with_any_executor() -> None:
    """No time limit: the same seed and solution limit give the same routes, on two worker
    processes and in this process."""
    inst = _day(48, 11, windows=True)
    p = RoutingParams(
        time_limit_s=None, solution_limit=60, seed=5, decompose="always", sub_clients=12,
        decompose_rounds=3, workers=2,
    )  # fmt: skip
    a = solve_routes(inst, p)  # two worker processes
    b = solve_routes(inst, p)
    c = solve_decomposed(inst, p, executor=InlineRunner())  # in this process
    _check(inst, a)
    assert a.subproblems == b.subproblems == c.subproblems > 4
    assert a.client_routes == b.client_routes == c.client_routes
    assert a.cost == b.cost == c.cost


def test_etas_agree_with_the_evaluator_and_a_forward_pass() -> None:
    """Each stop's ETA, start and slack are the evaluator's times; recomputed by hand too."""
    inst = _day(40, 12, windows=True)
    res = solve_routes(inst, DEC)
    _check(inst, res)
    ev = evaluate_routes(inst, [(r.vehicle_type, r.clients) for r in res.routes])
    for r, chk in zip(res.routes, ev.routes, strict=True):
        assert r.arrivals == chk.arrivals and r.starts == chk.starts
        t, prev = chk.departure, 0
        for c, a, s, sl in zip(r.clients, r.arrivals, r.starts, r.slack, strict=True):
            t += inst.duration[prev, 1 + c]
            assert a == pytest.approx(t)
            t = max(t, inst.tw_early[c])
            assert s == pytest.approx(t)
            assert sl == pytest.approx(inst.tw_late[c] - s)
            assert sl >= -1e-9
            t += inst.service[c]
            prev = 1 + c


def test_path_is_chosen_by_size() -> None:
    """Up to ``decompose_above`` clients one model; above it the decomposition."""
    inst = _day(30, 13)
    small = solve_routes(inst, RoutingParams(time_limit_s=1.0, solution_limit=100))
    big = solve_routes(
        inst, RoutingParams(time_limit_s=2.0, decompose_above=20, sub_clients=10, workers=1)
    )
    assert small.path == "ils"
    _check(inst, big)


class _Recorder(InlineRunner):
    """Runs sub-solves in this process and keeps each one's parameters."""

    def __init__(self) -> None:
        self.params: list[RoutingParams] = []

    def map(self, fn, shared, items, *, deadline=math.inf):  # type: ignore[no-untyped-def]
        self.params.extend(task[1] for task in items)
        return super().map(fn, shared, items, deadline=deadline)


@pytest.mark.parametrize("start", ["savings", "parallel_cheapest_insertion"])
def test_every_sub_solve_starts_from_sub_first_solution(start: str) -> None:
    """Sectors and improving subproblems alike use ``sub_first_solution`` and never the
    decomposition again."""
    inst = _day(40, 13, windows=True)
    rec = _Recorder()
    res = solve_decomposed(inst, dataclasses.replace(DEC, sub_first_solution=start), executor=rec)
    _check(inst, res)
    assert len(rec.params) == res.subproblems > 3
    assert {p.first_solution for p in rec.params} == {start}
    assert {p.decompose for p in rec.params} == {"never"}


def _vehicles(inst: RoutingInstance, runs: list[np.ndarray]) -> list[int]:
    """Vehicles each run needs at least (its demand over the capacity, rounded up)."""
    cap = inst.vehicle_types[0].capacity[0]
    return [math.ceil(inst.demand[r, 0].sum() / cap - 1e-9) for r in runs]


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_sectors_are_cut_at_whole_vehicles_when_capacity_binds(seed: int) -> None:
    """With binding capacity the runs keep the sweep order, fill whole vehicles (no more than
    the total demand needs plus one for the last run) and never need more vehicles than runs
    of equal client counts; without it the runs are of equal counts."""
    inst = _day(200, seed)  # demand 1..9, capacity 30: about 33 vehicles' worth
    order = np.random.default_rng(seed).permutation(200)
    runs = dec._cut(inst, order, 4)
    assert len(runs) == 4
    assert np.array_equal(np.concatenate(runs), order)
    need = math.ceil(inst.demand.sum() / 30.0 / dec.CUT_FILL)
    assert sum(_vehicles(inst, runs)) <= need + 1
    assert sum(_vehicles(inst, runs)) <= sum(_vehicles(inst, np.array_split(order, 4)))
    loose = dataclasses.replace(
        inst, vehicle_types=(dataclasses.replace(inst.vehicle_types[0], capacity=(1000.0,)),)
    )
    assert [len(r) for r in dec._cut(loose, order, 4)] == [50, 50, 50, 50]


# --------------------------------------------------------------------------------------------
# route elimination and warm-started subproblems
# --------------------------------------------------------------------------------------------


def _state(inst: RoutingInstance, routes: list[tuple[int, ...]]) -> dec._State:
    ev = evaluate_routes(inst, [(0, r) for r in routes])
    assert ev.feasible, ev.violations
    return dec._State(routes=[(0, -1, r) for r in routes], dropped=set(), cost=ev.cost)


def _split_day(seed: int) -> tuple[RoutingInstance, dec._State]:
    """A solved day whose longest route is cut in two: the short half is an extra route."""
    inst = _day(40, seed, windows=True)
    # deterministic: stopped by the solution limit, not by a clock a loaded machine slows
    res = solve_routes(inst, dataclasses.replace(DEC, time_limit_s=None, decompose_rounds=2))
    _check(inst, res)
    routes = [r.clients for r in res.routes]
    k = max(range(len(routes)), key=lambda i: len(routes[i]))
    long = routes.pop(k)
    cut = max(1, len(long) // 4)
    return inst, _state(inst, [*routes, long[:cut], long[cut:]])


def test_eliminations_take_short_routes_with_one_vehicle_fewer() -> None:
    """A route elimination seeds on a route shorter than ``elim_below`` times the mean, adds
    its ``elim_neighbours`` nearest routes, has one vehicle fewer than they use, starts from
    the neighbours' routes, and is tried once per route."""
    inst, st = _split_day(21)
    p = dataclasses.replace(DEC, elim_neighbours=2, elim_below=0.75, workers=1)
    run = dec._Decomposition(inst, p, InlineRunner(), 0.0)
    sizes = [len(seq) for _, _, seq in st.routes]
    groups = run.eliminations(st)
    assert len(groups) == 1
    g = groups[0]
    assert g.eliminate
    assert g.routes[0] == int(np.argmin(sizes))
    assert sizes[g.routes[0]] <= 0.75 * np.mean(sizes)
    assert len(g.routes) == 3 and len(set(g.routes)) == 3
    assert g.counts == [2]  # three routes, two vehicles
    assert g.warm == g.routes[1:]
    # every short route is tried once: the shortest is not offered again
    again = run.eliminations(st)
    assert all(h.routes[0] != g.routes[0] for h in again)
    # no route is short enough: nothing to eliminate
    none = dec._Decomposition(inst, dataclasses.replace(p, elim_below=0.0), InlineRunner(), 0.0)
    assert none.eliminations(st) == []


@pytest.mark.parametrize("seed", [21, 22])
def test_route_elimination_keeps_feasibility_and_never_raises_cost(seed: int) -> None:
    """Eliminating the short half of a cut route: the day stays feasible for the independent
    evaluator and is cheaper with a route fewer at least (on these two days the elimination is
    taken)."""
    inst, st = _split_day(seed)
    before, n_before = st.cost, len(st.routes)
    p = dataclasses.replace(DEC, time_limit_s=30.0, sub_time_s=3.0, workers=1)
    run = dec._Decomposition(inst, p, InlineRunner(), time.perf_counter())
    groups = run.eliminations(st)
    assert groups and all(g.eliminate for g in groups)
    run.run_groups(st, groups, 1)
    ev = evaluate_routes(inst, [(t, seq) for t, _, seq in st.routes], dropped=sorted(st.dropped))
    assert ev.feasible, ev.violations
    assert st.cost == pytest.approx(ev.cost)
    assert st.eliminated == 1
    assert st.cost < before
    assert len(st.routes) <= n_before - 1  # one vehicle fewer for the group


def test_route_elimination_is_skipped_when_the_demand_cannot_fit() -> None:
    """Every route full to capacity: a short route's demand fits in no neighbour's spare
    capacity, so no elimination is tried (and each short route is marked as tried)."""
    n = 24
    rng = np.random.default_rng(23)
    xy = rng.uniform(0, 100, size=(n + 1, 2))
    xy[0] = 50.0
    inst = RoutingInstance.build(
        "full",
        distance_matrix(xy, "exact"),
        vehicle_types=(VehicleType(count=8, capacity=(30.0,)),),
        demand=np.full(n, 10.0),  # three orders fill a vehicle
        coords=xy,
        distance_convention="exact",
    )
    angle = np.argsort(np.arctan2(xy[1:, 1] - 50.0, xy[1:, 0] - 50.0))
    st = _state(inst, [tuple(int(c) for c in angle[i : i + 3]) for i in range(0, n, 3)])
    p = dataclasses.replace(DEC, workers=1, elim_below=2.0)
    run = dec._Decomposition(inst, p, InlineRunner(), 0.0)
    assert run.eliminations(st) == []
    assert run.tried == {seq for _, _, seq in st.routes}


def test_route_elimination_is_rejected_when_the_vehicles_cannot_serve_the_day() -> None:
    """Eight mandatory orders far apart, all due in the same 5 minutes: each route serves one,
    so one vehicle fewer cannot serve a group; the elimination is solved, refused, and the day
    is unchanged."""
    n = 8
    ang = np.linspace(0, 2 * np.pi, n, endpoint=False)
    xy = np.vstack([[50.0, 50.0], np.column_stack([50 + 40 * np.cos(ang), 50 + 40 * np.sin(ang)])])
    inst = RoutingInstance.build(
        "one-each",
        distance_matrix(xy, "exact"),
        vehicle_types=(VehicleType(count=8, capacity=(100.0,)),),
        demand=np.ones(n),
        tw_early=np.full(n, 40.0),
        tw_late=np.full(n, 45.0),
        coords=xy,
        distance_convention="exact",
    )
    st = _state(inst, [(c,) for c in range(n)])
    before = (list(st.routes), st.cost)
    p = dataclasses.replace(DEC, time_limit_s=30.0, sub_time_s=1.0, workers=1, elim_below=2.0)
    run = dec._Decomposition(inst, p, InlineRunner(), time.perf_counter())
    groups = run.eliminations(st)
    assert groups and all(g.eliminate and sum(g.counts) == len(g.routes) - 1 for g in groups)
    run.run_groups(st, groups, 1)
    assert (st.routes, st.cost) == before
    assert st.eliminated == 0


class _StartRecorder(InlineRunner):
    """Runs sub-solves in this process and records whether each one was warm-started."""

    def __init__(self) -> None:
        self.warm: list[bool] = []

    def map(self, fn, shared, items, *, deadline=math.inf):  # type: ignore[no-untyped-def]
        self.warm.extend(task[2] is not None for task in items)
        return super().map(fn, shared, items, deadline=deadline)


@pytest.mark.parametrize(("share", "expect"), [(0.0, 0.0), (0.5, 0.5), (1.0, 1.0)])
def test_sub_warm_start_is_the_share_of_warm_subproblems(share: float, expect: float) -> None:
    """Without eliminations, ``sub_warm_start`` of the improving subproblems start from their
    current routes (the sectors never do); the result stays feasible."""
    inst = _day(48, 24, windows=True)
    rec = _StartRecorder()
    p = dataclasses.replace(
        DEC,
        time_limit_s=None,  # the deterministic mode: exactly decompose_rounds batches
        solution_limit=60,
        sub_warm_start=share,
        elim_neighbours=0,
        shift_time_share=0.0,  # no rotated sectors: only POPMUSIC's subproblems
        decompose_rounds=6,
        warm_clients=8,
    )
    res = solve_decomposed(inst, p, executor=rec)
    _check(inst, res)
    sectors = math.ceil(48 / 8)
    assert not any(rec.warm[:sectors])
    improving = rec.warm[sectors:]
    assert len(improving) == 6
    assert sum(improving) == pytest.approx(expect * len(improving))


def test_warm_start_share_by_default_only_where_capacity_does_not_bind() -> None:
    """``sub_warm_start=None``: half the POPMUSIC subproblems warm where a subproblem holds
    less than two vehicles' worth of demand, none where it holds more; a given share wins."""
    tight = _day(60, 25)  # demand 1..9 (mean 5), capacity 30: 20 clients fill 3.3 vehicles
    loose = dataclasses.replace(
        tight, vehicle_types=(dataclasses.replace(tight.vehicle_types[0], capacity=(1000.0,)),)
    )
    p = dataclasses.replace(DEC, sub_clients=20, sub_warm_start=None)
    assert dec._capacity_binds(tight, 20) and not dec._capacity_binds(loose, 20)
    assert not dec._capacity_binds(tight, 8)  # 8 clients: 1.3 vehicles' worth
    assert dec._Decomposition(tight, p, InlineRunner(), 0.0).warm_share == 0.0
    assert dec._Decomposition(loose, p, InlineRunner(), 0.0).warm_share == dec.WARM_SHARE
    given = dataclasses.replace(p, sub_warm_start=1.0)
    assert dec._Decomposition(tight, given, InlineRunner(), 0.0).warm_share == 1.0


def _majority_sector(run: dec._Decomposition, seq: tuple[int, ...]) -> int:
    return int(np.bincount(run.sector_of[list(seq)]).argmax())


def test_rotated_sectors_straddle_the_cuts_then_rebuild_the_sectors() -> None:
    """The first pass of rotated sectors puts the later half of each sector's routes (by angle
    around the depot) with the earlier half of the next sector's, so every group straddles one
    cut; the second pass takes each sector's routes as they now are. Every route is in at most
    one group of a pass, and each group keeps its routes' vehicles."""
    inst = _day(60, 31, windows=True)
    p = dataclasses.replace(DEC, time_limit_s=None, solution_limit=60, sub_clients=20)
    run = dec._Decomposition(inst, p, InlineRunner(), 0.0)
    st = run.initial()
    assert st is not None and run.num_sectors == 3
    sec = [_majority_sector(run, seq) for _, _, seq in st.routes]
    per_sector = np.bincount(sec, minlength=3)
    assert per_sector.min() >= 2  # the premise: a half to move on each side of every cut
    across = run.shifted(st, 0)
    assert len(across) == 3
    for g in across:
        assert len({sec[r] for r in g.routes}) == 2  # two sectors
        assert g.warm == g.routes and not g.eliminate
        assert sum(g.counts) >= len(g.routes)
    assert {frozenset(sec[r] for r in g.routes) for g in across} == {
        frozenset({0, 1}),
        frozenset({1, 2}),
        frozenset({2, 0}),
    }
    flat = [r for g in across for r in g.routes]
    assert len(flat) == len(set(flat))
    # each sector gives its later half to one group and its earlier half to another
    for k in range(3):
        assert sum(sec[r] == k for r in flat) == per_sector[k]
    whole = run.shifted(st, 1)
    assert len(whole) == 3
    assert all(len({sec[r] for r in g.routes}) == 1 for g in whole)
    assert sorted(r for g in whole for r in g.routes) == list(range(len(st.routes)))


@pytest.mark.parametrize("seed", [31, 32])
def test_rotated_sectors_keep_the_day_feasible_and_never_raise_its_cost(seed: int) -> None:
    """With the same seed the sectors are the same; the rotated passes only put back cheaper
    groups, so the day costs no more with them, and it passes the evaluator."""
    inst = _day(60, seed, windows=True)
    p = dataclasses.replace(
        DEC, time_limit_s=None, solution_limit=60, sub_clients=20, decompose_rounds=0
    )
    off = solve_decomposed(inst, dataclasses.replace(p, shift_time_share=0.0), InlineRunner())
    on = solve_decomposed(inst, dataclasses.replace(p, shift_passes=2), InlineRunner())
    _check(inst, off)
    _check(inst, on)
    assert off.subproblems == 3 and on.subproblems == 3 + 3 + 3
    assert on.cost <= off.cost + 1e-9


@pytest.mark.parametrize("bad", [{"shift_time_share": 1.0}, {"shift_passes": -1}])
def test_rotated_sector_parameters_are_checked(bad: dict[str, float]) -> None:
    with pytest.raises(ValueError, match="shift"):
        RoutingParams(**bad)  # type: ignore[arg-type]


class _DeadlineRecorder(InlineRunner):
    """An inline runner that records the deadline each batch is given and runs nothing."""

    def __init__(self) -> None:
        self.deadlines: list[float] = []

    def map(self, fn, shared, items, *, deadline=math.inf):  # type: ignore[no-untyped-def]
        self.deadlines.append(deadline)
        return [None] * len(items)


def test_a_batch_is_never_waited_for_past_the_time_limit() -> None:
    """Sub-solves that hang or workers that start late are not waited for past the solve's
    time limit (the batch's deadline was its sub-limit x tasks + 30 s from the batch's start:
    a 5-s solve could wait 40 s for five sectors); without a limit they are waited for."""
    inst, _ = _split_day(21)
    subs = [
        sub_instance(inst, np.arange(10), [2], "a"),
        sub_instance(inst, np.arange(10, 20), [2], "b"),
    ]
    t0 = time.perf_counter()
    rec = _DeadlineRecorder()
    run = dec._Decomposition(inst, dataclasses.replace(DEC, time_limit_s=5.0), rec, t0)
    run.run_batch(subs, 4.0)
    assert rec.deadlines[-1] <= t0 + 5.0
    free = _DeadlineRecorder()
    dec._Decomposition(inst, dataclasses.replace(DEC, time_limit_s=None), free, t0).run_batch(
        subs, None
    )
    assert free.deadlines[-1] == math.inf


def test_phases_are_reported_with_the_best_cost_so_far() -> None:
    """``solve_routes(..., on_phase=...)`` names the path and, on the decomposition, the
    sectors, then each rotated pass and improvement round with the day's cost so far: never
    rising, and never below the result's (what ``tradelane route`` shows on its status line)."""
    inst = _day(40, 5, windows=True)
    seen: list[tuple[str, float | None]] = []

    def say(phase: str, /, *, best: float | None = None, bound: float | None = None) -> None:
        assert bound is None
        seen.append((phase, best))

    quick = dataclasses.replace(DEC, time_limit_s=None, solution_limit=50, decompose_rounds=2)
    res = solve_routes(inst, quick, on_phase=say)
    _check(inst, res)
    texts = [t for t, _ in seen]
    assert texts[0].startswith("40 orders by decomposition: 5 sectors of about 8 orders")
    assert texts[1].startswith("first solution by sectors")
    assert any(t.startswith("rotated sectors, pass 1 of") for t in texts)
    assert any(t.startswith("improvement round 1:") for t in texts)
    best = [b for _, b in seen if b is not None]
    assert len(best) >= 3 and best == sorted(best, reverse=True)
    assert best[-1] >= res.cost - 1e-6

    small: list[str] = []
    mono = solve_routes(
        _day(6, 1),
        RoutingParams(time_limit_s=None, solution_limit=20),
        on_phase=lambda p, /, **_: small.append(p),
    )
    assert mono.path != "decomposition" and small == ["6 orders as one model (OR-Tools)"]
