"""Events of assessment: published scores, payable subsidy lists, accountability flags."""
from marshmallow import Schema, fields

from servicekit.events import registry

ASSESSMENT_PUBLISHED = "assessment.published"
SUBSIDIES_PUBLISHED = "assessment.subsidies_published"
FLAG_RAISED = "assessment.flag_raised"


@registry.register(ASSESSMENT_PUBLISHED, 1)
class AssessmentPublished(Schema):
    period = fields.String(required=True)          # "2026-11", "2026-Q4", "2026"
    result_set = fields.Integer(required=True)     # a recomputation is a new result set, never an edit
    rule_version = fields.Integer(required=True)
    grids = fields.Integer(required=True)
    grades = fields.Dict(keys=fields.String(), values=fields.Integer(), required=True)


class Payee(Schema):
    person_id = fields.String(required=True)
    name = fields.String(required=True)
    role = fields.String(required=True)
    amount_fen = fields.Integer(required=True, strict=True)  # integer fen: money is never a float


@registry.register(SUBSIDIES_PUBLISHED, 1)
class SubsidiesPublished(Schema):
    period = fields.String(required=True)
    grid_code = fields.String(required=True)
    grade = fields.String(required=True)
    rule_version = fields.Integer(required=True)
    payees = fields.List(fields.Nested(Payee), required=True)
    total_fen = fields.Integer(required=True, strict=True)


@registry.register(FLAG_RAISED, 1)
class FlagRaised(Schema):
    period = fields.String(required=True)
    grid_code = fields.String(required=True)
    flag = fields.String(required=True)
    reason = fields.String(required=True)
    evidence = fields.Dict(required=True)
