#!/usr/bin/env python
"""Dispatch at scale: one SLA timer sweep over 100,000 open cases, and report -> assigned latency.

Part "sweep" (in process, PostgreSQL): a throwaway database migrated with
`envgrid-dispatch migrate`; a synthetic grid tree (1 district, 8 towns, 80 villages,
800 grids, two people each) in the grid read model; 100,000 open cases (state
assigned, level 4 or 3) with their history (create + assign, hash-chained), their
report and their three SLA timers (warn_50, warn_75, breach: those already past are
fired, the rest in the future), loaded with COPY and VACUUM ANALYZEd. Then, per entry
of --due: N chosen cases get one timer due now (warn_50, warn_75 or breach, --mix;
the earlier ones already fired) and `dispatch.timers.sweep_sla(settings, db)` runs once
in this process: seconds per sweep, ms per fired timer, SQL statements, events written
to the outbox; then --idle-sweeps sweeps that find nothing due (the steady state, every
SLA_SWEEP_S = 5 s), with EXPLAIN (ANALYZE, BUFFERS) of the very statement the sweep ran.
Last, --closed-history closed cases whose unfired timers were cancelled when they were
handled (what a year of normal work leaves behind; nothing deletes them) and the idle
sweep again (the live-timer index keeps them out of its way).

Part "latency" (through the broker): the dispatch worker as production starts it
(`python -m dispatch.worker`, consumer + relay + timers) on a fresh database with the
same grid tree, private exchange and queue names (servicekit.testing.BrokerNamespace)
and REGISTRY_URL pointing to a stub registry (a process of its own answering
GET /api/v1/registry/locate with a fixed-shape 4-level chain, as the registry's
locating.py does, plus /categories from the registry's default catalogue). This
process publishes incident.reported envelopes (servicekit.events.new_envelope, data
per envgrid_contracts.incident.IncidentReported, reported_at = publish time) straight
to the exchange with servicekit.publisher.ConfirmingPublisher on a fixed schedule
(--rate, --duration). Latency = cases.assigned_at (the handler's clock, inside its
transaction) - publish start; also publish -> inbox claim, and publish -> the
case.assigned event seen on a queue of ours bound to the exchange (after commit,
outbox relay and broker). Baseline in the same run: raw pika at the same rate
(BlockingConnection, confirm_delivery, persistent, quorum queue; consumer in its own
process, manual ack): publish start -> delivery.

Everything (processes, databases, exchanges and queues) is removed at the end, on
Ctrl-C and SIGTERM too. Prints figures; asserts nothing about timing.
"""
from __future__ import annotations

import argparse
import collections
import json
import multiprocessing
import os
import platform
import random
import re
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
import urllib.request
import uuid
from datetime import datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from benchlib import free_port, install_sigterm, loadavg, summary_ms, wait_answering

BENCH_DIR = Path(__file__).resolve().parent
REPO_ROOT = BENCH_DIR.parent
VENV_BIN = REPO_ROOT / ".venv" / "bin"
DEFAULT_DATABASE_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
DEFAULT_AMQP_URL = "amqp://guest:guest@127.0.0.1:5672/%2F"
UTC = timezone.utc
KINDS = ("warn_50", "warn_75", "breach")  # the order they fall due in (v1 policy: warn at 50 % and 75 %)
GENESIS = "0" * 64


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    parser.add_argument("--part", choices=("sweep", "latency", "all"), default="all")
    parser.add_argument("--database-url", default=os.environ.get("DATABASE_URL") or DEFAULT_DATABASE_URL,
                        help="PostgreSQL server; throwaway databases are created on it and dropped at the end")
    parser.add_argument("--amqp-url", default=os.environ.get("AMQP_URL") or DEFAULT_AMQP_URL)
    parser.add_argument("--seed", type=int, default=2026)
    g = parser.add_argument_group("sweep")
    g.add_argument("--cases", type=int, default=100_000, help="open cases (3 timers each)")
    g.add_argument("--due", default="1000,10000", help="timers made due now, one sweep per entry")
    g.add_argument("--mix", default="1:1:1", help="share of due timers that are warn_50:warn_75:breach")
    g.add_argument("--idle-sweeps", type=int, default=30, help="sweeps timed with nothing due")
    g.add_argument("--closed-history", type=int, default=100_000,
                   help="closed cases with cancelled, never-fired timers added at the end (0: skip)")
    g = parser.add_argument_group("latency")
    g.add_argument("--rate", type=float, default=50.0, help="reports per second")
    g.add_argument("--duration", type=float, default=40.0, help="seconds measured (after the warm-up)")
    g.add_argument("--warmup", type=float, default=3.0, help="seconds published first, not measured")
    g.add_argument("--skip-raw", action="store_true", help="no raw pika baseline")
    g.add_argument("--workers", type=int, default=1, help="dispatch worker processes (competing consumers)")
    g.add_argument("--split-relay", action="store_true",
                   help="run the outbox relay in a process of its own (WORKER_JOBS=relay) beside the workers "
                        "(WORKER_JOBS=consumer,timers)")
    g.add_argument("--sweep-backlog", type=int, default=0,
                   help="N: N open cases loaded beforehand get a timer due when the measured window starts, so "
                        "the worker's SLA sweep fires N timers while reports arrive (0: none)")
    g.add_argument("--profile-handler", type=int, default=300,
                   help="afterwards, apply this many reports in this process (no broker) to split the handler's time")
    g.add_argument("--keep-log", action="store_true", help="keep the worker's and the stub's logs")
    parser.add_argument("--serve-stub", type=int, default=None, help=argparse.SUPPRESS)  # internal
    return parser.parse_args(argv)


# -- small helpers ------------------------------------------------------------------
def fmt_stats(name: str, s: dict, width: int = 46) -> str:
    return (f"  {name:<{width}} n={s['n']:>5}  p50 {s['p50']:8.2f}  p95 {s['p95']:8.2f}  p99 {s['p99']:8.2f}"
            f"  max {s['max']:8.2f}  mean {s['mean']:8.2f} ms")


def nproc() -> int:
    try:
        return int(subprocess.run(["nproc"], capture_output=True, text=True).stdout.strip())
    except (OSError, ValueError):
        return os.cpu_count() or 1


def load_note() -> str:
    one = os.getloadavg()[0]
    n = nproc()
    if one > n:
        return f"loadavg {loadavg()} on {n} cores: HIGH, other work competes for the CPU and the figures suffer"
    return f"loadavg {loadavg()} on {n} cores"


def psycopg_url(url: str) -> str:
    from sqlalchemy.engine import make_url
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def proc_cpu_s(pid: int) -> float:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return float("nan")


class Cleanup:
    """Undo steps run last-in first-out, every one of them whatever happens (a second Ctrl-C included)."""

    def __init__(self):
        self.steps: list[tuple[str, callable]] = []

    def push(self, name: str, fn) -> None:
        self.steps.append((name, fn))

    def run(self) -> None:
        while self.steps:
            name, fn = self.steps.pop()
            try:
                fn()
            except BaseException as exc:  # noqa: BLE001 - keep cleaning
                print(f"cleanup problem ({name}): {exc!r}", file=sys.stderr)


