import pytest

from servicekit.config import DEV_IDENTITY_SECRET, ConfigError, load_settings


def test_defaults_give_each_service_its_own_sqlite_file(tmp_path):
    settings = load_settings("grid-registry", {"ENVGRID_DATA_DIR": str(tmp_path)})
    assert settings.database_url == f"sqlite:///{tmp_path}/grid_registry.db"
    assert settings.amqp_url.startswith("amqp://")
    assert settings.queue_name("events") == "grid-registry.events"


def test_service_specific_variable_wins_over_shared_one():
    settings = load_settings("incidents", {
        "DATABASE_URL": "postgresql://shared/db", "INCIDENTS_DATABASE_URL": "postgresql://own/db"})
    assert settings.database_url == "postgresql://own/db"
    assert load_settings("dispatch", {"DATABASE_URL": "postgresql://shared/db"}).database_url == "postgresql://shared/db"


def test_production_refuses_default_secrets():
    with pytest.raises(ConfigError) as err:
        load_settings("rewards", {"ENVGRID_ENV": "production", "DATABASE_URL": "postgresql://x/y",
                                  "AMQP_URL": "amqp://svc:pw@mq/%2F"})
    assert "IDENTITY_SECRET" in str(err.value)


def test_production_starts_with_real_secrets():
    settings = load_settings("rewards", {"ENVGRID_ENV": "production", "DATABASE_URL": "postgresql://x/y",
                                         "AMQP_URL": "amqp://svc:pw@mq/%2F",
                                         "IDENTITY_SECRET": "a-real-secret-of-some-length"})
    assert settings.production and settings.identity_secret != DEV_IDENTITY_SECRET


def test_production_refuses_sqlite_and_guest_broker():
    with pytest.raises(ConfigError) as err:
        load_settings("rewards", {"ENVGRID_ENV": "production", "IDENTITY_SECRET": "a-real-secret-of-some-length"})
    assert "guest" in str(err.value) and "SQLite" in str(err.value)


@pytest.mark.parametrize("name,value", [("CONSUMER_PREFETCH", "many"), ("RETRY_DELAYS_MS", "1,x"),
                                        ("RETRY_DELAYS_MS", "0")])
def test_malformed_numbers_are_refused_with_the_variable_named(name, value):
    with pytest.raises(ConfigError) as err:
        load_settings("dispatch", {name: value})
    assert name in str(err.value)


def test_retry_delays_parse_as_milliseconds():
    assert load_settings("dispatch", {"RETRY_DELAYS_MS": "100, 250,1000"}).retry_delays_ms == (100, 250, 1000)


def test_a_worker_runs_every_job_unless_told_which():
    assert load_settings("dispatch", {}).worker_jobs == ("consumer", "relay", "timers")
    assert load_settings("dispatch", {"WORKER_JOBS": "relay"}).worker_jobs == ("relay",)
    assert load_settings("dispatch", {"DISPATCH_WORKER_JOBS": " consumer , timers,consumer"}).worker_jobs == (
        "consumer", "timers")


@pytest.mark.parametrize("raw", ["publisher", "relay,sweeper", ","])
def test_unknown_worker_jobs_are_refused_at_start(raw):
    with pytest.raises(ConfigError) as err:
        load_settings("dispatch", {"WORKER_JOBS": raw})
    assert "WORKER_JOBS" in str(err.value)
