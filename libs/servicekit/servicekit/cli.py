"""The command line every service shares: `envgrid-<service> migrate|worker|dead-letters|outbox`."""
from __future__ import annotations

import argparse
import json
from dataclasses import asdict

from .config import load_settings
from .spec import ServiceSpec


def make_cli(spec: ServiceSpec):
    def main(argv: list[str] | None = None) -> int:
        parser = argparse.ArgumentParser(prog=f"envgrid-{spec.name}")
        sub = parser.add_subparsers(dest="command", required=True)
        sub.add_parser("migrate", help="bring the database to the latest schema")
        sub.add_parser("check-migrations", help="fail if models and migrations disagree")
        revision = sub.add_parser("revision", help="write a new migration from the models (autogenerate)")
        revision.add_argument("-m", "--message", required=True)
        sub.add_parser("worker", help="run the worker process (consumer, relay, timers)")
        dead = sub.add_parser("dead-letters", help="inspect or replay the dead-letter queue")
        dead_sub = dead.add_subparsers(dest="action", required=True)
        listing = dead_sub.add_parser("list")
        listing.add_argument("--limit", type=int, default=100)
        again = dead_sub.add_parser("replay")
        again.add_argument("message_ids", nargs="*", help="only these message ids (default: all)")
        sub.add_parser("outbox", help="show the outbox backlog")
        for name, extra in spec.commands.items():
            sub.add_parser(name, help=extra.help, add_help=False).add_argument("args", nargs=argparse.REMAINDER)
        args = parser.parse_args(argv)
        settings = load_settings(spec.name)

        if args.command in spec.commands:
            return spec.commands[args.command].run(settings, args.args)
        if args.command == "migrate":
            from .migrate import upgrade
            upgrade(spec, settings)
            print(f"{spec.name}: database at head")
            if spec.uses_broker:
                from .worker import declare_queues
                try:
                    declare_queues(spec, settings)
                    print(f"{spec.name}: queues declared")
                except Exception as exc:  # the broker may come later: the worker declares them again
                    print(f"{spec.name}: queues not declared now ({type(exc).__name__}); the worker will")
        elif args.command == "check-migrations":
            from .migrate import check
            check(spec, settings)
            print(f"{spec.name}: models and migrations agree")
        elif args.command == "revision":
            from .migrate import new_revision
            print(new_revision(spec, settings, args.message))
        elif args.command == "worker":
            from .worker import run_worker
            run_worker(spec)
        elif args.command == "dead-letters":
            from . import deadletters
            if args.action == "list":
                for letter in deadletters.list_dead(settings, args.limit):
                    print(json.dumps(asdict(letter), ensure_ascii=False))
            else:
                count = deadletters.replay(settings, set(args.message_ids) or None)
                print(f"replayed {count} dead letter(s) into {settings.queue_name('events')}")
        elif args.command == "outbox":
            from .db import Database
            from .outbox import OutboxRelay
            count, age = OutboxRelay(settings, Database(settings.database_url)).backlog()
            print(json.dumps({"unsent": count, "oldest_unsent_seconds": round(age, 1)}))
        return 0

    return main
