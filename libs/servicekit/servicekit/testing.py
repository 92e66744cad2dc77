"""Test fixtures shared by every service (a pytest plugin: `-p servicekit.testing`).

Integration tests run against the real RabbitMQ and PostgreSQL:
- `AMQP_URL` / `DATABASE_URL` from the environment when set;
- otherwise containers started with testcontainers when a Docker engine answers;
- otherwise the test fails with a message saying what to set. It never skips:
  a suite that silently skips its integration tests proves nothing.

Each test gets its own PostgreSQL database and its own exchange and queue names,
so tests cannot see each other's rows or messages.
"""
from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator

import pytest

REPO_ROOT = Path(__file__).resolve().parents[3]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


_refusing: list[socket.socket] = []


def refused_port() -> int:
    """A port where every connection is refused, for an upstream that is down.

    Not free_port(): its number is free again at once, and the next server a test starts may be
    given it and answer there (a gateway whose "absent" upstream was itself). This one stays bound
    and never listens, for as long as the test process runs.
    """
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    _refusing.append(sock)
    return sock.getsockname()[1]


def wait_until(predicate, timeout: float = 30.0, interval: float = 0.05, message: str = "condition"):
    """Poll `predicate` until it returns something truthy; fail the test after `timeout`."""
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        try:
            last = predicate()
        except Exception as exc:  # a probe that raises has simply not succeeded yet
            last = exc
        else:
            if last:
                return last
        time.sleep(interval)
    pytest.fail(f"timed out after {timeout:.0f}s waiting for {message} (last: {last!r})")


# -- infrastructure discovery ---------------------------------------------
@dataclass(frozen=True)
class Sent:
    """One statement an engine sent: its SQL and how many parameter sets it carried."""
    sql: str
    rows: int


@contextmanager
def statements_sent(engine, starting: str = "") -> Iterator[list[Sent]]:
    """The statements `engine` sends while the block runs whose SQL starts with `starting`, in
    order (tests that count round trips: "INSERT INTO outbox", "NOTIFY", ...)."""
    from sqlalchemy import event
    sent: list[Sent] = []

    def record(_conn, _cursor, statement, parameters, _context, executemany):
        if statement.startswith(starting):
            sent.append(Sent(statement, len(parameters) if executemany else 1))
    event.listen(engine, "before_cursor_execute", record)
    try:
        yield sent
    finally:
        event.remove(engine, "before_cursor_execute", record)


def _docker_available() -> bool:
    try:
        import docker
        docker.from_env(timeout=3).ping()
        return True
    except Exception:
        return False


def _fail_without(what: str, var: str) -> None:
    pytest.fail(
        f"integration tests need {what}: set {var} (e.g. {var}="
        + ("amqp://guest:guest@127.0.0.1:5672/%2F" if var == "AMQP_URL"
           else "postgresql://postgres@127.0.0.1:5432/postgres")
        + ") or make a Docker engine reachable for testcontainers", pytrace=False)


@pytest.fixture(scope="session")
def amqp_url():
    url = os.environ.get("AMQP_URL")
    container = None
    if not url:
        if not _docker_available():
            _fail_without("RabbitMQ", "AMQP_URL")
        from testcontainers.rabbitmq import RabbitMqContainer
        container = RabbitMqContainer("rabbitmq:3.13-management").start()
        params = container.get_connection_params()
        url = f"amqp://guest:guest@{params.host}:{params.port}/%2F"
    import pika
    try:
        pika.BlockingConnection(pika.URLParameters(url)).close()
    except Exception as exc:
        pytest.fail(f"RabbitMQ at AMQP_URL={url} is not reachable: {exc!r}", pytrace=False)
    yield url
    if container is not None:
        container.stop()


