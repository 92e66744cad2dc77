#!/usr/bin/env python
"""Where the consumer's time goes: the database side of consumption, in process, no broker.

pipeline_throughput.py showed the consumer as the pipeline's bottleneck (one transaction
per message). This applies `bench.ping` messages on a fresh PostgreSQL database with:

  kit, one per call        Consumer.process(body): one message per transaction, whatever
                           the kit does inside (older kits: SELECT-then-INSERT inbox check,
                           new marshmallow schema instances per message; since 2b9df1c:
                           INSERT .. ON CONFLICT, cached schemas)
  kit, process_batch of K  Consumer.process_batch (kits since 2b9df1c): K = prefetch
                           messages in one transaction, one COMMIT
  older kit + cached schemas   (older kits only) one EnvelopeSchema / data-schema instance
  proto: batch of K        prototype: K messages per transaction, INSERT .. ON CONFLICT
                           DO NOTHING RETURNING as the inbox check, one COMMIT
  proto: batch of K + savepoint each   the same with a SAVEPOINT per message, so a failing
                           handler need not roll back the others (the design the kit
                           did not choose: it retries a failed batch one by one)

Variants are patched in this process only (the kit's code is not changed); the
prototypes are sketches written here to measure them. Rounds are interleaved so a
burst of load on the machine hits every variant alike; medians are printed. (Variants
without the pool's pre-ping were dropped once the kit stopped pre-pinging: acc47e7.)
"""
from __future__ import annotations

import os
import sys
import time
from contextlib import contextmanager

import benchlib
from benchlib import BenchEnv


def parse_args(argv=None):
    parser = benchlib.base_parser(__doc__.split("\n\n")[0])
    parser.add_argument("--messages", type=int, default=1000, help="messages per variant and round")
    parser.add_argument("--rounds", type=int, default=3,
                        help="rounds over all variants (interleaved, so a burst of load hits them alike)")
    return parser.parse_args(argv)


def bodies(count: int, tag: str) -> list[bytes]:
    from benchservice.bootstrap import PING
    from servicekit.events import new_envelope
    return [new_envelope(PING, {"run": tag[:20], "seq": i, "note": "bench"}, "bench").to_json().encode()
            for i in range(count)]


@contextmanager
def cached_schemas():
    from marshmallow import EXCLUDE
    from servicekit import events
    envelope_schema = events.EnvelopeSchema()
    saved_cls, saved_load = events.EnvelopeSchema, events.registry.load
    cache = {}

    def load(envelope):
        key = (envelope.type, envelope.version)
        if key not in cache:
            cache[key] = events.registry.schema(*key)(unknown=EXCLUDE)
        return cache[key].load(envelope.data)

    events.EnvelopeSchema = lambda: envelope_schema
    events.registry.load = load
    try:
        yield
    finally:
        events.EnvelopeSchema = saved_cls
        del events.registry.load
        assert events.registry.load == saved_load


def proto_process(db, batch: list[bytes], handlers, savepoints: bool) -> None:
    """One transaction for the whole batch; the inbox insert doubles as the duplicate check."""
    from sqlalchemy.dialects.postgresql import insert as pg_insert
    from servicekit.events import Envelope, registry
    from servicekit.tables import inbox, utcnow
    with db.transaction() as session:
        for body in batch:
            envelope = Envelope.from_json(body)
            data = registry.load(envelope)
            nested = session.begin_nested() if savepoints else None
            fresh = session.execute(pg_insert(inbox).values(
                event_id=envelope.id, event_type=envelope.type, processed_at=utcnow())
                .on_conflict_do_nothing().returning(inbox.c.event_id)).first()
            if fresh is not None:
                handlers[envelope.type](session, envelope, data)
            if nested is not None:
                nested.commit()


RESULTS: dict[str, list[float]] = {}


def measure(label: str, fn, msgs: list[bytes], batch: int = 1) -> None:
    """Time `fn` over `msgs` (after 64 warm-up messages); keeps the ms per message under `label`."""
    warm, timed = msgs[:64], msgs[64:]
    for i in range(0, len(warm), batch):
        fn(warm[i:i + batch])
    started = time.perf_counter()
    for i in range(0, len(timed), batch):
        fn(timed[i:i + batch])
    RESULTS.setdefault(label, []).append((time.perf_counter() - started) / len(timed))


def main(argv=None) -> int:
    args = parse_args(argv)
    benchlib.install_sigterm()
    env = BenchEnv(args, "prof")
    try:
        env.setup()
        from benchservice.bootstrap import SPEC
        from servicekit.consumer import Consumer
        from servicekit.events import registry
        settings = env.settings()
        k = settings.consumer_prefetch
        print("== consumer profile (database side only, in-process, no broker) ==")
        print(f"date: {time.strftime('%Y-%m-%d %H:%M:%S %Z')}; nproc={os.cpu_count()}; loadavg {benchlib.loadavg()}")
        print(f"{args.messages} messages per variant and round (+64 warm-up), {args.rounds} rounds; "
              f"batch K = consumer prefetch = {k}\n")
        consumer = Consumer(settings, env.db, registry, SPEC.handlers)

        def kit(batch):
            for body in batch:
                outcome, _ = consumer.process(body, 1)
                assert outcome.action == "processed", outcome

        n = args.messages + 64
        batched = hasattr(consumer, "process_batch")

        def kit_batch(batch):
            for outcome, _ in consumer.process_batch([(body, 1) for body in batch]):
                assert outcome.action == "processed", outcome

        def proto(savepoints):
            return lambda b: proto_process(env.db, b, SPEC.handlers, savepoints)

        for round_no in range(args.rounds):
            tag = f"r{round_no}"
            measure("kit, one per call", kit, bodies(n, tag + "kit"))
            if batched:
                measure(f"kit, process_batch of {k}", kit_batch, bodies(n, tag + "kb"), batch=k)
            else:
                with cached_schemas():
                    measure("older kit + cached schemas", kit, bodies(n, tag + "cache"))
            measure(f"proto: batch of {k}, ON CONFLICT", proto(False), bodies(n, tag + "pb"), batch=k)
            measure(f"proto: batch of {k} + savepoint each", proto(True), bodies(n, tag + "pbs"), batch=k)
        print(f"{'variant':<44}{'ms/msg (median)':>16}{'msgs/s':>10}{'rounds (ms/msg)':>24}")
        for label, values in RESULTS.items():
            median = benchlib.percentile(values, 50)
            print(f"{label:<44}{median * 1000:>16.3f}{1 / median:>10.0f}    "
                  + " ".join(f"{v * 1000:.3f}" for v in values))
        print(f"loadavg at the end: {benchlib.loadavg()}")
        return 0
    except KeyboardInterrupt:
        print("\ninterrupted: cleaning up", file=sys.stderr)
        return 130
    finally:
        env.cleanup()


if __name__ == "__main__":
    sys.exit(main())
