"""The front door: authenticate, authorise at the edge, limit, and forward to a service.

Forwarding uses keep-alive connections (one per thread per upstream instance:
connections.py) to the services' gthread workers. Bodies up to
SMALL_BODY_BYTES go whole (one send, one read: most API calls); larger ones stream
both ways, so an evidence video is never held whole in memory. The caller's own
identity headers are dropped and the gateway's signed ones put in their place.
Upstream failures answer in the services' JSON error shape: 503 when refused or
unreachable (or its circuit is open), 504 on timeout.
"""
from __future__ import annotations

import json
import logging
import os
import threading
import time
from http.client import HTTPException
from urllib.parse import urlencode

from flask import Blueprint, Response, current_app, g, request, stream_with_context

from servicekit import identity as ident
from servicekit.errors import ApiError
from servicekit.web import public, request_session, runtime

from . import access, credentials
from .breaker import Breaker
from servicekit.connections import IDEMPOTENT, Answer, Connections, Unavailable
from .keys import ApiKeys
from .limits import RateLimiter
from .routing import match
from .upstreams import Upstreams

log = logging.getLogger(__name__)

HOP_BY_HOP = {"connection", "keep-alive", "proxy-authenticate", "proxy-authorization", "te", "trailers",
              "transfer-encoding", "upgrade", "host"}
# Expect: 100-continue was the caller's business with the gateway; the body goes on at once.
STRIPPED = HOP_BY_HOP | {ident.IDENTITY_HEADER.lower(), ident.SIGNATURE_HEADER.lower(), "authorization",
                         "x-api-key", "content-length", "expect"}
ANONYMOUS = ident.Identity("anonymous", frozenset({"public"}))
KEY_CACHE_S = 30.0  # a revoked key stops working within this long on every replica
# Bodies up to this size are read whole rather than relayed through a generator: measured
# (bench/README.md, Gateway) to save 0.1-0.15 ms of gateway CPU per request.
SMALL_BODY_BYTES = 64 * 1024

proxy_blueprint = Blueprint("proxy", __name__)
_state_lock = threading.Lock()


def _state():
    ext = current_app.extensions
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
                    "jwt_secret": credentials.jwt_secret(runtime().settings.production),
                }
    return ext["gateway"]


# -- who is calling ------------------------------------------------------------------
def _key_identity(state, presented: str) -> ident.Identity | None:
    cached = state["key_cache"].get(presented)
    if cached and time.monotonic() - cached[0] < KEY_CACHE_S:
        return cached[1]
    who = credentials.identity_of_key(request_session(), presented) or state["static_keys"].lookup(presented)
    request_session().rollback()  # a read: end its transaction at once
    if len(state["key_cache"]) > 10_000:
        state["key_cache"].clear()
    state["key_cache"][presented] = (time.monotonic(), who)
    return who


def authenticate() -> tuple[ident.Identity, str]:
    """(identity, kind) where kind is "key", "user" or "public"."""
    state = _state()
    auth = request.headers.get("Authorization", "")
    presented = request.headers.get("X-API-Key") or (auth[7:].strip() if auth.startswith("ApiKey ") else None)
    if presented:
        who = _key_identity(state, presented)
        if who is None:
            raise ApiError(401, "unknown or revoked API key", code="invalid_credentials")
        return who, "key"
    if auth.startswith("Bearer "):
        token = auth[7:].strip()
        if credentials.oidc_enabled() and credentials.token_issuer(token) == os.environ.get("OIDC_ISSUER"):
            who = credentials.identity_of_oidc_token(request_session(), token)
        else:
            who = credentials.identity_of_token(token, state["jwt_secret"])
        return who, "user"
    if auth:
        raise ApiError(401, "unsupported Authorization scheme: use Bearer <token> or ApiKey <key>",
                       code="invalid_credentials")
    return ANONYMOUS, "public"


