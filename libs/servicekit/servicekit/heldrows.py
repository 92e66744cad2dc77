"""Rows a use case adds one at a time, written in one INSERT when the use case ends.

A use case that writes several rows of one table (a report that becomes a case: two
history entries and two events; settled on the spot: six of each) costs a statement per
row when each is written as it comes. Inside `block(session)`, `add` holds rows back in
the order added and the block's end writes them with one call of `write`; outside a
block, `add` writes at once. The outbox's events (Outbox.gathered) and dispatch's case
history use it.

The block lies in one transaction at one savepoint level: a row added in a savepoint or
transaction begun inside it is refused (held back, it would outlive a savepoint rolled
back, or change transaction). A block inside another joins it. Ended by an exception, the
block still writes what it holds, as writing at once would have: the caller may yet commit.
"""
from __future__ import annotations

import logging
from contextlib import contextmanager
from typing import Callable, Iterator

from sqlalchemy.orm import Session

log = logging.getLogger(__name__)


class _Held:
    __slots__ = ("root", "savepoint", "rows")

    def __init__(self, root, savepoint):
        self.root, self.savepoint, self.rows = root, savepoint, []


class HeldRows:
    def __init__(self, name: str, write: Callable[[Session, list[dict]], None]):
        self.name = name
        self._key = f"servicekit.held.{name}"  # session.info: the open block's rows
        self._write = write

    def add(self, session: Session, rows: list[dict]) -> None:
        held = session.info.get(self._key)
        if held is None:
            self._write(session, rows)
            return
        if session.get_transaction() is not held.root or session.get_nested_transaction() is not held.savepoint:
            raise RuntimeError(f"{self.name}: rows added in a savepoint or transaction begun inside the block "
                               "that holds them back; begin it outside, or add them outside the block")
        held.rows.extend(rows)

    def flush(self, session: Session) -> None:
        """Write what the open block holds now (a read inside the block must see it); it goes on holding."""
        held = session.info.get(self._key)
        if held is not None and held.rows:
            rows, held.rows = held.rows, []
            self._write(session, rows)

    @contextmanager
    def block(self, session: Session) -> Iterator[None]:
        if session.info.get(self._key) is not None:  # inside another block: that one writes them
            yield
            return
        session.connection()  # begins the transaction the rows belong to
        held = session.info[self._key] = _Held(session.get_transaction(), session.get_nested_transaction())
        try:
            yield
        except BaseException:
            session.info.pop(self._key, None)
            try:
                if held.rows:
                    self._write(session, held.rows)
            except Exception:  # the transaction has failed as well: the block's own error is the one to see
                log.debug("rows held back by %s not written after an error", self.name, exc_info=True)
            raise
        session.info.pop(self._key, None)
        if held.rows:
            self._write(session, held.rows)
