# The two commands of the README. Each sets itself up on first use (virtualenv, packages).
.PHONY: run test bench clean

run:
	@scripts/bootstrap
	@scripts/run

test:
	@scripts/bootstrap
	@scripts/test $(ARGS)

bench:
	@scripts/bootstrap
	@.venv/bin/python bench/pipeline_throughput.py
	@.venv/bin/python bench/pipeline_latency.py

clean:
	rm -rf var .venv .pytest_cache
