"""Reward rules on plain data: the tier table, proposals, the split, the workflow and the claim window."""
from datetime import date, datetime, time, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from rewards.domain import (DEFAULT_TIERS, OUTCOMES, SHANGHAI, STATES, TRANSITIONS, Proposal, Refusal, TierRow,
                            TierTable, WorkflowError, amount_for, check_return, claim_deadline, expired, propose,
                            split, transition, yuan)

TIERS = TierTable.from_dict({
    "version": 7, "cap_per_report_fen": 3000_00, "cap_per_reporter_year_fen": 5000_00,
    "rows": [{"category": "*", "outcome": "stopped_on_spot", "amount_fen": 200_00},
             {"category": "*", "outcome": "rectification_ordered", "amount_fen": 500_00},
             {"category": "*", "outcome": "fined", "amount_fen": 1000_00},
             {"category": "*", "outcome": "prosecution_referred", "amount_fen": 2000_00},
             {"category": "water_pollution", "outcome": "fined", "amount_fen": 2500_00},
             {"category": "water_pollution", "outcome": "prosecution_referred", "amount_fen": 8000_00}]})


def report(**overrides):
    base = {"category": "catering_fumes", "outcome": "fined", "verified_true": True, "channel": "public_web",
            "reporter_named": True, "duplicate_of": None, "joint_reporters": 1}
    return {**base, **overrides}


def table(**overrides):
    return {**DEFAULT_TIERS.to_dict(), **overrides}


def shanghai(*args):
    return datetime(*args, tzinfo=SHANGHAI)


def end_of(day: date) -> datetime:
    return datetime.combine(day, time.max, SHANGHAI)


# --- the tier table ----------------------------------------------------------------------------

def test_the_default_tiers_pay_more_for_a_graver_outcome_and_for_hidden_pollution():
    assert [amount_for("catering_fumes", o, DEFAULT_TIERS)[0] for o in OUTCOMES] == [
        200_00, 500_00, 1000_00, 2000_00]
    assert amount_for("water_pollution", "fined", DEFAULT_TIERS)[0] == 3000_00
    assert amount_for("equipment_not_running", "prosecution_referred", DEFAULT_TIERS)[0] == 5000_00
    assert DEFAULT_TIERS.version == 1
    assert DEFAULT_TIERS.cap_per_report_fen == 5000_00 and DEFAULT_TIERS.cap_per_reporter_year_fen == 20000_00


def test_a_table_reads_back_from_its_own_json_form():
    assert TierTable.from_dict(DEFAULT_TIERS.to_dict()) == DEFAULT_TIERS
    assert TierTable.from_dict(TIERS.to_dict()) == TIERS


def test_the_most_specific_row_wins_whatever_the_order_of_rows():
    assert amount_for("water_pollution", "fined", TIERS) == (2500_00, TierRow("water_pollution", "fined", 2500_00))
    reversed_rows = TierTable.from_dict({**TIERS.to_dict(), "rows": TIERS.to_dict()["rows"][::-1]})
    assert amount_for("water_pollution", "fined", reversed_rows)[0] == 2500_00


def test_a_category_without_its_own_row_falls_back_to_the_star_row():
    assert amount_for("water_pollution", "stopped_on_spot", TIERS) == (200_00, TierRow("*", "stopped_on_spot", 200_00))
    assert amount_for("never_heard_of", "fined", TIERS)[1].category == "*"


def test_an_unknown_outcome_has_no_amount():
    with pytest.raises(ValueError):
        amount_for("catering_fumes", "warned", TIERS)


def _row(**overrides):
    return {"category": "*", "outcome": "fined", "amount_fen": 1000_00, **overrides}


def _rows(*extra):
    return DEFAULT_TIERS.to_dict()["rows"] + list(extra)


