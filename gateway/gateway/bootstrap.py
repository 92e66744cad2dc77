"""The composition root of the gateway."""
from pathlib import Path

from servicekit.spec import Command, ServiceSpec

from . import models
from .admin_cli import accounts_command, keys_command
from .auth import auth_blueprint
from .docs import docs_blueprint
from .edge import edge_blueprint
from .open311 import open311_blueprint
from .proxy import Forwarder, proxy_blueprint

SPEC = ServiceSpec(
    name="gateway",
    migrations=Path(__file__).parent / "migrations",
    metadata=models.metadata,
    blueprints=(proxy_blueprint, auth_blueprint, edge_blueprint, open311_blueprint, docs_blueprint),
    uses_broker=False,
    front=Forwarder,  # every forwarded request, without Flask (proxy.py says why)
    commands={"api-keys": Command("create, list or revoke API keys", keys_command),
              "accounts": Command("create people's accounts", accounts_command)},
)
