#!/usr/bin/env python
"""Latency of the event pipeline at a fixed offered rate: commit -> handler done, on PostgreSQL.

Pipeline: the kit's worker process (consumer + relay threads) runs on a fresh database
and private queue names. A producer thread commits one `bench.ping` event per 1/rate s
(Outbox.add in its own transaction; the schedule is fixed, so a slow commit does not
lower the offered rate) and notes the wall-clock time right after each COMMIT returns.
The handler stamps its row with its own completion time. latency = handler done -
commit. The outbox row's sent_at (the relay's clock when it picked the batch) splits
that into "waiting for the relay" and "relay publish + broker + consumer".

Baseline, same run, same broker: raw pika at the same rate. A publisher
(BlockingConnection + confirm_delivery, persistent) publishes one message per 1/rate s
and waits for its confirm; a consumer in its own process receives it and acks it.
latency = delivery seen by the consumer (before its ack) - start of the publish.

Prints figures only; it asserts nothing about timing.
"""
from __future__ import annotations

import sys
import threading
import time

import benchlib
from benchlib import BenchEnv


def parse_args(argv=None):
    parser = benchlib.base_parser(__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=2000, help="events per measurement")
    parser.add_argument("--rate", type=float, default=100.0, help="offered rate, events per second")
    parser.add_argument("--warmup", type=int, default=20, help="events sent first at the same rate, not measured")
    parser.add_argument("--timeout", type=float, default=60.0, help="wait this long for stragglers")
    return parser.parse_args(argv)


class Producer(threading.Thread):
    """Commits one event per period on a fixed schedule; records the time each commit returned."""

    def __init__(self, env: BenchEnv, run: str, count: int, rate: float):
        super().__init__(name=f"producer-{run}", daemon=True)
        self.env, self.run_name, self.count, self.period = env, run, count, 1.0 / rate
        self.committed: dict[int, float] = {}
        self.event_ids: dict[int, str] = {}
        self.commit_took: dict[int, float] = {}
        self.max_lag = 0.0
        self.started = self.finished = 0.0
        self.error: BaseException | None = None
        self.stop = threading.Event()

    def run(self) -> None:
        from benchservice.bootstrap import OUTBOX, PING
        try:
            self.started = time.monotonic()
            for seq in range(self.count):
                due = self.started + seq * self.period
                delay = due - time.monotonic()
                if delay > 0:
                    time.sleep(delay)
                else:
                    self.max_lag = max(self.max_lag, -delay)
                if self.stop.is_set():
                    return
                began = time.time()
                with self.env.db.transaction() as session:
                    self.event_ids[seq] = OUTBOX.add(session, PING, {"run": self.run_name, "seq": seq,
                                                                      "note": "bench"})
                self.committed[seq] = time.time()
                self.commit_took[seq] = self.committed[seq] - began
            self.finished = time.monotonic()
        except BaseException as exc:  # reported by the main thread
            self.error = exc


def produce(env: BenchEnv, run: str, count: int, rate: float) -> Producer:
    producer = Producer(env, run, count, rate)
    producer.start()
    try:
        while producer.is_alive():
            producer.join(0.2)
            problem = env.dead_worker()
            if problem:
                raise RuntimeError(problem)
    finally:
        producer.stop.set()
        producer.join(5)
    if producer.error:
        raise producer.error
    return producer


def wait_handled(env: BenchEnv, run: str, expected: int, timeout: float) -> None:
    from sqlalchemy import text
    deadline = time.monotonic() + timeout
    with env.db.engine.connect() as conn:
        while True:
            handled = conn.execute(text("SELECT count(*) FROM bench_pings WHERE run = :run"), {"run": run}).scalar()
            conn.commit()
            if handled >= expected:
                return
            if time.monotonic() > deadline:
                raise RuntimeError(f"{run}: only {handled}/{expected} handled after {timeout:.0f}s\n"
                                   f"{env.worker_log_tail()}")
            time.sleep(0.05)