def header(args) -> None:
    import pika
    import sqlalchemy
    from servicekit.db import normalise_url
    print("== dispatch_bench ==")
    print(f"date: {time.strftime('%Y-%m-%d %H:%M:%S %Z')}")
    print(f"machine: {platform.node()} nproc={nproc()} ({platform.machine()}, {platform.system()} "
          f"{platform.release()}); {load_note()}")
    versions = {"python": platform.python_version(), "pika": pika.__version__, "sqlalchemy": sqlalchemy.__version__}
    try:
        connection = pika.BlockingConnection(pika.URLParameters(args.amqp_url))
        version = connection._impl.server_properties.get("version")  # noqa: SLF001
        versions["rabbitmq"] = version.decode() if isinstance(version, bytes) else str(version)
        connection.close()
    except Exception as exc:  # noqa: BLE001
        versions["rabbitmq"] = f"unreachable ({exc!r})"
    try:
        engine = sqlalchemy.create_engine(normalise_url(args.database_url))
        with engine.connect() as conn:
            versions["postgresql"] = conn.exec_driver_sql("SHOW server_version").scalar()
            versions["synchronous_commit"] = conn.exec_driver_sql("SHOW synchronous_commit").scalar()
            versions["shared_buffers"] = conn.exec_driver_sql("SHOW shared_buffers").scalar()
        engine.dispose()
    except Exception as exc:  # noqa: BLE001
        versions["postgresql"] = f"unreachable ({exc!r})"
    print("versions: " + ", ".join(f"{k} {v}" for k, v in versions.items()))
    try:
        head = subprocess.run(["git", "-C", str(REPO_ROOT), "rev-parse", "--short", "HEAD"],
                              capture_output=True, text=True, timeout=5).stdout.strip()
        dirty = [line[3:] for line in subprocess.run(
            ["git", "-C", str(REPO_ROOT), "status", "--porcelain", "services/dispatch", "libs/servicekit/servicekit",
             "libs/gridview", "libs/contracts"], capture_output=True, text=True, timeout=5).stdout.splitlines()
            if line.strip()]
        print(f"code: HEAD {head}" + (f", uncommitted changes in the work tree: {' '.join(dirty)}"
                                      if dirty else ", dispatch/servicekit/gridview/contracts as committed"))
    except Exception:  # noqa: BLE001
        print("code: git unavailable")
    print(flush=True)


# -- database set-up shared by both parts ---------------------------------------------------
def migrate(url: str, tmp: Path) -> None:
    """`envgrid-dispatch migrate` (the console script), as a deployment runs it."""
    env = {k: v for k, v in os.environ.items() if not k.endswith("DATABASE_URL")}
    env["DATABASE_URL"] = url
    result = subprocess.run([str(VENV_BIN / "envgrid-dispatch"), "migrate"], env=env, cwd=str(tmp),
                            capture_output=True, text=True, timeout=300)
    if result.returncode != 0:
        raise RuntimeError(f"envgrid-dispatch migrate failed:\n{result.stdout}{result.stderr}")


def tree_codes(towns: int = 8, villages: int = 10, grids: int = 10) -> dict[int, list[str]]:
    district = "140502"
    levels = {1: [district], 2: [], 3: [], 4: []}
    for t in range(1, towns + 1):
        town = f"{district}{t:03d}"
        levels[2].append(town)
        for v in range(1, villages + 1):
            village = f"{town}{v:03d}"
            levels[3].append(village)
            for g in range(1, grids + 1):
                levels[4].append(f"{village}{g:03d}")
    return levels


def load_tree(pg_url: str, levels: dict[int, list[str]]) -> int:
    """The grid read model as the registry's events would have filled it, with a leader and a member per grid."""
    import psycopg
    kinds = {1: "district", 2: "subdistrict", 3: "community", 4: "area"}
    names = {1: "区", 2: "街道", 3: "社区", 4: "网格"}
    membership = 0
    with psycopg.connect(pg_url) as conn:
        with conn.cursor().copy("COPY grid_view (code, name, level, parent_code, kind, status, version) "
                                "FROM STDIN") as copy:
            for level, codes in levels.items():
                for code in codes:
                    parent = None if level == 1 else code[:len(code) - 3]
                    copy.write_row((code, f"{code[-3:]}{names[level]}", level, parent, kinds[level], "active", 1))
        with conn.cursor().copy("COPY grid_members (membership_id, grid_code, person_id, name, phone, role, leads, "
                                "removed) FROM STDIN") as copy:
            for level, codes in levels.items():
                for code in codes:
                    for role, leads in ((("chief" if level == 1 else "leader"), True),
                                        (("deputy_chief" if level == 1 else
                                          "grid_member" if level == 4 else "deputy_leader"), False)):
                        membership += 1
                        copy.write_row((membership, code, f"P{membership:07d}", f"张{membership}",
                                        f"139{membership:08d}", role, leads, False))
    return membership


# Categories the stub registry serves and the cases use: (code, first level) from the registry's defaults.
def default_categories() -> list[dict]:
    from grid_registry.defaults import CATEGORIES
    return [{"code": c, "name": n, "name_en": e, "group": g, "first_level": lvl, "department_code": d,
             "active": True} for c, n, e, g, lvl, d in CATEGORIES]


# -- part 1: the SLA timer sweep ------------------------------------------------------------
def history_entry(case_id, seq, action, from_state, to_state, grid_code, at, details, previous):
    from dispatch import chain
    entry = {"case_id": case_id, "seq": seq, "action": action, "from_state": from_state, "to_state": to_state,
             "actor": "system", "role": "district_ops", "grid_code": grid_code, "at": at.isoformat(),
             "note": None, "evidence": [], "details": details}
    entry["previous_hash"] = previous
    entry["hash"] = chain.entry_hash(entry, previous)
    return entry


def load_open_cases(pg_url: str, count: int, levels: dict[int, list[str]], rng: random.Random,
                    now: datetime) -> dict:
    """`count` assigned cases with history, report and three timers each; timers already past are fired.

    No timer is left due within [now - 1 min, now + 3 h] (resampled), so none falls due
    by itself while the bench runs: only the ones make_due() chooses are due.
    """
    import psycopg
    cats = default_categories()
    cats_by_level = {4: [c["code"] for c in cats if c["first_level"] == 4 and c["group"] == "field"],
                     3: [c["code"] for c in cats if c["first_level"] == 3]}
    counts = collections.Counter()
    cases_rows, incident_rows, history_rows, timer_rows = [], [], [], []
    for i in range(count):
        level = 4 if rng.random() < 0.7 else 3
        grid = rng.choice(levels[level])
        span = timedelta(hours=24 if level == 4 else 48)  # v1: one working day at level 4, two at level 3
        while True:
            start = now - span * rng.uniform(0.0, 0.95)
            marks = [(kind, start + span * p) for kind, p in zip(KINDS, (0.5, 0.75, 1.0))]
            if not any(now - timedelta(minutes=1) <= when <= now + timedelta(hours=3) for _, when in marks):
                break
        case_id = f"CBENCH{i:08d}"  # never like a real id (C + date + 6), so make_due() picks only these
        incident_id = f"RBENCH{i:08d}"
        category = rng.choice(cats_by_level[level])
        due = marks[-1][1]
        created = start - timedelta(seconds=1)
        lon, lat = 112.80 + rng.random() * 0.2, 35.45 + rng.random() * 0.1
        cases_rows.append((case_id, "assigned", grid, level, category, "public_web", "normal", "general", False,
                           False, 1, start, due, None, 0, 0, lon, lat, "合成地址", False, None, None, None, None,
                           None, False, incident_id, 3, created, start, None))
        incident_rows.append((incident_id, case_id, created))
        h1 = history_entry(case_id, 1, "create", None, "new", None, created,
                           {"incident_id": incident_id, "channel": "public_web", "grid_hint": None}, GENESIS)
        h2 = history_entry(case_id, 2, "assign", "new", "assigned", grid, start,
                           {"why": f"level {level} by channel and category", "due_at": due.isoformat(),
                            "leaders": [{"person_id": "P", "name": "张", "phone": "139", "role": "leader"}]},
                           h1["hash"])
        for h in (h1, h2):
            history_rows.append((h["case_id"], h["seq"], h["action"], h["from_state"], h["to_state"], h["actor"],
                                 h["role"], h["grid_code"], h["at"], None, "[]", json.dumps(h["details"],
                                                                                          ensure_ascii=False),
                                 h["previous_hash"], h["hash"]))
        for kind, when in marks:
            fired = when + timedelta(seconds=2) if when < now else None
            counts["fired" if fired else "pending"] += 1
            timer_rows.append((case_id, kind, when, fired, False))
    with psycopg.connect(pg_url) as conn:
        for table, columns, rows in (
                ("cases", "case_id, state, grid_code, level, category, channel, severity, supervision, major, "
                          "emergency, policy_version, assigned_at, due_at, paused_at, rework_count, escalations, "
                          "lon, lat, address, outside_district, flagged, city, department_code, referred_to, "
                          "verified_true, handled_on_spot, first_incident, version, created_at, updated_at, "
                          "closed_at", cases_rows),
                ("case_incidents", "incident_id, case_id, attached_at", incident_rows),
                ("case_history", "case_id, seq, action, from_state, to_state, actor, role, grid_code, at, note, "
                                 "evidence, details, previous_hash, hash", history_rows),
                ("case_timers", "case_id, kind, due_at, fired_at, cancelled", timer_rows)):
            with conn.cursor().copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
    counts["cases"], counts["history"] = len(cases_rows), len(history_rows)
    return dict(counts)


