#!/usr/bin/env python
"""Public report intake through the gateway on PostgreSQL, beside a bare Flask insert.

Target (the issue): intake (POST /api/v1/incidents/reports through the gateway, JSON,
no file, anonymous caller = role `public`) at concurrency 16 and 64 reaches at least
50% of the requests/s of a bare Flask endpoint that inserts one row into the same
PostgreSQL under the same gunicorn settings, with no error, and every accepted report
is in the database and on the broker afterwards.

Set-up, all on this machine, torn down at the end (also on Ctrl-C and SIGTERM):
- a throwaway PostgreSQL database (created, dropped WITH (FORCE)), migrated with
  `envgrid-incidents migrate`, its reference copies filled as the incidents tests do
  (services/incidents/tests/conftest.py `fill_reference`: six categories, the district
  outline 112.80-112.90 x 35.40-35.50), plus the baseline's table (bench/intake/bare_app.py);
- a private broker namespace: EVENTS_EXCHANGE=b<tag>.events, QUEUE_PREFIX=b<tag>.
  (exchange, its unrouted twin and every queue deleted at the end);
- the processes as production runs them, each in its own process group:
    incidents web    cd services/incidents && gunicorn -c gunicorn.conf.py --bind ...
    incidents worker envgrid-incidents worker (the outbox relay), WORKER_METRICS_PORT=<free>
    gateway          envgrid-gateway migrate; cd gateway && gunicorn -c gunicorn.conf.py --bind ...
                     (UPSTREAM_INCIDENTS_URL=the incidents web, ENVGRID_DATA_DIR=<tempdir>)
    bare             cd bench/intake && gunicorn -c python:servicekit.gunicorn_defaults --bind ... bare_app:app
  Nothing overrides the gunicorn settings; the effective ones (as gunicorn parses them)
  are printed. All load comes from 127.0.0.1, so the gateway's per-IP limit for the
  public (GATEWAY_RATE_PUBLIC, 60 a minute) is lifted; the limiter still counts.
  REGISTRY_URL points at a closed port so the worker's reference refresh keeps the
  copies filled here.
- before any load, a queue of the bench's own (b<tag>.bench.reported) is bound to the
  exchange with routing key incident.reported; it counts what reached the broker.

Load: wrk (bench/intake/report.lua), -t2 (--wrk-threads) -c16 / -c64, --duration s each,
--latency, --timeout 10s, after a --warmup s run of each target. Per concurrency: the
bare endpoint, intake through the gateway, and (unless --no-diagnostics) two diagnostic
targets: intake straight at the incidents web process with a signed `public` identity
(the service without the gateway), and the bare endpoint behind a second gateway (what
the gateway hop costs by itself). After every intake run the bench waits for the outbox
to drain, so the relay's work is charged to the run that caused it. Each request carries
a random position in the district (--location random; `fixed` sends one point, which
makes every later report a linked duplicate; duplicates are stored and published like
any report). Before each measured run the bench waits up to --wait-quiet s for the
machine to be idle, and flags runs during which other processes used over 5% of it.

Figures: a table of target, concurrency, req/s, p50, p99, errors (non-2xx answers +
socket errors), and the share of bare; CPU milliseconds per request of each process
group (/proc: where the two cores went); PostgreSQL wait events sampled from
pg_stat_activity; the relay's events and batches; EXPLAIN ANALYZE of intake's duplicate
lookup on the filled table.

Accounting (intake through the gateway and direct together): every 2xx answer's
incident_id is recorded by the wrk script; afterwards the bench waits for the outbox
to drain (`SELECT count(*) FROM outbox WHERE sent_at IS NULL` = 0), reads the ids in
`reports`, counts the messages on its queue (queue_declare passive) and reads their
incident ids. It prints accepted (2xx seen by wrk), stored, published and the
services' own count of 201 answers (gateway and incidents access logs). wrk stops at
the deadline without reading the answers still in flight, so up to one request per
connection per run can be stored (and answered 201 in the logs) without wrk having
seen the answer; the check is therefore: every accepted id is stored and published,
stored == published == the 201s incidents logged, and the surplus is at most the
connections of the runs. Anything else prints MISMATCH.

--profile adds one more intake run (highest concurrency) with `py-spy record --gil` on
the gateway's and the incidents web's gunicorn groups (needs py-spy:
`.venv/bin/pip install py-spy`) and prints their call trees; it is not in the table.
bench/intake/stages.py times one request at a time in process (statements, SQL time,
CPU of the pieces).

Run: .venv/bin/python bench/intake_bench.py [--duration 15] [--profile]
Needs wrk (`apt-get install -y wrk`), PostgreSQL (DATABASE_URL, else
postgresql://postgres@127.0.0.1:5432/postgres) and RabbitMQ (AMQP_URL, else the local
guest account). Prints figures only; it exits 1 on MISMATCH or errors, not on speed.
"""
from __future__ import annotations

import argparse
import collections
import glob
import json
import os
import re
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

from benchlib import free_port, install_sigterm, stop_groups, wait_answering

BENCH_DIR = Path(__file__).resolve().parent
REPO = BENCH_DIR.parent
HERE = BENCH_DIR / "intake"
LUA = HERE / "report.lua"

# Run with the repository's virtualenv (its console scripts and packages).
_VENV_PY = REPO / ".venv" / "bin" / "python"
if not (Path(sys.executable).parent / "envgrid-incidents").exists() and _VENV_PY.exists() \
        and os.environ.get("_INTAKE_BENCH_REEXEC") != "1":
    os.environ["_INTAKE_BENCH_REEXEC"] = "1"
    os.execv(str(_VENV_PY), [str(_VENV_PY), *sys.argv])

BIN = Path(sys.executable).parent
DEFAULT_DATABASE_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
DEFAULT_AMQP_URL = "amqp://guest:guest@127.0.0.1:5672/%2F"
ROUTING_KEY = "incident.reported"
BARE_TABLE = "bench_bare_reports"  # bench/intake/bare_app.py TABLE
REPORT_PATH = "/api/v1/incidents/reports"
CLK_TCK = os.sysconf("SC_CLK_TCK")

