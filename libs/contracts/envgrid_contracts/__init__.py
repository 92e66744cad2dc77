"""Event contracts shared by producers and consumers.

Importing this package registers every schema on `servicekit.events.registry`.
One module per producing service; a schema changes only by adding a new version.
"""
from . import assessment, case, grid, incident, order, reward  # noqa: F401
