"""Optional timing trace of the worker's relay and consumer (ENVGRID_BENCH_TRACE=<file>).

Wraps a few kit methods in the bench worker process only (the kit's code is not
changed) and, at exit, writes per event id the wall-clock times of:
  cycle   the relay's run_once began (after its wait for work)
  publish publish_batch began        confirmed  publish_batch returned (all confirms in)
  relayed run_once returned (outbox rows marked sent, transaction committed)
  deliver Consumer.process began     processed  Consumer.process returned (inbox committed)
  acked   the consumer's basic_ack was written
  batch   how many events the relay sent in that publish_batch
and, under the key "_gc", the garbage collector's pauses: [start, seconds, generation].
"""
import atexit
import gc
import json
import threading
import time


def install(path: str) -> None:
    from servicekit import consumer, outbox, publisher

    records: dict[str, dict] = {}
    cycle = threading.local()

    def rec(event_id: str) -> dict:
        return records.setdefault(event_id, {})

    run_once = outbox.OutboxRelay.run_once

    def traced_run_once(self):
        cycle.start, cycle.ids = time.time(), []
        try:
            return run_once(self)
        finally:
            end = time.time()
            for event_id in cycle.ids:
                rec(event_id)["relayed"] = end

    publish_batch = publisher.ConfirmingPublisher.publish_batch

    def traced_publish_batch(self, messages):
        started = time.time()
        results = publish_batch(self, messages)
        confirmed = time.time()
        for msg in messages:
            rec(msg.message_id).update(cycle=getattr(cycle, "start", None), publish=started, confirmed=confirmed,
                                       batch=len(messages))
            if hasattr(cycle, "ids"):
                cycle.ids.append(msg.message_id)
        return results

    process = consumer.Consumer.process

    def traced_process(self, body, attempt):
        started = time.time()
        outcome, envelope = process(self, body, attempt)
        if envelope is not None:
            rec(envelope.id).update(deliver=started, processed=time.time())
        return outcome, envelope

    on_message = consumer.Consumer._on_message

    def traced_on_message(self, channel, method, properties, body):
        on_message(self, channel, method, properties, body)
        if properties.message_id:
            rec(properties.message_id)["acked"] = time.time()

    outbox.OutboxRelay.run_once = traced_run_once
    publisher.ConfirmingPublisher.publish_batch = traced_publish_batch
    consumer.Consumer.process = traced_process
    consumer.Consumer._on_message = traced_on_message

    pauses: list = []
    gc_start = {}

    def on_gc(phase, info):
        if phase == "start":
            gc_start["t"] = time.time()
        elif "t" in gc_start:
            pauses.append([gc_start["t"], time.time() - gc_start.pop("t"), info["generation"]])

    gc.callbacks.append(on_gc)

    def dump():
        with open(path, "w") as handle:
            json.dump({**records, "_gc": pauses}, handle)

    atexit.register(dump)
