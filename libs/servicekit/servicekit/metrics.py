"""Prometheus metrics shared by every service.

Under gunicorn each web worker is a process with its own counters; with
PROMETHEUS_MULTIPROC_DIR set (gunicorn.conf does it before anything imports
prometheus_client) they write to files that /metrics aggregates, so a scrape
sees the whole web process group, not whichever worker answered.
The worker process is a single process and serves its own registry.
"""
from __future__ import annotations

import os

from prometheus_client import (CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Gauge, Histogram,
                               generate_latest, multiprocess)

HTTP_REQUESTS = Counter(
    "envgrid_http_requests_total", "HTTP requests answered", ["route", "method", "status"])
HTTP_DURATION = Histogram(
    "envgrid_http_request_duration_seconds", "Time to answer an HTTP request", ["route", "method"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10))
EVENTS_PUBLISHED = Counter(
    "envgrid_events_published_total", "Events confirmed by the broker", ["type"])
EVENTS_PUBLISH_FAILED = Counter(
    "envgrid_events_publish_failed_total", "Publish attempts that were nacked, returned or lost", ["type"])
EVENTS_CONSUMED = Counter(
    "envgrid_events_consumed_total", "Events handled, by outcome (processed or duplicate)",
    ["type", "outcome"])
EVENTS_FAILED = Counter(
    "envgrid_events_failed_total", "Handler failures (each is retried or dead-lettered)", ["type"])
EVENTS_DEAD_LETTERED = Counter(
    "envgrid_events_dead_lettered_total", "Events sent to the dead-letter queue", ["type"])
EVENTS_REDELIVERED = Counter(
    "envgrid_events_redelivered_total", "Deliveries the broker flagged as redelivered", ["type"])
HANDLER_DURATION = Histogram(
    "envgrid_event_handler_duration_seconds", "Time to handle one event, commit included", ["type"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10))
OUTBOX_BACKLOG = Gauge(
    "envgrid_outbox_backlog", "Outbox events not yet confirmed by the broker",
    multiprocess_mode="max")
OUTBOX_OLDEST_AGE = Gauge(
    "envgrid_outbox_oldest_unsent_seconds", "Age of the oldest unsent outbox event",
    multiprocess_mode="max")
BROKER_CONNECTED = Gauge(
    "envgrid_broker_connected", "1 while the process holds a working broker connection",
    ["role"], multiprocess_mode="max")

# The labelled children of the two request metrics, per (route, method, status). Routes are
# the app's URL rules, so the set is small and fixed. prometheus_client's labels() checks the
# values and takes a lock on every call: 1.4 % of the gateway's CPU per request (py-spy).
_request_children: dict[tuple[str, str, int], tuple] = {}


def observe_request(route: str, method: str, status: int, seconds: float) -> None:
    """Count one answered request and record how long it took."""
    key = (route, method, status)
    children = _request_children.get(key)
    if children is None:
        children = _request_children[key] = (HTTP_REQUESTS.labels(route, method, str(status)),
                                             HTTP_DURATION.labels(route, method))
    children[0].inc()
    children[1].observe(seconds)


def render() -> tuple[bytes, str]:
    """The metrics text of this process, or of all web workers in multiprocess mode."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        return generate_latest(registry), CONTENT_TYPE_LATEST
    from prometheus_client import REGISTRY
    return generate_latest(REGISTRY), CONTENT_TYPE_LATEST
