"""The rewards ledger: append-only, double-entry, in integer fen. Plain data, no I/O.

Every entry moves `amount_fen` (> 0) from its credit account to its debit account;
an account's balance is its debits minus its credits, derived from the entries
alone. Entries are never edited or deleted: a reversal is a new entry. The
functions here take the history (the entries so far) and return the new entries
to append; they never change the history.

Chart of accounts
    appropriation:<year>  where the year's budget comes from; credited when the
                          budget is granted, so its balance is minus the ceiling
    budget:<year>         the year's budget not yet committed; never negative
    payable               approved awards and payouts not yet paid (owed)
    paid                  transferred to the reporter or payee
    clawback              paid on a report later found false: owed back by the
                          reporter (a receivable)
    written_off           clawback given up as unrecoverable: spent for good

Entry kinds (debit ← credit)
    budget_granted        budget:<year>   ← appropriation:<year>
    award_approved        payable         ← budget:<year>      (check_budget first)
    award_paid            paid            ← payable            (with the transfer reference)
    award_payment_failed  payable         ← paid               (that transfer failed: its reference
                                                                and what was paid under it)
    award_payment_returned payable        ← paid               (a confirmed transfer the bank sent
                                                                back, 退汇: its reference, what was
                                                                paid under it, the bank's return date
                                                                and reason when the file gives them)
    award_cancelled       budget:<year>   ← payable            (what is still unpaid)
    award_expired         budget:<year>   ← payable            (unclaimed in the window)
    award_clawed_back     clawback        ← paid               (the payment reversed)
    clawback_recovered    budget:<year>   ← clawback
    clawback_written_off  written_off     ← clawback

<year> in an award's entries is always the budget year it was approved from.

Decisions
- Cancelling or expiring returns the unpaid commitment to its budget year: the
  money never left. A claw-back does not refund the budget: the money is with the
  reporter until recovered. What is recovered returns to the budget year the award
  was approved from; what cannot be recovered is written off.
- An award can be paid in parts (one transfer per joint reporter's share). Cancel
  and expire return only what is still payable; shares already paid stay paid
  (claw them back if the report was false). `claw_back` reverses everything paid
  and returns anything still payable.
- A failed transfer (the bank's reconciliation file says "failed") means the money
  never left: what was paid under that reference goes back from paid to payable,
  with the failed reference, and the award is paid again under a new reference. The
  award_paid entry stays: the history shows the attempt and its failure. A reference
  fails once, and a failed reference is never paid again. Of joint reporters paid
  share by share, only the failed share's amount returns.
- A returned transfer (退汇: the bank confirmed it, then sent it back days later: a
  wrong account, a closed card) is booked like a failure, as its own kind so the books
  tell them apart: what was paid under that reference goes back from paid to payable,
  with the reference, the bank's return date (`value_date`) and reason. A reference is
  sent back once, failed or returned, and never paid again. Whether the bank had
  confirmed it is the payment's record, not the ledger's (rewards.awards checks it).
- A payment of an award already clawed back cannot fail nor be returned (refused): the claw-back
  moved everything paid into clawback, owed by the reporter, and paid → payable would
  leave that receivable standing. The office records the money that never reached
  the reporter as recovered (`recover`, with the failed reference): it returns to the
  budget year, where money that never left belongs once the award is void.
- Subsidy payouts (assessment's payable lists) use the same entries and the same
  yearly budget, told apart by `payout_kind` ("reward" | "subsidy").
- Entry ids are deterministic: "<award_id>:<kind>:<n>" (n counts that award's
  entries of that kind) and "budget:<year>:granted:<n>". Two writers appending
  the same step compute the same id, so a unique key on entry_id turns a race into
  a conflict instead of a double payment. check_budget is only as good as the
  isolation around it: read the entries and append under a lock on the year's
  budget (or SERIALIZABLE).
"""
from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime
from typing import Iterable, Sequence
from zoneinfo import ZoneInfo

SHANGHAI = ZoneInfo("Asia/Shanghai")

