"""servicekit.snapshots.TimedSnapshots: what a process read from a database, kept per database for a time to live."""
import gc
import threading

import pytest
from sqlalchemy import Column, Integer, MetaData, Table, create_engine, insert, select, update
from sqlalchemy.orm import Session

from servicekit.snapshots import TimedSnapshots

metadata = MetaData()
setting = Table("setting", metadata, Column("id", Integer, primary_key=True), Column("value", Integer))


def database(tmp_path, name, value):
    engine = create_engine(f"sqlite:///{tmp_path / name}.db")
    metadata.create_all(engine)
    with Session(engine) as session, session.begin():
        session.execute(insert(setting).values(id=1, value=value))
    return engine


def change(engine, value):
    with Session(engine) as session, session.begin():
        session.execute(update(setting).values(value=value))


class Reader:
    """A reader of setting.value that records every reading and the previous value it was given."""

    def __init__(self):
        self.previous = []

    def __call__(self, session, previous):
        self.previous.append(previous)
        return session.execute(select(setting.c.value)).scalar_one()

    @property
    def reads(self):
        return len(self.previous)


@pytest.fixture
def clock():
    now = {"t": 1000.0}

    def read():
        return now["t"]
    read.now = now
    return read


@pytest.fixture
def one(tmp_path):
    return database(tmp_path, "one", 1)


def test_a_value_is_kept_until_the_time_to_live_has_passed(one, clock):
    reader = Reader()
    snapshots = TimedSnapshots(reader, ttl_s=5.0, clock=clock)
    with Session(one) as session:
        assert snapshots.get(session) == 1
    change(one, 2)
    clock.now["t"] += 4.9
    with Session(one) as session:
        assert snapshots.get(session) == 1 and reader.reads == 1
    clock.now["t"] += 0.1
    with Session(one) as session:
        assert snapshots.get(session) == 2 and reader.reads == 2
        assert snapshots.get(session) == 2 and reader.reads == 2


def test_the_reader_is_given_what_it_read_before(one, clock):
    reader = Reader()
    snapshots = TimedSnapshots(reader, ttl_s=5.0, clock=clock)
    with Session(one) as session:
        snapshots.get(session)
        clock.now["t"] += 5.0
        snapshots.get(session)
        snapshots.forget()
        snapshots.get(session)
    assert reader.previous == [None, 1, None]  # nothing after forget


def test_the_time_to_live_comes_from_reference_cache_s_at_each_use(one, clock, monkeypatch):
    reader = Reader()
    snapshots = TimedSnapshots(reader, clock=clock)
    monkeypatch.delenv("REFERENCE_CACHE_S", raising=False)
    assert snapshots.ttl == 5.0
    with Session(one) as session:
        snapshots.get(session)
        clock.now["t"] += 1.0
        snapshots.get(session)
        assert reader.reads == 1
        monkeypatch.setenv("REFERENCE_CACHE_S", "0")  # 0: read at every use
        snapshots.get(session)
        snapshots.get(session)
        assert reader.reads == 3


def test_each_database_has_its_own_value(tmp_path, one, clock):
    two = database(tmp_path, "two", 20)
    reader = Reader()
    snapshots = TimedSnapshots(reader, ttl_s=5.0, clock=clock)
    with Session(one) as first, Session(two) as second:
        assert (snapshots.get(first), snapshots.get(second)) == (1, 20)
        assert (snapshots.get(first), snapshots.get(second)) == (1, 20)
    assert reader.reads == 2
    assert reader.previous == [None, None]  # never the other database's value


def test_a_value_goes_with_its_engine(tmp_path, clock):
    snapshots = TimedSnapshots(Reader(), ttl_s=5.0, clock=clock)
    engine = database(tmp_path, "gone", 7)
    with Session(engine) as session:
        assert snapshots.get(session) == 7
    assert len(snapshots._kept) == 1
    engine.dispose()
    del engine, session
    gc.collect()
    assert len(snapshots._kept) == 0


def test_forget_reads_every_database_again(tmp_path, one, clock):
    two = database(tmp_path, "two", 20)
    reader = Reader()
    snapshots = TimedSnapshots(reader, ttl_s=5.0, clock=clock)
    with Session(one) as first, Session(two) as second:
        snapshots.get(first), snapshots.get(second)
        change(one, 2), change(two, 30)
        snapshots.forget()
        assert (snapshots.get(first), snapshots.get(second)) == (2, 30)
    assert reader.reads == 4


def test_a_reading_under_way_when_forget_runs_is_returned_but_not_kept(one, clock):
    snapshots = None

    def read_while_forgotten(session, previous):
        snapshots.forget()  # as another thread would, between the SELECT and keeping its result
        return session.execute(select(setting.c.value)).scalar_one()

    snapshots = TimedSnapshots(read_while_forgotten, ttl_s=5.0, clock=clock)
    with Session(one) as session:
        assert snapshots.get(session) == 1
    assert len(snapshots._kept) == 0


def test_forget_after_commit_forgets_now_and_again_after_the_commit(one, clock):
    reader = Reader()
    snapshots = TimedSnapshots(reader, ttl_s=5.0, clock=clock)
    with Session(one) as reading:
        snapshots.get(reading)
        with Session(one) as writing:
            writing.begin()
            snapshots.forget_after_commit(writing)
            assert snapshots.get(reading) == 1 and reader.reads == 2  # forgotten at once
            writing.execute(update(setting).values(value=2))
            assert snapshots.get(reading) == 1 and reader.reads == 2  # read again before the commit: kept...
            writing.commit()
        assert snapshots.get(reading) == 2 and reader.reads == 3  # ...until the commit


def test_forget_after_commit_does_nothing_more_after_a_rollback(one, clock):
    reader = Reader()
    snapshots = TimedSnapshots(reader, ttl_s=5.0, clock=clock)
    with Session(one) as reading:
        with Session(one) as writing:
            writing.begin()
            snapshots.forget_after_commit(writing)
            writing.execute(update(setting).values(value=2))
            writing.rollback()
        assert snapshots.get(reading) == 1 and reader.reads == 1
        assert snapshots.get(reading) == 1 and reader.reads == 1  # the rollback forgot nothing


def test_threads_share_one_value(one, clock):
    reader = Reader()
    snapshots = TimedSnapshots(reader, ttl_s=5.0, clock=clock)
    with Session(one) as session:
        snapshots.get(session)
    seen, errors = [], []

    def use():
        try:
            with Session(one) as own:
                seen.extend(snapshots.get(own) for _ in range(200))
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=use) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors and seen == [1] * 1600 and reader.reads == 1
