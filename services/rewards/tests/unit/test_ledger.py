"""The ledger: double entry in integer fen, a budget that cannot be overdrawn, reversals never edits."""
from datetime import date, datetime, timezone

import pytest
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from rewards import ledger
from rewards.ledger import (BudgetExceeded, Entry, LedgerError, Position, approve, available, balances,
                            budget_year, cancel, check_budget, claw_back, entries_for, expire, fail_payment, grant,
                            granted, pay, position, recover, return_payment, write_off)

AT = datetime(2026, 11, 20, 2, 0, tzinfo=timezone.utc)


def funded(amount_fen=10_000_00, year=2026):
    return grant([], year, amount_fen, AT, reference="区财政〔2026〕12号")


def approved(amount_fen=1000_00, award_id="A1", history=None):
    history = list(history if history is not None else funded())
    return history + approve(history, award_id, 2026, amount_fen, AT)


def then(history, new):
    return list(history) + new


# --- entries -----------------------------------------------------------------------------------

@pytest.mark.parametrize("changes", [
    {"amount_fen": 0}, {"amount_fen": -5}, {"amount_fen": 10.0}, {"amount_fen": True},
    {"credit": "paid"}, {"debit": "wallet"}, {"credit": "budget:26"}, {"kind": "award_edited"},
    {"debit": "clawback"}, {"kind": "award_approved"},
    {"at": datetime(2026, 11, 20)}, {"payout_kind": "bonus"}, {"award_id": None}])
def test_an_entry_is_positive_integer_fen_between_two_known_accounts(changes):
    fields = dict(entry_id="A1:award_paid:1", award_id="A1", kind="award_paid", debit="paid", credit="payable",
                  amount_fen=100, at=AT)
    Entry(**fields)
    with pytest.raises(ValueError):
        Entry(**{**fields, **changes})


def test_a_years_budget_comes_from_that_years_appropriation():
    with pytest.raises(ValueError):
        Entry("budget:2026:granted:1", None, "budget_granted", "budget:2026", "appropriation:2027", 100, AT)


def test_entries_are_frozen():
    (entry,) = funded()
    with pytest.raises(AttributeError):
        entry.amount_fen = 1


# --- budget ------------------------------------------------------------------------------------

def test_a_grant_sets_the_years_ceiling_and_the_appropriation_balances_it():
    history = then(funded(), grant(funded(), 2026, 5000_00, AT))
    assert granted(history, 2026) == 15_000_00 == available(history, 2026)
    assert balances(history) == {"budget:2026": 15_000_00, "appropriation:2026": -15_000_00}
    assert [e.entry_id for e in history] == ["budget:2026:granted:1", "budget:2026:granted:2"]


def test_approving_commits_money_from_the_budget_to_payable():
    history = approved(1000_00)
    assert balances(history) == {"budget:2026": 9000_00, "appropriation:2026": -10_000_00, "payable": 1000_00}
    assert history[-1].entry_id == "A1:award_approved:1" and history[-1].kind == "award_approved"


def test_the_budget_can_be_committed_to_the_last_fen_and_not_one_more():
    history = approved(9000_00)
    check_budget(history, 2026, 1000_00)
    history = approved(1000_00, "A2", history)
    assert available(history, 2026) == 0
    with pytest.raises(BudgetExceeded) as error:
        approve(history, "A3", 2026, 1, AT)
    assert (error.value.code, error.value.year, error.value.available_fen, error.value.requested_fen) == (
        "budget_exceeded", 2026, 0, 1)


def test_one_years_budget_does_not_fund_another():
    with pytest.raises(BudgetExceeded):
        approve(funded(year=2026), "A1", 2027, 100, AT)


def test_a_year_never_granted_has_nothing_to_commit():
    with pytest.raises(BudgetExceeded):
        check_budget([], 2026, 1)
    with pytest.raises(ValueError):
        check_budget(funded(), 2026, 10.5)


