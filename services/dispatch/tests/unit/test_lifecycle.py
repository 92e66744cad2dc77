"""The case state machine and who may move it."""
import pytest
from hypothesis import given
from hypothesis import strategies as st

from dispatch import chain
from dispatch.lifecycle import (ACTIONS, STATES, TERMINAL_STATES, Actor, IllegalTransition, allowed_actions,
                                may_act, next_state)


def test_the_happy_path_ends_closed():
    state = "new"
    for action in ("assign", "accept", "handle", "verify", "close"):
        state = next_state(state, action)
    assert state == "closed"


def test_failed_verification_sends_the_case_back_for_rework():
    assert next_state("handled", "reopen") == "accepted"


def test_an_illegal_action_names_the_allowed_ones():
    with pytest.raises(IllegalTransition) as err:
        next_state("closed", "accept")
    assert err.value.allowed == []
    with pytest.raises(IllegalTransition) as err:
        next_state("assigned", "verify")
    assert "accept" in err.value.allowed and "escalate" in err.value.allowed


@given(st.lists(st.sampled_from(ACTIONS), max_size=40))
def test_no_sequence_of_actions_reaches_an_undefined_state(actions):
    state = "new"
    for action in actions:
        try:
            state = next_state(state, action)
        except IllegalTransition as exc:
            assert action not in exc.allowed
        assert state in STATES
    if state in TERMINAL_STATES:
        assert allowed_actions(state) == []


STAFF_4 = Actor("s4", frozenset({"grid_staff"}), ("140502001001001",))
STAFF_3 = Actor("s3", frozenset({"grid_staff"}), ("140502001001",))
OPS = Actor("ops", frozenset({"district_ops"}), ())


def test_grid_staff_act_in_their_subtree_and_verify_only_below_them():
    case_grid = "140502001001001"
    assert may_act(STAFF_4, "accept", case_grid) and may_act(STAFF_3, "accept", case_grid)
    assert not may_act(STAFF_4, "verify", case_grid)  # nobody verifies their own work
    assert may_act(STAFF_3, "verify", case_grid)
    assert not may_act(STAFF_4, "accept", "140502001001002")
    assert not may_act(STAFF_3, "refer", case_grid) and may_act(OPS, "refer", case_grid)
    assert not may_act(Actor("p", frozenset({"public"}), ()), "accept", case_grid)


def _entries(n):
    entries, previous = [], chain.GENESIS
    for seq in range(1, n + 1):
        entry = {"case_id": "C1", "seq": seq, "action": "accept", "from_state": "a", "to_state": "b",
                 "actor": "张三", "role": "grid_staff", "grid_code": "140502", "at": f"2026-11-28T00:00:0{seq}+00:00",
                 "note": "现场核查", "evidence": [], "details": {"k": seq}}
        entry["previous_hash"], entry["hash"] = previous, chain.entry_hash(entry, previous)
        previous = entry["hash"]
        entries.append(entry)
    return entries


@given(st.integers(min_value=1, max_value=8), st.data())
def test_the_chain_verifies_and_any_edit_breaks_it_at_that_entry(n, data):
    entries = _entries(n)
    assert chain.verify(entries) == (True, None)
    victim = data.draw(st.integers(min_value=0, max_value=n - 1))
    entries[victim]["note"] = "篡改"
    assert chain.verify(entries) == (False, victim + 1)


def test_removing_an_entry_breaks_the_chain():
    entries = _entries(4)
    del entries[1]
    assert chain.verify(entries)[0] is False
