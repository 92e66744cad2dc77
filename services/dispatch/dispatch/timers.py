"""The worker's periodic jobs: SLA timers, cases waiting to be located, city callbacks, reference data.

Each due SLA timer is claimed and acted on in one transaction (PostgreSQL: FOR
UPDATE SKIP LOCKED, so replicas split the work; SQLite: the write lock), and
marked fired in that same transaction: a timer process killed mid-sweep rolls
back whatever it had not committed, and the next sweep does exactly that again,
so each timer fires once.
"""
from __future__ import annotations

import hashlib
import hmac
import json
import logging
import os
import urllib.request
from datetime import timedelta

from sqlalchemy import delete, insert, select, update

from servicekit.internal import get_json, service_url
from servicekit.tables import utcnow

from . import cases as case_cases
from . import lifecycle, reference
from .models import callbacks, case_timers, cases, categories

log = logging.getLogger(__name__)

SWEEP_BATCH = 200
CALLBACK_BACKOFF_CAP = timedelta(hours=1)


def sweep_sla(settings, db, limit: int = SWEEP_BATCH) -> int:
    """Fire every due SLA timer once. Returns how many fired."""
    fired = 0
    while True:
        with db.transaction() as session:
            query = (select(case_timers).where(case_timers.c.fired_at.is_(None), case_timers.c.cancelled.is_(False),
                                               case_timers.c.due_at <= utcnow())
                     .order_by(case_timers.c.due_at).limit(limit))
            if db.is_postgres:
                query = query.with_for_update(skip_locked=True)
            due = session.execute(query).all()
            for timer in due:
                session.execute(update(case_timers).where(case_timers.c.id == timer.id).values(fired_at=utcnow()))
                _fire(session, timer)
            fired += len(due)
        if len(due) < limit:
            return fired


def _fire(session, timer) -> None:
    row = session.execute(select(cases).where(cases.c.case_id == timer.case_id)).one()
    if row.state in lifecycle.TERMINAL_STATES or row.paused_at is not None:
        return
    rule = case_cases.POLICIES[row.policy_version].rule_for(row.level, row.category, row.supervision, row.emergency)
    if timer.kind != "breach":
        case_cases._event(session, row, "case.sla_warning", case_cases.SYSTEM, "sla_warning", timer=timer.kind)
        return
    case_cases._event(session, row, "case.sla_breached", case_cases.SYSTEM, "sla_breach", timer="breach",
                      breach_action=rule.breach)
    parent = case_cases._parent(session, row.grid_code) if row.grid_code else None
    if rule.breach == "escalate" and parent is not None and row.state in ("assigned", "accepted"):
        case_cases.assign(session, row, parent, f"SLA breached at level {row.level}", action="escalate",
                          actor=lifecycle.Actor("system:sla", frozenset({"district_ops"}), ()),
                          note="超时未处置,自动上报上级网格")
    else:
        row = case_cases._update(session, row, flagged=f"SLA breached at level {row.level}")
        case_cases._record(session, row.case_id, "flag", row.state, row.state, case_cases.SYSTEM, row.grid_code,
                           note="超时,提请督办")


def retry_locating(settings, db) -> None:
    """Cases opened while the registry was away: locate and assign them now."""
    with db.transaction() as session:
        waiting = session.execute(select(cases.c.case_id).where(cases.c.state == "new").limit(500)).scalars().all()
    for case_id in waiting:
        with db.transaction() as session:
            row = case_cases._get(session, case_id)
            if row.state != "new":
                continue
            hint = session.execute(select(case_cases.case_history.c.details).where(
                case_cases.case_history.c.case_id == case_id, case_cases.case_history.c.seq == 1)).scalar_one()
            target = case_cases.locate(session, row, hint.get("grid_hint"))
            if target is None:
                return  # still unreachable: the next run tries again
            case_cases.assign(session, row, *target)


def refresh_categories(settings, db) -> None:
    """The category → first level / department map, copied from the registry."""
    try:
        items = get_json(settings, service_url("grid-registry", 8001), "/api/v1/registry/categories",
                         {"all": "1"}, timeout=10)["items"]
    except OSError as exc:
        log.warning("registry unreachable; categories not refreshed", extra={"reason": str(exc)[:200]})
        return
    with db.transaction() as session:
        reference.forget_after_commit(session)  # this process locates the next report by the new copy
        session.execute(delete(categories))
        session.execute(insert(categories), [
            {"code": c["code"], "name": c["name"], "first_level": c["first_level"],
             "department_code": c["department_code"], "active": c["active"]} for c in items])


def sign_callback(payload: bytes, secret: str) -> str:
    return "sha256=" + hmac.new(secret.encode(), payload, hashlib.sha256).hexdigest()


def deliver_callbacks(settings, db) -> None:
    """Send owed closure reports to the city, signed; retry with backoff until one is acknowledged (2xx)."""
    secret = os.environ.get("CITY_CALLBACK_SECRET", settings.identity_secret)
    with db.transaction() as session:
        owed = session.execute(select(callbacks.c.id).where(callbacks.c.delivered_at.is_(None),
                                                            callbacks.c.next_attempt_at <= utcnow())).scalars().all()
    for callback_id in owed:
        with db.transaction() as session:
            query = select(callbacks).where(callbacks.c.id == callback_id, callbacks.c.delivered_at.is_(None))
            if db.is_postgres:
                query = query.with_for_update(skip_locked=True)
            row = session.execute(query).first()
            if row is None:
                continue  # another replica has it
            body = row.payload.encode("utf-8")
            request = urllib.request.Request(row.url, data=body, method="POST", headers={
                "Content-Type": "application/json; charset=utf-8", "X-EnvGrid-Signature": sign_callback(body, secret),
                "X-EnvGrid-Delivery": f"{row.case_id}"})
            status, error = None, None
            try:
                with urllib.request.urlopen(request, timeout=10) as response:
                    status = response.status
            except urllib.error.HTTPError as exc:
                status, error = exc.code, str(exc)[:200]
            except OSError as exc:
                error = str(exc)[:200]
            now = utcnow()
            attempt = {"at": now.isoformat(), "status": status, "error": error}
            values = {"attempts": row.attempts + 1, "log": [*row.log, attempt]}
            if status is not None and 200 <= status < 300:
                values["delivered_at"] = now
            else:
                values["next_attempt_at"] = now + min(timedelta(seconds=2 ** min(row.attempts, 12)),
                                                      CALLBACK_BACKOFF_CAP)
            session.execute(update(callbacks).where(callbacks.c.id == row.id).values(**values))
