"""Events of the grid registry: the grid tree, its people and the pollution-source ledger.

Boundaries do not travel in events (they are large and only the registry
locates points); consumers keep codes, names, levels, parents and leaders.
"""
from marshmallow import Schema, fields, validate

from servicekit.events import registry

GRID_CREATED = "grid.created"
GRID_UPDATED = "grid.updated"
GRID_RETIRED = "grid.retired"
MEMBER_ASSIGNED = "member.assigned"
MEMBER_REMOVED = "member.removed"
SOURCE_REGISTERED = "source.registered"
SOURCE_UPDATED = "source.updated"

_code = fields.String(required=True, validate=validate.Regexp(r"^\d{6,19}$"))


class _GridState(Schema):
    code = _code
    name = fields.String(required=True)
    level = fields.Integer(required=True, strict=True, validate=validate.Range(1, 5))
    parent_code = fields.String(required=True, allow_none=True)
    kind = fields.String(required=True)
    status = fields.String(required=True, validate=validate.OneOf(["active", "retired"]))
    # Increases with every change of the grid: a consumer ignores an event older than what it holds.
    version = fields.Integer(required=True, strict=True)


@registry.register(GRID_CREATED, 1)
class GridCreated(_GridState):
    pass


@registry.register(GRID_UPDATED, 1)
class GridUpdated(_GridState):
    changed = fields.List(fields.String(), required=True)


@registry.register(GRID_RETIRED, 1)
class GridRetired(_GridState):
    replaced_by = fields.List(fields.String(), required=True)
    reason = fields.String(required=True)


class _Membership(Schema):
    membership_id = fields.Integer(required=True, strict=True)
    person_id = fields.String(required=True)
    name = fields.String(required=True)
    # Staff phone numbers are public on the grid's notice board; dispatch needs them to notify.
    phone = fields.String(required=True)
    grid_code = _code
    role = fields.String(required=True)
    leads = fields.Boolean(required=True)


@registry.register(MEMBER_ASSIGNED, 1)
class MemberAssigned(_Membership):
    pass


@registry.register(MEMBER_REMOVED, 1)
class MemberRemoved(_Membership):
    pass


class _Source(Schema):
    source_id = fields.String(required=True)
    grid_code = _code
    name = fields.String(required=True)
    kind = fields.String(required=True)
    status = fields.String(required=True)
    pollutants = fields.List(fields.String(), required=True)
    version = fields.Integer(required=True, strict=True)


@registry.register(SOURCE_REGISTERED, 1)
class SourceRegistered(_Source):
    pass


@registry.register(SOURCE_UPDATED, 1)
class SourceUpdated(_Source):
    changed = fields.List(fields.String(), required=True)