def test_an_award_is_approved_once():
    with pytest.raises(LedgerError) as error:
        approve(approved(), "A1", 2026, 1000_00, AT)
    assert error.value.code == "already_approved"


def test_the_budget_year_is_the_shanghai_year():
    assert budget_year(datetime(2026, 12, 31, 16, 0, tzinfo=timezone.utc)) == 2027
    assert budget_year(datetime(2026, 12, 31, 15, 59, tzinfo=timezone.utc)) == 2026


# --- paying, cancelling, expiring --------------------------------------------------------------

def test_paying_moves_the_award_from_payable_to_paid_with_the_transfer_reference():
    history = approved()
    (entry,) = pay(history, "A1", AT, reference="WXPAY-4200002026112012345")
    assert (entry.kind, entry.debit, entry.credit, entry.amount_fen, entry.reference) == (
        "award_paid", "paid", "payable", 1000_00, "WXPAY-4200002026112012345")
    history = then(history, [entry])
    assert position(history, "A1") == Position(2026, 1000_00, 0, 1000_00, 0, 0, 0)


def test_a_payment_needs_a_reference_and_an_approved_award_with_something_payable():
    with pytest.raises(LedgerError) as error:
        pay(approved(), "A1", AT, reference=" ")
    assert error.value.code == "no_reference"
    with pytest.raises(LedgerError) as error:
        pay(funded(), "A1", AT, reference="ALIPAY-1")
    assert error.value.code == "not_approved"
    paid = then(approved(), pay(approved(), "A1", AT, reference="ALIPAY-1"))
    with pytest.raises(LedgerError) as error:
        pay(paid, "A1", AT, reference="ALIPAY-2")
    assert error.value.code == "nothing_payable"


def test_joint_reporters_are_paid_share_by_share():
    history = approved(1000_01)
    history = then(history, pay(history, "A1", AT, reference="BANK-1", amount_fen=500_01))
    with pytest.raises(LedgerError) as error:
        pay(history, "A1", AT, reference="BANK-2", amount_fen=500_01)
    assert error.value.code == "too_much"
    history = then(history, pay(history, "A1", AT, reference="BANK-2", amount_fen=500_00))
    assert [e.entry_id for e in history[-2:]] == ["A1:award_paid:1", "A1:award_paid:2"]
    assert position(history, "A1").paid_fen == 1000_01 and position(history, "A1").payable_fen == 0


@pytest.mark.parametrize("step, kind", [(cancel, "award_cancelled"), (expire, "award_expired")])
def test_cancelling_or_expiring_returns_the_commitment_to_the_budget(step, kind):
    history = approved(1000_00)
    (entry,) = step(history, "A1", AT)
    assert (entry.kind, entry.debit, entry.credit, entry.amount_fen) == (kind, "budget:2026", "payable", 1000_00)
    history = then(history, [entry])
    assert available(history, 2026) == 10_000_00 and balances(history)["payable"] == 0
    assert position(history, "A1").returned_fen == 1000_00


def test_cancelling_before_approval_moves_no_money():
    assert cancel(funded(), "A1", AT) == [] and expire(funded(), "A1", AT) == []


def test_an_expired_share_returns_while_the_paid_share_stays_paid():
    history = approved(1000_00)
    history = then(history, pay(history, "A1", AT, reference="BANK-1", amount_fen=500_00))
    history = then(history, expire(history, "A1", AT))
    assert position(history, "A1") == Position(2026, 1000_00, 0, 500_00, 500_00, 0, 0)


# --- failed transfers --------------------------------------------------------------------------

def paid(amount_fen=1000_00, reference="BANK-1"):
    history = approved(amount_fen)
    return then(history, pay(history, "A1", AT, reference=reference))


