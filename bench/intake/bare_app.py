"""The baseline of bench/intake_bench.py: the least a JSON report intake can do on PostgreSQL.

One Flask app, one POST route (/reports; also answered at /api/v1/incidents/reports so a
gateway can be put in front of it as a diagnostic): parse the same JSON body the public sends
to incidents, check the fields are there, insert one row in one transaction
(SQLAlchemy Core over psycopg 3, the driver the services use; a pool of the same size
as the kit's, 5 + 10 overflow, no pre-ping), answer 201 with the row's id. No
identity, no schema library, no duplicate check, no outbox, no logging, no metrics.

Served by gunicorn with the kit's settings, exactly as the services are:
    cd bench/intake && BARE_DATABASE_URL=postgresql://... \
        gunicorn -c python:servicekit.gunicorn_defaults --bind 127.0.0.1:<port> bare_app:app
The table is created by the bench (`TABLE_DDL`) before the app starts.
"""
from __future__ import annotations

import os
import threading
import uuid

from flask import Flask, jsonify, request
from sqlalchemy import create_engine, text

TABLE = "bench_bare_reports"
TABLE_DDL = f"""
CREATE TABLE IF NOT EXISTS {TABLE} (
    id          BIGSERIAL PRIMARY KEY,
    report_id   VARCHAR(32) NOT NULL UNIQUE,
    channel     VARCHAR(20) NOT NULL,
    category    VARCHAR(40) NOT NULL,
    description TEXT NOT NULL,
    lon         DOUBLE PRECISION,
    lat         DOUBLE PRECISION,
    received_at TIMESTAMPTZ NOT NULL DEFAULT now()
)"""
INSERT = text(f"INSERT INTO {TABLE} (report_id, channel, category, description, lon, lat) "
              "VALUES (:report_id, :channel, :category, :description, :lon, :lat)")


def _url() -> str:
    url = os.environ["BARE_DATABASE_URL"]
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://"):]
    return url


_engine = None
_engine_pid = None
_lock = threading.Lock()


def engine():
    """One engine per process, made after gunicorn forks (as the kit does)."""
    global _engine, _engine_pid
    if _engine is None or _engine_pid != os.getpid():
        with _lock:
            if _engine is None or _engine_pid != os.getpid():
                _engine = create_engine(_url(), pool_size=5, max_overflow=10)
                _engine_pid = os.getpid()
    return _engine


app = Flask("bare")


@app.post("/reports")
@app.post("/api/v1/incidents/reports")  # the same route, for the bench's gateway-in-front-of-bare diagnostic
def file_report():
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        return jsonify(error="the body must be a JSON object"), 400
    location = body.get("location") or {}
    try:
        row = {"report_id": uuid.uuid4().hex, "channel": str(body["channel"]), "category": str(body["category"]),
               "description": str(body["description"]),
               "lon": float(location["lon"]) if "lon" in location else None,
               "lat": float(location["lat"]) if "lat" in location else None}
    except (KeyError, TypeError, ValueError) as exc:
        return jsonify(error=f"bad field: {exc}"), 422
    with engine().begin() as conn:
        conn.execute(INSERT, row)
    return jsonify(incident_id=row["report_id"], status="received"), 201


@app.get("/healthz")
def healthz():
    return jsonify(status="ok")
