#!/usr/bin/env python
"""Assessment at district scale: a year of events ingested, then every month, quarter and year scored.

The issue: "A year of activity for the full demo district (>= 1,000,000 events) ingested, then
all monthly, quarterly and yearly scores for every grid computed: events/s ingested (beside raw
consume rate in the same run) and seconds to score all periods. Target: scoring a month for the
whole district in under 2 s."

Set-up (torn down at the end, also on Ctrl-C and SIGTERM):
- a throwaway PostgreSQL database (created, then dropped WITH (FORCE)), migrated with
  `envgrid-assessment migrate` (env DATABASE_URL); assessment's grid read model (grid_view,
  grid_members) filled directly from the demo district (grid_registry.demo.generate(2018):
  1 + 8 + 146 + 780 + 4,530 grids, 6,540 roles held); the year's meetings (levels 1-3) and
  supervision inspections (levels 1-2) inserted directly (bench/assessment_data/district_year.py);
- a private broker namespace (servicekit.testing.BrokerNamespace: EVENTS_EXCHANGE=t<tag>.events,
  QUEUE_PREFIX=t<tag>.), exchange and queues deleted at the end.

Events (bench/assessment_data/district_year.py, seed 2025): for each of the 780 level-4 grids, 2025
in Asia/Shanghai time: cases arriving at 0.3-1.35 a day (assigned; some escalated to the
village/community and on to the town; SLA breaches at the deadline of late ones; handled on
time or not; some reopened and handled again; closed), and patrols on 70-99 % of days (one in
seven days twice). 1,035,762 events with the defaults, time-ordered, each shaped as dispatch / incidents
publish it (envgrid_contracts CaseEvent, SlaEvent, PatrolRecorded; servicekit.events.new_envelope;
a sample of every type is checked against the contract strictly, as a producer would).

Ingest, measured through the broker on a prefix (--broker-events, default 100,000):
- the prefix is published to the run's exchange with servicekit.publisher.ConfirmingPublisher
  in batches (--publish-batch); assessment's events queue (declared as its worker declares it)
  and two raw baseline queues of the same type (quorum) are bound to the same routing keys, so
  all three hold the same messages;
- raw pika baselines, each drained alone (bench/assessment_data/raw_consume.py, a process of its own,
  the kit consumer's loop shape, same prefetch): acking only, and acking + one INSERT per message
  into PostgreSQL (an inbox-like row, one COMMIT per batch);
- then the assessment worker itself (`python -m assessment.worker`, a subprocess, as production
  runs it) drains the queue: events/s from the first to the last row of its inbox table.
If the whole 1,000,000 at that rate would take longer than --broker-budget-s (900 s), the worker
is stopped; the next --inprocess-events (3,000) events are applied in this process by the kit's
Consumer.process_batch (the worker's code without the broker), two thirds timed, then the
last third under cProfile, to show where a consumed event's time goes; what the real code
built is checked against a replica of counters.py (district_year.Tally); the rest of the
year is bulk-filled from that replica
(grid_metrics added with INSERT .. ON CONFLICT DO UPDATE, patrol_days and case_view by COPY),
and the bench says which part went which way. Otherwise the rest goes through the broker too.
Then ANALYZE (autovacuum would, a while after such a load).

Scoring, in this process on the same database (the worker stopped):
- --rounds passes of assessment.assess.compute(session, period, None, "bench") for each of the
  12 months, 4 quarters and the year of 2025, each in its own transaction (compute and COMMIT
  timed apart; SQL statements and their time counted with SQLAlchemy cursor events);
- cProfile of compute() for a month and for the year, and of close_month() for a month (each in
  a transaction rolled back);
- close_month() for each month of 2025 in order (scores, subsidy lists, flags), timed. A month
  whose close raises (the grade_streak evidence bug, see SHIM_NOTE) is reported as FAILED and
  timed again with a bench-only shim, marked as such.
Target: a month for the whole district scored in under 2 s.

Run: .venv/bin/python bench/assessment_bench.py [--broker-events 200000] [--py-spy 30]
Needs PostgreSQL (DATABASE_URL, else postgresql://postgres@127.0.0.1:5432/postgres) and RabbitMQ
(AMQP_URL, else the local guest account). Prints figures only; asserts nothing about speed.
"""
from __future__ import annotations

import argparse
import collections
import contextlib
import cProfile
import json
import os
import pstats
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
REPO = BENCH_DIR.parent
HERE = BENCH_DIR / "assessment_data"
# bench/ on sys.path once held a folder named like the service (now assessment_data/); kept as a guard:
# package "assessment" before the service's editable install (a meta-path finder, consulted after
# sys.path): import the service's package first, with bench/ out of the path.
_saved_path = list(sys.path)
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() not in (BENCH_DIR, HERE)]
import assessment  # noqa: E402  (services/assessment)
sys.path[:] = _saved_path
if getattr(assessment, "__file__", None) is None:
    raise SystemExit("the assessment service's package is not importable: run with the repository's .venv/bin/python")
for _path in (str(BENCH_DIR), str(HERE)):
    if _path not in sys.path:
        sys.path.insert(0, _path)

import benchlib  # noqa: E402
import district_year as dy  # noqa: E402

DEFAULT_DATABASE_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
DEFAULT_AMQP_URL = "amqp://guest:guest@127.0.0.1:5672/%2F"
SCRUB = ("DATABASE_URL", "ASSESSMENT_DATABASE_URL", "AMQP_URL", "ASSESSMENT_AMQP_URL", "EVENTS_EXCHANGE",
         "QUEUE_PREFIX", "PROMETHEUS_MULTIPROC_DIR", "ENVGRID_ENV", "CONSUMER_PREFETCH",
         "ASSESSMENT_CONSUMER_PREFETCH", "WORKER_METRICS_PORT")
