"""The composition root of incidents: what the kit needs to run it."""
from pathlib import Path

from servicekit.spec import ServiceSpec

from . import models

SPEC = ServiceSpec(
    name="incidents",
    migrations=Path(__file__).parent / "migrations",
    metadata=models.metadata,
)
