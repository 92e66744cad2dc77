"""EnvGrid dispatch: cases, tiered handling up the grid, SLA clocks, supervision and city instructions."""