CLK_TCK = os.sysconf("SC_CLK_TCK")
MONTH_TARGET_S = 2.0
MILLION = 1_000_000


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    parser.add_argument("--database-url", default=os.environ.get("DATABASE_URL") or DEFAULT_DATABASE_URL)
    parser.add_argument("--amqp-url", default=os.environ.get("AMQP_URL") or DEFAULT_AMQP_URL)
    parser.add_argument("--year", type=int, default=2025, help="the (ended) year of activity")
    parser.add_argument("--seed", type=int, default=2025, help="seed of the year's events")
    parser.add_argument("--scale", type=float, default=1.0,
                        help="case rate (and, below 1, patrol share) multiplier; 1.0 = 1,035,762 events")
    parser.add_argument("--broker-events", type=int, default=100_000,
                        help="the prefix of the year sent through RabbitMQ and the worker (and the raw baselines)")
    parser.add_argument("--broker-budget-s", type=float, default=900.0,
                        help="send the whole year through the broker only if 1,000,000 events would take "
                             "less than this at the measured rate; else bulk-fill the rest")
    parser.add_argument("--inprocess-events", type=int, default=3000,
                        help="events applied by Consumer.process_batch in this process under cProfile "
                             "(bulk-fill path only; 0 = none)")
    parser.add_argument("--publish-batch", type=int, default=1000, help="messages per ConfirmingPublisher batch")
    parser.add_argument("--prefetch", type=int, default=None,
                        help="CONSUMER_PREFETCH for the worker and the raw consumers; None = the kit's default")
    parser.add_argument("--rounds", type=int, default=2, help="passes of compute() over all 17 periods")
    parser.add_argument("--py-spy", type=int, default=0, metavar="SECONDS",
                        help="record the worker with py-spy for this long during the drain (0 = off)")
    parser.add_argument("--skip-raw", action="store_true", help="no raw pika baselines")
    parser.add_argument("--drain-timeout", type=float, default=3600.0, help="give up on a drain after this long")
    return parser.parse_args(argv)


# -- small helpers ----------------------------------------------------------------------------
def proc_cpu(pid: int) -> float:
    """CPU seconds (user + system) of one process so far; 0 if it is gone."""
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return 0.0
    fields = raw[raw.rindex(")") + 2:].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def pids_named(comm: str) -> list[int]:
    out = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if (entry / "comm").read_text().strip() == comm:
                    out.append(int(entry.name))
            except OSError:
                pass
    return out


