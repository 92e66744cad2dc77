"""A confirmed transfer the bank returns days later (退汇), through gunicorn on PostgreSQL: however
many imports of the return file race, it is recorded once; the award goes back to the to_pay queue
and is paid again once under a new reference, while payers and re-imports race; every attempt is
listed with its outcome and the ledger, computed from its entries, ends paid once."""
import json
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime

import pytest
import requests
from sqlalchemy import func, select

from servicekit.tables import outbox

pytestmark = pytest.mark.integration


def test_a_returned_transfer_is_recorded_once_and_paid_again_once_however_many_race(
        rewards_pg, office, pay_again, processes):
    from rewards.domain import SHANGHAI
    from rewards.models import ledger_entries, payments
    db = rewards_pg.db
    rewards_pg.verified_report("R-BACK-1", "BBBB-0000-0001", "pseudonym-b")
    web = processes.web("rewards", rewards_pg.env, workers=2)
    base = f"http://127.0.0.1:{web.port}/api/v1/rewards"
    head = office("head")
    (award,) = requests.get(f"{base}/queue/to_review", headers=office("clerk")).json()["items"]
    award_id, year, amount = award["award_id"], award["year"], award["amount_fen"]
    assert requests.put(f"{base}/budgets/{year}", headers=head, json={"ceiling_fen": 10_000_000}).ok
    assert requests.post(f"{base}/awards/{award_id}/review", headers=office("clerk"), json={}).ok
    assert requests.post(f"{base}/awards/{award_id}/approve", headers=head, json={}).ok
    assert requests.post(f"{base}/awards/{award_id}/pay", headers={**office("cashier"), "Idempotency-Key": "first"},
                         json={"channel": "bank", "reference": "BANK-B-0001"}).ok
    confirmed = requests.post(f"{base}/reconciliation", headers=head,
                              json={"lines": [{"reference": "BANK-B-0001", "status": "confirmed"}]})
    assert confirmed.json()["changed"] == 1

    # Days later the bank sends it back. The office imports the return file ten times at once.
    returned_on = datetime.now(SHANGHAI).date().isoformat()
    return_file = {"lines": [{"reference": "BANK-B-0001", "status": "returned", "returned_on": returned_on,
                              "reason": "收款卡已注销"}]}

    def reimport(_):
        return requests.post(f"{base}/reconciliation", headers=head, json=return_file)

    with ThreadPoolExecutor(10) as pool:
        imports = list(pool.map(reimport, range(10)))
    assert [a.status_code for a in imports] == [200] * 10, [a.text for a in imports]
    assert sorted(a.json()["returned"] for a in imports) == [0] * 9 + [1]
    assert sum(a.json()["changed"] for a in imports) == 1
    assert [a["award_id"] for a in requests.get(f"{base}/queue/to_pay", headers=head).json()["items"]] == [award_id]
    books = requests.get(f"{base}/budgets/{year}", headers=head).json()
    assert (books["balances"]["paid"], books["balances"]["payable"]) == (0, amount)

    # Paid again: twenty payers with new references race with ten more imports of the return file.
    pay = pay_again(base, award_id, "BANK-B")

    with ThreadPoolExecutor(30) as pool:
        payers = [pool.submit(pay, i) for i in range(20)]
        again = [pool.submit(reimport, i) for i in range(10)]
        payers, again = [f.result() for f in payers], [f.result() for f in again]
    statuses = [a.status_code for a in payers]
    assert statuses.count(200) == 1 and statuses.count(409) == 19, statuses
    assert [(a.status_code, a.json()["changed"]) for a in again] == [(200, 0)] * 10
    new_reference = next(a.json() for a in payers if a.status_code == 200)["payment"]["reference"]

    bank_file = {"lines": [*return_file["lines"], {"reference": new_reference, "status": "confirmed"}]}
    first = requests.post(f"{base}/reconciliation", headers=head, json=bank_file)
    assert first.status_code == 200 and first.json() == {"reconciled": 2, "changed": 1, "failed": 0, "returned": 0}
    second = requests.post(f"{base}/reconciliation", headers=head, json=bank_file)
    assert second.status_code == 200 and second.json()["changed"] == 0
    late_failure = requests.post(f"{base}/reconciliation", headers=head,
                                 json={"lines": [{"reference": "BANK-B-0001", "status": "failed"}]})
    assert late_failure.status_code == 422

    history = requests.get(f"{base}/awards/{award_id}", headers=head).json()
    assert history["state"] == "paid"
    assert [(p["attempt"], p["reference"], p["outcome"], p["returned_on"], p["return_reason"])
            for p in history["payments"]] == [(1, "BANK-B-0001", "returned", returned_on, "收款卡已注销"),
                                              (2, new_reference, "confirmed", None, None)]
    with db.transaction() as session:
        assert session.execute(select(func.count()).select_from(payments)).scalar_one() == 2
        entries = session.execute(select(ledger_entries)).all()
        events = [json.loads(p) for p in session.execute(select(outbox.c.payload).where(
            outbox.c.event_type == "reward.payment_returned")).scalars().all()]
    kinds = defaultdict(int)
    for entry in entries:
        kinds[entry.kind] += 1
    assert dict(kinds) == {"budget_granted": 1, "award_approved": 1, "award_paid": 2, "award_payment_returned": 1}
    derived = defaultdict(int)
    for entry in entries:
        derived[entry.debit] += entry.amount_fen
        derived[entry.credit] -= entry.amount_fen
    assert sum(derived.values()) == 0
    assert (derived["paid"], derived["payable"], derived[f"budget:{year}"]) == (amount, 0, 10_000_000 - amount)
    assert requests.get(f"{base}/budgets/{year}", headers=head).json()["balances"] == {
        k: v for k, v in derived.items()}
    assert len(events) == 1 and events[0]["data"]["award_id"] == award_id and events[0]["data"]["state"] == "approved"
    assert all(secret not in json.dumps(events) for secret in ("pseudonym-b", "BANK-B-0001", "注销"))
    assert requests.get(f"{base}/queue/to_pay", headers=head).json()["items"] == []