def test_a_failed_transfer_returns_its_amount_from_paid_to_payable_with_its_reference():
    history = paid()
    (entry,) = fail_payment(history, "A1", AT, reference="BANK-1")
    assert (entry.entry_id, entry.kind, entry.debit, entry.credit, entry.amount_fen, entry.reference) == (
        "A1:award_payment_failed:1", "award_payment_failed", "payable", "paid", 1000_00, "BANK-1")
    history = then(history, [entry])
    assert position(history, "A1") == Position(2026, 1000_00, 1000_00, 0, 0, 0, 0)
    assert available(history, 2026) == 9000_00   # still committed: the award is owed, not void


def test_paid_failed_and_paid_again_under_a_new_reference_is_paid_once():
    history = paid(reference="BANK-1")
    history = then(history, fail_payment(history, "A1", AT, reference="BANK-1"))
    history = then(history, pay(history, "A1", AT, reference="BANK-2"))
    assert [(e.kind, e.reference) for e in history if e.award_id == "A1"] == [
        ("award_approved", None), ("award_paid", "BANK-1"), ("award_payment_failed", "BANK-1"),
        ("award_paid", "BANK-2")]
    assert [e.entry_id for e in history[-3:]] == ["A1:award_paid:1", "A1:award_payment_failed:1", "A1:award_paid:2"]
    where = position(history, "A1")
    assert (where.paid_fen, where.payable_fen) == (1000_00, 0)
    assert balances(history)["paid"] == 1000_00 and balances(history)["payable"] == 0
    assert available(history, 2026) == 9000_00


def test_a_reference_fails_once_and_is_never_paid_again():
    history = paid(reference="BANK-1")
    history = then(history, fail_payment(history, "A1", AT, reference="BANK-1"))
    with pytest.raises(LedgerError) as error:
        fail_payment(history, "A1", AT, reference="BANK-1")
    assert error.value.code == "already_failed"
    with pytest.raises(LedgerError) as error:
        pay(history, "A1", AT, reference="BANK-1")
    assert error.value.code == "already_failed"
    history = then(history, pay(history, "A1", AT, reference="BANK-2"))
    history = then(history, fail_payment(history, "A1", AT, reference="BANK-2"))   # the new attempt may fail too
    assert [e.entry_id for e in history[-1:]] == ["A1:award_payment_failed:2"]
    assert position(history, "A1").payable_fen == 1000_00


def test_only_a_payment_that_was_made_can_fail():
    with pytest.raises(LedgerError) as error:
        fail_payment(paid(reference="BANK-1"), "A1", AT, reference="BANK-9")
    assert error.value.code == "unknown_payment"
    with pytest.raises(LedgerError) as error:
        fail_payment(approved(), "A1", AT, reference="BANK-1")
    assert error.value.code == "unknown_payment"
    with pytest.raises(LedgerError) as error:
        fail_payment(funded(), "A1", AT, reference="BANK-1")
    assert error.value.code == "not_approved"
    with pytest.raises(LedgerError) as error:
        fail_payment(paid(), "A1", AT, reference=" ")
    assert error.value.code == "no_reference"
    other = then(paid(), approve(paid(), "A2", 2026, 500_00, AT))
    with pytest.raises(LedgerError) as error:   # a reference is one award's: A2 was not paid under BANK-1
        fail_payment(other, "A2", AT, reference="BANK-1")
    assert error.value.code == "unknown_payment"


def test_a_failed_share_returns_only_that_shares_amount():
    history = approved(1000_01)
    history = then(history, pay(history, "A1", AT, reference="BANK-1", amount_fen=500_01))
    history = then(history, pay(history, "A1", AT, reference="BANK-2", amount_fen=500_00))
    (entry,) = fail_payment(history, "A1", AT, reference="BANK-2")
    assert entry.amount_fen == 500_00
    history = then(history, [entry])
    assert (position(history, "A1").paid_fen, position(history, "A1").payable_fen) == (500_01, 500_00)
    history = then(history, pay(history, "A1", AT, reference="BANK-3"))
    assert [e.amount_fen for e in history[-1:]] == [500_00]
    assert (position(history, "A1").paid_fen, position(history, "A1").payable_fen) == (1000_01, 0)


# --- returned transfers (退汇) --------------------------------------------------------------------

