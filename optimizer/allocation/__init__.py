"""The allocation MIP: stocking levels, sources and lanes under the delivery promise.

Problem data (from :class:`network.compile.NetworkData`)
--------------------------------------------------------
SKUs k, zones z, warehouses w, origins o; demand ``D[k,z]`` units over a horizon of ``H``
days; inbound options r (Pareto paths origin → warehouse w, lead time ``L_r`` days = hours/24
including origin handling), outbound options s (warehouse → zone, hours include warehouse
processing), direct options d (origin → zone, hours include origin handling). Per-unit lane
costs come from ``PathOptions.unit_cost`` (DESIGN §3) and are split into lane cost and duty.

Decision variables (column blocks, in this order)
-------------------------------------------------
- ``y[w] ∈ {0,1}``: use warehouse w (fixed 1 for ``open``, 0 for ``closed``);
- ``x[k,z,w,s] ≥ 0``: units of k for z served from w via outbound option s;
- ``q[k,z,d] ≥ 0``: units of k for z sent direct via option d;
- ``u[k,z] ≥ 0``: lost units;
- ``f[k,w,r] ≥ 0``: units of k replenished into w via inbound option r over the horizon;
- ``S[k,w] ∈ ℤ≥0``: stocking level (order-up-to level), modelled only at warehouses with a
  finite ``storage_m3`` (elsewhere nothing but the stock rule constrains it, so it is set to
  the smallest integer meeting that rule after the solve).

Objective (minimise)
--------------------
``Σ fixed_w y_w + Σ f·(lane + duty + holding_r) + Σ x·(lane + duty + handling_w)
+ Σ q·(lane + duty) + late_penalty·(late x + late q) + lost_penalty·Σ u``, where the holding
cost of one replenished unit through option r is

``h_k·L_r  +  h_on[k,w]·(R/2 + z·cv_k·√(L_r + R))``

(pipeline stock ``(f/H)·L_r`` at the SKU's capital rate ``h_k`` for ``H`` days, plus average
on-hand stock ``(f/H)·R/2 + safety`` at ``h_on = holding_cost_per_m3_day_w·v_k + h_k``;
safety stock ``z·cv_k·(f/H)·√(L_r + R)``). Pipeline stock is charged at the capital rate only
(it is not in the warehouse); on-hand stock pays both the space and the capital.

Constraints (one comment per block in :func:`build_allocation_model`)
---------------------------------------------------------------------
1. demand: ``Σ x + Σ q + u = D[k,z]``;
2. flow balance: ``Σ_r f[k,w,r] = Σ_{z,s} x[k,z,w,s]``;
3. stocking level: ``S[k,w] ≥ Σ_r f[k,w,r]·((L_r + R) + z·cv_k·√(L_r + R)) / H``
   (conservative: no risk pooling across inbound options);
4. storage ``Σ_k v_k S[k,w] ≤ storage_w·y_w``; throughput ``Σ x[·,·,w,·] ≤ H·throughput_w·y_w``;
   strong linking ``Σ_s x[k,z,w,s] ≤ D[k,z]·y_w`` (per warehouse and demand pair);
5. lane capacities: for each lane and each of kg, m³, units per day that it limits,
   ``Σ (units·weight | units·volume | units) over every option using it ≤ H·capacity``;
6. service: ``Σ on-time x + Σ on-time q ≥ min_on_time_share·Σ D`` and per country
   (``service.min_on_time_share_by_country``); an option is on time when its hours are
   ``≤ promise_hours``, or, with ``service.promise_probability`` p, when
   ``P(hours ≤ promise_hours) ≥ p`` under random lane hours
   (:mod:`network.distribution`). Late units pay ``late_penalty_per_unit``.

Option pruning (exact)
----------------------
Only an option's cost, its on-time flag (outbound/direct) or its stock coefficient (inbound, at
finite-storage warehouses) and its capacitated lanes matter to the model. Within a group
(same demand pair and warehouse for outbound; same pair for direct; same SKU and warehouse for
inbound) an option is dropped when another option that uses *no capacitated lane* is at least as
good in every one of these criteria. This keeps at most two outbound options per
(pair, warehouse) on uncapacitated networks and never changes the optimum. Inbound options on
the *same* capacitated lanes (the same multiset) enter the same lane rows with the same
coefficients, so among them too only the Pareto frontier in (cost, stock coefficient) is
kept, and of it only the lower convex hull: an option above the chord of two others is
replaced, unit for unit, by their mix with the same coefficient at a lower cost (the free
options are one such set). On generated tiers every inbound path crosses a capacitated lane;
a 1,000-SKU block of sea tier L keeps 506,252 inbound columns instead of 1,157,100, at the
same LP optimum (``python -m benchmarks.block_lp``; benchmarks/README.md, "Inbound options on
the same capacitated lanes").

Solving (:func:`~optimizer.allocation.solve.solve_allocation`)
----------------------------------
Stocking levels carry no cost, so the MIP is solved with them continuous (a relaxation whose
bound is valid for the integer model) and they are rounded up afterwards; only if rounding
overflows a warehouse's storage are the flows re-solved on the same warehouses (an LP) with
storage tightened by one unit of every SKU stocked there (if that leaves no feasible flows,
with integer stocking levels on those warehouses; if still nothing, the exact model: integer
stocking levels, warehouses free, its on-time targets lowered to what integer stocking levels
reach, by a MIP maximising on-time units, when the relaxation's are beyond them; the bound is
then the exact model's own, the relaxation's holding for the higher targets only). This
left ``y`` as the only binaries (``eu-small`` went from no incumbent to optimal). A feasible
warm start is given to
HiGHS as an objective cutoff (OR-Tools 9.15 crashes on HiGHS solution hints) and to SCIP /
CP-SAT as a hint. When the on-time shares cannot be met the targets are lowered to what paths
(and, if the solver reports infeasibility, capacities) allow, and the plan says so. HiGHS does
not always stop a very large root solve at its time limit; the planner therefore sends large
models to :mod:`optimizer.allocation.decompose`. A MIP of at least ``INCUMBENT_MIN_VARS``
columns solved here without a feasible warm start first gets an incumbent from
:func:`~optimizer.allocation.incumbent.lagrangian_incumbent`: the demand rows are relaxed with
Lagrange multipliers (a continuous knapsack per warehouse on its throughput, a capacity cover
on the warehouse set; :func:`optimizer.allocation.lagrange.demand_relaxation`, Beasley 1988),
which gives a lower bound ``base + a·y`` for every warehouse set; sets are then priced exactly
(fixed-y solve) in increasing order of that bound, and when the next set's bound exceeds the
best plan the plan is optimal and returned without the MIP. Otherwise the best plan is HiGHS's
cutoff and the bound reported is the better of HiGHS's and the enumeration's. This is what
brings OR-Library's capa/capb/capc, whose root LP HiGHS does not finish in the limit, to their
published optima (greedy + local search remains for models whose dense ``pairs × warehouses``
Lagrangian would exceed ``LAGRANGE_MAX_CELLS``). When the model with ``y`` fixed is a
transportation problem (one SKU; no storage, lane or on-time rows) warehouse sets are priced as
min-cost flows (:class:`optimizer.allocation.transport.TransportPricer`, an order of magnitude
faster than the generic fixed-y solve), which pays for a best-improvement close / open / swap
search over the whole neighbourhood. The figures (times, gaps, before and after each step) are
in benchmarks/README.md, "OR-Library capa/capb/capc" and the allocation sections.

Tonight's state (format v1.1, DESIGN §10)
------------------------------------------
With ``inventory``, ``transfer`` lanes, ``returns`` or a previous plan the model gains these
blocks (all empty for a v1 document, which therefore plans exactly as before):

- lots j (one per on-hand or in-transit quantity ``I_j`` of SKU k at warehouse w, available
  from day ``a_j``: 0 on hand, ``arrives_in_hours/24`` in transit); ``e[j,t] ≥ 0`` units of
  lot j used at warehouse ``w_t`` — where it is (t = local, available from ``a_j``) or after
  transfer option t (a ``transfer`` lane from w, available from ``a_j + hours_t/24``, cost
  ``lane_t + duty_t`` per unit from DESIGN §3's formula); ``lo[j] ≥ 0`` units that stay, at
  on-hand holding ``h_on[k,w]·(H − a_j)⁺``. Uses arriving at or after the horizon's end are
  not generated. Lot units carry no inbound, duty or purchase cost (already paid);
- ``r[k,z,w] ≥ 0`` returned units of a demand pair taken by a returns warehouse w (one with
  ``returns_handling_cost_per_unit``, not closed, in the zone's country) over the cheapest
  outbound option between them reversed, at ``lane + returns_handling_w`` per unit;
  ``o[k,z] ≥ 0`` returned units written off, at the SKU's ``value`` per unit;
- ``sp[k,w] ≥ 0`` resold units a returns warehouse does not need, kept on its shelf at
  ``h_on[k,w]·H`` per unit;
- with a previous plan (levels ``S⁰``, warehouse use ``y⁰``): ``d[k,w] ≥ |S − S⁰|`` at
  ``stability_penalty_per_unit`` each, ``c_w ≥ |y_w − y⁰_w|`` at ``fixed_w`` each; every
  stocking level is modelled and stock above the stock rule pays on-hand holding
  ``h_on[k,w]·H`` per unit (the rule's own level is already paid through ``f_hold``, so
  ``c_S = h_on·H`` and each inbound column's cost is lowered by ``h_on·H·coef_r``).

and these rows:

2'. balance: ``Σ_r f + Σ_{lot uses at w} e + Σ_z σ_kz·r[k,z,w] − sp = Σ_{z,s} x`` per (k,w)
    (σ the resellable share): new inbound covers only what is missing;
7. lots: ``Σ_t e[j,t] + lo[j] = I_j``;
8. arrival: for each use u available at (k,w) from day ``d_u > 0``:
   ``Σ_{uses v at (k,w), d_v ≥ d_u} e_v ≤ (1 − d_u/H)·Σ_{z,s} x[k,z,w,s]`` — units available
   from day d serve at most the demand shipped from day d on (demand is spread evenly over
   the horizon; with these rows a fluid schedule of the lots exists). So a transferred or
   in-transit unit counts only after it arrives, and the stock rule (3) stays that of the
   new inbound flows ``f``;
4'. storage with tonight's stock, at a warehouse with finite storage that holds lots within
    the horizon or takes returns: ``Σ_k v_k S[k,w] + Σ_{lots j at w, a_j < H} v_j lo[j]
    + Σ_k v_k sp[k,w] ≤ cap_w`` with ``cap_w = max(storage_w, V_w)``, ``V_w`` the volume of
    the lots at w within the horizon (on hand, or in transit arriving before its end): every
    unit on the shelves counts, the levels and what the plan leaves there. No ``y`` term
    (row 4 keeps the levels of an unused warehouse at 0; its lots take space all the same). A
    warehouse that its lots alone overfill (``V_w > storage_w``) keeps them: keeping
    tonight's stock is always feasible, moving the excess may not be (a transfer only moves
    units its destination ships, on capacitated lanes), so its capacity is taken as ``V_w``
    and the plan's notes name it and the excess; the levels alone still fit ``storage_w``;
9. returns: ``Σ_w r[k,z,w] + o[k,z] = ρ_kz·(Σ x[k,z,·] + Σ q[k,z,·])`` (ρ the return rate
   of the zone's country and the SKU's category); ``r[k,z,w] ≤ ρ_kz·D_kz·y_w``;
   ``sp[k,w] ≤ Σ_z σ_kz·r[k,z,w]``;
10. stability: ``d ≥ S − S⁰``, ``d ≥ S⁰ − S``, ``c_w ≥ y_w − y⁰_w`` (or ``≥ y⁰_w − y_w``),
    and ``S[k,w] ≤ S_max·y_w``;
5'. transfer lanes' capacities count the units moved on them.

Choices and simplifications: a written-off return costs the goods' value; sending it back
to the origin was not modelled, because the reverse cross-border trip costs about what a new
unit's inbound and duty do and takes over 30 days (DOMAIN.md §6: overseas returns take more
than 30 days), so a seller writes off where no local returns warehouse is in use. Returns use
no lane capacity (reverse flows); returned units are resold within the horizon; storage is a
horizon-wide bound (levels plus what stays, row 4'), not a day-by-day one: a unit used
from a lot frees its space for the levels, and the levels are order-up-to levels (they count
the cycle and safety stock, not the day's actual shelf); a lot used at its warehouse needs no
extra handling beyond the outbound ``handling_w``. The storage margin (rounding continuous
levels up, Solving above) is clipped in row 4' to the room tonight's lots leave, so that
keeping them stays feasible; where rounding then still overflows, the levels are solved as
integers. Tonight's orders
(``orders`` in the plan) are ``max(0, S − position)`` with position = on hand + in transit +
transfers in − transfers out.

Simplifications of v1: flows are continuous units; only stocking levels are integer. The
decomposition (:mod:`optimizer.allocation.decompose`) and the large-model incumbent searches
do not know the v1.1 blocks. A large plan with inventory, transfers and returns takes
:mod:`optimizer.allocation.state_bound` (the aggregate's warehouses, the model with state on
them, and the decomposition's bound with the balance and returns rows priced, so the gap is
proven); one with a previous plan is solved on last night's warehouses with no bound claimed
(:mod:`optimizer.plan.planning`).

Modules
-------
``params`` (settings), ``columns`` (column blocks and exact pruning), ``model`` (the matrix
model and its rows), ``mip`` (one solve of the model, optionally with warehouses fixed),
``incumbent`` (plans for large models: Lagrangian enumeration, greedy, local search),
``transport`` (a warehouse set priced as a min-cost flow), ``lagrange`` and
``capacity_bound`` (lower bounds), ``decompose`` (warehouses on an aggregate, then flows),
``state`` (the v1.1 column blocks), ``state_bound`` (large models with state: plan and
bound), ``solve`` (the strategy for one model), ``baseline``
(the naive plan), ``evaluate`` (the independent evaluator), ``result`` (what a solve
returns).
"""

from optimizer.allocation.columns import COST_TERMS as COST_TERMS
from optimizer.allocation.columns import Columns as Columns
from optimizer.allocation.columns import build_columns as build_columns
from optimizer.allocation.columns import cost_terms as cost_terms
from optimizer.allocation.model import AllocationModel as AllocationModel
from optimizer.allocation.model import build_allocation_model as build_allocation_model
from optimizer.allocation.params import AllocationParams as AllocationParams
from optimizer.allocation.result import AllocationResult as AllocationResult
from optimizer.allocation.result import Solution as Solution
from optimizer.allocation.solve import solve_allocation as solve_allocation
from optimizer.solver import Status as Status