PAYABLE, PAID, CLAWBACK, WRITTEN_OFF = "payable", "paid", "clawback", "written_off"
# Each kind's (debit, credit), "budget" standing for budget:<year> (and "appropriation" likewise).
SHAPES = {
    "budget_granted": ("budget", "appropriation"),
    "award_approved": (PAYABLE, "budget"),
    "award_paid": (PAID, PAYABLE),
    "award_payment_failed": (PAYABLE, PAID),
    "award_payment_returned": (PAYABLE, PAID),
    "award_cancelled": ("budget", PAYABLE),
    "award_expired": ("budget", PAYABLE),
    "award_clawed_back": (CLAWBACK, PAID),
    "clawback_recovered": ("budget", CLAWBACK),
    "clawback_written_off": (WRITTEN_OFF, CLAWBACK),
}
KINDS = tuple(SHAPES)
SENT_BACK = ("award_payment_failed", "award_payment_returned")   # paid → payable, by reference
PAYOUT_KINDS = ("reward", "subsidy")
_ACCOUNT = re.compile(r"^(?:(?:budget|appropriation):\d{4}|payable|paid|clawback|written_off)$")


def budget_account(year: int) -> str:
    return f"budget:{year}"


def appropriation_account(year: int) -> str:
    return f"appropriation:{year}"


def budget_year(at: datetime) -> int:
    """The budget year of a moment: the calendar year in Asia/Shanghai."""
    if at.tzinfo is None:
        raise ValueError("at must be an aware datetime")
    return at.astimezone(SHANGHAI).year


class LedgerError(Exception):
    """codes: "already_approved", "not_approved", "nothing_payable", "not_paid",
    "nothing_to_recover", "too_much" (more than is there), "no_reference", "budget_exceeded",
    "unknown_payment" (the award was never paid under that reference), "already_failed" (that
    reference failed before: a failure is recorded once, and a failed reference is not paid
    again), "already_returned" (likewise for a reference the bank sent back), "clawed_back"
    (a payment of an award already clawed back cannot fail nor be returned)."""

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code
        self.message = message


class BudgetExceeded(LedgerError):
    def __init__(self, year: int, available_fen: int, requested_fen: int):
        super().__init__("budget_exceeded", f"the {year} budget has {available_fen} fen left, "
                                            f"{requested_fen} fen requested")
        self.year = year
        self.available_fen = available_fen
        self.requested_fen = requested_fen


@dataclass(frozen=True)
class Entry:
    entry_id: str
    award_id: str | None            # None for a budget grant; a subsidy payout's id for a subsidy
    kind: str
    debit: str
    credit: str
    amount_fen: int
    at: datetime
    payout_kind: str = "reward"
    reference: str | None = None    # the transfer reference (bank, WeChat Pay, Alipay), a grant's document
    value_date: date | None = None  # a returned transfer: the day the bank sent it back, if it says
    reason: str | None = None       # a returned transfer: the bank's reason, if it gives one

    def __post_init__(self):
        if self.kind not in KINDS:
            raise ValueError(f"unknown entry kind {self.kind!r}")
        if type(self.amount_fen) is not int or self.amount_fen <= 0:
            raise ValueError(f"an entry's amount is a positive integer of fen, not {self.amount_fen!r}")
        for account in (self.debit, self.credit):
            if not isinstance(account, str) or not _ACCOUNT.match(account):
                raise ValueError(f"unknown account {account!r}")
        if (self.debit.split(":")[0], self.credit.split(":")[0]) != SHAPES[self.kind]:
            raise ValueError(f"{self.kind} moves money {' ← '.join(SHAPES[self.kind])}, "
                             f"not {self.debit} ← {self.credit}")
        if self.kind == "budget_granted" and self.debit.split(":")[1] != self.credit.split(":")[1]:
            raise ValueError("a year's budget comes from that year's appropriation")
        if self.at.tzinfo is None:
            raise ValueError("an entry's time must be an aware datetime")
        if self.payout_kind not in PAYOUT_KINDS:
            raise ValueError(f"payout kind must be one of {', '.join(PAYOUT_KINDS)}")
        if (self.kind == "budget_granted") != (self.award_id is None):
            raise ValueError("a budget grant has no award; every other entry has one")
        if (self.value_date is not None or self.reason is not None) and self.kind != "award_payment_returned":
            raise ValueError("only a returned payment carries the bank's return date and reason")
        if self.value_date is not None and (not isinstance(self.value_date, date)
                                            or isinstance(self.value_date, datetime)):
            raise ValueError(f"a return date is a date, not {self.value_date!r}")


