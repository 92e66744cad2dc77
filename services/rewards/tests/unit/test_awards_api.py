"""Awards through their workflow: proposed from a verified report, reviewed, approved by another
person within the budget, paid once, clawed back with a reversing entry."""
import json
from datetime import datetime, timedelta

from sqlalchemy import select

from servicekit.tables import outbox

API = "/api/v1/rewards"


def award_of(client, office, incident_id):
    items = client.get(f"{API}/queue/to_review", headers=office).get_json()["items"]
    return next(a for a in items if a["incident_id"] == incident_id)


def test_a_verified_public_report_is_proposed_its_tier_amount_and_why(client, verified_report, as_role):
    verified_report("R1", outcome="fined")
    office = as_role("rewards_office")
    award = award_of(client, office, "R1")
    assert award["amount_fen"] == 100000 and award["amount_yuan"] == "1000.00" and award["tier_version"] == 1
    assert award["why"] and award["state"] == "proposed" and award["claim_deadline"] is None


def test_nothing_for_unverified_non_public_or_duplicate_reports(client, verified_report, as_role, deliver):
    verified_report("R2", verified=False)
    verified_report("R3", channel="patrol")
    verified_report("R4", duplicate_of="R0")
    assert client.get(f"{API}/queue/to_review", headers=as_role("rewards_office")).get_json()["items"] == []


def test_an_anonymous_reporter_has_a_claim_window_and_sees_the_award_with_the_code(client, verified_report,
                                                                                    as_role):
    verified_report("R5", code="WXYZ-1234-5678", named=False)
    office = as_role("rewards_office")
    assert award_of(client, office, "R5")["claim_deadline"]
    status = client.get(f"{API}/status/wxyz-1234-5678", headers=as_role("public")).get_json()
    assert status["award"] is True and status["amount_yuan"] == "1000.00" and status["claim_deadline"]
    assert client.get(f"{API}/status/0000-0000-0000", headers=as_role("public")).status_code == 404


def test_two_people_approve_within_the_budget_and_money_moves_once(client, verified_report, as_role, db):
    verified_report("R1")
    clerk, head = as_role("rewards_office", subject="clerk"), as_role("rewards_office", subject="head")
    award_id = award_of(client, clerk, "R1")["award_id"]
    assert client.post(f"{API}/awards/{award_id}/approve", headers=clerk, json={}).status_code == 409  # not reviewed
    assert client.post(f"{API}/awards/{award_id}/review", headers=clerk, json={}).status_code == 200
    same = client.post(f"{API}/awards/{award_id}/approve", headers=clerk, json={})
    assert same.status_code == 403 and same.get_json()["error"]["code"] == "same_person"
    no_budget = client.post(f"{API}/awards/{award_id}/approve", headers=head, json={})
    assert no_budget.status_code == 409 and no_budget.get_json()["error"]["code"] == "no_budget"
    year = award_of_any(client, head, award_id)["year"]
    client.put(f"{API}/budgets/{year}", headers=head, json={"ceiling_fen": 50000})
    over = client.post(f"{API}/awards/{award_id}/approve", headers=head, json={})
    assert over.status_code == 409 and over.get_json()["error"]["code"] == "budget_exceeded"
    assert client.get(f"{API}/budgets/{year}", headers=head).get_json()["available_fen"] == 50000


def award_of_any(client, office, award_id):
    return client.get(f"{API}/awards/{award_id}", headers=office).get_json()


def _approved(client, as_role, verified_report, incident_id="R1", ceiling=1_000_000):
    verified_report(incident_id)
    clerk, head = as_role("rewards_office", subject="clerk"), as_role("rewards_office", subject="head")
    award_id = award_of(client, clerk, incident_id)["award_id"]
    year = award_of_any(client, head, award_id)["year"]
    client.put(f"{API}/budgets/{year}", headers=head, json={"ceiling_fen": ceiling})
    client.post(f"{API}/awards/{award_id}/review", headers=clerk, json={})
    assert client.post(f"{API}/awards/{award_id}/approve", headers=head, json={}).status_code == 200
    return award_id, year, head


