"""What both benchmarks share: infrastructure set-up and teardown, the worker process, raw pika.

- A fresh PostgreSQL database per run (servicekit.testing.PostgresDatabases), migrated
  with the kit's Alembic upgrade, dropped at the end.
- Exchange and queue names private to the run (servicekit.testing.BrokerNamespace),
  deleted at the end, plus the raw-pika baseline queue.
- The pipeline runs in the kit's real worker process (`python -m benchservice.worker`),
  a subprocess of its own, as in production.
- The raw-pika baseline consumer also runs in a process of its own (multiprocessing,
  spawn), so neither side shares a GIL with the bench's own bookkeeping.
Everything is torn down in `finally`, on Ctrl-C and on SIGTERM too.
"""
from __future__ import annotations

import argparse
import http.client
import json
import multiprocessing
import os
import platform
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
REPO_ROOT = BENCH_DIR.parent
if str(BENCH_DIR) not in sys.path:
    sys.path.insert(0, str(BENCH_DIR))

DEFAULT_DATABASE_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
DEFAULT_AMQP_URL = "amqp://guest:guest@127.0.0.1:5672/%2F"
SERVICE = "bench"


def base_parser(description: str) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=description,
                                     formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    parser.add_argument("--database-url", default=os.environ.get("DATABASE_URL") or DEFAULT_DATABASE_URL,
                        help="PostgreSQL server (env DATABASE_URL, else the local default); a throwaway "
                             "database is created on it and dropped at the end")
    parser.add_argument("--amqp-url", default=os.environ.get("AMQP_URL") or DEFAULT_AMQP_URL,
                        help="RabbitMQ (env AMQP_URL, else the local default); the run's exchanges and "
                             "queues have their own names and are deleted at the end")
    parser.add_argument("--relay-poll-ms", type=int, default=None,
                        help="RELAY_POLL_MS for the worker; None = the kit's default")
    parser.add_argument("--relay-batch-size", type=int, default=None,
                        help="RELAY_BATCH_SIZE for the worker; None = the kit's default")
    parser.add_argument("--prefetch", type=int, default=None,
                        help="CONSUMER_PREFETCH for the worker and the raw consumer; None = the kit's default")
    parser.add_argument("--raw-queue-type", choices=("quorum", "classic"), default="quorum",
                        help="queue type of the raw-pika baseline (the kit's events queues are quorum)")
    parser.add_argument("--relay-wakeup", choices=("kit", "poll"), default="kit",
                        help="kit: the relay as the kit has it (LISTEN/NOTIFY wake-up when present); "
                             "poll: disable that wake-up in the worker so only RELAY_POLL_MS counts")
    parser.add_argument("--trace", action="store_true",
                        help="record per-event timings inside the worker (benchservice/trace.py) and print "
                             "where the time goes")
    parser.add_argument("--gc-freeze", action="store_true",
                        help="the bench worker calls gc.freeze() after its imports (tries a candidate kit change)")
    parser.add_argument("--skip-raw", action="store_true", help="run the pipeline only")
    parser.add_argument("--keep-log", action="store_true", help="keep the worker's log file")
    return parser


def install_sigterm() -> None:
    """SIGTERM behaves like Ctrl-C, and Ctrl-C works even when started with SIGINT ignored
    (a background job of a non-interactive shell): the finally blocks clean up."""
    def _raise(_signum, _frame):
        raise KeyboardInterrupt
    signal.signal(signal.SIGTERM, _raise)
    signal.signal(signal.SIGINT, signal.default_int_handler)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_answering(url: str, proc: subprocess.Popen, tail, timeout_s: float = 60.0) -> None:
    """Poll GET `url` until it answers 200 while `proc` runs.

    RuntimeError with `tail()` (the end of the process's log) when the process exits first or
    `timeout_s` passes: a benchmark never measures a process that is not up.
    """
    deadline = time.monotonic() + timeout_s
    while True:
        if proc.poll() is not None:
            raise RuntimeError(f"{url}: the process exited with {proc.returncode}:\n{tail()}")
        try:
            with urllib.request.urlopen(url, timeout=2) as answer:
                if answer.status == 200:
                    return
        except (OSError, http.client.HTTPException):  # not listening yet, or not ready (503)
            pass
        if time.monotonic() > deadline:
            raise RuntimeError(f"{url}: no answer within {timeout_s:g} s:\n{tail()}")
        time.sleep(0.05)


