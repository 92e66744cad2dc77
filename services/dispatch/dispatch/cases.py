"""Use cases of dispatch: open a case for a report, assign it up the grid, act on it.

Every change of a case: a version bump (optimistic locking), an entry in its
hash-chained history, and an event through the outbox, in one transaction.
"""
from __future__ import annotations

import contextlib
import functools
import json
import logging
import os
import secrets
from datetime import datetime, timedelta

from sqlalchemy import Boolean, bindparam, delete, func, insert, or_, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from servicekit.config import load_settings
from servicekit.errors import ApiError
from servicekit.heldrows import HeldRows
from servicekit.identity import Identity
from servicekit.internal import get_json, service_url
from servicekit.tables import utcnow

from . import chain, ledgers, lifecycle, notify, orders, reference, sla
from .grid_view import chain as grid_chain
from .grid_view import leaders
from .models import assignment_rules, callbacks, case_history, case_incidents, case_timers, cases, categories, digests
from .publishing import OUTBOX

log = logging.getLogger(__name__)

DISTRICT = "140502"
# SLA_POLICY_FILE: further policy versions as JSON; new cases start on the highest version.
POLICIES = sla.load_policies(os.environ.get("SLA_POLICY_FILE"))
CURRENT_POLICY = max(POLICIES)
SYSTEM = lifecycle.Actor("system", frozenset({"district_ops"}), ())
_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
LEVEL_BY_CODE_LENGTH = {6: 1, 9: 2, 12: 3, 15: 4, 19: 5}

# The district's starting rules (seeded into assignment_rules, then edited as data): the level
# that first handles a report, when not the deepest grid holding its position.
DEFAULT_ASSIGNMENT_RULES = [("city_platform", "air_quality_exceedance", 2), ("city_platform", "prominent_problem", 2),
                            ("city_platform", "emergency_order", 1), ("inspection", "*", 3)]


# -- helpers ---------------------------------------------------------------------
def _actor(who: Identity) -> lifecycle.Actor:
    return lifecycle.Actor(who.subject, who.roles, who.grids)


def _role(actor: lifecycle.Actor) -> str:
    for role in ("district_ops", "admin", "grid_staff", "city_platform"):
        if role in actor.roles:
            return role
    return "system"


# The statements of the report -> assigned path, built once: executed with their values as
# parameters, they hit SQLAlchemy's compiled-statement cache instead of being built (and their
# cache keys computed) again for every report. Plain inserts take their columns from the parameters.
_GET_CASE = select(cases).where(cases.c.case_id == bindparam("case_id"))
# Whether the case runs on emergency rules is worked out in the INSERT itself: an emergency order
# is, and so is any case opened while an alert window is open (one statement fewer per report).
_INSERT_CASE = (insert(cases).values(emergency=or_(bindparam("is_order", type_=Boolean), orders.ALERT_OPEN))
                .returning(*cases.c))
# SET comes from the parameters; the case as it now is comes back (no row: somebody changed it first).
_UPDATE_CASE = (update(cases).where(cases.c.case_id == bindparam("where_case_id"),
                                    cases.c.version == bindparam("where_version")).returning(*cases.c))
_CASE_OF_INCIDENT = select(case_incidents.c.case_id).where(case_incidents.c.incident_id == bindparam("incident_id"))
_INCIDENTS = (select(case_incidents.c.incident_id).where(case_incidents.c.case_id == bindparam("case_id"))
              .order_by(case_incidents.c.attached_at, case_incidents.c.incident_id))
_INSERT_INCIDENT = insert(case_incidents)
# A new case's first report, unless the report is known already (one round trip: no SELECT first).
_INSERT_FIRST_INCIDENT = {
    dialect: insert_(case_incidents).on_conflict_do_nothing(index_elements=["incident_id"])
    .returning(case_incidents.c.incident_id) for dialect, insert_ in (("postgresql", pg_insert),
                                                                    ("sqlite", sqlite_insert))}
_DELETE_CASE = delete(cases).where(cases.c.case_id == bindparam("case_id"))
_LAST_ENTRY = (select(case_history.c.seq, case_history.c.hash).where(case_history.c.case_id == bindparam("case_id"))
               .order_by(case_history.c.seq.desc()).limit(1))
