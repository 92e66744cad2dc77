"""WORKER_JOBS: a worker process runs only the jobs it is given (e.g. a relay in a process of its own)."""
import json
import threading
import urllib.request
from pathlib import Path

from servicekit.config import load_settings
from servicekit.spec import ServiceSpec, Timer
from servicekit.worker import Worker


def _spec(ran: threading.Event) -> ServiceSpec:
    return ServiceSpec(name="jobs-test", migrations=Path("."),
                       timers=(Timer("tick", 60, lambda settings, db: ran.set()),))


def _worker(tmp_path, jobs: str, ran: threading.Event) -> Worker:
    # An address nothing answers: the relay keeps retrying in its thread, which is all this needs.
    settings = load_settings("jobs-test", {"ENVGRID_DATA_DIR": str(tmp_path), "WORKER_JOBS": jobs,
                                           "AMQP_URL": "amqp://guest:guest@127.0.0.1:1/%2F"})
    return Worker(_spec(ran), settings)


def test_a_relay_only_worker_starts_the_relay_alone_and_is_ready(tmp_path):
    ran = threading.Event()
    worker = _worker(tmp_path, "relay", ran)
    worker.start()
    try:
        assert [t.name for t in worker.threads] == ["relay"]
        port = worker.http.server_address[1]
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=5) as answer:
            assert answer.status == 200 and json.load(answer)["status"] == "ready"
        assert not ran.wait(0.3), "timers must not run in a relay-only worker"
    finally:
        worker.shutdown(timeout=2)


def test_consumer_and_timers_without_the_relay(tmp_path):
    ran = threading.Event()
    worker = _worker(tmp_path, "consumer,timers", ran)
    worker.start()
    try:
        assert [t.name for t in worker.threads] == ["consumer", "timer-tick"]
        assert ran.wait(5), "the timer runs at start-up"
    finally:
        worker.shutdown(timeout=2)