# ---------------------------------------------------------------------------------------------
# What the entries say


def balances(entries: Iterable[Entry]) -> dict[str, int]:
    """Every account touched, with its balance (debits − credits), from the entries alone."""
    result: dict[str, int] = defaultdict(int)
    for entry in entries:
        result[entry.debit] += entry.amount_fen
        result[entry.credit] -= entry.amount_fen
    return dict(result)


def granted(entries: Iterable[Entry], year: int) -> int:
    """The year's ceiling: every budget granted for it."""
    return -balances(entries).get(appropriation_account(year), 0)


def available(entries: Iterable[Entry], year: int) -> int:
    """What the year's budget can still commit: granted − committed (approved, less what
    came back from cancellations, expiries and recoveries)."""
    return balances(entries).get(budget_account(year), 0)


def check_budget(entries: Sequence[Entry], year: int, amount_fen: int) -> None:
    """Raises BudgetExceeded if committing `amount_fen` would overdraw the year's budget."""
    if type(amount_fen) is not int or amount_fen <= 0:
        raise ValueError(f"an amount is a positive integer of fen, not {amount_fen!r}")
    left = available(entries, year)
    if amount_fen > left:
        raise BudgetExceeded(year, left, amount_fen)


@dataclass(frozen=True)
class Position:
    """Where one award's money is, derived from its entries."""
    year: int | None                # the budget year it was approved from; None if never approved
    approved_fen: int
    payable_fen: int
    paid_fen: int
    returned_fen: int               # back in the budget: cancelled, expired or recovered
    clawback_fen: int               # paid out, reversed, not yet recovered or written off
    written_off_fen: int


def position(entries: Iterable[Entry], award_id: str) -> Position:
    mine = [e for e in entries if e.award_id == award_id]
    approved = [e for e in mine if e.kind == "award_approved"]
    if not approved:
        return Position(None, 0, 0, 0, 0, 0, 0)
    year = int(approved[0].credit.split(":")[1])
    own = balances(mine)
    amount = sum(e.amount_fen for e in approved)
    return Position(year=year, approved_fen=amount, payable_fen=own.get(PAYABLE, 0), paid_fen=own.get(PAID, 0),
                    returned_fen=amount + own.get(budget_account(year), 0),
                    clawback_fen=own.get(CLAWBACK, 0), written_off_fen=own.get(WRITTEN_OFF, 0))


# ---------------------------------------------------------------------------------------------
# The entries of each step


def grant(entries: Sequence[Entry], year: int, amount_fen: int, at: datetime,
          reference: str | None = None) -> list[Entry]:
    """The year's budget granted (or raised): the ceiling grows by `amount_fen`."""
    n = sum(1 for e in entries if e.kind == "budget_granted" and e.debit == budget_account(year)) + 1
    return [Entry(f"budget:{year}:granted:{n}", None, "budget_granted", budget_account(year),
                  appropriation_account(year), amount_fen, at, reference=reference)]


def approve(entries: Sequence[Entry], award_id: str, year: int, amount_fen: int, at: datetime,
            payout_kind: str = "reward") -> list[Entry]:
    """Commit the award's amount from the year's budget. Raises BudgetExceeded rather
    than overdraw; LedgerError "already_approved" for a second approval."""
    if any(e.award_id == award_id for e in entries):
        raise LedgerError("already_approved", f"{award_id} already has ledger entries")
    check_budget(entries, year, amount_fen)
    return [Entry(f"{award_id}:award_approved:1", award_id, "award_approved", PAYABLE, budget_account(year),
                  amount_fen, at, payout_kind)]


