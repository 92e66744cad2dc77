"""The front door: authenticate, authorise at the edge, limit, and forward to a service.

Forwarding is a WSGI layer in front of the gateway's Flask app (`Forwarder`, the spec's
`front`): every API request goes through it, and it measured 14-30 % less of the gateway's
CPU per request than the same work in a Flask view (bench/README.md, Gateway).
It shares the kit's AccessLog (ids, access line, metrics), the JSON error shape and the
identity, access and limit rules below with the Flask routes (login, administration,
Open311), which reach them through `authenticate` and `limit`.

Forwarding uses pooled keep-alive connections (servicekit.connections) to the services'
gthread workers; the gateway itself runs gunicorn's gevent worker (gunicorn.conf.py says
why). Bodies up to SMALL_BODY_BYTES go whole (one send, one read: most API calls); larger
ones stream both ways, so an evidence video is never held whole in memory. The caller's own
identity headers are dropped and the gateway's signed ones put in their place. Upstream
failures answer in the services' JSON error shape: 503 when refused or unreachable (or its
circuit is open), 504 on timeout.
"""
from __future__ import annotations

import json
import logging
import os
import threading
import time
from http import HTTPStatus
from http.client import HTTPException
from urllib.parse import urlencode

from flask import Blueprint, Response, current_app, g, request

from servicekit import identity as ident
from servicekit.accesslog import REQUEST_ID, ROUTE, USER, request_path
from servicekit.connections import IDEMPOTENT, Answer, BodyBroken, Connections, Unavailable
from servicekit.errors import ApiError, error_body
from servicekit.web import public, request_session, runtime, signed_identity

from . import access, credentials
from .breaker import Breaker
from .cors import cors_headers
from .keys import ApiKeys
from .limits import RateLimiter
from .routing import match
from .upstreams import Upstreams

log = logging.getLogger(__name__)

HOP_BY_HOP = {"connection", "keep-alive", "proxy-authenticate", "proxy-authorization", "te", "trailers",
              "transfer-encoding", "upgrade", "host"}
# Expect: 100-continue was the caller's business with the gateway; the body goes on at once.
# X-Request-ID and X-Forwarded-For are the gateway's to set.
STRIPPED = HOP_BY_HOP | {ident.IDENTITY_HEADER.lower(), ident.SIGNATURE_HEADER.lower(), "authorization",
                         "x-api-key", "content-length", "expect", "x-request-id", "x-forwarded-for"}


def _environ_key(header: str) -> str:
    """How the WSGI environ names a request header: X-API-Key is HTTP_X_API_KEY."""
    return "HTTP_" + header.upper().replace("-", "_")


_STRIPPED_ENVIRON = frozenset(_environ_key(name) for name in STRIPPED)
# Of an upstream's answer: the access layer sets X-Request-ID (the same id) itself.
_NOT_RELAYED = HOP_BY_HOP | {"x-request-id"}
ANONYMOUS = ident.Identity("anonymous", frozenset({"public"}))
KEY_CACHE_S = 30.0  # a revoked key stops working within this long on every replica
# Bodies up to this size are read whole rather than relayed through a generator: measured
# (bench/README.md, Gateway) to save 0.1-0.15 ms of gateway CPU per request.
SMALL_BODY_BYTES = 64 * 1024
FORWARDED_PREFIXES = ("/api/v1/", "/ops/")
FORWARDED_METHODS = frozenset({"GET", "POST", "PUT", "PATCH", "DELETE"})
_STATUS_LINES = {status.value: f"{status.value} {status.phrase}" for status in HTTPStatus}

proxy_blueprint = Blueprint("proxy", __name__)
_state_lock = threading.Lock()


