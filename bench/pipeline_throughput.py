#!/usr/bin/env python
"""Throughput of the event pipeline: outbox -> relay -> RabbitMQ -> consumer -> inbox, on PostgreSQL.

Pipeline: the kit's worker process (consumer + relay threads) runs on a fresh database
and private queue names. Once it is ready and warmed up, N `bench.ping` events are
written to the outbox in ONE transaction (Outbox.add each); the clock starts just
before that transaction commits and stops at the last handler's completion time
(each handler inserts one row and stamps it). The relay only sees the rows at commit,
so the whole backlog is "pre-filled" the moment it becomes visible.

Baseline, same run, same broker: raw pika. The same N envelope bodies are published
one confirm at a time (BlockingConnection + confirm_delivery, persistent, mandatory)
to a durable queue while a consumer in its own process consumes them with one
manual ack per message. Reported: publish rate and end-to-end (publish+consume) rate.

Prints figures only; it asserts nothing about timing.
"""
from __future__ import annotations

import sys
import time

import benchlib
from benchlib import BenchEnv


def parse_args(argv=None):
    parser = benchlib.base_parser(__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=5000, help="events per measurement (N)")
    parser.add_argument("--warmup", type=int, default=20, help="events sent through first, not measured")
    parser.add_argument("--timeout", type=float, default=120.0, help="give up on a phase after this many seconds")
    parser.add_argument("--workers", type=int, default=1,
                        help="worker processes (replicas) sharing the outbox and the queue, as when scaled out")
    return parser.parse_args(argv)


def wait_handled(env: BenchEnv, run: str, expected: int, timeout: float, t0: float | None = None):
    """Poll until `expected` rows of `run` are handled. Returns (relay_done_time, handled_count)."""
    from sqlalchemy import text
    deadline = time.monotonic() + timeout
    relay_done = None
    with env.db.engine.connect() as conn:
        while True:
            unsent, handled = conn.execute(text(
                "SELECT (SELECT count(*) FROM outbox WHERE sent_at IS NULL),"
                " (SELECT count(*) FROM bench_pings WHERE run = :run)"), {"run": run}).one()
            conn.commit()
            now = time.time()
            if relay_done is None and unsent == 0:
                relay_done = now
            if handled >= expected:
                return relay_done, handled
            if time.monotonic() > deadline:
                raise RuntimeError(f"{run}: only {handled}/{expected} handled after {timeout:.0f}s "
                                   f"({unsent} still unsent in the outbox)\n{env.worker_log_tail()}")
            problem = env.dead_worker()
            if problem:
                raise RuntimeError(problem)
            time.sleep(0.02)


def fill_outbox(env: BenchEnv, run: str, count: int) -> tuple[float, list[str]]:
    """Outbox.add_many (or .add) `count` pings in one transaction; returns (time just before COMMIT, event ids)."""
    from benchservice.bootstrap import OUTBOX, PING
    session = env.db.session()
    try:
        session.begin()
        events = [(PING, {"run": run, "seq": i, "note": "bench"}) for i in range(count)]
        if hasattr(OUTBOX, "add_many"):  # one multi-row INSERT (newer kits)
            ids = OUTBOX.add_many(session, events)
        else:
            ids = [OUTBOX.add(session, event_type, data) for event_type, data in events]
        t0 = time.time()
        session.commit()
    finally:
        session.close()
    return t0, ids


