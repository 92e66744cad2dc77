"""Several changes of cases in one transaction (a consumer batch, a sweep, a merge): each builds on the
ones before it, which the transaction remembers instead of reading them back (cases._written)."""
import json

import pytest
from sqlalchemy import select

from servicekit.errors import ApiError
from servicekit.events import new_envelope
from servicekit.identity import Identity
from servicekit.tables import outbox

L4 = "140502001001001"
OPS = Identity("督办员丙", frozenset({"district_ops"}), ())


def case_of(session, incident_id):
    from dispatch.models import case_incidents
    return session.execute(select(case_incidents.c.case_id).where(
        case_incidents.c.incident_id == incident_id)).scalar_one()


def events(db, event_type):
    with db.transaction() as session:
        return [json.loads(p)["data"] for p in session.execute(
            select(outbox.c.payload).where(outbox.c.event_type == event_type).order_by(outbox.c.id)).scalars()]


def chain_of(db, case_id):
    from dispatch import cases
    with db.transaction() as session:
        return [h["action"] for h in cases.history(session, case_id)], cases.verify_chain(session, case_id)["intact"]


def test_a_batch_of_reports_in_one_transaction_chains_each_case_as_if_alone(db, consumer, registry_locate, reported):
    batch = [reported("R20261128B00001"), reported("R20261128B00002", duplicate_of="R20261128B00001"),
             reported("R20261128B00003", channel="patrol", reported_by="staff-1", handled_on_spot=True),
             reported("R20261128B00004")]
    outcomes = consumer.process_batch([(new_envelope("incident.reported", data, "incidents").to_json().encode(), 1)
                                       for data in batch])
    assert [outcome.action for outcome, _ in outcomes] == ["processed"] * 4
    with db.transaction() as session:
        first, on_spot, last = (case_of(session, f"R20261128B0000{i}") for i in (1, 3, 4))
        assert case_of(session, "R20261128B00002") == first
    assert chain_of(db, first) == (["create", "assign", "attach_report"], True)
    assert chain_of(db, on_spot) == (["create", "assign", "accept", "handle", "verify", "close"], True)
    assert chain_of(db, last) == (["create", "assign"], True)
    assigned = {e["case_id"]: e["incident_ids"] for e in events(db, "case.assigned")}
    assert assigned == {first: ["R20261128B00001"], on_spot: ["R20261128B00003"], last: ["R20261128B00004"]}
    # The later reporter hears of the case at once, not at its next move.
    attached = events(db, "case.report_attached")
    assert [(e["case_id"], e["incident_ids"], e["state"]) for e in attached] == [
        (first, ["R20261128B00001", "R20261128B00002"], "assigned")]


def test_a_report_attached_in_this_transaction_is_in_the_next_event_of_its_case(db, registry_locate, reported):
    from dispatch import cases
    with db.transaction() as session:
        cases.open_case(session, None, reported("R20261128A00001"))
        cases.open_case(session, None, reported("R20261128A00002", duplicate_of="R20261128A00001"))
        row = cases._get(session, case_of(session, "R20261128A00001"))
        cases._transition(session, row, "accept", cases.SYSTEM)
    accepted = events(db, "case.accepted")
    assert [e["incident_ids"] for e in accepted] == [["R20261128A00001", "R20261128A00002"]]
    assert chain_of(db, row.case_id) == (["create", "assign", "attach_report", "accept"], True)


def test_a_merge_in_the_transaction_that_opened_both_cases_moves_their_reports(db, registry_locate, reported):
    from dispatch import cases
    with db.transaction() as session:
        cases.open_case(session, None, reported("R20261128M00001"))
        cases.open_case(session, None, reported("R20261128M00002"))
        into, merged = case_of(session, "R20261128M00001"), case_of(session, "R20261128M00002")
        version = cases._get(session, merged).version
        cases.act(session, merged, "merge", {"version": version, "into": into}, OPS)
        cases._transition(session, cases._get(session, into), "accept", cases.SYSTEM)
    assert [e["incident_ids"] for e in events(db, "case.merged")] == [[]]
    assert [e["incident_ids"] for e in events(db, "case.accepted")] == [["R20261128M00001", "R20261128M00002"]]
    assert chain_of(db, into) == (["create", "assign", "absorb", "accept"], True)
    assert chain_of(db, merged) == (["create", "assign", "merge"], True)