@pytest.fixture(scope="session")
def postgres_admin_url():
    url = os.environ.get("DATABASE_URL")
    container = None
    if not url:
        if not _docker_available():
            _fail_without("PostgreSQL", "DATABASE_URL")
        from testcontainers.postgres import PostgresContainer
        container = PostgresContainer("postgres:16", driver="psycopg").start()
        url = container.get_connection_url()
    from sqlalchemy import create_engine, text
    from .db import normalise_url
    try:
        engine = create_engine(normalise_url(url))
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        engine.dispose()
    except Exception as exc:
        pytest.fail(f"PostgreSQL at DATABASE_URL={url} is not reachable: {exc!r}", pytrace=False)
    yield url
    if container is not None:
        container.stop()


class PostgresDatabases:
    """Creates throwaway databases on one PostgreSQL server and drops them afterwards."""

    def __init__(self, admin_url: str):
        from sqlalchemy import create_engine
        from sqlalchemy.engine import make_url
        from .db import normalise_url
        self.admin_url = make_url(normalise_url(admin_url))
        self.engine = create_engine(self.admin_url, isolation_level="AUTOCOMMIT")
        self.created: list[str] = []

    def create(self, label: str = "db") -> str:
        from sqlalchemy import text
        name = f"eg_{label.replace('-', '_')}_{uuid.uuid4().hex[:10]}"
        with self.engine.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}" ENCODING \'UTF8\' TEMPLATE template0'))
        self.created.append(name)
        return self.admin_url.set(database=name).render_as_string(hide_password=False)

    def drop_all(self) -> None:
        from sqlalchemy import text
        with self.engine.connect() as conn:
            for name in self.created:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        self.engine.dispose()


@pytest.fixture
def pg_databases(postgres_admin_url):
    """`pg_databases.create("incidents")` → the URL of a new, empty database."""
    databases = PostgresDatabases(postgres_admin_url)
    yield databases
    databases.drop_all()


@pytest.fixture
def pg_url(pg_databases):
    return pg_databases.create("test")


@dataclass
class BrokerNamespace:
    """Exchange and queue names private to one test, removed afterwards."""
    amqp_url: str
    tag: str = field(default_factory=lambda: uuid.uuid4().hex[:10])

    @property
    def env(self) -> dict[str, str]:
        return {"AMQP_URL": self.amqp_url, "EVENTS_EXCHANGE": f"t{self.tag}.events",
                "QUEUE_PREFIX": f"t{self.tag}."}

    def settings(self, service: str, **overrides):
        from .config import load_settings
        return load_settings(service, {**os.environ, **self.env}).with_overrides(**overrides)

    def cleanup(self, services=()) -> None:
        import pika
        from . import topology
        try:
            connection = pika.BlockingConnection(pika.URLParameters(self.amqp_url))
        except Exception:
            return  # broker gone (a private node already shut down): nothing to clean
        try:
            channel = connection.channel()
            for service in services:
                topology.delete_all(channel, self.settings(service))
            probe = self.settings("cleanup")
            unrouted_exchange, unrouted_queue = topology.unrouted_names(probe)
            channel.exchange_delete(probe.events_exchange)
            channel.exchange_delete(unrouted_exchange)
            channel.queue_delete(unrouted_queue)
        finally:
            connection.close()


# Every consumer that may declare queues in a test namespace (the kit's tests use "sample").
KNOWN_SERVICES = ("grid-registry", "incidents", "dispatch", "assessment", "rewards", "sample")


@pytest.fixture
def broker(amqp_url):
    namespace = BrokerNamespace(amqp_url)
    yield namespace
    namespace.cleanup(KNOWN_SERVICES)


# -- identities -------------------------------------------------------------
def signed_as(*roles: str, grids=(), subject: str = "tester", secret: str | None = None) -> dict[str, str]:
    """Headers of a gateway-signed identity (the development secret unless one is given)."""
    from . import identity
    from .config import DEV_IDENTITY_SECRET
    return identity.sign(identity.Identity(subject, frozenset(roles), tuple(grids)), secret or DEV_IDENTITY_SECRET)