_INSERT_ENTRY = insert(case_history)
_CANCEL_TIMERS = (update(case_timers).where(case_timers.c.case_id == bindparam("where_case_id"),
                                            case_timers.c.fired_at.is_(None), case_timers.c.cancelled.is_(False))
                  .values(cancelled=True))
_INSERT_TIMER = insert(case_timers)


def _get(session: Session, case_id: str):
    row = session.execute(_GET_CASE, {"case_id": case_id}).first()
    if row is None:
        raise ApiError(404, f"no case {case_id}")
    return row


# -- what this transaction wrote itself ----------------------------------------------------
class _Written:
    """What the current transaction wrote itself, so that it need not read it back.

    A report that becomes a case appends up to six history entries and six events in
    one transaction (settled on the spot), each needing the case's last entry (its seq
    and hash) or its incident ids: one SELECT apiece, of facts this transaction wrote.
    Only the transaction's own writes are kept; everything else is read as before:
    - last_entry[case_id]: (seq, hash) of the entry this transaction last appended to the
      case, or (0, GENESIS) for a case it created. Nobody else can append after that entry
      before this transaction ends: (case_id, seq) is unique, so a writer that does not see
      our uncommitted entry takes the same seq and waits for us, then fails.
    - incidents[case_id]: the incident ids of a case this transaction created (nobody else
      can see it yet); dropped when this transaction attaches or moves incidents.
    """

    __slots__ = ("owner", "last_entry", "incidents")

    def __init__(self, owner):
        self.owner = owner
        self.last_entry: dict[str, tuple[int, str]] = {}
        self.incidents: dict[str, list[str]] = {}


def _written(session: Session) -> _Written:
    """The memo of the session's current transaction: a new transaction, or a savepoint begun or
    ended (its writes may be rolled back), starts an empty one."""
    owner = (session.get_transaction(), session.get_nested_transaction())
    memo = session.info.get("dispatch.written")
    if memo is None or memo.owner[0] is not owner[0] or memo.owner[1] is not owner[1]:
        memo = session.info["dispatch.written"] = _Written(owner)
    return memo


# History entries of a use case, written in one INSERT at its end (the kit's HeldRows).
_ENTRIES = HeldRows("dispatch history entries", lambda session, rows: session.execute(_INSERT_ENTRY, rows))


@contextlib.contextmanager
def _gathered(session: Session):
    """A use case that appends several history entries and events (a report becoming a case: two of
    each; settled on the spot: six) writes them at its end, one INSERT for the entries and one for
    the events, instead of one each. Nothing in between reads them back: the chain's head and a new
    case's incidents come from the memo (_Written); `history` writes what is held first."""
    with OUTBOX.gathered(session), _ENTRIES.block(session):
        yield


def _incidents(session: Session, case_id: str) -> list[str]:
    known = _written(session).incidents.get(case_id)
    if known is not None:
        return list(known)
    return session.execute(_INCIDENTS, {"case_id": case_id}).scalars().all()


def _workdays(session: Session):
    return reference.snapshot(session).is_workday


def _update(session: Session, row, steps: int = 1, **values):
    """Change a case if nobody else did since `row` was read, else 409; the case as it now is.

    `steps`: how far the version moves (an assignment writes its grid and its deadline at
    once, and moves it two steps, as when these were two changes)."""
    changed = session.execute(_UPDATE_CASE, {"where_case_id": row.case_id, "where_version": row.version, **values,
                                             "version": row.version + steps, "updated_at": utcnow()}).first()
    if changed is None:
        raise ApiError(409, "the case changed meanwhile; reload it and try again")
    return changed


