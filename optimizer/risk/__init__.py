"""Risk: random lane hours, chance-constrained options, Monte-Carlo simulation, what-if shocks."""
