"""`envgrid-rewards migrate | check-migrations | worker | dead-letters | outbox`."""
from servicekit.cli import make_cli

from .bootstrap import SPEC

main = make_cli(SPEC)