def _record(session: Session, case_id: str, action: str, from_state: str | None, to_state: str,
            actor: lifecycle.Actor, grid_code: str | None, note: str | None = None,
            evidence: list | None = None, details: dict | None = None) -> dict:
    written = _written(session)
    last = written.last_entry.get(case_id)
    if last is None:
        found = session.execute(_LAST_ENTRY, {"case_id": case_id}).first()
        last = (found.seq, found.hash) if found else (0, chain.GENESIS)
    seq, previous = last[0] + 1, last[1]
    entry = {"case_id": case_id, "seq": seq, "action": action, "from_state": from_state,
             "to_state": to_state, "actor": actor.subject, "role": _role(actor), "grid_code": grid_code,
             "at": utcnow().isoformat(), "note": note, "evidence": list(evidence or []), "details": details or {}}
    entry["previous_hash"], entry["hash"] = previous, chain.entry_hash(entry, previous)
    _ENTRIES.add(session, [entry])  # inside _gathered: inserted with the others at its end
    written.last_entry[case_id] = (seq, entry["hash"])
    return entry


def _event(session: Session, row, event_type: str, actor: lifecycle.Actor, action: str, **extra) -> None:
    data = {"case_id": row.case_id, "incident_ids": _incidents(session, row.case_id), "state": row.state,
            "grid_code": row.grid_code, "at": utcnow().isoformat(), "level": row.level, "category": row.category,
            "channel": row.channel, "first_incident": row.first_incident,
            "due_at": row.due_at.isoformat() if row.due_at else None, "escalations": row.escalations,
            "rework_count": row.rework_count, "supervision": row.supervision,
            "department_code": row.department_code, "actor": actor.subject, "action": action,
            "verified_true": row.verified_true} | extra
    OUTBOX.add(session, event_type, data)
    if row.supervision == "important":
        # 全程督办: the supervision office hears of every step.
        notify.queue(session, "supervision_office", f"【全程督办】{row.case_id} {action} → {row.state}",
                     case_id=row.case_id)


# -- SLA timers --------------------------------------------------------------------
def _cancel_timers(session: Session, case_id: str) -> None:
    session.execute(_CANCEL_TIMERS, {"where_case_id": case_id})


def _deadline(session: Session, row, level: int, start: datetime) -> tuple[sla.Rule, datetime]:
    """The SLA rule of the case at `level` and its deadline from `start`."""
    rule = POLICIES[row.policy_version].rule_for(level, row.category, row.supervision, row.emergency)
    return rule, sla.deadline(start, rule, _workdays(session))


def _add_timers(session: Session, case_id: str, start: datetime, due: datetime, rule: sla.Rule) -> None:
    session.execute(_INSERT_TIMER, [{"case_id": case_id, "kind": kind, "due_at": when, "cancelled": False}
                                    for kind, when in sla.timers(start, due, rule)])


def _start_clock(session: Session, row, start: datetime):
    """Cancel the running clock and start one for the case where it now sits."""
    _cancel_timers(session, row.case_id)
    rule, due = _deadline(session, row, row.level, start)
    _add_timers(session, row.case_id, start, due, rule)
    return due


# -- opening and assigning ---------------------------------------------------------------
def _new_case_id(now: datetime) -> str:
    return f"C{now.astimezone(sla.SHANGHAI):%Y%m%d}{''.join(secrets.choice(_ALPHABET) for _ in range(6))}"


def open_case(session: Session, envelope, data: dict) -> None:
    """incident.reported → a new case (or, for a duplicate, one more report on the first one's case)."""
    with _gathered(session):
        _open_case(session, data)