# As services/incidents/tests/conftest.py fills them.
OUTLINE = ('{"type":"Polygon","coordinates":[[[112.8,35.4],[112.9,35.4],[112.9,35.5],[112.8,35.5],'
           '[112.8,35.4]]]}')
CATEGORIES = [("catering_fumes", "餐饮油烟"), ("open_burning", "露天焚烧垃圾和秸秆"),
              ("construction_dust", "建筑工地扬尘"), ("air_quality_exceedance", "监测点位附近空气质量超标"),
              ("emergency_order", "重污染天气及突发环境事件应急指令"), ("prominent_problem", "市级反馈突出环境问题")]
# Environment variables a child must not inherit from whoever started the bench.
SCRUB = ("DATABASE_URL", "INCIDENTS_DATABASE_URL", "GATEWAY_DATABASE_URL", "PROMETHEUS_MULTIPROC_DIR",
         "EVENTS_EXCHANGE", "QUEUE_PREFIX", "WEB_WORKERS", "WEB_THREADS", "WEB_KEEPALIVE", "WEB_TIMEOUT",
         "GUNICORN_CMD_ARGS", "BIND", "ENVGRID_ENV", "GATEWAY_REDIS_URL", "GATEWAY_RATE_PUBLIC",
         "GATEWAY_API_KEYS_FILE", "CORS_ORIGINS", "OIDC_JWKS_URL", "OIDC_ISSUER")
# All the load comes from one address, 127.0.0.1: the gateway's per-IP limit for the public
# (GATEWAY_RATE_PUBLIC, 60 a minute) is lifted; the limiter still counts every request.
GATEWAY_LIMITS = {"GATEWAY_RATE_PUBLIC": str(10 ** 9)}


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    parser.add_argument("--database-url", default=os.environ.get("DATABASE_URL") or DEFAULT_DATABASE_URL,
                        help="PostgreSQL server whose user may create databases; a throwaway one is made")
    parser.add_argument("--amqp-url", default=os.environ.get("AMQP_URL") or DEFAULT_AMQP_URL)
    parser.add_argument("--concurrency", default="16,64", help="wrk connections, comma-separated")
    parser.add_argument("--duration", type=int, default=15, help="seconds per measured run")
    parser.add_argument("--warmup", type=int, default=3, help="seconds of warm-up per target (c16)")
    parser.add_argument("--wrk-threads", type=int, default=2)
    parser.add_argument("--location", choices=("random", "fixed"), default="random")
    parser.add_argument("--no-diagnostics", action="store_true",
                        help="skip the diagnostic runs: intake straight at incidents (no gateway), and the "
                             "bare endpoint behind a second gateway")
    parser.add_argument("--profile", action="store_true",
                        help="one more intake run at the highest concurrency under py-spy; hottest functions")
    parser.add_argument("--wait-quiet", type=float, default=180.0, metavar="S",
                        help="before each run, wait up to S s for the machine to be idle (under 12%% busy over 2 s: "
                             "other benchmarks or tests on a 2-core box distort every figure); 0 = do not wait")
    parser.add_argument("--keep-logs", action="store_true", help="keep the tempdir with the process logs")
    return parser.parse_args()


def pg_url(url: str) -> str:
    return "postgresql+psycopg://" + url.split("://", 1)[1] if url.startswith("postgresql://") else url


# -- processes -------------------------------------------------------------------
class Proc:
    def __init__(self, name: str, popen: subprocess.Popen, log: Path, port: int | None):
        self.name, self.popen, self.log, self.port = name, popen, log, port

    @property
    def alive(self) -> bool:
        return self.popen.poll() is None

    def tail(self, n: int = 3000) -> str:
        return self.log.read_text(errors="replace")[-n:] if self.log.exists() else ""


class Procs:
    def __init__(self, tmp: Path):
        self.tmp = tmp
        self.all: list[Proc] = []

    def env(self, extra: dict) -> dict:
        base = {k: v for k, v in os.environ.items() if k not in SCRUB and not k.startswith("UPSTREAM_")}
        base.pop("_INTAKE_BENCH_REEXEC", None)
        return {**base, **extra}

    def start(self, name: str, argv: list[str], env: dict, cwd: Path | None = None,
              port: int | None = None) -> Proc:
        log = self.tmp / f"{name}.log"
        handle = open(log, "ab")
        popen = subprocess.Popen(argv, env=self.env(env), cwd=cwd, stdout=handle, stderr=subprocess.STDOUT,
                                 stdin=subprocess.DEVNULL, start_new_session=True)
        handle.close()
        proc = Proc(name, popen, log, port)
        self.all.append(proc)
        return proc

    def wait_http(self, proc: Proc, path: str, timeout: float = 60.0) -> None:
        wait_answering(f"http://127.0.0.1:{proc.port}{path}", proc.popen, proc.tail, timeout)

    def stop_all(self) -> None:
        stop_groups([proc.popen for proc in reversed(self.all)], 20)


def run_checked(argv: list[str], env: dict, cwd: Path | None = None, what: str = "") -> None:
    result = subprocess.run(argv, env=env, cwd=cwd, capture_output=True, text=True, timeout=300)
    if result.returncode != 0:
        raise RuntimeError(f"{what or argv[0]} failed ({result.returncode}):\n{result.stdout}\n{result.stderr}")


_SETTINGS_PROBE = """
import json, sys
sys.argv = ["gunicorn", *json.loads(sys.argv[1])]
from gunicorn.app.wsgiapp import WSGIApplication
cfg = WSGIApplication().cfg
print(json.dumps({"worker_class": cfg.worker_class_str, "workers": cfg.workers, "threads": cfg.threads,
                  "keepalive": cfg.keepalive, "timeout": cfg.timeout, "backlog": cfg.backlog,
                  "worker_connections": cfg.worker_connections}))
"""


