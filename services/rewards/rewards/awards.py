"""Use cases of rewards: awards proposed from verified reports and subsidy lists, reviewed,
approved by a second person, paid once, cancelled or clawed back; the budget ledger.

Every money step appends ledger entries in the same transaction as the award's
change; balances are derived from the entries alone. A payment is a row per attempt,
and at most one attempt of an award is neither failed nor returned (a unique index):
however many requests race, money moves once. A transfer the bank reports failed, or
sends back after confirming it (退汇, "returned"), keeps its row, and the award goes
back to approved, to be paid again under a new reference.
"""
from __future__ import annotations

import hashlib
import secrets

from envgrid_contracts.incident import normalise_tracking_code
from envgrid_contracts.reward import PAYOUT_PAID, REWARD_PAYMENT_FAILED, REWARD_PAYMENT_RETURNED
from sqlalchemy import func, insert, or_, select, update
from sqlalchemy.orm import Session

from servicekit.errors import ApiError
from servicekit.identity import Identity
from servicekit.tables import utcnow

from . import domain, ledger
from .models import awards, blacklist, budgets, ledger_entries, payments, reports, tier_tables
from .publishing import OUTBOX

_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
EVENT_OF = {"proposed": "reward.proposed", "approved": "reward.approved", "paid": "reward.paid",
            "cancelled": "reward.cancelled", "clawed_back": "reward.cancelled", "expired": "reward.cancelled"}


# -- reference data -------------------------------------------------------------------------
def seed(session: Session) -> None:
    if session.execute(select(tier_tables.c.version).where(tier_tables.c.version == 1)).first() is None:
        session.execute(insert(tier_tables).values(version=1, table=domain.DEFAULT_TIERS.to_dict(),
                                                   note="默认奖励标准 v1", created_at=utcnow()))


def tiers(session: Session) -> domain.TierTable:
    row = session.execute(select(tier_tables).order_by(tier_tables.c.version.desc()).limit(1)).one()
    return domain.TierTable.from_dict(row.table)


# -- the ledger, as stored --------------------------------------------------------------------
def _load(session: Session, year: int, award_id: str | None = None) -> list[ledger.Entry]:
    accounts = (ledger.budget_account(year), ledger.appropriation_account(year))
    query = select(ledger_entries).where(or_(ledger_entries.c.debit.in_(accounts),
                                             ledger_entries.c.credit.in_(accounts),
                                             ledger_entries.c.award_id == award_id))
    return [_entry(r) for r in session.execute(query.order_by(ledger_entries.c.at, ledger_entries.c.entry_id)).all()]


def _entry(row) -> ledger.Entry:
    return ledger.Entry(entry_id=row.entry_id, award_id=row.award_id, kind=row.kind, debit=row.debit,
                        credit=row.credit, amount_fen=row.amount_fen, at=row.at, payout_kind=row.payout_kind,
                        reference=row.reference, value_date=row.value_date, reason=row.reason)


def _append(session: Session, entries: list[ledger.Entry], by: str) -> None:
    if entries:
        session.execute(insert(ledger_entries), [
            {"entry_id": e.entry_id, "award_id": e.award_id, "kind": e.kind, "debit": e.debit, "credit": e.credit,
             "amount_fen": e.amount_fen, "payout_kind": e.payout_kind, "reference": e.reference,
             "value_date": e.value_date, "reason": e.reason, "at": e.at, "by": by} for e in entries])


def _lock_budget(session: Session, year: int) -> None:
    """Serialise approvals of one year (PostgreSQL row lock; SQLite's write lock does it already)."""
    row = session.execute(select(budgets.c.year).where(budgets.c.year == year).with_for_update()).first()
    if row is None:
        raise ApiError(409, f"no budget for {year}: the office grants one first", code="no_budget")