def run_pipeline(env: BenchEnv, args) -> dict:
    from sqlalchemy import select, text
    from servicekit.tables import outbox
    env.start_worker()
    produce(env, "warmup", args.warmup, args.rate)
    wait_handled(env, "warmup", args.warmup, args.timeout)

    cpu0, wall0 = env.worker_cpu(), time.monotonic()
    producer = produce(env, "lat", args.events, args.rate)
    wait_handled(env, "lat", args.events, args.timeout)
    worker_cpu = (env.worker_cpu() - cpu0) / (time.monotonic() - wall0)
    with env.db.engine.connect() as conn:
        handled = dict(conn.execute(text("SELECT seq, handled_at FROM bench_pings WHERE run = 'lat'")).all())
        sent = {event_id: at.timestamp() for event_id, at in conn.execute(
            select(outbox.c.event_id, outbox.c.sent_at).where(
                outbox.c.event_id.in_(list(producer.event_ids.values())))).all()}
        vacuums = conn.execute(text(
            "SELECT relname, extract(epoch FROM last_autovacuum), extract(epoch FROM last_autoanalyze)"
            " FROM pg_stat_user_tables WHERE last_autovacuum IS NOT NULL OR last_autoanalyze IS NOT NULL")).all()
    env.stop_worker()
    seqs = sorted(producer.committed)
    t_first = producer.committed[0]
    autovac = [f"{name} {kind} t{float(at) - t_first:+.1f}s" for name, vac, ana in vacuums
               for kind, at in (("autovacuum", vac), ("autoanalyze", ana)) if at is not None]
    total = [handled[s] - producer.committed[s] for s in seqs]
    pickup = [sent[producer.event_ids[s]] - producer.committed[s] for s in seqs]
    rest = [handled[s] - sent[producer.event_ids[s]] for s in seqs]
    elapsed = producer.finished - producer.started
    trace = benchlib.read_trace(env)
    segments = {}
    if trace:
        spans = (("commit -> relay cycle began", None, "cycle"), ("relay cycle began -> publish", "cycle", "publish"),
                 ("publish -> confirmed (broker round trip)", "publish", "confirmed"),
                 ("publish -> consumer got it", "publish", "deliver"),
                 ("consumer: batch began -> handler done", "deliver", "handler"),
                 ("consumer: handler done -> batch committed", "handler", "processed"),
                 ("consumer: batch began -> committed", "deliver", "processed"),
                 ("consumer: batch committed -> acked", "processed", "acked"),
                 ("relay: confirmed -> rows marked + committed", "confirmed", "relayed"))
        for name, a, b in spans:
            values = []
            for s in seqs:
                r = {**trace.get(producer.event_ids[s], {}), "handler": handled[s]}
                start = producer.committed[s] if a is None else r.get(a)
                if start is not None and r.get(b) is not None:
                    values.append(r[b] - start)
            segments[name] = values
        batches = [trace.get(producer.event_ids[s], {}).get("batch", 0) for s in seqs]
        segments["_batch"] = batches
        segments["_cbatch"] = [trace.get(producer.event_ids[s], {}).get("cbatch", 0) for s in seqs]
        t_end = producer.committed[seqs[-1]] + 1.0
        segments["_gc"] = [(start - producer.committed[0], took, gen) for start, took, gen in trace.get("_gc", [])
                           if producer.committed[0] <= start <= t_end]
    return {"segments": segments, "autovac": autovac, "worker_cpu": worker_cpu, "total": total, "pickup": pickup, "rest": rest, "max_lag": producer.max_lag,
            "commit_took": [producer.commit_took[s] for s in seqs],
            "committed": [producer.committed[s] for s in seqs],
            "achieved": len(seqs) / elapsed if elapsed > 0 else float("nan"),
            "body": None, "event_ids": producer.event_ids}


def run_raw(env: BenchEnv, args, body: bytes) -> dict:
    env.declare_raw_queue()
    n, warm = args.events, args.warmup
    proc, results = env.start_raw_consumer("latency", n + warm, args.timeout + n / args.rate)
    connection, channel = benchlib.raw_publisher(args.amqp_url)
    sent: dict[int, float] = {}
    confirmed: dict[int, float] = {}
    max_lag = 0.0
    try:
        period = 1.0 / args.rate
        for phase_seqs in (range(-warm, 0), range(n)):
            start = time.monotonic()
            for k, seq in enumerate(phase_seqs):
                delay = start + k * period - time.monotonic()
                if delay > 0:
                    time.sleep(delay)
                elif seq >= 0:
                    max_lag = max(max_lag, -delay)
                sent[seq] = time.time()
                benchlib.raw_publish(channel, env.raw_queue, body, benchlib.new_id(), headers={"x-seq": seq})
                confirmed[seq] = time.time()
            if seq < 0:
                time.sleep(0.5)  # let the warm-up drain
        elapsed = time.monotonic() - start
    finally:
        connection.close()
    result = results.get(timeout=args.timeout + 10)
    proc.join(10)
    received = result["received"]
    missing = [s for s in range(n) if s not in received]
    if missing:
        raise RuntimeError(f"raw consumer missed {len(missing)} messages")
    return {"total": [received[s] - sent[s] for s in range(n)],
            "confirm": [confirmed[s] - sent[s] for s in range(n)],
            "max_lag": max_lag, "achieved": n / elapsed}


