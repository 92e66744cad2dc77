"""Publishing a batch of messages with publisher confirms and `mandatory`.

pika's BlockingChannel waits for the broker's confirm after every single publish,
which caps a publisher at one round trip (and one broker fsync) per message. The
outbox relay sends batches, so this publisher drives pika's asynchronous
SelectConnection from synchronous code: it writes the whole batch, then runs the
I/O loop until every message is confirmed, nacked or returned. One round trip
per batch, the same guarantee per message.
"""
from __future__ import annotations

import logging
import time
from dataclasses import dataclass

import pika
from pika.exceptions import AMQPError

from . import topology
from .config import Settings

log = logging.getLogger(__name__)


class BrokerUnavailable(RuntimeError):
    """The broker could not be reached, or the connection broke mid-batch."""


@dataclass(frozen=True)
class OutgoingMessage:
    message_id: str
    routing_key: str
    body: bytes
    headers: dict | None = None
    exchange: str | None = None  # default: the events exchange


def connection_parameters(url: str, **overrides) -> pika.URLParameters:
    params = pika.URLParameters(url)
    params.connection_attempts = 1
    params.socket_timeout = overrides.get("socket_timeout", 5)
    params.blocked_connection_timeout = overrides.get("blocked_connection_timeout", 30)
    params.heartbeat = overrides.get("heartbeat", 30)
    params.client_properties = {"connection_name": overrides.get("name", "envgrid")}
    return params


def declare_exchange_once(settings: Settings) -> None:
    connection = pika.BlockingConnection(connection_parameters(settings.amqp_url, name="declare"))
    try:
        topology.declare_exchange(connection.channel(), settings)
    finally:
        connection.close()


class ConfirmingPublisher:
    def __init__(self, settings: Settings, confirm_timeout: float = 10.0, name: str = "publisher"):
        self.settings = settings
        self.confirm_timeout = confirm_timeout
        self.name = name
        self._connection: pika.SelectConnection | None = None
        self._channel = None
        self._error: str | None = None
        self._next_tag = 0
        self._pending: dict[int, str] = {}
        self._results: dict[str, str | None] = {}
        self._returned: set[str] = set()

    # -- connection -------------------------------------------------------
    @property
    def connected(self) -> bool:
        return (self._connection is not None and self._connection.is_open
                and self._channel is not None and self._channel.is_open and self._error is None)

    def connect(self) -> None:
        if self.connected:
            return
        self.close()
        declare_exchange_once(self.settings)
        self._error = None
        self._connection = pika.SelectConnection(
            connection_parameters(self.settings.amqp_url, name=f"{self.settings.service}-{self.name}"),
            on_open_callback=self._on_connection_open,
            on_open_error_callback=self._on_failure,
            on_close_callback=self._on_failure,
        )
        self._run_until(lambda: self._channel is not None and self._channel.is_open and self._confirming,
                        timeout=10.0)

    _confirming = False

    def _on_connection_open(self, connection) -> None:
        connection.channel(on_open_callback=self._on_channel_open)

    def _on_channel_open(self, channel) -> None:
        self._channel = channel
        channel.add_on_close_callback(self._on_failure)
        channel.add_on_return_callback(self._on_return)
        self._next_tag = 0
        channel.confirm_delivery(self._on_confirm, callback=self._on_confirm_ok)

    def _on_confirm_ok(self, _frame) -> None:
        self._confirming = True
        self._wake()

    def _on_failure(self, _obj, reason) -> None:
        self._error = str(reason) or "connection closed"
        self._confirming = False
        self._wake()

    def close(self) -> None:
        connection, self._connection, self._channel = self._connection, None, None
        self._confirming = False
        if connection is None:
            return
        try:
            if connection.is_open:
                connection.close()
                deadline = time.monotonic() + 2
                while not connection.is_closed and time.monotonic() < deadline:
                    connection.ioloop.poll()
                    connection.ioloop.process_timeouts()
        except Exception:  # closing a broken connection: nothing left to save
            log.debug("error while closing publisher connection", exc_info=True)

    # -- publishing -------------------------------------------------------
    def publish_batch(self, messages: list[OutgoingMessage]) -> dict[str, str | None]:
        """Publish all, wait for the broker's verdict on each.

        Returns message_id -> None when the broker confirmed it (persisted and routed),
        or a reason when it nacked or returned it. Raises BrokerUnavailable when the
        connection failed: the outcome of unconfirmed messages is then unknown and the
        caller must treat them as not sent (a resend is harmless: consumers dedupe).
        """
        if not messages:
            return {}
        self.connect()
        self._pending.clear()
        self._results = {}
        self._returned = set()
        try:
            for msg in messages:
                self._channel.basic_publish(
                    exchange=self.settings.events_exchange if msg.exchange is None else msg.exchange,
                    routing_key=msg.routing_key,
                    body=msg.body,
                    properties=pika.BasicProperties(
                        message_id=msg.message_id, delivery_mode=2,
                        content_type="application/json", content_encoding="utf-8",
                        headers=msg.headers or {}),
                    mandatory=True,
                )
                self._next_tag += 1
                self._pending[self._next_tag] = msg.message_id
            self._run_until(lambda: not self._pending, timeout=self.confirm_timeout)
        except (AMQPError, OSError) as exc:
            self._error = self._error or str(exc)
        if self._error or self._pending:
            reason = self._error or "confirm timeout"
            self.close()
            raise BrokerUnavailable(reason)
        return self._results

    def _on_return(self, _channel, _method, properties, _body) -> None:
        self._returned.add(properties.message_id)

    def _on_confirm(self, frame) -> None:
        method = frame.method
        acked = isinstance(method, pika.spec.Basic.Ack)
        tags = [t for t in self._pending if t <= method.delivery_tag] if method.multiple else [method.delivery_tag]
        for tag in tags:
            message_id = self._pending.pop(tag, None)
            if message_id is None:
                continue
            if not acked:
                self._results[message_id] = "nacked by broker"
            elif message_id in self._returned:
                self._results[message_id] = "returned: unroutable"
            else:
                self._results[message_id] = None
        self._wake()

    # -- the I/O loop -----------------------------------------------------
    def _wake(self) -> None:
        if self._connection is not None:
            self._connection.ioloop.stop()

    def _run_until(self, done, timeout: float) -> None:
        loop = self._connection.ioloop
        deadline = time.monotonic() + timeout
        while not done():
            if self._error:
                raise BrokerUnavailable(self._error)
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise BrokerUnavailable(f"no answer from the broker within {timeout:.0f}s")
            timer = loop.call_later(min(remaining, 1.0), loop.stop)
            loop.start()
            loop.remove_timeout(timer)

    def idle(self) -> None:
        """Let heartbeats and close notices through between batches."""
        if self._connection is None:
            return
        loop = self._connection.ioloop
        timer = loop.call_later(0, loop.stop)
        loop.start()
        loop.remove_timeout(timer)