def grant_budget(session: Session, year: int, ceiling_fen: int, who: Identity) -> dict:
    if session.execute(select(budgets.c.year).where(budgets.c.year == year)).first():
        raise ApiError(409, f"the {year} budget exists; a budget is granted once a year")
    session.execute(insert(budgets).values(year=year, ceiling_fen=ceiling_fen, granted_by=who.subject,
                                           granted_at=utcnow()))
    _append(session, ledger.grant(_load(session, year), year, ceiling_fen, utcnow()), who.subject)
    return budget(session, year)


def budget(session: Session, year: int) -> dict:
    """The year's ceiling, what is left, and every account's balance, derived from the entries alone."""
    of_year = select(awards.c.award_id).where(awards.c.year == year)
    accounts = (ledger.budget_account(year), ledger.appropriation_account(year))
    rows = session.execute(select(ledger_entries).where(or_(
        ledger_entries.c.award_id.in_(of_year), ledger_entries.c.debit.in_(accounts),
        ledger_entries.c.credit.in_(accounts)))).all()
    entries = [_entry(r) for r in rows]
    row = session.execute(select(budgets).where(budgets.c.year == year)).first()
    if row is None:
        raise ApiError(404, f"no budget for {year}")
    return {"year": year, "ceiling_fen": row.ceiling_fen, "available_fen": ledger.available(entries, year),
            "balances": ledger.balances(entries)}


# -- proposing -----------------------------------------------------------------------------
def _new_id(prefix: str) -> str:
    return prefix + "".join(secrets.choice(_ALPHABET) for _ in range(10))


def _event(session: Session, row, state: str, action: str | None = None) -> None:
    if action == "payment_failed":
        event_type = REWARD_PAYMENT_FAILED  # back to approved, but not approved anew
    elif action == "payment_returned":
        event_type = REWARD_PAYMENT_RETURNED
    elif row.kind == "subsidy" and state == "paid":
        event_type = PAYOUT_PAID
    else:
        event_type = EVENT_OF.get(state)
    if event_type:
        OUTBOX.add(session, event_type, {"award_id": row.award_id, "kind": row.kind, "incident_id": row.incident_id,
                                         "amount_fen": row.amount_fen, "state": state, "at": utcnow().isoformat()})


def remember_report(session: Session, envelope, data: dict) -> None:
    if session.execute(select(reports.c.incident_id).where(reports.c.incident_id == data["incident_id"])).first():
        return
    session.execute(insert(reports).values(
        incident_id=data["incident_id"], channel=data["channel"], category=data["category"],
        reporter_named=data["reporter_named"], reporter_key=data.get("reporter_key"),
        tracking_key=data.get("tracking_key"), duplicate_of=data["duplicate_of"], reported_at=data["reported_at"]))


def blacklist_effect() -> str:
    """REWARDS_BLACKLIST_EFFECT: "review" (default: proposed, marked for a closer review) or "refuse"."""
    import os
    effect = os.environ.get("REWARDS_BLACKLIST_EFFECT", "review")
    return effect if effect in domain.BLACKLIST_EFFECTS else "review"


def _paid_this_year(session: Session, reporter_key: str | None, year: int) -> int:
    if not reporter_key:
        return 0
    return int(session.execute(select(func.coalesce(func.sum(awards.c.amount_fen), 0)).where(
        awards.c.payee_ref == reporter_key, awards.c.year == year,
        awards.c.state.in_(("proposed", "reviewed", "approved", "paid")))).scalar_one())


