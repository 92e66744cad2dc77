"""Events incidents consumes: dispatch's case events, to answer the reporter."""
from envgrid_contracts.case import CASE_EVENTS

from .intake import apply_case_event

HANDLERS = {event_type: apply_case_event for event_type in CASE_EVENTS}
