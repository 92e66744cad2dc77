"""A transfer the bank reports failed, through gunicorn on PostgreSQL: the award goes back to the
to_pay queue, is paid again once under a new reference however many payers race, the ledger ends
paid once, and importing the bank's file again changes nothing."""
import csv
import io
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests
from sqlalchemy import func, select

pytestmark = pytest.mark.integration


def test_a_failed_transfer_is_paid_again_once_under_a_new_reference_and_reimporting_changes_nothing(
        rewards_pg, office, pay_again, processes):
    from rewards.models import ledger_entries, payments
    env, db = rewards_pg.env, rewards_pg.db
    rewards_pg.verified_report("R-FAIL-1", "FFFF-0000-0001", "pseudonym-f")
    web = processes.web("rewards", env, workers=2)
    base = f"http://127.0.0.1:{web.port}/api/v1/rewards"
    head = office("head")
    (award,) = requests.get(f"{base}/queue/to_review", headers=office("clerk")).json()["items"]
    award_id, year, amount = award["award_id"], award["year"], award["amount_fen"]
    assert amount == 300000  # water pollution, fined: 3000 yuan
    assert requests.put(f"{base}/budgets/{year}", headers=head, json={"ceiling_fen": 10_000_000}).ok
    assert requests.post(f"{base}/awards/{award_id}/review", headers=office("clerk"), json={}).ok
    assert requests.post(f"{base}/awards/{award_id}/approve", headers=head, json={}).ok
    paid = requests.post(f"{base}/awards/{award_id}/pay", headers={**office("cashier"), "Idempotency-Key": "first"},
                         json={"channel": "bank", "reference": "BANK-F-0001"})
    assert paid.status_code == 200 and paid.json()["state"] == "paid"

    # The bank's file: the transfer failed. The award is to be paid again.
    failed = requests.post(f"{base}/reconciliation", headers=head,
                           json={"lines": [{"reference": "BANK-F-0001", "status": "failed"}]})
    assert failed.status_code == 200, failed.text
    assert failed.json() == {"reconciled": 1, "changed": 1, "failed": 1, "returned": 0}
    assert [a["award_id"] for a in requests.get(f"{base}/queue/to_pay", headers=head).json()["items"]] == [award_id]
    batch = list(csv.reader(io.StringIO(requests.get(f"{base}/batches/payable", headers=head,
                                                     params={"format": "csv"}).content.decode("utf-8-sig"))))
    assert [row[0] for row in batch[1:]] == [award_id] and batch[1][4] == str(amount)
    books = requests.get(f"{base}/budgets/{year}", headers=head).json()
    assert (books["balances"]["paid"], books["balances"]["payable"]) == (0, amount)

    # Paid again: twenty payers race with new references, money moves once.
    pay = pay_again(base, award_id, "BANK-F")

    with ThreadPoolExecutor(20) as pool:
        answers = list(pool.map(pay, range(20)))
    statuses = [a.status_code for a in answers]
    assert statuses.count(200) == 1 and statuses.count(409) == 19, statuses
    new_reference = next(a.json() for a in answers if a.status_code == 200)["payment"]["reference"]
    history = requests.get(f"{base}/awards/{award_id}", headers=head).json()
    assert history["state"] == "paid"
    assert [(p["attempt"], p["reference"], p["reconciled"]) for p in history["payments"]] == [
        (1, "BANK-F-0001", "failed"), (2, new_reference, None)]

    # The next file confirms it; importing it twice changes nothing the second time.
    bank_file = {"lines": [{"reference": "BANK-F-0001", "status": "failed"},
                           {"reference": new_reference, "status": "confirmed"}]}
    first = requests.post(f"{base}/reconciliation", headers=head, json=bank_file)
    assert first.status_code == 200 and first.json() == {"reconciled": 2, "changed": 1, "failed": 0, "returned": 0}
    second = requests.post(f"{base}/reconciliation", headers=head, json=bank_file)
    assert second.status_code == 200 and second.json() == {"reconciled": 2, "changed": 0, "failed": 0, "returned": 0}
    contradicting = requests.post(f"{base}/reconciliation", headers=head,
                                  json={"lines": [{"reference": "BANK-F-0001", "status": "confirmed"}]})
    assert contradicting.status_code == 422
    assert contradicting.json()["error"]["fields"]["lines"][0]["line"] == 2

    with db.transaction() as session:
        assert session.execute(select(payments.c.attempt, payments.c.reconciled).order_by(payments.c.attempt)
                               ).all() == [(1, "failed"), (2, "confirmed")]
        kinds = session.execute(select(ledger_entries.c.kind, func.count()).where(
            ledger_entries.c.award_id == award_id).group_by(ledger_entries.c.kind)).all()
        assert dict(kinds) == {"award_approved": 1, "award_paid": 2, "award_payment_failed": 1}
    books = requests.get(f"{base}/budgets/{year}", headers=head).json()
    assert (books["balances"]["paid"], books["balances"]["payable"]) == (amount, 0)
    assert books["available_fen"] == 10_000_000 - amount
    assert requests.get(f"{base}/queue/to_pay", headers=head).json()["items"] == []
