"""The composition root of grid-registry: what the kit needs to run it."""
from pathlib import Path

from servicekit.spec import Command, ServiceSpec

from . import api, catalogue, models
from .demo_loader import load_demo

SPEC = ServiceSpec(
    name="grid-registry",
    migrations=Path(__file__).parent / "migrations",
    metadata=models.metadata,
    blueprints=(api.bp,),
    seed=catalogue.seed_defaults,
    commands={"load-demo": Command("load the demonstration district (if the registry is empty)", load_demo)},
)
