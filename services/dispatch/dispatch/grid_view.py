"""Dispatch's read model of the grid tree: the shared envgrid_gridview on dispatch's own tables."""
from envgrid_gridview import GridReadModel

from .models import GRID

GRIDS = GridReadModel(GRID)
HANDLERS = GRIDS.handlers()
apply_grid, apply_member, chain, leaders, is_empty = (GRIDS.apply_grid, GRIDS.apply_member, GRIDS.chain,
                                                     GRIDS.leaders, GRIDS.is_empty)
