"""Dead pooled connections against the real PostgreSQL: replaced at checkout, with no ping per transaction.

The kit's engine does not use pool_pre_ping (a round trip before every transaction); it pings
a pooled connection only when its socket has something to read (a terminated backend's FATAL
error) or when it has been idle longer than PING_IF_IDLE_S. These tests terminate the
service's backends, as a PostgreSQL restart would, and check that the next request, message
and worker round all succeed, and that a busy connection is never pinged.
"""
import pytest
import requests
from sqlalchemy import create_engine, func, select, text
from sqlalchemy.engine import make_url

from servicekit import db as kitdb
from servicekit import identity as ident
from servicekit.consumer import Consumer
from servicekit.db import Database, normalise_url
from servicekit.events import new_envelope, registry
from servicekit.testing import statements_sent, wait_until

pytestmark = pytest.mark.integration


def terminate_backends(admin_url: str, database_url: str) -> int:
    """pg_terminate_backend every connection to the service's database; wait until they are gone.

    Only those: a process that reconnects at once (the relay does) has a new backend meanwhile.
    Two statements: in one, PostgreSQL may call pg_terminate_backend on our own backend before
    it filters it out."""
    database = make_url(database_url).database
    engine = create_engine(normalise_url(admin_url), isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            found = conn.execute(text("SELECT pid FROM pg_stat_activity "
                                      "WHERE datname = :d AND pid <> pg_backend_pid()"),
                                 {"d": database}).scalars().all()
            terminated = conn.execute(text("SELECT pid FROM unnest(CAST(:p AS int[])) AS pid "
                                           "WHERE pg_terminate_backend(pid)"), {"p": found}).scalars().all()
            wait_until(lambda: conn.execute(text("SELECT count(*) FROM pg_stat_activity WHERE pid = ANY(:p)"),
                                            {"p": terminated}).scalar_one() == 0, 10,
                       message="the terminated backends to exit")
    finally:
        engine.dispose()
    return len(terminated)


def backend_pid(db: Database) -> int:
    with db.transaction() as session:
        return session.execute(text("SELECT pg_backend_pid()")).scalar_one()


class Pings:
    """Counts the liveness pings of one Database's engine (the hook the kit calls at checkout)."""

    def __init__(self, db: Database, monkeypatch):
        self.count = 0
        dialect = db.engine.dialect
        original = dialect.do_ping

        def counted(dbapi_connection):
            self.count += 1
            return original(dbapi_connection)
        monkeypatch.setattr(dialect, "do_ping", counted)


def work(job_id: str) -> bytes:
    return new_envelope("sample.work", {"job_id": job_id, "sleep_ms": 0}, "test").to_json().encode()


def work_count(settings) -> int:
    from sampleservice.bootstrap import work_log
    with Database(settings.database_url).transaction() as session:
        return session.execute(select(func.count()).select_from(work_log)).scalar_one()


def test_a_terminated_connection_is_replaced_at_the_next_checkout(pg_url, postgres_admin_url, monkeypatch):
    db = Database(pg_url)
    first = backend_pid(db)
    pings = Pings(db, monkeypatch)
    assert terminate_backends(postgres_admin_url, pg_url) == 1
    assert backend_pid(db) != first  # no error: the dead connection was pinged, dropped and replaced
    assert pings.count == 1
    db.dispose()


def test_a_recently_used_connection_is_not_pinged(pg_url, monkeypatch):
    db = Database(pg_url)
    backend_pid(db)  # the pool holds one connection, just used
    pings = Pings(db, monkeypatch)
    with statements_sent(db.engine) as statements:
        for _ in range(20):
            backend_pid(db)
    assert pings.count == 0
    assert len(statements) == 20  # one round trip per transaction for its statement, none for pings

    # Idle longer than the threshold (here: any idle time at all): pinged once at checkout.
    monkeypatch.setattr(kitdb, "PING_IF_IDLE_S", 0.0)
    backend_pid(db)
    assert pings.count == 1
    db.dispose()


def test_a_consumed_event_after_the_backends_were_terminated_is_processed_not_retried(sample_pg, postgres_admin_url,
                                                                                      monkeypatch):
    from sampleservice.bootstrap import SPEC
    settings, _ = sample_pg
    db = Database(settings.database_url)
    consumer = Consumer(settings, db, registry, SPEC.handlers)
    pings = Pings(db, monkeypatch)
    assert consumer.process(work("before"), attempt=1)[0].action == "processed"
    assert consumer.process(work("busy"), attempt=1)[0].action == "processed"
    assert pings.count == 0  # a busy consumer pays no ping per event
    assert terminate_backends(postgres_admin_url, settings.database_url) >= 1
    assert consumer.process(work("after"), attempt=1)[0].action == "processed"
    assert pings.count == 1
    assert work_count(settings) == 3
    db.dispose()


def test_the_first_request_after_the_backends_were_terminated_succeeds(sample_pg, postgres_admin_url):
    from sampleservice.app import create_app
    settings, _ = sample_pg
    client = create_app(settings).test_client()
    headers = ident.sign(ident.Identity("client", frozenset({"admin"})), settings.identity_secret)
    assert client.post("/sample/jobs", headers=headers, json={"job_id": "j1", "note": "前"}).status_code == 201
    assert terminate_backends(postgres_admin_url, settings.database_url) >= 1
    response = client.post("/sample/jobs", headers=headers, json={"job_id": "j2", "note": "后"})
    assert response.status_code == 201, response.get_json()
    assert client.get("/readyz").status_code == 200


def test_web_and_worker_processes_survive_terminated_backends(sample_pg, postgres_admin_url, processes):
    """gunicorn and the worker (consumer, relay), as deployed: the first request after answers 201, work goes on."""
    settings, env = sample_pg
    web = processes.web("sample", env, workers=1, app="sampleservice.app:create_app()")
    processes.worker("sample", env, module="sampleservice.worker")
    headers = ident.sign(ident.Identity("client", frozenset({"admin"})), settings.identity_secret)

    def post(job_id):
        return requests.post(f"http://127.0.0.1:{web.port}/sample/jobs", headers=headers,
                             json={"job_id": job_id, "note": "重启"}, timeout=10)

    assert post("before").status_code == 201
    wait_until(lambda: work_count(settings) == 1, 30, message="the first job's event to be consumed")
    assert terminate_backends(postgres_admin_url, settings.database_url) >= 2  # web and worker
    response = post("after")
    assert response.status_code == 201, response.text
    wait_until(lambda: work_count(settings) == 2, 30, message="the second job's event to be consumed")