def propose_for_case(session: Session, envelope, data: dict) -> None:
    """case.closed: the first reporter of a case verified true is proposed an award (once)."""
    if not data.get("verified_true") or not data.get("first_incident"):
        return
    incident_id = data["first_incident"]
    report = session.execute(select(reports).where(reports.c.incident_id == incident_id)).first()
    if report is None or session.execute(select(awards.c.award_id).where(awards.c.incident_id == incident_id)).first():
        return  # not a report we know (not public), or already proposed (a replayed event)
    now = utcnow()
    year = ledger.budget_year(now)
    listed = report.reporter_key and session.execute(select(blacklist.c.reporter_key).where(
        blacklist.c.reporter_key == report.reporter_key)).first() is not None
    table = tiers(session)
    result = domain.propose({"category": report.category, "outcome": data.get("outcome") or "rectification_ordered",
                             "verified_true": True, "channel": report.channel, "reporter_named": report.reporter_named,
                             "duplicate_of": report.duplicate_of, "joint_reporters": 1},
                            table, _paid_this_year(session, report.reporter_key, year), bool(listed),
                            blacklist_effect())
    if isinstance(result, domain.Refusal):
        return
    award_id = _new_id("A")
    session.execute(insert(awards).values(
        award_id=award_id, kind="reward", incident_id=incident_id, case_id=data["case_id"], subsidy_key=None,
        payee_ref=report.reporter_key or f"unclaimed:{incident_id}", payee_name=None, year=year,
        amount_fen=result.amount_fen, tier_version=result.tier_version, why=list(result.why), state="proposed",
        claim_deadline=domain.claim_deadline(now) if result.claim_with_identity else None, proposed_at=now,
        note="需复核:举报人在黑名单" if result.needs_review else None, version=1))
    _event(session, session.execute(select(awards).where(awards.c.award_id == award_id)).one(), "proposed")


def propose_subsidies(session: Session, envelope, data: dict) -> None:
    """assessment.subsidies_published: each payee's amount becomes a subsidy payout to approve and pay."""
    now = utcnow()
    for payee in data["payees"]:
        key = f"{data['period']}:{data['grid_code']}:{payee['person_id']}"
        if payee["amount_fen"] <= 0 or session.execute(select(awards.c.award_id).where(
                awards.c.subsidy_key == key)).first():
            continue
        award_id = _new_id("S")
        session.execute(insert(awards).values(
            award_id=award_id, kind="subsidy", incident_id=None, case_id=None, subsidy_key=key,
            payee_ref=payee["person_id"], payee_name=payee["name"], year=ledger.budget_year(now),
            amount_fen=payee["amount_fen"], tier_version=None,
            why=[f"{data['period']} 网格 {data['grid_code']} 考核等次 {data['grade']}"], state="proposed",
            claim_deadline=None, proposed_at=now, version=1))
        _event(session, session.execute(select(awards).where(awards.c.award_id == award_id)).one(), "proposed")


# -- the workflow ---------------------------------------------------------------------------
def _get(session: Session, award_id: str):
    row = session.execute(select(awards).where(awards.c.award_id == award_id)).first()
    if row is None:
        raise ApiError(404, f"no award {award_id}")
    return row


def act(session: Session, award_id: str, action: str, body: dict, who: Identity) -> dict:
    row = _get(session, award_id)
    if body.get("version") is not None and body["version"] != row.version:
        raise ApiError(409, f"the award is at version {row.version}; reload it", extra={"current_version": row.version})
    try:
        new_state = domain.transition(row.state, action, who.subject, reviewer=row.reviewed_by)
    except domain.WorkflowError as exc:
        status = 403 if exc.code in ("same_person",) else 409
        raise ApiError(status, exc.message, code=exc.code) from None
    now = utcnow()
    values = {"state": new_state}
    try:
        entries = _step(session, row, action, body, who, now, values)
    except ledger.LedgerError as exc:
        raise ApiError(409, exc.message, code=exc.code) from None
    _append(session, entries, who.subject)
    result = session.execute(update(awards).where(awards.c.award_id == award_id, awards.c.version == row.version)
                             .values(**values, version=row.version + 1))
    if result.rowcount != 1:
        raise ApiError(409, "the award changed meanwhile; reload it")
    row = _get(session, award_id)
    _event(session, row, new_state, action)
    return view(session, row)