def machine_cpu() -> tuple[int, int, int]:
    """(busy, idle+iowait, steal) jiffies of the whole machine."""
    values = [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    user, nice, system, idle, iowait, irq, softirq, steal = (values + [0] * 8)[:8]
    return user + nice + system + irq + softirq, idle + iowait, steal


def fmt_rate(n: float, s: float) -> str:
    return f"{n / s:,.0f}" if s > 0 else "n/a"


def short_path(path: str) -> str:
    for marker in ("/services/", "/libs/", "/site-packages/", "/lib/python3"):
        if marker in path:
            return path[path.index(marker) + 1:]
    return path


class StatementCounter:
    """SQL statements executed through an engine and the time spent in them (driver round trips)."""

    def __init__(self, engine):
        from sqlalchemy import event
        self.count, self.seconds = 0, 0.0
        self._local = threading.local()
        event.listen(engine, "before_cursor_execute", self._before)
        event.listen(engine, "after_cursor_execute", self._after)

    def _before(self, *_args):
        self._local.t = time.perf_counter()

    def _after(self, *_args):
        self.count += 1
        self.seconds += time.perf_counter() - getattr(self._local, "t", time.perf_counter())

    def reset(self) -> tuple[int, float]:
        counted = (self.count, self.seconds)
        self.count, self.seconds = 0, 0.0
        return counted


def print_profile(profile: cProfile.Profile, title: str, top: int = 18) -> None:
    stats = pstats.Stats(profile)
    total = stats.total_tt
    rows = []
    for (path, line, func), (cc, nc, tt, ct, _callers) in stats.stats.items():
        rows.append((tt, ct, nc, f"{func} ({short_path(path)}:{line})" if line else func))
    print(f"\n{title}: {total:.2f} s under cProfile (its overhead inflates small calls)")
    print(f"  {'self s':>7} {'cum s':>7} {'calls':>9}  function (most self time first)")
    for tt, ct, nc, name in sorted(rows, key=lambda r: -r[0])[:top]:
        print(f"  {tt:7.3f} {ct:7.3f} {nc:9d}  {name}")
    wanted = re.compile(r"assessment/|servicekit/|(execute|commit|_jsonable|score|compliance|working_days|"
                        r"statutory_workday|to_json|loads|dumps)\b")
    print(f"  {'cum s':>7} {'calls':>9}  of the service's own steps and the big library ones (by cumulative)")
    shown = 0
    for tt, ct, nc, name in sorted(rows, key=lambda r: -r[1]):
        if wanted.search(name) and "cProfile" not in name and "<built-in method builtins.exec>" not in name:
            print(f"  {ct:7.3f} {nc:9d}  {name}")
            shown += 1
            if shown >= top:
                break


def summarise_pyspy(path: Path, top: int = 20) -> str:
    """Inclusive and self share of functions in py-spy's raw (collapsed) output."""
    inclusive, own, total = collections.Counter(), collections.Counter(), 0
    for line in path.read_text(errors="replace").splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        n = int(count)
        frames = []
        for frame in stack.split(";"):
            m = re.match(r"^(.*) \((.*?)(?::\d+)?\)$", frame)
            frames.append(f"{m.group(1)} ({short_path(m.group(2))})" if m else frame)
        frames = [f for f in frames if not f.startswith(("process ", "thread "))]
        if not frames:
            continue
        total += n
        own[frames[-1]] += n
        for frame in set(frames):
            inclusive[frame] += n
    if not total:
        return "  (no samples)"
    out = [f"  {total} samples (thread holding the GIL); inclusive share:"]
    out += [f"  {100 * c / total:5.1f}%  {f}" for f, c in inclusive.most_common(top)]
    out.append("  self share (on top of the stack):")
    out += [f"  {100 * c / total:5.1f}%  {f}" for f, c in own.most_common(top)]
    return "\n".join(out)


# -- the run ------------------------------------------------------------------------------------
class Run:
    def __init__(self, args):
        from servicekit.testing import BrokerNamespace, PostgresDatabases
        self.args = args
        self.databases = PostgresDatabases(args.database_url)
        self.namespace = BrokerNamespace(args.amqp_url)
        self.tmp = Path(tempfile.mkdtemp(prefix="envgrid-bench-assessment-"))
        self.db_url: str | None = None
        self.db = None
        self.worker: subprocess.Popen | None = None
        self.worker_port: int | None = None
        self.children: list[subprocess.Popen] = []
        self.raw_queues = {"ack": f"t{self.namespace.tag}.bench.raw-ack",
                           "insert": f"t{self.namespace.tag}.bench.raw-insert"}
        self.raw_declared: list[str] = []
        self.before_worker: set[int] = set()

    # environment of the service's processes
    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if k not in SCRUB}
        env.update(self.namespace.env)
        env["DATABASE_URL"] = self.db_url or ""
        env["REGISTRY_URL"] = "http://127.0.0.1:9"  # the read model is filled here; no snapshot needed
        env["LOG_LEVEL"] = "WARNING"
        if self.args.prefetch:
            env["CONSUMER_PREFETCH"] = str(self.args.prefetch)
        return env

    def settings(self, service: str = "assessment"):
        from servicekit.config import load_settings
        return load_settings(service, self.env())

    # -- set-up ------------------------------------------------------------------------------
    def setup(self, area: dy.District) -> None:
        from sqlalchemy import insert, text
        from servicekit.db import Database
        self.db_url = self.databases.create("bench_assessment")
        exe = Path(sys.executable).parent / "envgrid-assessment"
        t0 = time.perf_counter()
        done = subprocess.run([str(exe), "migrate"], env=self.env(), capture_output=True, text=True, timeout=300)
        if done.returncode:
            raise RuntimeError(f"envgrid-assessment migrate failed:\n{done.stdout}\n{done.stderr}")
        migrate_s = time.perf_counter() - t0
        from assessment.models import grid_members, grid_view, inspections, meetings
        self.db = Database(self.db_url)
        meeting_rows, inspection_rows = dy.records_rows(area, self.args.year, self.args.seed)
        t0 = time.perf_counter()
        with self.db.transaction() as session:
            session.execute(insert(grid_view), area.grids)
            session.execute(insert(grid_members), area.members)
            session.execute(insert(meetings), meeting_rows)
            session.execute(insert(inspections), inspection_rows)
            session.execute(text("CREATE TABLE bench_raw_inbox (event_id varchar(36) PRIMARY KEY,"
                                 " event_type varchar(40) NOT NULL, processed_at timestamptz NOT NULL)"))
        print(f"database: {self.db_url.rsplit('/', 1)[-1]}: envgrid-assessment migrate {migrate_s:.1f} s; "
              f"filled directly in {time.perf_counter() - t0:.1f} s: grid_view {len(area.grids):,} rows "
              f"(levels 1-5), grid_members {len(area.members):,}, meetings {len(meeting_rows):,}, "
              f"inspections {len(inspection_rows):,}", flush=True)

    def declare_queues(self) -> None:
        """Assessment's queues as its worker declares them, and the raw queues bound to the same keys."""
        import pika
        from servicekit import topology
        from servicekit.probe import PROBE_SENT
        from assessment.bootstrap import SPEC
        settings = self.settings()
        connection = pika.BlockingConnection(pika.URLParameters(self.args.amqp_url))
        try:
            channel = connection.channel()
            topology.declare_consumer_queues(channel, settings, {PROBE_SENT, *SPEC.handlers})
            if not self.args.skip_raw:
                for queue in self.raw_queues.values():
                    channel.queue_declare(queue, durable=True, arguments={"x-queue-type": "quorum"})
                    self.raw_declared.append(queue)
                    for key in dy.EVENT_TYPES:
                        channel.queue_bind(queue, settings.events_exchange, routing_key=key)
        finally:
            connection.close()

    def queue_depth(self, queue: str) -> int:
        import pika
        connection = pika.BlockingConnection(pika.URLParameters(self.args.amqp_url))
        try:
            return connection.channel().queue_declare(queue, passive=True).method.message_count
        finally:
            connection.close()

    def delete_raw_queues(self) -> None:
        import pika
        if not self.raw_declared:
            return
        connection = pika.BlockingConnection(pika.URLParameters(self.args.amqp_url))
        try:
            channel = connection.channel()
            for queue in self.raw_declared:
                channel.queue_delete(queue)
        finally:
            connection.close()
        self.raw_declared = []

    # -- publishing --------------------------------------------------------------------------
    def publish(self, stream, count: int, tally: dy.Tally, checked: collections.Counter) -> dict:
        """Take `count` records from `stream`, tally them, publish them in confirmed batches."""
        from servicekit.events import registry
        from servicekit.publisher import ConfirmingPublisher, OutgoingMessage
        publisher = ConfirmingPublisher(self.namespace.settings("bench"), confirm_timeout=60.0, name="bench")
        sent, publish_s, t_start, batch = 0, 0.0, time.perf_counter(), []
        try:
            def flush():
                nonlocal publish_s
                t0 = time.perf_counter()
                answers = publisher.publish_batch(batch)
                publish_s += time.perf_counter() - t0
                refused = [v for v in answers.values() if v is not None]
                if refused or len(answers) != len(batch):
                    raise RuntimeError(f"broker refused {len(refused)} of {len(batch)}: {refused[:3]}")
                batch.clear()
            for record in stream:
                tally.apply(record)
                envelope = dy.envelope(record)
                if checked[envelope.type] < 200:  # the producer's strict check, on a sample of each type
                    registry.validate_outgoing(envelope.type, envelope.version, envelope.data)
                    checked[envelope.type] += 1
                batch.append(OutgoingMessage(envelope.id, envelope.type, envelope.to_json().encode()))
                sent += 1
                if len(batch) >= self.args.publish_batch:
                    flush()
                if sent >= count:
                    break
            if batch:
                flush()
        finally:
            publisher.close()
        return {"sent": sent, "publish_s": publish_s, "wall_s": time.perf_counter() - t_start}

    # -- raw baselines -------------------------------------------------------------------------
    def raw_drain(self, mode: str, expected: int) -> dict:
        from sqlalchemy.engine import make_url
        prefetch = self.settings().consumer_prefetch
        pg = make_url(self.db_url).set(drivername="postgresql").render_as_string(hide_password=False)
        cmd = [sys.executable, str(HERE / "raw_consume.py"), self.args.amqp_url, self.raw_queues[mode],
               str(prefetch), str(expected), str(self.args.drain_timeout), mode, pg]
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                start_new_session=True)
        self.children.append(proc)
        ready = proc.stdout.readline()
        if not ready.strip():
            raise RuntimeError(f"raw consumer ({mode}) did not start: {proc.stderr.read()[-2000:]}")
        out, err = proc.communicate(timeout=self.args.drain_timeout + 60)
        self.children.remove(proc)
        if proc.returncode:
            raise RuntimeError(f"raw consumer ({mode}) failed: {err[-2000:]}")
        result = json.loads(out.strip().splitlines()[-1])
        if result["count"] < expected:
            raise RuntimeError(f"raw consumer ({mode}) got {result['count']}/{expected}")
        return result

    # -- the worker ----------------------------------------------------------------------------
    def start_worker(self) -> None:
        self.before_worker = self.backend_pids()  # this process's own connections, not the worker's
        self.worker_port = benchlib.free_port()
        env = {**self.env(), "WORKER_METRICS_PORT": str(self.worker_port)}
        log = open(self.tmp / "worker.log", "ab")
        self.worker = subprocess.Popen([sys.executable, "-m", "assessment.worker"], env=env, stdout=log,
                                       stderr=subprocess.STDOUT, start_new_session=True,
                                       cwd=str(REPO / "services" / "assessment"))
        log.close()
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            self.check_worker()
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{self.worker_port}/readyz", timeout=1) as resp:
                    if resp.status == 200:
                        return
            except OSError:
                pass
            time.sleep(0.05)
        raise RuntimeError(f"worker not ready within 60 s:\n{self.worker_log()}")

    def worker_log(self) -> str:
        try:
            return (self.tmp / "worker.log").read_text(errors="replace")[-3000:]
        except OSError:
            return ""

    def check_worker(self) -> None:
        if self.worker is not None and self.worker.poll() is not None:
            raise RuntimeError(f"worker exited with {self.worker.returncode}:\n{self.worker_log()}")

    def stop_worker(self) -> None:
        proc, self.worker = self.worker, None
        benchlib.stop_groups([proc], 30)

    def backend_pids(self) -> set[int]:
        from sqlalchemy import text
        with self.db.engine.connect() as conn:
            return set(conn.execute(text("SELECT pid FROM pg_stat_activity WHERE datname = current_database()"
                                         " AND pid <> pg_backend_pid()")).scalars())

    def inbox_count(self, conn) -> int:
        from sqlalchemy import text
        value = conn.execute(text("SELECT count(*) FROM inbox")).scalar()
        conn.commit()
        return value

    def drain(self, expected_total: int, label: str, spy_seconds: int = 0) -> dict:
        """Wait until the inbox holds `expected_total` events; sample CPU on the way."""
        from sqlalchemy import text
        mine = self.before_worker  # the worker's connections may predate the drain (relay, timers)
        rabbit = pids_named("beam.smp")
        cpu0 = {"worker": proc_cpu(self.worker.pid), "rabbitmq": sum(proc_cpu(p) for p in rabbit)}
        machine0, wall0 = machine_cpu(), time.time()
        deadline = time.monotonic() + self.args.drain_timeout
        last_print, spy, spy_out = time.monotonic(), None, self.tmp / "pyspy.txt"
        backends: dict[int, float] = {}
        with self.db.engine.connect() as conn:
            start_count = self.inbox_count(conn)
            while True:
                count = self.inbox_count(conn)
                for pid in self.backend_pids() - mine:  # the worker's connections (cumulative CPU)
                    backends[pid] = proc_cpu(pid) or backends.get(pid, 0.0)
                if count >= expected_total:
                    break
                self.check_worker()
                if time.monotonic() > deadline:
                    raise RuntimeError(f"{label}: only {count:,}/{expected_total:,} applied after "
                                       f"{self.args.drain_timeout:.0f} s\n{self.worker_log()}")
                if spy_seconds and spy is None and count - start_count > 2000:
                    exe = shutil.which("py-spy", path=str(Path(sys.executable).parent)) or shutil.which("py-spy")
                    if exe:
                        spy = subprocess.Popen([exe, "record", "--pid", str(self.worker.pid), "--format", "raw",
                                                "--rate", "100", "--gil", "--nonblocking", "--duration",
                                                str(spy_seconds), "--output", str(spy_out)],
                                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                               start_new_session=True)
                        self.children.append(spy)
                    else:
                        print("  --py-spy: py-spy not found; skipped")
                        spy_seconds = 0
                if time.monotonic() - last_print > 15:
                    elapsed = time.time() - wall0
                    print(f"  {label}: {count - start_count:,} applied in {elapsed:.0f} s "
                          f"({(count - start_count) / elapsed:,.0f}/s), loadavg {benchlib.loadavg()}", flush=True)
                    last_print = time.monotonic()
                time.sleep(0.5)
            wall1 = time.time()
            first, last, rows = conn.execute(text(
                "SELECT min(processed_at), max(processed_at), count(*) FROM"
                " (SELECT processed_at FROM inbox ORDER BY processed_at OFFSET :skip) AS t"),
                {"skip": start_count}).one()
        machine1 = machine_cpu()
        busy, idle, steal = (b - a for a, b in zip(machine0, machine1))
        result = {"rows": rows, "first": first.timestamp(), "last": last.timestamp(),
                  "worker_cpu_s": proc_cpu(self.worker.pid) - cpu0["worker"],
                  "postgres_cpu_s": sum(backends.values()),
                  "rabbitmq_cpu_s": sum(proc_cpu(p) for p in rabbit) - cpu0["rabbitmq"],
                  "wall_s": wall1 - wall0,
                  "machine_busy": busy / max(busy + idle + steal, 1), "machine_steal": steal / max(busy + idle + steal, 1)}
        if spy is not None:
            try:
                spy.wait(spy_seconds + 30)
            except subprocess.TimeoutExpired:
                os.killpg(spy.pid, signal.SIGKILL)
            self.children.remove(spy)
            result["pyspy"] = summarise_pyspy(spy_out) if spy_out.exists() else (
                "  no profile written: " + spy.stderr.read().decode(errors="replace")[-500:])
        return result

    # -- in-process consumer, checks and bulk fill --------------------------------------------
    def apply_in_process(self, stream, count: int, tally: dy.Tally) -> dict:
        """The kit's Consumer.process_batch (what the worker runs per batch) with the service's handlers,
        minus the broker: two thirds of the batches timed, the last third under cProfile."""
        from servicekit.consumer import Consumer
        from servicekit.db import Database
        from servicekit.events import registry
        from servicekit.probe import PROBE_SENT, handle_probe
        from assessment.bootstrap import SPEC
        settings = self.settings()
        sides = {}
        for name, handlers in (("service", SPEC.handlers),):  # more sides take turns (a prototype beside it)
            db = Database(self.db_url)
            sides[name] = {"db": db, "counter": StatementCounter(db.engine),
                           "consumer": Consumer(settings, db, registry, {PROBE_SENT: handle_probe, **handlers}),
                           "events": 0, "wall": 0.0, "cpu": 0.0, "statements": 0, "db_s": 0.0}
        bodies = []
        for record in stream:
            tally.apply(record)
            bodies.append(dy.envelope(record).to_json().encode())
            if len(bodies) >= count:
                break
        prefetch = settings.consumer_prefetch
        batches = [bodies[i:i + prefetch] for i in range(0, len(bodies), prefetch)]

        def apply(side, batch):
            outcomes = side["consumer"].process_batch([(b, 1) for b in batch])
            bad = [o for o, _ in outcomes if o.action != "processed"]
            if bad:
                raise RuntimeError(f"in-process consumer: {bad[:3]}")
        names = list(sides)
        for name, batch in zip(names, batches):  # warm-up batches (applied, not timed)
            apply(sides[name], batch)
        cut = len(names) + 2 * (len(batches) - len(names)) // 3
        for index, batch in enumerate(batches[len(names):cut]):
            side = sides[names[index % len(names)]]
            side["counter"].reset()
            t0, cpu0 = time.perf_counter(), time.process_time()
            apply(side, batch)
            side["wall"] += time.perf_counter() - t0
            side["cpu"] += time.process_time() - cpu0
            statements, db_s = side["counter"].reset()
            side["statements"] += statements
            side["db_s"] += db_s
            side["events"] += len(batch)
        profile = cProfile.Profile()
        profile.enable()
        for batch in batches[cut:]:  # the rest with the service's handlers, under cProfile
            apply(sides["service"], batch)
        profile.disable()
        for side in sides.values():
            side["db"].dispose()
        return {"events": len(bodies), "profile": profile, "profiled": sum(len(b) for b in batches[cut:]),
                "sides": {name: {k: v for k, v in side.items() if k not in ("db", "counter", "consumer")}
                          for name, side in sides.items()}}

    def check_against(self, tally: dy.Tally) -> dict:
        """Compare what the real consumer built with the replica's tally of the same events."""
        from sqlalchemy import select
        from assessment.models import COUNTERS, case_view, metrics, patrol_days
        assert tuple(COUNTERS) == dy.COUNTERS, "counters.py's COUNTERS changed: update district_year.COUNTERS"
        with self.db.transaction() as session:
            rows = {(r.grid_code, r.month): [getattr(r, c) for c in COUNTERS]
                    for r in session.execute(select(metrics)).all()}
            days = {(r.grid_code, r.day) for r in session.execute(select(patrol_days)).all()}
            cases = {r.case_id: (r.grid_code, r.state, int(r.due_at.timestamp()) if r.due_at else None)
                     for r in session.execute(select(case_view.c.case_id, case_view.c.grid_code, case_view.c.state,
                                                     case_view.c.due_at)).all()}
        return {"metrics_rows": len(rows), "metrics_equal": rows == tally.metrics,
                "metrics_diff": sum(1 for k in set(rows) | set(tally.metrics) if rows.get(k) != tally.metrics.get(k)),
                "patrol_days": len(days), "patrol_days_equal": days == tally.patrol_days,
                "cases": len(cases), "cases_equal": cases == tally.cases}

    def bulk_fill(self, full: dy.Tally, applied: dy.Tally) -> dict:
        """Add what the replica counted beyond `applied` (what the real consumer built) to the tables."""
        from sqlalchemy import text
        from sqlalchemy.dialects.postgresql import insert as pg_insert
        from servicekit.tables import utcnow
        from assessment.models import metrics
        now = utcnow()
        deltas = []
        for key, row in full.metrics.items():
            before = applied.metrics.get(key)
            delta = row if before is None else [a - b for a, b in zip(row, before)]
            if before is None or any(delta):
                deltas.append({"grid_code": key[0], "month": key[1], "updated_at": now,
                               **dict(zip(dy.COUNTERS, delta))})
        new_days = full.patrol_days - applied.patrol_days
        changed = {cid: v for cid, v in full.cases.items() if applied.cases.get(cid) != v}
        t0 = time.perf_counter()
        stmt = pg_insert(metrics)
        stmt = stmt.on_conflict_do_update(index_elements=["grid_code", "month"], set_={
            **{c: metrics.c[c] + stmt.excluded[c] for c in dy.COUNTERS}, "updated_at": stmt.excluded.updated_at})
        with self.db.transaction() as session:
            if deltas:
                session.execute(stmt, deltas)
            raw = session.connection().connection.driver_connection  # psycopg 3: COPY
            with raw.cursor() as cur:
                with cur.copy("COPY patrol_days (grid_code, day) FROM STDIN") as copy:
                    for grid, day in new_days:
                        copy.write_row((grid, day))
                cur.execute("CREATE TEMP TABLE bench_case_fill (case_id varchar(24), grid_code varchar(19),"
                            " state varchar(12), due_at timestamptz) ON COMMIT DROP")
                with cur.copy("COPY bench_case_fill (case_id, grid_code, state, due_at) FROM STDIN") as copy:
                    for cid, (grid, state, due) in changed.items():
                        copy.write_row((cid, grid, state, dy.utc(due) if due is not None else None))
            session.execute(text(
                "INSERT INTO case_view (case_id, grid_code, state, due_at, updated_at)"
                " SELECT case_id, grid_code, state, due_at, :now FROM bench_case_fill"
                " ON CONFLICT (case_id) DO UPDATE SET grid_code = EXCLUDED.grid_code, state = EXCLUDED.state,"
                " due_at = EXCLUDED.due_at, updated_at = EXCLUDED.updated_at"), {"now": now})
        return {"metrics_rows": len(deltas), "patrol_days": len(new_days), "cases": len(changed),
                "seconds": time.perf_counter() - t0}

    def analyze(self) -> float:
        from sqlalchemy import text
        t0 = time.perf_counter()
        with self.db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text("ANALYZE"))
        return time.perf_counter() - t0

    def table_sizes(self) -> dict[str, int]:
        from sqlalchemy import text
        with self.db.engine.connect() as conn:
            return {t: conn.execute(text(f"SELECT count(*) FROM {t}")).scalar()
                    for t in ("grid_metrics", "patrol_days", "case_view", "inbox", "grid_view", "grid_members",
                              "meetings", "inspections")}

    # -- clean-up ------------------------------------------------------------------------------
    def cleanup(self) -> None:
        errors = []
        steps = [("worker", self.stop_worker), ("children", self._stop_children),
                 ("raw queues", self.delete_raw_queues),
                 ("broker namespace", lambda: self.namespace.cleanup(("assessment",))),
                 ("database", self._drop_database)]
        for name, step in steps:
            try:
                step()
            except BaseException as exc:  # keep cleaning whatever happens (a second Ctrl-C included)
                errors.append(f"{name}: {exc!r}")
        shutil.rmtree(self.tmp, ignore_errors=True)
        for error in errors:
            print(f"cleanup problem: {error}", file=sys.stderr)

    def _stop_children(self) -> None:
        benchlib.stop_groups(self.children, 10)
        self.children.clear()

    def _drop_database(self) -> None:
        if self.db is not None:
            self.db.dispose()
        self.databases.drop_all()


