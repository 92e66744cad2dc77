"""The relay's wake-up on PostgreSQL: at once for a lone commit, gathering commits under load."""
import threading
import time

import pytest

from servicekit.db import Database
from servicekit.events import registry
from servicekit.outbox import Outbox, OutboxRelay

pytestmark = pytest.mark.integration


class CountingPublisher:
    def __init__(self):
        self.batches = []

    def connect(self):
        pass

    def publish_batch(self, messages):
        self.batches.append(len(messages))
        return {m.message_id: None for m in messages}

    def idle(self):
        pass

    def close(self):
        pass


def commit_events(db, n, gap_s):
    box = Outbox("sample", registry)
    for i in range(n):
        time.sleep(gap_s)
        with db.transaction() as session:
            box.add(session, "sample.work", {"job_id": f"j{i}", "sleep_ms": 0})


@pytest.fixture
def relay_on_pg(sample_pg):
    settings, _ = sample_pg
    db = Database(settings.database_url)
    publisher = CountingPublisher()
    # A long window, so that which wake-up ended the wait is plain from the clock.
    relay = OutboxRelay(settings, db, publisher, coalesce_after=3, coalesce_wait_s=2.0, coalesce_commits=3)
    stop = threading.Event()
    relay._wait_for_work(stop, 0.01)  # connects and LISTENs; nothing to hear yet
    yield relay, db, publisher, stop
    relay.publisher.close()
    relay._listener.close()
    db.dispose()


def test_a_lone_commit_is_claimed_at_once(relay_on_pg):
    relay, db, publisher, stop = relay_on_pg
    relay._last_sent = 1
    writer = threading.Thread(target=commit_events, args=(db, 1, 0.05))
    writer.start()
    started = time.monotonic()
    relay._wait_for_work(stop, 5.0)
    waited = time.monotonic() - started
    writer.join()
    assert waited < 1.0 and relay.run_once() == 1


def test_under_load_one_batch_carries_the_commits_that_landed_while_it_gathered(relay_on_pg):
    relay, db, publisher, stop = relay_on_pg
    relay._last_sent = 3
    writer = threading.Thread(target=commit_events, args=(db, 4, 0.05))
    writer.start()
    started = time.monotonic()
    relay._wait_for_work(stop, 5.0)  # woken by the first commit, then three more
    waited = time.monotonic() - started
    writer.join()
    assert waited < 2.0 and relay.run_once() == 4 and publisher.batches == [4]