def test_a_payment_needs_its_key_and_reference_and_happens_once(client, verified_report, as_role):
    award_id, year, head = _approved(client, as_role, verified_report)
    body = {"channel": "wechat_pay", "reference": "WX4200001234"}
    assert client.post(f"{API}/awards/{award_id}/pay", headers=head, json=body).status_code == 400
    paid = client.post(f"{API}/awards/{award_id}/pay", headers={**head, "Idempotency-Key": "pay-1"}, json=body)
    assert paid.status_code == 200 and paid.get_json()["state"] == "paid"
    replay = client.post(f"{API}/awards/{award_id}/pay", headers={**head, "Idempotency-Key": "pay-1"}, json=body)
    assert replay.get_json() == paid.get_json() and replay.headers["Idempotent-Replayed"] == "true"
    again = client.post(f"{API}/awards/{award_id}/pay", headers={**head, "Idempotency-Key": "pay-2"},
                        json={"channel": "bank", "reference": "BANK-0001"})
    assert again.status_code == 409
    balances = client.get(f"{API}/budgets/{year}", headers=head).get_json()
    assert balances["available_fen"] == 1_000_000 - 100000
    assert balances["balances"]["paid"] == 100000 and balances["balances"].get("payable", 0) == 0


def test_a_false_report_found_later_is_clawed_back_by_reversing_entries(client, verified_report, as_role, db):
    from rewards.models import blacklist, ledger_entries
    award_id, year, head = _approved(client, as_role, verified_report)
    client.post(f"{API}/awards/{award_id}/pay", headers={**head, "Idempotency-Key": "k"},
                json={"channel": "bank", "reference": "BANK-0002"})
    back = client.post(f"{API}/awards/{award_id}/claw_back", headers=head,
                       json={"reason": "复查发现举报不实", "blacklist": True})
    assert back.status_code == 200 and back.get_json()["state"] == "clawed_back"
    with db.transaction() as session:
        kinds = session.execute(select(ledger_entries.c.kind).where(ledger_entries.c.award_id == award_id)
                                .order_by(ledger_entries.c.at)).scalars().all()
        assert kinds == ["award_approved", "award_paid", "award_clawed_back"]
        assert session.execute(select(blacklist.c.reporter_key)).scalars().all() == ["pseudonym-1"]
    balances = client.get(f"{API}/budgets/{year}", headers=head).get_json()["balances"]
    assert balances["clawback"] == 100000 and balances["paid"] == 0


def test_subsidy_lists_become_payouts_through_the_same_workflow(client, deliver, as_role, db):
    deliver("assessment.subsidies_published", {
        "period": "2026-10", "grid_code": "140502001001001", "grade": "合格", "rule_version": 1, "total_fen": 48000,
        "payees": [{"person_id": "P1", "name": "张伟", "role": "leader", "amount_fen": 24000},
                   {"person_id": "P3", "name": "刘强", "role": "unit_leader", "amount_fen": 24000}]}, "assessment")
    clerk, head = as_role("rewards_office", subject="clerk"), as_role("rewards_office", subject="head")
    queue = client.get(f"{API}/queue/to_review", headers=clerk).get_json()["items"]
    assert sorted((a["payee"], a["amount_fen"], a["kind"]) for a in queue) == [("刘强", 24000, "subsidy"),
                                                                              ("张伟", 24000, "subsidy")]
    award_id, year = queue[0]["award_id"], queue[0]["year"]
    client.put(f"{API}/budgets/{year}", headers=head, json={"ceiling_fen": 100000})
    client.post(f"{API}/awards/{award_id}/review", headers=clerk, json={})
    client.post(f"{API}/awards/{award_id}/approve", headers=head, json={})
    client.post(f"{API}/awards/{award_id}/pay", headers={**head, "Idempotency-Key": "s1"},
                json={"channel": "bank", "reference": "BANK-S-1"})
    with db.transaction() as session:
        types = session.execute(select(outbox.c.event_type).order_by(outbox.c.id)).scalars().all()
    assert types.count("reward.proposed") == 2 and "payout.paid" in types and "reward.paid" not in types


