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
from sqlalchemy import insert, select
from sqlalchemy.exc import IntegrityError
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


class Consumer:
    def __init__(self, settings: Settings, db: Database, registry: EventRegistry,
                 handlers: dict[str, Handler]):
        self.settings = settings
        self.db = db
        self.registry = registry
        self.handlers = dict(handlers)
        self.connected = threading.Event()

    # -- one message ------------------------------------------------------
    def process(self, body: bytes, attempt: int) -> tuple[Outcome, Envelope | None]:
        """Apply one message to the database. Pure of any broker I/O, so it is testable alone."""
        try:
            envelope = Envelope.from_json(body)
        except ValidationError as exc:
            return Outcome("dead", f"invalid envelope: {exc.messages if hasattr(exc, 'messages') else exc}"), None
        handler = self.handlers.get(envelope.type)
        with log_context(correlation_id=envelope.correlation_id, causation_id=envelope.id):
            if handler is None:
                return Outcome("dead", f"no handler for {envelope.type}"), envelope
            try:
                data = self.registry.load(envelope)
            except (ValidationError, UnknownEventType) as exc:
                # A contract violation will not heal by retrying.
                return Outcome("dead", f"data does not match {envelope.type} v{envelope.version}: {exc}"), envelope
            started = time.perf_counter()
            try:
                with self.db.transaction() as session:
                    if session.execute(select(inbox.c.event_id).where(inbox.c.event_id == envelope.id)).first():
                        return Outcome("duplicate"), envelope
                    session.execute(insert(inbox).values(
                        event_id=envelope.id, event_type=envelope.type, processed_at=utcnow()))
                    handler(session, envelope, data)
            except IntegrityError as exc:
                # A concurrent delivery of the same event committed first: ours is the duplicate.
                if self._already_processed(envelope.id):
                    return Outcome("duplicate"), envelope
                return self._failed(envelope, attempt, exc), envelope
            except Exception as exc:  # the handler's own failure: retry or dead-letter
                return self._failed(envelope, attempt, exc), envelope
            finally:
                metrics.HANDLER_DURATION.labels(envelope.type).observe(time.perf_counter() - started)
            return Outcome("processed"), envelope

    def _already_processed(self, event_id: str) -> bool:
        with self.db.transaction() as session:
            return session.execute(select(inbox.c.event_id).where(inbox.c.event_id == event_id)).first() is not None

    def _failed(self, envelope: Envelope, attempt: int, exc: Exception) -> Outcome:
        metrics.EVENTS_FAILED.labels(envelope.type).inc()
        error = f"{type(exc).__name__}: {exc}"[:1000]
        log.warning("event handler failed", exc_info=True,
                    extra={"event_id": envelope.id, "event_type": envelope.type, "attempt": attempt})
        if attempt >= self.settings.consumer_max_attempts:
            return Outcome("dead", error)
        return Outcome("retry", error)

    # -- the broker side --------------------------------------------------
    def _on_message(self, channel, method, properties, body) -> None:
        headers = dict(properties.headers or {})
        attempt = int(headers.get(ATTEMPT_HEADER, 1))
        outcome, envelope = self.process(body, attempt)
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
        channel.basic_ack(method.delivery_tag)

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
                channel.basic_consume(topology.events_queue(self.settings), self._on_message)
                self.connected.set()
                metrics.BROKER_CONNECTED.labels("consumer").set(1)
                failures = 0
                log.info("consuming", extra={"queue": topology.events_queue(self.settings),
                                             "event_types": sorted(self.handlers)})
                while not stop.is_set():
                    connection.process_data_events(time_limit=0.5)
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
