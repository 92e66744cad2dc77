import os
import time
from pathlib import Path

from flask import Blueprint
from marshmallow import Schema, fields, validate
from sqlalchemy import Column, Integer, MetaData, String, Table, insert, select

from servicekit.events import registry
from servicekit.openapi import doc
from servicekit.outbox import Outbox
from servicekit.spec import ServiceSpec
from servicekit.tables import UtcDateTime, utcnow
from servicekit.web import json_body, require_roles, write

metadata = MetaData()
jobs = Table("jobs", metadata, Column("job_id", String(40), primary_key=True),
             Column("note", String(100), nullable=False))
work_log = Table("work_log", metadata, Column("id", Integer, primary_key=True, autoincrement=True),
                 Column("job_id", String(40), nullable=False), Column("event_id", String(36), nullable=False),
                 Column("pid", Integer, nullable=False), Column("at", UtcDateTime, nullable=False))
blocked_jobs = Table("blocked_jobs", metadata, Column("job_id", String(40), primary_key=True))

WORK = "sample.work"


@registry.register(WORK, 1)
class Work(Schema):
    job_id = fields.String(required=True, validate=validate.Length(min=1, max=40))
    sleep_ms = fields.Integer(required=True, strict=True, validate=validate.Range(min=0, max=60_000))


class JobRequest(Schema):
    job_id = fields.String(required=True, validate=validate.Length(min=1, max=40))
    note = fields.String(required=True, validate=validate.Length(max=100))
    sleep_ms = fields.Integer(load_default=0, strict=True, validate=validate.Range(min=0, max=60_000))


OUTBOX = Outbox("sample", registry)
api = Blueprint("sample", __name__, url_prefix="/sample")


def accept_job(session, body):
    session.execute(insert(jobs).values(job_id=body["job_id"], note=body["note"]))
    event_id = OUTBOX.add(session, WORK, {"job_id": body["job_id"], "sleep_ms": body["sleep_ms"]})
    return {"job_id": body["job_id"], "event_id": event_id}


@api.post("/jobs")
@doc(body=JobRequest, status=201, tags=["sample"])
@require_roles("admin")
def create_job():
    return write(accept_job, json_body(JobRequest()), status=201)


def handle_work(session, envelope, data):
    if session.execute(select(blocked_jobs).where(blocked_jobs.c.job_id == data["job_id"])).first():
        raise RuntimeError(f"job {data['job_id']} is blocked")
    session.execute(insert(work_log).values(job_id=data["job_id"], event_id=envelope.id, pid=os.getpid(),
                                            at=utcnow()))
    marker_dir = os.environ.get("SAMPLE_MARKER_DIR")
    if marker_dir:
        # Tells a test "inside the handler, before commit" so it can kill the process right here.
        Path(marker_dir, f"{envelope.id}.{os.getpid()}").touch()
    time.sleep(data["sleep_ms"] / 1000)


SPEC = ServiceSpec(name="sample", migrations=Path(__file__).parent / "migrations", metadata=metadata,
                   blueprints=(api,), handlers={WORK: handle_work})