def _open_case(session: Session, data: dict) -> None:
    now = utcnow()
    ended = None  # the case of the report this one duplicates, when that case has ended
    if data["duplicate_of"]:
        if session.execute(_CASE_OF_INCIDENT, {"incident_id": data["incident_id"]}).first():
            return  # already known (a report can arrive again after a replay)
        first = session.execute(_CASE_OF_INCIDENT, {"incident_id": data["duplicate_of"]}).first()
        row = _get(session, first.case_id) if first is not None else None
        # Intake links a report to an open one as it sees it; the case may have ended meanwhile
        # (incidents hears of it a moment later). Then the problem is back: the report opens a
        # case of its own, instead of joining one that nobody works any more.
        if row is not None and row.state not in lifecycle.TERMINAL_STATES:
            session.execute(_INSERT_INCIDENT, {"incident_id": data["incident_id"], "case_id": row.case_id,
                                               "attached_at": now})
            _written(session).incidents.pop(row.case_id, None)
            _record(session, row.case_id, "attach_report", row.state, row.state, SYSTEM, row.grid_code,
                    details={"incident_id": data["incident_id"], "duplicate_of": data["duplicate_of"]})
            # The later reporter follows the case from now on, not from its next move.
            _event(session, row, "case.report_attached", SYSTEM, "attach_report")
            return
        ended = row.case_id if row is not None else None
    location = data["location"]
    case_id = _new_case_id(now)
    city = data.get("city")
    is_order = bool(city and city["kind"] == "emergency_order")
    row = session.execute(_INSERT_CASE, dict(
        case_id=case_id, state="new", grid_code=None, level=None, category=data["category"],
        channel=data["channel"], severity=data["severity"],
        supervision="urgent" if data["major"] else "general", major=data["major"],
        is_order=is_order, alert_at=now, policy_version=CURRENT_POLICY,
        assigned_at=None, due_at=None, paused_at=None, rework_count=0, escalations=0, lon=location["lon"],
        lat=location["lat"], address=location["address"], outside_district=location["outside_district"],
        flagged=None, city=city, department_code=None, referred_to=None, verified_true=None,
        handled_on_spot=data["handled_on_spot"], first_incident=data["incident_id"], version=1,
        created_at=now, updated_at=now, closed_at=None)).one()
    attached = session.execute(_INSERT_FIRST_INCIDENT[session.get_bind().dialect.name],
                               {"incident_id": data["incident_id"], "case_id": case_id, "attached_at": now}).first()
    if attached is None:
        # Already known (a report can arrive again after a replay): the case just inserted goes
        # again, before anything refers to it. Rare; the common case saves a SELECT beforehand.
        session.execute(_DELETE_CASE, {"case_id": case_id})
        return
    written = _written(session)
    written.last_entry[case_id] = (0, chain.GENESIS)  # created just now: no history yet
    written.incidents[case_id] = [data["incident_id"]]
    _record(session, case_id, "create", None, "new", SYSTEM, None,
            details={"incident_id": data["incident_id"], "channel": data["channel"], "grid_hint": data["grid_hint"]}
            | ({"recurs_after_case": ended} if ended else {}))
    _event(session, row, "case.created", SYSTEM, "create")
    if is_order:
        orders.issue(session, data["incident_id"], city)
    if data["major"]:
        # A major sudden event goes to the district at once, besides the normal chain (the plan's rule 5).
        notify.queue(session, "district", f"【重大突发环境事件】{case_id}:{data['description'][:80]}", case_id=case_id)
    target = locate(session, row, data.get("grid_hint"))
    if target is not None:
        row = assign(session, row, *target)
        if data["handled_on_spot"]:
            _settle_on_spot(session, row, data.get("reported_by") or "grid_staff")


def _settle_on_spot(session: Session, row, staff: str) -> None:
    """Stopped on the spot by persuasion: recorded as handled and closed, no escalation (the plan's rule 1)."""
    actor = lifecycle.Actor(staff, frozenset({"grid_staff"}), (row.grid_code,))
    for action in ("accept", "handle"):
        row = _transition(session, row, action, actor, note="现场劝导制止" if action == "handle" else None)
    row = _update(session, row, verified_true=True)
    row = _transition(session, row, "verify", SYSTEM, note="现场处置完毕,自动核查销号")
    _transition(session, row, "close", SYSTEM, note="现场处置完毕,自动核查销号", outcome="stopped_on_spot")


def target_level(channel: str, category: str, category_level: int | None, located_level: int,
                 rules: dict[tuple[str, str], int]) -> int:
    """The level of the first responsible grid (never deeper than where the report was located).

    By the district's assignment rules for the channel and category (or "*"); else the
    category's own first level when the district set it above level 4 (black-smoke
    vehicles: level 2); else the deepest grid holding the position (level 4, or the point).
    """
    level = rules.get((channel, category)) or rules.get((channel, "*"))
    if level is None:
        level = category_level if category_level is not None and category_level < 4 else located_level
    return min(level, located_level)


@functools.lru_cache(maxsize=1)
def _settings():
    # Registry calls are signed with this service's identity secret.
    return load_settings("dispatch")


