"""A minimal service used only by the benchmarks in bench/: one event, one handler, one table."""