def test_a_returned_transfer_goes_back_from_paid_to_payable_with_the_banks_date_and_reason():
    history = paid(reference="BANK-1")
    (entry,) = return_payment(history, "A1", AT, reference="BANK-1", value_date=date(2026, 11, 25),
                              reason="账户已销户")
    assert (entry.entry_id, entry.kind, entry.debit, entry.credit, entry.amount_fen, entry.reference,
            entry.value_date, entry.reason) == ("A1:award_payment_returned:1", "award_payment_returned", "payable",
                                                "paid", 1000_00, "BANK-1", date(2026, 11, 25), "账户已销户")
    history = then(history, [entry])
    assert position(history, "A1") == Position(2026, 1000_00, 1000_00, 0, 0, 0, 0)
    assert available(history, 2026) == 9000_00   # still owed to the reporter: committed
    (bare,) = return_payment(paid(reference="BANK-1"), "A1", AT, reference="BANK-1")
    assert (bare.value_date, bare.reason) == (None, None)   # the file need not say when or why


def test_returned_and_paid_again_is_paid_once_and_the_books_balance():
    history = paid(reference="BANK-1")
    history = then(history, return_payment(history, "A1", AT, reference="BANK-1"))
    history = then(history, pay(history, "A1", AT, reference="BANK-2"))
    assert [(e.kind, e.reference) for e in history if e.award_id == "A1"] == [
        ("award_approved", None), ("award_paid", "BANK-1"), ("award_payment_returned", "BANK-1"),
        ("award_paid", "BANK-2")]
    assert (position(history, "A1").paid_fen, position(history, "A1").payable_fen) == (1000_00, 0)
    assert sum(balances(history).values()) == 0 and balances(history)["paid"] == 1000_00
    assert available(history, 2026) == 9000_00


def test_a_reference_is_sent_back_once_failed_or_returned_and_never_paid_again():
    returned = paid(reference="BANK-1")
    returned = then(returned, return_payment(returned, "A1", AT, reference="BANK-1"))
    for step in (return_payment, fail_payment, pay):
        with pytest.raises(LedgerError) as error:
            step(returned, "A1", AT, reference="BANK-1")
        assert error.value.code == "already_returned"
    failed = paid(reference="BANK-1")
    failed = then(failed, fail_payment(failed, "A1", AT, reference="BANK-1"))
    with pytest.raises(LedgerError) as error:
        return_payment(failed, "A1", AT, reference="BANK-1")
    assert error.value.code == "already_failed"
    with pytest.raises(LedgerError) as error:
        return_payment(paid(reference="BANK-1"), "A1", AT, reference="BANK-9")
    assert error.value.code == "unknown_payment"


def test_a_returned_share_of_a_joint_award_returns_only_that_share():
    history = approved(1000_01)
    history = then(history, pay(history, "A1", AT, reference="BANK-1", amount_fen=500_01))
    history = then(history, pay(history, "A1", AT, reference="BANK-2", amount_fen=500_00))
    (entry,) = return_payment(history, "A1", AT, reference="BANK-1", reason="户名不符")
    assert entry.amount_fen == 500_01
    history = then(history, [entry])
    assert (position(history, "A1").paid_fen, position(history, "A1").payable_fen) == (500_00, 500_01)
    history = then(history, pay(history, "A1", AT, reference="BANK-3"))
    assert [e.amount_fen for e in history[-1:]] == [500_01]
    assert (position(history, "A1").paid_fen, position(history, "A1").payable_fen) == (1000_01, 0)


def test_a_payment_of_a_clawed_back_award_is_not_returned():
    history = paid(reference="BANK-1")
    history = then(history, claw_back(history, "A1", AT))
    with pytest.raises(LedgerError) as error:
        return_payment(history, "A1", AT, reference="BANK-1")
    assert error.value.code == "clawed_back"