def test_reconciliation_with_an_unknown_reference_changes_nothing(client, verified_report, as_role, db):
    from rewards.models import payments
    award_id, year, head = _approved(client, as_role, verified_report)
    client.post(f"{API}/awards/{award_id}/pay", headers={**head, "Idempotency-Key": "k"},
                json={"channel": "bank", "reference": "BANK-0003"})
    bad = client.post(f"{API}/reconciliation", headers=head, json={"lines": [
        {"reference": "BANK-0003", "status": "confirmed"}, {"reference": "BANK-9999", "status": "confirmed"}]})
    assert bad.status_code == 422 and bad.get_json()["error"]["fields"]["lines"][0]["line"] == 3
    with db.transaction() as session:
        assert session.execute(select(payments.c.reconciled)).scalar_one() is None
    good = client.post(f"{API}/reconciliation", headers=head, json={"lines": [
        {"reference": "BANK-0003", "status": "confirmed"}]})
    assert good.status_code == 200


def test_only_the_reward_office_reaches_the_awards(client, verified_report, as_role):
    verified_report("R1")
    for role in ("district_ops", "grid_staff", "public", "admin", "city_platform"):
        assert client.get(f"{API}/queue/to_review", headers=as_role(role)).status_code == 403, role


def test_no_reporter_identity_in_awards_or_events(client, verified_report, as_role, db):
    verified_report("R1")
    with db.transaction() as session:
        payloads = session.execute(select(outbox.c.payload)).scalars().all()
    assert all("pseudonym-1" not in p for p in payloads)
    assert json.loads(payloads[0])["data"]["incident_id"] == "R1"


def test_a_blacklisted_reporter_is_reviewed_or_refused_as_the_district_chose(client, verified_report, as_role, db,
                                                                              monkeypatch):
    from rewards.models import blacklist
    from servicekit.tables import utcnow
    with db.transaction() as session:
        session.execute(blacklist.insert().values(reporter_key="pseudonym-1", reason="虚假举报", added_by="head",
                                                  added_at=utcnow()))
    office = as_role("rewards_office")
    verified_report("R1")
    assert award_of(client, office, "R1")["note"].startswith("需复核")
    monkeypatch.setenv("REWARDS_BLACKLIST_EFFECT", "refuse")
    verified_report("R2")
    assert [a["incident_id"] for a in client.get(f"{API}/queue/to_review", headers=office).get_json()["items"]] == ["R1"]


# --- a transfer the bank reports failed --------------------------------------------------------

def _paid(client, as_role, verified_report, incident_id="R1", reference="BANK-0101"):
    award_id, year, head = _approved(client, as_role, verified_report, incident_id)
    paid = client.post(f"{API}/awards/{award_id}/pay", headers={**head, "Idempotency-Key": f"pay-{reference}"},
                       json={"channel": "bank", "reference": reference})
    assert paid.status_code == 200, paid.get_json()
    return award_id, year, head


def _kinds(db, award_id):
    from rewards.models import ledger_entries
    with db.transaction() as session:
        return session.execute(select(ledger_entries.c.kind).where(ledger_entries.c.award_id == award_id)
                               .order_by(ledger_entries.c.at, ledger_entries.c.entry_id)).scalars().all()


def _paid_again(client, head, award_id, used, new) -> dict:
    """After a failed or returned transfer: the old reference is refused, a new one pays (its payments listed)."""
    reused = client.post(f"{API}/awards/{award_id}/pay", headers={**head, "Idempotency-Key": "again-1"},
                         json={"channel": "bank", "reference": used})
    assert reused.status_code == 409 and reused.get_json()["error"]["code"] == "reference_used"
    again = client.post(f"{API}/awards/{award_id}/pay", headers={**head, "Idempotency-Key": "again-2"},
                        json={"channel": "bank", "reference": new})
    assert again.status_code == 200 and again.get_json()["state"] == "paid"
    return again.get_json()


