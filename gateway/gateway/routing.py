"""Which service answers which path. Pure data and a lookup, tested without I/O."""
from __future__ import annotations

from dataclasses import dataclass

SERVICES = ("grid-registry", "incidents", "dispatch", "assessment", "rewards")


@dataclass(frozen=True)
class Route:
    prefix: str        # public path prefix, ending in "/"
    service: str
    upstream_prefix: str  # what replaces `prefix` on the way to the service
    timeout_s: float = 10.0


# Services mount their APIs under /api/v1/<area>/ themselves, so those paths pass unchanged;
# /ops/<service>/... reaches one service's operator endpoints (/ops/... on that service).
ROUTES: tuple[Route, ...] = (
    Route("/api/v1/registry/", "grid-registry", "/api/v1/registry/"),
    Route("/api/v1/incidents/", "incidents", "/api/v1/incidents/"),
    Route("/api/v1/dispatch/", "dispatch", "/api/v1/dispatch/"),
    Route("/api/v1/assessment/", "assessment", "/api/v1/assessment/"),
    Route("/api/v1/rewards/", "rewards", "/api/v1/rewards/"),
) + tuple(Route(f"/ops/{service}/", service, "/ops/") for service in SERVICES)


def match(path: str, routes: tuple[Route, ...] = ROUTES) -> tuple[Route, str] | None:
    """The route for `path` (longest prefix wins) and the path to send upstream."""
    best = None
    for route in routes:
        if path.startswith(route.prefix) and (best is None or len(route.prefix) > len(best.prefix)):
            best = route
    if best is None:
        return None
    return best, best.upstream_prefix + path[len(best.prefix):]
