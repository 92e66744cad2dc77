"""Concurrent retries with one Idempotency-Key against gunicorn and PostgreSQL: one change, one answer."""
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests
from sqlalchemy import func, select

from servicekit import identity as ident
from servicekit.db import Database
from servicekit.tables import outbox

pytestmark = pytest.mark.integration


def test_twenty_concurrent_retries_make_one_job(sample_pg, processes):
    from sampleservice.bootstrap import jobs
    settings, env = sample_pg
    web = processes.web("sample", env, workers=2, app="sampleservice.app:create_app()")
    headers = {**ident.sign(ident.Identity("client", frozenset({"admin"})), settings.identity_secret),
               "Idempotency-Key": "once-only"}

    def post(_):
        response = requests.post(f"http://127.0.0.1:{web.port}/sample/jobs", headers=headers,
                                 json={"job_id": "race", "note": "并发"})
        return response.status_code, response.json()

    with ThreadPoolExecutor(20) as pool:
        answers = list(pool.map(post, range(20)))
    assert {status for status, _ in answers} == {201}
    assert len({body["event_id"] for _, body in answers}) == 1
    with Database(settings.database_url).transaction() as session:
        assert session.execute(select(func.count()).select_from(jobs)).scalar_one() == 1
        assert session.execute(select(func.count()).select_from(outbox)).scalar_one() == 1