def state_of(app) -> dict:
    """The gateway's per-process state: connections, caches, limiter, breaker; made on first use."""
    ext = app.extensions
    if "gateway" not in ext:
        with _state_lock:
            if "gateway" not in ext:
                ext["gateway"] = {
                    "connections": Connections(),
                    "signatures": SignatureCache(),
                    "upstreams": Upstreams.from_env(),
                    "static_keys": ApiKeys.from_file(os.environ.get("GATEWAY_API_KEYS_FILE")),
                    "key_cache": {},
                    "limiter": RateLimiter(),
                    "breaker": Breaker(),
                    "jwt_secret": credentials.jwt_secret(ext["envgrid"].settings.production),
                }
    return ext["gateway"]


def _state() -> dict:
    return state_of(current_app)


# -- who is calling ------------------------------------------------------------------
def _key_identity(state, presented: str, session_of) -> ident.Identity | None:
    cached = state["key_cache"].get(presented)
    if cached and time.monotonic() - cached[0] < KEY_CACHE_S:
        return cached[1]
    session = session_of()
    try:
        who = credentials.identity_of_key(session, presented) or state["static_keys"].lookup(presented)
    finally:
        session.rollback()  # a read: end its transaction at once
    if len(state["key_cache"]) > 10_000:
        state["key_cache"].clear()
    state["key_cache"][presented] = (time.monotonic(), who)
    return who


def identify(state, authorization: str, api_key: str | None, session_of) -> tuple[ident.Identity, str]:
    """(identity, kind) of a caller's credentials, kind being "key", "user" or "public"; 401 if they fail.

    `session_of()` gives a database session, asked for only when a key or an OIDC token needs it.
    """
    presented = api_key or (authorization[7:].strip() if authorization.startswith("ApiKey ") else None)
    if presented:
        who = _key_identity(state, presented, session_of)
        if who is None:
            raise ApiError(401, "unknown or revoked API key", code="invalid_credentials")
        return who, "key"
    if authorization.startswith("Bearer "):
        token = authorization[7:].strip()
        if credentials.oidc_enabled() and credentials.token_issuer(token) == os.environ.get("OIDC_ISSUER"):
            who = credentials.identity_of_oidc_token(session_of(), token)
        else:
            who = credentials.identity_of_token(token, state["jwt_secret"])
        return who, "user"
    if authorization:
        raise ApiError(401, "unsupported Authorization scheme: use Bearer <token> or ApiKey <key>",
                       code="invalid_credentials")
    return ANONYMOUS, "public"


def authenticate() -> tuple[ident.Identity, str]:
    """`identify` for a Flask route of the gateway."""
    return identify(_state(), request.headers.get("Authorization", ""), request.headers.get("X-API-Key"),
                    request_session)


def authorise(who: ident.Identity, kind: str, found: tuple[str, frozenset[str]] | None, path: str) -> None:
    """Whether `who` may call the route `found` (access.allowed_roles) answering `path`: else 401/403/404/405."""
    if found is None:
        if access.path_exists(path):
            raise ApiError(405, "method not allowed here")
        raise ApiError(404, "no service answers this path")
    if who.roles & found[1]:
        return
    if kind == "public":
        raise ApiError(401, "this route needs credentials (an API key or a token)")
    raise ApiError(403, f"this route is for the roles {', '.join(sorted(found[1]))}")


def check_limit(state, who: ident.Identity, kind: str, client_ip: str | None) -> None:
    subject = (client_ip or "unknown") if kind == "public" else who.subject
    _refuse_over(state["limiter"].check(kind, subject))


def _refuse_over(wait: int | None) -> None:
    if wait is not None:
        raise ApiError(429, "too many requests; slow down", extra={"retry_after_s": wait},
                       code="too_many_requests", headers={"Retry-After": str(wait)})


def limit(who: ident.Identity, kind: str) -> None:
    """`check_limit` for a Flask route of the gateway."""
    check_limit(_state(), who, kind, request.remote_addr)


def limit_login(username: str) -> None:
    """Password guessing: attempts per client IP, then per username (limits.py)."""
    limiter = _state()["limiter"]
    _refuse_over(limiter.check("login_ip", request.remote_addr or "unknown"))
    _refuse_over(limiter.check("login", username.casefold()))