def test_only_a_returned_payment_carries_a_return_date_and_reason():
    fields = dict(entry_id="A1:award_paid:1", award_id="A1", kind="award_paid", debit="paid", credit="payable",
                  amount_fen=100, at=AT)
    for extra in ({"value_date": date(2026, 11, 25)}, {"reason": "账户已销户"}):
        with pytest.raises(ValueError):
            Entry(**fields, **extra)
    with pytest.raises(ValueError):
        Entry(**{**fields, "entry_id": "A1:award_payment_returned:1", "kind": "award_payment_returned",
                 "debit": "payable", "credit": "paid"}, value_date=AT)   # a date, not a moment


def test_a_payment_cannot_fail_once_the_award_was_clawed_back_and_is_recovered_instead():
    history = paid(reference="BANK-1")
    history = then(history, claw_back(history, "A1", AT))
    with pytest.raises(LedgerError) as error:
        fail_payment(history, "A1", AT, reference="BANK-1")
    assert error.value.code == "clawed_back"
    # The money never reached the reporter: the office records it as recovered, back to the budget.
    history = then(history, recover(history, "A1", AT, reference="BANK-1"))
    assert position(history, "A1") == Position(2026, 1000_00, 0, 0, 1000_00, 0, 0)
    assert available(history, 2026) == 10_000_00


def test_a_failed_then_repaid_award_can_still_be_clawed_back_in_full():
    history = paid(reference="BANK-1")
    history = then(history, fail_payment(history, "A1", AT, reference="BANK-1"))
    history = then(history, pay(history, "A1", AT, reference="BANK-2"))
    (entry,) = claw_back(history, "A1", AT)
    assert entry.amount_fen == 1000_00   # what was really paid, not both attempts


def test_a_failed_award_can_be_cancelled_and_its_commitment_returns():
    history = paid(reference="BANK-1")
    history = then(history, fail_payment(history, "A1", AT, reference="BANK-1"))
    history = then(history, cancel(history, "A1", AT))
    assert position(history, "A1") == Position(2026, 1000_00, 0, 0, 1000_00, 0, 0)
    assert available(history, 2026) == 10_000_00


# --- claw-backs --------------------------------------------------------------------------------

def test_a_claw_back_reverses_the_payment_and_does_not_refund_the_budget():
    history = approved(1000_00)
    history = then(history, pay(history, "A1", AT, reference="BANK-1"))
    (entry,) = claw_back(history, "A1", AT)
    assert (entry.kind, entry.debit, entry.credit, entry.amount_fen) == ("award_clawed_back", "clawback", "paid",
                                                                        1000_00)
    history = then(history, [entry])
    assert balances(history)["paid"] == 0 and balances(history)["clawback"] == 1000_00
    assert available(history, 2026) == 9000_00
    assert history[:-1] == then(approved(1000_00), pay(approved(1000_00), "A1", AT, reference="BANK-1"))


def test_recovered_money_returns_to_the_awards_budget_year_and_the_rest_can_be_written_off():
    history = approved(1000_00)
    history = then(history, pay(history, "A1", AT, reference="BANK-1"))
    history = then(history, claw_back(history, "A1", AT))
    history = then(history, recover(history, "A1", AT, amount_fen=600_00, reference="退款 2026-12-01"))
    assert available(history, 2026) == 9600_00
    history = then(history, write_off(history, "A1", AT))
    assert position(history, "A1") == Position(2026, 1000_00, 0, 0, 600_00, 0, 400_00)
    with pytest.raises(LedgerError) as error:
        recover(history, "A1", AT)
    assert error.value.code == "nothing_to_recover"


def test_a_claw_back_after_a_partial_payment_also_returns_what_is_still_payable():
    history = approved(1000_00)
    history = then(history, pay(history, "A1", AT, reference="BANK-1", amount_fen=300_00))
    new = claw_back(history, "A1", AT)
    assert [(e.kind, e.amount_fen) for e in new] == [("award_clawed_back", 300_00), ("award_cancelled", 700_00)]
    assert position(then(history, new), "A1") == Position(2026, 1000_00, 0, 0, 700_00, 300_00, 0)


