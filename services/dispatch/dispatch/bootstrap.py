"""The composition root of dispatch: what the kit needs to run it."""
import os
from pathlib import Path

from envgrid_gridview import MIGRATIONS as GRIDVIEW_MIGRATIONS

from servicekit.spec import ServiceSpec, Timer

from . import api, cases, grid_view, handlers, models, notify, timers

SPEC = ServiceSpec(
    name="dispatch",
    migrations=Path(__file__).parent / "migrations",
    metadata=models.metadata,
    extra_migrations=(GRIDVIEW_MIGRATIONS,),
    blueprints=(api.bp,),
    handlers=dict(handlers.HANDLERS),
    seed=cases.seed,
    timers=(
        Timer("grid-view-bootstrap", 60.0, grid_view.GRIDS.bootstrap),
        Timer("categories", 300.0, timers.refresh_categories),
        Timer("sla", float(os.environ.get("SLA_SWEEP_S", "5")), timers.sweep_sla),
        Timer("locate-waiting", 30.0, timers.retry_locating),
        Timer("city-callbacks", 5.0, timers.deliver_callbacks),
        Timer("notifications", 2.0, notify.deliver),
        Timer("supervision-digest", 600.0, cases.supervision_digest),
    ),
)
