"""HTTP bodies of the grid registry. Unknown fields are refused (marshmallow's RAISE)."""
from __future__ import annotations

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from . import levels
from .defaults import SOURCE_KINDS, SOURCE_STATUSES


def _phone(value: str) -> None:
    if not levels.valid_phone(value):
        raise ValidationError("not a phone number: an 11-digit mobile (13x-19x) or 0area-number landline")


def _grid_code(value: str) -> None:
    if levels.level_of_code(value) is None:
        raise ValidationError(f"not a grid code: {levels.DISTRICT_CODE} followed by 3/6/9 or 13 digits")


class FourSides(Schema):
    east = fields.String(required=True, validate=validate.Length(max=200))
    south = fields.String(required=True, validate=validate.Length(max=200))
    west = fields.String(required=True, validate=validate.Length(max=200))
    north = fields.String(required=True, validate=validate.Length(max=200))


class Geometry(Schema):
    """A GeoJSON geometry; its shape is checked by the import validator, not here."""
    type = fields.String(required=True, validate=validate.OneOf(["Point", "Polygon", "MultiPolygon"]))
    coordinates = fields.List(fields.Raw(), required=True)


class GridCreate(Schema):
    code = fields.String(required=True, validate=_grid_code)
    name = fields.String(required=True, validate=validate.Length(min=1, max=100))
    kind = fields.String(required=True)
    parent_code = fields.String(required=True, allow_none=True)
    boundary = fields.Nested(Geometry, required=True)
    four_sides = fields.Nested(FourSides, load_default=lambda: {"east": "", "south": "", "west": "", "north": ""})
    address = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=200))


class GridPatch(Schema):
    """Boundaries change through a reorganisation or an import, which keep coverage whole."""
    name = fields.String(validate=validate.Length(min=1, max=100))
    kind = fields.String()
    four_sides = fields.Nested(FourSides)
    address = fields.String(allow_none=True, validate=validate.Length(max=200))

    @validates_schema
    def _not_empty(self, data, **_):
        if not data:
            raise ValidationError("nothing to change", "_schema")


class Reorganisation(Schema):
    """Split or merge: retire some grids and create others covering exactly the same area."""
    retire = fields.List(fields.String(validate=_grid_code), required=True, validate=validate.Length(min=1, max=50))
    create = fields.List(fields.Nested(GridCreate), required=True, validate=validate.Length(min=1, max=50))
    reason = fields.String(required=True, validate=validate.Length(min=1, max=200))


class PersonCreate(Schema):
    person_id = fields.String(required=True, validate=validate.Regexp(r"^[A-Za-z0-9_-]{1,40}$"))
    name = fields.String(required=True, validate=validate.Length(min=1, max=50))
    phone = fields.String(required=True, validate=_phone)
    title = fields.String(load_default="", validate=validate.Length(max=100))


class PersonPatch(Schema):
    name = fields.String(validate=validate.Length(min=1, max=50))
    phone = fields.String(validate=_phone)
    title = fields.String(validate=validate.Length(max=100))


class MembershipCreate(Schema):
    person_id = fields.String(required=True)
    role = fields.String(required=True, validate=validate.OneOf(sorted(levels.ROLES)))


class Department(Schema):
    code = fields.String(required=True, validate=validate.Regexp(r"^[a-z][a-z0-9_]{1,39}$"))
    name = fields.String(required=True, validate=validate.Length(min=1, max=100))
    name_en = fields.String(required=True, validate=validate.Length(min=1, max=100))
    phone = fields.String(load_default=None, allow_none=True, validate=_phone)
    active = fields.Boolean(load_default=True)


class DepartmentPatch(Schema):
    name = fields.String(validate=validate.Length(min=1, max=100))
    name_en = fields.String(validate=validate.Length(min=1, max=100))
    phone = fields.String(allow_none=True, validate=_phone)
    active = fields.Boolean()


class Category(Schema):
    code = fields.String(required=True, validate=validate.Regexp(r"^[a-z][a-z0-9_]{1,39}$"))
    name = fields.String(required=True, validate=validate.Length(min=1, max=100))
    name_en = fields.String(required=True, validate=validate.Length(min=1, max=100))
    group = fields.String(required=True, validate=validate.OneOf(["campaign", "field", "city"]))
    first_level = fields.Integer(required=True, strict=True, validate=validate.Range(1, 5))
    department_code = fields.String(required=True)
    active = fields.Boolean(load_default=True)


class CategoryPatch(Schema):
    name = fields.String(validate=validate.Length(min=1, max=100))
    name_en = fields.String(validate=validate.Length(min=1, max=100))
    group = fields.String(validate=validate.OneOf(["campaign", "field", "city"]))
    first_level = fields.Integer(strict=True, validate=validate.Range(1, 5))
    department_code = fields.String()
    active = fields.Boolean()


