"""Data a process reads from its own database and trusts for a few seconds: `TimedSnapshots`.

For reference data read on every request (categories, rules, outlines) that changes
rarely: rather than the same queries per request, each process keeps what it last read,
per database, and reads again once that is older than the time to live.

- The time to live is `ttl_s`, or when that is None the environment's REFERENCE_CACHE_S
  (default 5 s; 0: read at every use), looked up at each use so that tests can set it.
- Per database means per SQLAlchemy engine, held weakly: an engine is one database in one
  process, so what a test read in one database never answers for another (tests run
  several in one process), an entry goes when its engine goes (no growth as tests create
  databases), a database recreated under the same URL starts empty, and a process forked
  after reading (gunicorn) reads again with the engine `Database` rebuilds for it. Two
  `Database` objects on one URL in one process each read once per time to live.
- `forget()` drops every database's copy (a write names no engine, and a read costs little).
  A reading that was under way when `forget()` ran is returned to its caller but not kept.
- `forget_after_commit(session)`: forget now, and again once the session's transaction
  commits (nothing after a rollback), so that what another thread of the process read
  between the write and the commit does not outlive the change.

Thread-safe: the threads of a process (gunicorn gthread) share one copy; the reading itself
runs outside the lock, so two threads may read at once when a copy expires.
"""
from __future__ import annotations

import os
import threading
import time
import weakref
from typing import Callable, Generic, TypeVar

from sqlalchemy import event
from sqlalchemy.orm import Session

T = TypeVar("T")

TTL_ENV = "REFERENCE_CACHE_S"
DEFAULT_TTL_S = 5.0


def ttl_from_env() -> float:
    """REFERENCE_CACHE_S in seconds, default 5."""
    return float(os.environ.get(TTL_ENV) or DEFAULT_TTL_S)


class TimedSnapshots(Generic[T]):
    """What `read(session, previous)` returned, kept per database for a time to live.

    `previous` is the value this process last read in that database (None at first, or
    after `forget`), for a reader that can reuse what has not changed.
    """

    def __init__(self, read: Callable[[Session, T | None], T], ttl_s: float | None = None,
                 clock: Callable[[], float] = time.monotonic):
        self.read = read
        self.ttl_s = ttl_s
        self.clock = clock
        self._kept: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()  # engine -> (value, read_at)
        self._lock = threading.Lock()
        self._generation = 0  # counts forget(): a reading older than the last one is not kept

    @property
    def ttl(self) -> float:
        return ttl_from_env() if self.ttl_s is None else self.ttl_s

    def get(self, session: Session) -> T:
        """The value as this process last read it in the session's database, read again (in
        `session`) when there is none or it is older than the time to live."""
        engine = session.get_bind().engine
        with self._lock:
            kept = self._kept.get(engine)
            generation = self._generation
        now = self.clock()
        if kept is not None and now - kept[1] < self.ttl:
            return kept[0]
        value = self.read(session, kept[0] if kept is not None else None)
        with self._lock:
            if generation == self._generation:
                self._kept[engine] = (value, now)
        return value

    def forget(self) -> None:
        """Read afresh at the next use, in every database."""
        with self._lock:
            self._kept.clear()
            self._generation += 1

    def forget_after_commit(self, session: Session) -> None:
        """For a use case changing the data: forget now, and again once its transaction commits."""
        self.forget()
        event.listen(session, "after_commit", lambda _session: self.forget(), once=True)
