"""Alembic's environment for every service: the service's ServiceSpec comes in the config's attributes."""
from servicekit.migrate import run_env

run_env()