def gunicorn_settings(args: list[str], env: dict, cwd: Path) -> dict:
    """The settings gunicorn itself derives from this command line, environment and config file."""
    result = subprocess.run([sys.executable, "-c", _SETTINGS_PROBE, json.dumps(args)], env=env, cwd=cwd,
                            capture_output=True, text=True, timeout=60)
    if result.returncode != 0:
        return {"error": result.stderr.strip()[-300:]}
    return json.loads(result.stdout.strip().splitlines()[-1])


# -- CPU accounting ------------------------------------------------------------------
def _proc_stats():
    for stat in glob.glob("/proc/[0-9]*/stat"):
        try:
            with open(stat) as handle:
                raw = handle.read()
        except OSError:
            continue
        comm = raw[raw.index("(") + 1:raw.rindex(")")]
        rest = raw[raw.rindex(")") + 2:].split()
        yield stat[:-5], comm, int(rest[2]), (int(rest[11]) + int(rest[12])) / CLK_TCK  # dir, comm, pgrp, cpu s


_PG_SHARED = re.compile(r"^postgres: .*?: (checkpointer|background writer|walwriter|autovacuum launcher|"
                        r"logical replication launcher|archiver|stats collector|logger)")


def _postgres_owner(proc_dir: str, dbname: str) -> str:
    """PostgreSQL processes: backends of the bench's database and the server's own processes count as
    "postgres"; backends of other databases (someone else's tests) as "other"."""
    try:
        with open(f"{proc_dir}/cmdline", "rb") as handle:
            title = handle.read().replace(b"\0", b" ").decode(errors="replace").strip()
    except OSError:
        return "postgres"
    if dbname in title or _PG_SHARED.match(title) or not title.startswith("postgres:"):
        return "postgres"
    return "other"


def _machine() -> dict[str, float]:
    with open("/proc/stat") as handle:
        user, nice, system, idle, iowait, irq, softirq, steal = [int(x) for x in handle.readline().split()[1:9]]
    return {"_total": (user + nice + system + idle + iowait + irq + softirq + steal) / CLK_TCK,
            "_busy": (user + nice + system + irq + softirq) / CLK_TCK,  # used by this VM's processes and kernel
            "_irq": (irq + softirq) / CLK_TCK,  # mostly loopback TCP, charged to no process
            "_steal": steal / CLK_TCK}  # taken by the hypervisor for others


def cpu_snapshot(groups: dict[int, str], dbname: str) -> dict[str, float]:
    """CPU seconds used so far by each of our process groups (pgid -> name), PostgreSQL, RabbitMQ,
    wrk, and the machine."""
    by_pgid = groups
    out = collections.Counter()
    for proc_dir, comm, pgrp, seconds in _proc_stats():
        if pgrp in by_pgid:
            out[by_pgid[pgrp]] += seconds
        elif comm.startswith("postgres"):
            out["_pg_" + _postgres_owner(proc_dir, dbname)] += seconds
        elif comm.startswith("beam.smp"):
            out["rabbitmq"] += seconds
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)  # wrk: the only child waited for meanwhile
    out["wrk"] = usage.ru_utime + usage.ru_stime
    out["bench"] = sum(resource.getrusage(resource.RUSAGE_SELF)[:2])
    out.update(_machine())
    return dict(out)


def wait_quiet(limit_s: float, threshold: float = 0.12) -> float | None:
    """Wait until the machine is idle (under `threshold` busy over 2 s). Seconds waited, None if it never was."""
    if limit_s <= 0:
        return 0.0
    started = time.monotonic()
    while True:
        m0 = _machine()
        time.sleep(2.0)
        m1 = _machine()
        total = m1["_total"] - m0["_total"]
        if total and (m1["_busy"] - m0["_busy"]) / total < threshold:
            return time.monotonic() - started - 2.0
        if time.monotonic() - started > limit_s:
            return None


def cpu_delta(before: dict, after: dict) -> dict[str, float]:
    delta = {k: after.get(k, 0.0) - before.get(k, 0.0) for k in set(before) | set(after)}
    delta["postgres"] = delta.get("_pg_postgres", 0.0)
    known = sum(v for k, v in delta.items() if not k.startswith("_"))
    delta["irq"] = delta["_irq"]
    delta["other"] = delta["_busy"] - known - delta["_irq"]
    return delta


# -- PostgreSQL wait events ---------------------------------------------------------
class WaitSampler(threading.Thread):
    """pg_stat_activity of the bench's database every 50 ms: what active backends wait on."""

    def __init__(self, admin_url: str, dbname: str):
        super().__init__(daemon=True, name="pg-waits")
        import psycopg
        self.conn = psycopg.connect(admin_url, autocommit=True)
        self.dbname = dbname
        self.counts: collections.Counter = collections.Counter()
        self.samples = 0
        self.stop = threading.Event()

    def run(self) -> None:
        query = ("SELECT coalesce(wait_event_type || ':' || wait_event, 'CPU') FROM pg_stat_activity "
                 "WHERE datname = %s AND state = 'active' AND pid <> pg_backend_pid()")
        while not self.stop.wait(0.05):
            try:
                rows = self.conn.execute(query, (self.dbname,)).fetchall()
            except Exception:
                break
            self.samples += 1
            for (what,) in rows:
                self.counts[what] += 1

    def finish(self) -> tuple[int, collections.Counter]:
        self.stop.set()
        self.join(5)
        self.conn.close()
        return self.samples, self.counts


# -- wrk -------------------------------------------------------------------------
def run_wrk(url: str, conns: int, threads: int, duration: int, ids_prefix: str, location: str,
            headers: tuple[str, str] | None = None) -> dict:
    argv = ["wrk", f"-t{min(threads, conns)}", f"-c{conns}", f"-d{duration}s", "--latency", "--timeout", "10s",
            "-s", str(LUA), url, "--", ids_prefix, location, *(headers or ())]
    result = subprocess.run(argv, capture_output=True, text=True, timeout=duration + 60)
    line = next((l for l in result.stdout.splitlines() if l.startswith("WRKJSON ")), None)
    if result.returncode != 0 or line is None:
        raise RuntimeError(f"wrk failed ({result.returncode}):\n{result.stdout}\n{result.stderr}")
    figures = json.loads(line[len("WRKJSON "):])
    figures["rps"] = figures["requests"] / (figures["duration_us"] / 1e6)
    figures["errors"] = (figures["status"] + figures["connect"] + figures["read"] + figures["write"]
                         + figures["timeout"])
    figures["stderr"] = result.stderr.strip()
    figures["stdout"] = result.stdout
    return figures


