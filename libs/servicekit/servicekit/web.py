"""The Flask app factory every service uses, and the helpers its routes need.

`create_app(spec)` gives a service: JSON errors, request ids, JSON access logs
(accesslog.py, around the app), identity verification (401 unless a route is marked @public), request metrics,
/healthz, /readyz and /metrics, a database session per request, and the
operators' probe endpoints. Nothing connects at import time; the engine is built
in each gunicorn worker on first use.
"""
from __future__ import annotations

import functools
import threading
import time
from dataclasses import dataclass

import pika
from flask import Flask, Response, current_app, g, jsonify, request
from marshmallow import Schema

from . import identity as ident
from . import metrics
from .config import Settings, load_settings
from .db import Database
from .errors import ApiError, register_error_handlers
from .accesslog import REQUEST_ID, ROUTE, USER, AccessLog, new_request_id
from .logs import configure_logging
from .publisher import connection_parameters
from .spec import ServiceSpec


@dataclass
class Runtime:
    spec: ServiceSpec
    settings: Settings
    db: Database


def runtime() -> Runtime:
    return current_app.extensions["envgrid"]


def request_session():
    """The database session of this request, closed when the request ends."""
    if "db_session" not in g:
        g.db_session = runtime().db.session()
    return g.db_session


# -- access control --------------------------------------------------------
def public(view):
    """Mark a route as reachable without a gateway-signed identity."""
    view._envgrid_public = True
    return view


def signed_identity(headers, secret: str) -> ident.Identity | None:
    """The identity signed into `headers` (a mapping with .get), None without one; 401 when forged or stale."""
    try:
        return ident.verify(headers, secret)
    except ident.InvalidIdentity as exc:
        raise ApiError(401, f"invalid identity: {exc}", code="invalid_identity") from None


def current_identity() -> ident.Identity | None:
    return g.get("identity")


def require_roles(*roles: str):
    """Allow the view only to callers holding one of `roles`."""
    unknown = set(roles) - ident.ROLES
    if unknown:
        raise ValueError(f"unknown roles {unknown}")

    def decorate(view):
        @functools.wraps(view)
        def wrapper(*args, **kwargs):
            who = current_identity()
            if who is None:
                raise ApiError(401, "this route needs an authenticated caller")
            if not who.has_any(*roles):
                raise ApiError(403, f"this route is for the roles {', '.join(sorted(roles))}")
            return view(*args, **kwargs)
        # Read by the gateway's access table generator: who may call this route.
        wrapper._envgrid_roles = frozenset(roles)
        return wrapper
    return decorate


# -- request bodies --------------------------------------------------------
def json_body(schema: Schema) -> dict:
    """Parse the JSON body with `schema`: 400 if it is not JSON, 422 with fields if it is wrong.

    Schemas raise on unknown fields (marshmallow's default), so a misspelt field
    is an error the client sees rather than a value silently ignored.
    """
    if not request.is_json:
        raise ApiError(400, "the body must be JSON (Content-Type: application/json)", code="not_json")
    payload = request.get_json(silent=True)
    if payload is None:
        raise ApiError(400, "the body is not valid JSON", code="malformed_json")
    return schema.load(payload)


def write(use_case, *args, status: int = 200):
    """Run a use case in one transaction of this request's session; answer its result as JSON.

    Honours Idempotency-Key (servicekit.idempotency): a retried POST gets the first answer.
    """
    from .idempotency import run_write
    return run_write(request_session(), use_case, *args, status=status)


def query_args(schema: Schema) -> dict:
    """Parse the query string with `schema`: 422 naming the parameter when it is wrong."""
    return schema.load(request.args.to_dict())


# -- readiness -------------------------------------------------------------
class _BrokerCheck:
    """Opening an AMQP connection costs milliseconds: remember the answer briefly."""

    def __init__(self, ttl_s: float = 5.0):
        self.ttl_s = ttl_s
        self._at = 0.0
        self._error: str | None = None
        self._lock = threading.Lock()

    def __call__(self, url: str) -> str | None:
        with self._lock:
            if time.monotonic() - self._at < self.ttl_s:
                return self._error
            try:
                params = connection_parameters(url, name="readyz", socket_timeout=2)
                params.stack_timeout = 3
                pika.BlockingConnection(params).close()
                self._error = None
            except Exception as exc:  # any failure means "not ready"
                self._error = f"{type(exc).__name__}: {exc}"[:200]
            self._at = time.monotonic()
            return self._error


def _register_ops_routes(app: Flask) -> None:
    broker_check = _BrokerCheck()

    @app.get("/healthz")
    @public
    def healthz():
        return jsonify(status="ok", service=runtime().spec.name)

    @app.get("/readyz")
    @public
    def readyz():
        # Ready = can serve requests. The web process needs its database; it never needs
        # the broker to answer (events wait in the outbox), so the broker is reported but
        # does not make the process unready: a broker outage must not take intake offline.
        rt = runtime()
        checks = {}
        try:
            rt.db.ping()
            checks["database"] = "ok"
        except Exception as exc:
            checks["database"] = f"{type(exc).__name__}"
        ready = checks["database"] == "ok"
        if rt.spec.uses_broker:
            checks["broker"] = broker_check(rt.settings.amqp_url) or "ok"
        return jsonify(status="ready" if ready else "not_ready", checks=checks), (200 if ready else 503)

    @app.get("/metrics")
    @public
    def metrics_endpoint():
        body, content_type = metrics.render()
        return Response(body, content_type=content_type)


# -- the factory -----------------------------------------------------------
def create_app(spec: ServiceSpec, settings: Settings | None = None) -> Flask:
    settings = settings or load_settings(spec.name)
    configure_logging(spec.name, settings.log_level)
    app = Flask(spec.name)
    app.config["MAX_CONTENT_LENGTH"] = settings.max_body_bytes
    app.json.ensure_ascii = False  # Chinese text as UTF-8, not \u escapes
    app.json.sort_keys = False
    app.extensions["envgrid"] = Runtime(spec=spec, settings=settings, db=Database(settings.database_url))
    register_error_handlers(app)
    _register_ops_routes(app)
    if spec.uses_broker:
        from .probe import probe_blueprint  # the probe uses this module's helpers
        app.register_blueprint(probe_blueprint)
    for blueprint in spec.blueprints:
        app.register_blueprint(blueprint)
    from .openapi import register_openapi  # here, not at the top: openapi reads web's markers
    register_openapi(app, spec)  # GET /openapi.json, after the blueprints (a blueprint may serve its own)

    @app.before_request
    def _begin():
        environ = request.environ
        g.request_id = environ.get(REQUEST_ID) or new_request_id()  # set by AccessLog around the app
        environ[ROUTE] = request.url_rule.rule if request.url_rule else "unmatched"
        view = app.view_functions.get(request.endpoint) if request.endpoint else None
        g.identity = signed_identity(request.headers, settings.identity_secret)
        if g.identity is not None:
            environ[USER] = g.identity.subject
        elif view is not None and not getattr(view, "_envgrid_public", False):
            raise ApiError(401, "this route needs a caller identity signed by the gateway")

    @app.teardown_request
    def _teardown(_exc):
        session = g.pop("db_session", None)
        if session is not None:
            session.close()

    # Ids, the access line and the metrics wrap everything, a service's own WSGI front included.
    app.wsgi_app = AccessLog(spec.front(app, app.wsgi_app) if spec.front else app.wsgi_app)
    return app
