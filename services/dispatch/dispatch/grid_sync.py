"""Filling an empty grid read model from the registry's snapshot.

A dispatch that starts after the registry has been running has missed the
grid.* events of the past; it pages through GET /api/v1/registry/snapshot once.
Events consumed meanwhile are harmless: every row carries its version.
While the registry is unreachable the timer simply tries again later.
"""
from __future__ import annotations

import logging

from servicekit.internal import get_json, service_url

from .grid_view import apply_grid, apply_member, is_empty

log = logging.getLogger(__name__)


def fetch_page(settings, after: str, limit: int = 500) -> dict:
    return get_json(settings, service_url("grid-registry", 8001), "/api/v1/registry/snapshot",
                    {"after": after, "limit": limit}, timeout=10)


def bootstrap_grid_view(settings, db) -> None:
    with db.transaction() as session:
        if not is_empty(session):
            return
    after, grids, members = "", 0, 0
    try:
        while after is not None:
            page = fetch_page(settings, after)
            with db.transaction() as session:
                for item in page["items"]:
                    apply_grid(session, item)
                    grids += 1
                    for member in item["members"]:
                        apply_member(session, member | {"grid_code": item["code"]}, removed=False)
                        members += 1
            after = page["next_after"]
    except OSError as exc:
        log.warning("registry snapshot unavailable; will retry", extra={"reason": str(exc)[:200]})
        return
    log.info("grid read model filled from the registry snapshot", extra={"grids": grids, "members": members})
