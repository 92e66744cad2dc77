"""The worker process of a service: consumer, outbox relay and timers, with its own metrics.

One process, a thread per job. It serves /metrics, /healthz and /readyz on
WORKER_METRICS_PORT (0 = pick a free port, logged) so Prometheus scrapes it like
any web process. SIGTERM and SIGINT stop it cleanly: in-flight messages finish
and are acked; anything unacked is redelivered to another worker.
"""
from __future__ import annotations

import json
import logging
import signal
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from . import metrics
from .config import Settings, load_settings
from .consumer import Consumer
from .db import Database
from .events import registry
from .logs import configure_logging
from .outbox import OutboxRelay
from .probe import PROBE_SENT, handle_probe
from .spec import ServiceSpec, Timer

log = logging.getLogger(__name__)


class Worker:
    def __init__(self, spec: ServiceSpec, settings: Settings | None = None):
        self.spec = spec
        self.settings = settings or load_settings(spec.name)
        self.db = Database(self.settings.database_url)
        self.stop = threading.Event()
        handlers = {PROBE_SENT: handle_probe, **spec.handlers}
        self.consumer = Consumer(self.settings, self.db, registry, handlers)
        self.relay = OutboxRelay(self.settings, self.db)
        self.threads: list[threading.Thread] = []
        self.http: ThreadingHTTPServer | None = None

    def _timer_loop(self, timer: Timer) -> None:
        # First run at start-up, then every `every_s`: a restarted worker catches up at once.
        while not self.stop.is_set():
            try:
                timer.run(self.settings, self.db)
            except Exception:
                log.exception("timer failed", extra={"timer": timer.name})
            self.stop.wait(timer.every_s)

    def start(self) -> None:
        chosen = self.settings.worker_jobs
        jobs = [(name, job.run, (self.stop,)) for name, job in (("consumer", self.consumer), ("relay", self.relay))
                if name in chosen]
        if "timers" in chosen:
            jobs += [(f"timer-{t.name}", self._timer_loop, (t,)) for t in self.spec.timers]
        for name, target, args in jobs:
            thread = threading.Thread(target=target, args=args, name=name, daemon=True)
            thread.start()
            self.threads.append(thread)
        self.http = ThreadingHTTPServer(("0.0.0.0", self.settings.worker_metrics_port), self._http_handler())
        threading.Thread(target=self.http.serve_forever, name="metrics", daemon=True).start()
        log.info("worker started", extra={"metrics_port": self.http.server_address[1],
                                          "jobs": [name for name, _, _ in jobs]})

    def _http_handler(self):
        worker = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802 - the http.server API
                if self.path == "/metrics":
                    body, content_type = metrics.render()
                    status = 200
                elif self.path == "/healthz":
                    alive = all(t.is_alive() for t in worker.threads)
                    status = 200 if alive else 503
                    body = json.dumps({"status": "ok" if alive else "thread_died"}).encode()
                    content_type = "application/json"
                elif self.path == "/readyz":
                    # A relay-only process (WORKER_JOBS=relay) has no consumer to wait for.
                    ready = (worker.consumer.connected.is_set() if "consumer" in worker.settings.worker_jobs
                             else all(t.is_alive() for t in worker.threads))
                    status = 200 if ready else 503
                    body = json.dumps({"status": "ready" if ready else "not_ready",
                                       "checks": {"broker": "ok" if ready else "disconnected"}}).encode()
                    content_type = "application/json"
                else:
                    status, content_type = 404, "application/json"
                    body = json.dumps({"error": {"status": 404, "code": "not_found",
                                                 "message": "no such path"}}).encode()
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *_args):  # scrapes are not news
                pass

        return Handler

    def shutdown(self, timeout: float = 10.0) -> None:
        self.stop.set()
        for thread in self.threads:
            thread.join(timeout)
        if self.http is not None:
            self.http.shutdown()
        self.db.dispose()


def declare_queues(spec: ServiceSpec, settings: Settings) -> None:
    """Declare the service's queues and bindings (run by `migrate`, before any worker starts).

    Events published before a consumer's queue exists would go to the unrouted queue,
    not to it; declaring at deploy time means a service that has never run yet still
    receives everything published after its deployment.
    """
    import pika

    from . import topology
    from .publisher import connection_parameters
    connection = pika.BlockingConnection(connection_parameters(settings.amqp_url, name=f"{spec.name}-declare"))
    try:
        topology.declare_consumer_queues(connection.channel(), settings, {PROBE_SENT, *spec.handlers})
    finally:
        connection.close()


def run_worker(spec: ServiceSpec) -> None:
    settings = load_settings(spec.name)
    configure_logging(spec.name, settings.log_level)
    worker = Worker(spec, settings)
    stopped = threading.Event()

    def _stop(signum, _frame):
        log.info("stopping", extra={"signal": signum})
        stopped.set()

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    worker.start()
    while not stopped.wait(1.0):
        if not all(t.is_alive() for t in worker.threads):
            log.error("a worker thread died; exiting so the supervisor restarts the process")
            break
    worker.shutdown()
