"""Events of dispatch's cases that other services follow.

Incidents answers the reporter from them; assessment counts them; rewards pays
on a verified public report. `case.report_attached`: a later report of the same
problem (a duplicate) joined the case, so its reporter's page shows the case's
status from then on. Dispatch may add fields (consumers ignore fields they do
not know); the ones here are the contract.
"""
from marshmallow import Schema, fields

from servicekit.events import registry

CASE_EVENTS = ("case.created", "case.assigned", "case.accepted", "case.escalated", "case.referred",
               "case.handled", "case.verified", "case.reopened", "case.closed", "case.rejected",
               "case.merged", "case.extended", "case.report_attached")
SLA_EVENTS = ("case.sla_warning", "case.sla_breached")


class CaseEvent(Schema):
    case_id = fields.String(required=True)
    incident_ids = fields.List(fields.String(), required=True)
    state = fields.String(required=True)
    grid_code = fields.String(allow_none=True, required=True)
    at = fields.AwareDateTime(required=True)
    # What the reporter may read: the outcome, or why the report was not taken up.
    public_note = fields.String(allow_none=True, load_default=None)
    verified_true = fields.Boolean(allow_none=True, load_default=None)
    # What assessment and rewards count by.
    level = fields.Integer(allow_none=True, load_default=None)
    category = fields.String(allow_none=True, load_default=None)
    channel = fields.String(allow_none=True, load_default=None)
    first_incident = fields.String(allow_none=True, load_default=None)  # the first reporter's report
    due_at = fields.AwareDateTime(allow_none=True, load_default=None)
    on_time = fields.Boolean(allow_none=True, load_default=None)
    escalations = fields.Integer(load_default=0)
    rework_count = fields.Integer(load_default=0)
    supervision = fields.String(load_default="general")
    department_code = fields.String(allow_none=True, load_default=None)
    actor = fields.String(allow_none=True, load_default=None)
    action = fields.String(allow_none=True, load_default=None)
    # How a verified case ended, for rewards' tiers: stopped_on_spot | rectification_ordered |
    # fined | prosecution_referred.
    outcome = fields.String(allow_none=True, load_default=None)
    # The grid a case left (an escalation): the one that could not handle it.
    previous_grid = fields.String(allow_none=True, load_default=None)


class SlaEvent(CaseEvent):
    timer = fields.String(required=True)  # warn_50, warn_75, breach
    breach_action = fields.String(allow_none=True, load_default=None)  # escalate | flag


for _event_type in CASE_EVENTS:
    registry.register(_event_type, 1)(CaseEvent)
for _event_type in SLA_EVENTS:
    registry.register(_event_type, 1)(SlaEvent)
