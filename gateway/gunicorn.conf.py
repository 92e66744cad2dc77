# The gateway: `gunicorn -c gunicorn.conf.py`. Shared settings live in the kit.
import os

from servicekit.gunicorn_defaults import *  # noqa: F401,F403

wsgi_app = "gateway.app:create_app()"
bind = os.environ.get("BIND", "127.0.0.1:8000")
proc_name = "envgrid-gateway"
# The gateway mostly waits on upstreams. With gevent a waiting request holds a greenlet, not
# one of a fixed pool of threads, so callers stuck on a slow service never hold up the others
# (gateway/tests/integration/test_gateway_edge.py), and a forwarded request cost 30-40 % less
# CPU than under gthread (bench/README.md, Gateway). The worker patches the standard library
# before the app is imported; psycopg, redis-py and pika then wait cooperatively.
worker_class = "gevent"
worker_connections = int(os.environ.get("WEB_WORKER_CONNECTIONS", "1000"))
# A gevent worker is one core's worth: one by default (a pod is given one CPU), more with
# WEB_WORKERS on a bigger machine. Two workers on the 2-core VM, sharing it with the services,
# gave a worse p99 at saturation than one (bench/README.md, Gateway).
workers = int(os.environ.get("WEB_WORKERS", "1"))
