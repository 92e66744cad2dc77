"""Rewarded public reporting (有奖举报): who earns an award, how much, and the award's workflow.

Plain data in, plain data out; no I/O. Money is integer fen everywhere (1 yuan =
100 fen), never a float. Nothing here multiplies money by a factor, so there is no
rounding: a joint award is divided with integer division and the remainder fen
go to the first shares (`split`).

The tier table is versioned data: an award keeps the version it was computed
with, so an old version must stay loadable for as long as awards refer to it.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Callable, Sequence
from zoneinfo import ZoneInfo

from envgrid_contracts.incident import PUBLIC_CHANNELS

SHANGHAI = ZoneInfo("Asia/Shanghai")

OUTCOMES = ("stopped_on_spot", "rectification_ordered", "fined", "prosecution_referred")
OUTCOME_NAMES = {
    "stopped_on_spot": "当场制止",
    "rectification_ordered": "责令整改",
    "fined": "罚款",
    "prosecution_referred": "移送司法",
}
ANY_CATEGORY = "*"
BLACKLIST_EFFECTS = ("refuse", "review")
_CATEGORY = re.compile(r"^[a-z][a-z0-9_]{1,39}$")  # the category codes of grid-registry


def yuan(fen: int) -> str:
    """Integer fen as yuan for people to read: 150001 → "1500.01"."""
    sign = "-" if fen < 0 else ""
    return f"{sign}{abs(fen) // 100}.{abs(fen) % 100:02d}"


def _positive_int(value, what: str) -> int:
    # bool is an int in Python, and 1000.0 is not money: only a real int > 0 passes.
    if type(value) is not int or value <= 0:
        raise ValueError(f"{what} must be a positive integer (fen), not {value!r}")
    return value


# ---------------------------------------------------------------------------------------------
# The tier table


@dataclass(frozen=True)
class TierRow:
    category: str      # a category code, or "*" for any category
    outcome: str       # one of OUTCOMES
    amount_fen: int

    def to_dict(self) -> dict:
        return {"category": self.category, "outcome": self.outcome, "amount_fen": self.amount_fen}


@dataclass(frozen=True)
class TierTable:
    version: int
    rows: tuple[TierRow, ...]
    cap_per_report_fen: int
    cap_per_reporter_year_fen: int

    @classmethod
    def from_dict(cls, data: dict) -> "TierTable":
        """A table from its JSON form, checked:

            {"version": 2, "cap_per_report_fen": 500000, "cap_per_reporter_year_fen": 2000000,
             "rows": [{"category": "*", "outcome": "fined", "amount_fen": 100000}, ...]}

        Amounts and caps are positive integers of fen (no floats, no bools); outcomes
        are known; a category is a code or "*"; no (category, outcome) twice; every
        outcome has a "*" row, so every verified report finds an amount. Unknown keys
        are refused (a misspelt cap must not silently fall away). Raises ValueError.
        """
        if not isinstance(data, dict):
            raise ValueError("a tier table is a JSON object")
        unknown = set(data) - {"version", "rows", "cap_per_report_fen", "cap_per_reporter_year_fen"}
        if unknown:
            raise ValueError(f"tier table: unknown keys {sorted(unknown)}")
        version = _positive_int(data.get("version"), "tier table version")
        where = f"tier table v{version}"
        cap_report = _positive_int(data.get("cap_per_report_fen"), f"{where}: cap_per_report_fen")
        cap_year = _positive_int(data.get("cap_per_reporter_year_fen"), f"{where}: cap_per_reporter_year_fen")
        items = data.get("rows")
        if not isinstance(items, list) or not items:
            raise ValueError(f"{where}: rows must be a non-empty list")
        rows, seen = [], set()
        for item in items:
            if not isinstance(item, dict) or set(item) != {"category", "outcome", "amount_fen"}:
                raise ValueError(f"{where}: a row has exactly category, outcome and amount_fen: {item!r}")
            category, outcome = item["category"], item["outcome"]
            if not isinstance(category, str) or not (category == ANY_CATEGORY or _CATEGORY.match(category)):
                raise ValueError(f"{where}: category must be a category code or '*': {item!r}")
            if outcome not in OUTCOMES:
                raise ValueError(f"{where}: outcome must be one of {', '.join(OUTCOMES)}: {item!r}")
            amount = _positive_int(item["amount_fen"], f"{where}: amount_fen of {category}/{outcome}")
            if (category, outcome) in seen:
                raise ValueError(f"{where}: {category}/{outcome} is listed twice")
            seen.add((category, outcome))
            rows.append(TierRow(category, outcome, amount))
        missing = [o for o in OUTCOMES if (ANY_CATEGORY, o) not in seen]
        if missing:
            raise ValueError(f"{where}: a '*' fallback row is required for {', '.join(missing)}")
        return cls(version=version, rows=tuple(rows), cap_per_report_fen=cap_report,
                   cap_per_reporter_year_fen=cap_year)

    def to_dict(self) -> dict:
        """The JSON form `from_dict` reads: what an award stores with its tier version."""
        return {"version": self.version, "cap_per_report_fen": self.cap_per_report_fen,
                "cap_per_reporter_year_fen": self.cap_per_reporter_year_fen,
                "rows": [row.to_dict() for row in self.rows]}


def _tiers_v1() -> TierTable:
    # Version 1, the district's starting point. Illustrative amounts in the range of
    # Chinese provincial and municipal 生态环境违法行为举报奖励 schemes (typically a few
    # hundred to a few thousand yuan per verified report, graded by how the violation was
    # dealt with, with more for serious, hidden pollution that inspections find hard to
    # discover); not quoted from any one regulation (附件6 is not in the source).
    #   any category:   当场制止 200, 责令整改 500, 罚款 1000, 移送司法 2000 yuan;
    #   industrial emissions, water and soil pollution, pollution-control equipment not
    #   running (偷排、不正常运行治污设施): 责令整改 1000, 罚款 3000, 移送司法 5000 yuan;
    #   at most 5000 yuan per report and 20000 yuan per reporter per calendar year.
    rows = [{"category": "*", "outcome": o, "amount_fen": a}
            for o, a in zip(OUTCOMES, (200_00, 500_00, 1000_00, 2000_00))]
    for category in ("industrial_emissions", "water_pollution", "soil_pollution", "equipment_not_running"):
        rows += [{"category": category, "outcome": o, "amount_fen": a}
                 for o, a in zip(OUTCOMES[1:], (1000_00, 3000_00, 5000_00))]
    return TierTable.from_dict({"version": 1, "cap_per_report_fen": 5000_00,
                                "cap_per_reporter_year_fen": 20000_00, "rows": rows})


DEFAULT_TIERS = _tiers_v1()


def amount_for(category: str, outcome: str, tiers: TierTable) -> tuple[int, TierRow]:
    """The tier amount for a category and outcome, and the row it came from: the
    category's own row if there is one, else the "*" row (which `from_dict` guarantees).
    Raises ValueError for an unknown outcome."""
    if outcome not in OUTCOMES:
        raise ValueError(f"unknown outcome {outcome!r}: one of {', '.join(OUTCOMES)}")
    exact = wildcard = None
    for row in tiers.rows:
        if row.outcome != outcome:
            continue
        if row.category == category:
            exact = row
        elif row.category == ANY_CATEGORY:
            wildcard = row
    row = exact or wildcard
    if row is None:  # only a table built by hand, bypassing from_dict, can lack a fallback
        raise LookupError(f"tier table v{tiers.version} has no row for {category}/{outcome}")
    return row.amount_fen, row


# ---------------------------------------------------------------------------------------------
# Proposing an award


def split(amount_fen: int, n: int) -> list[int]:
    """`amount_fen` in `n` equal shares that sum to it exactly: the remainder fen go
    one each to the first shares (10001 in 3 → [3334, 3334, 3333])."""
    if type(amount_fen) is not int or amount_fen < 0:
        raise ValueError(f"amount must be a non-negative integer of fen, not {amount_fen!r}")
    if type(n) is not int or n < 1:
        raise ValueError(f"shares must be a positive integer, not {n!r}")
    base, remainder = divmod(amount_fen, n)
    return [base + 1 if i < remainder else base for i in range(n)]


@dataclass(frozen=True)
class Proposal:
    """An award the system proposes, with the amount and why."""
    amount_fen: int                 # the sum of shares
    shares: tuple[int, ...]         # one per joint reporter, in their order; a share may be 0 (yearly cap)
    tier_version: int
    row: TierRow                    # the tier row used
    needs_review: bool              # a blacklisted reporter under the "review" effect
    claim_with_identity: bool       # an anonymous reporter claims with tracking code and identity
    why: tuple[str, ...]


@dataclass(frozen=True)
class Refusal:
    reason: str                     # "not verified true", "duplicate", "not a public channel",
    why: tuple[str, ...]            # "blacklisted", "yearly cap reached"


def propose(report: dict, tiers: TierTable, paid_this_year_fen: int | Sequence[int], blacklisted: bool,
            blacklist_effect: str = "refuse") -> Proposal | Refusal:
    """The award a verified public report earns, or why it earns none.

    `report`: category, outcome (one of OUTCOMES), verified_true, channel,
    reporter_named, duplicate_of (None for the first report), joint_reporters (≥ 1).

    In order: the case must be verified true (查证属实); the report must be the first
    (a duplicate's reporter was not first, and the first reporter wins); it must come
    from a public channel. A blacklisted reporter is refused, or proposed with
    needs_review, per `blacklist_effect`. The amount is the tier amount, capped per
    report, then split equally between joint reporters; each share is then capped by
    what that reporter's yearly cap leaves (cap − paid this year, never negative).

    `paid_this_year_fen` is one figure per joint reporter, or one int for all of them
    (for a single reporter the two are the same: the yearly cap applies to the whole
    award). If every share is capped to 0 → refusal "yearly cap reached"; otherwise a
    share capped to 0 stays 0 in `shares` and pays nothing.

    An anonymous reporter (not reporter_named) is proposed all the same, with
    claim_with_identity: they claim with their tracking code and identity within the
    claim window, and the yearly cap is known only then; propose again at the claim
    with their paid_this_year_fen.
    """
    if blacklist_effect not in BLACKLIST_EFFECTS:
        raise ValueError(f"blacklist effect must be one of {', '.join(BLACKLIST_EFFECTS)}")
    joint = report.get("joint_reporters", 1)
    if type(joint) is not int or joint < 1:
        raise ValueError(f"joint_reporters must be an integer ≥ 1, not {joint!r}")
    paid = _paid_per_reporter(paid_this_year_fen, joint)
    category, outcome = report.get("category"), report.get("outcome")

    if report.get("verified_true") is not True:
        return Refusal("not verified true", ("案件未查证属实 (the case was not verified true)",))
    if report.get("duplicate_of") is not None:
        return Refusal("duplicate", (f"重复举报,首报为 {report['duplicate_of']},首位举报人获奖 "
                                     f"(a duplicate of {report['duplicate_of']}: the first reporter wins)",))
    if report.get("channel") not in PUBLIC_CHANNELS:
        return Refusal("not a public channel", (f"渠道 {report.get('channel')} 不属公众举报 "
                                                f"(channel {report.get('channel')} is not a public channel)",))
    if blacklisted and blacklist_effect == "refuse":
        return Refusal("blacklisted", ("举报人在虚假举报黑名单中,不予奖励 "
                                       "(the reporter is blacklisted for false reports: refused)",))

    tier_fen, row = amount_for(category, outcome, tiers)
    why = [f"档位 v{tiers.version}:类别 {row.category} / {OUTCOME_NAMES[outcome]} → {yuan(tier_fen)} 元 "
           f"(tier v{tiers.version}, row {row.category}/{outcome}: {yuan(tier_fen)} yuan)"]
    amount = tier_fen
    if amount > tiers.cap_per_report_fen:
        amount = tiers.cap_per_report_fen
        why.append(f"单次举报上限 {yuan(amount)} 元 (capped at {yuan(amount)} yuan per report)")
    shares = split(amount, joint)
    if joint > 1:
        why.append(f"{joint} 名联名举报人平分:{' / '.join(yuan(s) for s in shares)} 元 "
                   f"(shared equally by {joint} joint reporters)")
    capped = []
    for i, (share, paid_fen) in enumerate(zip(shares, paid)):
        left = max(tiers.cap_per_reporter_year_fen - paid_fen, 0)
        if share > left:
            who = f"举报人 {i + 1} " if joint > 1 else ""
            who_en = f"reporter {i + 1}" if joint > 1 else "the reporter"
            why.append(f"{who}年度上限 {yuan(tiers.cap_per_reporter_year_fen)} 元,已获 {yuan(paid_fen)} 元,"
                       f"本次至多 {yuan(left)} 元 (yearly cap: {who_en} has {yuan(left)} yuan left)")
            share = left
        capped.append(share)
    if not any(capped):
        why.append("年度奖励已达上限 (yearly cap reached)")
        return Refusal("yearly cap reached", tuple(why))
    if blacklisted:
        why.append("举报人在虚假举报黑名单中,须人工复核 (the reporter is blacklisted: needs review)")
    if report.get("reporter_named") is not True:
        why.append("匿名举报:凭查询码和身份证明在领奖期限内领取 "
                   "(anonymous: claim with the tracking code and identity within the claim window)")
    return Proposal(amount_fen=sum(capped), shares=tuple(capped), tier_version=tiers.version, row=row,
                    needs_review=blacklisted, claim_with_identity=report.get("reporter_named") is not True,
                    why=tuple(why))


def _paid_per_reporter(paid_this_year_fen, joint: int) -> list[int]:
    figures = [paid_this_year_fen] * joint if isinstance(paid_this_year_fen, int) else list(paid_this_year_fen)
    if len(figures) != joint:
        raise ValueError(f"paid_this_year_fen: {len(figures)} figures for {joint} joint reporters")
    for figure in figures:
        if type(figure) is not int or figure < 0:
            raise ValueError(f"paid_this_year_fen must be non-negative integers of fen, not {figure!r}")
    return figures


# ---------------------------------------------------------------------------------------------
# The workflow: proposed → reviewed → approved → paid, with the two-person rule
# (and paid → approved again when the bank reports the transfer failed, or returns it)

STATES = ("proposed", "reviewed", "approved", "paid", "cancelled", "expired", "clawed_back")
FINAL_STATES = ("cancelled", "expired", "clawed_back")
TRANSITIONS = {
    ("proposed", "review"): "reviewed",
    ("reviewed", "approve"): "approved",
    ("approved", "pay"): "paid",
    ("proposed", "cancel"): "cancelled",
    ("reviewed", "cancel"): "cancelled",
    ("approved", "cancel"): "cancelled",
    # Unclaimed within the claim window (claim_deadline): the award lapses.
    ("proposed", "expire"): "expired",
    ("reviewed", "expire"): "expired",
    ("approved", "expire"): "expired",
    # A false report found after payment: reversed in the ledger, never edited.
    ("paid", "claw_back"): "clawed_back",
    # The bank reports the transfer failed (reconciliation): the money never left, the
    # award is payable again and is paid under a new reference. Still approved by the
    # same two people: nothing about the award changed, only the transfer failed.
    ("paid", "payment_failed"): "approved",
    # The bank sends back a transfer it had confirmed (退汇: a wrong account, a closed card),
    # days later: the money came back, and the award is payable again under a new reference,
    # as after a failure. Only a paid award: a clawed-back one is recovered instead.
    ("paid", "payment_returned"): "approved",
}
ACTIONS = tuple(dict.fromkeys(action for _, action in TRANSITIONS))


class WorkflowError(Exception):
    """codes: "illegal" (no such transition from this state: a conflict), "same_person"
    (the approver reviewed it: two-person rule), "not_approved" (paying an award not
    yet approved), "no_reviewer" (approving without knowing who reviewed)."""

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code
        self.message = message


def transition(state: str, action: str, actor: str, reviewer: str | None = None) -> str:
    """The state after `actor` takes `action` on an award in `state`.

    Approving needs `reviewer`, the person who reviewed it, and the approver must be
    someone else. Raises WorkflowError; ValueError for an unknown state or action.
    """
    if state not in STATES:
        raise ValueError(f"unknown award state {state!r}")
    if action not in ACTIONS:
        raise ValueError(f"unknown action {action!r}: one of {', '.join(ACTIONS)}")
    if not actor:
        raise ValueError("every step needs the actor who takes it")
    if action == "pay" and state in ("proposed", "reviewed"):
        raise WorkflowError("not_approved", f"an award that is {state}, not approved, cannot be paid")
    new_state = TRANSITIONS.get((state, action))
    if new_state is None:
        raise WorkflowError("illegal", f"cannot {action} an award that is {state}")
    if action == "approve":
        if not reviewer:
            raise WorkflowError("no_reviewer", "approving needs to know who reviewed the award")
        if reviewer == actor:
            raise WorkflowError("same_person", "the reviewer cannot also approve (two-person rule)")
    return new_state


# ---------------------------------------------------------------------------------------------
# The claim window


def statutory_workday(day: date) -> bool:
    """China's working days, with holidays and make-up working days (chinese_calendar);
    beyond the years it knows, or without it, Monday to Friday."""
    try:
        import chinese_calendar
        return chinese_calendar.is_workday(day)
    except (NotImplementedError, ImportError):
        return day.weekday() < 5


def claim_deadline(notice_at: datetime, working_days: int = 15, *,
                   is_workday: Callable[[date], bool] | None = None) -> datetime:
    """The last moment to claim: the end (23:59:59.999999, Asia/Shanghai) of the
    `working_days`-th working day after the day of the notice, that day itself not
    counted. Working days are China's statutory ones (holidays off, make-up days on),
    or the district's own calendar given as `is_workday`. Returned in Asia/Shanghai.
    """
    _require_aware(notice_at, "notice_at")
    if type(working_days) is not int or working_days < 1:
        raise ValueError(f"working_days must be a positive integer, not {working_days!r}")
    workday = is_workday or statutory_workday
    day, counted = notice_at.astimezone(SHANGHAI).date(), 0
    while counted < working_days:
        day += timedelta(days=1)
        if workday(day):
            counted += 1
    return datetime.combine(day, time.max, SHANGHAI)


def expired(deadline: datetime, now: datetime) -> bool:
    """Whether the claim window has closed: the deadline itself is still in time."""
    _require_aware(deadline, "deadline")
    _require_aware(now, "now")
    return now > deadline


# ---------------------------------------------------------------------------------------------
# A returned transfer (退汇)

RETURN_REASON_MAX = 200


def check_return(paid_at: datetime, returned_on: date | None, reason: str | None, now: datetime) -> str | None:
    """What is wrong with the bank's account of a returned transfer (None if nothing).

    The return date, when the bank's file gives one, is a day in Asia/Shanghai: not
    before the day the transfer was made, and not after today. The reason, when given,
    is 1 to RETURN_REASON_MAX characters of text (the bank's own words, e.g. 账户已销户).
    """
    _require_aware(paid_at, "paid_at")
    _require_aware(now, "now")
    if returned_on is not None:
        if not isinstance(returned_on, date) or isinstance(returned_on, datetime):
            return f"the return date must be a date, not {returned_on!r}"
        paid_on, today = paid_at.astimezone(SHANGHAI).date(), now.astimezone(SHANGHAI).date()
        if returned_on < paid_on:
            return f"returned on {returned_on.isoformat()}, before it was paid on {paid_on.isoformat()}"
        if returned_on > today:
            return f"returned on {returned_on.isoformat()}, which is after today ({today.isoformat()})"
    if reason is not None and (not isinstance(reason, str) or not reason.strip()
                               or len(reason) > RETURN_REASON_MAX):
        return f"the return reason is 1 to {RETURN_REASON_MAX} characters of text"
    return None


def _require_aware(moment: datetime, what: str) -> None:
    if not isinstance(moment, datetime) or moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"{what} must be an aware datetime")
