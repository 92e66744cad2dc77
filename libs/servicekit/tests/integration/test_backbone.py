"""The event backbone against the real RabbitMQ and PostgreSQL, with real worker processes."""
import os
import signal
import subprocess
import sys

import pytest
from sqlalchemy import func, insert, select

from servicekit import deadletters
from servicekit.db import Database
from servicekit.events import registry
from servicekit.outbox import Outbox
from servicekit.publisher import ConfirmingPublisher, OutgoingMessage
from servicekit.tables import inbox, outbox
from servicekit.testing import wait_until

pytestmark = pytest.mark.integration


def enqueue(settings, *jobs):
    """Commit work events through the outbox, the way a service's use case does."""
    box = Outbox("sample", registry)
    with Database(settings.database_url).transaction() as session:
        return [box.add(session, "sample.work", {"job_id": job_id, "sleep_ms": sleep_ms})
                for job_id, sleep_ms in jobs]


def work_count(settings, job_id=None):
    from sampleservice.bootstrap import work_log
    query = select(func.count()).select_from(work_log)
    if job_id:
        query = query.where(work_log.c.job_id == job_id)
    with Database(settings.database_url).transaction() as session:
        return session.execute(query).scalar_one()


def scrape(proc, name, **labels):
    """Sum of a metric's samples in a process's /metrics, optionally only those with `labels`."""
    import requests
    text = requests.get(f"http://127.0.0.1:{proc.port}/metrics", timeout=5).text
    wanted = [f'{key}="{value}"' for key, value in labels.items()]
    return sum(float(line.rsplit(" ", 1)[1]) for line in text.splitlines()
               if (line.startswith(name + "{") or line.startswith(name + " "))
               and all(w in line for w in wanted))


def test_a_worker_killed_mid_handler_loses_nothing_and_applies_the_event_once(sample_pg, processes, tmp_path):
    settings, env = sample_pg
    markers = tmp_path / "markers"
    markers.mkdir()
    env = {**env, "SAMPLE_MARKER_DIR": str(markers)}
    first = processes.worker("sample", env, module="sampleservice.worker")
    (event_id,) = enqueue(settings, ("crash-me", 5000))
    wait_until(lambda: any(markers.iterdir()), 20, message="the handler to start")
    processes.kill(first, signal.SIGKILL)
    assert work_count(settings) == 0  # its transaction died with it

    second = processes.worker("sample", env, module="sampleservice.worker")
    wait_until(lambda: work_count(settings, "crash-me") == 1, 30, message="the redelivered event")
    started_in = {path.name.split(".")[1] for path in markers.iterdir()}
    assert started_in == {str(first.popen.pid), str(second.popen.pid)}
    with Database(settings.database_url).transaction() as session:
        assert session.execute(select(func.count()).select_from(inbox).where(
            inbox.c.event_id == event_id)).scalar_one() == 1
    assert scrape(second, "envgrid_events_redelivered_total") >= 1


def test_a_resent_event_is_a_no_op(sample_pg, processes):
    """The relay may resend after a crash between publish and mark-sent: the inbox absorbs it."""
    settings, env = sample_pg
    worker = processes.worker("sample", env, module="sampleservice.worker")
    (event_id,) = enqueue(settings, ("once", 0))
    wait_until(lambda: work_count(settings, "once") == 1, 20, message="the first delivery")
    with Database(settings.database_url).transaction() as session:
        payload = session.execute(select(outbox.c.payload).where(outbox.c.event_id == event_id)).scalar_one()
    publisher = ConfirmingPublisher(settings)
    try:
        assert publisher.publish_batch([OutgoingMessage(event_id, "sample.work", payload.encode())]) == {event_id: None}
    finally:
        publisher.close()
    wait_until(lambda: scrape(worker, "envgrid_events_consumed_total") >= 2, 20, message="the resend to arrive")
    assert work_count(settings, "once") == 1


def test_a_poison_message_is_dead_lettered_after_its_attempts_and_replay_brings_it_back(sample_pg, processes):
    from sampleservice.bootstrap import blocked_jobs
    settings, env = sample_pg
    with Database(settings.database_url).transaction() as session:
        session.execute(insert(blocked_jobs).values(job_id="poison"))
    worker = processes.worker("sample", env, module="sampleservice.worker")
    (event_id,) = enqueue(settings, ("poison", 0))

    letters = wait_until(lambda: deadletters.list_dead(settings), 30, message="the dead letter")
    assert [(d.message_id, d.event_type, d.attempts) for d in letters] == [(event_id, "sample.work", 3)]
    assert "blocked" in letters[0].error
    assert scrape(worker, "envgrid_events_failed_total") == 3
    assert scrape(worker, "envgrid_events_dead_lettered_total") == 1
    assert deadletters.list_dead(settings) != []  # listing does not consume
    assert work_count(settings) == 0

    with Database(settings.database_url).transaction() as session:
        session.execute(blocked_jobs.delete())
    # The operator's command, as an operator runs it.
    result = subprocess.run([sys.executable, "-m", "sampleservice.cli", "dead-letters", "replay"],
                            env={**os.environ, **env}, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert "replayed 1" in result.stdout
    wait_until(lambda: work_count(settings, "poison") == 1, 20, message="the replayed event")
    assert deadletters.list_dead(settings) == []


def test_two_relays_share_one_outbox_without_sending_twice(sample_pg, processes):
    settings, env = sample_pg
    workers = [processes.worker("sample", {**env, "RELAY_BATCH_SIZE": "20"}, module="sampleservice.worker")
               for _ in range(2)]
    ids = enqueue(settings, *[(f"bulk-{i}", 0) for i in range(400)])
    wait_until(lambda: work_count(settings) == 400, 60, message="all 400 events")
    published = [scrape(w, "envgrid_events_published_total") for w in workers]
    # Every event published exactly once between the two relays (SKIP LOCKED), none consumed twice.
    assert sum(published) == len(ids), published
    assert sum(scrape(w, "envgrid_events_consumed_total", outcome="duplicate") for w in workers) == 0
