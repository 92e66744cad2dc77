"""Calls from one service to another's HTTP API, signed as the calling service.

For the few places a service must ask another now (locate a point, copy reference
data); everything else travels as events. Short timeouts: the caller treats
OSError as "not now" and tries again later, it never blocks on a peer.
"""
from __future__ import annotations

import json
import os
import urllib.parse
import urllib.request

from . import identity as ident
from .connections import Connections, Unavailable
from .wire import BrokenAnswer


def service_url(service: str, default_port: int) -> str:
    """`<SERVICE>_URL` from the environment (REGISTRY_URL for grid-registry), else localhost."""
    name = "REGISTRY_URL" if service == "grid-registry" else service.upper().replace("-", "_") + "_URL"
    return os.environ.get(name, f"http://127.0.0.1:{default_port}").rstrip("/")


_connections = Connections(connect_timeout_s=3.0)  # one kept-alive socket per thread and peer


class PeerError(OSError):
    """A peer answered, but not with 2xx (an OSError, as urllib's HTTPError is, so callers read it as "not now")."""


def get_json(settings, base_url: str, path: str, params: dict | None = None, timeout: float = 5.0,
             as_identity: ident.Identity | None = None):
    """GET base_url + path as `service:<name>` (district-wide read access), or on behalf of the person
    making the request (`as_identity`: the other service then checks, and logs, that person).

    Over the kit's kept-alive connections (connections.py, which the gateway forwards on): dispatch
    locates every report this way, and a new connection per call (urllib) cost twice the CPU of the
    call itself. A GET on a connection the peer closed meanwhile is sent again on a new one.
    Every failure (refused, timed out, broken, a non-2xx answer) is an OSError.
    """
    caller = as_identity or ident.Identity(f"service:{settings.service}", frozenset({"district_ops"}))
    base = urllib.parse.urlsplit(base_url)
    target = f"{base.path}{path}" + (f"?{urllib.parse.urlencode(params)}" if params else "")
    headers = ident.sign(caller, settings.identity_secret)
    try:
        answer = _connections.request(f"{base.scheme}://{base.netloc}", "GET", target, None, headers, timeout)
        body = answer.read()
    except (Unavailable, BrokenAnswer) as exc:
        raise OSError(f"{type(exc).__name__}: {exc}") from exc
    if not 200 <= answer.status < 300:
        raise PeerError(f"HTTP {answer.status} from {base_url}{path}")
    return json.loads(body)


def post_json(settings, base_url: str, path: str, body: dict, timeout: float = 5.0,
              as_identity: ident.Identity | None = None):
    """POST JSON to another service, signed as this service or on behalf of `as_identity`."""
    caller = as_identity or ident.Identity(f"service:{settings.service}", frozenset({"district_ops"}))
    request = urllib.request.Request(f"{base_url}{path}", method="POST",
                                     data=json.dumps(body, ensure_ascii=False).encode("utf-8"),
                                     headers={"Content-Type": "application/json",
                                              **ident.sign(caller, settings.identity_secret)})
    with urllib.request.urlopen(request, timeout=timeout) as response:
        return json.load(response)