def load_closed_history(pg_url: str, count: int, levels: dict[int, list[str]], rng: random.Random,
                        now: datetime) -> dict:
    """Closed cases of the past year: each handled at some point of its clock, its later timers cancelled.

    That is what `_transition(..., "handle")` / a terminal state leaves in case_timers:
    cancelled = true, fired_at NULL (so still inside the partial index), due_at long past.
    """
    import psycopg
    counts = collections.Counter()
    cases_rows, timer_rows = [], []
    for i in range(count):
        level = 4 if rng.random() < 0.7 else 3
        grid = rng.choice(levels[level])
        span = timedelta(hours=24 if level == 4 else 48)
        start = now - timedelta(days=rng.uniform(3, 365))
        handled = start + span * rng.uniform(0.1, 0.95)
        closed = handled + timedelta(hours=rng.uniform(1, 48))
        case_id = f"H{start:%Y%m%d}{i:07d}"
        cases_rows.append((case_id, "closed", grid, level, "garbage_dumping", "public_web", "normal", "general",
                           False, False, 1, start, start + span, None, 0, 0, None, None, None, False, None, None,
                           None, None, True, False, f"Q{start:%Y%m%d}{i:07d}", 7, start, closed, closed))
        for kind, p in zip(KINDS, (0.5, 0.75, 1.0)):
            when = start + span * p
            if when <= handled:
                timer_rows.append((case_id, kind, when, when + timedelta(seconds=2), False))
                counts["fired"] += 1
            else:
                timer_rows.append((case_id, kind, when, None, True))
                counts["cancelled"] += 1
    with psycopg.connect(pg_url) as conn:
        with conn.cursor().copy(
                "COPY cases (case_id, state, grid_code, level, category, channel, severity, supervision, major, "
                "emergency, policy_version, assigned_at, due_at, paused_at, rework_count, escalations, lon, lat, "
                "address, outside_district, flagged, city, department_code, referred_to, verified_true, "
                "handled_on_spot, first_incident, version, created_at, updated_at, closed_at) FROM STDIN") as copy:
            for row in cases_rows:
                copy.write_row(row)
        with conn.cursor().copy("COPY case_timers (case_id, kind, due_at, fired_at, cancelled) FROM STDIN") as copy:
            for row in timer_rows:
                copy.write_row(row)
    counts["cases"] = len(cases_rows)
    return dict(counts)


def vacuum_analyze(pg_url: str) -> None:
    import psycopg
    with psycopg.connect(pg_url, autocommit=True) as conn:
        conn.execute("VACUUM ANALYZE")


def make_due(pg_url: str, n: int, mix: tuple[float, float, float]) -> dict:
    """Choose n untouched assigned cases; give each exactly one timer due in the last 10 minutes.

    A case whose warn_75 (or breach) is due has had its earlier timers fired already, as
    the steady state would; its later timers stay in the future.
    """
    import psycopg
    total = sum(mix)
    first, second = n * mix[0] / total, n * (mix[0] + mix[1]) / total
    with psycopg.connect(pg_url) as conn:
        # bench_picked (the bench database's own table): cases already used by an earlier round
        conn.execute("CREATE TABLE IF NOT EXISTS bench_picked (case_id varchar(24) PRIMARY KEY, g int NOT NULL, "
                     "round int NOT NULL)")
        round_ = conn.execute("SELECT coalesce(max(round), 0) + 1 FROM bench_picked").fetchone()[0]
        conn.execute("INSERT INTO bench_picked (case_id, g, round) "
                     "SELECT case_id, CASE WHEN rn <= %s THEN 0 WHEN rn <= %s THEN 1 ELSE 2 END, %s FROM ("
                     "  SELECT case_id, row_number() OVER (ORDER BY random()) AS rn FROM cases"
                     "  WHERE case_id LIKE 'CBENCH%%' AND state = 'assigned' AND escalations = 0 AND flagged IS NULL"
                     "    AND case_id NOT IN (SELECT case_id FROM bench_picked)"
                     ") s WHERE rn <= %s", (first, second, round_, n))
        conn.execute("CREATE TEMP TABLE picked ON COMMIT DROP AS SELECT case_id, g FROM bench_picked "
                     "WHERE round = %s", (round_,))
        conn.execute(
            "UPDATE case_timers t SET"
            " due_at = CASE WHEN k.ord < p.g THEN now() - interval '2 hours' * (p.g - k.ord)"
            "               WHEN k.ord = p.g THEN now() - random() * interval '10 minutes'"
            "               ELSE greatest(t.due_at, now() + interval '3 hours' * (k.ord - p.g)) END,"
            " fired_at = CASE WHEN k.ord < p.g THEN now() - interval '2 hours' * (p.g - k.ord) + interval '2 s'"
            "                 ELSE NULL END"
            " FROM picked p, (VALUES ('warn_50', 0), ('warn_75', 1), ('breach', 2)) AS k(kind, ord)"
            " WHERE t.case_id = p.case_id AND t.kind = k.kind AND NOT t.cancelled")
        rows = conn.execute("SELECT g, count(*) FROM picked GROUP BY g ORDER BY g").fetchall()
        due = conn.execute("SELECT count(*) FROM case_timers WHERE fired_at IS NULL AND NOT cancelled "
                           "AND due_at <= now()").fetchone()[0]
    return {"by_kind": {KINDS[g]: c for g, c in rows}, "due_now": due}


_SQL_TARGET = re.compile(r"^\s*(SELECT|INSERT INTO|UPDATE|DELETE FROM|NOTIFY)\b(?:.*?\bFROM\s+)?\s*([a-z_]+)?",
                         re.IGNORECASE | re.DOTALL)


def sql_key(statement: str) -> str:
    """'SELECT cases', 'INSERT INTO outbox', 'NOTIFY' ...: what a statement does, to what."""
    match = _SQL_TARGET.match(statement)
    if not match:
        return statement.split(None, 1)[0].upper()
    verb, table = match.group(1).upper(), match.group(2) or ""
    if verb in ("INSERT INTO", "UPDATE", "DELETE FROM"):
        table = statement.split()[2 if verb != "UPDATE" else 1]
    return f"{verb} {table}".strip()


class SqlWatch:
    """Counts (and times, by kind) the statements SQLAlchemy sends; keeps the sweep's SELECT .. FOR UPDATE."""

    def __init__(self, engine):
        from sqlalchemy import event
        self.count = 0
        self.by_key: collections.Counter = collections.Counter()
        self.time_by_key: collections.Counter = collections.Counter()
        self._started = 0.0
        self._key = ""
        self.sweep_select: tuple[str, dict] | None = None
        self.engine = engine
        event.listen(engine, "before_cursor_execute", self._before)
        event.listen(engine, "after_cursor_execute", self._after)

    def _before(self, _conn, _cursor, statement, parameters, _context, _executemany):
        self.count += 1
        self._key = sql_key(statement)
        self.by_key[self._key] += 1
        if "FROM case_timers" in statement and "FOR UPDATE" in statement and "ORDER BY" in statement:
            self.sweep_select = (statement, parameters)
        self._started = time.perf_counter()

    def _after(self, *_args):
        self.time_by_key[self._key] += time.perf_counter() - self._started

    def reset(self):
        self.by_key.clear()
        self.time_by_key.clear()

    def close(self):
        from sqlalchemy import event
        event.remove(self.engine, "before_cursor_execute", self._before)
        event.remove(self.engine, "after_cursor_execute", self._after)