@pytest.mark.parametrize("bad", [
    pytest.param(table(version=0), id="version 0"),
    pytest.param(table(version="1"), id="version as text"),
    pytest.param(table(version=1.0), id="version as float"),
    pytest.param(table(cap_per_report_fen=5000.0), id="float cap"),
    pytest.param(table(cap_per_report_fen=0), id="zero cap"),
    pytest.param(table(cap_per_reporter_year_fen=-1), id="negative cap"),
    pytest.param(table(cap_per_reporter_year_fen=True), id="bool cap"),
    pytest.param(table(cap_per_report_fen=None), id="missing cap"),
    pytest.param(table(rows=[]), id="no rows"),
    pytest.param(table(rows="*"), id="rows not a list"),
    pytest.param(table(rows=_rows(_row(category="coal_use", amount_fen=1500.0))), id="float amount"),
    pytest.param(table(rows=_rows(_row(category="coal_use", amount_fen=0))), id="zero amount"),
    pytest.param(table(rows=_rows(_row(category="coal_use", amount_fen="100"))), id="amount as text"),
    pytest.param(table(rows=_rows(_row(category="coal_use", outcome="warned"))), id="unknown outcome"),
    pytest.param(table(rows=_rows(_row(category="Coal Use"))), id="not a category code"),
    pytest.param(table(rows=_rows(_row(category="coal_use", note="x"))), id="unknown row key"),
    pytest.param(table(rows=_rows(_row())), id="a row twice"),
    pytest.param(table(rows=[r for r in _rows() if (r["category"], r["outcome"]) != ("*", "fined")]),
                 id="no fallback row"),
    pytest.param(table(cap_per_year_fen=100), id="misspelt key"),
])
def test_a_table_with_floats_non_positive_amounts_unknown_outcomes_or_no_fallback_is_refused(bad):
    with pytest.raises(ValueError):
        TierTable.from_dict(bad)


def test_money_reads_as_yuan_with_two_decimals():
    assert (yuan(150001), yuan(5), yuan(0), yuan(-250)) == ("1500.01", "0.05", "0.00", "-2.50")


# --- proposing an award ------------------------------------------------------------------------

def test_a_verified_named_public_report_earns_its_tier_amount_and_says_why():
    result = propose(report(), TIERS, 0, blacklisted=False)
    assert isinstance(result, Proposal)
    assert (result.amount_fen, result.shares, result.tier_version) == (1000_00, (1000_00,), 7)
    assert result.row == TierRow("*", "fined", 1000_00)
    assert not result.needs_review and not result.claim_with_identity
    assert len(result.why) == 1 and "v7" in result.why[0] and "1000.00" in result.why[0] and "罚款" in result.why[0]


@pytest.mark.parametrize("verified", [False, None])
def test_a_report_not_verified_true_earns_nothing(verified):
    assert propose(report(verified_true=verified), TIERS, 0, False) == Refusal(
        "not verified true", ("案件未查证属实 (the case was not verified true)",))


def test_a_rejected_case_needs_no_outcome_to_be_refused():
    assert propose(report(verified_true=False, outcome=None), TIERS, 0, False).reason == "not verified true"


def test_only_the_first_reporter_earns_a_duplicate_report_is_refused():
    result = propose(report(duplicate_of="R20261101ABCDEF"), TIERS, 0, False)
    assert isinstance(result, Refusal) and result.reason == "duplicate"
    assert "R20261101ABCDEF" in result.why[0]


@pytest.mark.parametrize("channel", ["patrol", "inspection", "city_platform", None])
def test_reports_from_staff_or_the_city_earn_nothing(channel):
    assert propose(report(channel=channel), TIERS, 0, False).reason == "not a public channel"


@pytest.mark.parametrize("channel", ["public_web", "public_hotline", "public_mailbox"])
def test_every_public_channel_earns(channel):
    assert isinstance(propose(report(channel=channel), TIERS, 0, False), Proposal)


def test_the_amount_is_capped_per_report():
    result = propose(report(category="water_pollution", outcome="prosecution_referred"), TIERS, 0, False)
    assert result.amount_fen == 3000_00 and result.row.amount_fen == 8000_00
    assert any("capped at 3000.00 yuan per report" in step for step in result.why)


def test_the_yearly_cap_leaves_only_what_remains_for_the_reporter():
    result = propose(report(), TIERS, 4500_00, False)   # 5000 cap, 4500 paid: 500 left of 1000
    assert result.amount_fen == 500_00
    assert any("500.00 yuan left" in step for step in result.why)


