"""The gateway's own routes: people log in and refresh tokens; admins manage keys and accounts.

These are public to the kit (no gateway-signed identity exists yet at the front
door): each authenticates its caller itself.
"""
from __future__ import annotations

from flask import Blueprint, jsonify
from marshmallow import Schema, fields, validate

from servicekit.errors import ApiError
from servicekit.identity import ROLES
from servicekit.internal import get_json, service_url
from servicekit.web import json_body, public, request_session, runtime, write

from . import credentials
from .proxy import _state, authenticate

auth_blueprint = Blueprint("auth", __name__)


class Login(Schema):
    username = fields.String(required=True, validate=validate.Length(min=1, max=64))
    password = fields.String(required=True, validate=validate.Length(min=1, max=200))


class Refresh(Schema):
    refresh_token = fields.String(required=True, validate=validate.Length(min=1, max=4000))


class NewKey(Schema):
    subject = fields.String(required=True, validate=validate.Length(min=1, max=100))
    roles = fields.List(fields.String(validate=validate.OneOf(sorted(ROLES))), required=True,
                        validate=validate.Length(min=1))
    grids = fields.List(fields.String(validate=validate.Regexp(r"^140502\d*$")), load_default=list)
    note = fields.String(load_default="", validate=validate.Length(max=200))


class NewAccount(Schema):
    username = fields.String(required=True, validate=validate.Regexp(r"^[A-Za-z0-9_.@-]{2,64}$"))
    password = fields.String(required=True, validate=validate.Length(min=12, max=200,
                                                                      error="at least 12 characters"))
    display_name = fields.String(load_default=None, validate=validate.Length(max=50))
    person_id = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=40))
    roles = fields.List(fields.String(validate=validate.OneOf(sorted(ROLES))), required=True,
                        validate=validate.Length(min=1))
    grids = fields.List(fields.String(validate=validate.Regexp(r"^140502\d*$")), load_default=list)


def _admin():
    who, kind = authenticate()
    if kind == "public":
        raise ApiError(401, "administration needs credentials")
    if "admin" not in who.roles:
        raise ApiError(403, "administration is for the admin role")
    return who


def scope_from_registry(person_id: str) -> list[str] | None:
    """The grids where the person holds a role now, from the registry; None when it cannot be asked."""
    try:
        person = get_json(runtime().settings, service_url("grid-registry", 8001),
                          f"/api/v1/registry/people/{person_id}", timeout=3)
    except OSError:
        return None
    return sorted({role["grid_code"] for role in person.get("roles", [])})


@auth_blueprint.post("/auth/login")
@public
def login():
    body = json_body(Login())
    return write(credentials.login, body["username"], body["password"], _state()["jwt_secret"], scope_from_registry)


@auth_blueprint.post("/auth/refresh")
@public
def refresh():
    token = json_body(Refresh())["refresh_token"]
    session = request_session()
    try:
        return write(credentials.refresh, token, _state()["jwt_secret"])
    except credentials.ReusedRefreshToken as reused:
        session.rollback()
        with session.begin():
            credentials.revoke_family(session, reused.family)
        raise ApiError(401, "refresh token reused; the session is revoked", code="invalid_token") from None


@auth_blueprint.get("/admin/api-keys")
@public
def list_keys():
    _admin()
    return jsonify(items=credentials.list_keys(request_session()))


@auth_blueprint.post("/admin/api-keys")
@public
def create_key():
    who = _admin()
    body = json_body(NewKey())
    return write(credentials.create_key, body["subject"], body["roles"], body["grids"], body["note"], who.subject,
                 status=201)


@auth_blueprint.delete("/admin/api-keys/<key_id>")
@public
def revoke_key(key_id):
    _admin()
    result = write(credentials.revoke_key, key_id)
    _state()["key_cache"].clear()  # this replica forgets at once; others within the cache's lifetime
    return result


@auth_blueprint.post("/admin/accounts")
@public
def create_account():
    _admin()
    return write(credentials.create_account, json_body(NewAccount()), status=201)