@pytest.fixture
def as_role():
    """as_role("grid_staff", grids=["140502001"], subject="staff-1") → signed identity headers."""
    return signed_as


# -- processes ------------------------------------------------------------
@dataclass
class Proc:
    name: str
    popen: subprocess.Popen
    log_path: Path
    port: int | None = None

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    @property
    def alive(self) -> bool:
        return self.popen.poll() is None


class ProcessGroup:
    """Starts real service processes (gunicorn web, worker) and always stops them."""

    def __init__(self, base_env: dict[str, str], tmp: Path):
        self.base_env = base_env
        self.tmp = tmp
        self.procs: list[Proc] = []

    def start(self, name: str, argv: list[str], env: dict[str, str] | None = None,
              cwd: Path | None = None, port: int | None = None) -> Proc:
        inherited = {k: v for k, v in os.environ.items() if k != "PROMETHEUS_MULTIPROC_DIR"}
        full_env = {**inherited, **self.base_env, **(env or {})}
        log_path = self.tmp / f"{name}-{len(self.procs)}.log"
        handle = open(log_path, "wb")
        popen = subprocess.Popen(argv, env=full_env, cwd=cwd, stdout=handle, stderr=subprocess.STDOUT,
                                 start_new_session=True)
        proc = Proc(name, popen, log_path, port)
        self.procs.append(proc)
        return proc

    def web(self, service: str, env: dict[str, str] | None = None, workers: int = 2,
            app: str | None = None) -> Proc:
        """gunicorn serving `service` with its own gunicorn.conf.py (or the kit's defaults and `app`)."""
        port = free_port()
        service_dir = REPO_ROOT / "gateway" if service == "gateway" else REPO_ROOT / "services" / service
        config = ["-c", "gunicorn.conf.py"] if app is None else ["-c", "python:servicekit.gunicorn_defaults", app]
        metrics_dir = Path(tempfile.mkdtemp(prefix=f"metrics-{service}-", dir=self.tmp))
        proc = self.start(f"{service}-web", [sys.executable, "-m", "gunicorn", *config,
                                             "--bind", f"127.0.0.1:{port}", "--workers", str(workers)],
                          env={**(env or {}), "PROMETHEUS_MULTIPROC_DIR": str(metrics_dir)},
                          cwd=service_dir if app is None else None, port=port)
        self.wait_http(proc, "/healthz")
        return proc

    def worker(self, service: str, env: dict[str, str] | None = None, module: str | None = None) -> Proc:
        port = free_port()
        module = module or f"{service.replace('-', '_')}.worker"
        proc = self.start(f"{service}-worker", [sys.executable, "-m", module],
                          env={**(env or {}), "WORKER_METRICS_PORT": str(port)}, port=port)
        self.wait_http(proc, "/readyz")
        return proc

    def wait_http(self, proc: Proc, path: str, timeout: float = 30.0) -> None:
        import requests

        def ready():
            if not proc.alive:
                pytest.fail(f"{proc.name} exited with {proc.popen.returncode}:\n{proc.log()[-3000:]}")
            return requests.get(f"http://127.0.0.1:{proc.port}{path}", timeout=1).status_code == 200
        wait_until(ready, timeout, 0.1, f"{proc.name} {path}")

    def kill(self, proc: Proc, sig: int = signal.SIGKILL) -> None:
        if proc.alive:
            os.killpg(proc.popen.pid, sig)
            proc.popen.wait(15)

    def stop_all(self) -> None:
        for proc in reversed(self.procs):
            if proc.alive:
                try:
                    os.killpg(proc.popen.pid, signal.SIGTERM)
                    proc.popen.wait(15)
                except (subprocess.TimeoutExpired, ProcessLookupError):
                    self.kill(proc)


