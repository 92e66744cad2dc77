"""`envgrid-grid-registry load-demo`: the demonstration district, through the same rules as any import.

The district is generated deterministically from a seed (grid_registry.demo) and
goes through the import use case: validated in full, then written with its
history and events, so the demo exercises exactly what a real import does.
"""
from __future__ import annotations

import argparse
import time

from sqlalchemy import func, select

from servicekit.db import Database

from .models import grids


def load_demo(settings, argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="envgrid-grid-registry load-demo")
    parser.add_argument("--seed", type=int, default=2018)
    args = parser.parse_args(argv)
    from . import grids as grid_cases
    from . import people
    from .demo import generate

    database = Database(settings.database_url)
    with database.transaction() as session:
        if session.execute(select(func.count()).select_from(grids)).scalar_one():
            print("grid-registry: the registry already holds grids; demo not loaded")
            return 0
    started = time.perf_counter()
    demo = generate(args.seed)
    with database.transaction() as session:
        result = grid_cases.import_collection(
            session, {"type": "FeatureCollection", "features": demo.features}, actor="load-demo")
        roles = people.import_rows(session, demo.people)
    print(f"grid-registry: demo district loaded: {result['created']} grids, "
          f"{roles['people_created']} people, {roles['roles_assigned']} roles "
          f"in {time.perf_counter() - started:.1f}s")
    return 0
