"""JSON logs carrying the request id and the correlation id of whatever is being done.

The ids live in context variables, so a log line written anywhere below a request
or an event handler carries them without being passed down by hand.
"""
from __future__ import annotations

import contextvars
import json
import logging
import sys
import time
from contextlib import contextmanager

request_id_var: contextvars.ContextVar[str | None] = contextvars.ContextVar("request_id", default=None)
correlation_id_var: contextvars.ContextVar[str | None] = contextvars.ContextVar("correlation_id", default=None)
# The id of the event being handled: events published meanwhile were caused by it.
causation_id_var: contextvars.ContextVar[str | None] = contextvars.ContextVar("causation_id", default=None)

_RESERVED = set(vars(logging.makeLogRecord({}))) | {"message", "asctime"}
# ensure_ascii=False: Chinese text stays readable in the log, not \\u escapes. One encoder for
# every line: json.dumps with options builds a new one per call.
_encode = json.JSONEncoder(ensure_ascii=False, default=str).encode


class JsonFormatter(logging.Formatter):
    def __init__(self, service: str):
        super().__init__()
        self.service = service

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "ts": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
            + f".{int(record.msecs):03d}Z",
            "level": record.levelname.lower(),
            "service": self.service,
            "logger": record.name,
            "msg": record.getMessage(),
        }
        request_id = request_id_var.get()
        if request_id:
            entry["request_id"] = request_id
        correlation_id = correlation_id_var.get()
        if correlation_id:
            entry["correlation_id"] = correlation_id
        for key, value in vars(record).items():
            if key not in _RESERVED and not key.startswith("_"):
                entry[key] = value
        if record.exc_info:
            entry["exc"] = self.formatException(record.exc_info)
        return _encode(entry)


def configure_logging(service: str, level: str = "INFO") -> None:
    # Every request writes an access line. The formatter never prints the caller's source line,
    # thread or process names, so the logging module is told not to collect them for each record
    # (its documented "Optimization" switches): a quarter of the cost of a line. The process id
    # stays (one getpid): gunicorn's own lines in the same process are formatted with
    # %(process)d, and fail to print without it ("Worker exiting", "Error handling request").
    logging._srcfile = None
    logging.logThreads = False
    logging.logMultiprocessing = False
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter(service))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    # pika narrates every frame at INFO; keep its warnings only.
    logging.getLogger("pika").setLevel(logging.WARNING)


@contextmanager
def log_context(request_id: str | None = None, correlation_id: str | None = None,
                causation_id: str | None = None):
    """Set the ids for the duration of a block (a request, a message)."""
    tokens = []
    if causation_id is not None:
        tokens.append((causation_id_var, causation_id_var.set(causation_id)))
    if request_id is not None:
        tokens.append((request_id_var, request_id_var.set(request_id)))
    if correlation_id is not None:
        tokens.append((correlation_id_var, correlation_id_var.set(correlation_id)))
    try:
        yield
    finally:
        for var, token in reversed(tokens):
            var.reset(token)