def run_pipeline(env: BenchEnv, args) -> dict:
    from sqlalchemy import text
    env.start_worker(args.workers)
    # Warm-up: connections, the worker's DB pool and caches; not measured.
    fill_outbox(env, "warmup", args.warmup)
    wait_handled(env, "warmup", args.warmup, args.timeout)

    n = args.events
    cpu0 = env.worker_cpu()
    t0, ids = fill_outbox(env, "tput", n)
    t_committed = time.time()
    relay_done, handled = wait_handled(env, "tput", n, args.timeout)
    worker_cpu = (env.worker_cpu() - cpu0) / (time.time() - t0)
    with env.db.engine.connect() as conn:
        first, last, rows, distinct = conn.execute(text(
            "SELECT min(handled_at), max(handled_at), count(*), count(DISTINCT seq) FROM bench_pings"
            " WHERE run = 'tput'")).one()
    env.stop_worker()
    trace = benchlib.read_trace(env)
    detail = {}
    if trace:
        recs = [trace[i] for i in ids if i in trace]
        consumer_batches = {}
        for r in recs:
            if "deliver" in r and "processed" in r:
                consumer_batches[r["deliver"]] = r
        ordered = [consumer_batches[k] for k in sorted(consumer_batches)]
        detail["consumer batch: applied (began -> committed)"] = [r["processed"] - r["deliver"] for r in ordered]
        detail["consumer batch: committed -> acked"] = [r.get("acked", r["processed"]) - r["processed"]
                                                        for r in ordered]
        detail["consumer batch: acked -> next batch began"] = [
            nxt["deliver"] - cur.get("acked", cur["processed"]) for cur, nxt in zip(ordered, ordered[1:])]
        detail["consumer per message: batch time / batch size"] = [
            (r["processed"] - r["deliver"]) / r.get("cbatch", 1) for r in ordered]
        detail["_cbatches"] = [r.get("cbatch", 1) for r in ordered]
        relay_batches = {}
        for r in recs:
            if "publish" in r:
                relay_batches[r["publish"]] = r
        detail["relay batch: cycle began -> publish"] = [r["publish"] - r["cycle"] for r in relay_batches.values()
                                                         if r.get("cycle")]
        detail["relay batch: publish -> all confirmed"] = [r["confirmed"] - r["publish"]
                                                           for r in relay_batches.values()]
        detail["relay batch: confirmed -> rows marked + committed"] = [
            r["relayed"] - r["confirmed"] for r in relay_batches.values() if "relayed" in r]
        detail["_batches"] = [r["batch"] for r in relay_batches.values()]
        t_end = t0 + 120
        detail["_gc"] = [(at - t0, took, gen) for at, took, gen in trace.get("_gc", []) if t0 <= at <= t_end]
    return {"detail": detail, "worker_cpu": worker_cpu, "t0": t0, "commit_s": t_committed - t0, "first": first, "last": last, "relay_done": relay_done,
            "rows": rows, "distinct": distinct, "ids": ids}


def run_raw(env: BenchEnv, args, ids: list[str]) -> dict:
    from sqlalchemy import select
    from servicekit.tables import outbox
    with env.db.transaction() as session:
        payload = dict(session.execute(select(outbox.c.event_id, outbox.c.payload)
                                       .where(outbox.c.event_id.in_(ids))).all())
    bodies = [(event_id, payload[event_id].encode()) for event_id in ids]
    n = len(bodies)
    env.declare_raw_queue()
    proc, results = env.start_raw_consumer("throughput", n, args.timeout)
    connection, channel = benchlib.raw_publisher(args.amqp_url)
    try:
        t0 = time.time()
        for event_id, body in bodies:
            benchlib.raw_publish(channel, env.raw_queue, body, event_id)
        t_published = time.time()
    finally:
        connection.close()
    result = results.get(timeout=args.timeout)
    proc.join(10)
    if result["count"] < n:
        raise RuntimeError(f"raw consumer got {result['count']}/{n}")

    # Consume-only ceiling: fill the queue first (no confirms: only the drain is timed), then drain it.
    import pika
    connection = pika.BlockingConnection(pika.URLParameters(args.amqp_url))
    try:
        channel = connection.channel()
        for event_id, body in bodies:
            channel.basic_publish("", env.raw_queue, body, pika.BasicProperties(message_id=event_id,
                                                                                delivery_mode=2))
        deadline = time.monotonic() + args.timeout
        while channel.queue_declare(env.raw_queue, passive=True).method.message_count < n:
            if time.monotonic() > deadline:
                raise RuntimeError("raw queue did not fill")
            time.sleep(0.05)
    finally:
        connection.close()
    proc, results = env.start_raw_consumer("throughput", n, args.timeout)
    drained = results.get(timeout=args.timeout)
    proc.join(10)
    return {"t0": t0, "published": t_published, "first": result["first"], "last": result["last"],
            "drain_first": drained["first"], "drain_last": drained["last"]}


