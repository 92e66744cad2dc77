"""One JSON error shape for every service and the gateway.

    {"error": {"status": 422, "code": "validation_failed",
               "message": "...", "fields": {"note": ["Not a valid string."]}},
     "request_id": "..."}

No HTML error pages and no stack traces reach a client; the request id lets an
operator find the full story in the logs.
"""
from __future__ import annotations

import logging

from flask import Flask, g, jsonify
from marshmallow import ValidationError
from sqlalchemy.exc import IntegrityError
from werkzeug.exceptions import HTTPException

log = logging.getLogger(__name__)

_CODES = {
    400: "bad_request", 401: "unauthenticated", 403: "forbidden", 404: "not_found",
    405: "method_not_allowed", 409: "conflict", 413: "payload_too_large",
    415: "unsupported_media_type", 422: "validation_failed", 429: "too_many_requests",
    500: "internal_error", 502: "bad_gateway", 503: "unavailable", 504: "gateway_timeout",
}


class ApiError(Exception):
    """Raise from anywhere in a request to answer with this status and reason."""

    def __init__(self, status: int, message: str, code: str | None = None,
                 fields: dict | None = None, extra: dict | None = None, headers: dict | None = None):
        super().__init__(message)
        self.headers = headers or {}
        self.status = status
        self.message = message
        self.code = code or _CODES.get(status, "error")
        self.fields = fields
        self.extra = extra or {}


def error_body(status: int, message: str, code: str | None = None, fields: dict | None = None,
               request_id: str | None = None, **extra) -> dict:
    error = {"status": status, "code": code or _CODES.get(status, "error"), "message": message}
    if fields:
        error["fields"] = fields
    error.update(extra)
    return {"error": error, "request_id": request_id}


def _respond(status: int, message: str, code: str | None = None, fields: dict | None = None,
             headers: dict | None = None, **extra):
    body = error_body(status, message, code, fields, g.get("request_id"), **extra)
    response = jsonify(body)
    response.status_code = status
    for key, value in (headers or {}).items():
        response.headers[key] = value
    return response


def register_error_handlers(app: Flask) -> None:
    @app.errorhandler(ApiError)
    def _api_error(exc: ApiError):
        return _respond(exc.status, exc.message, exc.code, exc.fields, headers=exc.headers, **exc.extra)

    @app.errorhandler(ValidationError)
    def _validation(exc: ValidationError):
        fields = exc.messages if isinstance(exc.messages, dict) else {"_body": exc.messages}
        return _respond(422, "the request does not pass validation", fields=fields)

    @app.errorhandler(IntegrityError)
    def _integrity(exc: IntegrityError):
        # A unique or foreign-key constraint refused the change: the client asked for
        # something that clashes with what exists (a race the service's checks missed).
        log.info("constraint refused a change", extra={"detail": str(exc.orig)[:300]})
        return _respond(409, "the change conflicts with existing data")

    @app.errorhandler(HTTPException)
    def _http(exc: HTTPException):
        headers = {}
        if exc.code == 405 and exc.valid_methods:
            headers["Allow"] = ", ".join(sorted(exc.valid_methods))
        return _respond(exc.code or 500, exc.description or exc.name, headers=headers)

    @app.errorhandler(Exception)
    def _unexpected(exc: Exception):
        log.exception("unhandled error")
        return _respond(500, "internal error; quote the request id when reporting it")