def test_a_failed_transfer_puts_the_award_back_to_pay_and_it_is_paid_again_under_a_new_reference(
        client, verified_report, as_role, db):
    award_id, year, head = _paid(client, as_role, verified_report, reference="BANK-0101")
    failed = client.post(f"{API}/reconciliation", headers=head,
                         json={"lines": [{"reference": "BANK-0101", "status": "failed"}]})
    assert failed.status_code == 200 and failed.get_json() == \
        {"reconciled": 1, "changed": 1, "failed": 1, "returned": 0}
    award = award_of_any(client, head, award_id)
    assert award["state"] == "approved"
    assert [(p["attempt"], p["reference"], p["reconciled"]) for p in award["payments"]] == [(1, "BANK-0101", "failed")]
    assert award["payment"]["reconciled"] == "failed" and award["payments"][0]["reconciled_at"]
    assert [a["award_id"] for a in client.get(f"{API}/queue/to_pay", headers=head).get_json()["items"]] == [award_id]
    assert award_id in client.get(f"{API}/batches/payable?format=csv", headers=head).get_data(as_text=True)
    books = client.get(f"{API}/budgets/{year}", headers=head).get_json()
    assert books["balances"]["paid"] == 0 and books["balances"]["payable"] == 100000
    assert books["available_fen"] == 1_000_000 - 100000   # still owed to the reporter: committed
    with db.transaction() as session:
        events = [json.loads(p) for p in session.execute(select(outbox.c.payload).where(
            outbox.c.event_type == "reward.payment_failed")).scalars().all()]
    assert len(events) == 1 and events[0]["data"]["award_id"] == award_id and events[0]["data"]["state"] == "approved"
    assert "pseudonym-1" not in json.dumps(events) and "BANK-0101" not in json.dumps(events)

    again = _paid_again(client, head, award_id, "BANK-0101", "BANK-0102")
    assert [(p["attempt"], p["reference"], p["reconciled"]) for p in again["payments"]] == [
        (1, "BANK-0101", "failed"), (2, "BANK-0102", None)]
    assert client.get(f"{API}/queue/to_pay", headers=head).get_json()["items"] == []

    bank_file = {"lines": [{"reference": "BANK-0101", "status": "failed"},
                           {"reference": "BANK-0102", "status": "confirmed"}]}
    first = client.post(f"{API}/reconciliation", headers=head, json=bank_file)
    assert first.status_code == 200 and first.get_json() == \
        {"reconciled": 2, "changed": 1, "failed": 0, "returned": 0}
    kinds = _kinds(db, award_id)
    assert kinds == ["award_approved", "award_paid", "award_payment_failed", "award_paid"]
    second = client.post(f"{API}/reconciliation", headers=head, json=bank_file)
    assert second.status_code == 200 and second.get_json() == \
        {"reconciled": 2, "changed": 0, "failed": 0, "returned": 0}
    assert _kinds(db, award_id) == kinds
    award = award_of_any(client, head, award_id)
    assert award["state"] == "paid" and [p["reconciled"] for p in award["payments"]] == ["failed", "confirmed"]
    books = client.get(f"{API}/budgets/{year}", headers=head).get_json()
    assert books["balances"]["paid"] == 100000 and books["balances"]["payable"] == 0
    assert books["available_fen"] == 1_000_000 - 100000


def test_a_bank_result_is_final_a_failed_payment_is_not_confirmed_nor_a_confirmed_one_failed(
        client, verified_report, as_role, db):
    award_id, year, head = _paid(client, as_role, verified_report, "R1", reference="BANK-0201")
    other_id, _, _ = _paid(client, as_role, verified_report, "R2", reference="BANK-0202")
    first = client.post(f"{API}/reconciliation", headers=head, json={"lines": [
        {"reference": "BANK-0201", "status": "failed"}, {"reference": "BANK-0202", "status": "confirmed"}]})
    assert first.status_code == 200
    refused = client.post(f"{API}/reconciliation", headers=head, json={"lines": [
        {"reference": "BANK-0201", "status": "confirmed"}, {"reference": "BANK-0202", "status": "failed"}]})
    assert refused.status_code == 422
    problems = refused.get_json()["error"]["fields"]["lines"]
    assert [p["line"] for p in problems] == [2, 3]
    assert "failed earlier" in problems[0]["problem"] and "confirmed earlier" in problems[1]["problem"]
    assert award_of_any(client, head, award_id)["payment"]["reconciled"] == "failed"
    assert award_of_any(client, head, other_id)["state"] == "paid"


