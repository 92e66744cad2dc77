"""The reference data every report reads: categories' first levels, assignment rules, calendar overrides.

They change a few times a year; reports come many a second. Rather than three
queries a report, each process keeps what it read for CACHE_TTL_S seconds (per
database: tests run several), then reads all three again. How fresh it is:
- in the process that changes them, at once: `set_rule` (PUT /assignment-rules)
  and the categories timer call `forget` when they write and again after commit;
- in every other process (the workers, other web processes), within CACHE_TTL_S;
- calendar overrides have no API (an operator edits the table): within CACHE_TTL_S.
"""
from __future__ import annotations

import os
import threading
import time
from dataclasses import dataclass
from datetime import date
from typing import Callable

from sqlalchemy import event, select
from sqlalchemy.orm import Session

from . import sla
from .models import assignment_rules, calendar_overrides, categories

# REFERENCE_CACHE_S: how long a process trusts what it read (0: read at every use).
CACHE_TTL_S = float(os.environ.get("REFERENCE_CACHE_S", "5"))

_CATEGORIES = select(categories.c.code, categories.c.first_level)
_RULES = select(assignment_rules.c.channel, assignment_rules.c.category, assignment_rules.c.level)
_CALENDAR = select(calendar_overrides.c.day, calendar_overrides.c.workday)


@dataclass(frozen=True)
class Snapshot:
    first_levels: dict[str, int]              # category code -> the level that first handles it
    rules: dict[tuple[str, str], int]         # (channel, category or "*") -> level
    is_workday: Callable[[date], bool]        # the statutory calendar under the district's overrides
    read_at: float                            # time.monotonic() of the reading


_snapshots: dict[str, Snapshot] = {}  # database URL -> what this process last read there
_lock = threading.Lock()


def _read(session: Session) -> Snapshot:
    return Snapshot(first_levels=dict(session.execute(_CATEGORIES).all()),
                    rules={(channel, category): level for channel, category, level in session.execute(_RULES)},
                    is_workday=sla.calendar(dict(session.execute(_CALENDAR).all())),
                    read_at=time.monotonic())


def snapshot(session: Session) -> Snapshot:
    """The reference data as this process last read it, read again (in `session`) when older than CACHE_TTL_S."""
    key = str(session.get_bind().url)
    current = _snapshots.get(key)
    if current is None or time.monotonic() - current.read_at >= CACHE_TTL_S:
        current = _read(session)
        with _lock:
            _snapshots[key] = current
    return current


def forget() -> None:
    """Read afresh at the next use (every database: a write names no URL and this costs three reads)."""
    with _lock:
        _snapshots.clear()


def forget_after_commit(session: Session) -> None:
    """For a use case changing reference data: forget now, and again once its transaction commits,
    so that nothing read by another thread of this process between the two outlives the change."""
    forget()
    event.listen(session, "after_commit", lambda _session: forget(), once=True)
