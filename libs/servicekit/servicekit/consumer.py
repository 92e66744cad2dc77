"""The event consumer: one durable queue per service, an inbox, retries, a dead-letter queue.

For each delivery:
1. parse the envelope (a message that is not one goes straight to `<service>.dead`);
2. in one database transaction: record the event id in the inbox (already there:
   a redelivery, nothing to do) and run the handler;
3. after the commit, ack. A crash before the ack redelivers; the inbox makes the
   second delivery a no-op, so each event is applied exactly once.
A handler that raises rolls its transaction back; the message is republished to
the holding queue of its attempt (backoff) and acked, until the last attempt
sends it to `<service>.dead` with the error attached.
"""
from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass
from typing import Callable

import pika
from marshmallow import ValidationError
from pika.exceptions import AMQPError
from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from . import metrics, topology
from .config import Settings
from .db import Database
from .events import Envelope, EventRegistry, UnknownEventType
from .logs import log_context
from .publisher import connection_parameters
from .tables import inbox, utcnow

log = logging.getLogger(__name__)

ATTEMPT_HEADER = "x-envgrid-attempt"
ERROR_HEADER = "x-envgrid-error"

# handler(session, envelope, data): runs inside the inbox transaction.
Handler = Callable[[Session, Envelope, dict], None]


@dataclass(frozen=True)
class Outcome:
    action: str  # "processed" | "duplicate" | "retry" | "dead"
    error: str | None = None


def _claim_statement(insert_):
    return (insert_(inbox).on_conflict_do_nothing(index_elements=["event_id"])
            .returning(inbox.c.event_id))


# The inbox claim, built once per dialect with its values bound at execution: building the
# INSERT .. ON CONFLICT and its cache key anew for every message cost ~0.1 ms per event
# (dispatch's incident.reported profile, bench/README.md); a statement reused as is keeps
# its cache key, so SQLAlchemy goes straight to the compiled form.
_CLAIM = {"postgresql": _claim_statement(pg_insert), "sqlite": _claim_statement(sqlite_insert)}


class _HandlerFailed(Exception):
    def __init__(self, cause: Exception):
        super().__init__(str(cause))
        self.cause = cause