def test_reconciliation_with_a_bad_line_fails_no_payment(client, verified_report, as_role, db):
    award_id, year, head = _paid(client, as_role, verified_report, "R1", reference="BANK-0301")
    bad = client.post(f"{API}/reconciliation", headers=head, json={"lines": [
        {"reference": "BANK-0301", "status": "failed"}, {"reference": "BANK-0301", "status": "confirmed"},
        {"reference": "BANK-9999", "status": "failed"}]})
    assert bad.status_code == 422
    assert [p["line"] for p in bad.get_json()["error"]["fields"]["lines"]] == [3, 4]
    award = award_of_any(client, head, award_id)
    assert award["state"] == "paid" and award["payment"]["reconciled"] is None
    assert _kinds(db, award_id) == ["award_approved", "award_paid"]


def test_a_payment_of_a_clawed_back_award_cannot_fail_and_the_line_says_why(client, verified_report, as_role, db):
    award_id, year, head = _paid(client, as_role, verified_report, reference="BANK-0401")
    assert client.post(f"{API}/awards/{award_id}/claw_back", headers=head, json={"reason": "不实"}).status_code == 200
    refused = client.post(f"{API}/reconciliation", headers=head,
                          json={"lines": [{"reference": "BANK-0401", "status": "failed"}]})
    assert refused.status_code == 422
    (problem,) = refused.get_json()["error"]["fields"]["lines"]
    assert problem["line"] == 2 and "clawed back" in problem["problem"]
    assert _kinds(db, award_id) == ["award_approved", "award_paid", "award_clawed_back"]


# --- a confirmed transfer the bank returns later (退汇) ------------------------------------------

def _confirmed(client, as_role, verified_report, incident_id="R1", reference="BANK-0501"):
    award_id, year, head = _paid(client, as_role, verified_report, incident_id, reference=reference)
    confirmed = client.post(f"{API}/reconciliation", headers=head,
                            json={"lines": [{"reference": reference, "status": "confirmed"}]})
    assert confirmed.status_code == 200, confirmed.get_json()
    return award_id, year, head


def _today():
    from rewards.domain import SHANGHAI
    return datetime.now(SHANGHAI).date()


