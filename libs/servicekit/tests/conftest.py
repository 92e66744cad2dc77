import os
import sys
from pathlib import Path

import pytest

from servicekit.config import load_settings
from servicekit.migrate import upgrade

HERE = Path(__file__).parent
# The sample service is importable here and in the processes the tests start.
sys.path.insert(0, str(HERE))
os.environ["PYTHONPATH"] = os.pathsep.join(filter(None, [str(HERE), os.environ.get("PYTHONPATH")]))


@pytest.fixture
def sample_settings(tmp_path):
    """Settings of the sample service on a fresh, migrated SQLite file."""
    from sampleservice.bootstrap import SPEC
    settings = load_settings("sample", {"ENVGRID_DATA_DIR": str(tmp_path), "AMQP_URL": "amqp://guest:guest@127.0.0.1:1/%2F"})
    upgrade(SPEC, settings)
    return settings


@pytest.fixture
def sample_pg(broker, pg_url):
    """The sample service on its own PostgreSQL database and broker namespace, migrated.

    Returns (settings, env): settings for in-process use, env for the processes a test starts.
    """
    from sampleservice.bootstrap import SPEC
    env = {**broker.env, "DATABASE_URL": pg_url, "RETRY_DELAYS_MS": "200,400", "CONSUMER_MAX_ATTEMPTS": "3",
           "RELAY_POLL_MS": "50"}
    settings = broker.settings("sample", database_url=pg_url, retry_delays_ms=(200, 400),
                               consumer_max_attempts=3)
    upgrade(SPEC, settings)
    return settings, env
