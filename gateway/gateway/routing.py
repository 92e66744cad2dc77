"""Which service answers which path. Pure data and a lookup, tested without I/O."""
from __future__ import annotations

import os
from dataclasses import dataclass

SERVICES = ("grid-registry", "incidents", "dispatch", "assessment", "rewards")


@dataclass(frozen=True)
class Route:
    prefix: str        # public path prefix, ending in "/"
    service: str
    upstream_prefix: str  # what replaces `prefix` on the way to the service
    timeout_s: float = 10.0
    max_body_bytes: int | None = None  # None: the gateway's MAX_BODY_BYTES


# Services mount their APIs under /api/v1/<area>/ themselves, so those paths pass unchanged;
# /ops/<service>/... reaches one service's operator endpoints (/ops/... on that service).
def _timeout(service: str, default: float) -> float:
    """GATEWAY_TIMEOUT_<SERVICE>_S: how long the gateway waits for that service's answer."""
    return float(os.environ.get(f"GATEWAY_TIMEOUT_{service.upper().replace('-', '_')}_S", default))


ROUTES: tuple[Route, ...] = (
    Route("/api/v1/registry/", "grid-registry", "/api/v1/registry/", _timeout("grid-registry", 10)),
    # Evidence uploads and downloads stream large files: a longer read timeout.
    Route("/api/v1/incidents/evidence", "incidents", "/api/v1/incidents/evidence", _timeout("evidence", 120),
          # a video up to the service's own limit (200 MiB) plus the multipart envelope
          max_body_bytes=int(os.environ.get("GATEWAY_MAX_UPLOAD_BYTES", 210 * 1024 * 1024))),
    Route("/api/v1/incidents/", "incidents", "/api/v1/incidents/", _timeout("incidents", 10)),
    Route("/api/v1/dispatch/", "dispatch", "/api/v1/dispatch/", _timeout("dispatch", 10)),
    Route("/api/v1/assessment/", "assessment", "/api/v1/assessment/", _timeout("assessment", 10)),
    Route("/api/v1/rewards/", "rewards", "/api/v1/rewards/", _timeout("rewards", 10)),
) + tuple(Route(f"/ops/{service}/", service, "/ops/", _timeout(service, 10)) for service in SERVICES)


def match(path: str, routes: tuple[Route, ...] = ROUTES) -> tuple[Route, str] | None:
    """The route for `path` (longest prefix wins) and the path to send upstream."""
    best = None
    for route in routes:
        if path.startswith(route.prefix) and (best is None or len(route.prefix) > len(best.prefix)):
            best = route
    if best is None:
        return None
    return best, best.upstream_prefix + path[len(best.prefix):]
