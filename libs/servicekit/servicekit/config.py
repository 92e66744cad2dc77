"""Settings from the environment, with defaults that run a whole system on one laptop.

Every setting has a safe local default so that `make run` needs nothing; production
(`ENVGRID_ENV=production`) refuses to start while any secret still has its default,
because a forgotten secret is worse than a service that will not boot.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field, replace
from pathlib import Path

DEV_IDENTITY_SECRET = "dev-only-identity-secret-change-me"


class ConfigError(RuntimeError):
    """The environment describes a configuration the service must not run with."""


def _env_int(env, name: str, default: int) -> int:
    raw = env.get(name)
    if raw in (None, ""):
        return default
    try:
        return int(raw)
    except ValueError as exc:
        raise ConfigError(f"{name} must be an integer, got {raw!r}") from exc


def _env_delays(env, name: str, default: tuple[int, ...]) -> tuple[int, ...]:
    raw = env.get(name)
    if raw in (None, ""):
        return default
    try:
        delays = tuple(int(part) for part in raw.split(",") if part.strip())
    except ValueError as exc:
        raise ConfigError(f"{name} must be comma-separated milliseconds, got {raw!r}") from exc
    if not delays or any(d <= 0 for d in delays):
        raise ConfigError(f"{name} needs at least one positive delay, got {raw!r}")
    return delays


WORKER_JOBS = ("consumer", "relay", "timers")


def _env_jobs(raw: str | None) -> tuple[str, ...]:
    if raw in (None, ""):
        return WORKER_JOBS
    jobs = tuple(dict.fromkeys(part.strip() for part in raw.split(",") if part.strip()))
    unknown = [job for job in jobs if job not in WORKER_JOBS]
    if not jobs or unknown:
        raise ConfigError(f"WORKER_JOBS takes a comma-separated choice of {', '.join(WORKER_JOBS)}, got {raw!r}")
    return jobs


def default_data_dir() -> Path:
    # The repository's var/ folder when running from a checkout, else the working directory.
    return Path(os.environ.get("ENVGRID_DATA_DIR", Path.cwd() / "var"))


@dataclass(frozen=True)
class Settings:
    service: str
    env: str = "development"
    database_url: str = ""
    amqp_url: str = "amqp://guest:guest@127.0.0.1:5672/%2F"
    events_exchange: str = "envgrid.events"
    # Prefixes every queue name; tests give each run its own so runs never share queues.
    queue_prefix: str = ""
    identity_secret: str = DEV_IDENTITY_SECRET
    max_body_bytes: int = 1 * 1024 * 1024
    log_level: str = "INFO"
    consumer_prefetch: int = 32
    # Attempts a handler gets before its message goes to the dead-letter queue.
    consumer_max_attempts: int = 5
    # Wait before attempt 2, 3, ... (milliseconds); the last value repeats.
    retry_delays_ms: tuple[int, ...] = (1000, 5000, 30000, 120000)
    # Redeliveries the broker allows (crash loops) before it dead-letters by itself.
    broker_delivery_limit: int = 10
    relay_batch_size: int = 200
    relay_poll_ms: int = 200
    worker_metrics_port: int = 0
    # Which jobs a worker process runs. All by default; a busy service can run its relay in a
    # process of its own (WORKER_JOBS=relay beside WORKER_JOBS=consumer,timers), so publishing
    # does not share the consumer's GIL.
    worker_jobs: tuple[str, ...] = WORKER_JOBS
    extra: dict = field(default_factory=dict)

    @property
    def production(self) -> bool:
        return self.env == "production"

    def queue_name(self, suffix: str) -> str:
        return f"{self.queue_prefix}{self.service}.{suffix}"

    def with_overrides(self, **changes) -> "Settings":
        return replace(self, **changes)

    def check(self) -> "Settings":
        if self.production:
            problems = []
            if self.identity_secret == DEV_IDENTITY_SECRET:
                problems.append("IDENTITY_SECRET is the development default")
            if "guest:guest@" in self.amqp_url:
                problems.append("AMQP_URL uses the guest account")
            if self.database_url.startswith("sqlite"):
                problems.append("DATABASE_URL is the embedded SQLite default")
            if problems:
                raise ConfigError("refusing to start in production: " + "; ".join(problems))
        if len(self.identity_secret) < 16:
            raise ConfigError("IDENTITY_SECRET must be at least 16 characters")
        return self


def load_settings(service: str, env: dict | None = None) -> Settings:
    """Read the settings of `service` from `env` (default: the process environment).

    A service-specific variable (`INCIDENTS_DATABASE_URL`) wins over the shared one
    (`DATABASE_URL`), so one environment file can configure a whole system.
    """
    env = dict(os.environ if env is None else env)
    prefix = service.upper().replace("-", "_") + "_"

    def get(name: str, default=None):
        return env.get(prefix + name) or env.get(name) or default

    data_dir = Path(env.get("ENVGRID_DATA_DIR") or default_data_dir())
    database_url = get("DATABASE_URL")
    if not database_url:
        database_url = f"sqlite:///{data_dir / (service.replace('-', '_') + '.db')}"
    lookup = {k: get(k) for k in (
        "CONSUMER_PREFETCH", "CONSUMER_MAX_ATTEMPTS", "BROKER_DELIVERY_LIMIT",
        "RELAY_BATCH_SIZE", "RELAY_POLL_MS", "WORKER_METRICS_PORT", "MAX_BODY_BYTES",
        "RETRY_DELAYS_MS")}
    return Settings(
        service=service,
        env=env.get("ENVGRID_ENV", "development"),
        database_url=database_url,
        amqp_url=get("AMQP_URL", Settings.amqp_url),
        events_exchange=get("EVENTS_EXCHANGE", Settings.events_exchange),
        queue_prefix=get("QUEUE_PREFIX", ""),
        identity_secret=get("IDENTITY_SECRET", DEV_IDENTITY_SECRET),
        max_body_bytes=_env_int(lookup, "MAX_BODY_BYTES", Settings.max_body_bytes),
        log_level=get("LOG_LEVEL", "INFO"),
        consumer_prefetch=_env_int(lookup, "CONSUMER_PREFETCH", Settings.consumer_prefetch),
        consumer_max_attempts=_env_int(lookup, "CONSUMER_MAX_ATTEMPTS", Settings.consumer_max_attempts),
        retry_delays_ms=_env_delays(lookup, "RETRY_DELAYS_MS", Settings.retry_delays_ms),
        broker_delivery_limit=_env_int(lookup, "BROKER_DELIVERY_LIMIT", Settings.broker_delivery_limit),
        relay_batch_size=_env_int(lookup, "RELAY_BATCH_SIZE", Settings.relay_batch_size),
        relay_poll_ms=_env_int(lookup, "RELAY_POLL_MS", Settings.relay_poll_ms),
        worker_metrics_port=_env_int(lookup, "WORKER_METRICS_PORT", 0),
        worker_jobs=_env_jobs(get("WORKER_JOBS")),
    ).check()