# -- scoring --------------------------------------------------------------------------------------
def all_periods(year: int):
    from assessment.periods import Period
    return ([Period("month", year, m) for m in range(1, 13)] + [Period("quarter", year, q) for q in range(1, 5)]
            + [Period("year", year)])


def score_all(run: Run, rounds: int) -> list[dict]:
    from assessment import assess
    counter = StatementCounter(run.db.engine)
    out = []
    for round_ in range(1, rounds + 1):
        for period in all_periods(run.args.year):
            counter.reset()
            session = run.db.session()
            try:
                session.begin()
                t0 = time.perf_counter()
                set_id = assess.compute(session, period, None, "bench")
                t1 = time.perf_counter()
                statements, db_s = counter.reset()
                session.commit()
                t2 = time.perf_counter()
            finally:
                session.close()
            out.append({"round": round_, "period": period.key, "kind": period.kind, "compute_s": t1 - t0,
                        "commit_s": t2 - t1, "statements": statements, "db_s": db_s, "set": set_id})
    return out


SHIM_NOTE = ("assess._raise_flags does `_jsonable(flag['evidence']) | {'result_set': set_id}`, but a grade_streak "
             "flag's evidence (failing_twice in the default rules: 不合格 two months running) is a list, so "
             "close_month raises TypeError for any month in which a grid fails for the second time in a row. To "
             "time closing anyway, the bench retries such a month with assess._jsonable wrapped in this process "
             "only (a top-level list becomes {'history': [...]}); nothing else changes.")