# -- forwarding ------------------------------------------------------------------------
class SignatureCache:
    """The signed identity headers of each caller, re-signed when older than MAX_AGE_S.

    Signing (JSON, base64, HMAC) cost 4.6 % of the gateway's CPU per forwarded request
    (py-spy, POST c=16). Services accept a signature up to identity.MAX_AGE_S (300 s) old,
    so reusing one for 30 s leaves them 270 s of margin for clock skew and slow requests.
    """

    MAX_AGE_S = 30.0
    MAX_ENTRIES = 10_000

    def __init__(self):
        self._signed: dict[ident.Identity, tuple[float, dict[str, str]]] = {}

    def headers(self, who: ident.Identity, secret: str, now: float | None = None) -> dict[str, str]:
        now = time.time() if now is None else now
        cached = self._signed.get(who)
        if cached is not None and now - cached[0] < self.MAX_AGE_S:
            return cached[1]
        signed = ident.sign(who, secret, now=now)
        if len(self._signed) >= self.MAX_ENTRIES:
            self._signed.clear()
        self._signed[who] = (now, signed)  # a dict assignment: safe across threads and greenlets
        return signed


def _send(state, service: str, method: str, path_and_query: str, body, headers: dict,
          timeout_s: float) -> Answer:
    """One request to one instance of `service`; a refused idempotent request tries the next instance."""
    attempts = len(state["upstreams"].addresses[service]) if method in IDEMPOTENT else 1
    last = None
    for _ in range(attempts):
        base = state["upstreams"].next(service)
        if not state["breaker"].allow(base):
            last = "circuit open"
            continue
        try:
            answer = state["connections"].request(base, method, path_and_query, body, headers, timeout_s)
        except Unavailable as exc:
            state["breaker"].failure(base)
            last = str(exc)[:200]
            continue
        except BodyBroken:  # the caller's upload broke off: not the instance's fault
            raise ApiError(400, "the request body broke off before its end", code="incomplete_body") from None
        except TimeoutError:
            state["breaker"].success(base)  # it is there, only slow
            raise ApiError(504, f"{service} did not answer within {timeout_s:.0f}s", code="upstream_timeout") from None
        state["breaker"].success(base)
        return answer
    log.warning("upstream unavailable", extra={"service": service, "reason": last})
    raise ApiError(503, f"{service} is unavailable", code="upstream_unavailable")


