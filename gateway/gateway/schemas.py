"""The bodies of the gateway's own routes (sign-in, administration, Open311, status) as marshmallow schemas.

Request schemas parse what a route reads; answer schemas describe what it sends, for the merged
OpenAPI document (docs.py). Open311's follow GeoReport v2's JSON format.
"""
from __future__ import annotations

from marshmallow import INCLUDE, Schema, fields, validate

from servicekit.identity import ROLES

_GRID = validate.Regexp(r"^140502\d*$")
_ROLE = validate.OneOf(sorted(ROLES))


# -- people's tokens --------------------------------------------------------------------------------
class Login(Schema):
    username = fields.String(required=True, validate=validate.Length(min=1, max=64))
    password = fields.String(required=True, validate=validate.Length(min=1, max=200))


class Refresh(Schema):
    refresh_token = fields.String(required=True, validate=validate.Length(min=1, max=4000), metadata={
        "description": "the refresh token of the last login or refresh; each is used once"})


class Tokens(Schema):
    access_token = fields.String(required=True, metadata={
        "description": "send as `Authorization: Bearer <access_token>`"})
    refresh_token = fields.String(required=True, metadata={
        "description": "for POST /auth/refresh, once; a second use ends the login"})
    token_type = fields.String(required=True, validate=validate.OneOf(["Bearer"]))
    expires_in = fields.Integer(required=True, metadata={"description": "seconds the access token is valid"})


# -- administration --------------------------------------------------------------------------------
class NewKey(Schema):
    subject = fields.String(required=True, validate=validate.Length(min=1, max=100), metadata={
        "description": "who uses the key (a system, a district office)"})
    roles = fields.List(fields.String(validate=_ROLE), required=True, validate=validate.Length(min=1))
    grids = fields.List(fields.String(validate=_GRID), load_default=list, metadata={
        "description": "the grids the key's calls are scoped to; none: the whole district"})
    note = fields.String(load_default="", validate=validate.Length(max=200))


class KeyCreated(Schema):
    key_id = fields.String(required=True)
    key = fields.String(required=True, metadata={
        "description": "the key itself: shown in this answer only, it cannot be shown again"})
    subject = fields.String(required=True)
    roles = fields.List(fields.String(), required=True)
    grids = fields.List(fields.String(), required=True)


class KeyListed(Schema):
    key_id = fields.String(required=True)
    subject = fields.String(required=True)
    roles = fields.List(fields.String(), required=True)
    grids = fields.List(fields.String(), required=True)
    note = fields.String(required=True)
    created_at = fields.DateTime(required=True)
    revoked = fields.Boolean(required=True)


class KeyList(Schema):
    items = fields.List(fields.Nested(KeyListed), required=True, metadata={
        "description": "every key issued here, oldest first (keys from a mounted key file are not listed)"})


class KeyRevoked(Schema):
    key_id = fields.String(required=True)
    revoked = fields.Boolean(required=True)


class NewAccount(Schema):
    username = fields.String(required=True, validate=validate.Regexp(r"^[A-Za-z0-9_.@-]{2,64}$"))
    password = fields.String(required=True, validate=validate.Length(min=12, max=200,
                                                                      error="at least 12 characters"))
    display_name = fields.String(load_default=None, validate=validate.Length(max=50))
    person_id = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=40), metadata={
        "description": "the registry's person: at each login, their current grids become the token's scope"})
    roles = fields.List(fields.String(validate=_ROLE), required=True, validate=validate.Length(min=1))
    grids = fields.List(fields.String(validate=_GRID), load_default=list)


class AccountCreated(Schema):
    username = fields.String(required=True)
    roles = fields.List(fields.String(), required=True)
    grids = fields.List(fields.String(), required=True)


# -- status ------------------------------------------------------------------------------------------
class UpstreamInstance(Schema):
    url = fields.String(required=True)
    ready = fields.Boolean(required=True, metadata={"description": "its /readyz answered 200"})
    circuit_open = fields.Boolean(required=True, metadata={
        "description": "the gateway is not sending it requests for the moment (it refused too often)"})


