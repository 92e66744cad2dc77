"""What makes a service a service: its name, tables, routes, handlers and timers.

Each service declares one ServiceSpec in its `bootstrap.py`; the kit's app
factory, worker and command line take it from there, so every service starts,
migrates and consumes in exactly the same way.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from flask import Blueprint
from sqlalchemy import MetaData

from .consumer import Handler


@dataclass(frozen=True)
class Timer:
    """A periodic job of the worker process: `run(settings, db)` every `every_s` seconds."""
    name: str
    every_s: float
    run: Callable


@dataclass(frozen=True)
class ServiceSpec:
    name: str
    # Folder holding the service's alembic env.py and versions/.
    migrations: Path
    metadata: MetaData | None = None
    blueprints: tuple[Blueprint, ...] = ()
    handlers: dict[str, Handler] = field(default_factory=dict)
    timers: tuple[Timer, ...] = ()
    # False for a process that never talks to RabbitMQ (the gateway): /readyz skips the broker.
    uses_broker: bool = True
    # Run by `migrate` after the schema is at head, in one transaction: seeds reference data.
    # Must be idempotent (it runs on every deploy).
    seed: Callable | None = None
    # Alembic version folders of libraries whose tables the service has (envgrid_gridview).
    extra_migrations: tuple[Path, ...] = ()
    # Extra subcommands of the service's CLI: name -> Command.
    commands: dict[str, "Command"] = field(default_factory=dict)
    # front(app, flask_wsgi) -> a WSGI app answering some requests itself and handing the rest
    # to flask_wsgi: for a path so hot that Flask's own cost matters (the gateway's forwarding).
    front: Callable | None = None


@dataclass(frozen=True)
class Command:
    help: str
    # run(settings, args): args are the words after the command name; returns an exit code.
    run: Callable
