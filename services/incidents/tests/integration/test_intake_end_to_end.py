"""Intake through gunicorn on PostgreSQL with the real broker, the registry and dispatch stopped."""
import io
import json
import os
import subprocess
import sys

import pika
import pytest
import requests
from PIL import Image
from sqlalchemy import select, text

from servicekit import identity as ident
from servicekit.config import DEV_IDENTITY_SECRET
from servicekit.db import Database
from servicekit.testing import wait_until

pytestmark = pytest.mark.integration


def ops():
    # Signed when used: an identity header is only valid for five minutes.
    return ident.sign(ident.Identity("ops-1", frozenset({"district_ops"})), DEV_IDENTITY_SECRET)


def public():
    # Signed when used: an identity header is only valid for five minutes.
    return ident.sign(ident.Identity("anonymous", frozenset({"public"})), DEV_IDENTITY_SECRET)



@pytest.fixture
def intake(broker, pg_url, processes, tmp_path):
    env = {**broker.env, "DATABASE_URL": pg_url, "RELAY_POLL_MS": "50", "EVIDENCE_DIR": str(tmp_path / "evidence"),
           "REGISTRY_URL": "http://127.0.0.1:9"}  # nothing listens there: the registry is down
    exe = os.path.join(os.path.dirname(sys.executable), "envgrid-incidents")
    subprocess.run([exe, "migrate"], env={**os.environ, **env}, check=True, capture_output=True, timeout=120)
    web = processes.web("incidents", env, workers=2)
    worker = processes.worker("incidents", env)
    # A queue standing in for dispatch, bound to what dispatch will consume.
    connection = pika.BlockingConnection(pika.URLParameters(broker.amqp_url))
    channel = connection.channel()
    queue = channel.queue_declare("", exclusive=True).method.queue
    for key in ("incident.reported", "incident.duplicate_linked", "incident.evidence_added"):
        channel.queue_bind(queue, broker.env["EVENTS_EXCHANGE"], routing_key=key)
    yield {"api": f"http://127.0.0.1:{web.port}/api/v1/incidents", "web": web, "worker": worker,
           "db": Database(pg_url), "channel": channel, "queue": queue}
    connection.close()


def drain(channel, queue, expected, timeout=20):
    received = []

    def got_all():
        while True:
            method, _, body = channel.basic_get(queue, auto_ack=True)
            if method is None:
                break
            received.append(json.loads(body))
        return len(received) >= expected
    wait_until(got_all, timeout, message=f"{expected} events on the broker")
    return received


def test_reports_are_accepted_with_the_registry_and_dispatch_down_and_no_pii_leaks(intake):
    api = intake["api"]
    named = {"channel": "public_web", "category": "catering_fumes", "description": "饭店油烟直排",
             "location": {"lon": 112.85, "lat": 35.45}, "reporter": {"name": "王小明", "phone": "13900001111"}}
    answers = [requests.post(f"{api}/reports", json=named, headers=public()) for _ in range(5)]
    assert [a.status_code for a in answers] == [201] * 5
    codes = {a.json()["tracking_code"] for a in answers}
    assert len(codes) == 5
    # Without the registry's copy the category cannot be verified yet: accepted, flagged.
    assert all(a.json()["needs_operator"] for a in answers)
    events = drain(intake["channel"], intake["queue"], expected=5)
    reported = [e for e in events if e["type"] == "incident.reported"]
    assert {e["data"]["incident_id"] for e in reported} == {a.json()["incident_id"] for a in answers}
    everything = json.dumps(events, ensure_ascii=False) + intake["web"].log() + intake["worker"].log()
    assert "王小明" not in everything and "13900001111" not in everything
    with intake["db"].transaction() as session:
        dump = session.execute(text("SELECT string_agg(t::text, '') FROM reports t")).scalar_one()
    assert "王小明" not in dump and "13900001111" not in dump
    for code in codes:
        page = requests.get(f"{api}/track/{code}", headers=public()).json()
        assert page["status"] == "received" and "王小明" not in json.dumps(page, ensure_ascii=False)


def test_evidence_round_trips_byte_for_byte_through_gunicorn(intake):
    api = intake["api"]
    buffer = io.BytesIO()
    Image.effect_noise((1200, 900), 60).convert("RGB").save(buffer, "JPEG", quality=95)
    content = buffer.getvalue()
    uploaded = requests.post(f"{api}/evidence", headers=public(),
                             files={"file": ("现场照片.jpg", content, "image/jpeg")})
    assert uploaded.status_code == 201, uploaded.text
    evidence_id = uploaded.json()["evidence_id"]
    back = requests.get(f"{api}/evidence/{evidence_id}", headers=ops())
    assert back.status_code == 200 and back.content == content
    import hashlib
    assert hashlib.sha256(back.content).hexdigest() == evidence_id
