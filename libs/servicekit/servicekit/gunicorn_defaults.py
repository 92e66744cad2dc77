"""gunicorn settings shared by every service's web process (`from servicekit.gunicorn_defaults import *`).

This module runs in gunicorn's master before any worker imports the app, which
is where prometheus_client's multiprocess directory must be decided: every
worker inherits it and writes its metrics there for /metrics to aggregate.
"""
import os
import shutil
import tempfile

# gthread keeps client connections open between requests (keepalive), so the
# gateway reuses its pooled connections; sync workers close after every request.
worker_class = "gthread"
workers = int(os.environ.get("WEB_WORKERS", "2"))
threads = int(os.environ.get("WEB_THREADS", "4"))
keepalive = int(os.environ.get("WEB_KEEPALIVE", "75"))
timeout = int(os.environ.get("WEB_TIMEOUT", "30"))
graceful_timeout = 20
bind = os.environ.get("BIND", "127.0.0.1:8000")
accesslog = None  # the app writes its own JSON access line with the request id
errorlog = "-"
loglevel = os.environ.get("LOG_LEVEL", "info").lower()
# gunicorn 23+ opens a control socket at one fixed path per user; several masters on one
# machine (all our services) would fight over it, and we do not use it.
control_socket_disable = True

if not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="envgrid-metrics-")


def on_starting(server):
    # Counters left by an earlier run of this master would be summed into ours.
    path = os.environ["PROMETHEUS_MULTIPROC_DIR"]
    shutil.rmtree(path, ignore_errors=True)
    os.makedirs(path, exist_ok=True)


def child_exit(server, worker):
    from prometheus_client import multiprocess
    multiprocess.mark_process_dead(worker.pid)
