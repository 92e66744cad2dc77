"""The outbox's NOTIFY on PostgreSQL: once per transaction, however many events it writes.

PostgreSQL folds a transaction's identical notifications into one anyway, so what a second
NOTIFY costs is a statement; these tests count the statements sent, and check with a real
listener that every committed transaction still wakes the relay.
"""
import psycopg
import pytest
from sqlalchemy import select
from sqlalchemy.engine import make_url

from servicekit.config import load_settings
from servicekit.db import Database
from servicekit.events import registry
from servicekit.migrate import upgrade
from servicekit.outbox import NOTIFY_CHANNEL, Outbox
from servicekit.tables import outbox
from servicekit.testing import statements_sent

pytestmark = pytest.mark.integration


@pytest.fixture
def pg_db(pg_url):
    from sampleservice.bootstrap import SPEC
    upgrade(SPEC, load_settings("sample", {"DATABASE_URL": pg_url}))
    db = Database(pg_url)
    yield db
    db.dispose()


@pytest.fixture
def notifies(pg_db):
    """The NOTIFY statements sent through pg_db's engine, in order."""
    with statements_sent(pg_db.engine, "NOTIFY") as sent:
        yield sent


@pytest.fixture
def listener(pg_db):
    conn = psycopg.connect(make_url(pg_db.url).set(drivername="postgresql").render_as_string(hide_password=False),
                           autocommit=True)
    conn.execute(f"LISTEN {NOTIFY_CHANNEL}")
    yield lambda: [n.channel for n in conn.notifies(timeout=0.5, stop_after=1)]
    conn.close()


BOX = Outbox("sample", registry)


def add(session, job):
    return BOX.add(session, "sample.work", {"job_id": job, "sleep_ms": 0})


def events(db):
    with db.transaction() as session:
        return [row.event_type for row in session.execute(select(outbox.c.event_type))]


def test_two_events_in_one_transaction_send_one_notify(pg_db, notifies, listener):
    with pg_db.transaction() as session:
        add(session, "j1")
        add(session, "j2")
        BOX.add_many(session, [("sample.work", {"job_id": "j3", "sleep_ms": 0})])
    assert len(notifies) == 1
    assert listener() == [NOTIFY_CHANNEL]
    assert len(events(pg_db)) == 3


def test_each_new_transaction_notifies_again_on_the_same_session(pg_db, notifies, listener):
    session = pg_db.session()
    try:
        for job in ("j1", "j2"):
            with session.begin():
                add(session, job)
                add(session, job + "b")
            assert listener() == [NOTIFY_CHANNEL]  # the commit woke the relay
    finally:
        session.close()
    assert len(notifies) == 2
    with pg_db.transaction() as session:  # a new session
        add(session, "j3")
    assert len(notifies) == 3


def test_after_a_rollback_the_next_transaction_notifies(pg_db, notifies, listener):
    session = pg_db.session()
    try:
        with pytest.raises(RuntimeError):
            with session.begin():
                add(session, "lost")
                raise RuntimeError("the change failed")
        assert listener() == []  # rolled back: nothing to wake for
        with session.begin():
            add(session, "kept")
            add(session, "kept too")
    finally:
        session.close()
    assert len(notifies) == 2
    assert listener() == [NOTIFY_CHANNEL]
    assert len(events(pg_db)) == 2


def test_a_notify_taken_back_with_its_savepoint_is_sent_again(pg_db, notifies, listener):
    with pg_db.transaction() as session:
        savepoint = session.begin_nested()
        add(session, "undone")
        savepoint.rollback()  # its NOTIFY goes with it
        add(session, "kept")
    assert len(notifies) == 2
    assert listener() == [NOTIFY_CHANNEL]
    assert events(pg_db) == ["sample.work"]


def test_a_notify_of_the_transaction_covers_its_savepoints(pg_db, notifies, listener):
    with pg_db.transaction() as session:
        add(session, "outer")
        with session.begin_nested():
            add(session, "inner")
            with session.begin_nested():
                add(session, "innermost")
    assert len(notifies) == 1
    assert listener() == [NOTIFY_CHANNEL]


def test_a_notify_of_a_savepoint_covers_the_savepoints_inside_it_only(pg_db, notifies, listener):
    with pg_db.transaction() as session:
        with session.begin_nested():
            add(session, "in a savepoint")
            with session.begin_nested():
                add(session, "inside it: covered")
        add(session, "after it ended: sent again, to be safe")
    assert len(notifies) == 2
    assert listener() == [NOTIFY_CHANNEL]


def test_events_gathered_in_one_block_send_one_insert_and_one_notify(pg_db, notifies, listener):
    with pg_db.transaction() as session:
        with BOX.gathered(session):
            add(session, "j1")
            add(session, "j2")
            assert notifies == []  # nothing written before the block ends
    assert len(notifies) == 1
    assert listener() == [NOTIFY_CHANNEL]
    assert len(events(pg_db)) == 2
