"""The bench service: one event type (`bench.ping`) and a handler that inserts one row.

The handler does what a real handler does (one INSERT in the inbox transaction) and
records, in that row, the wall-clock time at which it finished (`time.time()`, the
same clock the bench process reads; both run on this machine). The row is committed
with the inbox row, after the handler returns.
"""
import time
from pathlib import Path

from marshmallow import Schema, fields, validate
from sqlalchemy import BigInteger, Column, Float, Integer, MetaData, String, Table, insert

from servicekit.events import registry
from servicekit.outbox import Outbox
from servicekit.spec import ServiceSpec

PING = "bench.ping"

metadata = MetaData()
pings = Table(
    "bench_pings", metadata,
    Column("id", BigInteger, primary_key=True, autoincrement=True),
    Column("event_id", String(36), nullable=False),
    Column("run", String(20), nullable=False),
    Column("seq", Integer, nullable=False),
    Column("handled_at", Float(53), nullable=False),  # epoch seconds, time.time() in the handler
)


@registry.register(PING, 1)
class Ping(Schema):
    run = fields.String(required=True, validate=validate.Length(min=1, max=20))
    seq = fields.Integer(required=True, strict=True)
    note = fields.String(load_default="", validate=validate.Length(max=200))


OUTBOX = Outbox("bench", registry)


def handle_ping(session, envelope, data):
    session.execute(insert(pings).values(event_id=envelope.id, run=data["run"], seq=data["seq"],
                                         handled_at=time.time()))


SPEC = ServiceSpec(name="bench", migrations=Path(__file__).parent / "migrations", metadata=metadata,
                   handlers={PING: handle_ping})