def read_ids(prefix: str) -> list[str]:
    ids = []
    for path in glob.glob(prefix + ".*.ids"):
        with open(path) as handle:
            ids.extend(line.strip() for line in handle if line.strip())
    return ids


# -- the bench ---------------------------------------------------------------------
class Bench:
    def __init__(self, args: argparse.Namespace):
        self.args = args
        self.tag = uuid.uuid4().hex[:8]
        self.tmp = Path(tempfile.mkdtemp(prefix=f"intake-bench-{self.tag}-"))
        self.procs = Procs(self.tmp)
        self.dbname = f"eg_bench_intake_{self.tag}"
        self.exchange = f"b{self.tag}.events"
        self.prefix = f"b{self.tag}."
        self.count_queue = f"b{self.tag}.bench.reported"
        self.admin_engine = None
        self.db_created = False
        self.broker_touched = False
        self.service_env: dict = {}
        self.wrk_runs = 0

    # set-up --------------------------------------------------------------------
    def database_url(self) -> str:
        from sqlalchemy.engine import make_url
        return make_url(self.args.database_url).set(database=self.dbname).render_as_string(hide_password=False)

    def create_database(self) -> None:
        from sqlalchemy import create_engine, text
        self.admin_engine = create_engine(pg_url(self.args.database_url), isolation_level="AUTOCOMMIT")
        with self.admin_engine.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{self.dbname}" ENCODING \'UTF8\' TEMPLATE template0'))
        self.db_created = True

    def fill(self) -> None:
        from sqlalchemy import create_engine, insert, text
        sys.path.insert(0, str(HERE))
        from bare_app import TABLE_DDL
        from incidents.models import categories, district_outline
        from servicekit.tables import utcnow
        engine = create_engine(pg_url(self.database_url()))
        with engine.begin() as conn:
            conn.execute(insert(categories), [{"code": c, "name": n, "active": True} for c, n in CATEGORIES])
            conn.execute(insert(district_outline).values(id=1, code="140502", boundary=OUTLINE, fetched_at=utcnow()))
            conn.execute(text(TABLE_DDL))
        engine.dispose()

    def start(self) -> None:
        a = self.args
        self.create_database()
        self.service_env = {
            "DATABASE_URL": self.database_url(), "AMQP_URL": a.amqp_url, "EVENTS_EXCHANGE": self.exchange,
            "QUEUE_PREFIX": self.prefix, "ENVGRID_DATA_DIR": str(self.tmp / "incidents-data"),
            "EVIDENCE_DIR": str(self.tmp / "evidence"), "REGISTRY_URL": "http://127.0.0.1:9"}
        env = self.procs.env(self.service_env)
        run_checked([str(BIN / "envgrid-incidents"), "migrate"], env, what="envgrid-incidents migrate")
        self.fill()

        gw_env = {"ENVGRID_DATA_DIR": str(self.tmp / "gateway-data"), **GATEWAY_LIMITS}
        self.broker_touched = True  # the worker declares the exchange and its queues from here on
        worker_port = free_port()
        self.worker = self.procs.start("incidents-worker", [str(BIN / "envgrid-incidents"), "worker"],
                                       {**self.service_env, "WORKER_METRICS_PORT": str(worker_port)},
                                       port=worker_port)
        inc_port, gw_port, bare_port, gwb_port = free_port(), free_port(), free_port(), free_port()
        inc_args = ["-c", "gunicorn.conf.py", "--bind", f"127.0.0.1:{inc_port}"]
        gw_args = ["-c", "gunicorn.conf.py", "--bind", f"127.0.0.1:{gw_port}"]
        bare_args = ["-c", "python:servicekit.gunicorn_defaults", "--bind", f"127.0.0.1:{bare_port}", "bare_app:app"]
        inc_dir, gw_dir = REPO / "services" / "incidents", REPO / "gateway"
        gw_env["UPSTREAM_INCIDENTS_URL"] = f"http://127.0.0.1:{inc_port}"
        run_checked([str(BIN / "envgrid-gateway"), "migrate"], self.procs.env(gw_env), what="envgrid-gateway migrate")
        # Diagnostic: the same gateway in front of the bare endpoint (what a gateway hop costs on its own).
        gwb_env = {"ENVGRID_DATA_DIR": str(self.tmp / "gateway-bare-data"), **GATEWAY_LIMITS,
                   "UPSTREAM_INCIDENTS_URL": f"http://127.0.0.1:{bare_port}"}
        gwb_args = ["-c", "gunicorn.conf.py", "--bind", f"127.0.0.1:{gwb_port}"]
        if not a.no_diagnostics:
            run_checked([str(BIN / "envgrid-gateway"), "migrate"], self.procs.env(gwb_env),
                        what="envgrid-gateway migrate")
        bare_env = {"BARE_DATABASE_URL": self.database_url()}

        def metrics_dir(name):
            path = self.tmp / f"metrics-{name}"
            path.mkdir()
            return {"PROMETHEUS_MULTIPROC_DIR": str(path)}

        self.settings = {
            "incidents web": gunicorn_settings(inc_args, self.procs.env({**self.service_env, **metrics_dir("p1")}), inc_dir),
            "gateway": gunicorn_settings(gw_args, self.procs.env({**gw_env, **metrics_dir("p2")}), gw_dir),
            "bare": gunicorn_settings(bare_args, self.procs.env({**bare_env, **metrics_dir("p3")}), HERE)}
        gunicorn = [sys.executable, "-m", "gunicorn"]
        self.incidents = self.procs.start("incidents-web", gunicorn + inc_args,
                                          {**self.service_env, **metrics_dir("incidents")}, inc_dir, inc_port)
        self.gateway = self.procs.start("gateway", gunicorn + gw_args, {**gw_env, **metrics_dir("gateway")},
                                        gw_dir, gw_port)
        self.bare = self.procs.start("bare", gunicorn + bare_args, {**bare_env, **metrics_dir("bare")}, HERE,
                                     bare_port)
        web = [self.incidents, self.gateway, self.bare]
        self.gateway_bare = None
        if not a.no_diagnostics:
            self.gateway_bare = self.procs.start("gateway-bare", gunicorn + gwb_args,
                                                 {**gwb_env, **metrics_dir("gateway-bare")}, gw_dir, gwb_port)
            web.append(self.gateway_bare)
        self.procs.wait_http(self.worker, "/readyz")
        for proc in web:
            self.procs.wait_http(proc, "/healthz")
        self.bind_count_queue()
        self.groups = {self.gateway.popen.pid: "gateway", self.incidents.popen.pid: "incidents-web",
                       self.worker.popen.pid: "incidents-worker", self.bare.popen.pid: "bare"}
        if self.gateway_bare is not None:
            self.groups[self.gateway_bare.popen.pid] = "gateway"  # the gateway column: whichever served

    def _channel(self):
        import pika
        connection = pika.BlockingConnection(pika.URLParameters(self.args.amqp_url))
        return connection, connection.channel()

    def bind_count_queue(self) -> None:
        connection, channel = self._channel()
        try:
            channel.exchange_declare(self.exchange, passive=True)  # declared by the worker
            channel.queue_declare(self.count_queue, durable=True, arguments={"x-queue-type": "classic"})
            channel.queue_bind(self.count_queue, self.exchange, routing_key=ROUTING_KEY)
        finally:
            connection.close()

    # measuring -------------------------------------------------------------------
    def urls(self) -> dict[str, str]:
        return {"bare": f"http://127.0.0.1:{self.bare.port}/reports",
                "intake": f"http://127.0.0.1:{self.gateway.port}{REPORT_PATH}",
                "direct": f"http://127.0.0.1:{self.incidents.port}{REPORT_PATH}",
                "bare-gw": f"http://127.0.0.1:{self.gateway_bare.port}{REPORT_PATH}" if self.gateway_bare else None}

    def identity_headers(self) -> tuple[str, str]:
        from servicekit import identity as ident
        from servicekit.config import load_settings
        secret = load_settings("incidents", self.procs.env(self.service_env)).identity_secret
        signed = ident.sign(ident.Identity("anonymous", frozenset({"public"})), secret)
        return signed[ident.IDENTITY_HEADER], signed[ident.SIGNATURE_HEADER]

    def one_run(self, target: str, conns: int, duration: int, kind: str = "") -> dict:
        """One wrk run against `target`; `kind` ("warm-up", "profile") only labels its messages."""
        name = f"{kind + ' ' if kind else ''}{target} c{conns}"
        for proc in self.procs.all:
            if not proc.alive:
                raise RuntimeError(f"{proc.name} died:\n{proc.tail()}")
        self.wrk_runs += 1
        prefix = str(self.tmp / f"ids-{target}-{self.wrk_runs:02d}")
        waited = wait_quiet(self.args.wait_quiet if kind != "warm-up" else 0)
        if waited is None:
            print(f"  !!! the machine stayed busy for {self.args.wait_quiet:.0f}s before {name}; running anyway",
                  flush=True)
        elif waited > 1:
            print(f"  (waited {waited:.0f}s for the machine to be idle before {name})", flush=True)
        self.analyze()
        headers = self.identity_headers() if target == "direct" else None
        sampler = WaitSampler(self.args.database_url, self.dbname)
        sampler.start()
        before = cpu_snapshot(self.groups, self.dbname)
        load_before = os.getloadavg()[0]
        started = self.scalar("SELECT clock_timestamp()")
        figures = run_wrk(self.urls()[target], conns, self.args.wrk_threads, duration, prefix,
                          self.args.location, headers)
        figures["waits"] = sampler.finish()
        figures.update(target=target, conns=conns, ids_prefix=prefix, load_before=load_before)
        # wrk leaves up to one request per connection in flight; the services finish them (and the
        # relay sends their events) after wrk is gone. That work belongs to this run: CPU is read after.
        figures["settle_s"] = self.wait_settled()
        if target in ("intake", "direct"):
            figures["relay"] = self.rows(
                "SELECT count(*), count(DISTINCT sent_at) FROM outbox WHERE created_at >= :t", t=started)[0]
        figures["cpu"] = cpu_delta(before, cpu_snapshot(self.groups, self.dbname))
        cpu = figures["cpu"]
        if cpu["_total"] and cpu["other"] / cpu["_total"] > 0.05:
            print(f"  !!! {name}: processes outside the bench used {100 * cpu['other'] / cpu['_total']:.0f}% "
                  "of the machine during this run; its figures are disturbed", flush=True)
        if figures["stderr"]:
            print(f"  wrk said: {figures['stderr'][:600]}", file=sys.stderr)
        return figures

    def analyze(self) -> None:
        """ANALYZE the service's database before a run, as autovacuum would on a growing table.

        A PostgreSQL with autovacuum off (this machine's) keeps the estimates of the empty table
        the migration made, and then plans intake's duplicate lookup on ix_reports_open_by_category
        (every open report of the category in 72 h: 10,000 rows filtered, 4.5 ms at 10,000
        reports) instead of ix_reports_nearby (a few rows, 0.07 ms). Production runs autovacuum.
        """
        from sqlalchemy import text
        self.scalar("SELECT 1")
        with self._engine.connect() as conn:
            conn.execute(text("ANALYZE"))
            conn.commit()

    def scalar(self, sql: str):
        from sqlalchemy import create_engine, text
        if getattr(self, "_engine", None) is None:
            self._engine = create_engine(pg_url(self.database_url()), pool_size=1)
        with self._engine.connect() as conn:
            return conn.execute(text(sql)).scalar_one()

    def rows(self, sql: str, **params):
        from sqlalchemy import text
        self.scalar("SELECT 1")
        with self._engine.connect() as conn:
            return conn.execute(text(sql), params).all()

    def wait_settled(self, quiet_s: float = 1.5, timeout: float = 300.0) -> float:
        """Wait until the outbox is drained (`SELECT count(*) FROM outbox WHERE sent_at IS NULL` = 0)
        and no report or bare row has been added for `quiet_s`: the requests wrk abandoned at its
        deadline are finished too. Returns the seconds waited."""
        started = time.monotonic()
        last, since = None, time.monotonic()
        sql = (f"SELECT (SELECT count(*) FROM outbox WHERE sent_at IS NULL), (SELECT count(*) FROM reports), "
               f"(SELECT count(*) FROM {BARE_TABLE})")
        while time.monotonic() - started < timeout:
            unsent, reports, bare = self.rows(sql)[0]
            if (reports, bare) != last:
                last, since = (reports, bare), time.monotonic()
            elif unsent == 0 and time.monotonic() - since >= quiet_s:
                return since - started
            if not self.worker.alive:
                raise RuntimeError(f"the incidents worker died:\n{self.worker.tail()}")
            time.sleep(0.1)
        raise RuntimeError(f"not settled after {timeout:.0f}s (outbox unsent {unsent})")

    # accounting ----------------------------------------------------------------------
    def published(self) -> tuple[int, list[str]]:
        connection, channel = self._channel()
        try:
            count = channel.queue_declare(self.count_queue, passive=True).method.message_count
            ids = []
            channel.basic_qos(prefetch_count=2000)
            for method, _props, body in channel.consume(self.count_queue, auto_ack=True, inactivity_timeout=2):
                if method is None:
                    break
                ids.append(json.loads(body)["data"]["incident_id"])
            channel.cancel()
        finally:
            connection.close()
        return count, ids

    @staticmethod
    def logged_201s(proc: Proc) -> int:
        count = 0
        with open(proc.log, errors="replace") as handle:
            for line in handle:
                if '"request"' in line and REPORT_PATH in line:
                    try:
                        entry = json.loads(line)
                    except ValueError:
                        continue
                    if entry.get("msg") == "request" and entry.get("path") == REPORT_PATH \
                            and entry.get("status") == 201:
                        count += 1
        return count

    def cleanup(self) -> None:
        self.procs.stop_all()
        if getattr(self, "_engine", None) is not None:
            self._engine.dispose()
        if self.broker_touched:
            try:
                from servicekit import topology
                from servicekit.config import load_settings
                settings = load_settings("incidents", self.procs.env(self.service_env))
                connection, channel = self._channel()
                try:
                    topology.delete_all(channel, settings)
                    channel.queue_delete(self.count_queue)
                    unrouted_exchange, unrouted_queue = topology.unrouted_names(settings)
                    channel.exchange_delete(self.exchange)
                    channel.exchange_delete(unrouted_exchange)
                    channel.queue_delete(unrouted_queue)
                finally:
                    connection.close()
            except Exception as exc:
                print(f"warning: broker clean-up failed: {exc!r} (names start with b{self.tag}.)", file=sys.stderr)
        if self.db_created:
            from sqlalchemy import text
            try:
                with self.admin_engine.connect() as conn:
                    conn.execute(text(f'DROP DATABASE IF EXISTS "{self.dbname}" WITH (FORCE)'))
            except Exception as exc:
                print(f"warning: could not drop database {self.dbname}: {exc!r}", file=sys.stderr)
        if self.admin_engine is not None:
            self.admin_engine.dispose()
        if self.args.keep_logs:
            print(f"logs kept in {self.tmp}")
        else:
            shutil.rmtree(self.tmp, ignore_errors=True)


