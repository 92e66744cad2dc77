"""A broker outage, on a private RabbitMQ node this test stops and restarts at will."""
import pytest
import requests
from sqlalchemy import func, select

from servicekit import identity as ident
from servicekit.db import Database
from servicekit.migrate import upgrade
from servicekit.tables import inbox, outbox
from servicekit.testing import BrokerNamespace, wait_until

pytestmark = pytest.mark.integration


def test_writes_succeed_while_the_broker_is_down_and_every_event_arrives_once_after(
        private_rabbit, pg_url, processes):
    from sampleservice.bootstrap import SPEC, work_log
    namespace = BrokerNamespace(private_rabbit.url)
    env = {**namespace.env, "DATABASE_URL": pg_url, "RELAY_POLL_MS": "50"}
    settings = namespace.settings("sample", database_url=pg_url)
    upgrade(SPEC, settings)
    web = processes.web("sample", env, app="sampleservice.app:create_app()")
    processes.worker("sample", env, module="sampleservice.worker")
    headers = ident.sign(ident.Identity("ops", frozenset({"admin"})), settings.identity_secret)
    url = f"http://127.0.0.1:{web.port}/sample/jobs"
    db = Database(pg_url)

    def count(table):
        with db.transaction() as session:
            return session.execute(select(func.count()).select_from(table)).scalar_one()

    assert requests.post(url, json={"job_id": "before", "note": "ok"}, headers=headers).status_code == 201
    wait_until(lambda: count(work_log) == 1, 20, message="the event sent before the outage")

    private_rabbit.stop_app()
    answers = [requests.post(url, json={"job_id": f"during-{i}", "note": "停机期间"}, headers=headers,
                             timeout=10).status_code for i in range(30)]
    assert answers == [201] * 30
    with db.transaction() as session:
        unsent = session.execute(select(func.count()).select_from(outbox)
                                 .where(outbox.c.sent_at.is_(None))).scalar_one()
    assert unsent == 30 and count(work_log) == 1

    private_rabbit.start_app()
    wait_until(lambda: count(work_log) == 31, 90, interval=0.5, message="every event after the restart")
    with db.transaction() as session:
        job_ids = session.execute(select(work_log.c.job_id)).scalars().all()
        assert session.execute(select(func.count()).select_from(outbox)
                               .where(outbox.c.sent_at.is_(None))).scalar_one() == 0
    assert sorted(job_ids) == sorted(["before"] + [f"during-{i}" for i in range(30)])
    assert count(inbox) == 31
