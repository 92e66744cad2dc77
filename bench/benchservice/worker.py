"""`python -m benchservice.worker` (with bench/ on PYTHONPATH): the kit's real worker process.

ENVGRID_BENCH_POLL_ONLY=1 makes the relay ignore the kit's LISTEN/NOTIFY wake-up and
sleep the whole RELAY_POLL_MS between empty polls, as the kit did before it had one:
the benchmarks use it to show what the poll interval alone costs. The patch is applied
in this process only; the kit's code is not changed.
ENVGRID_BENCH_TRACE=<file> records per-event timings (see trace.py).
ENVGRID_BENCH_GC_FREEZE=1 calls gc.freeze() after the imports (a candidate kit change).
"""
import os

from servicekit.worker import run_worker

from .bootstrap import SPEC


def _poll_only() -> None:
    from servicekit.outbox import OutboxRelay
    if hasattr(OutboxRelay, "_wait_for_work"):
        OutboxRelay._wait_for_work = lambda self, stop, timeout: stop.wait(timeout)


if __name__ == "__main__":
    if os.environ.get("ENVGRID_BENCH_POLL_ONLY") == "1":
        _poll_only()
    if os.environ.get("ENVGRID_BENCH_GC_FREEZE") == "1":
        # What a kit change could do: move everything imported so far out of the
        # collector's reach, so later full collections have far less to walk.
        import gc
        gc.collect()
        gc.freeze()
    if os.environ.get("ENVGRID_BENCH_TRACE"):
        from .trace import install
        install(os.environ["ENVGRID_BENCH_TRACE"])
    run_worker(SPEC)