def locate(session: Session, row, grid_hint: str | None) -> tuple[str, str] | None:
    """(grid code, why) of the first responsible grid, or None when that cannot be known now."""
    if row.outside_district:
        return DISTRICT, "outside the district: the district decides"
    chain_codes = None
    if row.lon is not None:
        try:
            result = get_json(_settings(), service_url("grid-registry", 8001), "/api/v1/registry/locate",
                              {"lon": row.lon, "lat": row.lat}, timeout=3)
        except OSError as exc:
            log.warning("registry unavailable; the case waits to be located",
                        extra={"case_id": row.case_id, "reason": str(exc)[:200]})
            return None
        if not result["inside"]:
            return DISTRICT, "outside the district: the district decides"
        chain_codes = [g["code"] for g in result["chain"]]
    elif grid_hint:
        chain_codes = [g["code"] for g in grid_chain(session, grid_hint)]
        if not chain_codes:
            return None  # the read model does not know the grid yet: try again later
    if not chain_codes:
        return DISTRICT, "no position: the district decides"
    known = reference.snapshot(session)
    level = target_level(row.channel, row.category, known.first_levels.get(row.category), len(chain_codes),
                         known.rules)
    return chain_codes[level - 1], f"level {level} by channel and category"


def assign(session: Session, row, grid_code: str, why: str, action: str = "assign",
           actor: lifecycle.Actor = SYSTEM, note: str | None = None):
    level = LEVEL_BY_CODE_LENGTH[len(grid_code)]
    from_state, new_state = row.state, lifecycle.next_state(row.state, action)
    previous_grid = row.grid_code
    now = utcnow()
    # The deadline first, so that the case changes once: to its new grid with its new deadline.
    rule, due = _deadline(session, row, level, now)
    row = _update(session, row, steps=2, state=new_state, grid_code=grid_code, level=level, assigned_at=now,
                  escalations=row.escalations + (action == "escalate"), paused_at=None,
                  flagged=why if grid_code == DISTRICT and "district decides" in why else row.flagged, due_at=due)
    if from_state != "new":  # a new case has no clock yet: only assign, reopen and refer start one
        _cancel_timers(session, row.case_id)
    _add_timers(session, row.case_id, now, due, rule)
    people = leaders(session, grid_code)
    _record(session, row.case_id, action, from_state, new_state, actor, grid_code, note,
            details={"why": why, "due_at": due.isoformat(), "leaders": people})
    _event(session, row, "case.escalated" if action == "escalate" else "case.assigned", actor, action,
           previous_grid=previous_grid)
    local_due = due.astimezone(sla.SHANGHAI).strftime("%m月%d日%H:%M")
    notify.queue(session, "grid_leaders", f"【{'上报' if action == 'escalate' else '新案件'}】{row.case_id} "
                 f"{row.category}:请于{local_due}前处置。", grid_code=grid_code, case_id=row.case_id, leaders=people)
    return row


# -- actions -------------------------------------------------------------------------
def _transition(session: Session, row, action: str, actor: lifecycle.Actor, note: str | None = None,
                evidence: list | None = None, public_note: str | None = None, outcome: str | None = None,
                **values):
    from_state, new_state = row.state, lifecycle.next_state(row.state, action)
    now = utcnow()
    if action in ("handle",):
        _cancel_timers(session, row.case_id)  # handled: the clock stops
    if new_state in lifecycle.TERMINAL_STATES:
        _cancel_timers(session, row.case_id)
        values["closed_at"] = now
    row = _update(session, row, state=new_state, **values)
    _record(session, row.case_id, action, from_state, new_state, actor, row.grid_code, note,
            evidence, details={k: (v.isoformat() if hasattr(v, "isoformat") else v) for k, v in values.items()
                               if k not in ("closed_at",)})
    on_time = None
    if action in ("handle", "close") and row.due_at is not None:
        on_time = now <= row.due_at
    event = {"accept": "case.accepted", "handle": "case.handled", "verify": "case.verified",
             "reopen": "case.reopened", "close": "case.closed", "reject": "case.rejected",
             "refer": "case.referred", "merge": "case.merged", "grant_extension": "case.extended"}.get(action)
    if event:
        _event(session, row, event, actor, action, on_time=on_time, public_note=public_note, outcome=outcome)
    return row