# -- py-spy ----------------------------------------------------------------------------
def _frame_name(frame: str) -> str:
    # py-spy raw frames: "function (path/to/file.py:line)"; keep function and short file, drop the line.
    m = re.match(r"^(.*) \((.*?)(?::\d+)?\)$", frame)
    if not m:
        return frame
    func, path = m.groups()
    parts = Path(path).parts
    short = "/".join(parts[-2:]) if len(parts) >= 2 else path
    return f"{func} ({short})"


def _stacks(path: Path):
    """(frames, samples) from py-spy's raw output, below gunicorn's thread plumbing."""
    for line in path.read_text(errors="replace").splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        frames = [_frame_name(f) for f in stack.split(";")]
        frames = [f for f in frames if not f.startswith(("process ", "thread "))]
        if frames:
            yield frames, int(count)


def summarise_profile(path: Path, top: int = 15, threshold: float = 2.0) -> str:
    """A call tree pruned at `threshold`% of the samples (chains of one child joined by ' > '),
    then the functions most often on top of the stack."""
    tree: dict = {}
    own = collections.Counter()
    total = 0
    for frames, n in _stacks(path):
        total += n
        own[frames[-1]] += n
        node = tree
        for frame in frames:
            entry = node.setdefault(frame, [0, {}])
            entry[0] += n
            node = entry[1]
    if not total:
        return "  (no samples)"
    out = [f"  {total} samples; call tree (inclusive %, branches under {threshold:g}% left out):"]

    def walk(node: dict, depth: int) -> None:
        for frame, (n, children) in sorted(node.items(), key=lambda kv: -kv[1][0]):
            if 100 * n / total < threshold:
                continue
            chain = [frame]
            while len(children) == 1:  # a chain with no branching: one line
                (child, (cn, grandchildren)), = children.items()
                if cn < 0.97 * n:
                    break
                chain.append(child)
                children = grandchildren
            label = " > ".join(chain if len(chain) <= 3 else [chain[0], "...", *chain[-2:]])
            out.append(f"  {100 * n / total:5.1f}% {'  ' * depth}{label}")
            walk(children, depth + 1)
    walk(tree, 0)
    out.append("  on top of the stack (self):")
    out += [f"  {100 * c / total:5.1f}%   {f}" for f, c in own.most_common(top)]
    return "\n".join(out)