def test_an_unpaid_award_is_cancelled_not_clawed_back():
    with pytest.raises(LedgerError) as error:
        claw_back(approved(), "A1", AT)
    assert error.value.code == "not_paid"


def test_recovering_more_than_is_owed_is_refused():
    history = approved(1000_00)
    history = then(history, pay(history, "A1", AT, reference="BANK-1"))
    history = then(history, claw_back(history, "A1", AT))
    with pytest.raises(LedgerError) as error:
        recover(history, "A1", AT, amount_fen=1000_01)
    assert error.value.code == "too_much"


# --- the workflow's steps, subsidies -----------------------------------------------------------

def test_entries_for_follows_the_workflow_actions():
    history = funded()
    assert entries_for("review", history, "A1", AT) == []
    history = then(history, entries_for("approve", history, "A1", AT, year=2026, amount_fen=800_00))
    history = then(history, entries_for("pay", history, "A1", AT, reference="UNIONPAY-77"))
    history = then(history, entries_for("payment_failed", history, "A1", AT, reference="UNIONPAY-77"))
    history = then(history, entries_for("pay", history, "A1", AT, reference="UNIONPAY-78"))
    history = then(history, entries_for("payment_returned", history, "A1", AT, reference="UNIONPAY-78",
                                        value_date=date(2026, 11, 24), reason="卡已注销"))
    history = then(history, entries_for("pay", history, "A1", AT, reference="UNIONPAY-79"))
    history = then(history, entries_for("claw_back", history, "A1", AT))
    history = then(history, entries_for("recover", history, "A1", AT))
    assert [e.kind for e in history] == ["budget_granted", "award_approved", "award_paid", "award_payment_failed",
                                         "award_paid", "award_payment_returned", "award_paid", "award_clawed_back",
                                         "clawback_recovered"]
    assert available(history, 2026) == 10_000_00
    with pytest.raises(ValueError):
        entries_for("approve_all", history, "A1", AT)


def test_a_subsidy_payout_runs_through_the_same_budget_and_is_told_apart():
    history = approved(1000_00)
    history = then(history, approve(history, "S-2026-11-G0301", 2026, 2400_00, AT, payout_kind="subsidy"))
    history = then(history, pay(history, "S-2026-11-G0301", AT, reference="BANK-9"))
    assert available(history, 2026) == 6600_00
    assert {e.payout_kind for e in history if e.award_id == "S-2026-11-G0301"} == {"subsidy"}
    assert balances(e for e in history if e.payout_kind == "subsidy")["paid"] == 2400_00


def test_entry_ids_are_deterministic_so_a_repeated_step_collides():
    history = approved()
    assert pay(history, "A1", AT, reference="X") == pay(history, "A1", AT, reference="X")
    assert pay(history, "A1", AT, reference="X")[0].entry_id == "A1:award_paid:1"


# --- properties: any sequence of operations ----------------------------------------------------

YEARS = st.sampled_from([2026, 2027])
PLACES = ("payable", "paid", "returned", "clawback", "written_off")