@pytest.mark.parametrize("paid", [5000_00, 9000_00])
def test_a_reporter_at_or_over_the_yearly_cap_is_refused(paid):
    result = propose(report(), TIERS, paid, False)
    assert isinstance(result, Refusal) and result.reason == "yearly cap reached"


def test_joint_reporters_share_one_award_equally_the_first_getting_the_odd_fen():
    tiers = TierTable.from_dict({**TIERS.to_dict(), "rows": [
        *TIERS.to_dict()["rows"], {"category": "coal_use", "outcome": "fined", "amount_fen": 1000_01}]})
    result = propose(report(category="coal_use", joint_reporters=3), tiers, 0, False)
    assert result.amount_fen == 1000_01 and result.shares == (333_34, 333_34, 333_33)
    assert any("3 joint reporters" in step for step in result.why)


def test_the_per_report_cap_applies_before_the_split():
    result = propose(report(category="water_pollution", outcome="prosecution_referred", joint_reporters=2),
                     TIERS, 0, False)
    assert result.shares == (1500_00, 1500_00)


def test_each_joint_reporter_is_held_to_their_own_yearly_cap():
    result = propose(report(joint_reporters=2), TIERS, [0, 4800_00], False)
    assert result.shares == (500_00, 200_00) and result.amount_fen == 700_00
    capped_out = propose(report(joint_reporters=2), TIERS, [5000_00, 0], False)
    assert capped_out.shares == (0, 500_00)
    assert isinstance(propose(report(joint_reporters=2), TIERS, [5000_00, 5000_00], False), Refusal)


def test_one_paid_figure_applies_to_every_joint_reporter():
    assert propose(report(joint_reporters=2), TIERS, 4600_00, False).shares == (400_00, 400_00)


def test_paid_figures_must_match_the_joint_reporters():
    with pytest.raises(ValueError):
        propose(report(joint_reporters=2), TIERS, [0], False)
    with pytest.raises(ValueError):
        propose(report(), TIERS, -1, False)
    with pytest.raises(ValueError):
        propose(report(joint_reporters=0), TIERS, 0, False)


def test_a_blacklisted_reporter_is_refused_under_the_refuse_effect():
    assert propose(report(), TIERS, 0, blacklisted=True, blacklist_effect="refuse").reason == "blacklisted"


def test_a_blacklisted_reporter_is_proposed_for_review_under_the_review_effect():
    result = propose(report(), TIERS, 0, blacklisted=True, blacklist_effect="review")
    assert isinstance(result, Proposal) and result.needs_review and result.amount_fen == 1000_00
    assert any("blacklisted" in step for step in result.why)


def test_an_unknown_blacklist_effect_is_a_configuration_error():
    with pytest.raises(ValueError):
        propose(report(), TIERS, 0, False, blacklist_effect="ignore")


def test_an_anonymous_reporter_is_proposed_and_claims_with_tracking_code_and_identity():
    result = propose(report(reporter_named=False), TIERS, 0, False)
    assert isinstance(result, Proposal) and result.claim_with_identity
    assert any("tracking code" in step for step in result.why)


@given(amount=st.integers(0, 10**12), n=st.integers(1, 200))
def test_a_split_sums_exactly_to_the_amount_and_shares_differ_by_at_most_one_fen(amount, n):
    shares = split(amount, n)
    assert len(shares) == n and sum(shares) == amount
    assert max(shares) - min(shares) <= 1
    assert shares == sorted(shares, reverse=True)   # the remainder fen go to the first shares


@pytest.mark.parametrize("amount, n", [(100, 0), (-1, 2), (10.0, 2), (100, True)])
def test_a_split_takes_integer_fen_and_at_least_one_share(amount, n):
    with pytest.raises(ValueError):
        split(amount, n)


# --- the workflow ------------------------------------------------------------------------------

def test_an_award_goes_proposed_reviewed_approved_paid_by_two_people():
    state = transition("proposed", "review", "li.wei")
    state = transition(state, "approve", "zhang.min", reviewer="li.wei")
    assert state == "approved"
    assert transition(state, "pay", "reward.office") == "paid"


@pytest.mark.parametrize("state", ["proposed", "reviewed", "approved"])
def test_an_award_can_be_cancelled_or_expire_until_it_is_paid(state):
    assert transition(state, "cancel", "zhang.min") == "cancelled"
    assert transition(state, "expire", "system") == "expired"


