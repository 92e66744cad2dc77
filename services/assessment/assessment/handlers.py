"""Events assessment consumes: case and patrol events for its counters, the grid tree for who is who."""
from . import counters
from .grid_view import GRIDS

HANDLERS = {**counters.HANDLERS, **GRIDS.handlers()}