class LedgerMachine(RuleBasedStateMachine):
    """Random sequences of grants, approvals, payments (whole or by share), failed transfers,
    cancellations, expiries, claw-backs, recoveries and write-offs, checked against a model
    of where each award's money should be, kept without the ledger. Steps the ledger must
    refuse are tried too, and must leave the history untouched."""

    def __init__(self):
        super().__init__()
        self.history: list[Entry] = []
        self.granted = {2026: 0, 2027: 0}
        self.awards: dict[str, dict] = {}   # award_id → year, approved, PLACES…, partial, transfers, clawed
        self.transfers = 0

    # the model

    def committed(self, year):
        return sum(a["approved"] - a["returned"] for a in self.awards.values() if a["year"] == year)

    def with_money_in(self, place):
        return sorted(i for i, a in self.awards.items() if a[place])

    def move(self, award, source, target, amount):
        award[source] -= amount
        award[target] += amount

    def append(self, new):
        self.history = self.history + new

    def refused(self, step, *args, **kwargs):
        before = list(self.history)
        with pytest.raises(LedgerError) as error:
            step(self.history, *args, **kwargs)
        assert self.history == before
        return error.value

    # the steps

    @rule(year=YEARS, amount=st.integers(1, 200_000))
    def grant(self, year, amount):
        self.granted[year] += amount
        self.append(grant(self.history, year, amount, AT))

    @rule(year=YEARS, amount=st.integers(1, 60_000))
    def approve(self, year, amount):
        award_id = f"A{len(self.awards) + 1}"
        if amount > self.granted[year] - self.committed(year):
            assert isinstance(self.refused(approve, award_id, year, amount, AT), BudgetExceeded)
            return
        self.awards[award_id] = {"year": year, "approved": amount, "partial": False, "clawed": False,
                                 "transfers": {}, "failed": set(), "bounced": set(),
                                 **dict.fromkeys(PLACES, 0), "payable": amount}
        self.append(approve(self.history, award_id, year, amount, AT))

    @precondition(lambda self: self.with_money_in("payable"))
    @rule(data=st.data())
    def pay(self, data):
        award_id = data.draw(st.sampled_from(self.with_money_in("payable")))
        award = self.awards[award_id]
        amount = data.draw(st.none() | st.integers(1, award["payable"]))
        whole = award["payable"] if amount is None else amount
        award["partial"] |= whole < award["payable"]
        self.move(award, "payable", "paid", whole)
        self.transfers += 1
        reference = f"BANK-{self.transfers}"
        award["transfers"][reference] = whole
        self.append(pay(self.history, award_id, AT, reference=reference, amount_fen=amount))

    def can_fail(self):
        return sorted((i, r) for i, a in self.awards.items() if not a["clawed"]
                      for r in a["transfers"] if r not in a["failed"] | a["bounced"])

    @precondition(lambda self: self.can_fail())
    @rule(data=st.data(), returned=st.booleans())
    def fail(self, data, returned):
        # A transfer that failed, or one the bank returned later (退汇): the books move alike.
        award_id, reference = data.draw(st.sampled_from(self.can_fail()))
        award = self.awards[award_id]
        amount = award["transfers"][reference]
        award["partial"] |= award["payable"] > 0 or amount < award["paid"]
        self.move(award, "paid", "payable", amount)
        award["bounced" if returned else "failed"].add(reference)
        step = return_payment if returned else fail_payment
        self.append(step(self.history, award_id, AT, reference=reference))

    @precondition(lambda self: self.awards)
    @rule(data=st.data(), step=st.sampled_from([cancel, expire]))
    def release(self, data, step):
        award_id = data.draw(st.sampled_from(sorted(self.awards)))
        award = self.awards[award_id]
        award["partial"] |= award["paid"] > 0 and award["payable"] > 0
        self.move(award, "payable", "returned", award["payable"])
        self.append(step(self.history, award_id, AT))

    @precondition(lambda self: self.with_money_in("paid"))
    @rule(data=st.data())
    def claw_back(self, data):
        award_id = data.draw(st.sampled_from(self.with_money_in("paid")))
        award = self.awards[award_id]
        award["partial"] |= award["payable"] > 0
        self.move(award, "payable", "returned", award["payable"])
        self.move(award, "paid", "clawback", award["paid"])
        award["clawed"] = True
        self.append(claw_back(self.history, award_id, AT))

    def settle_clawback(self, data, step, place):
        award_id = data.draw(st.sampled_from(self.with_money_in("clawback")))
        award = self.awards[award_id]
        amount = data.draw(st.none() | st.integers(1, award["clawback"]))
        whole = award["clawback"] if amount is None else amount
        award["partial"] |= whole < award["clawback"]
        self.move(award, "clawback", place, whole)
        self.append(step(self.history, award_id, AT, amount_fen=amount))

    @precondition(lambda self: self.with_money_in("clawback"))
    @rule(data=st.data())
    def recover(self, data):
        self.settle_clawback(data, recover, "returned")

    @precondition(lambda self: self.with_money_in("clawback"))
    @rule(data=st.data())
    def write_off(self, data):
        self.settle_clawback(data, write_off, "written_off")

    @precondition(lambda self: self.awards)
    @rule(data=st.data())
    def what_is_not_there_cannot_move(self, data):
        award_id = data.draw(st.sampled_from(sorted(self.awards)))
        award = self.awards[award_id]
        assert self.refused(approve, award_id, award["year"], 1, AT).code == "already_approved"
        self.refused(pay, award_id, AT, reference="BANK", amount_fen=award["payable"] + 1)
        assert self.refused(fail_payment, award_id, AT, reference="BANK-NEVER").code == "unknown_payment"
        assert self.refused(return_payment, award_id, AT, reference="BANK-NEVER").code == "unknown_payment"
        for references, code in ((award["failed"], "already_failed"), (award["bounced"], "already_returned")):
            for reference in references:
                for step in (fail_payment, return_payment, pay):
                    assert self.refused(step, award_id, AT, reference=reference).code == code
        if award["clawed"]:
            for reference in set(award["transfers"]) - award["failed"] - award["bounced"]:
                assert self.refused(fail_payment, award_id, AT, reference=reference).code == "clawed_back"
                assert self.refused(return_payment, award_id, AT, reference=reference).code == "clawed_back"
        if not award["paid"]:
            assert self.refused(claw_back, award_id, AT).code == "not_paid"
        self.refused(recover, award_id, AT, amount_fen=award["clawback"] + 1)
        self.refused(write_off, award_id, AT, amount_fen=award["clawback"] + 1)

    # what always holds

    @invariant()
    def debits_equal_credits(self):
        debits, credits = {}, {}
        for entry in self.history:
            debits[entry.debit] = debits.get(entry.debit, 0) + entry.amount_fen
            credits[entry.credit] = credits.get(entry.credit, 0) + entry.amount_fen
        assert sum(debits.values()) == sum(credits.values())
        assert balances(self.history) == {a: debits.get(a, 0) - credits.get(a, 0) for a in {*debits, *credits}}
        assert sum(balances(self.history).values()) == 0

    @invariant()
    def the_budget_is_never_negative_nor_overdrawn(self):
        for year in (2026, 2027):
            assert available(self.history, year) >= 0
            assert granted(self.history, year) == self.granted[year]
            assert self.committed(year) <= self.granted[year]
            assert available(self.history, year) == self.granted[year] - self.committed(year)

    @invariant()
    def each_awards_money_is_where_the_model_says(self):
        for award_id, award in self.awards.items():
            where = position(self.history, award_id)
            assert (where.year, where.approved_fen) == (award["year"], award["approved"])
            assert (where.payable_fen, where.paid_fen, where.returned_fen, where.clawback_fen,
                    where.written_off_fen) == tuple(award[p] for p in PLACES)
            assert sum(award[p] for p in PLACES) == award["approved"]
            if not award["partial"]:
                # Whole steps only: all of the award's money is in exactly one place.
                assert sum(1 for p in PLACES if award[p]) == 1
        derived = balances(self.history)
        for account in ("payable", "paid", "clawback", "written_off"):
            assert derived.get(account, 0) == sum(a[account] for a in self.awards.values())

    @invariant()
    def entry_ids_are_unique(self):
        assert len({e.entry_id for e in self.history}) == len(self.history)


LedgerMachine.TestCase.settings = settings(max_examples=200, stateful_step_count=40, deadline=None)
test_any_sequence_of_operations_keeps_the_books_balanced_and_the_budget_whole = LedgerMachine.TestCase


def test_the_module_documents_its_chart_of_accounts():
    for account in ("appropriation:<year>", "budget:<year>", "payable", "paid", "clawback", "written_off"):
        assert account in ledger.__doc__
