"""`envgrid-gateway migrate | ...`: the kit's shared command line."""
from servicekit.cli import make_cli

from .bootstrap import SPEC

main = make_cli(SPEC)