def act(session: Session, case_id: str, action: str, body: dict, who: Identity) -> dict:
    """An authorised actor moves a case. Illegal moves are 409 with the allowed ones; nothing changes."""
    row = _get(session, case_id)
    actor = _actor(who)
    if action not in lifecycle.ACTIONS or action == "assign":
        raise ApiError(404, f"no action {action}")
    if not lifecycle.may_act(actor, action, row.grid_code):
        raise ApiError(403, f"you may not {action} a case at grid {row.grid_code}")
    if body["version"] != row.version:
        raise ApiError(409, f"the case is at version {row.version}, not {body['version']}; reload it",
                       extra={"current_version": row.version})
    try:
        lifecycle.next_state(row.state, action)
    except lifecycle.IllegalTransition as exc:
        raise ApiError(409, str(exc), code="illegal_transition", extra={"allowed": exc.allowed}) from None
    note, evidence = body.get("note"), body.get("evidence") or []
    if action == "escalate":
        parent = _parent(session, row.grid_code)
        if parent is None:
            raise ApiError(409, "the district has no grid above it: refer the case to the city instead",
                           code="illegal_transition", extra={"allowed": lifecycle.allowed_actions(row.state)})
        row = assign(session, row, parent, body.get("note") or "escalated", action="escalate", actor=actor,
                     note=note)
    elif action == "handle":
        if not evidence and row.channel != "city_platform":
            raise ApiError(422, "handling needs evidence of what was done", fields={"evidence": ["required"]})
        row = _transition(session, row, action, actor, note, evidence)
        if body.get("rectification"):
            ledgers.order(session, row, body["rectification"], actor.subject, evidence)
    elif action == "verify":
        if body.get("verified_true") is None:
            raise ApiError(422, "say whether the report was found true (查证属实)", fields={"verified_true": ["required"]})
        row = _transition(session, row, action, actor, note, evidence, verified_true=body["verified_true"])
    elif action == "reopen":
        row = _transition(session, row, action, actor, note, evidence, rework_count=row.rework_count + 1)
        _start_clock(session, row, utcnow())
    elif action in ("close", "reject"):
        public = body.get("public_note")
        if action == "reject" and not public:
            raise ApiError(422, "a rejection explains itself to the reporter", fields={"public_note": ["required"]})
        row = _transition(session, row, action, actor, note, evidence, public_note=public or "已办结",
                          outcome=body.get("outcome") or ("rectification_ordered" if row.verified_true else None))
        _owe_callback(session, row, public or "已办结", note)
    elif action == "refer":
        target = body.get("referred_to")
        department = body.get("department_code")
        if target == "department":
            known = set(session.execute(select(categories.c.department_code)).scalars())
            if not department or (known and department not in known):
                raise ApiError(422, f"unknown department {department}", fields={"department_code": ["unknown"]})
        row = _transition(session, row, action, actor, note, evidence, referred_to=target,
                          department_code=department if target == "department" else None)
        _start_clock(session, row, utcnow())
    elif action == "request_extension":
        if row.paused_at is not None:
            raise ApiError(409, "an extension request is already waiting")
        row = _update(session, row, paused_at=utcnow())
        _record(session, row.case_id, action, row.state, row.state, actor, row.grid_code, note,
                details={"days": body.get("days")})
    elif action in ("grant_extension", "deny_extension"):
        if row.paused_at is None:
            raise ApiError(409, "no extension request is waiting")
        extra = timedelta(days=body.get("days") or 0) if action == "grant_extension" else timedelta()
        paused = utcnow() - row.paused_at + extra
        _shift_timers(session, row.case_id, paused)
        row = _update(session, row, paused_at=None, due_at=row.due_at + paused if row.due_at else None)
        _record(session, row.case_id, action, row.state, row.state, actor, row.grid_code, note,
                details={"days": body.get("days"), "moved_by_s": paused.total_seconds()})
        if action == "grant_extension":
            _event(session, row, "case.extended", actor, action)
    elif action == "merge":
        into = _get(session, body.get("into") or "")
        if into.case_id == row.case_id or into.state in lifecycle.TERMINAL_STATES:
            raise ApiError(422, "merge into another open case", fields={"into": ["not an open case"]})
        moved = _incidents(session, row.case_id)
        session.execute(update(case_incidents).where(case_incidents.c.case_id == row.case_id)
                        .values(case_id=into.case_id))
        for moved_between in (row.case_id, into.case_id):
            _written(session).incidents.pop(moved_between, None)
        row = _transition(session, row, action, actor, note, evidence)
        _record(session, into.case_id, "absorb", into.state, into.state, actor, into.grid_code, note,
                details={"from_case": row.case_id, "incident_ids": moved})
    else:
        row = _transition(session, row, action, actor, note, evidence)
    return detail(session, row.case_id)


