"""The RabbitMQ objects EnvGrid uses, declared the same way by every process.

Declarations are idempotent but must agree exactly (a queue declared twice with
different arguments is a channel error), so they are written once, here.

- `envgrid.events`: durable topic exchange, routing key = event type. Its
  alternate exchange keeps events no queue is bound for yet (`envgrid.unrouted`),
  so a new event type is never silently discarded.
- `<service>.events`: quorum queue of the events a service consumes. Delivery
  limit and dead-letter target are explicit: RabbitMQ 3.x has no default limit,
  4.x defaults to 20, and we want the same behaviour on both.
- `<service>.retry.<n>`: holding queues with a fixed TTL, one per backoff step;
  expired messages dead-letter back into `<service>.events`. One queue per step
  avoids a long delay at the head blocking a short one behind it.
- `<service>.dead`: messages that exhausted their attempts, for an operator to
  inspect and replay.
"""
from __future__ import annotations

from .config import Settings

UNROUTED_MAX_LENGTH = 100_000


def unrouted_names(settings: Settings) -> tuple[str, str]:
    return settings.events_exchange + ".unrouted", settings.events_exchange + ".unrouted"


def declare_exchange(channel, settings: Settings) -> None:
    unrouted_exchange, unrouted_queue = unrouted_names(settings)
    channel.exchange_declare(unrouted_exchange, exchange_type="fanout", durable=True)
    channel.queue_declare(unrouted_queue, durable=True, arguments={
        "x-max-length": UNROUTED_MAX_LENGTH, "x-overflow": "drop-head"})
    channel.queue_bind(unrouted_queue, unrouted_exchange)
    channel.exchange_declare(settings.events_exchange, exchange_type="topic", durable=True,
                             arguments={"alternate-exchange": unrouted_exchange})


def events_queue(settings: Settings) -> str:
    return settings.queue_name("events")


def dead_queue(settings: Settings) -> str:
    return settings.queue_name("dead")


def retry_queue(settings: Settings, step: int) -> str:
    return settings.queue_name(f"retry.{step}")


def retry_step(settings: Settings, attempt_failed: int) -> int:
    """Which holding queue a message goes to after its `attempt_failed`-th failure."""
    return min(attempt_failed, len(settings.retry_delays_ms)) - 1


def declare_consumer_queues(channel, settings: Settings, event_types) -> None:
    declare_exchange(channel, settings)
    main, dead = events_queue(settings), dead_queue(settings)
    channel.queue_declare(dead, durable=True, arguments={"x-queue-type": "quorum"})
    channel.queue_declare(main, durable=True, arguments={
        "x-queue-type": "quorum",
        "x-delivery-limit": settings.broker_delivery_limit,
        "x-dead-letter-exchange": "",
        "x-dead-letter-routing-key": dead,
    })
    for step, delay in enumerate(settings.retry_delays_ms):
        channel.queue_declare(retry_queue(settings, step), durable=True, arguments={
            "x-message-ttl": delay,
            "x-dead-letter-exchange": "",
            "x-dead-letter-routing-key": main,
        })
    for event_type in sorted(event_types):
        channel.queue_bind(main, settings.events_exchange, routing_key=event_type)


def delete_all(channel, settings: Settings, event_types=()) -> None:
    """Remove a service's queues (tests and teardown of temporary namespaces)."""
    for step in range(len(settings.retry_delays_ms)):
        channel.queue_delete(retry_queue(settings, step))
    channel.queue_delete(events_queue(settings))
    channel.queue_delete(dead_queue(settings))
