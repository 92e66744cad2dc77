"""HTTP bodies of dispatch."""
from marshmallow import Schema, ValidationError, fields, validate, validates_schema

_SHA256 = validate.Regexp(r"^[0-9a-f]{64}$", error="not an evidence id (SHA-256 hex)")


class Rectification(Schema):
    what = fields.String(required=True, validate=validate.Length(min=1, max=500))
    responsible = fields.String(required=True, validate=validate.Length(min=1, max=100))
    deadline = fields.Date(required=True)


class Action(Schema):
    version = fields.Integer(required=True, strict=True)  # the version the actor saw (optimistic locking)
    note = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=2000))
    public_note = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=1000))
    evidence = fields.List(fields.String(validate=_SHA256), load_default=list, validate=validate.Length(max=20))
    verified_true = fields.Boolean(load_default=None, allow_none=True)
    referred_to = fields.String(load_default=None, validate=validate.OneOf(["department", "city"]))
    department_code = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=40))
    days = fields.Integer(load_default=None, allow_none=True, validate=validate.Range(1, 30))
    into = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=24))
    rectification = fields.Nested(Rectification, load_default=None, allow_none=True)
    # How a verified case ended (close): rewards' tiers pay by it.
    outcome = fields.String(load_default=None, allow_none=True, validate=validate.OneOf(
        ["stopped_on_spot", "rectification_ordered", "fined", "prosecution_referred"]))

    @validates_schema
    def _refer(self, data, **_):
        if data.get("referred_to") == "department" and not data.get("department_code"):
            raise ValidationError("name the department", "department_code")


class Supervision(Schema):
    level = fields.String(required=True, validate=validate.OneOf(["general", "urgent", "important"]))


class QueueQuery(Schema):
    grid = fields.String(load_default=None, validate=validate.Regexp(r"^140502\d*$"))
    state = fields.String(load_default=None)
    overdue = fields.Boolean(load_default=False)
    due_within_hours = fields.Integer(load_default=None, validate=validate.Range(1, 24 * 30))
    limit = fields.Integer(load_default=100, validate=validate.Range(1, 1000))


class FollowUp(Schema):
    result = fields.String(required=True, validate=validate.OneOf(["pending", "done", "failed"]))
    note = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=1000))
    evidence = fields.List(fields.String(validate=_SHA256), load_default=list, validate=validate.Length(max=20))


class LedgerQuery(Schema):
    grid = fields.String(load_default=None, validate=validate.Regexp(r"^140502\d*$"))
    since = fields.AwareDateTime(load_default=None)
    until = fields.AwareDateTime(load_default=None)
    format = fields.String(load_default="json", validate=validate.OneOf(["json", "csv", "xlsx"]))


class Acknowledgement(Schema):
    measures = fields.String(load_default=None, allow_none=True, validate=validate.Length(min=1, max=2000))
    evidence = fields.List(fields.String(validate=_SHA256), load_default=list, validate=validate.Length(max=20))


class AssignmentRule(Schema):
    channel = fields.String(required=True, validate=validate.OneOf(
        ["patrol", "public_web", "public_hotline", "public_mailbox", "city_platform", "inspection"]))
    category = fields.String(required=True, validate=validate.Regexp(r"^(\*|[a-z][a-z0-9_]{1,39})$"))
    level = fields.Integer(load_default=None, allow_none=True, validate=validate.Range(1, 5))  # None removes it