class evidence_shim:
    """Bench-only: let _raise_flags merge a list evidence (see SHIM_NOTE). Patches this process only."""

    def __enter__(self):
        from assessment import assess
        self.original = assess._jsonable
        assess._jsonable = lambda value: ({"history": self.original(value)} if isinstance(value, list)
                                          else self.original(value))
        return self

    def __exit__(self, *exc):
        from assessment import assess
        assess._jsonable = self.original


def profile_scoring(run: Run) -> None:
    from assessment import assess
    from assessment.periods import Period
    from servicekit.identity import Identity
    who = Identity("bench", frozenset({"district_ops"}))
    counter = StatementCounter(run.db.engine)
    month = Period("month", run.args.year, 6)
    for title, call in ((f"compute({month.key})", lambda s: assess.compute(s, month, None, "bench")),
                        (f"compute({run.args.year})",
                         lambda s: assess.compute(s, Period("year", run.args.year), None, "bench")),
                        (f"close_month({month.key})", lambda s: assess.close_month(s, month.key, who))):
        for shim in (False, True):
            session = run.db.session()
            profile = cProfile.Profile()
            error = None
            try:
                session.begin()
                counter.reset()
                with (evidence_shim() if shim else contextlib.nullcontext()):
                    profile.enable()
                    try:
                        call(session)
                    except Exception as exc:  # noqa: BLE001 - reported, then retried with the shim
                        error = f"{type(exc).__name__}: {exc}"
                    finally:
                        profile.disable()
                statements, db_s = counter.reset()
            finally:
                session.rollback()
                session.close()
            if error:
                print(f"\n{title}: FAILED ({error}); profiled again with the bench shim")
                continue
            print_profile(profile, f"{title} (rolled back){' with the bench shim' if shim else ''}; "
                                   f"{statements:,} SQL statements, {db_s:.2f} s inside cursor.execute", top=14)
            break


