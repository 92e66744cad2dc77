"""EnvGrid assessment: meetings and inspections, per-grid metrics, scoring rules, grades and subsidies."""