def explain_sweep_select(db, watch: SqlWatch) -> list[str]:
    """EXPLAIN (ANALYZE, BUFFERS) of the exact SELECT the sweep ran, 'now' refreshed, rolled back."""
    if watch.sweep_select is None:
        return ["(no sweep SELECT captured)"]
    statement, params = watch.sweep_select
    params = {k: (datetime.now(UTC) if isinstance(v, datetime) else v) for k, v in dict(params).items()}
    raw = db.engine.raw_connection()
    try:
        cursor = raw.cursor()
        cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + statement, params)
        lines = [row[0] for row in cursor.fetchall()]
        raw.rollback()
    finally:
        raw.close()
    return lines


def table_facts(pg_url: str) -> dict:
    import psycopg
    with psycopg.connect(pg_url) as conn:
        row = conn.execute(
            "SELECT count(*), count(*) FILTER (WHERE fired_at IS NULL),"
            " count(*) FILTER (WHERE fired_at IS NULL AND NOT cancelled),"
            " count(*) FILTER (WHERE fired_at IS NULL AND cancelled),"
            " count(*) FILTER (WHERE fired_at IS NULL AND cancelled AND due_at <= now()),"
            " pg_size_pretty(pg_relation_size('case_timers')),"
            " pg_size_pretty(pg_relation_size('ix_case_timers_live'))"
            " FROM case_timers").fetchone()
        open_cases = conn.execute("SELECT count(*) FROM cases WHERE state IN "
                                  "('new','assigned','accepted','referred','handled','verified')").fetchone()[0]
    return {"timers": row[0], "unfired": row[1], "in_partial_index": row[2], "pending": row[2], "cancelled_unfired": row[3],
            "cancelled_past_due": row[4], "table": row[5], "ix_case_timers_live": row[6], "open_cases": open_cases}


def outbox_counts(db) -> collections.Counter:
    from sqlalchemy import text
    with db.transaction() as session:
        return collections.Counter(dict(session.execute(text(
            "SELECT event_type, count(*) FROM outbox GROUP BY event_type")).all()))


def row_count(db, table: str) -> int:
    from sqlalchemy import text
    with db.transaction() as session:
        return session.execute(text(f"SELECT count(*) FROM {table}")).scalar_one()


def timed_sweep(settings, db, watch: SqlWatch) -> dict:
    """One sweep_sla call, with the time and statements of each _fire by timer kind."""
    from dispatch import timers
    per_kind = collections.defaultdict(list)
    stmts = collections.Counter()
    original = timers._fire  # noqa: SLF001 - bench-side timing wrapper, restored below

    def fire(session, timer):
        started, before = time.perf_counter(), watch.count
        try:
            return original(session, timer)
        finally:
            per_kind[timer.kind].append(time.perf_counter() - started)
            stmts[timer.kind] += watch.count - before

    timers._fire = fire
    try:
        statements0 = watch.count
        cpu0, wall0 = time.process_time(), time.perf_counter()
        fired = timers.sweep_sla(settings, db)
        wall, cpu = time.perf_counter() - wall0, time.process_time() - cpu0
    finally:
        timers._fire = original
    return {"fired": fired, "wall": wall, "cpu": cpu, "statements": watch.count - statements0,
            "per_kind": dict(per_kind), "stmts_by_kind": dict(stmts)}


def idle_sweeps(settings, db, watch: SqlWatch, count: int) -> dict:
    from dispatch import timers
    times, fired = [], 0
    for _ in range(count):
        started = time.perf_counter()
        fired += timers.sweep_sla(settings, db)
        times.append(time.perf_counter() - started)
    return {"stats": summary_ms(times), "fired": fired}


def print_explain(lines: list[str], indent: str = "    ") -> None:
    for line in lines:
        print(indent + line)
    uses = any("ix_case_timers_live" in line for line in lines)
    print(f"{indent}-> uses ix_case_timers_live: {'yes' if uses else 'NO'}")