class Forwarder:
    """Every forwarded API request, as a WSGI app in front of the gateway's Flask app.

    Requests to FORWARDED_PREFIXES with FORWARDED_METHODS are answered here; everything
    else (the gateway's own routes, OPTIONS preflights, HEAD) goes on to Flask.
    """

    def __init__(self, app, flask_wsgi):
        self.app = app
        self.flask_wsgi = flask_wsgi
        self.settings = app.extensions["envgrid"].settings
        self.db = app.extensions["envgrid"].db

    def __call__(self, environ, start_response):
        if (environ["REQUEST_METHOD"] not in FORWARDED_METHODS
                or not environ.get("PATH_INFO", "").startswith(FORWARDED_PREFIXES)):
            return self.flask_wsgi(environ, start_response)
        session = None

        def session_of():
            nonlocal session
            session = session or self.db.session()
            return session
        try:
            status, headers, body = self._forward(environ, session_of)
        except ApiError as exc:
            status, headers, body = self._error(environ, exc)
        except Exception:  # the same promise as every Flask route: a JSON 500, the story in the log
            log.exception("unhandled error")
            status, headers, body = self._error(environ, ApiError(
                500, "internal error; quote the request id when reporting it"))
        finally:
            if session is not None:
                session.close()
        headers += cors_headers(environ.get("HTTP_ORIGIN"), environ["REQUEST_METHOD"])
        start_response(_STATUS_LINES.get(status) or f"{status} Unknown", headers)
        return body

    def _forward(self, environ, session_of) -> tuple[int, list, object]:
        state, method, path = state_of(self.app), environ["REQUEST_METHOD"], request_path(environ)
        _refuse_forged_identity(environ, self.settings.identity_secret)
        found = match(path)
        if found is None:
            raise ApiError(404, "no service answers this path")
        route, upstream_path = found
        who, kind = identify(state, environ.get("HTTP_AUTHORIZATION", ""), environ.get("HTTP_X_API_KEY"),
                             session_of)
        environ[USER] = who.subject
        allowed = access.allowed_roles(method, path)
        if allowed is not None:
            environ[ROUTE] = allowed[0]  # the service's route template: a bounded metric label
        authorise(who, kind, allowed, path)
        check_limit(state, who, kind, environ.get("REMOTE_ADDR"))

        headers = {key[5:].replace("_", "-").title(): value for key, value in environ.items()
                   if key.startswith("HTTP_") and key not in _STRIPPED_ENVIRON}
        if environ.get("CONTENT_TYPE"):
            headers["Content-Type"] = environ["CONTENT_TYPE"]
        headers.update(state["signatures"].headers(who, self.settings.identity_secret))
        headers["X-Request-ID"] = environ[REQUEST_ID]
        headers["X-Forwarded-For"] = environ.get("REMOTE_ADDR", "")
        body, length = _request_body(environ, method, route.max_body_bytes or self.settings.max_body_bytes)
        if length is not None:
            headers["Content-Length"] = str(length)  # none for a long chunked upload: it goes on chunked
        query = environ.get("QUERY_STRING")
        upstream = _send(state, route.service, method, upstream_path + (f"?{query}" if query else ""),
                         body, headers, route.timeout_s)
        return _relay(route.service, upstream)

    @staticmethod
    def _error(environ, exc: ApiError) -> tuple[int, list, list]:
        body = json.dumps(error_body(exc.status, exc.message, exc.code, exc.fields, environ.get(REQUEST_ID),
                                     **exc.extra), ensure_ascii=False).encode()
        headers = [("Content-Type", "application/json"), ("Content-Length", str(len(body)))]
        return exc.status, headers + list(exc.headers.items()), [body]


_IDENTITY_ENVIRON = {header: _environ_key(header) for header in (ident.IDENTITY_HEADER, ident.SIGNATURE_HEADER)}


def _refuse_forged_identity(environ, secret: str) -> None:
    """Identity headers a client sent: forged or stale is 401, as at every service; a valid pair
    grants nothing (it is replaced by the caller's own identity) but is no error either."""
    if any(key in environ for key in _IDENTITY_ENVIRON.values()):
        signed_identity({header: environ.get(key) for header, key in _IDENTITY_ENVIRON.items()}, secret)


def _request_body(environ, method: str, limit: int | None):
    """(body, its length) of the caller's request: bytes when small, a stream when large, or (None, None).

    Over `limit`: 413, before a byte is sent on when the length is declared. A declared body up
    to SMALL_BODY_BYTES is read in one call (werkzeug's get_data read it in a loop and once more
    to see the end: 5.6 % of the gateway's CPU per forwarded POST when forwarding was a Flask
    view); a larger one streams through. A chunked body (no length said) is read whole when it
    is small, else streamed on chunked, never held whole in memory (_CappedStream).
    """
    declared = environ.get("CONTENT_LENGTH")
    if declared:
        try:
            length = int(declared)
        except ValueError:
            length = -1
        if length < 0:
            raise ApiError(400, "Content-Length is not a number of bytes", code="bad_request")
        if limit is not None and length > limit:
            raise _too_large(limit)
        if length > SMALL_BODY_BYTES:
            return environ["wsgi.input"], length  # streamed through, never read whole
        if length == 0:
            return (b"", 0) if method in _BODY_METHODS else (None, None)
        body = environ["wsgi.input"].read(length)
        if len(body) != length:
            raise ApiError(400, "the body ended before its Content-Length", code="incomplete_body")
        return body, length
    if method in _BODY_METHODS and environ.get("wsgi.input_terminated"):
        # No length said: chunked (the server ends the input where the body ends).
        first = environ["wsgi.input"].read(SMALL_BODY_BYTES + 1)
        if len(first) > SMALL_BODY_BYTES:
            return _CappedStream(first, environ["wsgi.input"], limit), None
        if limit is not None and len(first) > limit:
            raise _too_large(limit)
        return (first, len(first)) if first else (None, None)
    return None, None


_BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})


def _too_large(limit: int) -> ApiError:
    return ApiError(413, f"the body is larger than this route takes ({limit} bytes)")


class _CappedStream:
    """A long chunked upload: what was read to tell it was long, then the rest of the input.

    Past `limit` it raises 413 mid-way: the service gets a chunked body that never ends, so it
    does not act on it, and the caller gets the 413 (no answer has started yet).
    """

    def __init__(self, first: bytes, rest, limit: int | None):
        self._first, self._rest, self._limit, self._seen = first, rest, limit, 0

    def read(self, size: int) -> bytes:
        if self._first:
            data, self._first = self._first[:size], self._first[size:]
        else:
            data = self._rest.read(size)
        self._seen += len(data)
        if self._limit is not None and self._seen > self._limit:
            raise _too_large(self._limit)
        return data


def _relay(service: str, upstream: Answer) -> tuple[int, list, object]:
    """The upstream's answer for the caller: small bodies whole, large ones streamed."""
    out_headers, length = [], None
    for name, value in upstream.headers:
        lowered = name.lower()
        if lowered not in _NOT_RELAYED:
            out_headers.append((name, value))
            if lowered == "content-length":
                length = value
    if length is not None and length.isdigit() and int(length) <= SMALL_BODY_BYTES:
        try:
            data = upstream.read()
        except TimeoutError:
            raise ApiError(504, f"{service} stopped answering mid-way", code="upstream_timeout") from None
        except (HTTPException, OSError) as exc:
            log.warning("upstream answer broken", extra={"service": service, "reason": str(exc)[:200]})
            raise ApiError(502, f"{service} broke off its answer", code="bad_gateway") from None
        return upstream.status, out_headers, [data]
    return upstream.status, out_headers, upstream.stream()


@proxy_blueprint.route("/api/v1/<path:_rest>", methods=["OPTIONS"])
@proxy_blueprint.route("/ops/<path:_rest>", methods=["OPTIONS"])
@public
def preflight(_rest):
    """A CORS preflight of a forwarded path (edge.cors adds the headers); the other methods never get here."""
    return Response(status=200, headers={"Allow": ", ".join(sorted(FORWARDED_METHODS | {"OPTIONS"}))})


def call_upstream(service: str, method: str, path: str, who: ident.Identity, *, body: dict | None = None,
                  params: dict | None = None, timeout_s: float = 10.0) -> tuple[int, dict]:
    """A JSON call from the gateway itself to a service (Open311, status), as `who`."""
    state = _state()
    headers = {"Content-Type": "application/json", "X-Request-ID": g.get("request_id", "")}
    headers.update(state["signatures"].headers(who, runtime().settings.identity_secret))
    data = json.dumps(body, ensure_ascii=False).encode() if body is not None else None
    response = _send(state, service, method, path + (f"?{urlencode(params)}" if params else ""), data, headers,
                     timeout_s)
    try:
        return response.status, json.loads(response.read() or b"{}")
    except TimeoutError:
        raise ApiError(504, f"{service} stopped answering mid-way", code="upstream_timeout") from None
    except (HTTPException, OSError):
        raise ApiError(502, f"{service} broke off its answer", code="bad_gateway") from None
    except ValueError:
        raise ApiError(502, f"{service} answered something that is not JSON", code="bad_gateway") from None
