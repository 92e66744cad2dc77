"""The composition root of rewards: what the kit needs to run it."""
from pathlib import Path

from servicekit.spec import ServiceSpec, Timer

from . import api, awards, handlers, models

SPEC = ServiceSpec(
    name="rewards",
    migrations=Path(__file__).parent / "migrations",
    metadata=models.metadata,
    blueprints=(api.bp,),
    handlers=dict(handlers.HANDLERS),
    seed=awards.seed,
    timers=(Timer("expire-unclaimed", 3600.0, awards.expire_unclaimed),),
)
