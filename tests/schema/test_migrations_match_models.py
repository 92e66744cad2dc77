"""Every service's migrations build exactly the tables its models describe (alembic check), on
SQLite and on PostgreSQL: a model changed without a migration fails here, not in production."""
import importlib

import pytest

from servicekit.config import load_settings
from servicekit.migrate import check, upgrade

PACKAGES = {"grid-registry": "grid_registry", "incidents": "incidents", "dispatch": "dispatch",
            "assessment": "assessment", "rewards": "rewards", "gateway": "gateway"}


def spec_of(service):
    return importlib.import_module(f"{PACKAGES[service]}.bootstrap").SPEC


@pytest.mark.parametrize("service", sorted(PACKAGES))
def test_migrations_match_models_on_sqlite(service, tmp_path):
    settings = load_settings(service, {"ENVGRID_DATA_DIR": str(tmp_path)})
    upgrade(spec_of(service), settings)
    check(spec_of(service), settings)  # raises when models and migrations disagree


@pytest.mark.integration
@pytest.mark.parametrize("service", sorted(PACKAGES))
def test_migrations_match_models_on_postgresql(service, pg_databases):
    settings = load_settings(service, {"DATABASE_URL": pg_databases.create(service)})
    upgrade(spec_of(service), settings)
    check(spec_of(service), settings)
