"""The operators' probe: a synthetic event sent by one service and recorded by every other.

`POST /ops/probes` on any service commits a probe and its `ops.probe_sent` event
through the outbox; every service's worker records the probe's arrival.
`GET /ops/probes/<id>` on any service shows what that service sent or received.
It exercises the whole path a real event takes (outbox, relay, broker, consumer,
inbox), so an operator can tell "the backbone works" from outside in seconds.
"""
from __future__ import annotations

import uuid

from flask import Blueprint, jsonify
from marshmallow import Schema, fields, validate
from sqlalchemy import insert, select

from .events import Envelope, registry
from .outbox import Outbox
from .tables import probe_log, utcnow
from .openapi import doc
from .web import json_body, request_session, require_roles, runtime

PROBE_SENT = "ops.probe_sent"


@registry.register(PROBE_SENT, 1)
class ProbeSent(Schema):
    probe_id = fields.UUID(required=True)
    origin = fields.String(required=True, validate=validate.Length(min=1, max=40))
    note = fields.String(required=True, validate=validate.Length(max=200))


class ProbeRequest(Schema):
    note = fields.String(required=True, validate=validate.Length(max=200))


probe_blueprint = Blueprint("ops_probe", __name__, url_prefix="/ops/probes")


@probe_blueprint.post("")
@doc(body=ProbeRequest, status=201, tags=["ops"])
@require_roles("admin", "district_ops")
def send_probe():
    body = json_body(ProbeRequest())
    rt = runtime()
    probe_id = str(uuid.uuid4())
    session = request_session()
    with session.begin():
        event_id = Outbox(rt.spec.name, registry).add(
            session, PROBE_SENT, {"probe_id": probe_id, "origin": rt.spec.name, "note": body["note"]})
        session.execute(insert(probe_log).values(
            probe_id=probe_id, direction="sent", origin=rt.spec.name, note=body["note"],
            event_id=event_id, at=utcnow()))
    return jsonify(probe_id=probe_id, event_id=event_id), 201


@probe_blueprint.get("/<uuid:probe_id>")
@require_roles("admin", "district_ops")
def show_probe(probe_id):
    rows = request_session().execute(
        select(probe_log).where(probe_log.c.probe_id == str(probe_id)).order_by(probe_log.c.id)).all()
    return jsonify(probe_id=str(probe_id), service=runtime().spec.name, entries=[
        {"direction": r.direction, "origin": r.origin, "note": r.note, "event_id": r.event_id,
         "at": r.at.isoformat()} for r in rows])


def handle_probe(session, envelope: Envelope, data: dict) -> None:
    """Record the probe's arrival. The inbox guarantees one row per delivery of one event."""
    session.execute(insert(probe_log).values(
        probe_id=str(data["probe_id"]), direction="received", origin=data["origin"],
        note=data["note"], event_id=envelope.id, at=utcnow()))