class Responsibilities(Schema):
    duties = fields.List(fields.String(validate=validate.Length(min=1, max=500)), required=True,
                         validate=validate.Length(min=1, max=50))


class Equipment(Schema):
    name = fields.String(required=True, validate=validate.Length(min=1, max=100))
    running = fields.Boolean(required=True)


class SourceCreate(Schema):
    grid_code = fields.String(required=True, validate=_grid_code)
    name = fields.String(required=True, validate=validate.Length(min=1, max=200))
    kind = fields.String(required=True, validate=validate.OneOf(sorted(SOURCE_KINDS)))
    pollutants = fields.List(fields.String(validate=validate.Length(min=1, max=50)), load_default=list,
                             validate=validate.Length(max=20))
    equipment = fields.List(fields.Nested(Equipment), load_default=list, validate=validate.Length(max=20))
    permit_no = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=100))
    permit_valid_until = fields.Date(load_default=None, allow_none=True)
    responsible_person = fields.String(required=True, validate=validate.Length(min=1, max=50))
    responsible_phone = fields.String(required=True, validate=_phone)
    status = fields.String(load_default="operating", validate=validate.OneOf(sorted(SOURCE_STATUSES)))
    address = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=200))


class SourcePatch(Schema):
    grid_code = fields.String(validate=_grid_code)
    name = fields.String(validate=validate.Length(min=1, max=200))
    kind = fields.String(validate=validate.OneOf(sorted(SOURCE_KINDS)))
    pollutants = fields.List(fields.String(validate=validate.Length(min=1, max=50)), validate=validate.Length(max=20))
    equipment = fields.List(fields.Nested(Equipment), validate=validate.Length(max=20))
    permit_no = fields.String(allow_none=True, validate=validate.Length(max=100))
    permit_valid_until = fields.Date(allow_none=True)
    responsible_person = fields.String(validate=validate.Length(min=1, max=50))
    responsible_phone = fields.String(validate=_phone)
    status = fields.String(validate=validate.OneOf(sorted(SOURCE_STATUSES)))
    address = fields.String(allow_none=True, validate=validate.Length(max=200))
    note = fields.String(required=True, validate=validate.Length(min=1, max=500))
    # Optimistic locking: the version the editor saw; a newer one means someone else changed it.
    version = fields.Integer(required=True, strict=True)


class LocatePoint(Schema):
    lon = fields.Float(required=True, allow_nan=False, validate=validate.Range(-180, 180))
    lat = fields.Float(required=True, allow_nan=False, validate=validate.Range(-90, 90))
    datum = fields.String(load_default="wgs84", validate=validate.OneOf(["wgs84", "gcj02"]))


class LocateBatch(Schema):
    points = fields.List(fields.Nested(LocatePoint), required=True, validate=validate.Length(min=1, max=10_000))


class GridSearch(Schema):
    q = fields.String(load_default=None, validate=validate.Length(min=1, max=50))
    level = fields.Integer(load_default=None, validate=validate.Range(1, 5))
    parent = fields.String(load_default=None, validate=_grid_code)
    status = fields.String(load_default="active", validate=validate.OneOf(["active", "retired", "all"]))
    limit = fields.Integer(load_default=50, validate=validate.Range(1, 500))
    offset = fields.Integer(load_default=0, validate=validate.Range(min=0))


class SourceSearch(Schema):
    grid = fields.String(load_default=None, validate=_grid_code)
    kind = fields.String(load_default=None, validate=validate.OneOf(sorted(SOURCE_KINDS)))
    status = fields.String(load_default=None, validate=validate.OneOf(sorted(SOURCE_STATUSES)))
    q = fields.String(load_default=None, validate=validate.Length(min=1, max=50))
    limit = fields.Integer(load_default=100, validate=validate.Range(1, 1000))
    offset = fields.Integer(load_default=0, validate=validate.Range(min=0))


class SnapshotQuery(Schema):
    after = fields.String(load_default="", validate=validate.Length(max=19))
    limit = fields.Integer(load_default=500, validate=validate.Range(1, 2000))


class ExportQuery(Schema):
    format = fields.String(load_default="csv", validate=validate.OneOf(["csv", "xlsx"]))
    grid = fields.String(load_default=None, validate=_grid_code)


class GeoExportQuery(Schema):
    root = fields.String(load_default=levels.DISTRICT_CODE, validate=_grid_code)
    level = fields.Integer(load_default=None, validate=validate.Range(1, 5))
