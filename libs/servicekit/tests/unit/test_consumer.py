"""The consumer's decisions (inbox, retry, dead letter) against a real SQLite database, no broker."""
import pytest
from sqlalchemy import func, insert, select

from servicekit.consumer import Consumer
from servicekit.db import Database
from servicekit.events import new_envelope, registry
from servicekit.tables import inbox


@pytest.fixture
def setup(sample_settings):
    from sampleservice.bootstrap import SPEC
    settings = sample_settings.with_overrides(consumer_max_attempts=3)
    db = Database(settings.database_url)
    return Consumer(settings, db, registry, SPEC.handlers), db


def count(db, table, **where):
    with db.transaction() as session:
        query = select(func.count()).select_from(table)
        for key, value in where.items():
            query = query.where(table.c[key] == value)
        return session.execute(query).scalar_one()


def work(job_id="j1", sleep_ms=0):
    return new_envelope("sample.work", {"job_id": job_id, "sleep_ms": sleep_ms}, "test").to_json().encode()


def test_an_event_is_applied_once_however_often_it_is_delivered(setup):
    from sampleservice.bootstrap import work_log
    consumer, db = setup
    body = work()
    outcomes = [consumer.process(body, attempt=1)[0].action for _ in range(3)]
    assert outcomes == ["processed", "duplicate", "duplicate"]
    assert count(db, work_log) == 1 and count(db, inbox) == 1


def test_a_failing_handler_leaves_no_trace_and_is_retried_then_dead_lettered(setup):
    from sampleservice.bootstrap import blocked_jobs, work_log
    consumer, db = setup
    with db.transaction() as session:
        session.execute(insert(blocked_jobs).values(job_id="j1"))
    body = work("j1")
    assert [consumer.process(body, attempt=n)[0].action for n in (1, 2, 3)] == ["retry", "retry", "dead"]
    outcome, _ = consumer.process(body, attempt=3)
    assert "blocked" in outcome.error
    assert count(db, work_log) == 0 and count(db, inbox) == 0


@pytest.mark.parametrize("body,reason", [
    (b"{oops", "invalid envelope"),
    (new_envelope("sample.unknown", {}, "t").to_json().encode(), "no handler"),
    (new_envelope("sample.work", {"job_id": "j1", "sleep_ms": "slow"}, "t").to_json().encode(), "does not match"),
])
def test_messages_that_can_never_succeed_go_straight_to_dead_letters(setup, body, reason):
    consumer, db = setup
    outcome, _ = consumer.process(body, attempt=1)
    assert outcome.action == "dead" and reason in outcome.error
    assert count(db, inbox) == 0


def test_a_batch_commits_together_and_a_failing_message_rolls_back_alone(setup):
    from sampleservice.bootstrap import blocked_jobs, work_log
    consumer, db = setup
    with db.transaction() as session:
        session.execute(insert(blocked_jobs).values(job_id="bad"))
    outcomes = consumer.process_batch([(work("a"), 1), (work("bad"), 1), (b"{not json", 1), (work("c"), 1)])
    assert [o.action for o, _ in outcomes] == ["processed", "retry", "dead", "processed"]
    assert count(db, work_log) == 2 and count(db, inbox) == 2
    assert count(db, work_log, job_id="bad") == 0