def _step(session: Session, row, action: str, body: dict, who: Identity, now, values: dict) -> list[ledger.Entry]:
    """The action's own changes: its ledger entries (returned) and the award's columns (into `values`)."""
    award_id = row.award_id
    entries: list[ledger.Entry] = []
    if action == "review":
        values.update(reviewed_by=who.subject, reviewed_at=now)
    elif action == "approve":
        if row.claim_deadline is not None and row.payee_ref.startswith("unclaimed:"):
            raise ApiError(409, "the reporter has not claimed this award yet", code="unclaimed")
        _lock_budget(session, row.year)
        try:
            entries = ledger.approve(_load(session, row.year, award_id), award_id, row.year, row.amount_fen, now,
                                     payout_kind=row.kind)
        except ledger.BudgetExceeded as exc:
            raise ApiError(409, f"the {row.year} budget has {exc.available_fen} fen left, "
                                f"{exc.requested_fen} requested", code="budget_exceeded") from None
        values.update(approved_by=who.subject, approved_at=now)
    elif action == "pay":
        channel, reference = body.get("channel"), body.get("reference")
        if not channel or not reference:
            raise ApiError(422, "a payment records its channel and the transfer reference",
                           fields={"reference": ["required"], "channel": ["bank, wechat_pay or alipay"]})
        if session.execute(select(payments.c.award_id).where(payments.c.reference == reference)).first():
            raise ApiError(409, f"the transfer reference {reference} is already recorded: a new attempt has a "
                                f"new reference", code="reference_used")
        entries = ledger.pay(_load(session, row.year, award_id), award_id, now, reference)
        # Attempt n+1: two payers racing number theirs alike, and the key refuses the second.
        attempt = 1 + session.execute(select(func.count()).select_from(payments).where(
            payments.c.award_id == award_id)).scalar_one()
        session.execute(insert(payments).values(
            award_id=award_id, attempt=attempt, idempotency_key=body["idempotency_key"], channel=channel,
            reference=reference, amount_fen=sum(e.amount_fen for e in entries), paid_by=who.subject, paid_at=now,
            reconciled=None))
        values.update(closed_by=who.subject, closed_at=now)
    elif action == "payment_failed":
        # Only from reconcile, which has marked the payment failed: the money goes back to payable.
        entries = ledger.fail_payment(_load(session, row.year, award_id), award_id, now, body["reference"])
        values.update(closed_by=None, closed_at=None)
    elif action == "payment_returned":
        # Only from reconcile, which has marked the confirmed payment returned: back to payable.
        entries = ledger.return_payment(_load(session, row.year, award_id), award_id, now, body["reference"],
                                        value_date=body.get("returned_on"), reason=body.get("reason"))
        values.update(closed_by=None, closed_at=None)
    elif action in ("cancel", "claw_back", "expire"):
        entries = ledger.entries_for(action, _load(session, row.year, award_id), award_id, now)
        values.update(closed_by=who.subject, closed_at=now, note=body.get("reason"))
        if action == "claw_back" and body.get("blacklist") and row.kind == "reward" and \
                not row.payee_ref.startswith("unclaimed:"):
            session.execute(insert(blacklist).values(reporter_key=row.payee_ref, reason=body.get("reason") or "虚假举报",
                                                     added_by=who.subject, added_at=now))
    return entries


def _payment(row) -> dict:
    return {"attempt": row.attempt, "channel": row.channel, "reference": row.reference, "amount_fen": row.amount_fen,
            "paid_by": row.paid_by, "paid_at": row.paid_at.isoformat(), "reconciled": row.reconciled,
            "outcome": row.reconciled or "pending",
            "reconciled_at": row.reconciled_at.isoformat() if row.reconciled_at else None,
            "returned_at": row.returned_at.isoformat() if row.returned_at else None,
            "returned_on": row.returned_on.isoformat() if row.returned_on else None,
            "return_reason": row.return_reason}


