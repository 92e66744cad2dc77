"""Inspect and replay a service's dead-letter queue.

Listing takes messages without acking and closes the channel, which returns
them to the queue untouched. Replaying publishes each chosen message back into
the service's own events queue (confirmed, attempt counter reset) and only then
acks it off the dead queue, so a crash mid-replay duplicates, never loses; the
inbox absorbs the duplicate.
"""
from __future__ import annotations

import json
from dataclasses import dataclass

import pika

from . import topology
from .config import Settings
from .consumer import ATTEMPT_HEADER, ERROR_HEADER
from .publisher import connection_parameters


@dataclass(frozen=True)
class DeadLetter:
    message_id: str | None
    event_type: str | None
    error: str | None
    attempts: int | None
    body: str


def _describe(properties, body: bytes) -> DeadLetter:
    headers = properties.headers or {}
    try:
        event_type = json.loads(body).get("type")
    except (ValueError, AttributeError):
        event_type = None
    error = headers.get(ERROR_HEADER)
    if error is None and headers.get("x-death"):
        # Dead-lettered by the broker itself (delivery limit reached: a crash loop).
        error = f"broker dead-lettered: {headers['x-death'][0].get('reason')}"
    attempt = headers.get(ATTEMPT_HEADER)
    return DeadLetter(message_id=properties.message_id, event_type=event_type, error=error,
                      attempts=int(attempt) if attempt is not None else None,
                      body=body.decode("utf-8", errors="replace"))


def _open(settings: Settings):
    connection = pika.BlockingConnection(connection_parameters(settings.amqp_url, name="deadletters"))
    return connection, connection.channel()


def list_dead(settings: Settings, limit: int = 100) -> list[DeadLetter]:
    connection, channel = _open(settings)
    try:
        found = []
        for _ in range(limit):
            method, properties, body = channel.basic_get(topology.dead_queue(settings), auto_ack=False)
            if method is None:
                break
            found.append(_describe(properties, body))
        return found
    finally:
        connection.close()  # unacked messages go back to the queue


def replay(settings: Settings, message_ids: set[str] | None = None, limit: int = 10_000) -> int:
    """Move dead letters (all, or those with the given message ids) back to the events queue."""
    connection, channel = _open(settings)
    replayed = 0
    try:
        channel.confirm_delivery()
        for _ in range(limit):
            method, properties, body = channel.basic_get(topology.dead_queue(settings), auto_ack=False)
            if method is None:
                break
            if message_ids is not None and properties.message_id not in message_ids:
                continue  # left unacked: returns to the queue when we close
            headers = {k: v for k, v in (properties.headers or {}).items()
                       if k not in (ERROR_HEADER, "x-death", "x-first-death-exchange",
                                    "x-first-death-queue", "x-first-death-reason", "x-delivery-count")}
            headers[ATTEMPT_HEADER] = 1
            channel.basic_publish("", topology.events_queue(settings), body, pika.BasicProperties(
                message_id=properties.message_id, delivery_mode=2, content_type=properties.content_type,
                content_encoding=properties.content_encoding, headers=headers), mandatory=True)
            channel.basic_ack(method.delivery_tag)
            replayed += 1
        return replayed
    finally:
        connection.close()