# -- statistics -------------------------------------------------------------
def stop_groups(procs, grace_s: float = 15.0, *, leader_only: bool = False) -> None:
    """Stop processes each started with start_new_session=True (a process group of its own).

    SIGTERM first (to the leader only with `leader_only`, e.g. a gunicorn master that stops its
    workers gracefully; else to the whole group), then, after `grace_s` for them all, SIGKILL to
    every group: no gunicorn worker or child may outlive a benchmark.
    """
    procs = [p for p in procs if p is not None]
    for proc in procs:
        if proc.poll() is None:
            try:
                proc.terminate() if leader_only else os.killpg(proc.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
    deadline = time.monotonic() + grace_s
    for proc in procs:
        try:
            proc.wait(max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            pass
        except KeyboardInterrupt:  # a second Ctrl-C: no more waiting
            pass
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        try:
            proc.wait(5)
        except subprocess.TimeoutExpired:
            print(f"warning: pid {proc.pid} did not exit", file=sys.stderr)


def percentile(values: list[float], q: float) -> float:
    """Linear interpolation between closest ranks (numpy's default)."""
    data = sorted(values)
    if not data:
        return float("nan")
    pos = (len(data) - 1) * q / 100
    lo = int(pos)
    hi = min(lo + 1, len(data) - 1)
    return data[lo] + (data[hi] - data[lo]) * (pos - lo)


def summary_ms(values_s: list[float]) -> dict[str, float]:
    ms = [v * 1000 for v in values_s]
    return {"n": len(ms), "p50": percentile(ms, 50), "p95": percentile(ms, 95), "p99": percentile(ms, 99),
            "max": max(ms) if ms else float("nan"), "mean": sum(ms) / len(ms) if ms else float("nan")}


# -- the run's infrastructure ---------------------------------------------
class BenchEnv:
    """A throwaway database, a private broker namespace and the worker process of one run."""

    def __init__(self, args, label: str):
        from servicekit.testing import BrokerNamespace, PostgresDatabases
        self.args = args
        self.label = label
        self.databases = PostgresDatabases(args.database_url)
        self.namespace = BrokerNamespace(args.amqp_url)
        self.db_url: str | None = None
        self.db = None
        self.workers: list[tuple[subprocess.Popen, int]] = []  # (process, metrics port)
        self.tmp = Path(tempfile.mkdtemp(prefix=f"envgrid-bench-{label}-"))
        self.worker_log = self.tmp / "worker.log"
        self.trace_path = self.tmp / "trace.json"
        self.raw_queue = f"t{self.namespace.tag}.bench.raw"
        self.raw_queue_declared = False
        self.raw_procs: list[multiprocessing.Process] = []

    # settings and environment of the worker process
    def worker_env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items()
               if not k.startswith("BENCH_") and k not in ("PROMETHEUS_MULTIPROC_DIR",)}
        env.update(self.namespace.env)
        env["DATABASE_URL"] = self.db_url or ""
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(BENCH_DIR), os.environ.get("PYTHONPATH")]))
        env["LOG_LEVEL"] = env.get("LOG_LEVEL", "WARNING")
        env.pop("ENVGRID_BENCH_POLL_ONLY", None)
        env.pop("ENVGRID_BENCH_TRACE", None)
        env.pop("ENVGRID_BENCH_GC_FREEZE", None)
        if getattr(self.args, "gc_freeze", False):
            env["ENVGRID_BENCH_GC_FREEZE"] = "1"
        if getattr(self.args, "trace", False):
            env["ENVGRID_BENCH_TRACE"] = str(self.trace_path)
        if self.args.relay_wakeup == "poll":
            env["ENVGRID_BENCH_POLL_ONLY"] = "1"
        for name, value in (("RELAY_POLL_MS", self.args.relay_poll_ms),
                            ("RELAY_BATCH_SIZE", self.args.relay_batch_size),
                            ("CONSUMER_PREFETCH", self.args.prefetch)):
            if value is not None:
                env[name] = str(value)
            else:
                env.pop(name, None)
        return env

    def settings(self):
        from servicekit.config import load_settings
        return load_settings(SERVICE, self.worker_env())

    def setup(self) -> None:
        from benchservice.bootstrap import SPEC
        from servicekit.db import Database
        from servicekit.migrate import upgrade
        self.db_url = self.databases.create(f"bench_{self.label}")
        upgrade(SPEC, self.settings())
        self.db = Database(self.db_url)

    def start_worker(self, count: int = 1, timeout: float = 30.0) -> None:
        """Start `count` worker processes (replicas, as a deployment would scale out) and wait until ready."""
        for index in range(count):
            port = free_port()
            env = {**self.worker_env(), "WORKER_METRICS_PORT": str(port)}
            if "ENVGRID_BENCH_TRACE" in env:
                env["ENVGRID_BENCH_TRACE"] = str(self.trace_file(index))
            with open(self.log_file(index), "wb") as log:
                proc = subprocess.Popen([sys.executable, "-m", "benchservice.worker"], env=env, stdout=log,
                                        stderr=subprocess.STDOUT, start_new_session=True, cwd=str(BENCH_DIR))
            self.workers.append((proc, port))
        deadline = time.monotonic() + timeout
        pending = list(self.workers)
        while pending and time.monotonic() < deadline:
            problem = self.dead_worker()
            if problem:
                raise RuntimeError(problem)
            proc, port = pending[0]
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=1) as resp:
                    if resp.status == 200:
                        pending.pop(0)
                        continue
            except OSError:
                pass
            time.sleep(0.05)
        if pending:
            raise RuntimeError(f"worker not ready within {timeout:.0f}s:\n{self.worker_log_tail()}")

    @property
    def worker(self) -> subprocess.Popen | None:
        return self.workers[0][0] if self.workers else None

    def log_file(self, index: int) -> Path:
        return self.worker_log if index == 0 else self.tmp / f"worker-{index}.log"

    def trace_file(self, index: int) -> Path:
        return self.trace_path if index == 0 else self.tmp / f"trace-{index}.json"

    def dead_worker(self) -> str | None:
        """A description of the first worker process that exited, if any did."""
        for index, (proc, _port) in enumerate(self.workers):
            if proc.poll() is not None:
                return f"worker {index} exited with {proc.returncode}:\n{self.worker_log_tail(index=index)}"
        return None

    def worker_cpu(self) -> float:
        """CPU seconds (user + system, all threads) the worker processes have used so far."""
        total = 0.0
        for proc, _port in self.workers:
            try:
                fields = Path(f"/proc/{proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
                total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
            except (OSError, IndexError, ValueError):
                return float("nan")
        return total

    def worker_log_tail(self, chars: int = 3000, index: int = 0) -> str:
        try:
            return self.log_file(index).read_text(errors="replace")[-chars:]
        except OSError:
            return ""

    def stop_worker(self) -> None:
        workers, self.workers = self.workers, []
        stop_groups([proc for proc, _port in workers])

    # raw pika baseline queue
    def declare_raw_queue(self) -> None:
        import pika
        connection = pika.BlockingConnection(pika.URLParameters(self.args.amqp_url))
        try:
            arguments = {"x-queue-type": self.args.raw_queue_type}
            connection.channel().queue_declare(self.raw_queue, durable=True, arguments=arguments)
            self.raw_queue_declared = True
        finally:
            connection.close()

    def start_raw_consumer(self, mode: str, expected: int, timeout: float):
        ctx = multiprocessing.get_context("spawn")
        ready, results = ctx.Event(), ctx.Queue()
        proc = ctx.Process(target=raw_consumer_main, name="raw-consumer", daemon=True,
                           args=(self.args.amqp_url, self.raw_queue, self.settings().consumer_prefetch,
                                 mode, expected, timeout, ready, results))
        proc.start()
        self.raw_procs.append(proc)
        if not ready.wait(30):
            raise RuntimeError("raw consumer did not start")
        return proc, results

    def cleanup(self) -> None:
        errors = []
        for step in (self.stop_worker, self._stop_raw, self._delete_broker_objects, self._drop_database):
            try:
                step()
            except BaseException as exc:  # keep cleaning whatever happens (a second Ctrl-C included)
                errors.append(f"{step.__name__}: {exc!r}")
        if self.args.keep_log:
            print(f"worker log(s) kept in {self.tmp}")
        else:
            try:
                for path in self.tmp.iterdir():
                    path.unlink()
                self.tmp.rmdir()
            except OSError:
                pass
        for error in errors:
            print(f"cleanup problem: {error}", file=sys.stderr)

    def _stop_raw(self) -> None:
        for proc in self.raw_procs:
            if proc.is_alive():
                proc.terminate()
                proc.join(5)
                if proc.is_alive():
                    proc.kill()
                    proc.join(5)

    def _delete_broker_objects(self) -> None:
        import pika
        self.namespace.cleanup((SERVICE,))
        if self.raw_queue_declared:
            connection = pika.BlockingConnection(pika.URLParameters(self.args.amqp_url))
            try:
                connection.channel().queue_delete(self.raw_queue)
            finally:
                connection.close()

    def _drop_database(self) -> None:
        if self.db is not None:
            self.db.dispose()
        self.databases.drop_all()


# -- raw pika ---------------------------------------------------------------
def raw_publisher(amqp_url: str):
    """A BlockingConnection channel with publisher confirms: basic_publish waits for each confirm."""
    import pika
    connection = pika.BlockingConnection(pika.URLParameters(amqp_url))
    channel = connection.channel()
    channel.confirm_delivery()
    return connection, channel


def raw_publish(channel, queue: str, body: bytes, message_id: str, headers: dict | None = None) -> None:
    import pika
    channel.basic_publish(exchange="", routing_key=queue, body=body, mandatory=True,
                          properties=pika.BasicProperties(message_id=message_id, delivery_mode=2,
                                                          content_type="application/json",
                                                          content_encoding="utf-8", headers=headers or {}))


def raw_consumer_main(amqp_url, queue, prefetch, mode, expected, timeout, ready, results) -> None:
    """Consume `expected` messages with manual acks (one basic_ack per message), then report.

    mode "throughput": reports (first delivery time, last ack time, count).
    mode "latency": reports {seq: receive time} (time.time() on delivery, before the ack),
    the seq coming from the message's `x-seq` header.
    """
    import pika
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent stops us
    connection = pika.BlockingConnection(pika.URLParameters(amqp_url))
    channel = connection.channel()
    channel.basic_qos(prefetch_count=prefetch)
    state = {"count": 0, "first": None, "last": None}
    received: dict[int, float] = {}

    def on_message(ch, method, properties, body):
        now = time.time()
        if state["first"] is None:
            state["first"] = now
        if mode == "latency":
            received[int(properties.headers["x-seq"])] = now
        ch.basic_ack(method.delivery_tag)
        state["count"] += 1
        state["last"] = time.time()

    channel.basic_consume(queue, on_message)
    ready.set()
    deadline = time.monotonic() + timeout
    while state["count"] < expected and time.monotonic() < deadline:
        connection.process_data_events(time_limit=0.2)
    connection.close()
    if mode == "latency":
        results.put({"count": state["count"], "received": received})
    else:
        results.put({"count": state["count"], "first": state["first"], "last": state["last"]})


# -- the header every run prints --------------------------------------------
def server_versions(args) -> dict[str, str]:
    import pika
    import sqlalchemy
    from servicekit.db import normalise_url
    versions = {"python": platform.python_version(), "pika": pika.__version__}
    try:
        connection = pika.BlockingConnection(pika.URLParameters(args.amqp_url))
        props = connection._impl.server_properties  # noqa: SLF001 - the only place pika exposes it
        versions["rabbitmq"] = props.get("version", b"?").decode() if isinstance(
            props.get("version"), bytes) else str(props.get("version"))
        connection.close()
    except Exception as exc:
        versions["rabbitmq"] = f"unreachable ({exc!r})"
    try:
        engine = sqlalchemy.create_engine(normalise_url(args.database_url))
        with engine.connect() as conn:
            versions["postgresql"] = conn.exec_driver_sql("SHOW server_version").scalar()
            versions["pg synchronous_commit"] = conn.exec_driver_sql("SHOW synchronous_commit").scalar()
        engine.dispose()
    except Exception as exc:
        versions["postgresql"] = f"unreachable ({exc!r})"
    return versions


def kit_state(args) -> str:
    """Whether the kit's relay wakes on LISTEN/NOTIFY, and whether the kit differs from HEAD."""
    from servicekit import outbox
    notify = "LISTEN/NOTIFY wake-up" if hasattr(outbox, "NOTIFY_CHANNEL") else "polling only"
    if args.relay_wakeup == "poll" and hasattr(outbox, "NOTIFY_CHANNEL"):
        notify = "polling only (kit's NOTIFY wake-up disabled in the bench worker by --relay-wakeup poll)"
    try:
        dirty = subprocess.run(["git", "-C", str(REPO_ROOT), "status", "--porcelain", "libs/servicekit/servicekit"],
                               capture_output=True, text=True, timeout=5).stdout.strip()
        head = subprocess.run(["git", "-C", str(REPO_ROOT), "rev-parse", "--short", "HEAD"],
                              capture_output=True, text=True, timeout=5).stdout.strip()
        changed = sorted({line[3:].rsplit("/", 1)[-1] for line in dirty.splitlines() if line.strip()})
        tree = f"HEAD {head}" + (f" + uncommitted changes to {', '.join(changed)}" if changed else "")
    except Exception:
        tree = "git unavailable"
    return f"relay: {notify}; kit: {tree}"


def print_header(title: str, args, env: BenchEnv, extra: dict | None = None) -> None:
    settings = env.settings()
    print(f"== {title} ==")
    print(f"date: {time.strftime('%Y-%m-%d %H:%M:%S %Z')}")
    nproc = subprocess.run(["nproc"], capture_output=True, text=True).stdout.strip() or str(os.cpu_count())
    print(f"machine: {platform.node()} nproc={nproc} ({platform.machine()}, {platform.system()} {platform.release()}); "
          f"loadavg {loadavg()} (other work on the machine shows here and skews the figures)")
    print("versions: " + ", ".join(f"{k} {v}" for k, v in server_versions(args).items()))
    print(kit_state(args))
    poll = f"{settings.relay_poll_ms} ms" + (" (kit default)" if args.relay_poll_ms is None else " (set by --relay-poll-ms)")
    batch = f"{settings.relay_batch_size}" + (" (kit default)" if args.relay_batch_size is None else "")
    prefetch = f"{settings.consumer_prefetch}" + (" (kit default)" if args.prefetch is None else "")
    print(f"settings: relay batch size {batch}, consumer prefetch {prefetch}, relay poll interval {poll}")
    print(f"pipeline: kit worker subprocess (python -m benchservice.worker: consumer + relay threads), "
          f"queue {settings.queue_name('events')} (quorum), exchange {settings.events_exchange}")
    print(f"raw baseline: pika BlockingConnection, confirm_delivery, one confirm per publish, persistent, "
          f"{args.raw_queue_type} queue {env.raw_queue}; consumer in its own process, manual ack, "
          f"prefetch {settings.consumer_prefetch}")
    tweaks = [name for name, on in (("gc.freeze() in the worker (--gc-freeze)", getattr(args, "gc_freeze", False)),
                                    ("worker timing trace (--trace)", getattr(args, "trace", False))) if on]
    if tweaks:
        print("bench-only tweaks: " + "; ".join(tweaks))
    for key, value in (extra or {}).items():
        print(f"{key}: {value}")
    print(flush=True)


def read_trace(env: "BenchEnv") -> dict[str, dict]:
    """The workers' per-event timings (after they stopped), or {} without --trace."""
    if not getattr(env.args, "trace", False):
        return {}
    merged: dict = {"_gc": []}
    for path in sorted(env.tmp.glob("trace*.json")):
        data = json.loads(path.read_text())
        merged["_gc"] += data.pop("_gc", [])
        for event_id, record in data.items():  # one worker's relay sent it, maybe another's consumer took it
            merged.setdefault(event_id, {}).update(record)
    return merged


def loadavg() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def new_id() -> str:
    return str(uuid.uuid4())


def dumps(obj) -> str:
    return json.dumps(obj, separators=(",", ":"))