def part_sweep(args, cleanup: Cleanup) -> None:
    from servicekit.config import load_settings
    from servicekit.db import Database
    from servicekit.testing import PostgresDatabases

    print("== part 1: SLA timer sweep (in process, PostgreSQL) ==")
    print(f"start: {load_note()}", flush=True)
    rng = random.Random(args.seed)
    mix = tuple(float(x) for x in args.mix.split(":"))
    tmp = Path(tempfile.mkdtemp(prefix="envgrid-dispatch-bench-"))
    cleanup.push("tmpdir", lambda: subprocess.run(["rm", "-rf", str(tmp)], check=False))
    databases = PostgresDatabases(args.database_url)
    cleanup.push("drop sweep database", databases.drop_all)
    url = databases.create("bench_dispatch_sweep")
    pg = psycopg_url(url)
    t0 = time.perf_counter()
    migrate(url, tmp)
    levels = tree_codes()
    members = load_tree(pg, levels)
    t1 = time.perf_counter()
    now = datetime.now(UTC)
    loaded = load_open_cases(pg, args.cases, levels, rng, now)
    t2 = time.perf_counter()
    vacuum_analyze(pg)
    t3 = time.perf_counter()
    print(f"set-up: migrate + tree {t1 - t0:.1f} s ({sum(len(v) for v in levels.values())} grids, {members} people); "
          f"{loaded['cases']:,} open cases (70 % level 4, 30 % level 3) with {loaded['history']:,} history rows, "
          f"{loaded['pending'] + loaded['fired']:,} timers ({loaded['pending']:,} pending in the future, "
          f"{loaded['fired']:,} already fired) loaded by COPY in {t2 - t1:.1f} s; VACUUM ANALYZE {t3 - t2:.1f} s")
    facts = table_facts(pg)
    print(f"case_timers: {facts['timers']:,} rows ({facts['table']}), partial index ix_case_timers_live holds "
          f"{facts['in_partial_index']:,} ({facts['ix_case_timers_live']})")
    print(flush=True)

    settings = load_settings("dispatch", {"DATABASE_URL": url})
    db = Database(url)
    cleanup.push("dispose engine", db.dispose)
    watch = SqlWatch(db.engine)
    cleanup.push("sql watch", watch.close)
    idle_sweeps(settings, db, watch, 3)  # warm the pool and SQLAlchemy's statement cache

    summary = []
    for n in [int(x) for x in args.due.split(",") if x.strip()]:
        made = make_due(pg, n, mix)
        outbox0 = outbox_counts(db)
        history0, notes0 = row_count(db, "case_history"), row_count(db, "notifications")
        load_before = loadavg()
        watch.reset()
        result = timed_sweep(settings, db, watch)
        sql_mix = [(key, n, watch.time_by_key[key]) for key, n in watch.by_key.most_common()]
        outbox1 = outbox_counts(db)
        events = outbox1 - outbox0
        history1, notes1 = row_count(db, "case_history"), row_count(db, "notifications")
        fired = result["fired"]
        per_fire = result["wall"] / fired * 1000 if fired else float("nan")
        print(f"-- sweep with {n:,} timers due ({', '.join(f'{k} {v:,}' for k, v in made['by_kind'].items())}; "
              f"due before the sweep: {made['due_now']:,}); loadavg before {load_before}, after {loadavg()}")
        print(f"  sweep_sla: fired {fired:,} in {result['wall']:.2f} s = {per_fire:.2f} ms per fired timer "
              f"(this process's CPU {result['cpu']:.2f} s = {result['cpu'] / max(result['wall'], 1e-9):.0%} of it; "
              f"the rest waits on PostgreSQL)")
        print(f"  SQL statements: {result['statements']:,} ({result['statements'] / max(fired, 1):.1f} per fired "
              f"timer; each a round trip, plus BEGIN/COMMIT per batch of 200)")
        for kind in KINDS:
            times = result["per_kind"].get(kind, [])
            if times:
                s = summary_ms(times)
                print(f"    _fire({kind:<7}) n={s['n']:>6,}  mean {s['mean']:6.2f}  p50 {s['p50']:6.2f}  "
                      f"p99 {s['p99']:7.2f} ms  {result['stmts_by_kind'][kind] / s['n']:.1f} statements each")
        print("    statements by kind (per fired timer, and their share of the sweep's time from execute to "
              "result): " + ", ".join(f"{key} {n / max(fired, 1):.2f} ({t / result['wall']:.0%})"
                                      for key, n, t in sql_mix[:12]))
        other = result["wall"] - sum(sum(v) for v in result["per_kind"].values())
        print(f"    outside _fire (batch SELECT .. FOR UPDATE SKIP LOCKED, UPDATE fired_at, commits): {other:.2f} s")
        print("  written: events " + ", ".join(f"{k} {v:,}" for k, v in sorted(events.items()))
              + f" (total {sum(events.values()):,}); history rows +{history1 - history0:,}; "
                f"notifications +{notes1 - notes0:,}")
        idle = idle_sweeps(settings, db, watch, args.idle_sweeps)
        s = idle["stats"]
        print(f"  idle sweep (nothing due) x{s['n']}: p50 {s['p50']:.2f} ms, p95 {s['p95']:.2f}, max {s['max']:.2f} "
              f"(fired {idle['fired']})")
        summary.append((n, fired, result["wall"], per_fire, s["p50"], sum(events.values())))
        print(flush=True)

    print("EXPLAIN (ANALYZE, BUFFERS) of the sweep's SELECT with nothing due (as sweep_sla sends it):")
    print_explain(explain_sweep_select(db, watch))
    print(flush=True)

    if args.closed_history > 0:
        print(f"-- after a year of work: {args.closed_history:,} closed cases whose unfired timers were cancelled "
              f"when handled (cancelled = true, fired_at NULL)")
        closed = load_closed_history(pg, args.closed_history, levels, rng, datetime.now(UTC))
        vacuum_analyze(pg)
        facts = table_facts(pg)
        print(f"  case_timers: {facts['timers']:,} rows ({facts['table']}), {facts['cancelled_unfired']:,} of them "
              f"cancelled unfired ({facts['cancelled_past_due']:,} already past due); ix_case_timers_live holds "
              f"{facts['in_partial_index']:,} entries ({facts['ix_case_timers_live']}), the live ones only")
        idle = idle_sweeps(settings, db, watch, args.idle_sweeps)
        s = idle["stats"]
        print(f"  idle sweep x{s['n']}: p50 {s['p50']:.2f} ms, p95 {s['p95']:.2f}, max {s['max']:.2f} "
              f"(fired {idle['fired']})")
        print("  EXPLAIN (ANALYZE, BUFFERS):")
        print_explain(explain_sweep_select(db, watch))
        n_hist = min(int(x) for x in args.due.split(",") if x.strip())
        due_hist = []
        made = make_due(pg, n_hist, mix)
        result = timed_sweep(settings, db, watch)
        outside = result["wall"] - sum(sum(v) for v in result["per_kind"].values())
        due_hist.append((result["wall"], result["fired"], outside))
        print(f"  sweep with {n_hist:,} due ({', '.join(f'{k} {v:,}' for k, v in made['by_kind'].items())}): "
              f"{result['wall']:.2f} s = {result['wall'] / max(result['fired'], 1) * 1000:.2f} ms per fired timer, "
              f"of which outside _fire (the batch SELECTs, UPDATEs, commits) "
              f"{outside:.2f} s")
        summary.append(("idle+history", closed["cancelled"], s["p50"], due_hist[0][2], n_hist))
        print(flush=True)

    print("summary (sweep): " + "; ".join(
        f"{row[0]:,} due: {row[2]:.2f} s, {row[3]:.2f} ms/timer, idle {row[4]:.2f} ms" if isinstance(row[0], int)
        else (f"with {row[1]:,} cancelled timers: idle {row[2]:.2f} ms, {row[4]:,} due: {row[3]:.2f} s outside _fire")
        for row in summary))
    print(f"end: {load_note()}")
    print(flush=True)


# -- part 2: report -> assigned through the broker ------------------------------------------------
def stub_registry_main(port: int) -> None:
    """A stand-in for the registry's web process: locate, categories, snapshot; the answers' real shapes."""
    levels = tree_codes()
    labels = {}
    names = {1: "区", 2: "街道", 3: "社区", 4: "网格"}
    for level, codes in levels.items():
        for code in codes:
            labels[code] = {"code": code, "name": f"{code[-3:]}{names[level]}", "level": level}
    grids4 = levels[4]
    categories = json.dumps({"items": default_categories()}, ensure_ascii=False).encode()
    served = collections.Counter()

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        # http.server writes headers and body in two sends: with Nagle on, the body waits for the
        # client's delayed ACK (~40 ms) on a kept-alive connection. gunicorn, the real registry,
        # sets TCP_NODELAY; so does the stub.
        disable_nagle_algorithm = True

        def do_GET(self):  # noqa: N802
            url = urllib.parse.urlsplit(self.path)
            query = urllib.parse.parse_qs(url.query)
            if url.path == "/api/v1/registry/locate":
                lon, lat = float(query["lon"][0]), float(query["lat"][0])
                code = grids4[int(lon * 1e5) % len(grids4)]
                chain = [labels[code[:n]] for n in (6, 9, 12, 15)]
                body = json.dumps({"inside": True, "query": {"lon": lon, "lat": lat, "datum": "wgs84"},
                                   "wgs84": {"lon": lon, "lat": lat}, "grid": chain[-1], "chain": chain},
                                  ensure_ascii=False).encode()
            elif url.path == "/api/v1/registry/categories":
                body = categories
            elif url.path == "/api/v1/registry/snapshot":
                body = b'{"items": [], "next_after": null}'
            else:
                self.send_response(404)
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            served[url.path] += 1
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *_args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    server.daemon_threads = True
    signal.signal(signal.SIGTERM, lambda *_: (_ for _ in ()).throw(KeyboardInterrupt()))
    try:
        server.serve_forever(poll_interval=0.2)
    except KeyboardInterrupt:
        pass
    finally:
        print(json.dumps(served), flush=True)


def consumer_main(amqp_url, queue, prefetch, key_mode, expected, timeout, ready, results) -> None:
    """Consume with manual acks; note time.time() of each delivery (before its ack) by key.

    key_mode "seq": the x-seq header (raw baseline); "first_incident": from a case event's data.
    """
    import pika
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent stops us
    connection = pika.BlockingConnection(pika.URLParameters(amqp_url))
    channel = connection.channel()
    channel.basic_qos(prefetch_count=prefetch)
    received: dict = {}

    def on_message(ch, method, properties, body):
        now = time.time()
        if key_mode == "seq":
            received[int(properties.headers["x-seq"])] = now
        else:
            data = json.loads(body)["data"]
            received.setdefault(data["first_incident"], now)
        ch.basic_ack(method.delivery_tag)

    channel.basic_consume(queue, on_message)
    ready.set()
    deadline = time.monotonic() + timeout
    while len(received) < expected and time.monotonic() < deadline:
        connection.process_data_events(time_limit=0.2)
    connection.close()
    results.put(received)


