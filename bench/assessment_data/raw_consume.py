#!/usr/bin/env python
"""The raw-pika baseline consumer of assessment_bench.py, run as a process of its own.

Drains `expected` messages from a pre-filled queue with the same loop shape as the kit's
consumer (BlockingConnection, basic_qos(prefetch), channel.consume; whatever deliveries are
already waiting join the batch; one multiple-ack per batch), and either
  ack      does nothing else with a message, or
  insert   parses the envelope (json.loads) and INSERTs one inbox-like row per message
           (psycopg 3, INSERT .. ON CONFLICT DO NOTHING), one COMMIT per batch, then acks.
Prints one JSON line: count, first delivery and last ack times (time.time()), CPU seconds.

    raw_consume.py AMQP_URL QUEUE PREFETCH EXPECTED TIMEOUT MODE [POSTGRES_URL]
"""
from __future__ import annotations

import json
import signal
import sys
import time


def main(argv: list[str]) -> int:
    import pika
    amqp_url, queue, prefetch, expected, timeout, mode = argv[:6]
    prefetch, expected, timeout = int(prefetch), int(expected), float(timeout)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the bench stops us (SIGTERM)
    conn = cur = None
    if mode == "insert":
        import psycopg
        conn = psycopg.connect(argv[6])
        cur = conn.cursor()
        sql = ("INSERT INTO bench_raw_inbox (event_id, event_type, processed_at) VALUES (%s, %s, now())"
               " ON CONFLICT (event_id) DO NOTHING")
    connection = pika.BlockingConnection(pika.URLParameters(amqp_url))
    channel = connection.channel()
    channel.basic_qos(prefetch_count=prefetch)
    count, first, last = 0, None, None
    deadline = time.monotonic() + timeout
    cpu0 = time.process_time()
    print(json.dumps({"ready": True}), flush=True)
    deliveries = channel.consume(queue, inactivity_timeout=0.5)
    for delivery in deliveries:
        if delivery[0] is None:
            if time.monotonic() > deadline:
                break
            continue
        if first is None:
            first = time.time()
        batch = [delivery]
        while len(batch) < prefetch and channel.get_waiting_message_count():
            batch.append(next(deliveries))
        if mode == "insert":
            for _method, _props, body in batch:
                envelope = json.loads(body)
                cur.execute(sql, (envelope["id"], envelope["type"]))
            conn.commit()
        channel.basic_ack(batch[-1][0].delivery_tag, multiple=True)
        count += len(batch)
        last = time.time()
        if count >= expected or time.monotonic() > deadline:
            break
    cpu = time.process_time() - cpu0
    try:
        channel.cancel()
        connection.close()
    except Exception:
        pass
    if conn is not None:
        conn.close()
    print(json.dumps({"count": count, "first": first, "last": last, "cpu_s": cpu}), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
