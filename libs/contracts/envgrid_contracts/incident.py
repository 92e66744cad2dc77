"""Events of incident intake. No reporter PII ever travels in them: only whether a
reporter is named, which rewards needs to know."""
from marshmallow import Schema, fields, validate

from servicekit.events import registry

INCIDENT_REPORTED = "incident.reported"
INCIDENT_EVIDENCE_ADDED = "incident.evidence_added"
INCIDENT_DUPLICATE_LINKED = "incident.duplicate_linked"
PATROL_RECORDED = "patrol.recorded"


def normalise_tracking_code(text: str) -> str:
    """A tracking code as people type it (lower case, spaces, no dashes, O for 0, I or L for 1),
    in its one written form XXXX-XXXX-XXXX. Intake issues codes; rewards looks awards up by them."""
    cleaned = text.upper().replace("-", "").replace(" ", "").replace("O", "0").replace("I", "1").replace("L", "1")
    return f"{cleaned[:4]}-{cleaned[4:8]}-{cleaned[8:]}" if len(cleaned) == 12 else cleaned


CHANNELS = ("patrol", "public_web", "public_hotline", "public_mailbox", "city_platform", "inspection")
PUBLIC_CHANNELS = ("public_web", "public_hotline", "public_mailbox")
SEVERITIES = ("low", "normal", "high", "major")


class Location(Schema):
    lon = fields.Float(allow_none=True, load_default=None)   # WGS-84, converted from GCJ-02 if needed
    lat = fields.Float(allow_none=True, load_default=None)
    datum_received = fields.String(allow_none=True, load_default=None)
    address = fields.String(allow_none=True, load_default=None)
    # True / False when intake could check the district outline, None when it could not yet.
    outside_district = fields.Boolean(allow_none=True, load_default=None)


class CityInstruction(Schema):
    reference = fields.String(required=True)
    kind = fields.String(required=True, validate=validate.OneOf(
        ["air_quality_exceedance", "emergency_order", "prominent_problem"]))
    callback_url = fields.String(allow_none=True, load_default=None)
    details = fields.Dict(required=True)  # station, pollutant, value, limit / alert level, window, measures


@registry.register(INCIDENT_REPORTED, 1)
class IncidentReported(Schema):
    incident_id = fields.String(required=True)
    channel = fields.String(required=True, validate=validate.OneOf(CHANNELS))
    category = fields.String(required=True)
    description = fields.String(required=True)
    severity = fields.String(required=True, validate=validate.OneOf(SEVERITIES))
    major = fields.Boolean(required=True)  # a major sudden event: straight to the district too
    observed_at = fields.AwareDateTime(required=True)
    reported_at = fields.AwareDateTime(required=True)
    location = fields.Nested(Location, required=True)
    grid_hint = fields.String(allow_none=True, required=True)
    reporter_named = fields.Boolean(required=True)
    # Pseudonyms, not identity: an HMAC of the reporter's phone (so rewards can cap awards per
    # reporter and year without knowing who it is) and a SHA-256 of the tracking code (so the
    # reporter can look up an award with the code only they hold).
    reporter_key = fields.String(allow_none=True, load_default=None)
    tracking_key = fields.String(allow_none=True, load_default=None)
    reported_by = fields.String(allow_none=True, required=True)  # staff or operator account, never the public
    handled_on_spot = fields.Boolean(required=True)
    duplicate_of = fields.String(allow_none=True, required=True)
    evidence = fields.List(fields.String(), required=True)
    city = fields.Nested(CityInstruction, allow_none=True, required=True)


@registry.register(INCIDENT_EVIDENCE_ADDED, 1)
class EvidenceAdded(Schema):
    incident_id = fields.String(required=True)
    evidence_id = fields.String(required=True)  # SHA-256 of the content
    kind = fields.String(required=True, validate=validate.OneOf(["image", "video"]))
    mime = fields.String(required=True)
    added_by = fields.String(required=True)


@registry.register(INCIDENT_DUPLICATE_LINKED, 1)
class DuplicateLinked(Schema):
    incident_id = fields.String(required=True)
    duplicate_of = fields.String(required=True)  # the first report: it keeps priority (rewards)
    category = fields.String(required=True)
    distance_m = fields.Float(required=True)


@registry.register(PATROL_RECORDED, 1)
class PatrolRecorded(Schema):
    patrol_id = fields.String(required=True)
    grid_code = fields.String(required=True)
    staff = fields.String(required=True)
    started_at = fields.AwareDateTime(required=True)
    ended_at = fields.AwareDateTime(required=True)
    distance_m = fields.Float(required=True)
    checkpoints = fields.Integer(required=True)
    problems = fields.List(fields.String(), required=True)  # incident ids of what was found
