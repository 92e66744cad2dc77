"""Events dispatch consumes: reports become cases; the grid tree keeps its read model current."""
from envgrid_contracts.incident import INCIDENT_REPORTED

from . import grid_view
from .cases import open_case

HANDLERS = {INCIDENT_REPORTED: open_case, **grid_view.HANDLERS}
