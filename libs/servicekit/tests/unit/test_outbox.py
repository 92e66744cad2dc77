"""The outbox and its relay, with a publisher that stands in for the broker."""
from datetime import timedelta

import pytest
from sqlalchemy import select, update

from servicekit.db import Database
from servicekit.events import Envelope, registry
from servicekit.outbox import Outbox, OutboxRelay, row_backoff
from servicekit.publisher import BrokerUnavailable
from servicekit.tables import outbox, utcnow


class FakePublisher:
    """Answers for the broker: confirms everything except the message ids it is told to refuse."""

    def __init__(self, refuse=(), down=False):
        self.refuse = set(refuse)
        self.down = down
        self.published = []

    def connect(self):
        if self.down:
            raise BrokerUnavailable("broker is down")

    def publish_batch(self, messages):
        self.connect()
        self.published.extend(messages)
        return {m.message_id: ("nacked by broker" if m.message_id in self.refuse else None) for m in messages}

    def idle(self):
        pass

    def close(self):
        pass


@pytest.fixture
def db(sample_settings):
    return Database(sample_settings.database_url)


def add_jobs(db, n):
    box = Outbox("sample", registry)
    with db.transaction() as session:
        return [box.add(session, "sample.work", {"job_id": f"j{i}", "sleep_ms": 0}) for i in range(n)]


def unsent(db):
    with db.transaction() as session:
        return session.execute(select(outbox).where(outbox.c.sent_at.is_(None))).all()


def test_an_event_is_written_only_if_its_transaction_commits(db):
    box = Outbox("sample", registry)
    with pytest.raises(RuntimeError):
        with db.transaction() as session:
            box.add(session, "sample.work", {"job_id": "j1", "sleep_ms": 0})
            raise RuntimeError("the change failed")
    assert unsent(db) == []


def test_invalid_event_data_is_refused_before_anything_is_written(db):
    with pytest.raises(Exception):
        add_jobs_bad = Outbox("sample", registry)
        with db.transaction() as session:
            add_jobs_bad.add(session, "sample.work", {"job_id": "j1"})
    assert unsent(db) == []


def test_relay_sends_in_order_and_marks_only_confirmed_rows(sample_settings, db):
    ids = add_jobs(db, 5)
    publisher = FakePublisher(refuse={ids[2]})
    relay = OutboxRelay(sample_settings, db, publisher)
    assert relay.run_once() == 4
    assert [m.message_id for m in publisher.published] == ids
    envelope = Envelope.from_json(publisher.published[0].body)
    assert envelope.type == "sample.work" and publisher.published[0].routing_key == "sample.work"
    (left,) = unsent(db)
    assert left.event_id == ids[2] and left.attempts == 1 and "nacked" in left.last_error
    assert left.next_attempt_at > utcnow()
    # Not due yet: nothing is sent again until its backoff has passed.
    assert relay.run_once() == 0
    with db.transaction() as session:
        session.execute(update(outbox).values(next_attempt_at=utcnow() - timedelta(seconds=1)))
    publisher.refuse.clear()
    assert relay.run_once() == 1 and unsent(db) == []


def test_relay_keeps_everything_while_the_broker_is_down(sample_settings, db):
    add_jobs(db, 3)
    relay = OutboxRelay(sample_settings, db, FakePublisher(down=True))
    with pytest.raises(BrokerUnavailable):
        relay.run_once()
    assert len(unsent(db)) == 3 and all(row.attempts == 0 for row in unsent(db))


def test_row_backoff_doubles_and_is_capped():
    assert [row_backoff(n).total_seconds() for n in (1, 2, 3, 4)] == [1, 2, 4, 8]
    assert row_backoff(50).total_seconds() == 300


def test_backlog_counts_unsent_rows(sample_settings, db):
    add_jobs(db, 2)
    count, age = OutboxRelay(sample_settings, db, FakePublisher()).backlog()
    assert count == 2 and age >= 0


class FakeListener:
    """Stands in for the LISTEN connection: each notifies() call yields the next scripted count."""

    closed = False

    def __init__(self, *counts):
        self.counts = list(counts)
        self.calls = []

    def notifies(self, timeout, stop_after):
        self.calls.append((timeout, stop_after))
        for _ in range(self.counts.pop(0) if self.counts else 0):
            yield object()


class OnPostgres:
    is_postgres = True


def relay_listening(sample_settings, listener, last_sent):
    relay = OutboxRelay(sample_settings, OnPostgres(), FakePublisher(), coalesce_after=3, coalesce_wait_s=0.008,
                        coalesce_commits=20)
    relay._listener, relay._last_sent = listener, last_sent
    return relay


