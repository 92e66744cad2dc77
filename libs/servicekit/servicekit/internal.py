"""Calls from one service to another's HTTP API, signed as the calling service.

For the few places a service must ask another now (locate a point, copy reference
data); everything else travels as events. Short timeouts: the caller treats
OSError as "not now" and tries again later, it never blocks on a peer.
"""
from __future__ import annotations

import http.client
import json
import os
import threading
import urllib.parse
import urllib.request

from . import identity as ident


def service_url(service: str, default_port: int) -> str:
    """`<SERVICE>_URL` from the environment (REGISTRY_URL for grid-registry), else localhost."""
    name = "REGISTRY_URL" if service == "grid-registry" else service.upper().replace("-", "_") + "_URL"
    return os.environ.get(name, f"http://127.0.0.1:{default_port}").rstrip("/")


_local = threading.local()  # one kept-alive connection per thread and peer: http.client is not thread-safe


class PeerError(OSError):
    """A peer answered, but not with 2xx (an OSError, as urllib's HTTPError is, so callers read it as "not now")."""


def _connection(scheme: str, netloc: str, timeout: float) -> http.client.HTTPConnection:
    pool = _local.__dict__.setdefault("connections", {})
    conn = pool.get((scheme, netloc))
    if conn is None:
        cls = http.client.HTTPSConnection if scheme == "https" else http.client.HTTPConnection
        conn = pool[(scheme, netloc)] = cls(netloc, timeout=timeout)
    conn.timeout = timeout
    if conn.sock is not None:
        conn.sock.settimeout(timeout)
    return conn


def _drop(scheme: str, netloc: str) -> None:
    conn = _local.__dict__.get("connections", {}).pop((scheme, netloc), None)
    if conn is not None:
        conn.close()


def get_json(settings, base_url: str, path: str, params: dict | None = None, timeout: float = 5.0,
             as_identity: ident.Identity | None = None):
    """GET base_url + path as `service:<name>` (district-wide read access), or on behalf of the person
    making the request (`as_identity`: the other service then checks, and logs, that person).

    Over one kept-alive HTTP/1.1 connection per thread and peer: dispatch locates every report
    this way, and a new connection per call (urllib) cost twice the CPU of the call itself.
    Every failure (refused, timed out, a non-2xx answer) is an OSError.
    """
    caller = as_identity or ident.Identity(f"service:{settings.service}", frozenset({"district_ops"}))
    base = urllib.parse.urlsplit(base_url)
    target = f"{base.path}{path}" + (f"?{urllib.parse.urlencode(params)}" if params else "")
    headers = ident.sign(caller, settings.identity_secret)
    for attempt in (1, 2):
        conn = _connection(base.scheme, base.netloc, timeout)
        reused = conn.sock is not None
        try:
            conn.request("GET", target, headers=headers)
            response = conn.getresponse()
            body = response.read()
        except (OSError, http.client.HTTPException) as exc:
            _drop(base.scheme, base.netloc)
            # A kept-alive connection the peer closed meanwhile fails at once: a GET may be sent
            # again, once, on a new one. A new connection's failure is the answer.
            if reused and attempt == 1 and not isinstance(exc, TimeoutError):
                continue
            raise exc if isinstance(exc, OSError) else OSError(f"{type(exc).__name__}: {exc}") from exc
        if response.will_close:
            _drop(base.scheme, base.netloc)
        if not 200 <= response.status < 300:
            raise PeerError(f"HTTP {response.status} from {base_url}{path}")
        return json.loads(body)
    raise AssertionError("unreachable")


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