def profile(bench: Bench, conns: int, duration: int) -> dict | None:
    spy = shutil.which("py-spy", path=str(BIN)) or shutil.which("py-spy")
    if spy is None:
        print("\n--profile: py-spy not found (.venv/bin/pip install py-spy); skipped")
        return None
    records = {}
    spies = []
    for name, proc in (("gateway", bench.gateway), ("incidents-web", bench.incidents)):
        out = bench.tmp / f"profile-{name}.txt"
        spies.append(subprocess.Popen(
            [spy, "record", "--pid", str(proc.popen.pid), "--subprocesses", "--format", "raw", "--rate", "100",
             "--gil", "--nonblocking", "--duration", str(duration + 1), "--output", str(out)],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True))
        records[name] = out
    time.sleep(1.0)
    try:
        figures = bench.one_run("intake", conns, duration, "profile")
    finally:
        for spy_proc in spies:
            try:
                spy_proc.wait(30)
            except subprocess.TimeoutExpired:
                os.killpg(spy_proc.pid, signal.SIGKILL)
                spy_proc.wait(5)
    print(f"\nprofile run (py-spy on, not comparable): intake c{conns} {figures['rps']:.0f} req/s")
    for name, out in records.items():
        print(f"\n{name} (py-spy record --subprocesses --gil --nonblocking, 100 Hz: samples of the thread holding the GIL):")
        if out.exists():
            print(summarise_profile(out))
        else:
            err = spies[list(records).index(name)].stderr.read().decode(errors="replace")
            print(f"  no profile written: {err[-500:]}")
    figures["profile"] = True
    return figures