def _shift_timers(session: Session, case_id: str, by: timedelta) -> None:
    pending = session.execute(select(case_timers.c.id, case_timers.c.due_at).where(
        case_timers.c.case_id == case_id, case_timers.c.fired_at.is_(None),
        case_timers.c.cancelled.is_(False))).all()
    for timer_id, due in pending:
        session.execute(update(case_timers).where(case_timers.c.id == timer_id).values(due_at=due + by))


def _parent(session: Session, code: str) -> str | None:
    codes = grid_chain(session, code)
    if len(codes) >= 2:
        return codes[-2]["code"]
    cut = {19: 15, 15: 12, 12: 9, 9: 6}.get(len(code))
    return code[:cut] if cut else None


def _owe_callback(session: Session, row, public_note: str, note: str | None) -> None:
    city = row.city or {}
    if not city.get("callback_url"):
        return
    payload = {"reference": city["reference"], "case_id": row.case_id, "status": row.state,
               "closed_at": row.closed_at.isoformat() if row.closed_at else utcnow().isoformat(),
               "result": public_note, "measures": note}
    session.execute(insert(callbacks).values(case_id=row.case_id, url=city["callback_url"],
                                             payload=json.dumps(payload, ensure_ascii=False), attempts=0,
                                             next_attempt_at=utcnow(), delivered_at=None, log=[]))


# -- reading ------------------------------------------------------------------------------
def history(session: Session, case_id: str) -> list[dict]:
    _ENTRIES.flush(session)  # inside _gathered (not so far): what it holds belongs in the answer
    rows = session.execute(select(case_history).where(case_history.c.case_id == case_id)
                           .order_by(case_history.c.seq)).all()
    return [{k: r._mapping[k] for k in chain.FIELDS + ("previous_hash", "hash")} for r in rows]


def detail(session: Session, case_id: str) -> dict:
    row = _get(session, case_id)
    return {"case_id": row.case_id, "state": row.state, "version": row.version, "grid_code": row.grid_code,
            "level": row.level, "grid_chain": grid_chain(session, row.grid_code) if row.grid_code else [],
            "category": row.category, "channel": row.channel, "severity": row.severity,
            "supervision": row.supervision, "major": row.major, "emergency": row.emergency,
            "incident_ids": _incidents(session, case_id), "first_incident": row.first_incident,
            "due_at": row.due_at.isoformat() if row.due_at else None,
            "extension_waiting": row.paused_at is not None, "rework_count": row.rework_count,
            "escalations": row.escalations, "flagged": row.flagged, "referred_to": row.referred_to,
            "department_code": row.department_code, "verified_true": row.verified_true,
            "location": {"lon": row.lon, "lat": row.lat, "address": row.address},
            "city": row.city, "policy_version": row.policy_version,
            "allowed_actions": [a for a in lifecycle.allowed_actions(row.state) if a != "assign"],
            "history": history(session, case_id)}


def verify_chain(session: Session, case_id: str) -> dict:
    _get(session, case_id)
    intact, broken_at = chain.verify(history(session, case_id))
    return {"case_id": case_id, "intact": intact, "broken_at_seq": broken_at}


