"""The composition root of dispatch: what the kit needs to run it."""
from pathlib import Path

from servicekit.spec import ServiceSpec, Timer

from . import grid_view, models
from .grid_sync import bootstrap_grid_view

SPEC = ServiceSpec(
    name="dispatch",
    migrations=Path(__file__).parent / "migrations",
    metadata=models.metadata,
    handlers=dict(grid_view.HANDLERS),
    timers=(Timer("grid-view-bootstrap", 60.0, bootstrap_grid_view),),
)