def pay(entries: Sequence[Entry], award_id: str, at: datetime, reference: str,
        amount_fen: int | None = None) -> list[Entry]:
    """Record a transfer: all that is still payable, or `amount_fen` of it (one share)."""
    if not reference or not reference.strip():
        raise LedgerError("no_reference", "a payment needs the transfer reference")
    where = _approved(entries, award_id)
    sent_back = _sent_back(entries, award_id, reference)
    if sent_back:
        how = "failed" if sent_back == "award_payment_failed" else "was returned"
        raise LedgerError(_ALREADY[sent_back], f"{reference} {how} before: pay again under a new reference")
    amount = where.payable_fen if amount_fen is None else amount_fen
    if where.payable_fen == 0:
        raise LedgerError("nothing_payable", f"nothing of {award_id} is payable")
    if amount > where.payable_fen:
        raise LedgerError("too_much", f"{amount} fen to pay, {where.payable_fen} fen payable")
    return [_entry(entries, award_id, "award_paid", PAID, PAYABLE, amount, at, reference)]


def fail_payment(entries: Sequence[Entry], award_id: str, at: datetime, reference: str) -> list[Entry]:
    """The bank reports the transfer `reference` failed: what the award was paid under that
    reference (one share, or all of it) goes back from paid to payable, to be paid again
    under a new reference."""
    return _send_back(entries, award_id, at, reference, "award_payment_failed")


def return_payment(entries: Sequence[Entry], award_id: str, at: datetime, reference: str,
                   value_date: date | None = None, reason: str | None = None) -> list[Entry]:
    """The bank sends back the transfer `reference` it had confirmed (退汇), on `value_date`
    for `reason` when its file says: what the award was paid under that reference (of a
    joint award, that share only) goes back from paid to payable, to be paid again under a
    new reference."""
    return _send_back(entries, award_id, at, reference, "award_payment_returned", value_date, reason)


def _send_back(entries: Sequence[Entry], award_id: str, at: datetime, reference: str, kind: str,
               value_date: date | None = None, reason: str | None = None) -> list[Entry]:
    what = "a failed" if kind == "award_payment_failed" else "a returned"
    if not reference or not reference.strip():
        raise LedgerError("no_reference", f"{what} payment is known by its transfer reference")
    where = _approved(entries, award_id)
    paid = sum(e.amount_fen for e in entries
               if e.award_id == award_id and e.kind == "award_paid" and e.reference == reference)
    if paid == 0:
        raise LedgerError("unknown_payment", f"{award_id} was never paid under {reference}")
    sent_back = _sent_back(entries, award_id, reference)
    if sent_back:
        how = "failed" if sent_back == "award_payment_failed" else "returned"
        raise LedgerError(_ALREADY[sent_back], f"{reference} was already recorded as {how}")
    if any(e.award_id == award_id and e.kind == "award_clawed_back" for e in entries):
        raise LedgerError("clawed_back", f"{award_id} was clawed back: record the money that never reached "
                                         f"the reporter as recovered instead")
    if paid > where.paid_fen:  # only a claw-back takes money out of paid, and that is refused above
        raise LedgerError("too_much", f"{paid} fen to return, {where.paid_fen} fen paid")
    entry = _entry(entries, award_id, kind, PAYABLE, PAID, paid, at, reference)
    if value_date is not None or reason is not None:
        entry = Entry(entry.entry_id, entry.award_id, entry.kind, entry.debit, entry.credit, entry.amount_fen,
                      entry.at, entry.payout_kind, entry.reference, value_date=value_date, reason=reason)
    return [entry]


def cancel(entries: Sequence[Entry], award_id: str, at: datetime) -> list[Entry]:
    """Return what is still payable to the budget year. Nothing before approval."""
    return _release(entries, award_id, at, "award_cancelled")


def expire(entries: Sequence[Entry], award_id: str, at: datetime) -> list[Entry]:
    """Unclaimed in the claim window: return what is still payable to the budget year."""
    return _release(entries, award_id, at, "award_expired")


