"""The composition root of the gateway."""
from pathlib import Path

from servicekit.spec import ServiceSpec

from .proxy import proxy_blueprint

SPEC = ServiceSpec(
    name="gateway",
    migrations=Path(__file__).parent / "migrations",
    blueprints=(proxy_blueprint,),
    uses_broker=False,
)