class GatewayStatus(Schema):
    status = fields.String(required=True, validate=validate.OneOf(["ok", "degraded"]))
    services = fields.Dict(keys=fields.String(), values=fields.List(fields.Nested(UpstreamInstance)), required=True,
                           metadata={"description": "per service, each of its instances"})


# -- Open311 GeoReport v2 ----------------------------------------------------------------------------
class Open311Endpoint(Schema):
    specification = fields.String(required=True)
    url = fields.String(required=True)
    changeset = fields.String(required=True)
    type = fields.String(required=True, validate=validate.OneOf(["production", "test"]))
    formats = fields.List(fields.String(), required=True)


class Open311Discovery(Schema):
    changeset = fields.String(required=True)
    contact = fields.String(required=True)
    key_service = fields.String(required=True)
    endpoints = fields.List(fields.Nested(Open311Endpoint), required=True)


class Open311Service(Schema):
    service_code = fields.String(required=True)
    service_name = fields.String(required=True)
    description = fields.String(required=True)
    metadata = fields.Boolean(required=True, metadata={"description": "always false: no extra attributes"})
    type = fields.String(required=True, validate=validate.OneOf(["realtime", "batch", "blackbox"]))
    keywords = fields.String(required=True)
    group = fields.String(required=True)


class Open311ServiceDefinition(Schema):
    service_code = fields.String(required=True)
    attributes = fields.List(fields.Dict(), required=True, metadata={"description": "always empty"})


class Open311RequestCreate(Schema):
    """The fields of an Open311 POST (form-encoded as the spec has it, multipart, or a JSON object)."""

    class Meta:
        unknown = INCLUDE  # other GeoReport fields (device_id, attribute[...]) are accepted and ignored

    service_code = fields.String(required=True, metadata={"description": "one of services.json"})
    description = fields.String(required=True, metadata={"description": "what is wrong, and where"})
    lat = fields.Float(metadata={"description": "WGS-84 latitude; with long"})
    long = fields.Float(metadata={"description": "WGS-84 longitude; with lat"})
    address_string = fields.String(metadata={"description": "where, in words (when there is no lat/long)"})
    address_id = fields.String(metadata={"description": "not supported: give lat/long or address_string"})
    first_name = fields.String()
    last_name = fields.String()
    phone = fields.String(metadata={"description": "a name and a valid phone together make the report a named one"})
    email = fields.String(metadata={"description": "accepted, not used: no e-mail updates"})
    media_url = fields.String(metadata={"description": "accepted, not fetched"})
    api_key = fields.String(metadata={"description": "accepted, not needed: reports are the public's"})


class Open311RequestCreated(Schema):
    service_request_id = fields.String(required=True, metadata={
        "description": "the report's tracking code: the reporter's key to follow it"})
    service_notice = fields.String(required=True)
    account_id = fields.String(required=True, allow_none=True, metadata={"description": "always null"})


class Open311RequestQuery(Schema):
    service_request_id = fields.String(required=True, metadata={
        "description": "one or more ids (tracking codes), comma separated, at most 50"})
    service_code = fields.String(metadata={"description": "only these services (comma separated)"})
    status = fields.String(metadata={"description": "open, closed or open,closed"})
    start_date = fields.String(metadata={"description": "reported at or after (W3C datetime with offset)"})
    end_date = fields.String(metadata={"description": "reported at or before (W3C datetime with offset)"})


class Open311Request(Schema):
    service_request_id = fields.String(required=True)
    status = fields.String(required=True, validate=validate.OneOf(["open", "closed"]))
    status_notes = fields.String(required=True, allow_none=True, metadata={
        "description": "the district's public answer, once there is one"})
    service_name = fields.String(required=True)
    service_code = fields.String(required=True)
    requested_datetime = fields.DateTime(required=True)
    updated_datetime = fields.DateTime(required=True)


class Open311Error(Schema):
    code = fields.Integer(required=True, metadata={"description": "the HTTP status, repeated"})
    description = fields.String(required=True)