def queue(session: Session, params: dict, who: Identity) -> dict:
    now = utcnow()
    query = select(cases).where(cases.c.state.in_(lifecycle.OPEN_STATES))
    if params.get("grid"):
        query = query.where(cases.c.grid_code.startswith(params["grid"], autoescape=True))
    if params.get("state"):
        query = query.where(cases.c.state == params["state"])
    if params.get("overdue"):
        query = query.where(cases.c.due_at < now)
    if params.get("due_within_hours"):
        query = query.where(cases.c.due_at >= now, cases.c.due_at < now + timedelta(hours=params["due_within_hours"]))
    rows = [r for r in session.execute(query.order_by(cases.c.due_at.is_(None), cases.c.due_at)).all()
            if r.grid_code and who.covers(r.grid_code) or who.district_wide]
    rows = rows[: params["limit"]]
    return {"items": [{"case_id": r.case_id, "state": r.state, "grid_code": r.grid_code, "level": r.level,
                       "category": r.category, "due_at": r.due_at.isoformat() if r.due_at else None,
                       "overdue": bool(r.due_at and r.due_at < now), "flagged": r.flagged,
                       "supervision": r.supervision, "version": r.version} for r in rows]}


def counts(session: Session) -> dict:
    by_state = dict(session.execute(select(cases.c.state, func.count()).group_by(cases.c.state)).all())
    by_level = dict(session.execute(select(cases.c.level, func.count()).where(
        cases.c.state.in_(lifecycle.OPEN_STATES)).group_by(cases.c.level)).all())
    by_category = dict(session.execute(select(cases.c.category, func.count()).where(
        cases.c.state.in_(lifecycle.OPEN_STATES)).group_by(cases.c.category)).all())
    overdue = session.execute(select(func.count()).select_from(cases).where(
        cases.c.state.in_(lifecycle.OPEN_STATES), cases.c.due_at < utcnow())).scalar_one()
    return {"by_state": by_state, "open_by_level": {str(k): v for k, v in by_level.items()},
            "open_by_category": by_category, "overdue": overdue}


def supervision_digest(settings, db) -> None:
    """定期督办: once a day (Asia/Shanghai), the supervision office gets the open general cases per grid.

    The day's row in `digests` (its primary key) makes the digest go once, however
    many worker replicas run the timer or restart.
    """
    today = utcnow().astimezone(sla.SHANGHAI).date()
    with db.transaction() as session:
        if session.execute(select(digests.c.day).where(digests.c.day == today)).first() is not None:
            return
        rows = session.execute(select(cases.c.grid_code, func.count()).where(
            cases.c.state.in_(lifecycle.OPEN_STATES), cases.c.supervision == "general",
            cases.c.grid_code.is_not(None)).group_by(cases.c.grid_code).order_by(cases.c.grid_code)).all()
        session.execute(insert(digests).values(day=today, sent_at=utcnow(), grids=len(rows)))
        if rows:
            lines = [f"{code}: {n} 件" for code, n in rows]
            notify.queue(session, "supervision_office", f"【定期督办】{today.isoformat()} 在办案件\n" + "\n".join(lines[:200]))


def seed(session: Session) -> None:
    """The default assignment rules, once (run by `migrate`)."""
    if session.execute(select(func.count()).select_from(assignment_rules)).scalar_one() == 0:
        session.execute(insert(assignment_rules), [{"channel": c, "category": k, "level": lvl}
                                                   for c, k, lvl in DEFAULT_ASSIGNMENT_RULES])


def list_rules(session: Session) -> list[dict]:
    return [{"channel": r.channel, "category": r.category, "level": r.level}
            for r in session.execute(select(assignment_rules).order_by(assignment_rules.c.channel,
                                                                       assignment_rules.c.category)).all()]


def set_rule(session: Session, data: dict) -> dict:
    reference.forget_after_commit(session)  # the reports this process locates next follow the new rule
    key = (assignment_rules.c.channel == data["channel"]) & (assignment_rules.c.category == data["category"])
    if data.get("level") is None:
        session.execute(assignment_rules.delete().where(key))
    elif session.execute(select(assignment_rules.c.level).where(key)).first() is None:
        session.execute(insert(assignment_rules).values(channel=data["channel"], category=data["category"],
                                                        level=data["level"]))
    else:
        session.execute(update(assignment_rules).where(key).values(level=data["level"]))
    return {"items": list_rules(session)}
