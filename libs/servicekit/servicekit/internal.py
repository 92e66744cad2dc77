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


def service_url(service: str, default_port: int) -> str:
    """`<SERVICE>_URL` from the environment (REGISTRY_URL for grid-registry), else localhost."""
    name = "REGISTRY_URL" if service == "grid-registry" else service.upper().replace("-", "_") + "_URL"
    return os.environ.get(name, f"http://127.0.0.1:{default_port}").rstrip("/")


def get_json(settings, base_url: str, path: str, params: dict | None = None, timeout: float = 5.0,
             as_identity: ident.Identity | None = None):
    """GET base_url + path as `service:<name>` (district-wide read access), or on behalf of the person
    making the request (`as_identity`: the other service then checks, and logs, that person)."""
    caller = as_identity or ident.Identity(f"service:{settings.service}", frozenset({"district_ops"}))
    query = f"?{urllib.parse.urlencode(params)}" if params else ""
    request = urllib.request.Request(f"{base_url}{path}{query}", headers=ident.sign(caller, settings.identity_secret))
    with urllib.request.urlopen(request, timeout=timeout) as response:
        return json.load(response)


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
