"""HeldRows on its own: when rows are written, and in how many calls (the outbox and dispatch's history use it)."""
import pytest
from sqlalchemy import create_engine
from sqlalchemy.orm import Session

from servicekit.heldrows import HeldRows


@pytest.fixture
def session():
    with Session(create_engine("sqlite://")) as session:
        yield session


@pytest.fixture
def held():
    calls = []
    return HeldRows("test rows", lambda _session, rows: calls.append([row["n"] for row in rows])), calls


def test_outside_a_block_rows_are_written_at_once(session, held):
    rows, calls = held
    rows.add(session, [{"n": 1}])
    rows.add(session, [{"n": 2}, {"n": 3}])
    assert calls == [[1], [2, 3]]


def test_a_block_writes_its_rows_once_at_its_end_and_an_inner_block_joins_it(session, held):
    rows, calls = held
    with rows.block(session):
        rows.add(session, [{"n": 1}])
        with rows.block(session):
            rows.add(session, [{"n": 2}])
        rows.add(session, [{"n": 3}])
        assert calls == []
    assert calls == [[1, 2, 3]]


def test_flush_writes_what_is_held_so_far_and_the_block_goes_on_holding(session, held):
    rows, calls = held
    with rows.block(session):
        rows.add(session, [{"n": 1}])
        rows.flush(session)
        rows.add(session, [{"n": 2}])
        assert calls == [[1]]
    assert calls == [[1], [2]]


def test_a_block_ended_by_an_error_still_writes_what_it_held(session, held):
    rows, calls = held
    with pytest.raises(ValueError):
        with rows.block(session):
            rows.add(session, [{"n": 1}])
            raise ValueError("the use case failed")
    assert calls == [[1]]


def test_rows_added_in_a_savepoint_begun_inside_the_block_are_refused(session, held):
    rows, calls = held
    with pytest.raises(RuntimeError, match="savepoint"):
        with rows.block(session):
            with session.begin_nested():
                rows.add(session, [{"n": 1}])
    assert calls == []
