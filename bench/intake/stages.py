#!/usr/bin/env python
"""Where one intake request's time goes, in process, one request at a time (no gunicorn, no load).

A diagnostic beside bench/intake_bench.py: on a throwaway PostgreSQL database (made
and dropped here, migrated, reference copies filled as the incidents tests do) it
sends --requests reports, one after another, through Flask's test client to
- the bare baseline (bench/intake/bare_app.py), and
- incidents' real app (`incidents.app.create_app()`, a signed `public` identity),
and prints per request: wall time, this thread's CPU time, SQL statements executed
and the wall time spent in them (SQLAlchemy cursor events: round trip + server),
then the statements of one intake request, then CPU costs of pieces of the intake
path measured alone (schema load, event validation, envelope, JSON access log line).
Access-log lines go to /dev/null. No broker is needed (the web process only writes
the outbox). Prints figures only.

Run: .venv/bin/python bench/intake/stages.py [--requests 2000]
"""
from __future__ import annotations

import argparse
import logging
import os
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent))

BODY = {"channel": "public_web", "category": "catering_fumes", "description": "油烟扰民",
        "location": {"lon": 112.85, "lat": 35.45}}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", default=os.environ.get("DATABASE_URL")
                        or "postgresql://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--warmup", type=int, default=200)
    parser.add_argument("--cprofile", type=int, default=0, metavar="N",
                        help="also run N intake requests under cProfile and print the costliest functions")
    args = parser.parse_args()

    from sqlalchemy import create_engine, event, insert, text
    from sqlalchemy.engine import make_url
    from intake_bench import CATEGORIES, OUTLINE, pg_url  # the main bench's reference data

    dbname = f"eg_bench_stages_{uuid.uuid4().hex[:8]}"
    admin = create_engine(pg_url(args.database_url), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{dbname}" ENCODING \'UTF8\' TEMPLATE template0'))
    url = make_url(args.database_url).set(database=dbname).render_as_string(hide_password=False)
    tmp = tempfile.mkdtemp(prefix="intake-stages-")
    try:
        os.environ.update({"DATABASE_URL": url, "BARE_DATABASE_URL": url, "ENVGRID_DATA_DIR": tmp,
                           "EVIDENCE_DIR": os.path.join(tmp, "evidence"), "REGISTRY_URL": "http://127.0.0.1:9"})
        os.environ.pop("PROMETHEUS_MULTIPROC_DIR", None)
        from servicekit import identity as ident
        from servicekit.config import load_settings
        from servicekit.migrate import upgrade
        from servicekit.tables import utcnow
        from incidents.bootstrap import SPEC
        settings = load_settings("incidents")
        upgrade(SPEC, settings)
        import bare_app
        from incidents.models import categories, district_outline
        engine = create_engine(pg_url(url))
        with engine.begin() as conn:
            conn.execute(insert(categories), [{"code": c, "name": n, "active": True} for c, n in CATEGORIES])
            conn.execute(insert(district_outline).values(id=1, code="140502", boundary=OUTLINE, fetched_at=utcnow()))
            conn.execute(text(bare_app.TABLE_DDL))
        engine.dispose()

        from incidents.app import create_app
        app = create_app(settings)
        logging.getLogger().handlers[0].setStream(open(os.devnull, "w"))  # access lines: formatted, not shown
        headers = ident.sign(ident.Identity("anonymous", frozenset({"public"})), settings.identity_secret)
        incidents_client = app.test_client()
        bare_client = bare_app.app.test_client()
        inc_engine = app.extensions["envgrid"].db.engine

        stats = {"n": 0, "wall": 0.0, "log": None}

        def attach(eng):
            @event.listens_for(eng, "before_cursor_execute")
            def _before(conn, cursor, statement, parameters, context, executemany):
                conn.info["t0"] = time.perf_counter()

            @event.listens_for(eng, "after_cursor_execute")
            def _after(conn, cursor, statement, parameters, context, executemany):
                stats["n"] += 1
                stats["wall"] += time.perf_counter() - conn.info.pop("t0")
                if stats["log"] is not None:
                    stats["log"].append(" ".join(statement.split())[:150])
        attach(inc_engine)
        attach(bare_app.engine())

        import random
        rng = random.Random(7)

        def measure(name, client, path, extra_headers, n, warmup):
            walls, cpus = [], []
            stats["n"], stats["wall"] = 0, 0.0
            for i in range(warmup + n):
                if i == warmup:
                    stats["n"], stats["wall"] = 0, 0.0
                body = dict(BODY, location={"lon": 112.80 + rng.random() * 0.1, "lat": 35.40 + rng.random() * 0.1})
                c0, w0 = time.thread_time(), time.perf_counter()
                answer = client.post(path, json=body, headers=extra_headers)
                w1, c1 = time.perf_counter(), time.thread_time()
                if answer.status_code != 201:
                    raise RuntimeError(f"{name}: {answer.status_code} {answer.get_data(as_text=True)[:300]}")
                if i >= warmup:
                    walls.append(w1 - w0)
                    cpus.append(c1 - c0)
            return {"name": name, "wall_ms": 1000 * statistics.mean(walls),
                    "p50_ms": 1000 * statistics.median(walls), "cpu_ms": 1000 * statistics.mean(cpus),
                    "stmts": stats["n"] / n, "sql_ms": 1000 * stats["wall"] / n}

        rows = [measure("bare flask insert", bare_client, "/reports", {}, args.requests, args.warmup),
                measure("incidents intake", incidents_client, "/api/v1/incidents/reports", headers,
                        args.requests, args.warmup)]
        print(f"in process, sequential, {args.requests} requests each after {args.warmup} warm-up "
              f"(the reports table grows to {2 * (args.requests + args.warmup)} rows):")
        print(f"{'path':<20}{'wall ms':>9}{'p50 ms':>8}{'CPU ms':>8}{'SQL/req':>9}{'SQL ms':>8}{'CPU-SQL ms':>12}")
        for r in rows:
            print(f"{r['name']:<20}{r['wall_ms']:>9.2f}{r['p50_ms']:>8.2f}{r['cpu_ms']:>8.2f}{r['stmts']:>9.1f}"
                  f"{r['sql_ms']:>8.2f}{r['wall_ms'] - r['sql_ms']:>12.2f}")
        print("  CPU ms = this thread's CPU (Python + psycopg client side); SQL ms = wall time inside "
              "cursor.execute (round trip + PostgreSQL); wall - SQL = the Python side")

        stats["log"] = []
        incidents_client.post("/api/v1/incidents/reports", json=BODY, headers=headers)
        print("\nstatements of one intake request (SQLAlchemy cursor executes; BEGIN/COMMIT by psycopg "
              "are not listed):")
        for statement in stats["log"]:
            print(f"  {statement}")
        stats["log"] = None

        if args.cprofile:
            import cProfile
            import pstats
            profiler = cProfile.Profile(time.thread_time)  # CPU time: waits on PostgreSQL do not count
            profiler.enable()
            for _ in range(args.cprofile):
                incidents_client.post("/api/v1/incidents/reports", json=BODY, headers=headers)
            profiler.disable()
            print(f"\ncProfile of {args.cprofile} intake requests (thread CPU time), by cumulative time:")
            pstats.Stats(profiler).sort_stats("cumulative").print_stats(45)

        # Pieces alone (CPU, no I/O)
        from envgrid_contracts.incident import INCIDENT_REPORTED
        from incidents import schemas
        from servicekit.events import new_envelope, registry
        from servicekit.logs import JsonFormatter
        event_data = {"incident_id": "R20250101ABCDEF", "channel": "public_web", "category": "catering_fumes",
                      "description": "油烟扰民", "severity": "normal", "major": False,
                      "observed_at": utcnow().isoformat(), "reported_at": utcnow().isoformat(),
                      "location": {"lon": 112.85, "lat": 35.45, "datum_received": "wgs84", "address": None,
                                   "outside_district": False},
                      "grid_hint": None, "reporter_named": False, "reported_by": None, "handled_on_spot": False,
                      "duplicate_of": None, "evidence": [], "city": None}
        one_schema = schemas.ReportCreate()
        record = logging.makeLogRecord({"msg": "request", "method": "POST", "path": "/api/v1/incidents/reports",
                                        "route": "/api/v1/incidents/reports", "status": 201,
                                        "duration_ms": 12.3, "user": "anonymous", "name": "envgrid.access",
                                        "levelname": "INFO"})
        formatter = JsonFormatter("incidents")
        pieces = [
            ("ReportCreate() + load (as api.py: a new schema per request)", lambda: schemas.ReportCreate().load(BODY)),
            ("load on one reused ReportCreate instance", lambda: one_schema.load(BODY)),
            ("registry.validate_outgoing(incident.reported)",
             lambda: registry.validate_outgoing(INCIDENT_REPORTED, 1, event_data)),
            ("new_envelope(...).to_json()", lambda: new_envelope(INCIDENT_REPORTED, event_data, "incidents").to_json()),
            ("identity sign + verify", lambda: ident.verify(headers, settings.identity_secret)),
            ("JSON access-log line (format only)", lambda: formatter.format(record)),
        ]
        # One small SELECT, the way intake issues them (ORM Session, Core statement built per call), against
        # the same query on a raw psycopg connection: the per-statement price of the layers.
        from sqlalchemy import select
        from incidents.models import categories as categories_table
        db = app.extensions["envgrid"].db
        session = db.session()
        session.begin()
        raw = inc_engine.raw_connection()
        raw_cursor = raw.cursor()
        pieces_io = [
            ("session.execute(select(categories).where(code == ...)).first()",
             lambda: session.execute(select(categories_table).where(categories_table.c.code == "catering_fumes")).first()),
            ("raw psycopg cursor.execute(same SELECT) + fetchone()",
             lambda: (raw_cursor.execute("SELECT code, name, active FROM categories WHERE code = %s",
                                         ("catering_fumes",)), raw_cursor.fetchone())),
        ]
        print("\none SELECT of one row in an open transaction: CPU µs / wall µs per call (mean of 2000):")
        for label, fn in pieces_io:
            for _ in range(200):
                fn()
            c0, w0 = time.thread_time(), time.perf_counter()
            for _ in range(2000):
                fn()
            print(f"  {1e6 * (time.thread_time() - c0) / 2000:8.1f} / {1e6 * (time.perf_counter() - w0) / 2000:6.1f}"
                  f"  {label}")
        session.rollback()
        session.close()
        raw.rollback()
        raw.close()

        print("\npieces alone, CPU µs per call (mean of 2000):")
        for label, fn in pieces:
            for _ in range(200):
                fn()
            c0 = time.thread_time()
            for _ in range(2000):
                fn()
            print(f"  {1e6 * (time.thread_time() - c0) / 2000:8.1f}  {label}")
        app.extensions["envgrid"].db.dispose()
        bare_app.engine().dispose()
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{dbname}" WITH (FORCE)'))
        admin.dispose()
        import shutil
        shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