def test_a_returned_transfer_puts_the_award_back_to_pay_and_it_is_paid_again_under_a_new_reference(
        client, verified_report, as_role, db):
    from rewards.models import ledger_entries
    award_id, year, head = _confirmed(client, as_role, verified_report, reference="BANK-0501")
    returned_on = _today().isoformat()
    bank_file = {"lines": [{"reference": "BANK-0501", "status": "returned", "returned_on": returned_on,
                            "reason": "收款账户已销户"}]}
    returned = client.post(f"{API}/reconciliation", headers=head, json=bank_file)
    assert returned.status_code == 200, returned.get_json()
    assert returned.get_json() == {"reconciled": 1, "changed": 1, "failed": 0, "returned": 1}
    award = award_of_any(client, head, award_id)
    assert award["state"] == "approved"
    (attempt,) = award["payments"]
    assert (attempt["reference"], attempt["outcome"], attempt["reconciled"], attempt["returned_on"],
            attempt["return_reason"]) == ("BANK-0501", "returned", "returned", returned_on, "收款账户已销户")
    assert attempt["reconciled_at"] and attempt["returned_at"]   # the confirmation is kept beside the return
    assert [a["award_id"] for a in client.get(f"{API}/queue/to_pay", headers=head).get_json()["items"]] == [award_id]
    assert award_id in client.get(f"{API}/batches/payable?format=csv", headers=head).get_data(as_text=True)
    books = client.get(f"{API}/budgets/{year}", headers=head).get_json()
    assert books["balances"]["paid"] == 0 and books["balances"]["payable"] == 100000
    assert books["available_fen"] == 1_000_000 - 100000
    with db.transaction() as session:
        entry = session.execute(select(ledger_entries).where(
            ledger_entries.c.kind == "award_payment_returned")).one()
        events = [json.loads(p) for p in session.execute(select(outbox.c.payload).where(
            outbox.c.event_type == "reward.payment_returned")).scalars().all()]
    assert (entry.award_id, entry.debit, entry.credit, entry.amount_fen, entry.reference, entry.value_date,
            entry.reason) == (award_id, "payable", "paid", 100000, "BANK-0501", _today(), "收款账户已销户")
    assert len(events) == 1 and events[0]["data"]["award_id"] == award_id and events[0]["data"]["state"] == "approved"
    assert all(secret not in json.dumps(events) for secret in ("pseudonym-1", "BANK-0501", "销户"))

    # Imported again, the return file changes nothing; neither does the old confirmation file.
    for again in (bank_file, {"lines": [{"reference": "BANK-0501", "status": "confirmed"}]}):
        answer = client.post(f"{API}/reconciliation", headers=head, json=again)
        assert answer.status_code == 200 and answer.get_json()["changed"] == 0, answer.get_json()
    assert _kinds(db, award_id) == ["award_approved", "award_paid", "award_payment_returned"]

    again = _paid_again(client, head, award_id, "BANK-0501", "BANK-0502")
    assert [(p["attempt"], p["reference"], p["outcome"]) for p in again["payments"]] == [
        (1, "BANK-0501", "returned"), (2, "BANK-0502", "pending")]
    later = client.post(f"{API}/reconciliation", headers=head, json={"lines": [
        *bank_file["lines"], {"reference": "BANK-0502", "status": "confirmed"}]})
    assert later.status_code == 200 and later.get_json() == {"reconciled": 2, "changed": 1, "failed": 0, "returned": 0}
    assert _kinds(db, award_id) == ["award_approved", "award_paid", "award_payment_returned", "award_paid"]
    books = client.get(f"{API}/budgets/{year}", headers=head).get_json()
    assert books["balances"]["paid"] == 100000 and books["balances"]["payable"] == 0
    assert sum(books["balances"].values()) == 0 and books["available_fen"] == 1_000_000 - 100000


