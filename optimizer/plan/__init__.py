"""The plan: planning a scenario end to end, the plan document, its files (JSON, GeoJSON, map,
report page)."""
