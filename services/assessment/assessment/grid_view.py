"""Assessment's read model of the grid tree: the shared envgrid_gridview on assessment's own tables."""
from envgrid_gridview import GridReadModel

from .models import GRID

GRIDS = GridReadModel(GRID)
