"""Risk: a plan under uncertainty and under shocks (DESIGN §10).

- ``flows``: a plan's flows matched to the compiled network's options (shared below);
- ``simulate``: Monte-Carlo simulation of a plan (random demand and lane hours): fill rate,
  on-time share, lost sales and cost, with confidence intervals;
- ``shock``: shock files (lane and rate-card cost multipliers, added hours, closures; demand
  multipliers; closed warehouses), checked item by item and applied to a scenario;
- ``whatif``: a shock's re-planned plan beside the base plan held under the shock.

The random lane hours themselves are ``network.distribution``; the probabilistic on-time test
of the allocation's options (``promise_probability``) is ``optimizer.allocation.columns``.
"""
