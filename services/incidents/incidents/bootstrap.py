"""The composition root of incidents: what the kit needs to run it."""
from pathlib import Path

from servicekit.spec import ServiceSpec, Timer

from . import api, handlers, models, reference

SPEC = ServiceSpec(
    name="incidents",
    migrations=Path(__file__).parent / "migrations",
    metadata=models.metadata,
    blueprints=(api.bp,),
    handlers=dict(handlers.HANDLERS),
    # Categories and the district outline from the registry, every five minutes.
    timers=(Timer("reference-refresh", 300.0, reference.refresh),),
)