def close_all(run: Run) -> list[dict]:
    from assessment import assess
    from assessment.periods import Period
    from servicekit.identity import Identity
    who = Identity("bench", frozenset({"district_ops"}))
    counter = StatementCounter(run.db.engine)
    out = []
    for m in range(1, 13):
        key = Period("month", run.args.year, m).key
        row: dict = {"period": key}
        for shim in (False, True):
            counter.reset()
            session = run.db.session()
            t0 = time.perf_counter()
            try:
                session.begin()
                with (evidence_shim() if shim else contextlib.nullcontext()):
                    answer = assess.close_month(session, key, who)
                t1 = time.perf_counter()
                statements, db_s = counter.reset()
                session.commit()
                t2 = time.perf_counter()
            except Exception as exc:  # noqa: BLE001 - reported, then retried with the shim
                session.rollback()
                row.update(error=f"{type(exc).__name__}: {str(exc)[:150]}", failed_s=time.perf_counter() - t0)
                continue
            finally:
                session.close()
            row.update(close_s=t1 - t0, commit_s=t2 - t1, statements=statements, db_s=db_s, shim=shim,
                       subsidy_lists=answer["subsidy_lists"], flags=answer["flags"])
            break
        out.append(row)
    return out


def grade_spread(run: Run, period_key: str) -> str:
    from sqlalchemy import func, select
    from assessment.models import result_sets, results
    with run.db.transaction() as session:
        set_id = session.execute(select(func.max(result_sets.c.id)).where(result_sets.c.period == period_key)).scalar()
        rows = session.execute(select(results.c.level, results.c.grade, func.count()).where(
            results.c.result_set == set_id).group_by(results.c.level, results.c.grade)).all()
    by_level = collections.defaultdict(dict)
    for level, grade, n in rows:
        by_level[level][grade] = n
    return "; ".join(f"level {lvl}: " + ", ".join(f"{g} {n}" for g, n in sorted(grades.items()))
                     for lvl, grades in sorted(by_level.items()))


# -- main ------------------------------------------------------------------------------------------
def header(args, run: Run) -> None:
    settings = run.settings()
    nproc = subprocess.run(["nproc"], capture_output=True, text=True).stdout.strip() or str(os.cpu_count())
    load = os.getloadavg()
    print("== assessment at district scale: a year ingested, every period scored ==")
    print(f"date: {time.strftime('%Y-%m-%d %H:%M:%S %Z')}")
    print(f"machine: nproc={nproc}; loadavg {benchlib.loadavg()}"
          + (" -- HIGH: the machine is shared and busy; every figure below is skewed by other work"
             if load[0] > 0.75 * int(nproc) else " (the machine may be shared: other work skews the figures)"))
    print("versions: " + ", ".join(f"{k} {v}" for k, v in benchlib.server_versions(args).items()))
    print(f"settings: consumer prefetch {settings.consumer_prefetch}"
          + (" (kit default)" if args.prefetch is None else " (--prefetch)")
          + f"; exchange {settings.events_exchange}; queue {settings.queue_name('events')} (quorum)")
    print(flush=True)


