"""The gateway's own routes: people log in and refresh tokens; admins manage keys and accounts.

These are public to the kit (no gateway-signed identity exists yet at the front
door): the login routes need nothing, and the administration routes authenticate
their caller themselves (gateway_roles).
"""
from __future__ import annotations

import functools

from flask import Blueprint, g, jsonify, request

from servicekit.accesslog import USER
from servicekit.errors import ApiError
from servicekit.identity import ROLES
from servicekit.internal import get_json, service_url
from servicekit.openapi import doc
from servicekit.web import json_body, public, request_session, runtime, write

from . import credentials, schemas
from .proxy import _state, authenticate, limit_login

auth_blueprint = Blueprint("auth", __name__)

ADMIN = ("admin",)
TOKENS_TAG = "gateway: tokens"
ADMIN_TAG = "gateway: administration"


def gateway_roles(*roles: str):
    """Allow the view only to callers with the gateway's credentials (an API key or a token) holding one of `roles`.

    No credentials: 401; other roles: 403. The caller is then `g.caller`, as for forwarded calls.
    The roles stay on the view (`_gateway_roles`): the gateway's OpenAPI document reads them (docs.py).
    """
    unknown = set(roles) - ROLES
    if unknown:
        raise ValueError(f"unknown roles {unknown}")
    allowed = frozenset(roles)

    def decorate(view):
        @functools.wraps(view)
        def wrapper(*args, **kwargs):
            who, kind = authenticate()
            if kind == "public":
                raise ApiError(401, "this route needs credentials (an API key or a token)")
            if not who.roles & allowed:
                raise ApiError(403, f"this route is for the roles {', '.join(sorted(allowed))}")
            g.caller = who
            request.environ[USER] = who.subject  # the access line's user
            return view(*args, **kwargs)
        wrapper._gateway_roles = allowed
        return wrapper
    return decorate


def scope_from_registry(person_id: str) -> list[str] | None:
    """The grids where the person holds a role now, from the registry; None when it cannot be asked."""
    try:
        person = get_json(runtime().settings, service_url("grid-registry", 8001),
                          f"/api/v1/registry/people/{person_id}", timeout=3)
    except OSError:
        return None
    return sorted({role["grid_code"] for role in person.get("roles", [])})


@auth_blueprint.post("/auth/login")
@doc(body=schemas.Login, response=schemas.Tokens, tags=[TOKENS_TAG])
@public
def login():
    """Log a person in: an access token (15 minutes) and a refresh token.

    A wrong username or password answers 401 (`invalid_credentials`). An account linked to a
    registry person gets the grids where the person holds a role now as its scope. Over 10
    attempts a minute for one username, or 60 from one address, answers 429 with Retry-After.
    """
    body = json_body(schemas.Login())
    limit_login(body["username"])
    return write(credentials.login, body["username"], body["password"], _state()["jwt_secret"], scope_from_registry)


@auth_blueprint.post("/auth/refresh")
@doc(body=schemas.Refresh, response=schemas.Tokens, tags=[TOKENS_TAG])
@public
def refresh():
    """New tokens for a refresh token, which is then used up.

    An invalid, expired or revoked refresh token answers 401 (`invalid_token`); one presented a
    second time revokes the whole login (someone else has a copy).
    """
    token = json_body(schemas.Refresh())["refresh_token"]
    session = request_session()
    try:
        return write(credentials.refresh, token, _state()["jwt_secret"])
    except credentials.ReusedRefreshToken as reused:
        session.rollback()
        with session.begin():
            credentials.revoke_family(session, reused.family)
        raise ApiError(401, "refresh token reused; the session is revoked", code="invalid_token") from None


@auth_blueprint.get("/admin/api-keys")
@doc(response=schemas.KeyList, tags=[ADMIN_TAG])
@public
@gateway_roles(*ADMIN)
def list_keys():
    """The API keys issued here, revoked ones included (never the keys themselves)."""
    return jsonify(items=credentials.list_keys(request_session()))


@auth_blueprint.post("/admin/api-keys")
@doc(body=schemas.NewKey, response=schemas.KeyCreated, status=201, tags=[ADMIN_TAG])
@public
@gateway_roles(*ADMIN)
def create_key():
    """Issue an API key with roles and a grid scope.

    The key itself is in this answer only: only its SHA-256 is stored.
    """
    body = json_body(schemas.NewKey())
    return write(credentials.create_key, body["subject"], body["roles"], body["grids"], body["note"],
                 g.caller.subject, status=201)


@auth_blueprint.delete("/admin/api-keys/<key_id>")
@doc(response=schemas.KeyRevoked, tags=[ADMIN_TAG])
@public
@gateway_roles(*ADMIN)
def revoke_key(key_id):
    """Revoke an API key: refused at once by this replica, by the others within 30 seconds."""
    result = write(credentials.revoke_key, key_id)
    _state()["key_cache"].clear()  # this replica forgets at once; others within the cache's lifetime
    return result


@auth_blueprint.post("/admin/accounts")
@doc(body=schemas.NewAccount, response=schemas.AccountCreated, status=201, tags=[ADMIN_TAG])
@public
@gateway_roles(*ADMIN)
def create_account():
    """Create a person's account (they log in at POST /auth/login); an existing username answers 409."""
    return write(credentials.create_account, json_body(schemas.NewAccount()), status=201)
