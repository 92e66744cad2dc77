"""EnvGrid grid-registry: the five-level grid, its people, boundaries, departments and notice boards."""