@pytest.fixture
def processes(tmp_path, request):
    group = ProcessGroup({}, tmp_path)
    yield group
    group.stop_all()
    failed = getattr(request.node, "rep_call", None)
    if failed is not None and failed.failed:
        for proc in group.procs:
            sys.stderr.write(f"\n----- {proc.name} log -----\n{proc.log()[-4000:]}\n")


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    setattr(item, f"rep_{report.when}", report)


# -- a private RabbitMQ node, for tests that stop and restart the broker ---------------
class PrivateRabbit:
    """A RabbitMQ node of the test's own (own name, ports and data), stopped at will.

    Tests that take the broker down must never take down the machine's shared one.
    Needs the rabbitmq-server package installed locally (it is, on CI).
    """

    SERVER = "/usr/lib/rabbitmq/bin/rabbitmq-server"
    CTL = "/usr/lib/rabbitmq/bin/rabbitmqctl"

    def __init__(self, base: Path):
        self.base = base
        self.port = self._port_outside_cli_range()
        self.dist_port = self._port_outside_cli_range()
        self.node = f"envgrid-test-{uuid.uuid4().hex[:8]}@localhost"
        self.proc: subprocess.Popen | None = None

    @staticmethod
    def _port_outside_cli_range() -> int:
        # RabbitMQ's CLI tools use 35672-35682; a node listening there collides with them.
        while True:
            port = free_port()
            if not 35000 <= port <= 36000:
                return port

    @property
    def url(self) -> str:
        return f"amqp://guest:guest@127.0.0.1:{self.port}/%2F"

    @property
    def env(self) -> dict[str, str]:
        return {**os.environ, "HOME": str(self.base), "RABBITMQ_NODENAME": self.node,
                "RABBITMQ_DIST_PORT": str(self.dist_port),
                "RABBITMQ_MNESIA_BASE": str(self.base / "mnesia"),
                "RABBITMQ_LOG_BASE": str(self.base / "log"),
                "RABBITMQ_ENABLED_PLUGINS_FILE": str(self.base / "enabled_plugins"),
                "RABBITMQ_CONFIG_FILE": str(self.base / "rabbitmq"),
                "RABBITMQ_PID_FILE": str(self.base / "node.pid")}

    def ctl(self, *args: str, timeout: float = 60) -> None:
        result = subprocess.run([self.CTL, "-n", self.node, *args], env=self.env, capture_output=True,
                                text=True, timeout=timeout)
        if result.returncode != 0:
            raise RuntimeError(f"rabbitmqctl {' '.join(args)} failed: {result.stdout}{result.stderr}")

    def start(self) -> "PrivateRabbit":
        if not Path(self.SERVER).exists():
            pytest.fail("this test needs a local RabbitMQ installation (rabbitmq-server package) "
                        "to run a private broker node it can stop and restart", pytrace=False)
        self.base.mkdir(parents=True, exist_ok=True)
        (self.base / "enabled_plugins").write_text("[].\n")
        (self.base / "rabbitmq.conf").write_text(
            f"loopback_users = none\nlisteners.tcp.default = 127.0.0.1:{self.port}\n")
        self.proc = subprocess.Popen([self.SERVER], env=self.env, stdout=open(self.base / "out.log", "wb"),
                                     stderr=subprocess.STDOUT, start_new_session=True)
        self.ctl("wait", str(self.base / "node.pid"), "--timeout", "90", timeout=120)
        return self

    def stop_app(self) -> None:
        self.ctl("stop_app")

    def start_app(self) -> None:
        self.ctl("start_app")
        self.ctl("await_startup", "--timeout", "60")

    def shutdown(self) -> None:
        if self.proc is None:
            return
        try:
            self.ctl("shutdown", timeout=60)
        except Exception:
            pass
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait(30)
        self.proc = None
        shutil.rmtree(self.base, ignore_errors=True)


@pytest.fixture
def private_rabbit(tmp_path_factory):
    node = PrivateRabbit(tmp_path_factory.mktemp("rabbit")).start()
    yield node
    node.shutdown()