def authorise(who: ident.Identity, kind: str) -> None:
    found = access.allowed_roles(request.method, request.path)
    if found is None:
        if access.path_exists(request.path):
            raise ApiError(405, "method not allowed here")
        raise ApiError(404, "no service answers this path")
    _, roles = found
    if who.roles & roles:
        return
    if kind == "public":
        raise ApiError(401, "this route needs credentials (an API key or a token)")
    raise ApiError(403, f"this route is for the roles {', '.join(sorted(roles))}")


def limit(who: ident.Identity, kind: str) -> None:
    subject = (request.remote_addr or "unknown") if kind == "public" else who.subject
    wait = _state()["limiter"].check(kind, subject)
    if wait is not None:
        raise ApiError(429, "too many requests; slow down", extra={"retry_after_s": wait},
                       code="too_many_requests", headers={"Retry-After": str(wait)})


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
        self._signed[who] = (now, signed)  # a dict assignment: safe across threads under the GIL
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
        except TimeoutError:
            state["breaker"].success(base)  # it is there, only slow
            raise ApiError(504, f"{service} did not answer within {timeout_s:.0f}s", code="upstream_timeout") from None
        state["breaker"].success(base)
        return answer
    log.warning("upstream unavailable", extra={"service": service, "reason": last})
    raise ApiError(503, f"{service} is unavailable", code="upstream_unavailable")


@proxy_blueprint.route("/api/v1/<path:_rest>", methods=["GET", "POST", "PUT", "PATCH", "DELETE"])
@proxy_blueprint.route("/ops/<path:_rest>", methods=["GET", "POST", "PUT", "PATCH", "DELETE"])
@public  # the gateway authenticates here itself; services check the identity it signs
def forward(_rest):
    found = match(request.path)
    if found is None:
        raise ApiError(404, "no service answers this path")
    route, upstream_path = found
    if route.max_body_bytes is not None:
        request.max_content_length = route.max_body_bytes  # streamed through, so no memory is at stake
    who, kind = authenticate()
    g.caller = who
    authorise(who, kind)
    limit(who, kind)
    state = _state()
    headers = {k: v for k, v in request.headers.items() if k.lower() not in STRIPPED}
    headers.update(state["signatures"].headers(who, runtime().settings.identity_secret))
    headers["X-Request-ID"] = g.request_id
    headers["X-Forwarded-For"] = request.remote_addr or ""
    body = None
    if request.content_length and request.content_length > SMALL_BODY_BYTES:
        headers["Content-Length"] = str(request.content_length)
        body = request.stream  # streamed through, never read whole
    elif request.content_length:
        body = _small_body(request.content_length)
        headers["Content-Length"] = str(len(body))
    elif request.method in ("POST", "PUT", "PATCH"):  # no length said: chunked, or none at all
        body = request.get_data() or None
        if body is not None:
            headers["Content-Length"] = str(len(body))
    query = request.query_string.decode("latin-1")
    upstream = _send(state, route.service, request.method, upstream_path + (f"?{query}" if query else ""),
                     body, headers, route.timeout_s)
    return _relay(route.service, upstream)


def _small_body(length: int) -> bytes:
    """A body of a declared length up to SMALL_BODY_BYTES, read in one call on the server's input.

    werkzeug's get_data reads through a LimitedStream in a loop and once more to see the end:
    measured at 5.6 % of the gateway's CPU per forwarded POST (py-spy, POST c=16).
    """
    limit = request.max_content_length
    if limit is not None and length > limit:
        raise ApiError(413, f"the body is larger than this route takes ({limit} bytes)")
    body = request.environ["wsgi.input"].read(length)
    if len(body) != length:
        raise ApiError(400, "the body ended before its Content-Length", code="incomplete_body")
    return body


def _relay(service: str, upstream: Answer) -> Response:
    """The upstream's answer to the caller: small bodies whole, large ones streamed."""
    out_headers, length = [], None
    for name, value in upstream.headers:
        lowered = name.lower()
        if lowered not in HOP_BY_HOP:
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
        return Response(data, status=upstream.status, headers=out_headers)
    return Response(stream_with_context(upstream.stream()), status=upstream.status, headers=out_headers)


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
