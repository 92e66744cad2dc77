"""The composition root of assessment: what the kit needs to run it."""
from pathlib import Path

from envgrid_gridview import MIGRATIONS as GRIDVIEW_MIGRATIONS

from servicekit.spec import ServiceSpec, Timer

from . import api, assess, handlers, models
from .grid_view import GRIDS

SPEC = ServiceSpec(
    name="assessment",
    migrations=Path(__file__).parent / "migrations",
    metadata=models.metadata,
    extra_migrations=(GRIDVIEW_MIGRATIONS,),
    blueprints=(api.bp,),
    handlers=dict(handlers.HANDLERS),
    seed=assess.seed_rules,
    timers=(Timer("grid-view-bootstrap", 60.0, GRIDS.bootstrap),),
)
