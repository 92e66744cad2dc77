"""Fixtures for the cross-service tests: every service migrated on its own PostgreSQL database."""
import os
import subprocess
import sys

import pytest

SERVICES = ("grid-registry", "incidents", "dispatch", "assessment", "rewards")


@pytest.fixture
def system_env(broker, pg_databases):
    """service -> environment for its processes, with each service's database migrated by its own CLI."""
    envs = {}
    for service in SERVICES:
        env = {**broker.env, "DATABASE_URL": pg_databases.create(service), "RELAY_POLL_MS": "50"}
        result = subprocess.run([os.path.join(os.path.dirname(sys.executable), f"envgrid-{service}"), "migrate"],
                                env={**os.environ, **env}, capture_output=True, text=True, timeout=120)
        assert result.returncode == 0, result.stderr
        envs[service] = env
    return envs
