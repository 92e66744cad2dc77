"""Authorisation at the edge, from the same table the services' routes declare (access_table.py).

The gateway refuses a caller whose roles no route allows before any service is
asked; the services still check roles and grid scope themselves (the gateway is
not the only lock).
"""
from __future__ import annotations

import re
from functools import lru_cache

from .access_table import ROUTES

_CONVERTER = re.compile(r"<(?:(?P<conv>[a-z]+):)?(?P<name>\w+)>")


def _pattern(rule: str) -> re.Pattern:
    parts, last = [], 0
    for match in _CONVERTER.finditer(rule):
        parts.append(re.escape(rule[last:match.start()]))
        parts.append(".+" if match.group("conv") == "path" else "[^/]+")
        last = match.end()
    parts.append(re.escape(rule[last:]))
    return re.compile("^" + "".join(parts) + "$")


@lru_cache(maxsize=1)
def _compiled():
    # Static segments before variables: a literal route wins over a pattern that also matches.
    ordered = sorted(ROUTES, key=lambda r: (r[2].count("<"), -len(r[2])))
    return [(method, _pattern(rule), rule, frozenset(roles)) for _, method, rule, roles in ordered]


def allowed_roles(method: str, path: str) -> tuple[str, frozenset[str]] | None:
    """(route rule, roles allowed) of the route answering `method path`, or None if no route does."""
    for route_method, pattern, rule, roles in _compiled():
        if route_method == method and pattern.match(path):
            return rule, roles
    return None


def path_exists(path: str) -> bool:
    return any(pattern.match(path) for _, pattern, _, _ in _compiled())