def view(session: Session, row) -> dict:
    """The award; `payments` is every attempt to pay it, oldest first, and `payment` the latest.
    An attempt's `outcome` is pending (no bank result yet), confirmed, failed or returned."""
    attempts = [_payment(p) for p in session.execute(select(payments).where(payments.c.award_id == row.award_id)
                                                     .order_by(payments.c.attempt)).all()]
    return {"award_id": row.award_id, "kind": row.kind, "incident_id": row.incident_id, "case_id": row.case_id,
            "state": row.state, "amount_fen": row.amount_fen, "amount_yuan": domain.yuan(row.amount_fen),
            "year": row.year, "tier_version": row.tier_version, "why": row.why, "version": row.version,
            "payee": row.payee_name, "reviewed_by": row.reviewed_by, "approved_by": row.approved_by,
            "claim_deadline": row.claim_deadline.isoformat() if row.claim_deadline else None, "note": row.note,
            "payment": attempts[-1] if attempts else None, "payments": attempts}


def queue(session: Session, which: str) -> list[dict]:
    state = {"to_review": "proposed", "to_approve": "reviewed", "to_pay": "approved"}[which]
    rows = session.execute(select(awards).where(awards.c.state == state).order_by(awards.c.proposed_at)).all()
    return [view(session, r) for r in rows]


def reporter_status(session: Session, tracking_code: str) -> dict:
    """The reporter's view with the code only they hold: whether there is an award, its state, how to claim."""
    key = hashlib.sha256(normalise_tracking_code(tracking_code).encode()).hexdigest()
    report = session.execute(select(reports.c.incident_id).where(reports.c.tracking_key == key)).first()
    if report is None:
        raise ApiError(404, "no report with this tracking code")
    row = session.execute(select(awards).where(awards.c.incident_id == report.incident_id)).first()
    if row is None:
        return {"award": False, "message": "暂无奖励(举报经查证属实并办结后方可获奖)"}
    how = ("请在期限内携带本人身份证件和跟踪码到区生态环境局奖励办公室领取" if row.claim_deadline else
           "奖励办公室将按您登记的联系方式通知领取")
    return {"award": True, "state": row.state, "amount_yuan": domain.yuan(row.amount_fen),
            "claim_deadline": row.claim_deadline.isoformat() if row.claim_deadline else None, "how_to_claim": how}


def expire_unclaimed(settings, db) -> None:
    """A worker timer: unclaimed awards past their claim deadline expire (their budget returns)."""
    system = Identity("system:claims", frozenset({"rewards_office"}))
    with db.transaction() as session:
        due = session.execute(select(awards.c.award_id).where(
            awards.c.claim_deadline < utcnow(), awards.c.state.in_(("proposed", "reviewed", "approved")),
            awards.c.payee_ref.startswith("unclaimed:"))).scalars().all()
    for award_id in due:
        with db.transaction() as session:
            act(session, award_id, "expire", {"reason": "逾期未领取"}, system)