class Consumer:
    def __init__(self, settings: Settings, db: Database, registry: EventRegistry,
                 handlers: dict[str, Handler]):
        self.settings = settings
        self.db = db
        self.registry = registry
        self.handlers = dict(handlers)
        self.connected = threading.Event()

    # -- applying messages -------------------------------------------------
    def process(self, body: bytes, attempt: int) -> tuple[Outcome, Envelope | None]:
        """Apply one message to the database. Pure of any broker I/O, so it is testable alone."""
        return self.process_batch([(body, attempt)])[0]

    def _parse(self, body: bytes):
        """(envelope, handler, data) or (Outcome to give at once, envelope or None)."""
        try:
            envelope = Envelope.from_json(body)
        except ValidationError as exc:
            return Outcome("dead", f"invalid envelope: {exc.messages if hasattr(exc, 'messages') else exc}"), None
        handler = self.handlers.get(envelope.type)
        if handler is None:
            return Outcome("dead", f"no handler for {envelope.type}"), envelope
        try:
            data = self.registry.load(envelope)
        except (ValidationError, UnknownEventType) as exc:
            # A contract violation will not heal by retrying.
            return Outcome("dead", f"data does not match {envelope.type} v{envelope.version}: {exc}"), envelope
        return envelope, handler, data

    def process_batch(self, messages: list[tuple[bytes, int]]) -> list[tuple[Outcome, Envelope | None]]:
        """Apply several messages in one database transaction: one commit for the lot.

        One commit per batch is what lets a consumer keep up with a relay that
        publishes in batches (a commit costs a disk flush). Should any handler fail,
        the batch's transaction rolls back and each message is applied again in a
        transaction of its own, so a failure retries or dead-letters that message alone.
        (A savepoint per message would do the same at twice the cost of the common case.)
        """
        results: list = [None] * len(messages)
        parsed = []
        for i, (body, attempt) in enumerate(messages):
            item = self._parse(body)
            if isinstance(item[0], Outcome):
                results[i] = item
            else:
                parsed.append((i, attempt, *item))
        if len(parsed) > 1:
            try:
                with self.db.transaction() as session:
                    applied = [(i, self._apply(session, envelope, handler, data), envelope)
                               for i, _, envelope, handler, data in parsed]
                for i, outcome, envelope in applied:
                    results[i] = (outcome, envelope)
                return results
            except Exception:  # some handler failed, or the commit did: one by one instead
                log.info("batch fell back to one transaction per message", exc_info=True)
        for i, attempt, envelope, handler, data in parsed:
            try:
                with self.db.transaction() as session:
                    outcome = self._apply(session, envelope, handler, data)
            except _HandlerFailed as failed:
                outcome = self._failed(envelope, attempt, failed.cause)
            except Exception as exc:  # the commit failed
                outcome = self._failed(envelope, attempt, exc)
            results[i] = (outcome, envelope)
        return results

    def _claim(self, session, envelope: Envelope) -> bool:
        """Record the event in the inbox; False when it is there already (a redelivery).

        INSERT .. ON CONFLICT DO NOTHING: one round trip, and on PostgreSQL a concurrent
        delivery of the same event waits for the first to commit, then finds it claimed.
        """
        statement = _CLAIM["postgresql" if session.get_bind().dialect.name == "postgresql" else "sqlite"]
        claimed = session.execute(statement, {"event_id": envelope.id, "event_type": envelope.type,
                                              "processed_at": utcnow()}).first()
        return claimed is not None

    def _apply(self, session, envelope: Envelope, handler: Handler, data: dict) -> Outcome:
        started = time.perf_counter()
        with log_context(correlation_id=envelope.correlation_id, causation_id=envelope.id):
            try:
                if not self._claim(session, envelope):
                    return Outcome("duplicate")
                try:
                    handler(session, envelope, data)
                except Exception as exc:
                    raise _HandlerFailed(exc) from exc
            finally:
                metrics.HANDLER_DURATION.labels(envelope.type).observe(time.perf_counter() - started)
            return Outcome("processed")

    def _failed(self, envelope: Envelope, attempt: int, exc: Exception) -> Outcome:
        metrics.EVENTS_FAILED.labels(envelope.type).inc()
        error = f"{type(exc).__name__}: {exc}"[:1000]
        log.warning("event handler failed", exc_info=True,
                    extra={"event_id": envelope.id, "event_type": envelope.type, "attempt": attempt})
        if attempt >= self.settings.consumer_max_attempts:
            return Outcome("dead", error)
        return Outcome("retry", error)

    # -- the broker side --------------------------------------------------
    def _settle(self, channel, deliveries: list) -> None:
        """Apply a batch, then ack each message (or move it to its retry or dead-letter queue)."""
        attempts = [int(dict(p.headers or {}).get(ATTEMPT_HEADER, 1)) for _, p, _ in deliveries]
        outcomes = self.process_batch([(body, attempt) for (_, _, body), attempt in zip(deliveries, attempts)])
        all_done = all(outcome.action in ("processed", "duplicate") for outcome, _ in outcomes)
        for (method, properties, body), attempt, (outcome, envelope) in zip(deliveries, attempts, outcomes):
            headers = dict(properties.headers or {})
            event_type = envelope.type if envelope else "invalid"
            if method.redelivered:
                metrics.EVENTS_REDELIVERED.labels(event_type).inc()
            if outcome.action in ("processed", "duplicate"):
                metrics.EVENTS_CONSUMED.labels(event_type, outcome.action).inc()
            else:
                headers[ERROR_HEADER] = outcome.error
                if outcome.action == "retry":
                    headers[ATTEMPT_HEADER] = attempt + 1
                    target = topology.retry_queue(self.settings, topology.retry_step(self.settings, attempt))
                else:
                    target = topology.dead_queue(self.settings)
                    metrics.EVENTS_DEAD_LETTERED.labels(event_type).inc()
                    log.error("event dead-lettered", extra={
                        "event_id": envelope.id if envelope else properties.message_id,
                        "event_type": event_type, "attempt": attempt, "error": outcome.error})
                # Confirmed publish first, ack second: a crash between them duplicates, never loses.
                channel.basic_publish("", target, body, pika.BasicProperties(
                    message_id=properties.message_id, delivery_mode=2, content_type=properties.content_type,
                    content_encoding=properties.content_encoding, headers=headers))
            if not all_done:
                channel.basic_ack(method.delivery_tag)
        if all_done:
            # The usual case: one frame acknowledges the whole batch (every earlier delivery is in it).
            channel.basic_ack(deliveries[-1][0].delivery_tag, multiple=True)

    def run(self, stop: threading.Event) -> None:
        """Consume until `stop` is set, reconnecting with backoff when the broker goes away."""
        failures = 0
        while not stop.is_set():
            connection = None
            try:
                connection = pika.BlockingConnection(connection_parameters(
                    self.settings.amqp_url, name=f"{self.settings.service}-consumer"))
                channel = connection.channel()
                topology.declare_consumer_queues(channel, self.settings, self.handlers)
                channel.confirm_delivery()
                channel.basic_qos(prefetch_count=self.settings.consumer_prefetch)
                self.connected.set()
                metrics.BROKER_CONNECTED.labels("consumer").set(1)
                failures = 0
                log.info("consuming", extra={"queue": topology.events_queue(self.settings),
                                             "event_types": sorted(self.handlers)})
                deliveries = channel.consume(topology.events_queue(self.settings), inactivity_timeout=0.5)
                for delivery in deliveries:
                    if stop.is_set():
                        break
                    if delivery[0] is None:
                        continue  # idle: look at `stop` again
                    # Whatever else has already arrived joins this batch (never waiting for more).
                    batch = [delivery]
                    while len(batch) < self.settings.consumer_prefetch and channel.get_waiting_message_count():
                        batch.append(next(deliveries))
                    self._settle(channel, batch)
                channel.cancel()  # unacked deliveries return to the queue
                connection.close()
            except (AMQPError, OSError) as exc:
                self.connected.clear()
                metrics.BROKER_CONNECTED.labels("consumer").set(0)
                failures += 1
                delay = min(0.5 * 2 ** min(failures, 6), 30.0)
                log.warning("consumer lost the broker, reconnecting",
                            extra={"reason": repr(exc), "retry_in_s": delay})
                if connection is not None and connection.is_open:
                    try:
                        connection.close()
                    except Exception:
                        pass
                stop.wait(delay)
        self.connected.clear()
