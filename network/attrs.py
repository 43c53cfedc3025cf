"""Attribute keys used on the lane graph's nodes and edges (one place, so callers agree)."""

KIND = "kind"
COUNTRY = "country"
HOURS = "hours"  # lane: transit + clearance
TRANSIT_HOURS = "transit_hours"
CLEARANCE_HOURS = "clearance_hours"
KM = "km"
MODE = "mode"
CARRIER = "carrier"
COST_PER_UNIT = "cost_per_unit"
COST_PER_KG = "cost_per_kg"
COST_PER_M3 = "cost_per_m3"
COST_PER_KM = "cost_per_km"
DUTY_RATE = "duty_rate"  # None: no duty on this lane
CAPACITY_KG = "capacity_kg_per_day"
CAPACITY_M3 = "capacity_m3_per_day"
CAPACITY_UNITS = "capacity_units_per_day"
RATE_CARD = "rate_card"  # id of the card that generated a last-mile lane, else None
START_HOURS = "start_hours"  # node: hours spent before the first lane (handling/processing)
TIME_CV = "time_cv"  # lane: coefficient of variation of its hours (lognormal), 0 = fixed