def reconcile(session: Session, lines: list[dict], who: Identity) -> dict:
    """The bank's result file: every reference must be one we paid; all lines apply or none.

    "failed" means the money never left: the payment keeps its row, marked failed, and its
    award goes back from paid to approved (payable again in the ledger), to be paid again
    under a new reference. "returned" (退汇) is a transfer the bank confirmed and then sent
    back (a wrong account, a closed card), with the day it came back (`returned_on`) and
    the bank's `reason` when the file gives them: the same way back to approved, the row
    marked returned (its confirmation kept). A line that says what is already recorded
    changes nothing, so importing a file twice is harmless; so does a "confirmed" line for
    a payment since returned (an old file imported again). A return is recorded once: a
    returned line giving another date or reason than the one recorded is refused.
    Otherwise a bank result is final: a failed payment is not confirmed nor returned, a
    confirmed one does not fail (it is returned), a pending one is not returned (it
    failed); each such line is refused (422), and then nothing of the file is recorded."""
    problems, changes, seen = [], [], {}
    now = utcnow()
    for number, line in enumerate(lines, start=2):
        problem = _reconcile_line(session, line, number, seen, changes, who, now)
        if problem:
            problems.append({"line": number, "problem": problem})
    if problems:
        raise ApiError(422, f"{len(problems)} problem(s); nothing reconciled", fields={"lines": problems})
    for payment, line in changes:
        status = line["status"]
        where = update(payments).where(payments.c.award_id == payment.award_id, payments.c.attempt == payment.attempt)
        if status == "returned":
            session.execute(where.values(reconciled=status, returned_by=who.subject, returned_at=now,
                                         returned_on=line.get("returned_on"), return_reason=line.get("reason")))
            act(session, payment.award_id, "payment_returned",
                {"reference": payment.reference, "returned_on": line.get("returned_on"),
                 "reason": line.get("reason")}, who)
            continue
        session.execute(where.values(reconciled=status, reconciled_by=who.subject, reconciled_at=now))
        if status == "failed":
            act(session, payment.award_id, "payment_failed", {"reference": payment.reference}, who)
    return {"reconciled": len(lines), "changed": len(changes),
            "failed": sum(1 for _, line in changes if line["status"] == "failed"),
            "returned": sum(1 for _, line in changes if line["status"] == "returned")}


RECONCILED = ("confirmed", "failed", "returned")


def _reconcile_line(session: Session, line: dict, number: int, seen: dict, changes: list, who: Identity,
                    now) -> str | None:
    """What is wrong with one line (None if nothing); a line that changes something joins `changes`."""
    reference, status = line.get("reference"), line.get("status")
    if status not in RECONCILED:
        return f"status must be confirmed, failed or returned, not {status!r}"
    if status != "returned" and (line.get("returned_on") is not None or line.get("reason") is not None):
        return "returned_on and reason belong to a returned line"
    if reference in seen:
        earlier, at = seen[reference]
        return None if earlier == status else f"{reference} is {earlier} on line {at} and {status} here"
    seen[reference] = (status, number)
    # Locked: two imports of the same file take turns, and the second finds it all recorded.
    payment = session.execute(select(payments).where(payments.c.reference == reference).with_for_update()).first()
    if payment is None:
        return f"unknown reference {reference!r}"
    if status == "returned" and payment.reconciled == "returned":
        told = {"returned_on": line.get("returned_on"), "reason": line.get("reason")}
        recorded = {"returned_on": payment.returned_on, "reason": payment.return_reason}
        if any(value is not None and value != recorded[key] for key, value in told.items()):
            return (f"{reference} was recorded returned (on {recorded['returned_on'] or 'an unstated day'}, "
                    f"reason {recorded['reason'] or 'not given'}) and this line says otherwise: a return is "
                    f"recorded once; check with the bank")
        return None  # recorded already: nothing to do
    if payment.reconciled == status or (payment.reconciled, status) == ("returned", "confirmed"):
        return None  # recorded already (a returned payment was confirmed first): nothing to do
    if status == "returned" and payment.reconciled != "confirmed":
        if payment.reconciled is None:
            return (f"{reference} is not confirmed yet: a transfer that never went through is failed, "
                    f"not returned")
        return f"{reference} was reconciled {payment.reconciled} earlier: only a confirmed transfer is returned"
    if payment.reconciled is not None and status != "returned":
        hint = ": a confirmed transfer the bank sends back is returned" if (
            payment.reconciled, status) == ("confirmed", "failed") else ""
        return (f"{reference} was reconciled {payment.reconciled} earlier and a bank result is final{hint}; "
                f"check with the bank before anything is paid or confirmed")
    if status in ("failed", "returned"):
        row = _get(session, payment.award_id)
        details = {"reference": reference}
        if status == "returned":
            problem = domain.check_return(payment.paid_at, line.get("returned_on"), line.get("reason"), now)
            if problem:
                return f"{reference}: {problem}"
            details.update(value_date=line.get("returned_on"), reason=line.get("reason"))
        try:   # the ledger and the workflow would take the step: else the line says why not
            ledger.entries_for(f"payment_{status}", _load(session, row.year, row.award_id), row.award_id, now,
                               **details)
            domain.transition(row.state, f"payment_{status}", who.subject)
        except (ledger.LedgerError, domain.WorkflowError) as exc:
            return f"{reference}: {exc.message}"
    changes.append((payment, line))
    return None


