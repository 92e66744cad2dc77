"""The transactional outbox and its relay.

`Outbox.add` writes an event into the same transaction as the change it
describes: both commit or neither does. The relay, in the worker process, reads
unsent rows, publishes them with confirms and marks them sent. A crash between
publish and mark resends the batch; consumers' inboxes make that harmless.

Several relay replicas may run: on PostgreSQL each locks the rows it sends with
FOR UPDATE SKIP LOCKED so replicas take different rows; on SQLite the write lock
(BEGIN IMMEDIATE) serialises them.
"""
from __future__ import annotations

import logging
import threading
import time
from datetime import timedelta

from sqlalchemy import func, insert, select, text, update
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from . import metrics
from .config import Settings
from .db import Database
from .events import EventRegistry, new_envelope
from .heldrows import HeldRows
from .publisher import BrokerUnavailable, ConfirmingPublisher, OutgoingMessage
from .tables import outbox, utcnow

log = logging.getLogger(__name__)

# PostgreSQL notification sent with the first outbox write of a transaction, delivered at
# commit: the relay wakes at once instead of waiting for its next poll. (Each service has its
# own database, and NOTIFY is per database, so one channel name serves all.)
NOTIFY_CHANNEL = "envgrid_outbox"

# Backoff for a row the broker refused (nacked or unroutable): 1 s, 2 s, ... capped at 5 min.
ROW_BACKOFF_CAP_S = 300

# Coalescing: a NOTIFY at every commit would have the relay send a batch per commit under
# load, each batch a transaction and a confirm round trip. When the last batch carried
# COALESCE_AFTER events or more (commits are queueing up), the relay, once woken, lets
# further commits land for up to COALESCE_WAIT_S, or until COALESCE_COMMITS of them have,
# before it claims a batch. A lone event (idle, or a light load) is sent at once.
COALESCE_AFTER = 3
COALESCE_WAIT_S = 0.005
COALESCE_COMMITS = 20

_NOTIFY = text(f"NOTIFY {NOTIFY_CHANNEL}")
_INSERT = insert(outbox)
_NOTIFIED = "servicekit.outbox.notified"  # session.info key: where this session last sent NOTIFY


def _notify_needed(session: Session) -> bool:
    """Whether this write must send NOTIFY: not when one sent earlier in this transaction still stands.

    PostgreSQL delivers a transaction's identical notifications once anyway, so a second
    NOTIFY only costs a statement (a report that becomes a case writes two events). One
    sent in the transaction itself stands until it ends; one sent in a savepoint stands
    while that savepoint, or one inside it, is the current one (a savepoint rolled back
    takes its NOTIFY with it). Anything else sends it again: a spare NOTIFY is harmless,
    a missing one leaves the event to the relay's next poll. The transactions are compared
    by identity, and session.info keeps the ones it names alive, so a new transaction is
    never mistaken for an old one.
    """
    root, savepoint = session.get_transaction(), session.get_nested_transaction()
    sent = session.info.get(_NOTIFIED)
    if sent is not None and sent[0] is root:
        if sent[1] is None:
            return False
        current = savepoint
        while current is not None:  # the savepoint it was sent in, or one begun inside it
            if current is sent[1]:
                return False
            current = current.parent
    session.info[_NOTIFIED] = (root, savepoint)
    return True


class Outbox:
    def __init__(self, producer: str, registry: EventRegistry):
        self.producer = producer
        self.registry = registry
        self._held = HeldRows("Outbox.gathered", _write)

    def add(self, session: Session, event_type: str, data: dict, version: int = 1) -> str:
        """Validate `data` against its schema and queue the event in `session`'s transaction."""
        return self.add_many(session, [(event_type, data)], version)[0]

    def add_many(self, session: Session, events: list[tuple[str, dict]], version: int = 1) -> list[str]:
        """Queue several events in one statement (bulk changes: imports, reorganisations)."""
        if not events:
            return []
        now = utcnow()
        rows = []
        for event_type, data in events:
            clean = self.registry.validate_outgoing(event_type, version, data)
            envelope = new_envelope(event_type, clean, self.producer, version)
            rows.append({"event_id": envelope.id, "event_type": event_type, "payload": envelope.to_json(),
                         "created_at": now, "next_attempt_at": now, "attempts": 0})
        self._held.add(session, rows)
        return [row["event_id"] for row in rows]

    def gathered(self, session: Session):
        """Events added on `session` inside the block are written when it ends, in the order added:
        one INSERT for them all instead of one each (a use case publishing several events).
        The rules of heldrows.HeldRows apply (one transaction and savepoint level; nesting joins)."""
        return self._held.block(session)


def _write(session: Session, rows: list[dict]) -> None:
    if not rows:
        return
    connection = session.connection()  # Core statements, built once: no ORM work to do
    connection.execute(_INSERT, rows)
    if connection.dialect.name == "postgresql" and _notify_needed(session):
        connection.execute(_NOTIFY)


def row_backoff(attempts: int) -> timedelta:
    return timedelta(seconds=min(2 ** max(attempts - 1, 0), ROW_BACKOFF_CAP_S))