class Processes:
    def __init__(self):
        self.popens: list[subprocess.Popen] = []
        self.mp: list[multiprocessing.Process] = []

    def stop(self) -> None:
        for proc in self.popens:
            if proc.poll() is None:
                try:
                    os.killpg(proc.pid, signal.SIGTERM)
                except ProcessLookupError:
                    pass
        for proc in self.popens:
            try:
                proc.wait(15)
            except subprocess.TimeoutExpired:
                try:
                    os.killpg(proc.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                proc.wait(5)
        for proc in self.mp:
            if proc.is_alive():
                proc.terminate()
                proc.join(5)
                if proc.is_alive():
                    proc.kill()
                    proc.join(5)


def wait_http(url: str, proc: subprocess.Popen, log: Path, timeout: float = 60.0) -> None:
    wait_answering(url, proc, lambda: log.read_text(errors="replace")[-3000:], timeout)


def incident_data(incident_id: str, category: str, published: datetime, rng: random.Random) -> dict:
    """An incident.reported as intake sends it for a public web report inside the district."""
    lon, lat = 112.80 + rng.random() * 0.2, 35.45 + rng.random() * 0.1
    return {"incident_id": incident_id, "channel": "public_web", "category": category,
            "description": "河边有人焚烧垃圾,浓烟很大", "severity": "normal", "major": False,
            "observed_at": (published - timedelta(minutes=5)).isoformat(), "reported_at": published.isoformat(),
            "location": {"lon": lon, "lat": lat, "datum_received": "wgs84", "address": "合成路1号",
                         "outside_district": False},
            "grid_hint": None, "reporter_named": False, "reporter_key": None, "tracking_key": None,
            "reported_by": None, "handled_on_spot": False, "duplicate_of": None, "evidence": [], "city": None}


def run_raw_baseline(args, namespace, processes: Processes, cleanup: Cleanup, prefetch: int) -> dict:
    import pika
    queue = f"t{namespace.tag}.bench.raw"
    connection = pika.BlockingConnection(pika.URLParameters(args.amqp_url))
    channel = connection.channel()
    channel.queue_declare(queue, durable=True, arguments={"x-queue-type": "quorum"})

    def _delete():
        c = pika.BlockingConnection(pika.URLParameters(args.amqp_url))
        try:
            c.channel().queue_delete(queue)
        finally:
            c.close()
    cleanup.push("delete raw queue", _delete)
    channel.confirm_delivery()
    warm = int(args.warmup * args.rate)
    total = warm + int(args.duration * args.rate)
    ctx = multiprocessing.get_context("spawn")
    ready, results = ctx.Event(), ctx.Queue()
    proc = ctx.Process(target=consumer_main, daemon=True, name="raw-consumer",
                       args=(args.amqp_url, queue, prefetch, "seq", total, args.duration + args.warmup + 60,
                             ready, results))
    proc.start()
    processes.mp.append(proc)
    if not ready.wait(30):
        raise RuntimeError("raw consumer did not start")
    body = json.dumps(incident_data("R0", "garbage_dumping", datetime.now(UTC), random.Random(1)),
                      ensure_ascii=False).encode()
    sent, confirm = {}, []
    period = 1.0 / args.rate
    start = time.monotonic() + 0.2
    for seq in range(total):
        delay = start + seq * period - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        t_pub = time.time()
        channel.basic_publish("", queue, body, mandatory=True, properties=pika.BasicProperties(
            message_id=str(uuid.uuid4()), delivery_mode=2, content_type="application/json",
            content_encoding="utf-8", headers={"x-seq": seq}))
        sent[seq] = t_pub
        if seq >= warm:
            confirm.append(time.time() - t_pub)
    achieved = (total - 1) / max(time.monotonic() - start, 1e-9)
    received = results.get(timeout=args.duration + 90)
    proc.join(10)
    connection.close()
    lat = [received[s] - sent[s] for s in range(warm, total) if s in received]
    return {"latency": summary_ms(lat), "confirm": summary_ms(confirm), "lost": (total - warm) - len(lat),
            "achieved": achieved, "queue": queue}


def profile_handler(settings, url: str, stub_port: int, cats: list[str], count: int, tag: str) -> dict:
    """incident.reported applied in this process through the kit's Consumer.process (one transaction each,
    as the worker does when no other delivery waits): wall time, SQL statements, the locate call."""
    os.environ["REGISTRY_URL"] = f"http://127.0.0.1:{stub_port}"
    from dispatch import cases as dispatch_cases
    from dispatch import handlers as dispatch_handlers
    from servicekit.consumer import Consumer
    from servicekit.db import Database
    from servicekit.events import new_envelope, registry
    from envgrid_contracts.incident import INCIDENT_REPORTED
    db = Database(url)
    watch = SqlWatch(db.engine)
    consumer = Consumer(settings, db, registry, dispatch_handlers.HANDLERS)
    original = dispatch_cases.get_json
    http: list[float] = []

    def timed_get_json(*args, **kwargs):
        started = time.perf_counter()
        try:
            return original(*args, **kwargs)
        finally:
            http.append(time.perf_counter() - started)

    dispatch_cases.get_json = timed_get_json
    rng = random.Random(7)
    day = datetime.now(UTC).strftime("%Y%m%d")
    times, cpus, statements, outcomes = [], [], [], collections.Counter()
    try:
        for i in range(count + 20):
            data = incident_data(f"R{day}P{tag}{i:05d}", rng.choice(cats), datetime.now(UTC), rng)
            body = new_envelope(INCIDENT_REPORTED, data, "incidents").to_json().encode("utf-8")
            before, started, cpu = watch.count, time.perf_counter(), time.process_time()
            if i == 20:
                watch.reset()
            outcome, _ = consumer.process(body, 1)
            if i >= 20:  # the first ones warm the pool and the statement cache
                times.append(time.perf_counter() - started)
                cpus.append(time.process_time() - cpu)
                statements.append(watch.count - before)
                outcomes[outcome.action] += 1
    finally:
        dispatch_cases.get_json = original
        watch.close()
        db.dispose()
    by_key = [(key, n / count, watch.time_by_key[key] / count * 1000) for key, n in watch.by_key.most_common()]
    return {"handler": summary_ms(times), "cpu": summary_ms(cpus), "locate": summary_ms(http[20:]),
            "statements": sum(statements) / len(statements), "by_key": by_key,
            "outcomes": dict(outcomes)}


def part_latency(args, cleanup: Cleanup) -> None:
    import pika
    from servicekit.db import Database
    from servicekit.events import new_envelope, registry
    from servicekit.publisher import ConfirmingPublisher, OutgoingMessage, declare_exchange_once
    from servicekit.testing import BrokerNamespace, PostgresDatabases
    from sqlalchemy import text
    import envgrid_contracts  # noqa: F401 - registers incident.reported
    from envgrid_contracts.incident import INCIDENT_REPORTED

    print("== part 2: report -> assigned through the broker ==")
    print(f"start: {load_note()}", flush=True)
    rng = random.Random(args.seed + 1)
    tmp = Path(tempfile.mkdtemp(prefix="envgrid-dispatch-bench-"))
    if args.keep_log:
        cleanup.push("tmpdir", lambda: print(f"logs kept in {tmp}"))
    else:
        cleanup.push("tmpdir", lambda: subprocess.run(["rm", "-rf", str(tmp)], check=False))
    processes = Processes()
    namespace = BrokerNamespace(args.amqp_url)
    cleanup.push("broker namespace", lambda: namespace.cleanup(("dispatch",)))
    databases = PostgresDatabases(args.database_url)
    cleanup.push("drop latency database", databases.drop_all)
    cleanup.push("stop processes", processes.stop)

    url = databases.create("bench_dispatch_latency")
    migrate(url, tmp)
    load_tree(psycopg_url(url), tree_codes())
    db = Database(url)
    cleanup.push("dispose engine", db.dispose)

    # The stub registry, a process of its own.
    stub_port = free_port()
    stub_log = tmp / "stub.log"
    with open(stub_log, "wb") as log:
        stub = subprocess.Popen([sys.executable, str(Path(__file__).resolve()), "--serve-stub", str(stub_port)],
                                stdout=log, stderr=subprocess.STDOUT, start_new_session=True, cwd=str(tmp))
    processes.popens.append(stub)
    wait_http(f"http://127.0.0.1:{stub_port}/api/v1/registry/categories", stub, stub_log)

    if args.sweep_backlog > 0:  # open cases whose timers make_due() will make due mid-run
        load_open_cases(psycopg_url(url), args.sweep_backlog, tree_codes(), random.Random(args.seed),
                        datetime.now(UTC))
        vacuum_analyze(psycopg_url(url))

    # The dispatch worker(s), as `envgrid-dispatch worker` / the Procfile start it.
    workers, metrics_ports, worker_logs = [], [], []
    roles = ["consumer,timers"] * args.workers + ["relay"] if args.split_relay else [None] * args.workers
    for index, jobs in enumerate(roles):
        metrics_port = free_port()
        worker_env = {k: v for k, v in os.environ.items()
                      if not k.endswith("DATABASE_URL") and k not in ("PROMETHEUS_MULTIPROC_DIR", "SLA_POLICY_FILE")}
        worker_env.update(namespace.env)
        worker_env.update({"DATABASE_URL": url, "REGISTRY_URL": f"http://127.0.0.1:{stub_port}",
                           "WORKER_METRICS_PORT": str(metrics_port), "LOG_LEVEL": "WARNING"})
        if jobs:
            worker_env["WORKER_JOBS"] = jobs
        worker_log = tmp / f"worker-{index}.log"
        with open(worker_log, "wb") as log:
            worker = subprocess.Popen([sys.executable, "-m", "dispatch.worker"], env=worker_env, stdout=log,
                                      stderr=subprocess.STDOUT, start_new_session=True, cwd=str(tmp))
        processes.popens.append(worker)
        workers.append(worker)
        metrics_ports.append(metrics_port)
        worker_logs.append(worker_log)
    for worker, metrics_port, worker_log in zip(workers, metrics_ports, worker_logs):
        wait_http(f"http://127.0.0.1:{metrics_port}/readyz", worker, worker_log)
    deadline = time.monotonic() + 30
    while row_count(db, "categories") == 0:  # the worker's categories timer copies them at start
        if time.monotonic() > deadline:
            raise RuntimeError("the worker did not copy the categories from the stub registry")
        time.sleep(0.1)
    settings = namespace.settings("dispatch")
    prefetch = settings.consumer_prefetch

    # Our own observation queue for case.assigned (after the worker's commit, relay and broker).
    declare_exchange_once(settings)
    listen_queue = f"t{namespace.tag}.bench.assigned"
    connection = pika.BlockingConnection(pika.URLParameters(args.amqp_url))
    connection.channel().queue_declare(listen_queue, durable=True, arguments={"x-queue-type": "quorum"})
    connection.channel().queue_bind(listen_queue, settings.events_exchange, routing_key="case.assigned")
    connection.close()

    def _delete_listen():
        c = pika.BlockingConnection(pika.URLParameters(args.amqp_url))
        try:
            c.channel().queue_delete(listen_queue)
        finally:
            c.close()
    cleanup.push("delete listen queue", _delete_listen)
    print(f"set-up: {args.workers} x worker `python -m dispatch.worker`"
          f"{' (WORKER_JOBS=consumer,timers) + 1 relay-only (WORKER_JOBS=relay)' if args.split_relay else ''} (consumer prefetch {prefetch}, relay batch "
          f"{settings.relay_batch_size}, relay LISTEN/NOTIFY, SLA sweep every 5 s, notifications every 2 s, "
          f"NOTIFY_ADAPTER={os.environ.get('NOTIFY_ADAPTER', 'log')}), queue {settings.queue_name('events')} "
          f"(quorum), exchange {settings.events_exchange}; stub registry on :{stub_port} (fixed-shape 4-level "
          f"chain, {len(tree_codes()[4])} level-4 grids); observation queue {listen_queue} (quorum) bound to "
          f"case.assigned", flush=True)

    raw = None
    if not args.skip_raw:
        print(f"raw pika baseline: {args.rate:g}/s for {args.warmup:g}+{args.duration:g} s ...", flush=True)
        raw = run_raw_baseline(args, namespace, processes, cleanup, prefetch)

    # The pipeline.
    warm = int(args.warmup * args.rate)
    total = warm + int(args.duration * args.rate)
    ctx = multiprocessing.get_context("spawn")
    ready, results = ctx.Event(), ctx.Queue()
    listener = ctx.Process(target=consumer_main, daemon=True, name="assigned-listener",
                           args=(args.amqp_url, listen_queue, prefetch, "first_incident", total,
                                 args.duration + args.warmup + 120, ready, results))
    listener.start()
    processes.mp.append(listener)
    if not ready.wait(30):
        raise RuntimeError("listener did not start")
    cats = [c["code"] for c in default_categories() if c["group"] == "field"]
    # validate one report against the contract strictly, as intake's outbox would
    registry.validate_outgoing(INCIDENT_REPORTED, 1, incident_data("R0", cats[0], datetime.now(UTC), rng))
    publisher = ConfirmingPublisher(settings, name="bench-intake")
    publisher.connect()
    cleanup.push("close publisher", publisher.close)
    day = datetime.now(UTC).strftime("%Y%m%d")
    tag = namespace.tag[:4].upper()
    published: dict[str, float] = {}
    event_ids: dict[str, str] = {}
    confirm, measured = [], set()
    cpu0 = sum(proc_cpu_s(w.pid) for w in workers)
    sweep_started, made_backlog, fired_times = None, {}, []
    print(f"dispatch pipeline: {args.rate:g}/s for {args.warmup:g}+{args.duration:g} s ...", flush=True)
    load_before = loadavg()
    period = 1.0 / args.rate
    start = time.monotonic() + 0.2
    late = 0
    for seq in range(total):
        delay = start + seq * period - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        elif delay < -period:
            late += 1
        if seq == warm and args.sweep_backlog > 0:
            sweep_started = time.time()
            backlog_thread = threading.Thread(target=lambda: made_backlog.update(
                make_due(psycopg_url(url), args.sweep_backlog, (1, 1, 1))), daemon=True)
            backlog_thread.start()
        incident_id = f"R{day}{tag}{seq:06d}"
        t_pub = time.time()
        data = incident_data(incident_id, rng.choice(cats), datetime.fromtimestamp(t_pub, UTC), rng)
        envelope = new_envelope(INCIDENT_REPORTED, data, "incidents")
        result = publisher.publish_batch([OutgoingMessage(message_id=envelope.id, routing_key=INCIDENT_REPORTED,
                                                          body=envelope.to_json().encode("utf-8"))])
        t_conf = time.time()
        if result.get(envelope.id) is not None:
            raise RuntimeError(f"broker refused a report: {result}")
        published[incident_id] = t_pub
        event_ids[incident_id] = envelope.id
        if seq >= warm:
            measured.add(incident_id)
            confirm.append(t_conf - t_pub)
    achieved = (total - 1) / max(time.monotonic() - start, 1e-9)
    publish_end = time.monotonic()

    # Wait for every case to be assigned (and the SLA backlog, if any, to be fired).
    deadline = time.monotonic() + 60
    assigned, drained = 0, None
    ours = f"R{day}{tag}%"
    while time.monotonic() < deadline:
        with db.transaction() as session:
            assigned = session.execute(text("SELECT count(*) FROM cases WHERE assigned_at IS NOT NULL "
                                            "AND first_incident LIKE :ours"), {"ours": ours}).scalar_one()
            backlog_left = session.execute(text(
                "SELECT count(*) FROM case_timers WHERE fired_at IS NULL AND NOT cancelled "
                "AND due_at <= now()")).scalar_one() if sweep_started is not None else 0
        if assigned >= total and drained is None:
            drained = time.monotonic() - publish_end
        if assigned >= total and backlog_left == 0:
            break
        time.sleep(0.2)
    drained = drained if drained is not None else float("nan")
    listened = results.get(timeout=180)
    listener.join(10)
    worker_cpu = sum(proc_cpu_s(w.pid) for w in workers) - cpu0
    sweep_note = ""
    if sweep_started is not None:
        backlog_thread.join(60)
        with db.transaction() as session:
            fired_times = [r[0].timestamp() for r in session.execute(text(
                "SELECT fired_at FROM case_timers WHERE fired_at >= to_timestamp(:t) ORDER BY fired_at"),
                {"t": sweep_started}).all()]
        if fired_times:
            sweep_note = (f"SLA backlog: {made_backlog['due_now']:,} timers ({made_backlog['by_kind']}) made due at "
                          f"the start of the measured window; the worker fired {len(fired_times):,} between "
                          f"+{fired_times[0] - sweep_started:.1f} s and +{fired_times[-1] - sweep_started:.1f} s "
                          f"({backlog_left:,} still due at the end)")
        else:
            sweep_note = "SLA backlog: none fired during the run"
    load_after = loadavg()
    with db.transaction() as session:
        rows = session.execute(text(
            "SELECT ci.incident_id, c.assigned_at, c.level, c.state FROM case_incidents ci "
            "JOIN cases c ON c.case_id = ci.case_id WHERE ci.incident_id LIKE :ours"), {"ours": ours}).all()
        inbox = dict(session.execute(text("SELECT event_id, processed_at FROM inbox")).all())
        backlog = session.execute(text(
            "SELECT count(*), extract(epoch FROM now() - min(created_at)) FROM notifications "
            "WHERE delivered_at IS NULL")).one()
        notes_total = session.execute(text("SELECT count(*) FROM notifications")).scalar_one()
        backlog_left = session.execute(text(
            "SELECT count(*) FROM case_timers WHERE fired_at IS NULL AND NOT cancelled AND due_at <= now()")).scalar_one()
        unsent = session.execute(text("SELECT count(*) FROM outbox WHERE sent_at IS NULL")).scalar_one()
        levels = collections.Counter(r.level for r in rows)
        odd = session.execute(text(
            "SELECT c.case_id, c.escalations, h.seq, h.action, h.actor, h.details::text FROM cases c "
            "JOIN case_history h ON h.case_id = c.case_id WHERE c.first_incident LIKE :ours AND c.level = 1 "
            "ORDER BY c.case_id, h.seq LIMIT 20"), {"ours": ours}).all()
    lat_assigned, lat_claim, lat_handler, lat_event = [], [], [], []
    for r in rows:
        if r.incident_id not in measured or r.assigned_at is None:
            continue
        t_pub = published[r.incident_id]
        lat_assigned.append(r.assigned_at.timestamp() - t_pub)
        claimed = inbox.get(event_ids[r.incident_id])
        if claimed is not None:
            lat_claim.append(claimed.timestamp() - t_pub)
            lat_handler.append(r.assigned_at.timestamp() - claimed.timestamp())
    for incident_id in measured:
        if incident_id in listened:
            lat_event.append(listened[incident_id] - published[incident_id])

    print()
    print(f"offered {args.rate:g}/s, achieved {achieved:.1f}/s ({total} reports, first {warm} not measured; "
          f"{late} sends more than one period late); loadavg before {load_before}, after {load_after}")
    if raw is not None:
        print(f"raw pika (quorum queue {raw['queue']}, confirms, manual ack, consumer in its own process), "
              f"achieved {raw['achieved']:.1f}/s, lost {raw['lost']}:")
        print(fmt_stats("publish -> delivered (raw pika)", raw["latency"]))
        print(fmt_stats("  of which publish -> confirm", raw["confirm"]))
    for row in odd:
        print(f"  (case at level 1: {tuple(row)})")
    if sweep_note:
        print(sweep_note)
    print(f"dispatch: {len(lat_assigned)} of {len(measured)} measured reports assigned "
          f"(levels {dict(sorted(levels.items()))}); all {assigned}/{total} assigned {drained:.1f} s after the "
          f"last publish; worker CPU {worker_cpu:.1f} s over the run ({worker_cpu / (total / args.rate):.0%} "
          f"of one core, {len(workers)} process{'es' if len(workers) > 1 else ''}"
          f"{', the relay in its own' if args.split_relay else ''})")
    s_assigned = summary_ms(lat_assigned)
    print(fmt_stats("publish -> cases.assigned_at  (headline)", s_assigned))
    print(fmt_stats("  publish -> inbox claim (delivered, parsed)", summary_ms(lat_claim)))
    print(fmt_stats("  inbox claim -> assigned_at (handler)", summary_ms(lat_handler)))
    print(fmt_stats("  publish -> confirm (ConfirmingPublisher)", summary_ms(confirm)))
    print(fmt_stats("publish -> case.assigned on our queue", summary_ms(lat_event)))
    if fired_times:
        during = [r.assigned_at.timestamp() - published[r.incident_id] for r in rows
                  if r.incident_id in measured and r.assigned_at is not None
                  and fired_times[0] <= published[r.incident_id] <= fired_times[-1]]
        print(fmt_stats("  publish -> assigned_at, sent while the sweep ran", summary_ms(during)))
    if raw is not None:
        r = raw["latency"]
        print(f"  dispatch minus raw: p50 {s_assigned['p50'] - r['p50']:+.2f} ms, "
              f"p99 {s_assigned['p99'] - r['p99']:+.2f} ms")
    verdict = "MET" if s_assigned["p99"] < 50 else "NOT MET"
    print(f"target p99 < 50 ms (publish -> assigned_at): {verdict} (p99 {s_assigned['p99']:.2f} ms); "
          f"to the case.assigned event downstream: p99 {summary_ms(lat_event)['p99']:.2f} ms")
    print(f"after the run: notifications {notes_total} written, {backlog[0]} undelivered (oldest "
          f"{(backlog[1] or 0):.1f} s); outbox unsent {unsent}")
    handler_s = 0.0
    for metrics_port in metrics_ports:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{metrics_port}/metrics", timeout=2) as resp:
                metrics_text = resp.read().decode()
            for line in metrics_text.splitlines():
                if line.startswith("envgrid_event_handler_duration_seconds_sum") and "incident.reported" in line:
                    handler_s += float(line.rsplit(" ", 1)[1])
        except (OSError, ValueError):
            pass
    if handler_s:
        print(f"worker metrics (envgrid_event_handler_duration_seconds): incident.reported handler, mean "
              f"{handler_s / total * 1000:.2f} ms per report")
    if args.profile_handler > 0:
        prof = profile_handler(settings, url, stub_port, cats, args.profile_handler, tag)
        print(f"handler alone, in this process (Consumer.process, one transaction per report, worker idle), "
              f"{prof['outcomes']}: {prof['statements']:.1f} SQL statements per report")
        print(fmt_stats("  incident.reported -> assigned, committed", prof["handler"]))
        print(fmt_stats("  this process's CPU in it (Python)", prof["cpu"]))
        print(fmt_stats("  of which the registry locate call (HTTP)", prof["locate"]))
        print("  SQL per report (count, ms from execute to result, driver + round trip + server; SQLAlchemy's "
              "statement building not included):")
        for key, n, ms in prof["by_key"]:
            print(f"    {key:<32} {n:5.1f}  {ms:6.2f} ms")
    for worker, worker_log in zip(workers, worker_logs):
        if worker.poll() is not None:
            print(f"worker exited early ({worker.returncode}):\n{worker_log.read_text(errors='replace')[-2000:]}")
        else:
            log_tail = worker_log.read_text(errors="replace").strip()
            if log_tail:
                print(f"worker log ({len(log_tail.splitlines())} lines, WARNING and above), last lines:")
                for line in log_tail.splitlines()[-5:]:
                    print("  " + line[:300])
    print(f"end: {load_note()}")
    print(flush=True)


def main(argv=None) -> int:
    args = parse_args(argv)
    if args.serve_stub is not None:
        stub_registry_main(args.serve_stub)
        return 0
    install_sigterm()
    header(args)
    cleanup = Cleanup()
    try:
        if args.part in ("sweep", "all"):
            part_sweep(args, cleanup)
            cleanup.run()
        if args.part in ("latency", "all"):
            part_latency(args, cleanup)
    except KeyboardInterrupt:
        print("\ninterrupted: cleaning up", file=sys.stderr)
        return 130
    finally:
        cleanup.run()
    return 0


if __name__ == "__main__":
    sys.exit(main())