# -- report --------------------------------------------------------------------------
def ms(us: float) -> str:
    return f"{us / 1000:.1f}"


LABELS = {"bare": "bare flask insert", "intake": "intake via gateway", "direct": "intake, no gateway (diag.)",
          "bare-gw": "bare via gateway (diag.)"}


def print_tables(runs: list[dict]) -> None:
    measured = [r for r in runs if not r.get("warmup") and not r.get("profile")]
    bare = {r["conns"]: r for r in measured if r["target"] == "bare"}
    print(f"\n{'target':<28}{'conc':>5}{'req/s':>9}{'p50 ms':>8}{'p99 ms':>8}{'errors':>8}{'of bare':>9}")
    for r in measured:
        label = LABELS[r["target"]]
        ratio = "" if r["target"] == "bare" else f"{100 * r['rps'] / bare[r['conns']]['rps']:.0f}%"
        print(f"{label:<28}{r['conns']:>5}{r['rps']:>9.0f}{ms(r['p50_us']):>8}{ms(r['p99_us']):>8}"
              f"{r['errors']:>8}{ratio:>9}")
    for conns, b in bare.items():
        gw = next((r for r in measured if r["target"] == "intake" and r["conns"] == conns), None)
        if gw is not None:
            ok = gw["rps"] >= 0.5 * b["rps"] and gw["errors"] == 0
            print(f"target c{conns}: intake/bare = {gw['rps'] / b['rps']:.2f} (>= 0.50 and no error): "
                  f"{'met' if ok else 'NOT met'}")

    components = ["wrk", "gateway", "incidents-web", "incidents-worker", "bare", "postgres", "rabbitmq", "irq",
                  "other"]
    heads = ["wrk", "gateway", "inc-web", "inc-worker", "bare", "postgres", "rabbitmq", "irq", "other"]
    print("\nCPU ms per request, by process group (from /proc; irq = interrupts and softirqs, mostly loopback "
          "TCP;\nother = any other process on the machine; busy and steal = share of the machine's cores):")
    print(f"{'target':<9}{'conc':>5}" + "".join(f"{h:>11}" for h in heads) + f"{'total':>8}{'busy':>6}{'steal':>6}")
    for r in measured:
        cpu, n = r["cpu"], max(r["requests"], 1)
        busy = 100 * cpu["_busy"] / cpu["_total"] if cpu["_total"] else 0
        steal = 100 * cpu["_steal"] / cpu["_total"] if cpu["_total"] else 0
        print(f"{r['target']:<9}{r['conns']:>5}" + "".join(f"{1000 * cpu.get(c, 0) / n:>11.2f}" for c in components)
              + f"{1000 * cpu['_busy'] / n:>8.2f}{busy:>5.0f}%{steal:>5.0f}%")

    print("\nPostgreSQL, active backends of the bench database by wait event (mean over 50 ms samples):")
    for r in measured:
        samples, counts = r["waits"]
        if not samples:
            continue
        top = ", ".join(f"{k} {v / samples:.2f}" for k, v in counts.most_common(6))
        print(f"  {r['target']:<8} c{r['conns']:<3} {top}")


def explain_duplicate_query(bench: "Bench") -> None:
    """How PostgreSQL runs intake's duplicate lookup on the filled table, for one point: the
    service's own statement (intake._CANDIDATES_BY_CELL, or the box query where it would use
    that), compiled for PostgreSQL with this point's parameters, so the plan cannot drift from it."""
    from datetime import datetime, timezone
    from sqlalchemy import text
    from sqlalchemy.dialects import postgresql
    from incidents import domain, intake
    radius, window = intake._duplicate_rule()
    lon, lat = 112.85, 35.45
    x0, y0, x1, y1 = domain.box_around(lon, lat, radius)
    params = {"category": "catering_fumes", "since": datetime.now(timezone.utc) - window,
              "x0": x0, "x1": x1, "y0": y0, "y1": y1}
    cells = domain.cells_covering(x0, y0, x1, y1)
    statement = intake._CANDIDATES_IN_BOX if cells is None else intake._CANDIDATES_BY_CELL
    if cells is not None:
        params["cells"] = cells
    sql = str(statement.params(**params).compile(dialect=postgresql.dialect(), compile_kwargs={"literal_binds": True}))
    bench.scalar("SELECT 1")
    with bench._engine.connect() as conn:
        plan = [row[0] for row in conn.execute(text("EXPLAIN (ANALYZE, BUFFERS) " + sql))]
    print(f"\nintake's duplicate lookup on the filled table (EXPLAIN ANALYZE, one point mid-district, "
          f"{'no cells' if cells is None else f'{len(cells)} cells'}, {radius:.0f} m, {window.total_seconds() / 3600:.0f} h):")
    for line in plan:
        print(f"  {line}")