def claw_back(entries: Sequence[Entry], award_id: str, at: datetime) -> list[Entry]:
    """A false report found after payment: reverse everything paid into clawback (owed
    by the reporter) and return anything still payable to the budget year."""
    where = _approved(entries, award_id)
    if where.paid_fen == 0:
        raise LedgerError("not_paid", f"nothing of {award_id} was paid: cancel it instead")
    result = [_entry(entries, award_id, "award_clawed_back", CLAWBACK, PAID, where.paid_fen, at)]
    if where.payable_fen:
        result.append(_entry(entries, award_id, "award_cancelled", budget_account(where.year), PAYABLE,
                             where.payable_fen, at))
    return result


def recover(entries: Sequence[Entry], award_id: str, at: datetime, amount_fen: int | None = None,
            reference: str | None = None) -> list[Entry]:
    """Money recovered from the reporter (all that is owed, or `amount_fen` of it): back
    into the budget year the award was approved from."""
    where = _approved(entries, award_id)
    amount = _from_clawback(where, award_id, amount_fen)
    return [_entry(entries, award_id, "clawback_recovered", budget_account(where.year), CLAWBACK, amount, at,
                   reference)]


def write_off(entries: Sequence[Entry], award_id: str, at: datetime, amount_fen: int | None = None) -> list[Entry]:
    """Clawback given up as unrecoverable (all that is owed, or `amount_fen` of it)."""
    where = _approved(entries, award_id)
    amount = _from_clawback(where, award_id, amount_fen)
    return [_entry(entries, award_id, "clawback_written_off", WRITTEN_OFF, CLAWBACK, amount, at)]


_STEPS = {"approve": approve, "pay": pay, "payment_failed": fail_payment, "payment_returned": return_payment,
          "cancel": cancel, "expire": expire, "claw_back": claw_back, "recover": recover, "write_off": write_off}


def entries_for(action: str, entries: Sequence[Entry], award_id: str, at: datetime, **details) -> list[Entry]:
    """The entries of a workflow action (domain.transition's names, plus recover and
    write_off): `details` are the step's own arguments (approve: year, amount_fen,
    payout_kind; pay: reference, amount_fen; payment_failed: reference; payment_returned:
    reference, value_date, reason; recover:
    amount_fen, reference; write_off: amount_fen). "review" moves no money: []."""
    if action == "review":
        return []
    if action not in _STEPS:
        raise ValueError(f"no ledger step for {action!r}")
    return _STEPS[action](entries, award_id, at=at, **details)


def _approved(entries: Sequence[Entry], award_id: str) -> Position:
    where = position(entries, award_id)
    if where.year is None:
        raise LedgerError("not_approved", f"{award_id} was never approved")
    return where


_ALREADY = {"award_payment_failed": "already_failed", "award_payment_returned": "already_returned"}


def _sent_back(entries: Sequence[Entry], award_id: str, reference: str) -> str | None:
    """The kind of entry that sent `reference` back to payable (failed or returned), if one did."""
    return next((e.kind for e in entries
                 if e.award_id == award_id and e.kind in SENT_BACK and e.reference == reference), None)


def _release(entries: Sequence[Entry], award_id: str, at: datetime, kind: str) -> list[Entry]:
    where = position(entries, award_id)
    if where.year is None or where.payable_fen == 0:
        return []   # nothing committed (not yet approved), or nothing left to return
    return [_entry(entries, award_id, kind, budget_account(where.year), PAYABLE, where.payable_fen, at)]


def _from_clawback(where: Position, award_id: str, amount_fen: int | None) -> int:
    if where.clawback_fen == 0:
        raise LedgerError("nothing_to_recover", f"nothing of {award_id} is owed back")
    amount = where.clawback_fen if amount_fen is None else amount_fen
    if amount > where.clawback_fen:
        raise LedgerError("too_much", f"{amount} fen asked, {where.clawback_fen} fen owed back")
    return amount


def _entry(entries: Sequence[Entry], award_id: str, kind: str, debit: str, credit: str, amount_fen: int,
           at: datetime, reference: str | None = None) -> Entry:
    mine = [e for e in entries if e.award_id == award_id]
    n = sum(1 for e in mine if e.kind == kind) + 1
    payout_kind = next(e.payout_kind for e in mine if e.kind == "award_approved")
    return Entry(f"{award_id}:{kind}:{n}", award_id, kind, debit, credit, amount_fen, at, payout_kind, reference)
