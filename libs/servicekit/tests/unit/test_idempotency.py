"""Idempotency-Key on writes: a retried POST gets the first answer and changes nothing more."""
import pytest
from sqlalchemy import func, select

from servicekit import identity as ident
from servicekit.db import Database
from servicekit.tables import outbox
from servicekit.web import create_app


@pytest.fixture
def client(sample_settings):
    from sampleservice.bootstrap import SPEC
    return create_app(SPEC, sample_settings).test_client()


@pytest.fixture
def admin(sample_settings):
    return ident.sign(ident.Identity("tester", frozenset({"admin"})), sample_settings.identity_secret)


def jobs_and_events(settings):
    from sampleservice.bootstrap import jobs
    with Database(settings.database_url).transaction() as session:
        return (session.execute(select(func.count()).select_from(jobs)).scalar_one(),
                session.execute(select(func.count()).select_from(outbox)).scalar_one())


def test_a_retry_with_the_same_key_returns_the_first_answer(client, admin, sample_settings):
    headers = {**admin, "Idempotency-Key": "report-7f3a"}
    first = client.post("/sample/jobs", json={"job_id": "j1", "note": "首次"}, headers=headers)
    again = client.post("/sample/jobs", json={"job_id": "j1", "note": "首次"}, headers=headers)
    assert (first.status_code, again.status_code) == (201, 201)
    assert again.get_json() == first.get_json() and again.headers["Idempotent-Replayed"] == "true"
    assert jobs_and_events(sample_settings) == (1, 1)


def test_a_key_reused_for_another_body_is_refused(client, admin, sample_settings):
    headers = {**admin, "Idempotency-Key": "k-1"}
    client.post("/sample/jobs", json={"job_id": "j1", "note": "a"}, headers=headers)
    response = client.post("/sample/jobs", json={"job_id": "j2", "note": "b"}, headers=headers)
    assert response.status_code == 422 and "Idempotency-Key" in response.get_json()["error"]["fields"]
    assert jobs_and_events(sample_settings) == (1, 1)


def test_keys_are_per_caller(client, sample_settings):
    def as_(who):
        return {**ident.sign(ident.Identity(who, frozenset({"admin"})), sample_settings.identity_secret),
                "Idempotency-Key": "same"}
    assert client.post("/sample/jobs", json={"job_id": "a", "note": "x"}, headers=as_("u1")).status_code == 201
    assert client.post("/sample/jobs", json={"job_id": "b", "note": "x"}, headers=as_("u2")).status_code == 201
    assert jobs_and_events(sample_settings) == (2, 2)


def test_a_failed_request_stores_no_answer_so_it_can_be_retried(client, admin, sample_settings):
    headers = {**admin, "Idempotency-Key": "k-2"}
    assert client.post("/sample/jobs", json={"job_id": "j1"}, headers=headers).status_code == 422
    assert client.post("/sample/jobs", json={"job_id": "j1", "note": "ok"}, headers=headers).status_code == 201


def test_malformed_keys_are_400(client, admin):
    response = client.post("/sample/jobs", json={"job_id": "j1", "note": "x"},
                           headers={**admin, "Idempotency-Key": "has space"})
    assert response.status_code == 400