def test_a_case_changed_since_it_was_read_is_not_changed_again(db, registry_locate, reported):
    from dispatch import cases
    from dispatch.models import case_history, case_timers
    with db.transaction() as session:
        cases.open_case(session, None, reported("R20261128S00001"))
        case_id = case_of(session, "R20261128S00001")
    with db.transaction() as session:
        stale = cases._get(session, case_id)
        cases._update(session, stale, flagged="looked at")
    with db.transaction() as session:
        timers_before = session.execute(select(case_timers.c.id, case_timers.c.cancelled)).all()
        with pytest.raises(ApiError) as refused:
            cases.assign(session, stale, "140502001001", "escalated", action="escalate")
        assert refused.value.status == 409
        assert session.execute(select(case_timers.c.id, case_timers.c.cancelled)).all() == timers_before
        assert session.execute(select(case_history.c.action).where(case_history.c.case_id == case_id)
                               .order_by(case_history.c.seq)).scalars().all() == ["create", "assign"]
        row = cases._get(session, case_id)
        assert (row.flagged, row.grid_code, row.version) == ("looked at", L4, stale.version + 1)


def test_an_assignment_moves_the_version_two_steps_as_before(db, registry_locate, reported):
    """Grid and deadline are written at once now; the version still moves as for the two writes it replaced."""
    from dispatch import cases
    with db.transaction() as session:
        cases.open_case(session, None, reported("R20261128V00001"))
        row = cases._get(session, case_of(session, "R20261128V00001"))
    assert (row.state, row.version, row.due_at is not None) == ("assigned", 3, True)


@pytest.fixture
def inserts(db):
    """inserts(table) → the INSERT statements sent into `table` so far, each as the rows it carried."""
    from servicekit.testing import statements_sent
    with statements_sent(db.engine, "INSERT INTO ") as sent:
        yield lambda table: [s.rows for s in sent if s.sql.split()[2] == table]


def test_a_report_writes_its_history_entries_and_its_events_in_one_insert_each(db, registry_locate, inserts, reported):
    from dispatch import cases
    with db.transaction() as session:
        cases.open_case(session, None, reported("R20261128G00001"))
        cases.open_case(session, None, reported("R20261128G00002", channel="patrol", reported_by="staff-1",
                                                handled_on_spot=True))
    assert inserts("case_history") == [2, 6] and inserts("outbox") == [2, 6]
    on_spot = cases_of(db, "R20261128G00002")
    assert chain_of(db, on_spot) == (["create", "assign", "accept", "handle", "verify", "close"], True)
    assert [json.loads(p)["type"] for p in payloads(db)] == [
        "case.created", "case.assigned", "case.created", "case.assigned", "case.accepted", "case.handled",
        "case.verified", "case.closed"]


def test_the_history_read_inside_a_gathering_use_case_includes_what_it_holds(db, registry_locate, reported):
    from dispatch import cases
    with db.transaction() as session:
        cases.open_case(session, None, reported("R20261128G00003"))
        case_id = case_of(session, "R20261128G00003")
        with cases._gathered(session):
            cases._transition(session, cases._get(session, case_id), "accept", cases.SYSTEM)
            assert [h["action"] for h in cases.history(session, case_id)] == ["create", "assign", "accept"]
            cases._transition(session, cases._get(session, case_id), "handle", cases.SYSTEM)
    assert chain_of(db, case_id) == (["create", "assign", "accept", "handle"], True)


def test_entries_held_back_across_a_savepoint_are_refused_not_lost(db, registry_locate, reported):
    from dispatch import cases
    with db.transaction() as session:
        cases.open_case(session, None, reported("R20261128G00004"))
        case_id = case_of(session, "R20261128G00004")
    with pytest.raises(RuntimeError, match="savepoint"):
        with db.transaction() as session:
            with cases._gathered(session):
                cases._transition(session, cases._get(session, case_id), "accept", cases.SYSTEM)
                with session.begin_nested():
                    cases._transition(session, cases._get(session, case_id), "handle", cases.SYSTEM)
    assert chain_of(db, case_id) == (["create", "assign"], True)


def cases_of(db, incident_id):
    with db.transaction() as session:
        return case_of(session, incident_id)


def payloads(db):
    with db.transaction() as session:
        return session.execute(select(outbox.c.payload).order_by(outbox.c.id)).scalars().all()


def test_a_report_known_already_leaves_no_trace_whether_committed_or_in_this_transaction(db, registry_locate, reported):
    from dispatch import cases
    from dispatch.models import case_history, case_timers, cases as case_table
    with db.transaction() as session:
        cases.open_case(session, None, reported("R20261128K00001"))
        cases.open_case(session, None, reported("R20261128K00001"))  # again, in the same transaction
    with db.transaction() as session:
        cases.open_case(session, None, reported("R20261128K00001"))  # again, later
    with db.transaction() as session:
        assert len(session.execute(select(case_table.c.case_id)).all()) == 1
        assert len(session.execute(select(case_history.c.id)).all()) == 2
        assert len(session.execute(select(case_timers.c.id)).all()) == 3
    assert [json.loads(p)["type"] for p in payloads(db)] == ["case.created", "case.assigned"]