@pytest.mark.parametrize("last_sent", [0, 1, 2])
def test_relay_idle_or_lightly_loaded_claims_a_batch_as_soon_as_a_commit_wakes_it(sample_settings, last_sent):
    import threading
    listener = FakeListener(1)
    relay_listening(sample_settings, listener, last_sent)._wait_for_work(threading.Event(), 0.2)
    assert listener.calls == [(0.2, 1)]


def test_relay_under_load_lets_more_commits_land_before_claiming_a_batch(sample_settings):
    import threading
    listener = FakeListener(1, 5)
    relay_listening(sample_settings, listener, 3)._wait_for_work(threading.Event(), 0.2)
    assert listener.calls == [(0.2, 1), (0.008, 20)]


def test_relay_woken_by_its_poll_interval_does_not_wait_any_longer(sample_settings):
    import threading
    listener = FakeListener(0)
    relay_listening(sample_settings, listener, 50)._wait_for_work(threading.Event(), 0.2)
    assert listener.calls == [(0.2, 1)]


def test_relay_remembers_how_many_events_its_last_batch_carried(sample_settings, db):
    import threading
    add_jobs(db, 3)
    relay = OutboxRelay(sample_settings, db, FakePublisher())
    stop, seen = threading.Event(), []

    def wait(_stop, _timeout):
        seen.append(relay._last_sent)
        stop.set()
    relay._wait_for_work = wait
    relay.run(stop)
    assert seen == [3] and unsent(db) == []


# -- Outbox.gathered: several events, one INSERT ------------------------------------------------
@pytest.fixture
def inserts(db):
    """inserts() → the INSERT INTO outbox statements sent so far, each as the number of rows it carried."""
    from servicekit.testing import statements_sent
    with statements_sent(db.engine, "INSERT INTO outbox") as sent:
        yield lambda: [statement.rows for statement in sent]


def jobs(db):
    with db.transaction() as session:
        return [Envelope.from_json(p).data["job_id"] for p in
                session.execute(select(outbox.c.payload).order_by(outbox.c.id)).scalars()]


def test_events_gathered_in_a_block_are_written_at_its_end_in_one_insert_in_order(db, inserts):
    box = Outbox("sample", registry)
    with db.transaction() as session:
        with box.gathered(session):
            ids = [box.add(session, "sample.work", {"job_id": "j1", "sleep_ms": 0}),
                   *box.add_many(session, [("sample.work", {"job_id": "j2", "sleep_ms": 0}),
                                           ("sample.work", {"job_id": "j3", "sleep_ms": 0})])]
            assert inserts() == []  # held back until the block ends
        assert inserts() == [3]
        box.add(session, "sample.work", {"job_id": "j4", "sleep_ms": 0})  # after the block: at once
        assert inserts() == [3, 1]
    assert jobs(db) == ["j1", "j2", "j3", "j4"]
    assert [row.event_id for row in unsent(db)][:3] == ids


def test_a_block_inside_a_block_joins_it(db, inserts):
    box = Outbox("sample", registry)
    with db.transaction() as session:
        with box.gathered(session):
            box.add(session, "sample.work", {"job_id": "j1", "sleep_ms": 0})
            with box.gathered(session):
                box.add(session, "sample.work", {"job_id": "j2", "sleep_ms": 0})
            assert inserts() == []
    assert inserts() == [2] and jobs(db) == ["j1", "j2"]


def test_a_block_ended_by_an_error_still_writes_what_was_added(db):
    box = Outbox("sample", registry)
    with db.transaction() as session:
        with pytest.raises(ValueError):
            with box.gathered(session):
                box.add(session, "sample.work", {"job_id": "j1", "sleep_ms": 0})
                raise ValueError("the use case refused the rest")
        # the caller handled it and commits what was done, events included, as without the block
    assert jobs(db) == ["j1"]


def test_an_event_added_in_a_savepoint_begun_inside_the_block_is_refused(db):
    box = Outbox("sample", registry)
    with pytest.raises(RuntimeError, match="savepoint"):
        with db.transaction() as session:
            with box.gathered(session):
                box.add(session, "sample.work", {"job_id": "j1", "sleep_ms": 0})
                with session.begin_nested():
                    box.add(session, "sample.work", {"job_id": "j2", "sleep_ms": 0})
    assert jobs(db) == []


def test_a_block_inside_a_savepoint_gathers_as_usual(db, inserts):
    box = Outbox("sample", registry)
    with db.transaction() as session:
        with session.begin_nested():
            with box.gathered(session):
                box.add(session, "sample.work", {"job_id": "j1", "sleep_ms": 0})
                box.add(session, "sample.work", {"job_id": "j2", "sleep_ms": 0})
    assert inserts() == [2] and jobs(db) == ["j1", "j2"]