def test_a_paid_award_is_clawed_back_not_cancelled():
    assert transition("paid", "claw_back", "zhang.min") == "clawed_back"
    with pytest.raises(WorkflowError) as error:
        transition("paid", "cancel", "zhang.min")
    assert error.value.code == "illegal"


def test_a_failed_transfer_makes_a_paid_award_approved_and_payable_again():
    state = transition("paid", "payment_failed", "system:reconciliation")
    assert state == "approved"
    assert transition(state, "pay", "reward.office") == "paid"


@pytest.mark.parametrize("state", ["proposed", "reviewed", "approved", "cancelled", "expired", "clawed_back"])
@pytest.mark.parametrize("action", ["payment_failed", "payment_returned"])
def test_only_a_paid_award_has_a_payment_that_can_fail_or_be_returned(state, action):
    with pytest.raises(WorkflowError) as error:
        transition(state, action, "reward.office")
    assert error.value.code == "illegal"


def test_a_returned_transfer_makes_a_paid_award_approved_and_payable_again():
    state = transition("paid", "payment_returned", "system:reconciliation")
    assert state == "approved"
    assert transition(state, "pay", "reward.office") == "paid"


# --- a returned transfer (退汇): what the bank's file may say ------------------------------------

PAID_AT = datetime(2026, 11, 20, 17, 0, tzinfo=timezone.utc)   # 21 November, 01:00 in Shanghai
NOW = datetime(2026, 11, 28, 17, 0, tzinfo=timezone.utc)       # 29 November, 01:00 in Shanghai


@pytest.mark.parametrize("returned_on, reason", [
    (None, None), (date(2026, 11, 21), None), (date(2026, 11, 29), "账户已销户"), (None, "户名与账号不符")])
def test_a_return_may_say_when_it_came_back_and_why(returned_on, reason):
    assert check_return(PAID_AT, returned_on, reason, NOW) is None


@pytest.mark.parametrize("returned_on, reason, problem", [
    (date(2026, 11, 20), None, "before it was paid on 2026-11-21"),   # the Shanghai day of the payment
    (date(2026, 11, 30), None, "after today (2026-11-29)"),
    (datetime(2026, 11, 25, 0, 0, tzinfo=timezone.utc), None, "must be a date"),
    (None, " ", "1 to 200 characters"), (None, "退" * 201, "1 to 200 characters")])
def test_a_return_is_not_before_the_payment_nor_in_the_future(returned_on, reason, problem):
    assert problem in check_return(PAID_AT, returned_on, reason, NOW)


def test_the_reviewer_cannot_approve_their_own_review():
    with pytest.raises(WorkflowError) as error:
        transition("reviewed", "approve", "li.wei", reviewer="li.wei")
    assert error.value.code == "same_person"


def test_approving_needs_to_know_the_reviewer():
    with pytest.raises(WorkflowError) as error:
        transition("reviewed", "approve", "zhang.min")
    assert error.value.code == "no_reviewer"


@pytest.mark.parametrize("state", ["proposed", "reviewed"])
def test_an_unapproved_award_cannot_be_paid(state):
    with pytest.raises(WorkflowError) as error:
        transition(state, "pay", "reward.office")
    assert error.value.code == "not_approved"


@pytest.mark.parametrize("state, action", [
    ("proposed", "approve"), ("approved", "review"), ("approved", "approve"), ("paid", "pay"),
    ("approved", "claw_back"), ("cancelled", "review"), ("cancelled", "pay"), ("expired", "pay"),
    ("clawed_back", "claw_back"), ("clawed_back", "cancel"), ("paid", "expire")])
def test_anything_else_is_an_illegal_transition(state, action):
    with pytest.raises(WorkflowError) as error:
        transition(state, action, "zhang.min", reviewer="li.wei")
    assert error.value.code == "illegal"


def test_unknown_states_actions_and_a_missing_actor_are_programming_errors():
    for args in [("lost", "review", "a"), ("proposed", "approve_all", "a"), ("proposed", "review", "")]:
        with pytest.raises(ValueError):
            transition(*args)