class OutboxRelay:
    def __init__(self, settings: Settings, db: Database, publisher: ConfirmingPublisher | None = None, *,
                 coalesce_after: int = COALESCE_AFTER, coalesce_wait_s: float = COALESCE_WAIT_S,
                 coalesce_commits: int = COALESCE_COMMITS):
        self.settings = settings
        self.db = db
        self.publisher = publisher or ConfirmingPublisher(settings, name="relay")
        self.last_success: float | None = None
        self.coalesce_after = coalesce_after
        self.coalesce_wait_s = coalesce_wait_s
        self.coalesce_commits = coalesce_commits
        self._last_sent = 0
        self._listener = None

    def _wait_for_work(self, stop: threading.Event, timeout: float) -> None:
        """Sleep until the poll interval passes, or (PostgreSQL) an outbox write commits."""
        if not self.db.is_postgres:
            stop.wait(timeout)
            return
        try:
            if self._listener is None or self._listener.closed:
                import psycopg
                url = make_url(self.db.url).set(drivername="postgresql")
                self._listener = psycopg.connect(url.render_as_string(hide_password=False), autocommit=True)
                self._listener.execute(f"LISTEN {NOTIFY_CHANNEL}")
            woken = False
            for _ in self._listener.notifies(timeout=timeout, stop_after=1):
                woken = True
            if woken and self._last_sent >= self.coalesce_after and not stop.is_set():
                for _ in self._listener.notifies(timeout=self.coalesce_wait_s, stop_after=self.coalesce_commits):
                    pass
        except Exception:
            # Notifications are only a shortcut; polling still finds every row.
            log.debug("outbox listener unavailable, polling", exc_info=True)
            if self._listener is not None:
                self._listener.close()
            self._listener = None
            stop.wait(timeout)

    def run_once(self) -> int:
        """Send one batch. Returns how many events the broker confirmed."""
        # Connect before opening the transaction: a connect that hangs must not
        # hold the database's write lock (SQLite) or row locks (PostgreSQL).
        self.publisher.connect()
        metrics.BROKER_CONNECTED.labels("relay").set(1)
        with self.db.transaction() as session:
            now = utcnow()
            query = (select(outbox.c.id, outbox.c.event_id, outbox.c.event_type, outbox.c.payload,
                            outbox.c.attempts)
                     .where(outbox.c.sent_at.is_(None), outbox.c.next_attempt_at <= now)
                     .order_by(outbox.c.id).limit(self.settings.relay_batch_size))
            if self.db.is_postgres:
                query = query.with_for_update(skip_locked=True)
            rows = session.execute(query).all()
            if not rows:
                return 0
            results = self.publisher.publish_batch([
                OutgoingMessage(message_id=row.event_id, routing_key=row.event_type,
                                body=row.payload.encode("utf-8"))
                for row in rows])
            sent_ids = [row.id for row in rows if results.get(row.event_id, "unknown") is None]
            if sent_ids:
                session.execute(update(outbox).where(outbox.c.id.in_(sent_ids)).values(sent_at=now))
            for row in rows:
                error = results.get(row.event_id, "no confirm")
                if error is None:
                    metrics.EVENTS_PUBLISHED.labels(row.event_type).inc()
                    continue
                metrics.EVENTS_PUBLISH_FAILED.labels(row.event_type).inc()
                log.warning("outbox event not accepted by broker",
                            extra={"event_id": row.event_id, "event_type": row.event_type, "reason": error})
                session.execute(update(outbox).where(outbox.c.id == row.id).values(
                    attempts=row.attempts + 1, last_error=error[:500],
                    next_attempt_at=now + row_backoff(row.attempts + 1)))
        self.last_success = time.monotonic()
        return len(sent_ids)

    def backlog(self) -> tuple[int, float]:
        """(unsent events, age in seconds of the oldest one)."""
        with self.db.transaction() as session:
            count, oldest = session.execute(
                select(func.count(), func.min(outbox.c.created_at)).where(outbox.c.sent_at.is_(None))).one()
        if oldest is not None and oldest.tzinfo is None:
            oldest = oldest.replace(tzinfo=utcnow().tzinfo)
        age = (utcnow() - oldest).total_seconds() if oldest else 0.0
        return count, age

    def run(self, stop: threading.Event) -> None:
        """Relay until `stop` is set, backing off while the broker is away."""
        failures = 0
        last_gauge = 0.0
        while not stop.is_set():
            try:
                sent = self._last_sent = self.run_once()
                failures = 0
            except BrokerUnavailable as exc:
                failures += 1
                metrics.BROKER_CONNECTED.labels("relay").set(0)
                delay = min(0.5 * 2 ** min(failures, 6), 30.0)
                log.warning("broker unavailable, relay backing off",
                            extra={"reason": str(exc), "retry_in_s": delay})
                stop.wait(delay)
                continue
            except Exception:
                failures += 1
                log.exception("outbox relay failed")
                stop.wait(min(0.5 * 2 ** min(failures, 6), 30.0))
                continue
            if time.monotonic() - last_gauge > 5:
                last_gauge = time.monotonic()
                count, age = self.backlog()
                metrics.OUTBOX_BACKLOG.set(count)
                metrics.OUTBOX_OLDEST_AGE.set(age)
            if sent < self.settings.relay_batch_size:
                # Nothing more waiting: poll again soon, keeping the connection's heartbeats alive.
                self.publisher.idle()
                self._wait_for_work(stop, self.settings.relay_poll_ms / 1000)
        self.publisher.close()
        if self._listener is not None:
            self._listener.close()
