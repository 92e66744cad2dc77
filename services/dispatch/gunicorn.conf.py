# The web process of dispatch: `gunicorn -c gunicorn.conf.py`. Shared settings live in the kit.
import os

from servicekit.gunicorn_defaults import *  # noqa: F401,F403

wsgi_app = "dispatch.app:create_app()"
bind = os.environ.get("BIND", "127.0.0.1:8003")
proc_name = "envgrid-dispatch-web"
