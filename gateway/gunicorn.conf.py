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


def post_request(worker, req, environ, resp):
    """Give way to the other connections once an answer is out.

    A greenlet runs until it waits on I/O. A caller on a kept-alive connection whose requests
    the gateway answers itself (404, 401, 403, 429, /healthz: no upstream to wait on) had its
    next request parsed and answered at once, again and again, while every other connection
    waited: p99 of 1.1-5.7 s for the others under wrk (bench/README.md, Gateway, "floor"); an
    abusive client refused 429 could hold the worker. A sleep of any positive length resumes
    this greenlet only after the loop's next poll, behind every connection that became ready
    meanwhile; sleep(0) may resume it before the poll, for up to gevent's switch interval
    (5 ms). Measured (test_a_caller_flooding_its_connection_holds_up_no_one_else): another
    caller waited 27-45 of a 3,000-request flood with 1e-6, 97 with 0, 2,895 without.
    """
    import gevent  # already loaded by gunicorn's gevent worker class: a dict lookup, not an import
    gevent.sleep(1e-6)
