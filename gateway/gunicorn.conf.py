# The gateway: `gunicorn -c gunicorn.conf.py`. Shared settings live in the kit.
import os

from servicekit.gunicorn_defaults import *  # noqa: F401,F403

wsgi_app = "gateway.app:create_app()"
bind = os.environ.get("BIND", "127.0.0.1:8000")
proc_name = "envgrid-gateway"
# Each thread holds a request while it waits on an upstream: more threads than a service.
threads = int(os.environ.get("WEB_THREADS", "16"))