def main(argv=None) -> int:
    args = parse_args(argv)
    benchlib.install_sigterm()
    run = Run(args)
    try:
        header(args, run)
        t0 = time.perf_counter()
        area = dy.district()
        year = dy.Year(area, seed=args.seed, year=args.year, scale=args.scale)
        print(f"demo district generated in {time.perf_counter() - t0:.1f} s: {len(area.grids):,} grids, "
              f"{len(area.level4)} level-4 grids, {len(area.members):,} roles held", flush=True)
        run.setup(area)
        tally = dy.Tally(year)
        stream = year.records()
        checked = collections.Counter()

        # -- 1. the prefix through the broker -------------------------------------------------
        run.declare_queues()
        prefix = run.publish(stream, args.broker_events, tally, checked)
        m = prefix["sent"]
        events_queue = run.settings().queue_name("events")
        deadline = time.monotonic() + 60
        while run.queue_depth(events_queue) < m and time.monotonic() < deadline:
            time.sleep(0.2)
        print(f"\npublished the first {m:,} events of {args.year} (up to {dy.iso(tally.last_ts)})"
              f" with ConfirmingPublisher, batches of {args.publish_batch}: {fmt_rate(m, prefix['publish_s'])}/s "
              f"in publish_batch ({prefix['publish_s']:.1f} s), {fmt_rate(m, prefix['wall_s'])}/s with making "
              f"the envelopes ({prefix['wall_s']:.1f} s); contract checked strictly on "
              f"{sum(checked.values()):,} of them ({', '.join(f'{k} {v}' for k, v in sorted(checked.items()))})",
              flush=True)
        raw = {}
        if not args.skip_raw:
            for mode in ("ack", "insert"):
                raw[mode] = run.raw_drain(mode, m)
                r = raw[mode]
                print(f"raw pika {mode:<6}: {r['count']:,} in {r['last'] - r['first']:.1f} s = "
                      f"{fmt_rate(r['count'], r['last'] - r['first'])}/s (consumer CPU {r['cpu_s']:.1f} s)", flush=True)
            run.delete_raw_queues()
        print("assessment worker (python -m assessment.worker) draining the same messages ...", flush=True)
        run.start_worker()
        drained = run.drain(m, "worker", args.py_spy)
        span = drained["last"] - drained["first"]
        rate = drained["rows"] / span if span > 0 else float("nan")
        print(f"worker: {drained['rows']:,} applied in {span:.1f} s = {rate:,.0f} events/s", flush=True)
        projected = MILLION / rate

        # -- 2. the rest of the year -----------------------------------------------------------
        inproc = check = fill = None
        through_broker = m
        if projected <= args.broker_budget_s:
            print(f"1,000,000 events at {rate:,.0f}/s = {projected:.0f} s <= {args.broker_budget_s:.0f} s: "
                  f"the rest of the year goes through the broker too", flush=True)
            rest = run.publish(stream, 10 ** 9, tally, checked)
            through_broker += rest["sent"]
            whole = run.drain(through_broker, "worker (rest)")
            drained["rest"] = whole
            run.stop_worker()
        else:
            run.stop_worker()
            print(f"1,000,000 events at {rate:,.0f}/s would take {projected / 60:.0f} min > "
                  f"{args.broker_budget_s / 60:.0f} min: the rest of the year is bulk-filled", flush=True)
            if args.inprocess_events:
                inproc = run.apply_in_process(stream, args.inprocess_events, tally)
            applied = tally.snapshot()
            check = run.check_against(applied)
            for record in stream:
                tally.apply(record)
            fill = run.bulk_fill(tally, applied)
        analyze_s = run.analyze()
        sizes = run.table_sizes()

        report_ingest(args, tally, m, through_broker, raw, drained, inproc, check, fill, analyze_s, sizes)

        # -- 3. scoring ------------------------------------------------------------------------
        print("\nscoring ...", flush=True)
        scored = score_all(run, args.rounds)
        report_scoring(args, scored)
        profile_scoring(run)
        closed = close_all(run)
        report_closing(args, run, closed)
        print(f"\nloadavg at the end: {benchlib.loadavg()}")
        return 0
    except KeyboardInterrupt:
        print("\ninterrupted: cleaning up", file=sys.stderr)
        return 130
    finally:
        run.cleanup()