def test_a_return_is_refused_per_line_and_then_nothing_of_the_file_is_recorded(client, verified_report, as_role,
                                                                               db):
    confirmed_id, _, head = _confirmed(client, as_role, verified_report, "R1", reference="BANK-0601")
    pending_id, _, _ = _paid(client, as_role, verified_report, "R2", reference="BANK-0602")
    failed_id, _, _ = _paid(client, as_role, verified_report, "R3", reference="BANK-0603")
    clawed_id, _, _ = _confirmed(client, as_role, verified_report, "R4", reference="BANK-0604")
    assert client.post(f"{API}/reconciliation", headers=head, json={
        "lines": [{"reference": "BANK-0603", "status": "failed"}]}).status_code == 200
    assert client.post(f"{API}/awards/{clawed_id}/claw_back", headers=head, json={"reason": "不实"}).status_code == 200
    tomorrow = (_today() + timedelta(days=1)).isoformat()
    refused = client.post(f"{API}/reconciliation", headers=head, json={"lines": [
        {"reference": "BANK-0601", "status": "returned", "reason": "户名不符"},      # 2: would do, but not alone
        {"reference": "BANK-0602", "status": "returned"},                           # 3: pending: it failed
        {"reference": "BANK-0603", "status": "returned"},                           # 4: failed already
        {"reference": "BANK-0604", "status": "returned"},                           # 5: clawed back
        {"reference": "BANK-9999", "status": "returned"},                           # 6: unknown
        {"reference": "BANK-0601", "status": "failed"},                             # 7: returned on line 2
        {"reference": "BANK-0602", "status": "confirmed", "reason": "x"},           # 8: a reason on a confirmation
    ]})
    assert refused.status_code == 422
    problems = {p["line"]: p["problem"] for p in refused.get_json()["error"]["fields"]["lines"]}
    assert sorted(problems) == [3, 4, 5, 6, 7, 8]
    assert "failed, not returned" in problems[3] and "failed earlier" in problems[4]
    assert "clawed back" in problems[5] and "unknown reference" in problems[6]
    assert "returned here" not in problems[7] and "returned on line 2" in problems[7]
    assert "belong to a returned line" in problems[8]
    future = client.post(f"{API}/reconciliation", headers=head, json={"lines": [
        {"reference": "BANK-0601", "status": "returned", "returned_on": tomorrow}]})
    assert future.status_code == 422 and "after today" in future.get_json()["error"]["fields"]["lines"][0]["problem"]
    late_failure = client.post(f"{API}/reconciliation", headers=head, json={"lines": [
        {"reference": "BANK-0601", "status": "failed"}]})
    assert late_failure.status_code == 422
    assert "is returned" in late_failure.get_json()["error"]["fields"]["lines"][0]["problem"]

    assert award_of_any(client, head, confirmed_id)["state"] == "paid"
    assert award_of_any(client, head, confirmed_id)["payment"]["outcome"] == "confirmed"
    assert award_of_any(client, head, pending_id)["payment"]["outcome"] == "pending"
    assert _kinds(db, confirmed_id) == ["award_approved", "award_paid"]
    assert _kinds(db, clawed_id) == ["award_approved", "award_paid", "award_clawed_back"]
    with db.transaction() as session:
        assert session.execute(select(outbox.c.event_type).where(
            outbox.c.event_type == "reward.payment_returned")).all() == []


def test_a_returned_payment_is_not_failed_and_its_return_is_recorded_once(client, verified_report, as_role, db):
    award_id, _, head = _confirmed(client, as_role, verified_report, reference="BANK-0701")
    assert client.post(f"{API}/reconciliation", headers=head, json={
        "lines": [{"reference": "BANK-0701", "status": "returned"}]}).status_code == 200
    failed = client.post(f"{API}/reconciliation", headers=head, json={
        "lines": [{"reference": "BANK-0701", "status": "failed"}]})
    assert failed.status_code == 422
    assert "returned earlier" in failed.get_json()["error"]["fields"]["lines"][0]["problem"]
    assert client.post(f"{API}/reconciliation", headers=head, json={
        "lines": [{"reference": "BANK-0701", "status": "returned"}]}).get_json()["changed"] == 0
    other = client.post(f"{API}/reconciliation", headers=head, json={
        "lines": [{"reference": "BANK-0701", "status": "returned", "reason": "又一次"}]})
    assert other.status_code == 422 and "recorded once" in other.get_json()["error"]["fields"]["lines"][0]["problem"]
    assert _kinds(db, award_id) == ["award_approved", "award_paid", "award_payment_returned"]
    assert award_of_any(client, head, award_id)["payment"]["return_reason"] is None   # the first account stands


def test_incidents_refusing_or_absent_is_told_apart_when_the_office_reads_a_reporter(client, verified_report,
                                                                                      as_role, monkeypatch):
    from servicekit import internal
    verified_report("R31", outcome="fined")
    office = as_role("rewards_office")
    award = award_of(client, office, "R31")

    def refused(*_args, **_kwargs):
        raise internal.PeerError("HTTP 403 from incidents", 403)

    def absent(*_args, **_kwargs):
        raise OSError("ConnectionRefusedError")
    answers = []
    for peer in (refused, absent):
        monkeypatch.setattr(internal, "get_json", peer)
        answers.append(client.get(f"{API}/awards/{award['award_id']}/reporter", headers=office,
                                  query_string={"purpose": "发放举报奖励"}))
    assert [(a.status_code, a.get_json()["error"]["code"]) for a in answers] == [
        (502, "bad_gateway"), (503, "upstream_unavailable")]