def main(argv=None) -> int:
    args = parse_args(argv)
    benchlib.install_sigterm()
    env = BenchEnv(args, "tput")
    try:
        env.setup()
        benchlib.print_header("pipeline throughput", args, env, {
            "events": f"{args.events} (+{args.warmup} warm-up, not measured)",
            "worker processes": f"{args.workers}" + (" (--workers)" if args.workers != 1 else ""),
            "handler": "one INSERT (bench_pings) in the inbox transaction; one commit per event"})
        pipe = run_pipeline(env, args)
        n = args.events
        pipe_s = pipe["last"] - pipe["t0"]
        relay_s = (pipe["relay_done"] or pipe["last"]) - pipe["t0"]
        consume_s = pipe["last"] - pipe["first"]
        raw = None if args.skip_raw else run_raw(env, args, pipe["ids"])

        print(f"{'measure':<64}{'events/s':>10}{'seconds':>10}")
        rows = [
            ("pipeline end-to-end (commit -> last handler done)", n / pipe_s, pipe_s),
            ("  relay: outbox -> all confirmed + marked sent (+-20 ms)", n / relay_s, relay_s),
            ("  consumer: first -> last handler done", n / consume_s if consume_s > 0 else float("nan"),
             consume_s),
        ]
        if raw:
            raw_s = raw["last"] - raw["t0"]
            pub_s = raw["published"] - raw["t0"]
            rows += [
                ("raw pika end-to-end (first publish -> last ack)", n / raw_s, raw_s),
                ("  raw publish, one confirm each", n / pub_s, pub_s),
                ("  raw consume only (drain a pre-filled queue)", n / (raw["drain_last"] - raw["drain_first"]),
                 raw["drain_last"] - raw["drain_first"]),
            ]
        for name, rate, secs in rows:
            print(f"{name:<64}{rate:>10.0f}{secs:>10.2f}")
        if raw:
            ratio = (n / pipe_s) / (n / raw_s)
            print(f"{'ratio pipeline / raw end-to-end (target >= 1.0)':<64}{ratio:>10.2f}")
            print(f"{'ratio pipeline relay / raw publish':<64}{(n / relay_s) / (n / pub_s):>10.2f}")
        if pipe["detail"]:
            detail = pipe["detail"]
            sizes, pauses, csizes = detail.pop("_batches"), detail.pop("_gc"), detail.pop("_cbatches")
            print(f"\nworker trace (--trace): {len(sizes)} relay batches (sizes p50 "
                  f"{benchlib.percentile(sizes, 50):.0f}, max {max(sizes)}); {len(csizes)} consumer batches "
                  f"(sizes p50 {benchlib.percentile(csizes, 50):.0f}, max {max(csizes)}); worker GC {len(pauses)} collections, "
                  f"{sum(p[1] for p in pauses) * 1000:.0f} ms, longest {max((p[1] for p in pauses), default=0) * 1000:.0f} ms")
            print(f"{'  (ms)':<52}{'n':>6}{'p50':>8}{'p95':>8}{'p99':>8}{'max':>8}{'mean':>8}")
            for name, values in detail.items():
                st = benchlib.summary_ms(values)
                print(f"{'  ' + name:<52}{st['n']:>6}{st['p50']:>8.2f}{st['p95']:>8.2f}{st['p99']:>8.2f}"
                      f"{st['max']:>8.2f}{st['mean']:>8.2f}")
        print(f"\nworker process{'es' if args.workers > 1 else ''} CPU while draining: "
              f"{pipe['worker_cpu'] * 100:.0f}% of one core")
        print(f"loadavg at the end: {benchlib.loadavg()}")
        print(f"checks: {pipe['rows']} handler rows, {pipe['distinct']} distinct seq (expected {n}); "
              f"fill transaction commit took {pipe['commit_s'] * 1000:.0f} ms")
        return 0
    except KeyboardInterrupt:
        print("\ninterrupted: cleaning up", file=sys.stderr)
        return 130
    finally:
        env.cleanup()


if __name__ == "__main__":
    sys.exit(main())
