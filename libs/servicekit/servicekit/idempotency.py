"""Idempotent writes: a POST retried with the same Idempotency-Key gets the first answer.

`run_write(use_case, *args)` runs a use case in one transaction and answers its
result as JSON. When the request carries `Idempotency-Key`, the same transaction
first looks the key up (found: the stored answer is returned and nothing runs
again) and finally stores the answer under it. Two concurrent requests with one
key both run, but only one can commit the key row (primary key): the other's
transaction, change included, rolls back, and it answers what the first stored.
A key reused for a different request (another body) is a client error: 422.
"""
from __future__ import annotations

import hashlib
import json
import re

from flask import Response, current_app, g, request
from sqlalchemy import insert, select
from sqlalchemy.exc import IntegrityError

from .errors import ApiError
from .tables import idempotency_keys, utcnow

HEADER = "Idempotency-Key"
_KEY_OK = re.compile(r"^[\x21-\x7e]{1,200}$")


def _scope() -> str:
    who = g.get("identity")
    route = request.url_rule.rule if request.url_rule else request.path
    return f"{request.method} {route} {who.subject if who else '-'}"[:300]


def _fingerprint() -> str:
    digest = hashlib.sha256()
    digest.update(request.path.encode())
    digest.update(b"?" + request.query_string + b"\n")
    digest.update(request.get_data(cache=True))
    return digest.hexdigest()


def _replay(row, fingerprint: str) -> Response:
    if row.request_hash != fingerprint:
        raise ApiError(422, f"{HEADER} was already used for a different request",
                       fields={HEADER: ["reused with another body"]})
    response = current_app.response_class(row.body, status=row.status, mimetype="application/json")
    response.headers["Idempotent-Replayed"] = "true"
    return response


def run_write(session, use_case, *args, status: int = 200):
    """Run `use_case(session, *args)` in one transaction; answer its result as JSON with `status`."""
    key = request.headers.get(HEADER)
    if key is None:
        with session.begin():
            result = use_case(session, *args)
        return current_app.json.response(result), status
    if not _KEY_OK.match(key):
        raise ApiError(400, f"{HEADER} must be 1-200 printable ASCII characters")
    scope, fingerprint = _scope(), _fingerprint()
    lookup = select(idempotency_keys).where(idempotency_keys.c.scope == scope, idempotency_keys.c.key == key)
    try:
        with session.begin():
            row = session.execute(lookup).first()
            if row is not None:
                return _replay(row, fingerprint)
            result = use_case(session, *args)
            body = current_app.json.dumps(result)
            session.execute(insert(idempotency_keys).values(
                scope=scope, key=key, request_hash=fingerprint, status=status, body=body, created_at=utcnow()))
    except IntegrityError:
        session.rollback()
        with session.begin():
            row = session.execute(lookup).first()
        if row is None:
            raise  # the conflict was the use case's own, not the key's
        return _replay(row, fingerprint)
    return current_app.response_class(body, status=status, mimetype="application/json")