def main() -> int:
    args = parse_args()
    install_sigterm()
    if shutil.which("wrk") is None:
        print("wrk is needed: apt-get install -y wrk", file=sys.stderr)
        return 2
    concurrencies = [int(c) for c in args.concurrency.split(",") if c.strip()]
    bench = Bench(args)
    status = 0
    try:
        print(f"intake bench {bench.tag}: {os.cpu_count()} cores, load average {os.getloadavg()[0]:.2f}, "
              f"wrk -t{args.wrk_threads} -d{args.duration}s, locations {args.location}")
        bench.start()
        for name, s in bench.settings.items():
            print(f"gunicorn {name:<14} {json.dumps(s)}")
        print(f"database {bench.dbname}; exchange {bench.exchange}; counting queue {bench.count_queue}")
        print(f"ANALYZE of that database before every run (this server's autovacuum: {bench.scalar('SHOW autovacuum')})")
        print(f"gateway: {' '.join(f'{k}={v}' for k, v in GATEWAY_LIMITS.items())} (all load comes from one IP; "
              "the limiter still counts, in memory)")
        targets = ["bare", "intake"] + ([] if args.no_diagnostics else ["direct", "bare-gw"])
        runs = []
        for target in targets:
            run = bench.one_run(target, concurrencies[0], args.warmup, "warm-up")
            run["warmup"] = True
            runs.append(run)
        for conns in concurrencies:
            for target in targets:
                run = bench.one_run(target, conns, args.duration)
                runs.append(run)
                extra = ""
                if "relay" in run:
                    events, batches = run["relay"]
                    extra = (f", settled {run['settle_s']:.1f}s after wrk; relay: {events} events in {batches} "
                             f"batches")
                print(f"  {target:<7} c{conns:<3} {run['rps']:7.0f} req/s  p50 {ms(run['p50_us'])} ms  "
                      f"p99 {ms(run['p99_us'])} ms  errors {run['errors']}  (load before {run['load_before']:.2f}"
                      f"{extra})", flush=True)
        if args.profile:
            figures = profile(bench, max(concurrencies), args.duration)
            if figures is not None:
                runs.append(figures)
        print_tables(runs)

        # accounting: every report a client was told was accepted is stored and published
        bench.wait_settled()
        accepted_ids = []
        connections = 0
        for r in runs:
            if r["target"] in ("intake", "direct"):
                accepted_ids.extend(read_ids(r["ids_prefix"]))
                connections += r["conns"]
        accepted_2xx = sum(r["ok"] for r in runs if r["target"] in ("intake", "direct"))
        stored_ids = {row[0] for row in bench.rows("SELECT incident_id FROM reports")}
        count, published_ids = bench.published()
        published_set = set(published_ids)
        gw_201, inc_201 = bench.logged_201s(bench.gateway), bench.logged_201s(bench.incidents)
        direct_ok = sum(r["ok"] for r in runs if r["target"] == "direct")
        duplicates = bench.scalar("SELECT count(*) FROM reports WHERE duplicate_of IS NOT NULL")
        explain_duplicate_query(bench)
        missing_db = [i for i in accepted_ids if i not in stored_ids]
        missing_broker = [i for i in accepted_ids if i not in published_set]
        surplus = len(stored_ids) - len(set(accepted_ids))
        print("\naccounting (intake via gateway + direct, warm-up included):")
        print(f"  accepted  {len(accepted_ids):>7}  2xx answers wrk read ({accepted_2xx} counted by wrk; "
              f"{len(set(accepted_ids))} distinct ids)")
        print(f"  stored    {len(stored_ids):>7}  rows in reports ({duplicates} linked as duplicates)")
        print(f"  published {count:>7}  {ROUTING_KEY} messages on the bench queue ({len(published_set)} distinct ids)")
        print(f"  201s logged by incidents {inc_201}, by the gateway {gw_201} (+ {direct_ok} direct accepted)")
        print(f"  answered after wrk's deadline (stored, 201 logged, never read): {surplus} "
              f"(at most {connections}, one per connection per run)")
        problems = []
        if missing_db:
            problems.append(f"{len(missing_db)} accepted reports are not in the database, e.g. {missing_db[:3]}")
        if missing_broker:
            problems.append(f"{len(missing_broker)} accepted reports were not published, e.g. {missing_broker[:3]}")
        if len(accepted_ids) != accepted_2xx or len(set(accepted_ids)) != len(accepted_ids):
            problems.append("recorded ids do not match wrk's 2xx count")
        if count != len(stored_ids) or published_set != stored_ids:
            problems.append(f"published {count} ({len(published_set)} distinct) != stored {len(stored_ids)}")
        if inc_201 != len(stored_ids):
            problems.append(f"incidents logged {inc_201} 201s but {len(stored_ids)} rows are stored")
        if not 0 <= surplus <= connections:
            problems.append(f"{surplus} stored reports were never accepted, more than the {connections} "
                            "requests wrk can leave in flight")
        errors = sum(r.get("errors", 0) for r in runs)
        if errors:
            problems.append(f"{errors} error answers or socket errors")
        if problems:
            status = 1
            for problem in problems:
                print(f"!!! MISMATCH: {problem}")
        else:
            print("  OK: every accepted report is stored and on the broker; stored == published == 201s logged")
    except KeyboardInterrupt:
        print("\ninterrupted; cleaning up", file=sys.stderr)
        status = 130
    except Exception:
        import traceback
        traceback.print_exc()
        for proc in bench.procs.all:
            if not proc.alive:
                print(f"--- {proc.name} (exited {proc.popen.returncode}) ---\n{proc.tail()}", file=sys.stderr)
        status = 1
    finally:
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # a second Ctrl-C must not stop the clean-up
        bench.cleanup()
    return status


if __name__ == "__main__":
    sys.exit(main())
