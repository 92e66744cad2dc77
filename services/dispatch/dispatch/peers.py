"""GET another service's API over a kept-alive connection (the registry's locate, once per report).

servicekit.internal.get_json opens a new TCP connection for every call (urllib); at
tens of reports a second the connect and the connection's set-up are a good part of
the call. This keeps one HTTP/1.1 connection per thread and peer, and otherwise
behaves as the kit's: signed as `service:dispatch`, a short timeout, and every
failure (refused, timed out, a non-2xx answer) an OSError the caller reads as "not now".
"""
from __future__ import annotations

import http.client
import json
import socket
import threading
import urllib.parse

from servicekit import identity as ident

_QUICKACK = getattr(socket, "TCP_QUICKACK", None)  # Linux only
_local = threading.local()  # one connection per thread and peer: http.client is not thread-safe


class PeerError(OSError):
    """A peer answered, but not with 2xx (urllib would raise HTTPError, also an OSError)."""


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


def _quickack(conn: http.client.HTTPConnection) -> None:
    """Acknowledge the answer's first segment at once (Linux), before reading it.

    A peer that writes its headers and its body in two sends without TCP_NODELAY (Python's
    http.server does; gunicorn sets NODELAY) holds the body back until the headers are
    acknowledged, and on a kept-alive connection this side delays that ACK by up to 40 ms.
    (A new connection starts in quick-ACK mode, which is why urllib never met this.) The
    option does not stick, so it is set again for every request.
    """
    if _QUICKACK is not None and conn.sock is not None:
        conn.sock.setsockopt(socket.IPPROTO_TCP, _QUICKACK, 1)


def _drop(scheme: str, netloc: str) -> None:
    conn = _local.__dict__.get("connections", {}).pop((scheme, netloc), None)
    if conn is not None:
        conn.close()


def get_json(settings, base_url: str, path: str, params: dict | None = None, timeout: float = 5.0):
    """GET base_url + path as `service:<name>`; the answer's JSON. Same contract as servicekit.internal.get_json."""
    caller = ident.Identity(f"service:{settings.service}", frozenset({"district_ops"}))
    base = urllib.parse.urlsplit(base_url)
    target = f"{base.path}{path}" + (f"?{urllib.parse.urlencode(params)}" if params else "")
    headers = ident.sign(caller, settings.identity_secret)
    for attempt in (1, 2):
        conn = _connection(base.scheme, base.netloc, timeout)
        reused = conn.sock is not None
        try:
            conn.request("GET", target, headers=headers)
            _quickack(conn)
            response = conn.getresponse()
            body = response.read()
        except (OSError, http.client.HTTPException) as exc:
            _drop(base.scheme, base.netloc)
            # A kept-alive connection the peer has meanwhile closed fails at once: a GET may be
            # sent again, once, on a new one. A new connection's failure is the answer.
            if reused and attempt == 1 and not isinstance(exc, TimeoutError):
                continue
            raise exc if isinstance(exc, OSError) else OSError(f"{type(exc).__name__}: {exc}") from exc
        if response.will_close:
            _drop(base.scheme, base.netloc)
        if not 200 <= response.status < 300:
            raise PeerError(f"HTTP {response.status} from {base_url}{path}")
        return json.loads(body)
    raise AssertionError("unreachable")
