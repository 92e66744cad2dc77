"""The reference data every report reads: categories' first levels, assignment rules, calendar overrides.

They change a few times a year; reports come many a second. Rather than three
queries a report, each process keeps what it read for REFERENCE_CACHE_S seconds
(5; 0: read at every use; per database, see servicekit.snapshots), then reads all
three again. How fresh it is:
- in the process that changes them, at once: `set_rule` (PUT /assignment-rules)
  and the categories timer call `forget` when they write and again after commit;
- in every other process (the workers, other web processes), within REFERENCE_CACHE_S;
- calendar overrides have no API (an operator edits the table): within REFERENCE_CACHE_S.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Callable

from sqlalchemy import select
from sqlalchemy.orm import Session

from servicekit.snapshots import TimedSnapshots

from . import sla
from .models import assignment_rules, calendar_overrides, categories

_CATEGORIES = select(categories.c.code, categories.c.first_level)
_RULES = select(assignment_rules.c.channel, assignment_rules.c.category, assignment_rules.c.level)
_CALENDAR = select(calendar_overrides.c.day, calendar_overrides.c.workday)


@dataclass(frozen=True)
class Snapshot:
    first_levels: dict[str, int]              # category code -> the level that first handles it
    rules: dict[tuple[str, str], int]         # (channel, category or "*") -> level
    is_workday: Callable[[date], bool]        # the statutory calendar under the district's overrides


def _read(session: Session, _previous: Snapshot | None) -> Snapshot:
    return Snapshot(first_levels=dict(session.execute(_CATEGORIES).all()),
                    rules={(channel, category): level for channel, category, level in session.execute(_RULES)},
                    is_workday=sla.calendar(dict(session.execute(_CALENDAR).all())))


SNAPSHOTS: TimedSnapshots[Snapshot] = TimedSnapshots(_read)


def snapshot(session: Session) -> Snapshot:
    """The reference data as this process last read it, read again (in `session`) when older than REFERENCE_CACHE_S."""
    return SNAPSHOTS.get(session)


def forget() -> None:
    """Read afresh at the next use (every database: a write names no database and this costs three reads)."""
    SNAPSHOTS.forget()


def forget_after_commit(session: Session) -> None:
    """For a use case changing reference data: forget now, and again once its transaction commits,
    so that nothing read by another thread of this process between the two outlives the change."""
    SNAPSHOTS.forget_after_commit(session)
