"""HTTP bodies of incidents. Unknown fields are refused; every limit has a reason in its message."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
from urllib.parse import urlparse

from envgrid_contracts.incident import CHANNELS, SEVERITIES
from marshmallow import Schema, ValidationError, fields, validate, validates, validates_schema

MAX_DESCRIPTION = 2000
CLOCK_SKEW = timedelta(minutes=5)
_PHONE = validate.Regexp(r"^(1[3-9]\d{9}|0\d{2,3}-?\d{7,8})$", error="not a phone number")
_GRID_CODE = validate.Regexp(r"^140502(\d{3}){0,3}(\d{4})?$", error="not a grid code")
_SHA256 = validate.Regexp(r"^[0-9a-f]{64}$", error="not an evidence id (SHA-256 hex)")
_CATEGORY = validate.Regexp(r"^[a-z][a-z0-9_]{1,39}$", error="not a category code")


def _not_future(value: datetime) -> None:
    if value > datetime.now(timezone.utc) + CLOCK_SKEW:
        raise ValidationError("is in the future")


class Point(Schema):
    lon = fields.Float(required=True, allow_nan=False, validate=validate.Range(-180, 180))
    lat = fields.Float(required=True, allow_nan=False, validate=validate.Range(-90, 90))
    datum = fields.String(load_default="wgs84", validate=validate.OneOf(["wgs84", "gcj02"]))


class Reporter(Schema):
    """Needed for a reward; sealed at rest and shown to the reward office only."""
    name = fields.String(required=True, validate=validate.Length(min=1, max=50))
    phone = fields.String(required=True, validate=_PHONE)


class ReportCreate(Schema):
    channel = fields.String(required=True, validate=validate.OneOf([c for c in CHANNELS if c != "city_platform"]))
    category = fields.String(required=True, validate=_CATEGORY)
    description = fields.String(required=True, validate=validate.Length(
        min=1, max=MAX_DESCRIPTION, error=f"must be 1 to {MAX_DESCRIPTION} characters"))
    severity = fields.String(load_default="normal", validate=validate.OneOf(SEVERITIES))
    major = fields.Boolean(load_default=False)
    observed_at = fields.AwareDateTime(load_default=None, allow_none=True, validate=_not_future)
    location = fields.Nested(Point, load_default=None, allow_none=True)
    address = fields.String(load_default=None, allow_none=True, validate=validate.Length(min=1, max=200))
    grid_hint = fields.String(load_default=None, allow_none=True, validate=_GRID_CODE)
    reporter = fields.Nested(Reporter, load_default=None, allow_none=True)
    handled_on_spot = fields.Boolean(load_default=False)
    evidence = fields.List(fields.String(validate=_SHA256), load_default=list, validate=validate.Length(max=20))

    @validates_schema
    def _where(self, data, **_):
        if data.get("location") is None and not data.get("address"):
            raise ValidationError("give a location (lon/lat) or an address", "location")
        if data.get("handled_on_spot") and data["channel"] not in ("patrol", "inspection"):
            raise ValidationError("only grid staff record problems settled on the spot", "handled_on_spot")


class AirQuality(Schema):
    station_id = fields.String(required=True, validate=validate.Length(min=1, max=40))
    station_name = fields.String(load_default=None, validate=validate.Length(max=100))
    pollutant = fields.String(required=True, validate=validate.OneOf(["PM2.5", "PM10", "SO2", "NO2", "O3", "CO"]))
    value = fields.Float(required=True, allow_nan=False, validate=validate.Range(min=0))
    limit = fields.Float(required=True, allow_nan=False, validate=validate.Range(min=0, min_inclusive=False))
    unit = fields.String(load_default="μg/m³", validate=validate.Length(max=20))
    measured_at = fields.AwareDateTime(required=True, validate=_not_future)

    @validates_schema
    def _exceeds(self, data, **_):
        if data["value"] <= data["limit"]:
            raise ValidationError("an exceedance needs a value above the limit", "value")


class EmergencyOrder(Schema):
    alert_level = fields.String(required=True, validate=validate.OneOf(["blue", "yellow", "orange", "red"]))
    order_kind = fields.String(required=True, validate=validate.OneOf(
        ["heavy_pollution", "sudden_incident", "staggered_production", "staggered_transport"]))
    window_start = fields.AwareDateTime(required=True)
    window_end = fields.AwareDateTime(required=True)
    measures = fields.List(fields.String(validate=validate.Length(min=1, max=200)), load_default=list,
                           validate=validate.Length(max=50))
    # Level-2 grids the order targets; empty means all of them.
    targets = fields.List(fields.String(validate=_GRID_CODE), load_default=list, validate=validate.Length(max=50))

    @validates_schema
    def _window(self, data, **_):
        if data["window_end"] <= data["window_start"]:
            raise ValidationError("must end after it starts", "window_end")


class ProminentProblem(Schema):
    title = fields.String(required=True, validate=validate.Length(min=1, max=200))
    source = fields.String(load_default=None, validate=validate.Length(max=100))


CITY_DETAILS = {"air_quality_exceedance": AirQuality, "emergency_order": EmergencyOrder,
                "prominent_problem": ProminentProblem}
_CITY_DETAILS = {kind: schema() for kind, schema in CITY_DETAILS.items()}


class CityInstructionCreate(Schema):
    reference = fields.String(required=True, validate=validate.Regexp(
        r"^[\w.:/-]{1,100}$", error="1-100 letters, digits or . _ : / -"))
    kind = fields.String(required=True, validate=validate.OneOf(sorted(CITY_DETAILS)))
    description = fields.String(required=True, validate=validate.Length(min=1, max=MAX_DESCRIPTION))
    severity = fields.String(load_default="high", validate=validate.OneOf(SEVERITIES))
    location = fields.Nested(Point, load_default=None, allow_none=True)
    address = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=200))
    callback_url = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=500))
    details = fields.Dict(required=True)

    @validates("callback_url")
    def _url(self, value, **_):
        if value is not None and (urlparse(value).scheme not in ("http", "https") or not urlparse(value).netloc):
            raise ValidationError("must be an http(s) URL")

    @validates_schema
    def _details(self, data, **_):
        errors = _CITY_DETAILS[data["kind"]].validate(data["details"])
        if errors:
            raise ValidationError({"details": errors})
        if data["kind"] == "air_quality_exceedance" and data.get("location") is None:
            raise ValidationError("the monitoring station's position is required", "location")


class ProblemFound(Schema):
    category = fields.String(required=True, validate=_CATEGORY)
    description = fields.String(required=True, validate=validate.Length(min=1, max=MAX_DESCRIPTION))
    severity = fields.String(load_default="normal", validate=validate.OneOf(SEVERITIES))
    location = fields.Nested(Point, required=True)
    handled_on_spot = fields.Boolean(load_default=False)
    evidence = fields.List(fields.String(validate=_SHA256), load_default=list, validate=validate.Length(max=20))


class TrackPoint(fields.List):
    def __init__(self, **kwargs):
        super().__init__(fields.Raw(), validate=validate.Length(min=2, max=3), **kwargs)


class PatrolCreate(Schema):
    grid_code = fields.String(required=True, validate=_GRID_CODE)
    started_at = fields.AwareDateTime(required=True, validate=_not_future)
    ended_at = fields.AwareDateTime(required=True, validate=_not_future)
    # Check-in points [lon, lat] or [lon, lat, "time"], WGS-84 (GCJ-02 with datum).
    track = fields.List(TrackPoint(), required=True, validate=validate.Length(min=1, max=5000))
    datum = fields.String(load_default="wgs84", validate=validate.OneOf(["wgs84", "gcj02"]))
    notes = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=MAX_DESCRIPTION))
    evidence = fields.List(fields.String(validate=_SHA256), load_default=list, validate=validate.Length(max=50))
    problems = fields.List(fields.Nested(ProblemFound), load_default=list, validate=validate.Length(max=50))

    @validates_schema
    def _times_and_points(self, data, **_):
        if data["ended_at"] <= data["started_at"]:
            raise ValidationError("must be after started_at", "ended_at")
        if data["ended_at"] - data["started_at"] > timedelta(hours=24):
            raise ValidationError("a patrol lasts at most 24 hours", "ended_at")
        for i, point in enumerate(data["track"]):
            lon, lat = point[0], point[1]
            if not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in (lon, lat)) \
                    or not (-180 <= lon <= 180 and -90 <= lat <= 90):
                raise ValidationError(f"point {i} is not [lon, lat]", "track")


class ReportSearch(Schema):
    status = fields.String(load_default=None, validate=validate.OneOf(
        ["received", "processing", "closed", "rejected", "duplicate"]))
    channel = fields.String(load_default=None, validate=validate.OneOf(CHANNELS))
    category = fields.String(load_default=None, validate=_CATEGORY)
    needs_operator = fields.Boolean(load_default=None)
    limit = fields.Integer(load_default=50, validate=validate.Range(1, 500))
    offset = fields.Integer(load_default=0, validate=validate.Range(min=0))


class PatrolSearch(Schema):
    grid = fields.String(load_default=None, validate=_GRID_CODE)
    since = fields.AwareDateTime(load_default=None)
    limit = fields.Integer(load_default=50, validate=validate.Range(1, 500))


class AccessPurpose(Schema):
    purpose = fields.String(required=True, validate=validate.Length(min=2, max=200))


class AttachEvidence(Schema):
    evidence_id = fields.String(required=True, validate=_SHA256)


class Claimant(Schema):
    tracking_code = fields.String(required=True, validate=validate.Length(min=12, max=20))
    name = fields.String(required=True, validate=validate.Length(min=1, max=50))
    phone = fields.String(required=True, validate=_PHONE)
    purpose = fields.String(required=True, validate=validate.Length(min=2, max=200))


# One instance of each body schema, shared by every request and thread: a schema keeps no
# state between loads, and building one costs several times what a load does.
REPORT_CREATE = ReportCreate()
REPORT_SEARCH = ReportSearch()
ACCESS_PURPOSE = AccessPurpose()
CLAIMANT = Claimant()
CITY_INSTRUCTION_CREATE = CityInstructionCreate()
PATROL_CREATE = PatrolCreate()
PATROL_SEARCH = PatrolSearch()
ATTACH_EVIDENCE = AttachEvidence()
