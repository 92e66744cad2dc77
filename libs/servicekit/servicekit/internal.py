"""Calls from one service to another's HTTP API, signed as the calling service.

For the few places a service must ask another now (locate a point, copy reference
data); everything else travels as events. Short timeouts: the caller treats
OSError as "not now" and tries again later, it never blocks on a peer.
"""
from __future__ import annotations

import json
import os
import urllib.parse

from . import identity as ident
from .connections import Connections, Unavailable
from .wire import BrokenAnswer


def service_url(service: str, default_port: int) -> str:
    """`<SERVICE>_URL` from the environment (REGISTRY_URL for grid-registry), else localhost."""
    name = "REGISTRY_URL" if service == "grid-registry" else service.upper().replace("-", "_") + "_URL"
    return os.environ.get(name, f"http://127.0.0.1:{default_port}").rstrip("/")


_connections = Connections(connect_timeout_s=3.0)  # kept-alive sockets pooled per peer


class PeerError(OSError):
    """A peer answered, but not with 2xx (an OSError, so callers read it as "not now" unless they look at `status`)."""

    def __init__(self, message: str, status: int):
        super().__init__(message)
        self.status = status


def get_json(settings, base_url: str, path: str, params: dict | None = None, timeout: float = 5.0,
             as_identity: ident.Identity | None = None):
    """GET base_url + path as `service:<name>` (district-wide read access), or on behalf of the person
    making the request (`as_identity`: the other service then checks, and logs, that person).

    Over the kit's kept-alive connections (connections.py, which the gateway forwards on): dispatch
    locates every report this way, and a new connection per call (urllib) cost twice the CPU of the
    call itself. A GET on a connection the peer closed meanwhile is sent again on a new one.
    Every failure (refused, timed out, broken, a non-2xx answer) is an OSError.
    """
    query = f"?{urllib.parse.urlencode(params)}" if params else ""
    return _call(settings, "GET", base_url, path + query, None, timeout, as_identity)


def post_json(settings, base_url: str, path: str, body: dict, timeout: float = 5.0,
              as_identity: ident.Identity | None = None):
    """POST JSON to another service, signed as this service or on behalf of `as_identity`.

    Failures as for get_json; a non-2xx answer is a PeerError carrying its status. A POST sent
    whole is never sent again (connections.py), whatever becomes of its answer.
    """
    data = json.dumps(body, ensure_ascii=False).encode("utf-8")
    return _call(settings, "POST", base_url, path, data, timeout, as_identity)


def _call(settings, method: str, base_url: str, path: str, body: bytes | None, timeout: float,
          as_identity: ident.Identity | None):
    caller = as_identity or ident.Identity(f"service:{settings.service}", frozenset({"district_ops"}))
    base = urllib.parse.urlsplit(base_url)
    headers = ident.sign(caller, settings.identity_secret)
    if body is not None:
        headers["Content-Type"] = "application/json"
    try:
        answer = _connections.request(f"{base.scheme}://{base.netloc}", method, f"{base.path}{path}", body,
                                      headers, timeout)
        data = answer.read()
    except (Unavailable, BrokenAnswer) as exc:
        raise OSError(f"{type(exc).__name__}: {exc}") from exc
    if not 200 <= answer.status < 300:
        raise PeerError(f"HTTP {answer.status} from {base_url}{path}", answer.status)
    return json.loads(data)