@given(st.lists(st.tuples(st.sampled_from(["review", "approve", "pay", "payment_failed", "payment_returned",
                                            "cancel", "expire", "claw_back"]),
                          st.sampled_from(["li.wei", "zhang.min", "wang.fang"])), max_size=12))
def test_no_sequence_of_actions_pays_an_award_without_two_people_signing(steps):
    state, reviewed_by, approved_by = "proposed", None, None
    for action, actor in steps:
        try:
            new_state = transition(state, action, actor, reviewer=reviewed_by if action == "approve" else None)
        except WorkflowError:
            continue
        assert (state, action) in TRANSITIONS and new_state in STATES
        if action == "review":
            reviewed_by = actor
        if action == "approve":
            approved_by = actor
        if new_state == "paid":
            assert reviewed_by and approved_by and reviewed_by != approved_by
        state = new_state


# --- the claim window --------------------------------------------------------------------------

def test_the_claim_window_skips_the_national_day_holiday_and_counts_the_make_up_saturday():
    # 2026: 1-7 October off, Saturday 10 October a make-up working day.
    notice = shanghai(2026, 9, 30, 10, 0)
    assert claim_deadline(notice, 1) == end_of(date(2026, 10, 8))
    assert claim_deadline(notice, 3) == end_of(date(2026, 10, 10))
    assert claim_deadline(notice, 4) == end_of(date(2026, 10, 12))   # Sunday 11 October is off
    # 15 working days: 8, 9, 10, 12-16, 19-23, 26, 27 October.
    assert claim_deadline(notice) == end_of(date(2026, 10, 27))


def test_a_notice_during_the_holiday_counts_from_the_first_working_day_after_it():
    assert claim_deadline(shanghai(2026, 10, 3, 9, 0), 1) == end_of(date(2026, 10, 8))


def test_the_claim_window_skips_a_weekend():
    friday = shanghai(2026, 11, 13, 16, 0)
    assert claim_deadline(friday, 1) == end_of(date(2026, 11, 16))
    assert claim_deadline(friday, 15) == end_of(date(2026, 12, 4))
    assert claim_deadline(shanghai(2026, 11, 14, 11, 0), 1) == end_of(date(2026, 11, 16))   # a Saturday


def test_the_notice_day_is_the_shanghai_day_not_the_utc_one():
    # 16:30 UTC on Thursday 12 November is 00:30 on Friday 13 November in Shanghai.
    notice = datetime(2026, 11, 12, 16, 30, tzinfo=timezone.utc)
    deadline = claim_deadline(notice, 1)
    assert deadline == end_of(date(2026, 11, 16))
    assert deadline.tzinfo == SHANGHAI and deadline.astimezone(timezone.utc) == datetime(
        2026, 11, 16, 15, 59, 59, 999999, tzinfo=timezone.utc)


def test_beyond_the_known_calendar_the_claim_window_counts_monday_to_friday():
    assert claim_deadline(shanghai(2100, 10, 1, 9, 0), 1) == end_of(date(2100, 10, 4))   # Friday → Monday


def test_the_district_can_give_its_own_calendar():
    every_day = claim_deadline(shanghai(2026, 10, 1, 9, 0), 2, is_workday=lambda day: True)
    assert every_day == end_of(date(2026, 10, 3))


def test_the_claim_window_needs_an_aware_notice_and_a_positive_number_of_days():
    for args in [(datetime(2026, 11, 13, 9, 0), 15), (shanghai(2026, 11, 13), 0), (shanghai(2026, 11, 13), 1.5)]:
        with pytest.raises(ValueError):
            claim_deadline(*args)


def test_an_award_expires_only_after_the_last_microsecond_of_the_deadline():
    deadline = claim_deadline(shanghai(2026, 11, 13, 16, 0), 1)
    assert not expired(deadline, deadline)
    assert not expired(deadline, shanghai(2026, 11, 16, 23, 59, 59))
    assert expired(deadline, deadline + timedelta(microseconds=1))
    assert expired(deadline, datetime(2026, 11, 16, 16, 0, tzinfo=timezone.utc))   # 00:00 on the 17th
    with pytest.raises(ValueError):
        expired(deadline, datetime(2026, 11, 17))
