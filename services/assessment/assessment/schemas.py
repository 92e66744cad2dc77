"""HTTP bodies of assessment."""
from datetime import datetime, timedelta, timezone

from marshmallow import Schema, ValidationError, fields, validate

_GRID = validate.Regexp(r"^140502(\d{3}){0,3}(\d{4})?$", error="not a grid code")
_SHA256 = validate.Regexp(r"^[0-9a-f]{64}$", error="not an evidence id (SHA-256 hex)")


def _not_future(value: datetime) -> None:
    if value > datetime.now(timezone.utc) + timedelta(minutes=5):
        raise ValidationError("is in the future: record a meeting or inspection after it took place")


class Meeting(Schema):
    grid_code = fields.String(required=True, validate=_GRID)
    kind = fields.String(required=True, validate=validate.OneOf(["joint", "topic", "briefing"]))
    held_at = fields.AwareDateTime(required=True, validate=_not_future)
    attendees = fields.List(fields.String(validate=validate.Length(min=1, max=50)), required=True,
                            validate=validate.Length(min=1, max=200))
    minutes = fields.String(required=True, validate=validate.Length(min=1, max=10000))
    evidence = fields.List(fields.String(validate=_SHA256), load_default=list, validate=validate.Length(max=20))


class Inspection(Schema):
    inspecting_grid = fields.String(required=True, validate=_GRID)
    inspected_grid = fields.String(required=True, validate=_GRID)
    held_at = fields.AwareDateTime(required=True, validate=_not_future)
    findings = fields.String(required=True, validate=validate.Length(min=1, max=10000))
    evidence = fields.List(fields.String(validate=_SHA256), load_default=list, validate=validate.Length(max=20))


class RecordQuery(Schema):
    grid = fields.String(load_default=None, validate=_GRID)
    period = fields.String(required=True, validate=validate.Length(min=4, max=7))


class NewRules(Schema):
    rules = fields.Dict(required=True)
    note = fields.String(required=True, validate=validate.Length(min=1, max=200))


class Rescore(Schema):
    rule_version = fields.Integer(load_default=None, allow_none=True, strict=True)


class ScoreQuery(Schema):
    parent = fields.String(load_default=None, validate=_GRID)
    result_set = fields.Integer(load_default=None)
    format = fields.String(load_default="json", validate=validate.OneOf(["json", "csv", "xlsx"]))


class FlagQuery(Schema):
    period = fields.String(load_default=None, validate=validate.Length(min=4, max=7))
