"""Forwarding a request to a service over pooled keep-alive connections.

The caller's own identity headers are dropped and the gateway's signed ones put
in their place, so nothing a client sends can claim an identity. Upstream
failures answer in the same JSON error shape as the services.
"""
from __future__ import annotations

import logging

import urllib3
from flask import Blueprint, Response, current_app, g, request
from urllib3.exceptions import MaxRetryError, NewConnectionError, ProtocolError, TimeoutError

from servicekit import identity as ident
from servicekit.errors import ApiError
from servicekit.web import public, runtime

from .keys import ApiKeys
from .routing import match
from .upstreams import Upstreams

log = logging.getLogger(__name__)

HOP_BY_HOP = {"connection", "keep-alive", "proxy-authenticate", "proxy-authorization", "te", "trailers",
              "transfer-encoding", "upgrade", "host", "content-length"}
STRIPPED = HOP_BY_HOP | {ident.IDENTITY_HEADER.lower(), ident.SIGNATURE_HEADER.lower(), "authorization",
                         "x-api-key"}
ANONYMOUS = ident.Identity("anonymous", frozenset({"public"}))

proxy_blueprint = Blueprint("proxy", __name__)


def _state():
    ext = current_app.extensions
    if "gateway" not in ext:
        import os
        ext["gateway"] = {
            "pool": urllib3.PoolManager(num_pools=16, maxsize=32, retries=False),
            "upstreams": Upstreams.from_env(),
            "keys": ApiKeys.from_file(os.environ.get("GATEWAY_API_KEYS_FILE")),
        }
    return ext["gateway"]


def authenticate(keys: ApiKeys) -> ident.Identity:
    presented = request.headers.get("X-API-Key")
    auth = request.headers.get("Authorization", "")
    if not presented and auth.startswith("ApiKey "):
        presented = auth[len("ApiKey "):].strip()
    if presented:
        who = keys.lookup(presented)
        if who is None:
            raise ApiError(401, "unknown or revoked API key", code="invalid_credentials")
        return who
    return ANONYMOUS


def call_upstream(service: str, method: str, path: str, who: ident.Identity, *, body: dict | None = None,
                  params: dict | None = None, timeout_s: float = 10.0) -> tuple[int, dict]:
    """A JSON call from the gateway itself to a service (Open311, aggregated health), as `who`.

    Upstream failures raise ApiError 503/504 in the services' JSON error shape.
    """
    import json as _json
    from urllib.parse import urlencode
    state = _state()
    headers = {"Content-Type": "application/json", "X-Request-ID": g.get("request_id", "")}
    headers.update(ident.sign(who, runtime().settings.identity_secret))
    url = state["upstreams"].next(service) + path + (f"?{urlencode(params)}" if params else "")
    try:
        response = state["pool"].request(method, url, body=_json.dumps(body, ensure_ascii=False).encode()
                                          if body is not None else None, headers=headers,
                                          timeout=urllib3.Timeout(connect=2.0, read=timeout_s), retries=False)
    except (NewConnectionError, MaxRetryError, ProtocolError):
        raise ApiError(503, f"{service} is unavailable", code="upstream_unavailable") from None
    except TimeoutError:
        raise ApiError(504, f"{service} did not answer in time", code="upstream_timeout") from None
    try:
        return response.status, _json.loads(response.data or b"{}")
    except ValueError:
        raise ApiError(502, f"{service} answered something that is not JSON", code="bad_gateway") from None


@proxy_blueprint.route("/api/v1/<path:_rest>", methods=["GET", "POST", "PUT", "PATCH", "DELETE"])
@proxy_blueprint.route("/ops/<path:_rest>", methods=["GET", "POST", "PUT", "PATCH", "DELETE"])
@public  # the gateway authenticates here itself; services check the identity it signs
def forward(_rest):
    found = match(request.path)
    if found is None:
        raise ApiError(404, "no service answers this path")
    route, upstream_path = found
    state = _state()
    who = authenticate(state["keys"])
    headers = {k: v for k, v in request.headers.items() if k.lower() not in STRIPPED}
    headers.update(ident.sign(who, runtime().settings.identity_secret))
    headers["X-Request-ID"] = g.request_id
    headers["X-Forwarded-For"] = request.remote_addr or ""
    base = state["upstreams"].next(route.service)
    query = request.query_string.decode("latin-1")
    url = f"{base}{upstream_path}" + (f"?{query}" if query else "")
    try:
        upstream = state["pool"].request(
            request.method, url, body=request.get_data() or None, headers=headers,
            timeout=urllib3.Timeout(connect=2.0, read=route.timeout_s), preload_content=False,
            redirect=False)
    except (NewConnectionError, MaxRetryError, ProtocolError) as exc:
        log.warning("upstream unavailable", extra={"service": route.service, "reason": str(exc)[:200]})
        raise ApiError(503, f"{route.service} is unavailable", code="upstream_unavailable") from None
    except TimeoutError:
        raise ApiError(504, f"{route.service} did not answer within {route.timeout_s:.0f}s",
                       code="upstream_timeout") from None
    out_headers = [(k, v) for k, v in upstream.headers.items() if k.lower() not in HOP_BY_HOP]
    body = upstream.read()
    upstream.release_conn()
    return Response(body, status=upstream.status, headers=out_headers)
