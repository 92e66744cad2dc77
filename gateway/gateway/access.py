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
def _index():
    """The table arranged for lookup: every API request is looked up here (proxy.Forwarder).

    A scan of the whole table, a regular expression per route, cost 9.5 us for a path near its
    end, 2.4 % of the gateway's CPU per forwarded GET (bench/README.md, Gateway). Now: rules
    without variables by (method, path) in a dict; the others per method, in match order (a rule
    with fewer variables, then a longer one, first: a literal segment wins over a variable),
    each with its text before the first variable, a cheap test before the expression.
    """
    literal: dict[tuple[str, str], tuple[str, frozenset[str]]] = {}
    patterned: dict[str, list[tuple[str, re.Pattern, str, frozenset[str]]]] = {}
    for _, method, rule, roles in sorted(ROUTES, key=lambda r: (r[2].count("<"), -len(r[2]))):
        if "<" in rule:
            patterned.setdefault(method, []).append((rule[:rule.index("<")], _pattern(rule), rule, frozenset(roles)))
        else:
            literal[(method, rule)] = (rule, frozenset(roles))
    return literal, patterned


def allowed_roles(method: str, path: str) -> tuple[str, frozenset[str]] | None:
    """(route rule, roles allowed) of the route answering `method path`, or None if no route does."""
    literal, patterned = _index()
    found = literal.get((method, path))
    if found is not None:
        return found
    for head, pattern, rule, roles in patterned.get(method, ()):
        if path.startswith(head) and pattern.match(path):
            return rule, roles
    return None


METHODS = frozenset(method for _, method, _, _ in ROUTES)


def path_exists(path: str) -> bool:
    """Whether some route answers `path` with some method (a 405 rather than a 404)."""
    return any(allowed_roles(method, path) is not None for method in METHODS)
