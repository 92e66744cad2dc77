"""The case state machine (DESIGN.md, "Case lifecycle"): plain data, no I/O.

    new ──assign──▶ assigned ──accept──▶ accepted ──handle──▶ handled ──verify──▶ verified ──close──▶ closed
                      │  ▲                  │  ▲                 │
                      │  └──escalate────────┤  └──reopen (verification failed: rework)
                      ├──refer (district)──▶ referred ──handle──▶ handled
                      ├──reject────────────▶ rejected
                      └──merge─────────────▶ merged

Escalation keeps the case `assigned`, at the parent grid. An extension request
does not change the state; it pauses the SLA clock until granted or denied.
Who may act is decided by `may_act`, on the actor's roles and grid scope.
"""
from __future__ import annotations

from dataclasses import dataclass

OPEN_STATES = ("new", "assigned", "accepted", "referred", "handled", "verified")
TERMINAL_STATES = ("closed", "rejected", "merged")
STATES = OPEN_STATES + TERMINAL_STATES

# (state, action) -> next state
TRANSITIONS: dict[tuple[str, str], str] = {
    ("new", "assign"): "assigned",
    ("assigned", "accept"): "accepted",
    ("assigned", "escalate"): "assigned",
    ("accepted", "escalate"): "assigned",
    ("assigned", "refer"): "referred",
    ("accepted", "refer"): "referred",
    ("accepted", "handle"): "handled",
    ("referred", "handle"): "handled",
    ("handled", "verify"): "verified",
    ("handled", "reopen"): "accepted",
    ("verified", "close"): "closed",
    ("assigned", "reject"): "rejected",
    ("accepted", "reject"): "rejected",
    ("new", "reject"): "rejected",
    ("assigned", "request_extension"): "assigned",
    ("accepted", "request_extension"): "accepted",
    ("referred", "request_extension"): "referred",
    ("assigned", "grant_extension"): "assigned",
    ("accepted", "grant_extension"): "accepted",
    ("referred", "grant_extension"): "referred",
    ("assigned", "deny_extension"): "assigned",
    ("accepted", "deny_extension"): "accepted",
    ("referred", "deny_extension"): "referred",
}
for _state in OPEN_STATES:
    TRANSITIONS[(_state, "merge")] = "merged"
ACTIONS = sorted({action for _, action in TRANSITIONS})

# Actions only the district may take (level 1 decides referrals; supervision is its office).
DISTRICT_ACTIONS = {"refer", "grant_extension", "deny_extension", "merge"}
# Actions by someone above the case's grid: an upper level or the district verifies and closes.
UPPER_ACTIONS = {"verify", "reopen", "close"}


class IllegalTransition(Exception):
    def __init__(self, state: str, action: str):
        super().__init__(f"cannot {action} a case that is {state}")
        self.state = state
        self.action = action
        self.allowed = allowed_actions(state)


def allowed_actions(state: str) -> list[str]:
    return sorted(action for (s, action) in TRANSITIONS if s == state)


def next_state(state: str, action: str) -> str:
    try:
        return TRANSITIONS[(state, action)]
    except KeyError:
        raise IllegalTransition(state, action) from None


@dataclass(frozen=True)
class Actor:
    subject: str
    roles: frozenset[str]
    grids: tuple[str, ...]


def may_act(actor: Actor, action: str, case_grid: str | None) -> bool:
    """Whether `actor` may take `action` on a case sitting at `case_grid`.

    District roles may do anything. Grid staff act on cases in their subtree;
    verification and closing need someone above the grid (a scope that is a strict
    ancestor of it), so nobody verifies their own work.
    """
    if actor.roles & {"district_ops", "admin"}:
        return True
    if "grid_staff" not in actor.roles or case_grid is None or action in DISTRICT_ACTIONS:
        return False
    if action in UPPER_ACTIONS:
        return any(case_grid.startswith(scope) and case_grid != scope for scope in actor.grids)
    return any(case_grid.startswith(scope) for scope in actor.grids)
