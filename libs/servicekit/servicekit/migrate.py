"""Alembic, the same way for every service.

Each service keeps only its migration scripts (`<service>/migrations/versions`,
branch named after the service); the kit's tables (outbox, inbox, probe log,
idempotency keys) have their own branch in `servicekit/migrations/versions`.
The environment (env.py) and the script template are the kit's, once for all:
Alembic is pointed at the kit's folder with both version folders, and
`upgrade heads` brings a database to the head of both branches.
"""
from __future__ import annotations

from pathlib import Path

from alembic import command, context
from alembic.config import Config
from sqlalchemy import pool

from .config import Settings, load_settings
from .db import Database
from .spec import ServiceSpec
from .tables import kit_metadata

KIT_MIGRATIONS = Path(__file__).parent / "migrations"
KIT_VERSIONS = KIT_MIGRATIONS / "versions"


def alembic_config(spec: ServiceSpec, settings: Settings | None = None) -> Config:
    settings = settings or load_settings(spec.name)
    config = Config()
    config.set_main_option("script_location", str(KIT_MIGRATIONS))
    folders = [spec.migrations / "versions", KIT_VERSIONS, *spec.extra_migrations]
    config.set_main_option("version_locations", " ".join(str(f) for f in folders))
    config.set_main_option("path_separator", "space")
    config.attributes["envgrid_spec"] = spec
    config.attributes["envgrid_settings"] = settings
    return config


def upgrade(spec: ServiceSpec, settings: Settings | None = None) -> None:
    """Bring the schema to head, then let the service seed its reference data (idempotently)."""
    settings = settings or load_settings(spec.name)
    command.upgrade(alembic_config(spec, settings), "heads")
    if spec.seed is not None:
        database = Database(settings.database_url)
        with database.transaction() as session:
            spec.seed(session)
        database.dispose()


def new_revision(spec: ServiceSpec, settings: Settings, message: str) -> str:
    """Autogenerate the next migration of the service's own branch; returns its path."""
    config = alembic_config(spec, settings)
    from alembic.script import ScriptDirectory
    heads = ScriptDirectory.from_config(config).get_revisions(f"{spec.name}@head") if _has_branch(config, spec.name) else ()
    kwargs = {"head": f"{spec.name}@head"} if heads else {
        "head": "base", "branch_label": spec.name, "version_path": str(spec.migrations / "versions")}
    script = command.revision(config, message=message, autogenerate=True, **kwargs)
    return script.path


def _has_branch(config: Config, label: str) -> bool:
    from alembic.script import ScriptDirectory
    return any(label in (rev.branch_labels or ()) for rev in ScriptDirectory.from_config(config).walk_revisions())


def check(spec: ServiceSpec, settings: Settings | None = None) -> None:
    """Raise if the models and the migrations disagree."""
    command.check(alembic_config(spec, settings))


def run_env() -> None:
    """The body of the kit's migrations/env.py, run for whichever service is migrating."""
    config = context.config
    spec: ServiceSpec = config.attributes["envgrid_spec"]
    settings: Settings = config.attributes.get("envgrid_settings") or load_settings(spec.name)
    targets = [kit_metadata] + ([spec.metadata] if spec.metadata is not None else [])
    database = Database(settings.database_url)
    engine = database.engine
    with engine.connect() as connection:
        context.configure(connection=connection, target_metadata=targets,
                          render_as_batch=database.is_sqlite, compare_type=True)
        with context.begin_transaction():
            context.run_migrations()
        connection.commit()
    database.dispose()