def payable_rows(session: Session):
    for row in session.execute(select(awards).where(awards.c.state == "approved").order_by(awards.c.approved_at)).all():
        yield [row.award_id, {"reward": "举报奖励", "subsidy": "网格员补贴"}[row.kind], row.payee_name or "(见举报人身份)",
               domain.yuan(row.amount_fen), row.amount_fen, row.approved_by, row.approved_at]


PAYABLE_HEADERS = ["奖励编号", "类别", "收款人", "金额(元)", "金额(分)", "批准人", "批准时间"]



def reporter_identity(session: Session, award_id: str, purpose: str, who: Identity, settings) -> dict:
    """The reporter of an award, read from incidents on behalf of the office member (both sides log it)."""
    from servicekit.internal import PeerError, get_json, service_url

    from .models import access_log
    row = _get(session, award_id)
    if row.kind != "reward":
        raise ApiError(422, "subsidy payouts are to staff named on the list", fields={"award_id": ["not a reward"]})
    session.execute(insert(access_log).values(award_id=award_id, viewer=who.subject, purpose=purpose, at=utcnow()))
    try:
        person = get_json(settings, service_url("incidents", 8002),
                          f"/api/v1/incidents/reports/{row.incident_id}/reporter", {"purpose": purpose},
                          as_identity=who)
    except PeerError as exc:
        raise ApiError(502, f"incidents refused: {exc.status}", code="bad_gateway") from None
    except OSError:
        raise ApiError(503, "incidents is unavailable; try again shortly", code="upstream_unavailable") from None
    return {"award_id": award_id, "name": person.get("name"), "phone": person.get("phone")}


def claim(session: Session, award_id: str, data: dict, who: Identity, settings) -> dict:
    """An anonymous reporter claims in person within the window: identity recorded by incidents,
    the award keeps only the pseudonym; the yearly cap is checked now that the reporter is known."""
    from servicekit.internal import PeerError, post_json, service_url
    row = _get(session, award_id)
    if row.kind != "reward" or not row.payee_ref.startswith("unclaimed:"):
        raise ApiError(409, "this award is not waiting for a claim")
    if row.claim_deadline is not None and domain.expired(row.claim_deadline, utcnow()):
        raise ApiError(409, "the claim window has closed", code="claim_expired")
    try:
        answer = post_json(settings, service_url("incidents", 8002),
                           f"/api/v1/incidents/reports/{row.incident_id}/reporter", data, as_identity=who)
    except PeerError as exc:
        raise ApiError(exc.status if exc.status in (403, 409, 422) else 502,
                       f"incidents refused the claim ({exc.status})") from None
    except OSError:
        raise ApiError(503, "incidents is unavailable; try again shortly", code="upstream_unavailable") from None
    key = answer["reporter_key"]
    table = tiers(session)
    room = table.cap_per_reporter_year_fen - _paid_this_year(session, key, row.year)
    if room <= 0:
        raise ApiError(409, "this reporter's yearly cap is reached", code="yearly_cap")
    amount = min(row.amount_fen, room)
    why = list(row.why) + ([f"认领时按年度上限调整为 {domain.yuan(amount)} 元"] if amount < row.amount_fen else [])
    session.execute(update(awards).where(awards.c.award_id == award_id, awards.c.version == row.version).values(
        payee_ref=key, amount_fen=amount, why=why, note="已认领", version=row.version + 1))
    return view(session, _get(session, award_id))
