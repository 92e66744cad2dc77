"""Optional timing trace of the worker's relay and consumer (ENVGRID_BENCH_TRACE=<file>).

Wraps a few kit methods in the bench worker process only (the kit's code is not
changed) and, at exit, writes per event id the wall-clock times of:
  cycle     the relay's run_once began (after its wait for work)
  publish   publish_batch began        confirmed  publish_batch returned (all confirms in)
  relayed   run_once returned (outbox rows marked sent, transaction committed)
  batch     how many events the relay sent in that publish_batch
  deliver   the consumer began applying it: Consumer.process_batch began (kits that apply
            waiting deliveries in batches) or Consumer.process began (older kits)
  processed that call returned (inbox and handler rows committed)
  cbatch    how many messages that consumer batch had (1 on older kits)
  acked     the consumer's ack for it was written
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

    outbox.OutboxRelay.run_once = traced_run_once
    publisher.ConfirmingPublisher.publish_batch = traced_publish_batch

    Consumer = consumer.Consumer
    if hasattr(Consumer, "process_batch") and hasattr(Consumer, "_settle"):
        process_batch, settle = Consumer.process_batch, Consumer._settle

        def traced_process_batch(self, messages):
            started = time.time()
            results = process_batch(self, messages)
            done = time.time()
            for _outcome, envelope in results:
                if envelope is not None:
                    rec(envelope.id).update(deliver=started, processed=done, cbatch=len(messages))
            return results

        def traced_settle(self, channel, deliveries):
            settle(self, channel, deliveries)
            now = time.time()
            for _method, properties, _body in deliveries:
                if properties.message_id:
                    rec(properties.message_id)["acked"] = now

        Consumer.process_batch = traced_process_batch
        Consumer._settle = traced_settle
    else:  # a kit whose consumer applies one message per transaction
        process, on_message = Consumer.process, Consumer._on_message

        def traced_process(self, body, attempt):
            started = time.time()
            outcome, envelope = process(self, body, attempt)
            if envelope is not None:
                rec(envelope.id).update(deliver=started, processed=time.time(), cbatch=1)
            return outcome, envelope

        def traced_on_message(self, channel, method, properties, body):
            on_message(self, channel, method, properties, body)
            if properties.message_id:
                rec(properties.message_id)["acked"] = time.time()

        Consumer.process = traced_process
        Consumer._on_message = traced_on_message

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