def report_ingest(args, tally, m, through_broker, raw, drained, inproc, check, fill, analyze_s, sizes) -> None:
    total = tally.events
    print("\n== ingest ==")
    print(f"the year: {total:,} events ({'>=' if total >= MILLION else 'FEWER THAN'} 1,000,000); "
          f"{through_broker:,} through RabbitMQ and the worker"
          + (f", {inproc['events']:,} by Consumer.process_batch in process, "
             f"{total - through_broker - inproc['events']:,} bulk-filled" if fill and inproc else
             (f", {total - through_broker:,} bulk-filled" if fill else "")))
    span = drained["last"] - drained["first"]
    print(f"\n{'consumer of the same ' + format(m, ',') + ' messages':<58}{'events/s':>10}{'seconds':>9}"
          f"{'CPU ms/1k':>11}")
    if raw:
        for mode, label in (("ack", "raw pika, ack only"), ("insert", "raw pika + 1 INSERT/message, COMMIT/batch")):
            r = raw[mode]
            s = r["last"] - r["first"]
            print(f"{label:<58}{fmt_rate(r['count'], s):>10}{s:>9.1f}{1e6 * r['cpu_s'] / r['count']:>11.0f}")
    print(f"{'assessment worker (inbox first -> last applied)':<58}{fmt_rate(drained['rows'], span):>10}{span:>9.1f}"
          f"{1e6 * drained['worker_cpu_s'] / drained['rows']:>11.0f}")
    if raw:
        print(f"worker / raw ack = {(drained['rows'] / span) / (raw['ack']['count'] / (raw['ack']['last'] - raw['ack']['first'])):.3f}; "
              f"worker / raw+insert = {(drained['rows'] / span) / (raw['insert']['count'] / (raw['insert']['last'] - raw['insert']['first'])):.3f}")
    w = drained
    print(f"CPU during the worker's drain ({w['wall_s']:.0f} s wall): worker process {w['worker_cpu_s']:.0f} s "
          f"({100 * w['worker_cpu_s'] / w['wall_s']:.0f}% of one core), its PostgreSQL backends "
          f"{w['postgres_cpu_s']:.0f} s ({100 * w['postgres_cpu_s'] / w['wall_s']:.0f}%), RabbitMQ (every beam.smp, "
          f"shared) {w['rabbitmq_cpu_s']:.0f} s; the machine's two cores {100 * w['machine_busy']:.0f}% busy "
          f"(everyone's work), steal {100 * w['machine_steal']:.0f}%")
    if "rest" in drained:
        r = drained["rest"]
        print(f"rest of the year through the broker: {r['rows']:,} in {r['last'] - r['first']:.0f} s = "
              f"{fmt_rate(r['rows'], r['last'] - r['first'])}/s")
    print(f"a million events at the worker's rate: {MILLION / (drained['rows'] / span) / 60:.1f} min")
    if "pyspy" in drained:
        print(f"\npy-spy on the worker during the drain ({args.py_spy} s):\n{drained['pyspy']}")
    if inproc:
        print(f"\nin process, Consumer.process_batch (the worker's code, no broker) on the next {inproc['events']:,} "
              f"events, batches of the prefetch, the service's handlers, no profiler:")
        print(f"  {'handlers':<10}{'events':>8}{'events/s':>10}{'us/event':>10}{'CPU us':>8}{'SQL/event':>11}"
              f"{'us in SQL':>11}")
        for name, side in inproc["sides"].items():
            n = side["events"]
            if n:
                print(f"  {name:<10}{n:>8,}{n / side['wall']:>10,.0f}{1e6 * side['wall'] / n:>10.0f}"
                      f"{1e6 * side['cpu'] / n:>8.0f}{side['statements'] / n:>11.1f}{1e6 * side['db_s'] / n:>11.0f}")
        print_profile(inproc["profile"], f"Consumer.process_batch with the service's handlers, the last "
                                         f"{inproc['profiled']:,} of those events", top=16)
    if check:
        ok = check["metrics_equal"] and check["patrol_days_equal"] and check["cases_equal"]
        print(f"\nbulk-fill replica vs what the real consumer built from the same events: "
              f"grid_metrics {check['metrics_rows']:,} rows {'equal' if check['metrics_equal'] else 'DIFFER (' + str(check['metrics_diff']) + ')'}, "
              f"patrol_days {check['patrol_days']:,} {'equal' if check['patrol_days_equal'] else 'DIFFER'}, "
              f"case_view {check['cases']:,} {'equal' if check['cases_equal'] else 'DIFFER'}"
              + ("" if ok else "  <-- MISMATCH: the bulk-filled part is not what the consumer would build"))
    if fill:
        print(f"bulk fill: grid_metrics {fill['metrics_rows']:,} rows added to (upsert), patrol_days +{fill['patrol_days']:,}, "
              f"case_view {fill['cases']:,} upserted, in {fill['seconds']:.1f} s")
    print(f"ANALYZE {analyze_s:.1f} s; tables: " + ", ".join(f"{k} {v:,}" for k, v in sizes.items()))



def report_scoring(args, scored) -> None:
    print("\n== scoring (in process; each period in its own transaction) ==")
    print(f"{'period':<9}" + "".join(f"{'round ' + str(r) + ' s':>12}" for r in range(1, args.rounds + 1))
          + f"{'commit s':>10}{'SQL stmts':>11}{'in SQL s':>10}")
    by_period = collections.defaultdict(list)
    for row in scored:
        by_period[row["period"]].append(row)
    for key, rows in by_period.items():
        last = rows[-1]
        print(f"{key:<9}" + "".join(f"{r['compute_s']:>12.2f}" for r in rows)
              + f"{last['commit_s']:>10.2f}{last['statements']:>11,}{last['db_s']:>10.2f}")
    for r in range(1, args.rounds + 1):
        rows = [x for x in scored if x["round"] == r]
        months = [x["compute_s"] + x["commit_s"] for x in rows if x["kind"] == "month"]
        total_s = sum(x["compute_s"] + x["commit_s"] for x in rows)
        print(f"round {r}: all 17 periods {total_s:.1f} s (with commits); months: max {max(months):.2f} s, "
              f"mean {sum(months) / len(months):.2f} s; quarters {sum(x['compute_s'] + x['commit_s'] for x in rows if x['kind'] == 'quarter'):.1f} s; "
              f"year {sum(x['compute_s'] + x['commit_s'] for x in rows if x['kind'] == 'year'):.2f} s")
    worst = max(x["compute_s"] + x["commit_s"] for x in scored if x["kind"] == "month")
    print(f"target: a month scored (compute + commit) in under {MONTH_TARGET_S:.0f} s: "
          f"{'met' if worst < MONTH_TARGET_S else 'NOT met'} (worst month of all rounds {worst:.2f} s)")


def report_closing(args, run, closed) -> None:
    print("\nclose_month (scores + subsidy lists + flags), each month in order:")
    print(f"{'month':<9}{'close s':>9}{'commit s':>10}{'SQL stmts':>11}{'in SQL s':>10}{'subsidy lists':>15}"
          f"{'flags':>7}  as the service has it")
    shimmed = False
    for c in closed:
        if c.get("error"):
            print(f"{c['period']:<9}{'FAILED':>9} after {c['failed_s']:.2f} s: {c['error']}")
        if "close_s" in c:
            mark = "  (bench shim for the failure above, see below)" if c.get("shim") else ""
            shimmed = shimmed or c.get("shim", False)
            print(f"{c['period']:<9}{c['close_s']:>9.2f}{c['commit_s']:>10.2f}{c['statements']:>11,}{c['db_s']:>10.2f}"
                  f"{c['subsidy_lists']:>15}{c['flags']:>7}{mark}")
    timed = [c for c in closed if "close_s" in c]
    if timed:
        worst_close = max(c["close_s"] + c["commit_s"] for c in timed)
        print(f"closing all 12 months: {sum(c['close_s'] + c['commit_s'] for c in timed):.1f} s; worst month "
              f"{worst_close:.2f} s ({'under' if worst_close < MONTH_TARGET_S else 'OVER'} {MONTH_TARGET_S:.0f} s)")
    if shimmed:
        print(f"shim: {SHIM_NOTE}")
    print(f"grades of {args.year}-06 (last result set): {grade_spread(run, f'{args.year}-06')}")


if __name__ == "__main__":
    sys.exit(main())