def main(argv=None) -> int:
    args = parse_args(argv)
    benchlib.install_sigterm()
    env = BenchEnv(args, "lat")
    try:
        env.setup()
        benchlib.print_header("pipeline latency", args, env, {
            "offered rate": f"{args.rate:g} events/s, {args.events} events (+{args.warmup} warm-up, not measured)",
            "handler": "one INSERT (bench_pings) in the inbox transaction; handler-done stamped in the handler"})
        pipe = run_pipeline(env, args)
        raw = None
        if not args.skip_raw:
            from sqlalchemy import select
            from servicekit.tables import outbox
            with env.db.transaction() as session:
                body = session.execute(select(outbox.c.payload).where(
                    outbox.c.event_id == pipe["event_ids"][0])).scalar().encode()
            raw = run_raw(env, args, body)

        def line(name, values):
            s = benchlib.summary_ms(values)
            print(f"{name:<56}{s['n']:>6}{s['p50']:>8.1f}{s['p95']:>8.1f}{s['p99']:>8.1f}{s['max']:>8.1f}"
                  f"{s['mean']:>8.1f}")
            return s

        print(f"{'latency (ms)':<56}{'n':>6}{'p50':>8}{'p95':>8}{'p99':>8}{'max':>8}{'mean':>8}")
        pipe_s = line("pipeline: commit -> handler done", pipe["total"])
        line("  commit -> relay picked the row (sent_at)", pipe["pickup"])
        line("  relay picked -> handler done", pipe["rest"])
        if raw:
            raw_s = line("raw pika: publish -> consumer got it", raw["total"])
            line("  raw publish -> confirm", raw["confirm"])
        line("  producer transaction: begin -> commit returned", pipe["commit_took"])
        if pipe["segments"]:
            batches = pipe["segments"].pop("_batch")
            cbatches = pipe["segments"].pop("_cbatch")
            pauses = pipe["segments"].pop("_gc")
            long_pauses = [p for p in pauses if p[1] > 0.005]
            print(f"worker GC during the measured phase: {len(pauses)} collections, "
                  f"{sum(p[1] for p in pauses) * 1000:.0f} ms in all; over 5 ms: " + (", ".join(
                      f"gen{g} {took * 1000:.0f} ms at t+{at:.1f}s" for at, took, g in long_pauses) or "none"))
            print(f"worker trace (--trace): relay batch size p50 {benchlib.percentile(batches, 50):.0f} "
                  f"max {max(batches)}; consumer batch size p50 {benchlib.percentile(cbatches, 50):.0f} "
                  f"max {max(cbatches)}")
            for name, values in pipe["segments"].items():
                line("  " + name, values)
        print()
        slow_ms = max(20.0, 3 * benchlib.percentile(pipe["total"], 50) * 1000)
        slow = [(c, t) for c, t in zip(pipe["committed"], pipe["total"]) if t * 1000 > slow_ms]
        if slow:
            # Group slow events that are less than a second apart: one group = one stall.
            groups, last = [], None
            for c, t in slow:
                if last is None or c - last > 1.0:
                    groups.append([c, c, 0, 0.0])
                groups[-1][1], groups[-1][2], groups[-1][3] = c, groups[-1][2] + 1, max(groups[-1][3], t)
                last = c
            t_first = pipe["committed"][0]
            print(f"pipeline events slower than {slow_ms:.0f} ms: {len(slow)}, in {len(groups)} stall(s): " + "; ".join(
                f"t+{g[0] - t_first:.1f}s..{g[1] - t_first:.1f}s {g[2]} events max {g[3] * 1000:.0f} ms"
                for g in groups[:8]) + (" ..." if len(groups) > 8 else ""))
        if pipe["autovac"]:
            print("PostgreSQL autovacuum on the bench tables (t relative to the first measured commit): "
                  + ", ".join(pipe["autovac"]))
        print(f"worker process CPU during the measured phase: {pipe['worker_cpu'] * 100:.0f}% of one core")
        print(f"loadavg at the end: {benchlib.loadavg()}")
        print(f"offered {args.rate:g}/s; achieved: pipeline producer {pipe['achieved']:.1f}/s "
              f"(max lag behind schedule {pipe['max_lag'] * 1000:.1f} ms)"
              + (f", raw publisher {raw['achieved']:.1f}/s (max lag {raw['max_lag'] * 1000:.1f} ms)" if raw else ""))
        if raw:
            diff = pipe_s["p99"] - raw_s["p99"]
            print(f"p99 pipeline - p99 raw = {diff:+.1f} ms (target <= +10 ms)")
            print(f"p50 pipeline - p50 raw = {pipe_s['p50'] - raw_s['p50']:+.1f} ms")
        return 0
    except KeyboardInterrupt:
        print("\ninterrupted: cleaning up", file=sys.stderr)
        return 130
    finally:
        env.cleanup()


if __name__ == "__main__":
    sys.exit(main())
