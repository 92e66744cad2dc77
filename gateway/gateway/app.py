"""The gateway's web application: `gunicorn -c gunicorn.conf.py` serves create_app()."""
from servicekit.web import create_app as _create_app

from .bootstrap import SPEC


def create_app(settings=None):
    return _create_app(SPEC, settings)
