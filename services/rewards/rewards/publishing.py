"""The outbox of rewards: every change is published as an event in the same transaction."""
import envgrid_contracts  # noqa: F401 - registers the event schemas validated on publish
from servicekit.events import registry
from servicekit.outbox import Outbox

OUTBOX = Outbox("rewards", registry)
